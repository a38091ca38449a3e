"""Leases: a node's heartbeat pushes back the leases of the jobs it holds; a lease that runs out puts its job back in
the queue, or fails it after ``max_attempts``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from master import db
from master.jobstore import add_event, finish_job, get_node, refresh_campaign, release_node
from master.results import more_runs
from wire.states import JobState, NodeStatus

DEFAULT_LEASE_S = 120.0
"""Seconds a claim stays valid without a heartbeat from the node that holds it."""

REQUEUE_BATCH = 500
"""Most expired leases one :func:`requeue_expired` call handles, so one call stays short."""

UNREPORTED_GRACE_S = 30.0
"""How long after its claim a job may go unnamed in its node's heartbeats (the claim's answer still on its way, or
the heartbeat that does not name it sent before the claim) before the master takes it as lost and requeues it."""

_QUEUED, _RUNNING = JobState.QUEUED.value, JobState.RUNNING.value


@dataclass
class Heartbeat:
    """What :func:`heartbeat` did: the node's row as it was before, and how many of its jobs it requeued."""

    before: sqlite3.Row
    requeued: int = 0


def heartbeat(
    conn,
    node_id: str,
    watts: float | None,
    progress: Any,
    lease_s: float = DEFAULT_LEASE_S,
    held: list[str] | None = None,
    grace_s: float = UNREPORTED_GRACE_S,
    going_offline: bool = False,
) -> Heartbeat:
    """Record a node's heartbeat and push back the leases of the jobs it holds (:class:`~master.errors.NotFound` for
    an unknown node, which changes nothing).

    ``held`` is what the node says it holds: the job it runs and those whose results it has not had acknowledged
    yet. Only those leases are pushed back. A job the master has running on the node that the node does not name,
    claimed more than ``grace_s`` ago, was never received (the claim's answer was lost) or died with an agent that
    started again: it is requeued now rather than when its lease runs out. ``held=None`` (a node that does not say)
    pushes back every lease the node has.

    ``going_offline``: the node's last heartbeat, sent by an agent that is stopping. The node is stored offline
    (no more jobs; its next heartbeat or registration brings it back online), and a running job it does not name is
    requeued at once, without the grace: the agent is leaving. The jobs it names (results left in its spool) have
    their leases pushed back like any heartbeat's, and are requeued when those run out unless the results come in.
    """
    now = time.time()
    with db.write(conn):
        before = get_node(conn, node_id)
        if going_offline:
            conn.execute(
                "UPDATE nodes SET last_heartbeat = ?, current_watts = NULL, progress = NULL, status = ? WHERE id = ?",
                (now, NodeStatus.OFFLINE.value, node_id),
            )
        else:
            conn.execute(
                "UPDATE nodes SET last_heartbeat = ?, current_watts = ?, progress = ?,"
                " status = CASE WHEN status = 'offline' THEN 'online' ELSE status END WHERE id = ?",
                (now, watts, db.dumps(progress), node_id),
            )
        if held is None:
            conn.execute(
                "UPDATE jobs SET lease_expires = ? WHERE node_id = ? AND state = ?", (now + lease_s, node_id, _RUNNING)
            )
            return Heartbeat(before)
        running = conn.execute(
            "SELECT id, attempt, max_attempts, campaign_id, node_id, started_at FROM jobs"
            " WHERE node_id = ? AND state = ?",
            (node_id, _RUNNING),
        ).fetchall()
        named = set(held)
        conn.executemany(
            "UPDATE jobs SET lease_expires = ? WHERE id = ?",
            [(now + lease_s, job["id"]) for job in running if job["id"] in named],
        )
        lost = [
            job
            for job in running
            if job["id"] not in named and (going_offline or (job["started_at"] or 0) < now - grace_s)
        ]
        why = "went offline without it" if going_offline else "no longer holds it"
        for job in lost:
            _requeue(
                conn, job, now, "not_held", f"node {node_id} {why} (attempt {job['attempt']} of {job['max_attempts']})"
            )
        for campaign_id in {job["campaign_id"] for job in lost}:
            refresh_campaign(conn, campaign_id)
    return Heartbeat(before, requeued=len(lost))


def renew_leases(conn, lease_s: float = DEFAULT_LEASE_S) -> int:
    """Give every running job at least a full lease from now; returns how many.

    For a master that starts again: while it was down no node could heartbeat, so the leases that ran out meanwhile
    say nothing about the nodes. Their nodes get one lease to come back (and hand in results they spooled).
    """
    now = time.time()
    with db.write(conn):
        return conn.execute(
            "UPDATE jobs SET lease_expires = ? WHERE state = ? AND lease_expires < ?",
            (now + lease_s, _RUNNING, now + lease_s),
        ).rowcount


def requeue_expired(conn, limit: int = REQUEUE_BATCH) -> int:
    """Requeue up to ``limit`` running jobs whose lease expired; fail those out of attempts. Returns how many."""
    now = time.time()
    probe = "SELECT 1 FROM jobs WHERE state = ? AND lease_expires < ? LIMIT 1"
    if conn.execute(probe, (_RUNNING, now)).fetchone() is None:
        return 0
    with db.write(conn):
        expired = conn.execute(
            "SELECT id, attempt, max_attempts, campaign_id, node_id FROM jobs WHERE state = ? AND lease_expires < ?"
            " LIMIT ?",
            (_RUNNING, now, limit),
        ).fetchall()
        for job in expired:
            _requeue(
                conn,
                job,
                now,
                "lease_expired",
                f"lease expired on attempt {job['attempt']} of {job['max_attempts']} (node {job['node_id']})",
            )
        for campaign_id in {job["campaign_id"] for job in expired}:
            refresh_campaign(conn, campaign_id)
    return len(expired)


def _requeue(conn, job: Mapping[str, Any], now: float, event: str, error: str) -> None:
    """Put a running ``job`` back in the queue, or fail it when it is out of attempts; ``event`` says why."""
    out_of_attempts = job["attempt"] >= job["max_attempts"]
    add_event(
        conn,
        job["id"],
        job["attempt"],
        event,
        job["node_id"],
        {"error": error, "outcome": "failed" if out_of_attempts else "requeued"},
        now,
    )
    if out_of_attempts:
        finish_job(conn, job, JobState.FAILED, error)
        full = conn.execute("SELECT * FROM jobs WHERE id = ?", (job["id"],)).fetchone()
        more_runs(conn, full, now)
    else:
        conn.execute(
            "UPDATE jobs SET state = ?, node_id = NULL, lease_expires = NULL, error = ? WHERE id = ?",
            (_QUEUED, error, job["id"]),
        )
        release_node(conn, job)
