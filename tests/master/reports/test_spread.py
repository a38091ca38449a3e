"""The report warns about runs that disagree: a headline figure varying more than 10% between a variant's runs, and
each run the summary flags as an outlier, with the rule used."""

from __future__ import annotations

import copy
import json

from master.analysis.summarize import summarize_run
from master.reports.html import render_html
from master.reports.sections import baseline_load_rows, spread_rows
from tests.master.conftest import RUN_FILE


def _noisy_run(factors: tuple[float, ...]) -> tuple[dict, str]:
    """The quick run with one variant's runs replaced by len(factors) copies of one run, J/frame x each factor."""
    run = json.loads(RUN_FILE.read_text())
    job = next(j for j in run["jobs"] if j.get("result") and j["result"]["metrics"].get("joules_per_frame"))
    variant = job["name"].rsplit("#", 1)[0]
    base = job["result"]["metrics"]["joules_per_frame"]
    run["jobs"] = [j for j in run["jobs"] if not j["name"].startswith(variant + "#")]
    for rep, factor in enumerate(factors, start=1):
        clone = copy.deepcopy(job)
        clone["id"], clone["name"], clone["repetition"] = f"{job['id']}-{rep}", f"{variant}#{rep}", rep
        clone["result"]["metrics"]["joules_per_frame"] = base * factor
        run["jobs"].append(clone)
    return run, variant


def test_close_runs_raise_no_warning():
    """Five runs within 2% of each other: no spread warning and no outlier for that variant."""
    run, variant = _noisy_run((1.0, 1.01, 0.99, 1.02, 1.0))
    assert [row for row in spread_rows(summarize_run(run)) if row["host"] == variant] == []


def test_spread_and_outliers_are_named():
    """Made noisy by hand: five runs of one variant, one of them 10x the others -> the CV warning and the outlier."""
    run, variant = _noisy_run((1.0, 1.01, 0.99, 1.02, 10.0))
    summary = summarize_run(run)
    texts = [row["text"] for row in spread_rows(summary) if row["host"] == variant]
    assert any(t.startswith("joules_per_frame varies") and "between its 5 runs" in t for t in texts), texts
    assert any("run 5" in t and "is an outlier (beyond 1.5 IQR of the quartiles (Tukey))" in t for t in texts), texts
    html = render_html(run, summary)
    assert "is an outlier" in html and "Before trusting these numbers" in html


def test_busy_idle_baselines_are_flagged_per_host():
    """Baselines with more than 10% of the CPUs busy with other processes are counted per host, the worst named."""
    run = json.loads(RUN_FILE.read_text())
    jobs = [j for j in run["jobs"] if (j.get("result") or {}).get("baseline")]
    assert len(jobs) >= 2
    for job, load in zip(jobs, (35.5, 2.0, 12.0, 1.0)):
        job["result"]["baseline"]["other_load_pct"] = load
    rows = baseline_load_rows(run)
    busy = sum(1 for load in (35.5, 2.0, 12.0, 1.0)[: len(jobs)] if load > 10)
    assert len(rows) == 1 and rows[0]["level"] == "warn"
    assert f"{busy} of {min(len(jobs), 4)} baselines" in rows[0]["text"] and "up to 35.5%" in rows[0]["text"]
    assert jobs[0]["name"] in rows[0]["text"]
    html = render_html(run, summarize_run(run))
    assert "other load during the idle baseline" in html


def test_quiet_or_unrecorded_baselines_say_nothing():
    run = json.loads(RUN_FILE.read_text())
    assert baseline_load_rows(run) == []  # results of agents that do not record it
    for job in run["jobs"]:
        if (job.get("result") or {}).get("baseline"):
            job["result"]["baseline"]["other_load_pct"] = 3.0
    assert baseline_load_rows(run) == []
