"""Tests of master.analysis.efficiency: the Pareto frontier, the ranking and the quality metric chosen."""

import math

from master.analysis.efficiency import pareto, quality_points, ranking


def variant(name: str, jpf=None, fpj=None, psnr=None, vmaf=None, estimated=False) -> dict:
    stats = {"joules_per_frame": jpf, "frames_per_joule": fpj, "psnr_db": psnr, "vmaf": vmaf, "ssim": None}
    return {
        "variant": name,
        "stats": {k: {"mean": v} for k, v in stats.items()},
        "provenance": {"estimated": estimated},
    }


def test_pareto_keeps_the_points_nothing_beats():
    """Cheapest first; a point with more cost and no more quality than another is dominated."""
    points = [(0.5, 40.0), (0.1, 30.0), (0.6, 35.0), (0.3, 30.0), (0.9, 41.0)]
    assert pareto(points) == [1, 0, 4]


def test_pareto_leaves_out_missing_values_and_keeps_identical_points():
    """None and NaN are not points (never 0); two identical points both stay on the frontier."""
    points = [(None, 50.0), (0.2, math.nan), (0.2, 30.0), (0.2, 30.0), (0.4, 10.0)]
    assert pareto(points) == [2, 3]
    assert pareto([]) == []


def test_pareto_same_cost_keeps_the_better_quality():
    """At equal cost only the higher quality is on the frontier."""
    assert pareto([(0.2, 30.0), (0.2, 35.0)]) == [1]


def test_quality_points_prefers_vmaf_and_needs_two_variants():
    """VMAF when two variants have it, else PSNR; fewer than two variants with both: no chart."""
    variants = [variant("a", 0.1, psnr=30, vmaf=80), variant("b", 0.2, psnr=35, vmaf=90), variant("c", 0.3, psnr=36)]
    points, frontier, label = quality_points(variants)
    assert label == "VMAF" and [p["label"] for p in points] == ["a", "b"] and frontier == [0, 1]
    assert quality_points([variant("a", 0.1, psnr=30), variant("b", None, psnr=35)]) is None


def test_ranking_orders_by_frames_per_joule_with_missing_last():
    """Most frames per joule first; a variant without a value comes last, not ranked as 0."""
    ordered, per_joule = ranking([variant("slow", fpj=1.0), variant("none"), variant("fast", fpj=3.0)])
    assert [v["variant"] for v in ordered] == ["fast", "slow", "none"]
    assert per_joule is None
