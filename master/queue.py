"""The job queue: submitting work, claiming it, and the admin's cancel and retry, each one short write transaction.

A claim is one transaction that picks the best job the node can run and sets node, attempt, lease and state together.
Every transition appends to the job's ``job_events``: its logs. The other transitions have their own modules:
heartbeats and expired leases master/leases.py, results master/results.py; the rows they share master/jobstore.py.
The names of those that tests use through this module are imported here too.

Claims stay cheap with a deep queue: the queued jobs' distinct requirement sets are read with a skip scan of the
``jobs_claim`` index, the node is checked against each set in Python, and the head of each runnable set is one index
seek. A job no node can run is skipped, never blocking the jobs behind it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from master import db, fleet
from master.errors import Conflict, InvalidTransition
from master.jobstore import (  # noqa: F401
    INSERT_JOB,
    add_event,
    finish_job,
    get_campaign,
    get_job,
    job_events,
    job_row,
    job_to_dict,
    new_id,
    refresh_campaign,
)
from master.leases import DEFAULT_LEASE_S, heartbeat, renew_leases, requeue_expired  # noqa: F401
from master.results import STDERR_TAIL_LINES, accept_result  # noqa: F401
from wire.states import CampaignState, JobState

DEFAULT_MAX_ATTEMPTS = 3
"""How many times a job is handed out before an expired lease fails it."""

_QUEUED, _RUNNING = JobState.QUEUED.value, JobState.RUNNING.value

_GROUPS_SQL = """
WITH RECURSIVE g(r) AS (
    SELECT (SELECT MIN(requirements) FROM jobs WHERE state = 'queued')
    UNION ALL
    SELECT (SELECT MIN(requirements) FROM jobs WHERE state = 'queued' AND requirements > g.r) FROM g
    WHERE g.r IS NOT NULL
) SELECT r FROM g WHERE r IS NOT NULL"""

_HEAD_SQL = (
    "SELECT id, priority, created_at, seq FROM jobs WHERE state = 'queued' AND requirements = ?"
    " ORDER BY priority DESC, created_at, seq LIMIT 1"
)


@dataclass(frozen=True)
class ClaimRules:
    """What decides whether a node gets work: its liveness, and what to do with jobs no online node can run."""

    liveness: fleet.Liveness = field(default_factory=fleet.Liveness)
    fail_unrunnable: bool = False
    """Fail (instead of holding) queued jobs no online node can run, when a node claims."""

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ClaimRules:
        return cls(fleet.Liveness.from_config(config), bool(config.get("FAIL_UNRUNNABLE")))


def create_campaign(
    conn,
    *,
    name: str,
    description: str,
    spec_text: str,
    spec_path: str | None,
    jobs: list[dict[str, Any]],
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> str:
    """Insert a campaign and its expanded jobs (each a JobSpec dict) in one transaction.

    A job dict with ``confidence`` (normalised, master/campaign/confidence.py) belongs to a variant that the master
    repeats until its interval is narrow enough: see :func:`accept_result`."""
    campaign_id, now = new_id("c"), time.time()
    with db.write(conn):
        conn.execute(
            "INSERT INTO campaigns (id, name, description, spec_text, spec_path, state, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (campaign_id, name, description or "", spec_text, spec_path, CampaignState.RUNNING.value, now),
        )
        conn.executemany(
            INSERT_JOB, (job_row(campaign_id, seq, job, max_attempts, now) for seq, job in enumerate(jobs))
        )
    return campaign_id


def submit_job(conn, job: Mapping[str, Any], max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> str:
    """Queue one job (a JobSpec dict, ``priority`` optional) that belongs to no campaign; returns its id."""
    row = job_row(None, 0, job, max_attempts, time.time())
    with db.write(conn):
        conn.execute(INSERT_JOB, row)
    return row[0]


def claim_next_job(
    conn, node: str | Mapping[str, Any], lease_s: float = DEFAULT_LEASE_S, rules: ClaimRules = ClaimRules()
) -> dict[str, Any] | None:
    """Hand ``node`` (an id or a nodes row) the best queued job it can run, in one write transaction.

    None when the node is unknown, offline, draining or at its ``max_concurrent_jobs``, or nothing it can run is
    queued. Best = highest priority, then oldest. A read-only look comes first, so that the many claims that find
    nothing never take the write lock.
    """
    node_id = node if isinstance(node, str) else node["id"]
    best, unrunnable = _candidate(conn, node_id, time.time(), rules)
    if best is None and not (rules.fail_unrunnable and unrunnable):
        return None
    return _claim(conn, node_id, lease_s, rules)


def _claim(conn, node_id: str, lease_s: float, rules: ClaimRules) -> dict[str, Any] | None:
    """The claim's write transaction: pick again (authoritative), fail the unrunnable if asked, take the job."""
    with db.write(conn):
        now = time.time()
        best, unrunnable = _candidate(conn, node_id, now, rules)
        if rules.fail_unrunnable and unrunnable:
            _fail_unrunnable(conn, unrunnable, now, rules)
        if best is None:
            return None
        row = conn.execute(
            "UPDATE jobs SET state = ?, node_id = ?, attempt = attempt + 1, lease_expires = ?, started_at = ?,"
            " error = NULL WHERE id = ? AND state = ? RETURNING *",
            (_RUNNING, node_id, now + lease_s, now, best["id"], _QUEUED),
        ).fetchone()
        add_event(conn, row["id"], row["attempt"], "claimed", node_id, {"lease_s": lease_s}, now)
        conn.execute("UPDATE nodes SET current_job_id = ? WHERE id = ?", (row["id"], node_id))
    return job_to_dict(row)


