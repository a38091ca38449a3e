"""A campaign run as one dict: campaign, nodes that worked on it, jobs with their accepted results (each one keeping
the result schema, even when stored before results were validated: master/api/result_schema.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from master import db, jobstore, results
from master.api.result_schema import load_stored
from master.campaign import confidence
from wire.states import CampaignState, JobState


def iso(ts: float | None) -> str | None:
    """A UNIX timestamp as ISO 8601 UTC; None stays None."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="seconds")


def campaign_to_dict(row) -> dict[str, Any]:
    """A campaigns row as JSON."""
    c = dict(row)
    c["created_at"], c["finished_at"] = iso(c["created_at"]), iso(c["finished_at"])
    return c


def job_counts(conn, campaign_id: str) -> dict[str, int]:
    """Jobs of a campaign by state."""
    rows = conn.execute(
        "SELECT state, COUNT(*) AS n FROM jobs WHERE campaign_id = ? GROUP BY state", (campaign_id,)
    ).fetchall()
    return {r["state"]: r["n"] for r in rows}


def campaign_jobs(conn, campaign_id: str, *, samples: bool = True) -> list[dict[str, Any]]:
    """The campaign's jobs in submission order (:func:`master.jobstore.job_to_dict`), each with ``result``: its accepted
    result of the job's current attempt (None without one), read in one query. ``samples=False`` leaves the power
    samples out of the bodies inside SQLite, before they are parsed (readers that only summarize never use them)."""
    body = "r.body" if samples else "CASE WHEN json_valid(r.body) THEN json_remove(r.body, '$.samples') ELSE r.body END"
    jobs = []
    for row in conn.execute(
        f"SELECT j.*, r.node_id AS r_node_id, r.status AS r_status, {body} AS r_body,"
        " r.id AS r_id FROM jobs j LEFT JOIN results r ON r.job_id = j.id AND r.attempt = j.attempt"
        " WHERE j.campaign_id = ? ORDER BY j.seq",
        (campaign_id,),
    ):
        job = jobstore.job_to_dict({k: row[k] for k in row.keys() if not k.startswith("r_")})
        job["result"] = (
            None
            if row["r_id"] is None
            else load_stored(
                {
                    "job_id": row["id"],
                    "attempt": row["attempt"],
                    "node_id": row["r_node_id"],
                    "status": row["r_status"],
                    "body": row["r_body"],
                }
            )
        )
        jobs.append(job)
    return jobs


def load_run(conn, campaign_id: str) -> dict[str, Any] | None:
    """The report input for one campaign (see master/reports/writer.py); None if the campaign is unknown."""
    row = conn.execute("SELECT * FROM campaigns WHERE id = ?", (campaign_id,)).fetchone()
    if row is None:
        return None
    jobs = campaign_jobs(conn, campaign_id)
    for job in jobs:
        job["created_at"], job["started_at"], job["finished_at"] = (
            iso(job["created_at"]),
            iso(job["started_at"]),
            iso(job["finished_at"]),
        )
    node_ids = {j["node_id"] for j in jobs if j["node_id"]}
    nodes = []
    for n in conn.execute("SELECT id, hostname, inventory, labels FROM nodes ORDER BY hostname"):
        if n["id"] in node_ids:
            nodes.append(
                {
                    "id": n["id"],
                    "hostname": n["hostname"],
                    "inventory": db.loads(n["inventory"], {}),
                    "labels": db.loads(n["labels"], {}),
                }
            )
    return {
        "campaign": campaign_to_dict(row),
        "nodes": nodes,
        "jobs": jobs,
        "generated_at": iso(datetime.now(UTC).timestamp()),
    }


def confidence_progress(conn, campaign_id: str, campaign_state: str) -> list[dict[str, Any]]:
    """Per variant repeated by ``confidence`` (master/campaign/confidence.py), in submission order: the report's
    ``confidence`` entry (target, min, max, runs, half_width_pct, reached) plus ``variant``, ``jobs`` (created so
    far), ``outstanding`` (queued or running) and ``outcome`` (:func:`master.campaign.confidence.outcome`), from one
    query over the variants' jobs and the joules per frame of their results; [] for a campaign without such a
    variant."""
    groups: dict[str, dict[str, Any]] = {}
    for row in conn.execute(
        f"SELECT j.variant, j.state, j.confidence, {results.JOULES_PER_FRAME_SQL} AS jpf FROM jobs j"
        " LEFT JOIN results r ON r.job_id = j.id AND r.attempt = j.attempt"
        " WHERE j.campaign_id = ? AND j.confidence IS NOT NULL ORDER BY j.seq",
        (campaign_id,),
    ):
        group = groups.setdefault(
            row["variant"], {"spec": db.loads(row["confidence"]), "values": [], "jobs": 0, "outstanding": 0}
        )
        group["jobs"] += 1
        if row["state"] == JobState.SUCCEEDED.value:
            group["values"].append(row["jpf"])
        elif row["state"] in (JobState.QUEUED.value, JobState.RUNNING.value):
            group["outstanding"] += 1
    found = []
    for variant, group in groups.items():
        spec, values = group["spec"], group["values"]
        found.append(
            {
                "variant": variant,
                **confidence.to_report(values, spec),
                "jobs": group["jobs"],
                "outstanding": group["outstanding"],
                "outcome": confidence.outcome(
                    values, group["outstanding"], group["jobs"], spec, campaign_state == CampaignState.RUNNING.value
                ),
            }
        )
    return found
