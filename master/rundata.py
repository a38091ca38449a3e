"""A campaign run as one dict: campaign, nodes that worked on it, jobs with their accepted results (each one keeping
the result schema, even when stored before results were validated: master/api/result_schema.py)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from master import db, queue
from master.api.result_schema import load_stored


def iso(ts: float | None) -> str | None:
    """A UNIX timestamp as ISO 8601 UTC; None stays None."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="seconds")


def campaign_to_dict(row) -> dict[str, Any]:
    """A campaigns row as JSON."""
    c = dict(row)
    c["created_at"], c["finished_at"] = iso(c["created_at"]), iso(c["finished_at"])
    return c


def job_counts(conn, campaign_id: str) -> dict[str, int]:
    """Jobs of a campaign by state."""
    rows = conn.execute("SELECT state, COUNT(*) AS n FROM jobs WHERE campaign_id = ? GROUP BY state",
                        (campaign_id,)).fetchall()
    return {r["state"]: r["n"] for r in rows}


def load_run(conn, campaign_id: str) -> dict[str, Any] | None:
    """The report input for one campaign (see master/reports/writer.py); None if the campaign is unknown."""
    row = conn.execute("SELECT * FROM campaigns WHERE id = ?", (campaign_id,)).fetchone()
    if row is None:
        return None
    results = {}
    for r in conn.execute("SELECT r.job_id, r.attempt, r.node_id, r.status, r.body FROM results r"
                          " JOIN jobs j ON j.id = r.job_id WHERE j.campaign_id = ? AND r.attempt = j.attempt",
                          (campaign_id,)):
        results[r["job_id"]] = load_stored(r)
    jobs = []
    for r in conn.execute("SELECT * FROM jobs WHERE campaign_id = ? ORDER BY seq", (campaign_id,)):
        job = queue.job_to_dict(r)
        job["created_at"], job["started_at"], job["finished_at"] = (
            iso(job["created_at"]), iso(job["started_at"]), iso(job["finished_at"]))
        job["result"] = results.get(job["id"])
        jobs.append(job)
    node_ids = {j["node_id"] for j in jobs if j["node_id"]}
    nodes = []
    for n in conn.execute("SELECT id, hostname, inventory, labels FROM nodes ORDER BY hostname"):
        if n["id"] in node_ids:
            nodes.append({"id": n["id"], "hostname": n["hostname"], "inventory": db.loads(n["inventory"], {}),
                          "labels": db.loads(n["labels"], {})})
    return {"campaign": campaign_to_dict(row), "nodes": nodes, "jobs": jobs,
            "generated_at": iso(datetime.now(timezone.utc).timestamp())}
