"""Tests of master.analysis.compare: matching variants by parameters, Welch verdicts, estimated-vs-measured refusal."""

from __future__ import annotations

import pytest

from master.analysis.compare import EstimatedVsMeasured, best_figure, compare_runs, fmt_p
from master.analysis.stats import welch
from tests.master.analysis.compare_runs import FAST, X264, run, variant

JPF_A = [1.00, 1.02, 0.98, 1.01]
JPF_B = [0.88, 0.90, 0.87, 0.89]


def rows(result: dict, label: str) -> dict:
    pair = next(m for m in result["matched"] if m["label"] == label)
    return {r["metric"]: r for r in pair["metrics"]}


def test_matches_by_parameters_not_by_name():
    """A variant renamed in B still pairs with A's; a preset only one side ran is unmatched on that side."""
    a = run("A", variant("x264-medium", X264, {"joules_per_frame": JPF_A}), variant("x264-vf", FAST, {"fps": [1, 2]}))
    b = run("B", variant("medium-renamed", X264, {"joules_per_frame": JPF_B}))
    result = compare_runs(a, b)
    assert [m["label"] for m in result["matched"]] == ["x264-medium / medium-renamed"]
    assert [v["variant"] for v in result["unmatched_a"]] == ["x264-vf"]
    assert result["unmatched_b"] == []


def test_lower_energy_in_b_is_better_with_welch_figures():
    a = run("A", variant("m", X264, {"joules_per_frame": JPF_A, "fps": [30, 31, 29, 30]}))
    b = run("B", variant("m", X264, {"joules_per_frame": JPF_B, "fps": [25, 24, 26, 25]}))
    result = compare_runs(a, b)
    jpf = rows(result, "m")["joules_per_frame"]
    expected = welch(JPF_A, JPF_B, level=0.95)
    assert jpf["difference"]["diff"] == pytest.approx(expected.diff)
    assert jpf["difference"]["p_value"] == pytest.approx(expected.p_value)
    assert jpf["verdict"] == "better"
    assert rows(result, "m")["fps"]["verdict"] == "worse"  # fewer fps: higher is better
    assert result["headlines"][0].startswith("m: 11.7% fewer J/frame in B, significant, better (p = ")


def test_higher_fps_is_better_and_small_noise_is_no_change():
    a = run("A", variant("m", X264, {"fps": [30, 31, 29, 30], "mean_watts": [50, 52, 48, 50]}))
    b = run("B", variant("m", X264, {"fps": [40, 41, 39, 40], "mean_watts": [50, 49, 51, 50.5]}))
    got = rows(compare_runs(a, b), "m")
    assert got["fps"]["verdict"] == "better"
    assert got["mean_watts"]["verdict"] == "no significant change"
    assert got["mean_watts"]["difference"]["p_value"] > 0.05


def test_alpha_decides_significance():
    """The same difference is significant at 0.05 and not at a tiny alpha."""
    a = run("A", variant("m", X264, {"joules_per_frame": [1.0, 1.1, 0.9]}))
    b = run("B", variant("m", X264, {"joules_per_frame": [1.25, 1.35, 1.15]}))
    p = rows(compare_runs(a, b), "m")["joules_per_frame"]["difference"]["p_value"]
    assert 0.001 < p < 0.05
    assert rows(compare_runs(a, b, alpha=0.05), "m")["joules_per_frame"]["verdict"] == "worse"
    assert rows(compare_runs(a, b, alpha=0.001), "m")["joules_per_frame"]["verdict"] == "no significant change"


def test_one_run_on_a_side_cannot_tell_with_the_reason():
    a = run("A", variant("m", X264, {"joules_per_frame": [1.0]}))
    b = run("B", variant("m", X264, {"joules_per_frame": [0.5, 0.6]}))
    row = rows(compare_runs(a, b), "m")["joules_per_frame"]
    assert row["verdict"] == "cannot tell"
    assert "needs 2 or more runs on each side, got 1 and 2" in row["reason"]
    assert row["difference"]["p_value"] is None


def test_estimated_against_measured_is_refused_naming_the_variant():
    a = run("A", variant("m", X264, {"joules_per_frame": JPF_A}, estimated=True))
    b = run("B", variant("m", X264, {"joules_per_frame": JPF_B}))
    with pytest.raises(EstimatedVsMeasured) as caught:
        compare_runs(a, b)
    assert caught.value.variants == ["m"]
    assert "estimated energy with measured energy for m" in str(caught.value)


