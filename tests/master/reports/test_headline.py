"""Tests of master.reports.headline: the opening sentences, from hand-made variant summaries and per-run values."""

from master.analysis.summarize import summarize_run
from master.reports.headline import DENSITY, ENERGY, LIVE, headlines, sentence


def variant(name: str, estimated: bool = False, **means) -> dict:
    return {
        "variant": name,
        "stats": {k: {"mean": v} for k, v in means.items()},
        "provenance": {"estimated": estimated},
    }


def test_significant_difference_with_quality():
    """A clear gap over 3 runs each: percentage, quality difference, p-value, measured energy."""
    best = variant("ultrafast", joules_per_frame=0.010, psnr_db=36.0)
    other = variant("veryfast", joules_per_frame=0.025, psnr_db=38.1)
    out = sentence(ENERGY, best, other, [0.0101, 0.0099, 0.0100], [0.0250, 0.0251, 0.0249])
    assert out["text"] == (
        "ultrafast costs 0.01 J/frame, 60% less than veryfast, at 2.1 dB lower PSNR; "
        "difference significant, p < 0.001; measured energy."
    )
    assert out["significant"] is True and out["estimated"] is False


def test_not_significant_says_so_with_its_p_value():
    """Overlapping runs: "not significant" and the p-value, never a claim of a difference."""
    best = variant("a", joules_per_frame=1.0)
    other = variant("b", joules_per_frame=1.05)
    out = sentence(ENERGY, best, other, [0.8, 1.2, 1.0], [1.25, 0.85, 1.05])
    assert "5% less than b" in out["text"] and "not significant, p = 0.77" in out["text"]
    assert out["significant"] is False


def test_one_run_is_too_few_to_tell():
    """n < 2 on a side: no test, said in words with the run counts."""
    out = sentence(ENERGY, variant("a", joules_per_frame=1.0), variant("b", joules_per_frame=2.0), [1.0], [2.0, 2.1])
    assert "too few runs to tell (1 and 2; needs 2 or more each)" in out["text"]
    assert out["significant"] is None


def test_estimated_energy_is_labelled():
    """When either side's energy comes from the model, the sentence says "estimated energy"."""
    best = variant("a", joules_per_frame=1.0)
    other = variant("b", estimated=True, joules_per_frame=2.0)
    out = sentence(ENERGY, best, other, [1.0, 1.1], [2.0, 2.1])
    assert out["text"].endswith("; estimated energy.") and out["estimated"] is True


def test_only_variant_has_nothing_to_compare():
    """A kind with one variant states its value and that there is nothing to compare."""
    out = sentence(LIVE, variant("live-1", watts_per_stream=12.5), None, [12.5], [])
    assert (
        out["text"] == "live-1 draws 12.5 W/stream; the only variant of its kind, nothing to compare; measured energy."
    )


def test_density_counts_streams_and_watts_per_stream():
    """Density: the most streams held, its W/stream, and how many more than the runner-up."""
    best = variant("d1", max_streams=6, watts_per_stream=9.5)
    other = variant("d2", max_streams=4, watts_per_stream=11.0)
    out = sentence(DENSITY, best, other, [6, 6], [4, 4])
    assert out["text"].startswith("d1 holds 6 streams in real time at 9.5 W/stream, 2 more than d2; ")
    assert "cannot tell: no spread" in out["text"]


def test_headlines_of_the_quick_run(run):
    """The quick run: one transcode headline, the lowest J/frame against the runner-up, estimated."""
    out = headlines(run, summarize_run(run))
    assert [h["kind"] for h in out] == ["transcode"]
    assert out[0]["best"] == "x264-veryfast" and "than x265-fast" in out[0]["text"] and out[0]["estimated"]


def test_density_that_held_nothing_says_so():
    """max_streams 0: the sentence says no stream held real time, not "holds 0 streams"."""
    out = sentence(DENSITY, variant("dense", max_streams=0), None, [0], [])
    assert out["text"].startswith("dense held no stream in real time; the only variant of its kind")
