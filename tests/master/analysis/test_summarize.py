"""Tests of master.analysis.summarize on a realistic campaign run."""

import pytest

from master.analysis.summarize import DERIVED_METRICS, METRICS, ok_result, shared_params, summarize_run


def by_variant(summary: dict) -> dict:
    """The variant summaries keyed by variant name."""
    return {v["variant"]: v for v in summary["variants"]}


def test_variants_grouped_in_order_of_first_appearance(run):
    """Repetitions are grouped into one entry per variant, scenarios listed once each."""
    summary = summarize_run(run)
    assert [v["variant"] for v in summary["variants"]] == ["x264-veryfast", "x264-medium", "x265-fast", "nvenc-p4"]
    assert summary["scenarios"] == ["x264", "x265", "nvenc"]


def test_variant_statistics_over_repetitions(run):
    """J/frame of x264-veryfast is summarized over its two repetitions."""
    stats = by_variant(summarize_run(run))["x264-veryfast"]["stats"]
    assert set(stats) == set(METRICS) | set(DERIVED_METRICS)
    assert stats["joules_per_frame"]["n"] == 2
    assert stats["joules_per_frame"]["mean"] == pytest.approx((0.69908 + 0.73908) / 2)
    assert stats["joules_per_frame"]["ci95_halfwidth"] > 0


def test_failed_variant_has_no_numbers_and_keeps_its_error(run):
    """A variant whose only job failed: 0 ok, 1 failed, means None (never 0), the error kept."""
    nvenc = by_variant(summarize_run(run))["nvenc-p4"]
    assert (nvenc["runs_ok"], nvenc["runs_failed"]) == (0, 1)
    assert nvenc["stats"]["joules_per_frame"]["mean"] is None
    assert nvenc["errors"][0].startswith("encoder unavailable: h264_nvenc")


def test_missing_metric_counts_only_present_runs_and_keeps_reason(run):
    """x265-fast #2 has no idle baseline: idle W has n=1 and the agent's reason."""
    x265 = by_variant(summarize_run(run))["x265-fast"]
    assert x265["stats"]["idle_watts"]["n"] == 1
    assert x265["stats"]["idle_watts"]["mean"] == pytest.approx(11.8)
    assert "wrapped twice" in x265["missing"]["idle_watts"][0]
    assert "joules_per_frame" not in x265["missing"]


def test_shared_params_of_a_variant(run):
    """Parameters shared by all repetitions are reported: encoder, preset, crf, resolution, fps, duration."""
    params = by_variant(summarize_run(run))["x265-fast"]["params"]
    assert params["encoder"] == "libx265"
    assert params["crf"] == 28 and params["bitrate"] is None
    assert (params["resolution"], params["fps"], params["duration"]) == ("1280x720", 30, 4)


def test_params_that_differ_are_left_out():
    """A parameter with different values across repetitions is not reported as shared."""
    jobs = [{"params": {"encoder": "libx264", "preset": "fast"}}, {"params": {"encoder": "libx264", "preset": "slow"}}]
    assert shared_params(jobs) == {"encoder": "libx264"}


def test_variant_provenance(run):
    """Per variant: estimated or measured, source names, sample rates and counts."""
    variants = by_variant(summarize_run(run))
    est, meas = variants["x264-veryfast"]["provenance"], variants["x265-fast"]["provenance"]
    assert (est["estimated"], est["estimated_runs"], est["sources"]) == (True, 2, ["estimate:cpu-time"])
    assert (meas["estimated"], meas["measured_runs"]) == (False, 2)
    assert meas["sources"] == ["rapl:dram-0", "rapl:package-0"]
    assert meas["sample_rates_hz"] == [5.0]
    assert meas["sample_counts"] == [16, 17] and meas["sample_count_total"] == 33
    assert meas["agent_overhead_pct"]["mean"] == pytest.approx(0.3)


def test_overall_provenance_counts_measured_and_estimated(run):
    """Overall: 2 measured (rapl) and 4 estimated jobs make a mixed run."""
    prov = summarize_run(run)["provenance"]
    assert (prov["mode"], prov["measured"], prov["estimated"]) == ("mixed", 2, 4)
    assert prov["measured_kinds"] == ["rapl"]
    assert prov["estimated_nodes"] == ["n-dev1"]


def test_state_counts(run):
    """Job counts per state and in total."""
    counts = summarize_run(run)["counts"]
    assert (counts["succeeded"], counts["failed"], counts["total"]) == (6, 1, 7)


def test_jobs_without_results_are_pending_not_zero(run):
    """A queued job without result counts as pending and adds no value to the statistics."""
    run["jobs"].append(
        {
            "id": "j-0008",
            "name": "x265-fast#3",
            "scenario": "x265",
            "variant": "x265-fast",
            "repetition": 3,
            "state": "queued",
            "error": None,
            "node_id": None,
            "params": {},
            "result": None,
        }
    )
    x265 = by_variant(summarize_run(run))["x265-fast"]
    assert (x265["jobs"], x265["runs_ok"], x265["runs_pending"]) == (3, 2, 1)
    assert x265["stats"]["joules_per_frame"]["n"] == 2


def test_empty_run_summarizes_to_nothing():
    """A run with no jobs (or no keys at all) gives no variants and provenance mode none."""
    summary = summarize_run({})
    assert summary["variants"] == [] and summary["provenance"]["mode"] == "none"
    assert summary["counts"]["total"] == 0


def test_failed_result_is_not_ok(run):
    """ok_result returns succeeded results only."""
    failed = next(j for j in run["jobs"] if j["state"] == "failed")
    assert ok_result(failed) is None
    assert ok_result(run["jobs"][0]) is run["jobs"][0]["result"]
