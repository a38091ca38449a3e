"""The job queue's state transitions, each one short write transaction.

A claim is one statement that sets node, attempt, lease and state together; a result is accepted only from the
attempt that holds the job; an expired lease puts the job back in the queue (or fails it after ``max_attempts``).
"""
from __future__ import annotations

import sqlite3
import time
import uuid
from typing import Any

from master import db
from master.states import CampaignState, JobState

DEFAULT_LEASE_S = 120.0
"""Seconds a claim stays valid without a heartbeat from the node that holds it."""

DEFAULT_MAX_ATTEMPTS = 3
"""How many times a job is handed out before an expired lease fails it."""


class QueueError(Exception):
    """A transition that cannot happen; ``status`` is the HTTP status that says why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def new_id(prefix: str) -> str:
    """A short random id such as ``j-3f9a1c2b7d4e``."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def job_to_dict(row: sqlite3.Row) -> dict[str, Any]:
    """A jobs row as its JSON shape (docs/WIRE.md "Job" plus bookkeeping)."""
    job = dict(row)
    job["params"] = db.loads(job["params"], {})
    job["requirements"] = db.loads(job["requirements"], {})
    return job


def create_campaign(conn, *, name: str, description: str, spec_text: str, spec_path: str | None,
                    jobs: list[dict[str, Any]], max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> str:
    """Insert a campaign and its expanded jobs (each a JobSpec dict) in one transaction."""
    campaign_id, now = new_id("c"), time.time()
    with db.write(conn):
        conn.execute(
            "INSERT INTO campaigns (id, name, description, spec_text, spec_path, state, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (campaign_id, name, description or "", spec_text, spec_path, CampaignState.RUNNING.value, now),
        )
        for seq, job in enumerate(jobs):
            conn.execute(
                "INSERT INTO jobs (id, campaign_id, seq, name, scenario, variant, repetition, kind, params,"
                " requirements, state, priority, max_attempts, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (new_id("j"), campaign_id, seq, job["name"], job["scenario"], job["variant"],
                 job.get("repetition", 1), job["kind"], db.dumps(job["params"]),
                 db.dumps(job.get("requirements", {})), JobState.QUEUED.value, job.get("priority", 0),
                 max_attempts, now),
            )
    return campaign_id


def claim_next_job(conn, node_id: str, lease_s: float = DEFAULT_LEASE_S) -> dict[str, Any] | None:
    """Hand the oldest, highest-priority queued job to ``node_id``; None when nothing is queued."""
    now = time.time()
    with db.write(conn):
        row = conn.execute(
            "UPDATE jobs SET state = ?, node_id = ?, attempt = attempt + 1, lease_expires = ?, started_at = ?,"
            " error = NULL"
            " WHERE id = (SELECT id FROM jobs WHERE state = ? ORDER BY priority DESC, created_at, seq LIMIT 1)"
            " RETURNING *",
            (JobState.RUNNING.value, node_id, now + lease_s, now, JobState.QUEUED.value),
        ).fetchone()
        if row is not None:
            conn.execute("UPDATE nodes SET current_job_id = ? WHERE id = ?", (row["id"], node_id))
    return None if row is None else job_to_dict(row)


def extend_leases(conn, node_id: str, lease_s: float = DEFAULT_LEASE_S) -> int:
    """Push back the lease of every job ``node_id`` is running; returns how many."""
    with db.write(conn):
        cur = conn.execute(
            "UPDATE jobs SET lease_expires = ? WHERE node_id = ? AND state = ?",
            (time.time() + lease_s, node_id, JobState.RUNNING.value),
        )
    return cur.rowcount


