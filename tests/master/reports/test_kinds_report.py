"""The report page and results.csv with baseline, live, multi, density and ladder results next to transcode ones."""

import csv
import io
import re

from master.analysis.summarize import summarize_run
from master.reports.charts import density_chart, density_levels
from master.reports.html import KIND_TABLE_METRICS, TABLE_METRICS, confidence_text, render_html
from master.reports.tabular import COLUMNS, CONTENT_COLUMNS, KIND_COLUMNS, METRIC_COLUMNS, csv_text
from tests.master.analysis.kind_results import ESTIMATED_IDLE, add_kind_jobs

OLD_COLUMNS_END = "error"


def render(run: dict, summary: dict | None = None) -> str:
    return render_html(run, summary or summarize_run(run))


def section(page: str, start: str, end: str) -> str:
    return page[page.index(f'id="{start}"') : page.index(f'id="{end}"')]


def table_of(page: str, scenario: str) -> str:
    """The scenario table of ``scenario``: from its heading to the end of its table."""
    start = page.index(f"Scenario {scenario}</h3>")
    return page[start : page.index("</table>", start)]


def headings(table: str) -> list[str]:
    return re.findall(r"<th>(.*?)</th>", table)


def test_transcode_only_report_shows_the_same_columns(page):
    """Without the new kinds: the scenario tables have exactly the original columns; no new section or chart."""
    for scenario in ("x264", "x265", "nvenc"):
        assert headings(table_of(page, scenario)) == ["variant", "runs ok / jobs"] + [h for _, h, _ in TABLE_METRICS]
    absent_parts = (
        'id="baselines"',
        'id="ladder-rungs"',
        "Streams vs watts",
        "chart-density",
        'class="sub confidence"',
    )
    for absent in absent_parts:
        assert absent not in page


def test_baselines_have_their_own_section_and_stay_out_of_the_energy_table(run):
    """Idle watts per host (mean ± stdev, CI) in the baseline section; no "Scenario idle" table, no J/frame bar."""
    page = render(add_kind_jobs(run))
    baselines = section(page, "baselines", "charts")
    rows = re.findall(r"<tr>\s*<td>(\w+)</td>.*?</tr>", baselines, re.S)
    assert rows == ["rapl1", "dev1"]
    rapl = re.search(r"<td>rapl1</td>.*?</tr>", baselines, re.S).group(0)
    assert "12 ± 0.28" in rapl and "CI [" in rapl and "2 / 2" in rapl and "30.05" in rapl and "30 s asked" in rapl
    dev = re.search(r"<td>dev1</td>.*?</tr>", baselines, re.S).group(0)
    reason = ESTIMATED_IDLE.replace("'", "&#39;")
    assert f'title="{reason}">—</span>' in dev and 'class="badge est"' in dev
    results = section(page, "results", "ladder-rungs")
    assert "Scenario idle" not in results and "<strong>idle</strong>" not in results
    jpf = re.search(r'<figure class="chart" id="chart-jpf">.*?</figure>', page, re.S).group(0)
    assert "x264-veryfast" in jpf and "idle" not in re.findall(r'class="label"[^>]*>([^<]*)<', jpf)


def test_baseline_rows_stay_in_the_csv(run):
    rows = list(csv.DictReader(io.StringIO(csv_text(add_kind_jobs(run)))))
    idle = [r for r in rows if r["kind"] == "baseline"]
    assert [r["idle_watts"] for r in idle] == ["11.8", "12.2", ""]
    assert f"idle_watts: {ESTIMATED_IDLE}" in idle[2]["missing"]


def test_live_and_multi_columns(run):
    """Live tables show the stream columns (real time as a share of runs), not the ladder's or density's."""
    page = render(add_kind_jobs(run))
    multi = table_of(page, "multi")
    shown = headings(multi)
    for heading in (
        "frames received",
        "dropped",
        "duplicated",
        "real time",
        "streams",
        "W/stream",
        "dyn. W/stream",
        "speed ×",
        "kbps",
    ):
        assert heading in shown
    assert "J/MP" not in shown and "max streams" not in shown and "PSNR dB" not in shown
    assert "50%" in multi and "1 of 2 runs" in multi
    assert "21 ± 1.4" in multi  # W/stream over the two runs
    assert "libx264 · veryfast · bitrate 1500k · 2 streams · 4 s" in multi


def test_density_columns_and_chart(run):
    """Density: max streams and (marginal) W/stream columns; a streams-vs-watts line with held and failed levels."""
    run = add_kind_jobs(run)
    page = render(run)
    dense = table_of(page, "dense")
    assert {"max streams", "W/stream", "marginal W/stream"} <= set(headings(dense))
    assert "up to 4 streams" in dense
    figure = re.search(r'<figure class="chart" id="chart-density">.*?</figure>', page, re.S).group(0)
    marks = re.findall(r'<circle class="mark"[^>]*fill="([^"]+)"><title>([^<]*)</title>', figure)
    assert [title for _, title in marks] == [
        f"dense-x264: {n} streams, {w} W, held in {h} of 1 runs"
        for n, w, h in ((1, 20, 1), (2, 31, 1), (3, 41.5, 1), (4, 52, 0))
    ]
    assert [fill == "white" for fill, _ in marks] == [False, False, False, True]
    assert "dense-x264: real-time limit 3 streams" in figure
    assert page.index("Streams vs watts") > page.index('id="charts"')


