"""Content in the report: SI/TI columns and CSV cells, the source in provenance, and the warnings block, shown
when the results say so and absent for results of older agents."""

from __future__ import annotations

import csv
import io
import json
import re

from master.analysis.content import INLINE_MESSAGE
from master.analysis.summarize import summarize_run
from master.reports.html import render_html
from master.reports.tabular import csv_text
from master.reports.writer import write_report
from tests.master.analysis.test_content import SHA, with_source


def page_of(run: dict) -> str:
    return render_html(run, summarize_run(run))


def test_old_results_render_without_si_ti_source_or_warnings(run):
    """A run from an older agent: no SI/TI columns, no warnings block, a dash for the source, empty CSV cells."""
    page = page_of(run)
    assert "<th>SI</th>" not in page and 'id="warnings"' not in page and 'id="source-overview"' not in page
    rows = list(csv.DictReader(io.StringIO(csv_text(run))))
    assert all(r["si"] == r["ti"] == r["source_render"] == r["source_sha256"] == "" for r in rows)


def test_si_ti_columns_and_source_provenance(run):
    """Each variant's SI/TI means in the scenario table; render, content and hash in the provenance section."""
    page = page_of(with_source(run))
    assert "<th>SI</th>" in page and "<th>TI</th>" in page
    row = re.search(r"<strong>x264-veryfast</strong>.*?</tr>", page, re.S).group(0)
    assert "60.5" in row and "10.5" in row
    assert 'id="source-overview">Sources: prepared ×6; content medium ×6' in page
    assert f"prepared · content medium · sha256 {SHA[:12]}… · SI 60.0 · TI 10.0" in page
    assert 'id="warnings"' not in page


def test_csv_si_ti_render_and_hash(run):
    """results.csv carries each job's SI, TI, render and hash in its last columns."""
    rows = {r["job"]: r for r in csv.DictReader(io.StringIO(csv_text(with_source(run))))}
    assert (rows["j-0001"]["si"], rows["j-0001"]["ti"]) == ("60.0", "10.0")
    assert (rows["j-0001"]["source_render"], rows["j-0001"]["source_sha256"]) == ("prepared", SHA)
    assert rows["j-0007"]["si"] == "" and rows["j-0007"]["source_render"] == ""


def test_warnings_block_near_the_top_and_in_results_json(run, tmp_path):
    """Each warning kind shows in the block above the results, and under its variant in results.json."""
    run = with_source(run, render="inline")
    jobs = {j["id"]: j for j in run["jobs"]}
    jobs["j-0001"]["result"]["metrics"]["bitrate_kbps"] = 1200.0
    jobs["j-0003"]["result"]["quality"] = {"same_source": False}
    write_report(run, tmp_path)
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    block = page[page.index('id="warnings"') : page.index('id="results"')]
    assert "content too easy for the bitrate: achieved 1200 of 3000 kb/s" in block
    assert "the quality comparison used a different source than the encode" in block
    assert INLINE_MESSAGE in block and "x264-veryfast#1, x264-veryfast#2" in block
    summary = json.loads((tmp_path / "results.json").read_text())["summary"]
    veryfast = next(v for v in summary["variants"] if v["variant"] == "x264-veryfast")
    assert {w["kind"] for w in veryfast["warnings"]} == {"low_bitrate", "inline_render"}
    assert {w["kind"] for w in summary["warnings"]} == {"low_bitrate", "different_source", "inline_render"}