def requeue_expired(conn) -> int:
    """Requeue running jobs whose lease expired; fail those out of attempts. Returns how many changed."""
    now = time.time()
    with db.write(conn):
        expired = conn.execute(
            "SELECT id, attempt, max_attempts, campaign_id FROM jobs WHERE state = ? AND lease_expires < ?",
            (JobState.RUNNING.value, now),
        ).fetchall()
        for job in expired:
            if job["attempt"] >= job["max_attempts"]:
                _finish_job(conn, job["id"], JobState.FAILED,
                            f"lease expired on attempt {job['attempt']} of {job['max_attempts']}")
            else:
                conn.execute("UPDATE jobs SET state = ?, node_id = NULL, lease_expires = NULL WHERE id = ?",
                             (JobState.QUEUED.value, job["id"]))
        for campaign_id in {job["campaign_id"] for job in expired}:
            _refresh_campaign(conn, campaign_id)
    return len(expired)


def accept_result(conn, body: dict[str, Any]) -> dict[str, Any]:
    """Store the result of the attempt that holds the job and finish the job.

    A repeat of an accepted result is acknowledged again (idempotent); a result from any other attempt or node is
    refused with 409 and changes nothing.
    """
    with db.write(conn):
        job = conn.execute("SELECT * FROM jobs WHERE id = ?", (body["job_id"],)).fetchone()
        if job is None:
            raise QueueError(404, f"job {body['job_id']} not found")
        seen = conn.execute("SELECT node_id FROM results WHERE job_id = ? AND attempt = ?",
                            (body["job_id"], body["attempt"])).fetchone()
        if seen is not None and seen["node_id"] == body["node_id"]:
            return {"accepted": True, "duplicate": True, "job_id": job["id"]}
        holds = (job["state"] == JobState.RUNNING.value and job["attempt"] == body["attempt"]
                 and job["node_id"] == body["node_id"])
        if not holds:
            raise QueueError(409, f"stale result: job {job['id']} is {job['state']} on attempt {job['attempt']}"
                                  f" held by {job['node_id']}; this result is attempt {body['attempt']}"
                                  f" from {body['node_id']}")
        conn.execute(
            "INSERT INTO results (job_id, attempt, node_id, status, body, received_at) VALUES (?, ?, ?, ?, ?, ?)",
            (job["id"], body["attempt"], body["node_id"], body["status"], db.dumps(body), time.time()),
        )
        state = JobState.SUCCEEDED if body["status"] == "succeeded" else JobState.FAILED
        _finish_job(conn, job["id"], state, body.get("error"))
        _refresh_campaign(conn, job["campaign_id"])
    return {"accepted": True, "duplicate": False, "job_id": job["id"]}


def cancel_campaign(conn, campaign_id: str, state: CampaignState = CampaignState.CANCELLED) -> int:
    """Cancel every job of the campaign that has not finished; returns how many."""
    with db.write(conn):
        cur = conn.execute(
            "UPDATE jobs SET state = ?, finished_at = ?, lease_expires = NULL,"
            " error = COALESCE(error, 'cancelled with its campaign') WHERE campaign_id = ? AND state IN (?, ?)",
            (JobState.CANCELLED.value, time.time(), campaign_id, JobState.QUEUED.value, JobState.RUNNING.value),
        )
        conn.execute("UPDATE campaigns SET state = ?, finished_at = ? WHERE id = ?",
                     (state.value, time.time(), campaign_id))
    return cur.rowcount


def _finish_job(conn, job_id: str, state: JobState, error: str | None) -> None:
    conn.execute("UPDATE jobs SET state = ?, error = ?, finished_at = ?, lease_expires = NULL WHERE id = ?",
                 (state.value, error, time.time(), job_id))
    conn.execute("UPDATE nodes SET current_job_id = NULL WHERE current_job_id = ?", (job_id,))


def _refresh_campaign(conn, campaign_id: str | None) -> None:
    """Mark a running campaign finished once none of its jobs is queued or running."""
    if campaign_id is None:
        return
    open_jobs = conn.execute("SELECT COUNT(*) FROM jobs WHERE campaign_id = ? AND state IN (?, ?)",
                             (campaign_id, JobState.QUEUED.value, JobState.RUNNING.value)).fetchone()[0]
    if open_jobs == 0:
        conn.execute("UPDATE campaigns SET state = ?, finished_at = ? WHERE id = ? AND state = ?",
                     (CampaignState.FINISHED.value, time.time(), campaign_id, CampaignState.RUNNING.value))
