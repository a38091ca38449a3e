"""Quality (PSNR, SSIM, VMAF, quality per joule) in the summary, the scenario table and results.csv."""

import csv
import io
import re

from master.analysis.summarize import summarize_run
from master.reports.html import render_html
from master.reports.tabular import csv_text

NO_VMAF = "this FFmpeg has no libvmaf"


def _with_quality(run: dict) -> dict:
    """x264-veryfast gets quality from both repetitions; every other result reports none (older agents)."""
    for index, job in enumerate(j for j in run["jobs"] if j["variant"] == "x264-veryfast"):
        result = job["result"]
        result["metrics"].update(
            psnr_db=40.0 + index * 2,
            psnr_identical=False,
            ssim=0.95 + index * 0.01,
            vmaf=None,
            quality_frames=result["metrics"].get("frames"),
            ssim_frames_per_joule=1.5,
            vmaf_frames_per_joule=None,
        )
        result.setdefault("missing", {}).update(vmaf=NO_VMAF, vmaf_frames_per_joule=f"no VMAF: {NO_VMAF}")
    return run


def test_summary_means_quality_per_variant(run):
    summary = summarize_run(_with_quality(run))
    variant = next(v for v in summary["variants"] if v["variant"] == "x264-veryfast")
    assert variant["stats"]["psnr_db"]["mean"] == 41.0
    assert variant["stats"]["ssim"]["mean"] == 0.955
    assert variant["stats"]["vmaf"]["n"] == 0 and variant["missing"]["vmaf"] == [NO_VMAF]
    other = next(v for v in summary["variants"] if v["variant"] == "x264-medium")
    assert other["missing"]["ssim"] == ["not reported by the agent"]


def test_scenario_table_shows_quality_and_reasons(run):
    run = _with_quality(run)
    page = render_html(run, summarize_run(run))
    for heading in ("PSNR dB", "SSIM", "VMAF", "SSIM·frames/J"):
        assert f"<th>{heading}</th>" in page
    row = re.search(r"<strong>x264-veryfast</strong>.*?</tr>", page, re.S).group(0)
    assert "41 ± 1.4" in row and "0.955 ±" in row
    assert f'title="{NO_VMAF}">—</span>' in row


def test_csv_has_quality_columns(run):
    rows = list(csv.DictReader(io.StringIO(csv_text(_with_quality(run)))))
    first = next(r for r in rows if r["variant"] == "x264-veryfast")
    assert first["psnr_db"] == "40.0" and first["ssim"] == "0.95" and first["psnr_identical"] == "false"
    assert first["vmaf"] == "" and f"vmaf: {NO_VMAF}" in first["missing"]
    assert next(r for r in rows if r["variant"] == "x264-medium")["ssim"] == ""
