"""Tests for agent.ffmpeg.progress on real `-progress pipe:1` output saved from FFmpeg 5.1 and 9.0."""

from __future__ import annotations

import pytest

from agent.ffmpeg.progress import ProgressParser, parse_bitrate_kbps, parse_clock, parse_float

from .conftest import read_data


def parse(name: str):
    """All snapshots of one saved output, and the parser that read it."""
    parser = ProgressParser()
    return parser.feed_all(read_data(name)), parser


def test_ffmpeg51_blocks_and_final_values():
    """FFmpeg 5.1's x264 output gives three snapshots; the last is done with exact values."""
    snapshots, parser = parse("progress_x264_ffmpeg5.1.txt")
    assert [s.frame for s in snapshots] == [1, 85, 120]
    assert [s.done for s in snapshots] == [False, False, True]
    last = snapshots[-1]
    assert last.fps == pytest.approx(91.72)
    assert last.speed == pytest.approx(2.98)
    assert last.bitrate_kbps == pytest.approx(789.6)
    assert last.total_size == 384922
    assert last.out_time_s == pytest.approx(3.900065)
    assert (last.dup_frames, last.drop_frames) == (0, 0)
    assert parser.last == last and parser.count == 3


def test_ffmpeg51_first_block_na_values_stay_none():
    """The first block's bitrate=N/A and speed=N/A become None, not 0."""
    first = parse("progress_x264_ffmpeg5.1.txt")[0][0]
    assert first.bitrate_kbps is None
    assert first.speed is None
    assert first.out_time_s == 0.0
    assert first.extra == {"stream_0_0_q": "0.0"}


def test_ffmpeg90_output():
    """FFmpeg 9.0's output parses the same way."""
    snapshots, _ = parse("progress_x264_ffmpeg9.0.txt")
    assert [s.frame for s in snapshots] == [30, 84, 120]
    assert snapshots[0].speed == pytest.approx(1.85)
    assert snapshots[-1].done and snapshots[-1].out_time_s == pytest.approx(3.933333)


def test_failed_encoder_block_is_all_na():
    """The block a failed NVENC init prints (frame=0, times N/A) keeps every N/A as None."""
    (only,), _ = parse("progress_nvenc_nogpu_ffmpeg9.0.txt")
    assert only.done and only.frame == 0
    assert (only.out_time_s, only.speed, only.bitrate_kbps) == (None, None, None)
    assert only.total_size == 0


def test_no_output_gives_no_snapshot():
    """FFmpeg 5.1 failing before any progress leaves the parser empty."""
    snapshots, parser = parse("progress_nvenc_nogpu_ffmpeg5.1.txt")
    assert snapshots == [] and parser.last is None and parser.count == 0


def test_feed_returns_snapshot_only_at_block_end():
    """Lines inside a block return None; the progress= line returns the snapshot."""
    parser = ProgressParser()
    assert parser.feed("frame=7") is None
    assert parser.feed("garbage without equals") is None
    snapshot = parser.feed("progress=continue")
    assert snapshot is not None and snapshot.frame == 7 and not snapshot.done
    assert parser.feed("progress=end").frame is None  # fields do not leak into the next block


def test_out_time_falls_back_to_clock_and_ignores_negative():
    """Without out_time_us the clock is used; FFmpeg's negative pre-start values become None."""
    parser = ProgressParser()
    parser.feed("out_time=00:01:02.500000")
    assert parser.feed("progress=continue").out_time_s == pytest.approx(62.5)
    parser.feed("out_time_us=-9223372036854775807")
    parser.feed("out_time=-577014:32:22.775808")
    assert parser.feed("progress=continue").out_time_s is None


@pytest.mark.parametrize("text, value", [("N/A", None), ("", None), ("  0x", 0.0), ("12.5x", 12.5), ("abc", None)])
def test_parse_float_speed(text, value):
    """Speed values parse with their x suffix; N/A and garbage stay None."""
    assert parse_float(text, "x") == value


def test_small_parsers():
    """Bitrate and clock parsers handle FFmpeg's padding and N/A."""
    assert parse_bitrate_kbps("   0.5kbits/s") == 0.5
    assert parse_bitrate_kbps("N/A") is None
    assert parse_clock("N/A") is None
    assert parse_clock("01:00:00.000000") == 3600.0