def _candidate(conn, node_id: str, now: float, rules: ClaimRules) -> tuple[sqlite3.Row | None, list[str]]:
    """(the best queued job the node may take now or None, the queued requirement sets it cannot meet)."""
    node = conn.execute("SELECT * FROM nodes WHERE id = ?", (node_id,)).fetchone()
    if node is None or not rules.liveness.takes_work(node, now):
        return None, []
    running = conn.execute("SELECT COUNT(*) FROM jobs WHERE node_id = ? AND state = ?", (node_id, _RUNNING)).fetchone()[
        0
    ]
    if running >= (node["max_concurrent_jobs"] or 1):
        return None, []
    caps = fleet.capabilities(node)
    best, unrunnable = None, []
    for (requirements,) in conn.execute(_GROUPS_SQL).fetchall():
        if not fleet.can_run(fleet.parse_requirements(requirements), caps):
            unrunnable.append(requirements)
            continue
        head = conn.execute(_HEAD_SQL, (requirements,)).fetchone()
        if head is not None and (best is None or _order(head) < _order(best)):
            best = head
    return best, unrunnable


def _order(row) -> tuple:
    return (-row["priority"], row["created_at"], row["seq"])


def _fail_unrunnable(conn, groups: list[str], now: float, rules: ClaimRules) -> None:
    """Fail the queued jobs of each requirement set that no online node can meet, saying why."""
    online = fleet.online(conn, rules.liveness, now)
    for requirements in groups:
        wanted = fleet.parse_requirements(requirements)
        if fleet.waiting_reason(wanted, online) is None:
            continue
        error = fleet.failure_message(wanted, online)
        conn.execute(
            "INSERT INTO job_events (job_id, attempt, event, node_id, at, detail)"
            " SELECT id, attempt, 'unrunnable', NULL, ?, ? FROM jobs WHERE state = ? AND requirements = ?",
            (now, db.dumps({"error": error}), _QUEUED, requirements),
        )
        campaigns = conn.execute(
            "UPDATE jobs SET state = ?, error = ?, finished_at = ? WHERE state = ?"
            " AND requirements = ? RETURNING campaign_id",
            (JobState.FAILED.value, error, now, _QUEUED, requirements),
        ).fetchall()
        for campaign_id in {r["campaign_id"] for r in campaigns}:
            refresh_campaign(conn, campaign_id)