def test_density_levels_over_repetitions():
    """Levels are averaged per stream count; held counts the runs that held it; a level without watts is left out."""
    first = {
        "density": {
            "levels": [
                {"streams": 1, "held": True, "mean_watts": 20.0},
                {"streams": 2, "held": True, "mean_watts": 30.0},
            ]
        }
    }
    second = {
        "density": {
            "levels": [
                {"streams": 1, "held": True, "mean_watts": 22.0},
                {"streams": 2, "held": False, "mean_watts": 34.0},
                {"streams": 4, "held": False, "mean_watts": None},
            ]
        }
    }
    levels = density_levels([first, second])
    assert levels == [
        {"streams": 1, "mean_watts": 21.0, "held": 2, "runs": 2},
        {"streams": 2, "mean_watts": 32.0, "held": 1, "runs": 2},
    ]
    chart = density_chart({"v": [first, second]})
    assert [m["open"] for m in chart["marks"]] == [False, True]
    assert density_chart({"v": [{"density": {"levels": []}}]}) is None


def test_ladder_columns_and_rung_table(run):
    """Ladder: rungs, frames, pixels, J/MP columns; a per-rung table with frames, pixels, bytes and kbps."""
    page = render(add_kind_jobs(run))
    abr = table_of(page, "abr")
    assert {"rungs", "frames", "pixels", "J/MP"} <= set(headings(abr))
    assert "libx264 · ultrafast · 2 rungs · 2 s" in abr
    pixels = 60 * (640 * 360 + 320 * 180)
    assert f"{pixels:,}" in abr and "2.431 ± 0.16" in abr  # J/MP: 40 and 44 J over 17.28 MP
    rungs = section(page, "ladder-rungs", "baselines")
    assert "abr-x264" in rungs
    assert headings(rungs) == ["rung", "resolution", "bitrate", "frames", "pixels", "bytes", "kbps"]
    first = re.search(r"<td class=\"num\">1</td><td>640x360</td><td>1000k</td>.*?</tr>", rungs, re.S).group(0)
    assert ">60 ± 0<" in first and f">{60 * 640 * 360:,} ± 0<" in first and ">500,000 ± 0<" in first
    assert ">1000 ± 0<" in first
    assert "<td>320x180</td><td>300k</td>" in rungs


def test_csv_has_the_new_columns_after_the_old_ones(run):
    """The original columns keep their order; the new kinds' columns are appended, filled for their kinds only, then
    the registered metrics the CSV did not have before the registry."""
    assert COLUMNS[COLUMNS.index(OLD_COLUMNS_END) + 1 :] == KIND_COLUMNS + CONTENT_COLUMNS + METRIC_COLUMNS
    assert COLUMNS[:2] == ("campaign", "job") and COLUMNS.index("missing") == COLUMNS.index(OLD_COLUMNS_END) - 1
    text = csv_text(add_kind_jobs(run))
    assert tuple(next(csv.reader(io.StringIO(text)))) == COLUMNS
    rows = {r["job"]: r for r in csv.DictReader(io.StringIO(text))}
    assert rows["j-a1"]["rungs"] == "2" and rows["j-a1"]["frames"] == "120" and rows["j-a1"]["source_frames"] == "60"
    assert rows["j-a1"]["pixels"] == str(60 * (640 * 360 + 320 * 180)) and rows["j-a1"]["joules_per_megapixel"]
    assert rows["j-m2"]["realtime"] == "false" and rows["j-m1"]["realtime"] == "true"
    assert rows["j-m1"]["streams"] == "2" and rows["j-m1"]["frames_received"] == "240"
    assert rows["j-d1"]["max_streams"] == "3" and rows["j-d1"]["marginal_watts_per_stream"] == "10.5"
    assert all(rows["j-0001"][c] == "" for c in KIND_COLUMNS)


def test_confidence_summary_is_shown_when_present(run):
    """A variant with a "confidence" summary shows runs, half-width, target and whether it was reached."""
    summary = summarize_run(run)
    variant = next(v for v in summary["variants"] if v["variant"] == "x264-veryfast")
    variant["confidence"] = {"target": 0.05, "min": 3, "max": 10, "runs": 4, "half_width_pct": 3.14, "reached": True}
    row = re.search(r"<strong>x264-veryfast</strong>.*?</tr>", render(run, summary), re.S).group(0)
    assert "runs 4, ±3.1% (target 5%) reached" in row
    assert (
        confidence_text({"target": 0.02, "min": 5, "max": 20, "runs": 1, "half_width_pct": None, "reached": False})
        == "runs 1, ±— (target 2%) not reached"
    )
    assert confidence_text(None) is None


def test_kind_columns_are_all_known_metrics():
    from master.analysis.summarize import METRICS

    assert {name for name, _, _ in KIND_TABLE_METRICS} <= set(METRICS)


def test_quality_columns_only_where_a_stream_kind_has_scores(run):
    """The live kinds report quality as null with a reason (never compared): their tables get no column of dashes
    for it, while their energy columns stay even when null."""
    run = add_kind_jobs(run)
    for job in run["jobs"]:
        result = job.get("result") or {}
        if job["name"].startswith("dense"):
            result["metrics"].update({"psnr_db": None, "ssim": None, "joules_per_frame": None})
            result["missing"].update(
                {
                    "psnr_db": "live streams: quality is not compared",
                    "ssim": "live streams: quality is not compared",
                    "joules_per_frame": "no frames",
                }
            )
    dense = headings(table_of(render(run), "dense"))
    assert "PSNR dB" not in dense and "SSIM" not in dense
    assert "J/frame" in dense


def test_interval_below_zero_shows_no_negative_bound(run):
    """A cell whose interval would start below 0 shows mean ± stdev, no CI figures, and the reason as its tooltip."""
    kinds = add_kind_jobs(run)
    page = render_html(kinds, summarize_run(kinds))
    assert "CI [-17.56" not in page
    assert 'title="the 95% interval would reach below 0 (to -17.6)' in page