def test_allow_estimated_labels_every_row_of_the_variant():
    a = run("A", variant("m", X264, {"joules_per_frame": JPF_A, "fps": [1, 2, 3, 4]}, estimated=True))
    b = run("B", variant("m", X264, {"joules_per_frame": JPF_B, "fps": [1, 2, 3, 4]}))
    result = compare_runs(a, b, allow_estimated=True)
    got = rows(result, "m")
    assert all(
        r["note"] == "energy estimated in A, measured in B: estimated and measured energy are not alike"
        for r in got.values()
    )
    assert got["joules_per_frame"]["estimated"] is True
    assert "(estimated)" in result["headlines"][0]


def test_both_estimated_is_compared_and_labelled():
    a = run("A", variant("m", X264, {"joules_per_frame": JPF_A}, estimated=True))
    b = run("B", variant("m", X264, {"joules_per_frame": JPF_B}, estimated=True))
    row = rows(compare_runs(a, b), "m")["joules_per_frame"]
    assert row["estimated"] is True and row["note"] is None
    assert row["verdict"] == "better"


def test_quality_rows_only_when_measured():
    a = run("A", variant("m", X264, {"joules_per_frame": JPF_A, "vmaf": [90, 91, 92, 93]}))
    b = run("B", variant("m", X264, {"joules_per_frame": JPF_B, "vmaf": [None, None, None, None]}))
    got = rows(compare_runs(a, b), "m")
    assert "vmaf" in got and "psnr_db" not in got and "ssim" not in got
    assert got["vmaf"]["verdict"] == "cannot tell"
    assert got["vmaf"]["reason"] == "no value on one side"


def test_live_kinds_compare_watts_per_stream():
    live = {"kind": "live", "encoder": "libx264", "preset": "veryfast", "count": 4}
    a = run("A", variant("l", live, {"watts_per_stream": [10, 10.5, 9.5], "mean_watts": [40, 42, 38]}))
    b = run("B", variant("l", live, {"watts_per_stream": [12, 12.5, 11.5], "mean_watts": [48, 50, 46]}))
    got = rows(compare_runs(a, b), "l")
    assert list(got) == ["watts_per_stream", "mean_watts"]
    assert got["watts_per_stream"]["verdict"] == "worse"


def test_environment_says_what_differs():
    a = run("A", variant("m", X264, {"joules_per_frame": JPF_A}), ffmpeg="6.1")
    b = run("B", variant("m", X264, {"joules_per_frame": JPF_B}), ffmpeg="7.1")
    env = compare_runs(a, b)["environment"]
    assert env["ffmpeg"] == {"a": ["6.1"], "b": ["7.1"], "differs": True}
    assert env["cpu"]["differs"] is False


def test_failed_runs_are_left_out():
    a = run("A", variant("m", X264, {"joules_per_frame": JPF_A}))
    b = run("B", variant("m", X264, {"joules_per_frame": JPF_B}))
    b["jobs"][0]["state"] = "failed"
    b["jobs"][0]["result"]["status"] = "failed"
    row = rows(compare_runs(a, b), "m")["joules_per_frame"]
    assert row["b"]["n"] == 3
    assert row["difference"]["n_b"] == 3


def test_bad_alpha_is_refused():
    with pytest.raises(ValueError, match="alpha"):
        compare_runs(run("A"), run("B"), alpha=1.5)


def test_best_figure_is_the_lowest_mean_and_says_estimated():
    r = run(
        "A", variant("m", X264, {"joules_per_frame": [2, 2]}), variant("f", FAST, {"joules_per_frame": [1, 1]}, True)
    )
    assert best_figure(r) == {"variant": "f", "mean": 1.0, "n": 2, "estimated": True}
    assert best_figure(run("B")) is None


def test_p_value_format():
    assert fmt_p(0.00001) == "< 0.0001"
    assert fmt_p(0.003) == "0.003"
    assert fmt_p(0.25) == "0.25"


def test_ffmpeg_version_of_the_results_beats_the_nodes_inventory():
    """A node's inventory is its latest; the version each result ran is what the run used."""
    a = run("A", variant("m", X264, {"joules_per_frame": JPF_A}), ffmpeg="7.1")
    b = run("B", variant("m", X264, {"joules_per_frame": JPF_B}), ffmpeg="7.1")
    for job in a["jobs"]:
        job["result"]["ffmpeg"] = {"version": "5.1.9"}
    env = compare_runs(a, b)["environment"]
    assert env["ffmpeg"] == {"a": ["5.1.9"], "b": ["7.1"], "differs": True}