def cancel_job(conn, job_id: str) -> dict[str, Any]:
    """Cancel a queued or running job (its node learns it from its next heartbeat's ``cancel_jobs``)."""
    with db.write(conn):
        job = get_job(conn, job_id)
        if JobState(job["state"]).finished:
            raise InvalidTransition(
                f"job {job_id} is already {job['state']}: only queued or running jobs can be cancelled"
            )
        add_event(conn, job_id, job["attempt"], "cancelled", job["node_id"], {"was": job["state"]}, time.time())
        finish_job(conn, job, JobState.CANCELLED, "cancelled by the admin")
        refresh_campaign(conn, job["campaign_id"])
        return job_to_dict(get_job(conn, job_id))


def retry_job(conn, job_id: str, attempts: int = DEFAULT_MAX_ATTEMPTS) -> dict[str, Any]:
    """Put a failed or cancelled job back in the queue with ``attempts`` more attempts.

    The attempt counter is kept (so a late result of an earlier attempt still gets 409, and results stay one per
    attempt); ``max_attempts`` becomes ``attempt + attempts``. A finished campaign of the job runs again.
    """
    with db.write(conn):
        job = get_job(conn, job_id)
        if job["state"] not in (JobState.FAILED.value, JobState.CANCELLED.value):
            raise InvalidTransition(f"job {job_id} is {job['state']}: only failed or cancelled jobs can be retried")
        conn.execute(
            "UPDATE jobs SET state = ?, node_id = NULL, lease_expires = NULL, started_at = NULL,"
            " finished_at = NULL, error = NULL, max_attempts = ? WHERE id = ?",
            (_QUEUED, job["attempt"] + attempts, job_id),
        )
        add_event(
            conn,
            job_id,
            job["attempt"],
            "retried",
            None,
            {"was": job["state"], "error": job["error"], "max_attempts": job["attempt"] + attempts},
            time.time(),
        )
        conn.execute(
            "UPDATE campaigns SET state = ?, finished_at = NULL WHERE id = ? AND state != ?",
            (CampaignState.RUNNING.value, job["campaign_id"], CampaignState.RUNNING.value),
        )
        return job_to_dict(get_job(conn, job_id))


def cancel_campaign(conn, campaign_id: str, state: CampaignState = CampaignState.CANCELLED) -> int:
    """Cancel every job of the campaign that has not finished, whatever the campaign's state; returns how many."""
    with db.write(conn):
        return _cancel_campaign(conn, campaign_id, state, time.time())


def cancel_running_campaign(conn, campaign_id: str) -> int:
    """The admin's cancel: like :func:`cancel_campaign`, for a running campaign only (:class:`~master.errors.Conflict`
    otherwise, :class:`~master.errors.NotFound` for none)."""
    with db.write(conn):
        campaign = get_campaign(conn, campaign_id)
        if campaign["state"] != CampaignState.RUNNING.value:
            raise Conflict(f"campaign {campaign_id} is {campaign['state']}: nothing to cancel")
        return _cancel_campaign(conn, campaign_id, CampaignState.CANCELLED, time.time())


def _cancel_campaign(conn, campaign_id: str, state: CampaignState, now: float) -> int:
    conn.execute(
        "INSERT INTO job_events (job_id, attempt, event, node_id, at, detail) SELECT id, attempt, 'cancelled',"
        " node_id, ?, json_object('was', state, 'campaign', ?) FROM jobs WHERE campaign_id = ? AND state IN (?, ?)",
        (now, state.value, campaign_id, _QUEUED, _RUNNING),
    )
    cur = conn.execute(
        "UPDATE jobs SET state = ?, finished_at = ?, lease_expires = NULL,"
        " error = COALESCE(error, 'cancelled with its campaign') WHERE campaign_id = ? AND state IN (?, ?)",
        (JobState.CANCELLED.value, now, campaign_id, _QUEUED, _RUNNING),
    )
    conn.execute(
        "UPDATE nodes SET current_job_id = NULL WHERE current_job_id IN"
        " (SELECT id FROM jobs WHERE campaign_id = ? AND state = ?)",
        (campaign_id, JobState.CANCELLED.value),
    )
    conn.execute("UPDATE campaigns SET state = ?, finished_at = ? WHERE id = ?", (state.value, now, campaign_id))
    return cur.rowcount
