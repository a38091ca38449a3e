"""Accepting a job attempt's result: the one way a job succeeds, and where a variant repeated by ``confidence`` grows.

A result is accepted only from the attempt that holds the job; a repeat of an accepted one is acknowledged again.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from master import db, vmpush
from master.campaign import confidence
from master.errors import StaleResult
from master.jobstore import INSERT_JOB, add_event, finish_job, get_job, job_row, refresh_campaign
from wire.states import CampaignState, JobState

STDERR_TAIL_LINES = 40
"""Lines of FFmpeg's stderr a result's log entry keeps."""

_QUEUED, _RUNNING = JobState.QUEUED.value, JobState.RUNNING.value


def accept_result(conn, body: dict[str, Any], vm_outbox: bool = False) -> dict[str, Any]:
    """Store the result of the attempt that holds the job and finish the job.

    With ``vm_outbox`` its figures go to the VictoriaMetrics outbox in the same transaction (master/vmpush.py).

    A repeat of an accepted result is acknowledged again (idempotent); a result from any other attempt or node is
    refused (:class:`~master.errors.StaleResult`) and changes nothing. When the job's variant repeats by
    ``confidence`` and this was its last outstanding run, one more run may be queued in the same transaction: the
    ack then says ``added_jobs: 1``.
    """
    with db.write(conn):
        job = get_job(conn, body["job_id"])
        seen = conn.execute(
            "SELECT node_id FROM results WHERE job_id = ? AND attempt = ?", (body["job_id"], body["attempt"])
        ).fetchone()
        if seen is not None and seen["node_id"] == body["node_id"]:
            return {"accepted": True, "duplicate": True, "job_id": job["id"]}
        holds = job["state"] == _RUNNING and job["attempt"] == body["attempt"] and job["node_id"] == body["node_id"]
        if not holds:
            raise StaleResult(
                f"stale result: job {job['id']} is {job['state']} on attempt {job['attempt']}"
                f" held by {job['node_id']}; this result is attempt {body['attempt']}"
                f" from {body['node_id']}"
            )
        now = time.time()
        conn.execute(
            "INSERT INTO results (job_id, attempt, node_id, status, body, received_at) VALUES (?, ?, ?, ?, ?, ?)",
            (job["id"], body["attempt"], body["node_id"], body["status"], db.dumps(body), now),
        )
        if vm_outbox:
            vmpush.enqueue(conn, job, body, now)
        add_event(conn, job["id"], body["attempt"], "result", body["node_id"], _result_detail(body), now)
        state = JobState.SUCCEEDED if body["status"] == "succeeded" else JobState.FAILED
        finish_job(conn, job, state, body.get("error"))
        added = more_runs(conn, job, now)
        refresh_campaign(conn, job["campaign_id"])
    ack: dict[str, Any] = {"accepted": True, "duplicate": False, "job_id": job["id"]}
    if added:
        ack["added_jobs"] = added
    return ack


JOULES_PER_FRAME_SQL = (
    "CASE WHEN json_valid(r.body) THEN"
    " CASE WHEN json_type(r.body, '$.metrics.joules_per_frame') IN ('integer', 'real')"
    " THEN json_extract(r.body, '$.metrics.joules_per_frame') END END"
)
"""The joules per frame of the result ``r`` in SQL: null unless the stored value is a number (a row stored before
results were validated may hold anything there, a string, an object, or a body that is not JSON at all)."""


def more_runs(conn, job: Mapping[str, Any], now: float) -> int:
    """After ``job`` finished: queue one more run of its variant if its ``confidence`` asks for it (inside the
    caller's write transaction, before the campaign is refreshed); returns how many jobs were added (0 or 1).

    Only a variant with ``confidence`` of a running campaign grows; the decision is
    :func:`master.campaign.confidence.decide` over the variant's jobs as they are now."""
    if job["campaign_id"] is None or job["confidence"] is None:
        return 0
    running = conn.execute(
        "SELECT 1 FROM campaigns WHERE id = ? AND state = ?", (job["campaign_id"], CampaignState.RUNNING.value)
    ).fetchone()
    if running is None:
        return 0
    spec = db.loads(job["confidence"])
    rows = conn.execute(
        f"SELECT j.state, j.repetition, {JOULES_PER_FRAME_SQL} AS jpf FROM jobs j"
        " LEFT JOIN results r ON r.job_id = j.id AND r.attempt = j.attempt"
        " WHERE j.campaign_id = ? AND j.variant = ?",
        (job["campaign_id"], job["variant"]),
    ).fetchall()
    values = [row["jpf"] for row in rows if row["state"] == JobState.SUCCEEDED.value]
    outstanding = sum(1 for row in rows if row["state"] in (_QUEUED, _RUNNING))
    decision = confidence.decide(values, outstanding, len(rows), spec)
    if decision != confidence.MORE:
        return 0
    found = confidence.assess(values, spec)
    repetition = max(row["repetition"] for row in rows) + 1
    seq = conn.execute(
        "SELECT COALESCE(MAX(seq), -1) + 1 FROM jobs WHERE campaign_id = ?", (job["campaign_id"],)
    ).fetchone()[0]
    name = f"{job['variant']}#{repetition}"
    new = {
        "name": name,
        "scenario": job["scenario"],
        "variant": job["variant"],
        "repetition": repetition,
        "kind": job["kind"],
        "params": db.loads(job["params"]),
        "priority": job["priority"],
        "requirements": db.loads(job["requirements"], {}),
        "confidence": spec,
    }
    row = job_row(job["campaign_id"], seq, new, job["max_attempts"], now)
    conn.execute(INSERT_JOB, row)
    add_event(
        conn,
        row[0],
        0,
        "queued",
        None,
        {
            "reason": "confidence",
            "after": job["id"],
            "runs": found.runs,
            "jobs": len(rows),
            "half_width_pct": found.half_width_pct,
            "target_pct": spec["target"] * 100,
            "max": spec["max"],
        },
        now,
    )
    return 1


def _result_detail(body: Mapping[str, Any]) -> dict[str, Any]:
    ffmpeg = body.get("ffmpeg") if isinstance(body.get("ffmpeg"), dict) else {}
    tail = ffmpeg.get("stderr_tail") if isinstance(ffmpeg.get("stderr_tail"), list) else []
    return {"status": body["status"], "error": body.get("error"), "stderr_tail": tail[-STDERR_TAIL_LINES:]}
