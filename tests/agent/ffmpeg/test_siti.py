"""SI/TI with FFmpeg's siti filter: the summary parser on saved real output, a real run, and a binary without it."""

from __future__ import annotations

import pytest

from agent.ffmpeg.siti import has_siti, measure_siti, parse_siti, siti_argv
from tests.agent.ffmpeg.conftest import read_data, write_fake_ffmpeg

TESTSRC2 = {
    "si_mean": 107.332382,
    "si_max": 108.855469,
    "si_min": 103.836891,
    "ti_mean": 13.433075,
    "ti_max": 15.488524,
    "ti_min": 0.0,
}


@pytest.mark.parametrize("name", ["siti_testsrc2_ffmpeg5.1.txt", "siti_testsrc2_ffmpeg9.0.txt"])
def test_parse_saved_summary(name):
    """The summary of a real 1 s testsrc2 320x180 run parses to its averages, maxima and minima."""
    assert parse_siti(read_data(name)) == TESTSRC2


def test_parse_incomplete_summary_is_none():
    """A summary cut before the temporal part is no summary, never zeros."""
    lines = read_data("siti_testsrc2_ffmpeg5.1.txt")
    cut = lines[: next(i for i, line in enumerate(lines) if "Temporal" in line)]
    assert parse_siti(cut) is None
    assert parse_siti(["Spatial Information:", "Average: nan?x"]) is None


def test_argv_reads_the_video_only():
    """The command reads the given input for the given seconds, video only, to the null muxer."""
    argv = siti_argv("ffmpeg", ["-i", "/x/src.nut"], 2)
    assert argv[argv.index("-i") + 1] == "/x/src.nut"
    assert argv[argv.index("-t") + 1] == "2"
    assert argv[argv.index("-vf") + 1] == "siti=print_summary=1"
    assert "-an" in argv and argv[-3:] == ["-f", "null", "-"]


def test_real_run_matches_the_saved_output(system_ffmpeg):
    """Debian's FFmpeg 5.1 gives the same numbers as the saved output for the same source."""
    summary, reason = measure_siti(system_ffmpeg.path, ["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30"], 1)
    assert reason is None
    assert summary == TESTSRC2


def test_ffmpeg_without_siti_gives_a_reason(tmp_path):
    """A binary whose -filters lists no siti: None with "unavailable: ...", nothing run."""
    fake = write_fake_ffmpeg(tmp_path / "old", "ffmpeg version 4.4 Copyright (c) 2000-2021")
    has_siti.cache_clear()
    summary, reason = measure_siti(str(fake), ["-i", "x.nut"])
    assert summary is None and reason.startswith("unavailable: ")
