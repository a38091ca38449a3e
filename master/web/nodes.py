"""Nodes as the web UI shows them: status, hardware, live watts, and the jobs they are running.

The hardware rows reuse the report's reading of the agent's inventory (:mod:`master.reports.inventory`), so a node
looks the same in the UI and in a report. Live watts are shown only for a node that is not offline; a node whose
heartbeat carried no watts shows "—" with the reason, never 0.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping
from typing import Any

from master import db
from master.fleet import LIVENESS_COLUMNS, Liveness
from master.reports.inventory import node_view
from master.web import formatting as fmt
from wire.states import JobState, NodeStatus

RECENT_NODE_JOBS = 20
"""Jobs listed on a node's page, most recent first."""

DASHBOARD_NODES = 50
"""Nodes on the dashboard (by hostname); /ui/nodes pages through the rest."""

PAGE_NODES = 100
"""Nodes on one page of /ui/nodes."""

REPLACED_ROWS = frozenset({"Usable encoders", "Unusable encoders", "Power sources"})
"""Inventory rows the node page shows as their own tables (encoders, power sources) instead."""


def running_jobs(conn: sqlite3.Connection, node_id: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """Running jobs by node id (all nodes, or one)."""
    sql = (
        "SELECT id, name, campaign_id, node_id, attempt, params, started_at FROM jobs"
        " WHERE state = ? AND node_id IS NOT NULL"
    )
    args: list[Any] = [JobState.RUNNING.value]
    if node_id is not None:
        sql, args = sql + " AND node_id = ?", args + [node_id]
    by_node: dict[str, list[dict[str, Any]]] = {}
    for row in conn.execute(sql + " ORDER BY started_at", args):
        job = dict(row)
        job["params"] = db.loads(job["params"], {})
        by_node.setdefault(job["node_id"], []).append(job)
    return by_node


def job_progress(job: Mapping[str, Any], progress: Any) -> dict[str, Any] | None:
    """The node's live progress when it is about ``job``, with the percent of the input encoded where known."""
    if not isinstance(progress, dict) or progress.get("job_id", job["id"]) != job["id"]:
        return None
    live = dict(progress)
    duration = (job.get("params") or {}).get("duration")
    out_time = progress.get("out_time_s")
    live["percent"] = fmt.percent(out_time, duration)
    return live


def _watts_reason(row: Mapping[str, Any], status: NodeStatus, now: float) -> str | None:
    if status is NodeStatus.OFFLINE:
        seen = fmt.ago(row["last_heartbeat"], now)
        reason = f"offline: last heartbeat {seen}" if seen else "offline: no heartbeat yet"
        last = fmt.watts(row["current_watts"])
        return f"{reason} (its last reading was {last})" if last else reason
    if row["current_watts"] is None:
        return "the last heartbeat carried no watts: no power reading on this node"
    return None


def summary(
    row: Mapping[str, Any], jobs: list[dict[str, Any]], config: Mapping[str, Any], now: float
) -> dict[str, Any]:
    """One node for the dashboard: status, hardware in three rows, live watts or why not, running jobs."""
    node = {"id": row["id"], "hostname": row["hostname"], "inventory": db.loads(row["inventory"], {})}
    rows = {r["label"]: r for r in node_view(node)["rows"]}
    status = Liveness.from_config(config).status(row, now)
    reason = _watts_reason(row, status, now)
    progress = db.loads(row["progress"])
    return {
        "id": row["id"],
        "hostname": row["hostname"],
        "status": status.value,
        "labels": db.loads(row["labels"], {}),
        "cpu": rows["CPU"],
        "cores": rows["Cores / threads"],
        "gpus": rows["GPUs"],
        "watts": None if reason else row["current_watts"],
        "watts_reason": reason,
        "last_heartbeat": row["last_heartbeat"],
        "registered_at": row["registered_at"],
        "jobs": [dict(j, live=job_progress(j, progress)) for j in jobs],
        "progress": progress,
        "inventory": node["inventory"],
    }


def overview(
    conn: sqlite3.Connection, config: Mapping[str, Any], now: float | None = None, limit: int = -1, offset: int = 0
) -> list[dict[str, Any]]:
    """Nodes by hostname for the dashboard and /ui/nodes: every one, or a page of ``limit`` after ``offset``."""
    now = time.time() if now is None else now
    rows = conn.execute("SELECT * FROM nodes ORDER BY hostname LIMIT ? OFFSET ?", (limit, offset)).fetchall()
    jobs = running_jobs(conn)
    return [summary(r, jobs.get(r["id"], []), config, now) for r in rows]


def counts(conn: sqlite3.Connection, config: Mapping[str, Any], now: float | None = None) -> dict[str, int]:
    """``{"total", "online", "draining", "offline"}`` nodes, from the liveness columns alone."""
    now = time.time() if now is None else now
    liveness = Liveness.from_config(config)
    found = {"total": 0, **{s.value: 0 for s in NodeStatus}}
    for row in conn.execute(f"SELECT {LIVENESS_COLUMNS} FROM nodes"):
        found["total"] += 1
        found[liveness.status(row, now).value] += 1
    return found


def count_online(conn: sqlite3.Connection, config: Mapping[str, Any], now: float | None = None) -> int:
    """How many nodes are online (neither offline nor draining), i.e. can take a job now."""
    now = time.time() if now is None else now
    rows = conn.execute(f"SELECT {LIVENESS_COLUMNS} FROM nodes").fetchall()
    liveness = Liveness.from_config(config)
    return sum(1 for r in rows if liveness.status(r, now) is NodeStatus.ONLINE)


def detail(
    conn: sqlite3.Connection, config: Mapping[str, Any], node_id: str, now: float | None = None
) -> dict[str, Any] | None:
    """One node's page: its summary, the full inventory, encoders, power sources and recent jobs; None if unknown."""
    now = time.time() if now is None else now
    row = conn.execute("SELECT * FROM nodes WHERE id = ?", (node_id,)).fetchone()
    if row is None:
        return None
    node = summary(row, running_jobs(conn, node_id).get(node_id, []), config, now)
    node["inventory_rows"] = [r for r in node_view(node)["rows"] if r["label"] not in REPLACED_ROWS]
    node["encoders"] = encoders(node["inventory"])
    node["power_sources"] = power_sources(node["inventory"])
    node["offline_after_s"] = Liveness.from_config(config).offline_after_s(row)
    node["recent_jobs"] = [
        dict(r)
        for r in conn.execute(
            "SELECT id, name, campaign_id, state, attempt, started_at, finished_at, error FROM jobs WHERE node_id = ?"
            " ORDER BY COALESCE(finished_at, started_at, created_at) DESC LIMIT ?",
            (node_id, RECENT_NODE_JOBS),
        )
    ]
    return node


def encoders(inventory: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``[{"name", "usable", "reason"}]`` from ``inventory.encoders``, usable ones first, then by name."""
    found = inventory.get("encoders")
    if isinstance(found, list):
        found = {str(name): {"usable": True} for name in found}
    if not isinstance(found, dict):
        return []
    table = []
    for name, info in found.items():
        info = info if isinstance(info, dict) else {"usable": bool(info)}
        table.append({"name": name, "usable": bool(info.get("usable")), "reason": info.get("reason")})
    return sorted(table, key=lambda e: (not e["usable"], e["name"]))


def power_sources(inventory: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``[{"name", "kind", "measured", "details"}]`` from ``inventory.power_sources``; details as ``k=v`` text."""
    table = []
    for source in inventory.get("power_sources") or []:
        if not isinstance(source, dict):
            source = {"name": str(source)}
        details = source.get("details")
        text = ", ".join(f"{k}={v}" for k, v in details.items()) if isinstance(details, dict) else details
        table.append(
            {
                "name": source.get("name") or source.get("kind") or "?",
                "kind": source.get("kind"),
                "measured": source.get("measured"),
                "reason": source.get("reason"),
                "details": text or None,
            }
        )
    return table
