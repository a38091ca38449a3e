"""Campaigns as the web UI shows them: progress (done of total), jobs by state, and why queued jobs wait."""
from __future__ import annotations

import sqlite3
from typing import Any, Iterable

from master.states import JobState
from master.web import formatting as fmt

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
    for row in conn.execute(f"SELECT campaign_id, state, COUNT(*) AS n FROM jobs WHERE campaign_id IN ({marks})"
                            " GROUP BY campaign_id, state", ids):
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
    rows = [dict(r) for r in conn.execute(
        "SELECT id, name, description, state, created_at, finished_at FROM campaigns"
        " ORDER BY created_at DESC LIMIT ?", (limit,))]
    counts = counts_by_campaign(conn, [r["id"] for r in rows])
    return [dict(r, progress=progress(counts[r["id"]])) for r in rows]


def detail(conn: sqlite3.Connection, campaign_id: str, state: str | None = None,
           online_nodes: int | None = None) -> dict[str, Any] | None:
    """One campaign's page: progress, its jobs (``state`` filters them), why jobs wait; None if unknown."""
    row = conn.execute("SELECT id, name, description, spec_path, state, created_at, finished_at FROM campaigns"
                       " WHERE id = ?", (campaign_id,)).fetchone()
    if row is None:
        return None
    campaign = dict(row)
    campaign["progress"] = progress(counts_by_campaign(conn, [campaign_id])[campaign_id])
    where, args = "j.campaign_id = ?", [campaign_id]
    if state:
        where, args = where + " AND j.state = ?", args + [state]
    campaign["jobs"] = [dict(r) for r in conn.execute(
        "SELECT j.id, j.seq, j.name, j.variant, j.repetition, j.state, j.attempt, j.max_attempts, j.node_id,"
        " n.hostname, j.started_at, j.finished_at, j.error FROM jobs j LEFT JOIN nodes n ON n.id = j.node_id"
        f" WHERE {where} ORDER BY j.seq LIMIT ?", args + [JOBS_SHOWN])]
    campaign["shown_of"] = (campaign["progress"]["counts"].get(state, 0) if state
                            else campaign["progress"]["total"])
    campaign["state_filter"] = state
    campaign["waiting"] = waiting_reason(campaign["progress"]["counts"], online_nodes)
    return campaign


def waiting_reason(counts: dict[str, int], online_nodes: int | None) -> str | None:
    """Why queued jobs are not running, when the master can tell: no node is online to take them."""
    queued = counts.get(JobState.QUEUED.value, 0)
    if queued and online_nodes == 0:
        return f"{queued} job{'s' if queued != 1 else ''} wait: no node is online to take them"
    return None
