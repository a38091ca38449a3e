"""The job queue's rows: ids, a job as JSON, lookups that say what is not found, a job's history, and the small
writes every state transition shares (an event, finishing a job, freeing its node, finishing its campaign).

The transitions themselves: master/queue.py (submit, claim, cancel, retry), master/leases.py (heartbeats and
expired leases), master/results.py (accepting a result).
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Mapping
from typing import Any

from master import db, fleet
from master.errors import NotFound
from wire.states import CampaignState, JobState

_QUEUED, _RUNNING = JobState.QUEUED.value, JobState.RUNNING.value


def new_id(prefix: str) -> str:
    """A short random id such as ``j-3f9a1c2b7d4e``."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def job_to_dict(row: sqlite3.Row) -> dict[str, Any]:
    """A jobs row as its JSON shape (docs/WIRE.md "Job" plus bookkeeping)."""
    job = dict(row)
    job["params"] = db.loads(job["params"], {})
    job["requirements"] = db.loads(job["requirements"], {})
    job["confidence"] = db.loads(job.get("confidence"))
    return job


INSERT_JOB = (
    "INSERT INTO jobs (id, campaign_id, seq, name, scenario, variant, repetition, kind, params,"
    " requirements, state, priority, max_attempts, created_at, confidence)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def job_row(campaign_id: str | None, seq: int, job: Mapping[str, Any], max_attempts: int, now: float) -> tuple:
    """The values of :data:`INSERT_JOB` for ``job`` (a JobSpec dict), with a fresh id first."""
    spec = job.get("confidence")
    return (
        new_id("j"),
        campaign_id,
        seq,
        job["name"],
        job["scenario"],
        job["variant"],
        job.get("repetition", 1),
        job["kind"],
        db.dumps(job["params"]),
        fleet.canonical(job.get("requirements")),
        _QUEUED,
        job.get("priority", 0),
        max_attempts,
        now,
        None if spec is None else db.dumps(spec),
    )


def job_events(conn, job_id: str) -> list[dict[str, Any]]:
    """The job's history, oldest first: each event with its attempt, node, time and details."""
    rows = conn.execute(
        "SELECT attempt, event, node_id, at, detail FROM job_events WHERE job_id = ? ORDER BY id", (job_id,)
    ).fetchall()
    return [
        {
            "attempt": r["attempt"],
            "event": r["event"],
            "node_id": r["node_id"],
            "at": r["at"],
            **db.loads(r["detail"], {}),
        }
        for r in rows
    ]


def get_job(conn, job_id: str) -> sqlite3.Row:
    """The jobs row of ``job_id``; :class:`~master.errors.NotFound` if none."""
    job = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
    if job is None:
        raise NotFound(f"job {job_id} not found")
    return job


def get_campaign(conn, campaign_id: str) -> sqlite3.Row:
    """The campaigns row of ``campaign_id``; :class:`~master.errors.NotFound` if none."""
    row = conn.execute("SELECT * FROM campaigns WHERE id = ?", (campaign_id,)).fetchone()
    if row is None:
        raise NotFound(f"campaign {campaign_id} not found")
    return row


def get_node(conn, node_id: str, hint: str = "") -> sqlite3.Row:
    """The nodes row of ``node_id``; :class:`~master.errors.NotFound` (its message ending in ``hint``) if none."""
    row = conn.execute("SELECT * FROM nodes WHERE id = ?", (node_id,)).fetchone()
    if row is None:
        raise NotFound(f"node {node_id} not found{hint}")
    return row


def add_event(
    conn, job_id: str, attempt: int, event: str, node_id: str | None, detail: dict[str, Any], now: float
) -> None:
    """Append ``event`` to the job's history (``job_events``)."""
    conn.execute(
        "INSERT INTO job_events (job_id, attempt, event, node_id, at, detail) VALUES (?, ?, ?, ?, ?, ?)",
        (job_id, attempt, event, node_id, now, db.dumps(detail)),
    )


def finish_job(conn, job: Mapping[str, Any], state: JobState, error: str | None) -> None:
    """Finish ``job`` (a row with id and node_id) in ``state``."""
    conn.execute(
        "UPDATE jobs SET state = ?, error = ?, finished_at = ?, lease_expires = NULL WHERE id = ?",
        (state.value, error, time.time(), job["id"]),
    )
    release_node(conn, job)


def release_node(conn, job: Mapping[str, Any]) -> None:
    """The job's node no longer runs it."""
    if job["node_id"] is not None:
        conn.execute(
            "UPDATE nodes SET current_job_id = NULL WHERE id = ? AND current_job_id = ?", (job["node_id"], job["id"])
        )


def refresh_campaign(conn, campaign_id: str | None) -> None:
    """Mark a running campaign finished once none of its jobs is queued or running."""
    if campaign_id is None:
        return
    still_open = conn.execute(
        "SELECT 1 FROM jobs WHERE campaign_id = ? AND state IN (?, ?) LIMIT 1", (campaign_id, _QUEUED, _RUNNING)
    ).fetchone()
    if still_open is None:
        conn.execute(
            "UPDATE campaigns SET state = ?, finished_at = ? WHERE id = ? AND state = ?",
            (CampaignState.FINISHED.value, time.time(), campaign_id, CampaignState.RUNNING.value),
        )
