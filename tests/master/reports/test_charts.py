"""Tests of master.reports.charts: the SVG chart dicts (bars with CI whiskers, power per variant, density, Pareto)."""

from master.analysis.summarize import summarize_run
from master.reports.charts import (
    GRID_POINTS,
    density_levels,
    jpf_bar_chart,
    pareto_chart,
    power_chart,
    power_series,
    resample,
)
from master.reports.svg import nice_ticks


def test_bar_chart_has_ci_whiskers_and_splits_estimated(run):
    """One bar per variant with a mean (the failed one has none), estimated bars in the estimate colour and
    labelled, a whisker per variant with a 95% CI."""
    summary = summarize_run(run)
    chart = jpf_bar_chart(summary["variants"])
    labels = [label["text"] for label in chart["labels"]]
    assert labels == ["x264-veryfast (est.)", "x264-medium (est.)", "x265-fast"]
    assert len(chart["rects"]) == 3 and len(chart["whiskers"]) == 3
    assert chart["rects"][0]["color"] != chart["rects"][2]["color"]
    veryfast = summary["variants"][0]["stats"]["joules_per_frame"]
    assert f"{veryfast['mean']:.4g} J/frame" in chart["rects"][0]["title"]
    assert [e["label"] for e in chart["legend"]] == ["measured", "estimated (model)"]


def test_bar_lengths_follow_the_values(run):
    """A larger mean draws a longer bar, measured from the zero line."""
    chart = jpf_bar_chart(summarize_run(run)["variants"])
    widths = [r["w"] for r in chart["rects"]]
    assert widths[1] > widths[2] > widths[0] > 0
    assert all(r["x"] == chart["plot"]["x0"] for r in chart["rects"])


def test_bar_chart_is_none_without_means(run):
    """No variant with a mean: no chart."""
    run["jobs"] = [run["jobs"][6]]
    assert jpf_bar_chart(summarize_run(run)["variants"]) is None


def test_power_chart_has_one_line_per_variant_with_a_band(run):
    """Two variants of four jobs: two lines (medians) and a min-max band each, estimated lines dashed."""
    jobs = [j for j in run["jobs"] if j["scenario"] == "x264"]
    chart = power_chart("x264", jobs, "p0")
    assert len(chart["lines"]) == 2 and all(line["dash"] for line in chart["lines"])
    assert len(chart["bands"]) >= 2
    assert [e["label"] for e in chart["legend"]] == ["x264-veryfast (est.) (2 runs)", "x264-medium (est.) (2 runs)"]


def test_power_series_is_the_median_with_min_and_max():
    """Three runs on the same times: the median and the extremes at every grid time."""
    jobs = [
        {"variant": "v", "result": {"samples": [{"t": 0.0, "total_watts": w}, {"t": 1.0, "total_watts": w}]}}
        for w in (10.0, 30.0, 11.0)
    ]
    grid, series = power_series(jobs)
    assert len(grid) == GRID_POINTS and grid[-1] == 1.0
    assert series[0]["median"][0] == 11.0 and series[0]["low"][5] == 10.0 and series[0]["high"][-1] == 30.0


def test_resample_keeps_gaps_and_does_not_extrapolate():
    """Between two samples: linear; next to a missing total or outside the samples: None, never 0."""
    assert resample([0, 1, 2], [10.0, 20.0, None], [-1, 0, 0.5, 1.5, 2, 3]) == [None, 10.0, 15.0, None, None, None]


def test_power_chart_keeps_gaps_and_is_none_without_samples(run):
    """A sample without total watts breaks the line (a second M in the path); jobs without samples: no chart."""
    job = run["jobs"][4]
    for sample in job["result"]["samples"][5:7]:
        sample["total_watts"] = None
    chart = power_chart("x265", [job], "p1")
    assert chart["lines"][0]["d"].count("M") == 2
    assert power_chart("nvenc", [run["jobs"][6]], "p2") is None


def test_power_chart_skips_samples_that_are_not_samples():
    """A sample without a numeric t is left out, a total that is not a number is a gap, a samples field that is not
    a list draws nothing."""
    jobs = [
        {
            "variant": "ok",
            "result": {"samples": [1, {"t": "x"}, {"t": 0.1, "total_watts": "abc"}, {"t": 0.2, "total_watts": 5.0}]},
        },
        {"variant": "junk", "result": {"samples": "junk"}},
    ]
    chart = power_chart("s", jobs, "chart-power-0")
    assert [e["label"] for e in chart["legend"]] == ["ok (1 runs)"]


def test_density_chart_mean_of_the_largest_watts():
    """Two runs at 1.7e308 W on a level: the mean is 1.7e308, not an overflowed inf."""
    level = {"streams": 1, "held": True, "mean_watts": 1.7e308}
    points = density_levels([{"density": {"levels": [level]}}, {"density": {"levels": [level]}}])
    assert points == [{"streams": 1, "mean_watts": 1.7e308, "held": 2, "runs": 2}]


def test_pareto_chart_names_the_frontier():
    """Frontier variants are labelled and filled; a dominated one is an open mark without a label."""
    points = [
        {"label": "cheap", "x": 0.1, "y": 30.0},
        {"label": "good", "x": 0.5, "y": 40.0},
        {"label": "bad", "x": 0.6, "y": 35.0},
    ]
    chart = pareto_chart(points, [0, 1], "PSNR (dB)")
    assert [label["text"] for label in chart["labels"]] == ["cheap", "good"]
    assert [m.get("open") for m in chart["marks"]] == [False, False, True]
    assert chart["lines"][0]["d"].startswith("M") and chart["lines"][0]["d"].count("L") == 1


def test_nice_ticks_cover_the_range():
    """Round ticks that include both ends."""
    assert nice_ticks(0, 2.3) == [0, 0.5, 1.0, 1.5, 2.0, 2.5]
    ticks = nice_ticks(3.1, 3.2)
    assert ticks[0] <= 3.1 and ticks[-1] >= 3.2


def test_run_curve_matches_resample_in_order_and_out_of_order():
    """The one-pass curve equals sample_points + resample, with gaps, junk samples and out-of-order times."""
    from master.reports.charts import run_curve, sample_points

    grid = [0.0, 0.1, 0.25, 0.4, 0.5, 0.7, 1.0]
    ordered = [{"t": 0.1, "total_watts": 5.0}, "junk", {"t": 0.3, "total_watts": None}, {"t": 0.5, "total_watts": 9.0}]
    ordered += [{"t": 0.6, "total_watts": 10.0}, {"t": 0.9, "total_watts": 13.0}]
    shuffled = [ordered[4], ordered[0], ordered[5], ordered[2], ordered[3]]
    for samples in (ordered, shuffled):
        assert run_curve(samples, grid) == resample(*sample_points(samples), grid)
    assert run_curve(ordered, grid) == [None, 5.0, None, None, 9.0, 11.0, None]


def test_power_chart_of_many_jobs_has_a_line_per_variant():
    """24 jobs of 4 variants (like campaigns/h264.yml): 4 lines and 4 bands, not 24 lines."""
    jobs = [
        {
            "variant": f"v{i % 4}",
            "result": {"samples": [{"t": 0.5 * k, "total_watts": 10.0 + i % 4 + 0.1 * (i // 4)} for k in range(20)]},
        }
        for i in range(24)
    ]
    chart = power_chart("h264", jobs, "p")
    assert len(chart["lines"]) == 4 and len(chart["bands"]) == 4
    assert [e["label"] for e in chart["legend"]] == [f"v{i} (6 runs)" for i in range(4)]
