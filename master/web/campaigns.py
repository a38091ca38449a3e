"""Campaigns as the web UI shows them: progress (done of total), jobs by state, why queued jobs wait, and the
per-variant results table (the report's own analysis, master/analysis/summarize.py, over the results so far)."""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from master import rundata
from master.analysis.summarize import group_by_variant, metric, ok_result, summarize_run
from master.campaign import confidence
from master.reports.cells import Footnotes, stat_cell
from master.reports.tables import QUALITY_METRICS, TABLE_METRICS, energy_variants
from master.web import formatting as fmt
from wire.states import CampaignState, JobState

RECENT_CAMPAIGNS = 20
"""Campaigns on the dashboard, newest first."""

JOBS_SHOWN = 500
"""Most jobs listed on a campaign's page (in submission order); a state filter narrows the list."""

STATES = [s.value for s in JobState]
"""Job states in the order the UI lists them."""


def counts_by_campaign(conn: sqlite3.Connection, campaign_ids: Iterable[str]) -> dict[str, dict[str, int]]:
    """``{campaign_id: {state: jobs}}`` in one query."""
    ids = list(campaign_ids)
    counts: dict[str, dict[str, int]] = {cid: {} for cid in ids}
    if not ids:
        return counts
    marks = ",".join("?" * len(ids))
    for row in conn.execute(
        f"SELECT campaign_id, state, COUNT(*) AS n FROM jobs WHERE campaign_id IN ({marks})"
        " GROUP BY campaign_id, state",
        ids,
    ):
        counts[row["campaign_id"]][row["state"]] = row["n"]
    return counts


def progress(counts: dict[str, int]) -> dict[str, Any]:
    """Done (finished in any way) of total, the percent, and every state's count (known states first, zeros kept)."""
    total = sum(counts.values())
    done = sum(n for state, n in counts.items() if state in {s.value for s in JobState if s.finished})
    ordered = {state: counts.get(state, 0) for state in STATES}
    ordered.update({s: n for s, n in sorted(counts.items()) if s not in ordered})
    return {"total": total, "done": done, "percent": fmt.percent(done, total) if total else None, "counts": ordered}


def overview(conn: sqlite3.Connection, limit: int = RECENT_CAMPAIGNS) -> list[dict[str, Any]]:
    """The newest campaigns with their progress, for the dashboard."""
    rows = [
        dict(r)
        for r in conn.execute(
            "SELECT id, name, description, state, created_at, finished_at FROM campaigns"
            " ORDER BY created_at DESC LIMIT ?",
            (limit,),
        )
    ]
    counts = counts_by_campaign(conn, [r["id"] for r in rows])
    return [dict(r, progress=progress(counts[r["id"]])) for r in rows]


def detail(
    conn: sqlite3.Connection, campaign_id: str, state: str | None = None, online_nodes: int | None = None
) -> dict[str, Any] | None:
    """One campaign's page: progress, its jobs (``state`` filters them), why jobs wait; None if unknown."""
    row = conn.execute(
        "SELECT id, name, description, spec_path, state, created_at, finished_at FROM campaigns WHERE id = ?",
        (campaign_id,),
    ).fetchone()
    if row is None:
        return None
    campaign = dict(row)
    campaign["progress"] = progress(counts_by_campaign(conn, [campaign_id])[campaign_id])
    where, args = "j.campaign_id = ?", [campaign_id]
    if state:
        where, args = where + " AND j.state = ?", args + [state]
    campaign["jobs"] = [
        dict(r)
        for r in conn.execute(
            "SELECT j.id, j.seq, j.name, j.variant, j.repetition, j.state, j.attempt, j.max_attempts, j.node_id,"
            " n.hostname, j.started_at, j.finished_at, j.error FROM jobs j LEFT JOIN nodes n ON n.id = j.node_id"
            f" WHERE {where} ORDER BY j.seq LIMIT ?",
            args + [JOBS_SHOWN],
        )
    ]
    campaign["shown_of"] = campaign["progress"]["counts"].get(state, 0) if state else campaign["progress"]["total"]
    campaign["state_filter"] = state
    campaign["waiting"] = waiting_reason(campaign["progress"]["counts"], online_nodes)
    return campaign


def waiting_reason(counts: dict[str, int], online_nodes: int | None) -> str | None:
    """Why queued jobs are not running, when the master can tell: no node is online to take them."""
    queued = counts.get(JobState.QUEUED.value, 0)
    if queued and online_nodes == 0:
        return f"{queued} job{'s' if queued != 1 else ''} wait: no node is online to take them"
    return None


RESULT_COLUMNS = tuple(
    column
    for name in ("joules_per_frame", "mean_watts", "fps", "vmaf", "psnr_db", "ssim")
    for column in TABLE_METRICS
    if column[0] == name
)
"""Columns of a campaign's results table, the report's own (summary metric, heading, whether it is an energy number:
gets `est.`), in this order; the quality ones only when some run of the campaign has that score (as in the report)."""


TABLES_KEPT = 16
"""Results tables kept between two refreshes (the most recently built ones)."""

