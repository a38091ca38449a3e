"""Summaries of the baseline, live, multi, density and ladder kinds next to transcode variants."""

import pytest

from master.analysis.summarize import BASE_METRICS, KIND_METRICS, METRICS, summarize_run
from tests.master.analysis.kind_results import ESTIMATED_IDLE, add_kind_jobs

NEW_METRICS = (
    "frames_received",
    "dropped_frames",
    "duplicated_frames",
    "realtime",
    "streams",
    "watts_per_stream",
    "dynamic_watts_per_stream",
    "max_streams",
    "marginal_watts_per_stream",
    "rungs",
    "frames",
    "pixels",
    "joules_per_megapixel",
)


def by_variant(summary: dict) -> dict:
    return {v["variant"]: v for v in summary["variants"]}


def test_metrics_keep_their_order_and_add_the_new_kinds():
    """The encoding metrics come first as before; every new kind's metric follows once."""
    assert METRICS[: len(BASE_METRICS)] == BASE_METRICS
    assert set(NEW_METRICS) <= set(METRICS) and len(METRICS) == len(set(METRICS))
    assert set(KIND_METRICS) == {"live", "multi", "density", "ladder"}


def test_transcode_variant_does_not_miss_other_kinds_metrics(run):
    """A transcode result is not "missing" frames_received or pixels: those belong to other kinds."""
    variant = by_variant(summarize_run(add_kind_jobs(run)))["x265-fast"]
    assert variant["kind"] == "transcode"
    assert not set(variant["missing"]) & (set(NEW_METRICS) - set(BASE_METRICS))
    assert "frames_received" not in variant["reported"] and "joules_per_frame" in variant["reported"]


def test_live_and_multi_metrics_per_variant(run):
    """realtime's mean is the share of runs in real time; per-stream watts are averaged over the runs."""
    variants = by_variant(summarize_run(add_kind_jobs(run)))
    multi = variants["multi-2"]
    assert multi["kind"] == "multi" and multi["runs_ok"] == 2
    assert multi["stats"]["realtime"]["mean"] == pytest.approx(0.5)
    assert multi["stats"]["watts_per_stream"]["mean"] == pytest.approx((20.0 + 22.0) / 2)
    assert multi["stats"]["dropped_frames"]["mean"] == pytest.approx(1.5)
    assert multi["stats"]["streams"]["mean"] == 2
    live = variants["live-1500k"]
    assert live["stats"]["frames_received"]["mean"] == 120 and live["stats"]["realtime"]["mean"] == 1.0
    assert live["params"]["bitrate"] == "1500k"


def test_density_metrics_per_variant(run):
    dense = by_variant(summarize_run(add_kind_jobs(run)))["dense-x264"]
    assert dense["stats"]["max_streams"]["mean"] == 3
    assert dense["stats"]["marginal_watts_per_stream"]["mean"] == pytest.approx(10.5)
    assert dense["params"]["max_streams"] == 4
    assert dense["missing"]["joules_per_frame"] == ["density: see watts_per_stream"]


def test_ladder_metrics_and_rungs_per_variant(run):
    """Ladder: frames, pixels, J/MP summarized; per rung position its resolution, bitrate and statistics."""
    abr = by_variant(summarize_run(add_kind_jobs(run)))["abr-x264"]
    assert abr["stats"]["rungs"]["mean"] == 2 and abr["stats"]["frames"]["mean"] == 120
    pixels = 60 * (640 * 360 + 320 * 180)
    assert abr["stats"]["pixels"]["mean"] == pixels
    assert abr["stats"]["joules_per_megapixel"]["mean"] == pytest.approx(42.0 / (pixels / 1e6))
    assert abr["stats"]["joules_per_megapixel"]["n"] == 2
    assert [(r["resolution"], r["bitrate"]) for r in abr["rungs"]] == [("640x360", "1000k"), ("320x180", "300k")]
    assert abr["rungs"][0]["stats"]["frames"]["mean"] == 60 and abr["rungs"][0]["stats"]["frames"]["n"] == 2
    assert abr["rungs"][1]["stats"]["bitrate_kbps"]["mean"] == 300.0
    assert len(abr["params"]["rungs"]) == 2


def test_ladder_rung_without_a_value_is_left_out(run):
    """A rung reported null is left out of that field's statistics, never counted as 0."""
    run = add_kind_jobs(run)
    ladder = next(j for j in run["jobs"] if j["id"] == "j-a2")
    ladder["result"]["rungs"][1]["bitrate_kbps"] = None
    abr = by_variant(summarize_run(run))["abr-x264"]
    assert abr["rungs"][1]["stats"]["bitrate_kbps"]["n"] == 1


def test_baselines_per_host(run):
    """Baseline jobs are summarized per variant and host: idle watts mean and CI, measured duration."""
    summary = summarize_run(add_kind_jobs(run))
    baselines = {b["node_id"]: b for b in summary["baselines"]}
    assert set(baselines) == {"n-rapl1", "n-dev1"}
    rapl = baselines["n-rapl1"]
    assert rapl["variant"] == "idle" and rapl["kind"] == "baseline" and rapl["runs_ok"] == 2
    assert rapl["stats"]["idle_watts"]["mean"] == pytest.approx(12.0)
    assert rapl["stats"]["idle_watts"]["ci95_halfwidth"] > 0
    assert rapl["stats"]["duration_s"]["mean"] == pytest.approx(30.05)
    assert "joules_per_frame" not in rapl["missing"], "a baseline has no frames by design"
    dev = baselines["n-dev1"]
    assert dev["stats"]["idle_watts"]["n"] == 0 and dev["missing"]["idle_watts"] == [ESTIMATED_IDLE]
    assert dev["provenance"]["estimated"] is True


def test_transcode_only_run_has_no_baselines(run):
    summary = summarize_run(run)
    assert summary["baselines"] == []
    assert all("rungs" not in v for v in summary["variants"])


def test_interval_below_zero_is_not_a_figure(run):
    """multi-2 dropped 0 and 3 frames: the 95% interval of a count would start at -17.6; ci95_low stays None and
    ci95_note says n is too small, the upper bound and the cv stay."""
    stats = by_variant(summarize_run(add_kind_jobs(run)))["multi-2"]["stats"]
    stat = stats["dropped_frames"]
    assert stat["ci95_low"] is None and "n=2 is too small" in stat["ci95_note"]
    assert stat["ci95_high"] == pytest.approx(1.5 + 12.706 * 2.1213 / 2**0.5, rel=1e-3)
    assert stat["cv"] == pytest.approx(2**0.5)
    assert stats["dynamic_watts_per_stream"]["ci95_note"] is None
