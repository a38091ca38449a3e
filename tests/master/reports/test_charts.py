"""Tests of master.reports.charts: bar and power charts as HTML fragments."""

import json
import re

from master.analysis.summarize import summarize_run
from master.reports.charts import density_levels, jpf_bar_chart, power_chart


def figure_data(fragment: str) -> list[dict]:
    """The trace list passed to Plotly.newPlot in a fragment."""
    match = re.search(r'Plotly\.newPlot\(\s*"[^"]+",\s*(\[.*?\]),\s*\{', fragment, re.S)
    return json.loads(match.group(1))


def test_bar_chart_has_ci_error_bars_and_splits_estimated(run):
    """Bars: measured and estimated traces, CI half-widths as error bars, no bar for the failed variant."""
    summary = summarize_run(run)
    traces = figure_data(jpf_bar_chart(summary["variants"]))
    assert [t["name"] for t in traces] == ["measured", "estimated (model)"]
    assert traces[1]["x"] == ["x264-veryfast", "x264-medium"]
    veryfast = summary["variants"][0]["stats"]["joules_per_frame"]
    assert traces[1]["error_y"]["array"][0] == veryfast["ci95_halfwidth"]
    assert "nvenc-p4" not in traces[0]["x"] + traces[1]["x"]


def test_bar_chart_is_none_without_means(run):
    """No variant with a mean: no chart."""
    run["jobs"] = [run["jobs"][6]]
    assert jpf_bar_chart(summarize_run(run)["variants"]) is None


def test_power_chart_has_one_trace_per_job_with_samples(run):
    """One line per job: total watts against t, estimated jobs labelled."""
    jobs = [j for j in run["jobs"] if j["scenario"] == "x264"]
    traces = figure_data(power_chart("x264", jobs, "p0"))
    assert [t["name"] for t in traces][0] == "x264-veryfast#1 (est.)"
    assert len(traces) == 4
    first = jobs[0]["result"]["samples"]
    assert traces[0]["y"][:3] == [s["total_watts"] for s in first[:3]]


def test_power_chart_keeps_gaps_and_is_none_without_samples(run):
    """A sample without total watts stays a gap (null); jobs without samples give no chart."""
    job = run["jobs"][4]
    job["result"]["samples"][2]["total_watts"] = None
    traces = figure_data(power_chart("x265", [job], "p1"))
    assert traces[0]["y"][2] is None and traces[0]["connectgaps"] is False
    assert power_chart("nvenc", [run["jobs"][6]], "p2") is None


def test_fragments_do_not_include_plotly_js(run):
    """Chart fragments rely on the page's single plotly.js."""
    fragment = jpf_bar_chart(summarize_run(run)["variants"])
    assert "plotly.js v" not in fragment and len(fragment) < 100_000


def test_power_chart_skips_samples_that_are_not_samples():
    """Samples stored before validation may be anything: a sample without a numeric t is left out, a total that is
    not a number is a gap, a samples field that is not a list draws nothing."""
    jobs = [
        {
            "name": "ok#1",
            "result": {"samples": [1, {"t": "x"}, {"t": 0.1, "total_watts": "abc"}, {"t": 0.2, "total_watts": 5.0}]},
        },
        {"name": "junk#1", "result": {"samples": "junk"}},
    ]
    traces = figure_data(power_chart("s", jobs, "chart-power-0"))
    assert [(t["name"], t["x"], t["y"]) for t in traces] == [("ok#1", [0.1, 0.2], [None, 5.0])]


def test_density_chart_mean_of_the_largest_watts():
    """Two runs at 1.7e308 W on a level: the mean is 1.7e308, not an overflowed inf."""
    level = {"streams": 1, "held": True, "mean_watts": 1.7e308}
    points = density_levels([{"density": {"levels": [level]}}, {"density": {"levels": [level]}}])
    assert points == [{"streams": 1, "mean_watts": 1.7e308, "held": 2, "runs": 2}]