_tables: OrderedDict[tuple, tuple[tuple, dict[str, Any] | None]] = OrderedDict()
_tables_lock = threading.Lock()


def fingerprint(conn: sqlite3.Connection, campaign_id: str) -> tuple:
    """What the results table depends on, in one query: per job state the jobs, their attempts and the newest result
    (a result is never changed once stored, so a new one always has a higher id)."""
    return tuple(
        tuple(r)
        for r in conn.execute(
            "SELECT j.state, COUNT(*), TOTAL(j.attempt), MAX(r.id) FROM jobs j LEFT JOIN results r ON r.job_id = j.id"
            " WHERE j.campaign_id = ? GROUP BY j.state ORDER BY j.state",
            (campaign_id,),
        )
    )


def results(conn: sqlite3.Connection, campaign_id: str, campaign_state: str) -> dict[str, Any] | None:
    """The per-variant results table of a campaign, or None before its first result.

    A refresh that finds the campaign's jobs and results as they were (:func:`fingerprint`, one query) reuses the
    table it built; else one query reads the campaign's jobs with their results (samples left out) and the table is
    built again (:func:`build_results`)."""
    key = (conn.execute("PRAGMA database_list").fetchone()["file"], campaign_id)
    mark = (campaign_state, fingerprint(conn, campaign_id))
    with _tables_lock:
        kept = _tables.get(key)
    if kept is not None and kept[0] == mark:
        return kept[1]
    table = build_results(conn, campaign_id, campaign_state)
    with _tables_lock:
        _tables[key] = (mark, table)
        _tables.move_to_end(key)
        while len(_tables) > TABLES_KEPT:
            _tables.popitem(last=False)
    return table


def build_results(conn: sqlite3.Connection, campaign_id: str, campaign_state: str) -> dict[str, Any] | None:
    """The results table from the campaign's jobs and results as stored now: the numbers are the report's
    (:func:`master.analysis.summarize.summarize_run`) and so are the cells: mean ± stdev with the 95% CI below it,
    "—" with a footnoted reason where a variant has no value (:func:`master.reports.cells.stat_cell`)."""
    jobs = rundata.campaign_jobs(conn, campaign_id, samples=False)
    if not any(job["result"] for job in jobs):
        return None
    summary = summarize_run({"jobs": jobs})
    groups = {v["variant"]: group for v, group in zip(summary["variants"], group_by_variant(jobs))}
    variants = energy_variants(summary)
    columns = [
        c for c in RESULT_COLUMNS if c[0] not in QUALITY_METRICS or any(v["stats"][c[0]]["n"] > 0 for v in variants)
    ]
    notes = Footnotes()
    growing = campaign_state == CampaignState.RUNNING.value
    rows = [_result_row(v, groups[v["variant"]], columns, notes, growing) for v in variants]
    return {"headings": [heading for _, heading, _ in columns], "rows": rows, "footnotes": notes.items}


def _result_row(variant: dict, jobs: list[dict], columns: list, notes: Footnotes, growing: bool) -> dict[str, Any]:
    pending = variant["runs_pending"]
    reason = (
        f"no result yet: {pending} run{'s' if pending != 1 else ''} queued or running"
        if variant["runs_ok"] == 0 and pending and not variant["errors"]
        else None
    )
    cells = [
        notes.missing(reason) if reason else stat_cell(variant, name, notes, energy) for name, _, energy in columns
    ]
    return {
        "variant": variant["variant"],
        "scenario": variant["scenario"],
        "runs_ok": variant["runs_ok"],
        "jobs": variant["jobs"],
        "runs_failed": variant["runs_failed"],
        "runs_pending": pending,
        "cells": cells,
        "energy": energy_source(variant["provenance"]),
        "confidence": _confidence(variant, jobs, growing),
    }


def energy_source(prov: dict) -> dict[str, Any] | None:
    """Whether a variant's energy was measured or estimated, in words with the sources; None without a run."""
    if not prov["runs"]:
        return None
    sources = ", ".join(prov["sources"])
    if not prov["estimated"]:
        return {"text": "measured", "sub": sources or None, "est": False}
    if prov["measured_runs"]:
        return {"text": "mixed", "sub": f"estimated in {prov['estimated_runs']} of {prov['runs']} runs", "est": True}
    return {"text": "estimated", "sub": "CPU-time model, no power sensor", "est": True}


def _confidence(variant: dict, jobs: list[dict], growing: bool) -> dict[str, Any] | None:
    """The half-width of a ``confidence`` variant's interval against its target, and whether it was reached (yes,
    no, or still running: :func:`master.campaign.confidence.outcome`); None for a fixed repetition count."""
    entry = variant.get("confidence")
    if not entry:
        return None
    values = [metric(r, "joules_per_frame") for r in (ok_result(j) for j in jobs) if r is not None]
    outstanding = sum(1 for j in jobs if j.get("state") in (JobState.QUEUED.value, JobState.RUNNING.value))
    found = confidence.outcome(values, outstanding, len(jobs), jobs[0]["confidence"], growing)
    return {
        **entry,
        "outcome": found,
        "reached": {confidence.REACHED: "yes", confidence.RUNNING: "still running"}.get(found, "no"),
    }
