"""The encoder table: names, presets and quality ranges per encoder."""

from __future__ import annotations

from wire.encoders import ENCODERS, suggest


def test_known_encoders():
    """Exactly the encoders the spec lists are known."""
    assert set(ENCODERS) == {
        "libx264",
        "libx265",
        "libsvtav1",
        "libaom-av1",
        "libvpx-vp9",
        "h264_nvenc",
        "hevc_nvenc",
        "av1_nvenc",
        "h264_qsv",
        "hevc_qsv",
        "h264_vaapi",
        "hevc_vaapi",
    }


def test_named_presets():
    """x264 takes its preset names only; a near miss gets a suggestion."""
    x264 = ENCODERS["libx264"]
    assert x264.preset_problem("veryfast") is None
    assert x264.preset_problem(4) == "4 is not a libx264 preset; it takes " + ", ".join(x264.presets)
    assert "did you mean 'medium'?" in x264.preset_problem("meduim")


def test_numbered_presets():
    """SVT-AV1 takes 0..13 and no names; QSV takes names and 1..7."""
    svt, qsv = ENCODERS["libsvtav1"], ENCODERS["h264_qsv"]
    assert svt.preset_problem(0) is None and svt.preset_problem(13) is None
    assert svt.preset_problem(14) == "libsvtav1 takes preset 0..13, got 14"
    assert svt.preset_problem("fast") == "'fast' is not a libsvtav1 preset; it takes 0..13"
    assert qsv.preset_problem("veryslow") is None and qsv.preset_problem(7) is None
    assert qsv.preset_problem(0) == "h264_qsv takes preset 1..7, got 0"


def test_encoder_without_presets():
    """VAAPI encoders take no preset at all."""
    assert (
        ENCODERS["h264_vaapi"].preset_problem("fast")
        == "'fast' is not a h264_vaapi preset; it takes no preset: leave preset out"
    )


def test_crf_ranges():
    """crf is checked against each encoder's own range."""
    assert ENCODERS["libx264"].crf_problem(51) is None
    assert ENCODERS["libx264"].crf_problem(52) == "libx264 takes crf 0..51, got 52"
    assert ENCODERS["libaom-av1"].crf_problem(63) is None
    assert ENCODERS["hevc_qsv"].crf_problem(0) == "hevc_qsv takes crf 1..51, got 0"


def test_suggest():
    """Close names are suggested; nothing close gives None."""
    assert suggest("libx246", ENCODERS) == "did you mean 'libx265' or 'libx264'?"
    assert suggest("ffv1", ENCODERS) is None
