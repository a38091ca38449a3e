"""Tests of master.reports.writer: the report directory and results.json."""

import json

from master.analysis.summarize import summarize_run
from master.reports.writer import RESULTS_FORMAT, write_report


def test_writes_the_three_files_and_returns_index(run, tmp_path):
    """index.html, results.json and results.csv are written; the index path is returned; no temp file is left."""
    out = tmp_path / "reports" / "c-91ab2e"
    index = write_report(run, out)
    assert index == out / "index.html"
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "results.csv", "results.json"]
    assert 10_000 < index.stat().st_size < 1_500_000


def test_results_json_round_trips(run, report_dir):
    """results.json holds the run's keys unchanged, plus format and summary."""
    document = json.loads((report_dir / "results.json").read_text(encoding="utf-8"))
    assert document.pop("format") == RESULTS_FORMAT
    summary = document.pop("summary")
    assert document == run
    assert [v["variant"] for v in summary["variants"]][:2] == ["x264-veryfast", "x264-medium"]
    assert summary["provenance"]["mode"] == "mixed"


def test_results_json_summary_is_the_run_summary(run, report_dir):
    """The stored summary equals summarize_run of the run."""
    document = json.loads((report_dir / "results.json").read_text(encoding="utf-8"))
    assert document["summary"] == json.loads(json.dumps(summarize_run(run)))


def test_results_json_keeps_missing_as_null(report_dir):
    """A missing measurement stays null in results.json, not 0."""
    document = json.loads((report_dir / "results.json").read_text(encoding="utf-8"))
    j6 = next(j for j in document["jobs"] if j["id"] == "j-0006")
    assert j6["result"]["metrics"]["idle_watts"] is None
    nvenc = next(v for v in document["summary"]["variants"] if v["variant"] == "nvenc-p4")
    assert nvenc["stats"]["mean_watts"]["mean"] is None


def test_non_finite_numbers_become_null(run, tmp_path):
    """NaN/inf in a result is written as null, keeping results.json valid JSON."""
    run["jobs"][0]["result"]["metrics"]["peak_watts"] = float("nan")
    run["jobs"][0]["result"]["metrics"]["speed"] = float("inf")
    write_report(run, tmp_path)
    text = (tmp_path / "results.json").read_text(encoding="utf-8")
    assert "NaN" not in text and "Infinity" not in text
    metrics = json.loads(text)["jobs"][0]["result"]["metrics"]
    assert metrics["peak_watts"] is None and metrics["speed"] is None


def test_rewriting_replaces_the_report(run, tmp_path):
    """Writing again into the same directory replaces the files with the new run's."""
    write_report(run, tmp_path)
    run["campaign"]["name"] = "quick-second"
    write_report(run, tmp_path)
    assert "quick-second" in (tmp_path / "index.html").read_text(encoding="utf-8")
    assert json.loads((tmp_path / "results.json").read_text())["campaign"]["name"] == "quick-second"
