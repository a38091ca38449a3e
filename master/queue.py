"""The job queue's state transitions, each one short write transaction.

A claim is one transaction that picks the best job the node can run and sets node, attempt, lease and state together;
a result is accepted only from the attempt that holds the job; an expired lease puts the job back in the queue (or
fails it after ``max_attempts``). Every transition appends to the job's ``job_events``: its logs.

Claims stay cheap with a deep queue: the queued jobs' distinct requirement sets are read with a skip scan of the
``jobs_claim`` index, the node is checked against each set in Python, and the head of each runnable set is one index
seek. A job no node can run is skipped, never blocking the jobs behind it.
"""
from __future__ import annotations

import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Mapping

from master import db, fleet, vmpush
from master.campaign import confidence
from master.errors import Conflict, InvalidTransition, NotFound, StaleResult
from master.states import CampaignState, JobState, NodeStatus

DEFAULT_LEASE_S = 120.0
"""Seconds a claim stays valid without a heartbeat from the node that holds it."""

DEFAULT_MAX_ATTEMPTS = 3
"""How many times a job is handed out before an expired lease fails it."""

REQUEUE_BATCH = 500
"""Most expired leases one :func:`requeue_expired` call handles, so one call stays short."""

UNREPORTED_GRACE_S = 30.0
"""How long after its claim a job may go unnamed in its node's heartbeats (the claim's answer still on its way, or
the heartbeat that does not name it sent before the claim) before the master takes it as lost and requeues it."""

STDERR_TAIL_LINES = 40
"""Lines of FFmpeg's stderr a result's log entry keeps."""

_QUEUED, _RUNNING = JobState.QUEUED.value, JobState.RUNNING.value

_GROUPS_SQL = """
WITH RECURSIVE g(r) AS (
    SELECT (SELECT MIN(requirements) FROM jobs WHERE state = 'queued')
    UNION ALL
    SELECT (SELECT MIN(requirements) FROM jobs WHERE state = 'queued' AND requirements > g.r) FROM g
    WHERE g.r IS NOT NULL
) SELECT r FROM g WHERE r IS NOT NULL"""

_HEAD_SQL = ("SELECT id, priority, created_at, seq FROM jobs WHERE state = 'queued' AND requirements = ?"
             " ORDER BY priority DESC, created_at, seq LIMIT 1")


@dataclass
class Heartbeat:
    """What :func:`heartbeat` did: the node's row as it was before, and how many of its jobs it requeued."""

    before: sqlite3.Row
    requeued: int = 0


@dataclass(frozen=True)
class ClaimRules:
    """What decides whether a node gets work: its liveness, and what to do with jobs no online node can run."""

    liveness: fleet.Liveness = field(default_factory=fleet.Liveness)
    fail_unrunnable: bool = False
    """Fail (instead of holding) queued jobs no online node can run, when a node claims."""

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ClaimRules:
        return cls(fleet.Liveness.from_config(config), bool(config.get("FAIL_UNRUNNABLE")))


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


_INSERT_JOB = ("INSERT INTO jobs (id, campaign_id, seq, name, scenario, variant, repetition, kind, params,"
               " requirements, state, priority, max_attempts, created_at, confidence)"
               " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def _job_row(campaign_id: str | None, seq: int, job: Mapping[str, Any], max_attempts: int, now: float) -> tuple:
    spec = job.get("confidence")
    return (new_id("j"), campaign_id, seq, job["name"], job["scenario"], job["variant"], job.get("repetition", 1),
            job["kind"], db.dumps(job["params"]), fleet.canonical(job.get("requirements")), _QUEUED,
            job.get("priority", 0), max_attempts, now, None if spec is None else db.dumps(spec))


def create_campaign(conn, *, name: str, description: str, spec_text: str, spec_path: str | None,
                    jobs: list[dict[str, Any]], max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> str:
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
        conn.executemany(_INSERT_JOB, (_job_row(campaign_id, seq, job, max_attempts, now)
                                       for seq, job in enumerate(jobs)))
    return campaign_id


def submit_job(conn, job: Mapping[str, Any], max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> str:
    """Queue one job (a JobSpec dict, ``priority`` optional) that belongs to no campaign; returns its id."""
    row = _job_row(None, 0, job, max_attempts, time.time())
    with db.write(conn):
        conn.execute(_INSERT_JOB, row)
    return row[0]


def claim_next_job(conn, node: str | Mapping[str, Any], lease_s: float = DEFAULT_LEASE_S,
                   rules: ClaimRules = ClaimRules()) -> dict[str, Any] | None:
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
        _event(conn, row["id"], row["attempt"], "claimed", node_id, {"lease_s": lease_s}, now)
        conn.execute("UPDATE nodes SET current_job_id = ? WHERE id = ?", (row["id"], node_id))
    return job_to_dict(row)


def _candidate(conn, node_id: str, now: float, rules: ClaimRules) -> tuple[sqlite3.Row | None, list[str]]:
    """(the best queued job the node may take now or None, the queued requirement sets it cannot meet)."""
    node = conn.execute("SELECT * FROM nodes WHERE id = ?", (node_id,)).fetchone()
    if node is None or not rules.liveness.takes_work(node, now):
        return None, []
    running = conn.execute("SELECT COUNT(*) FROM jobs WHERE node_id = ? AND state = ?",
                           (node_id, _RUNNING)).fetchone()[0]
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
            (now, db.dumps({"error": error}), _QUEUED, requirements))
        campaigns = conn.execute("UPDATE jobs SET state = ?, error = ?, finished_at = ? WHERE state = ?"
                                 " AND requirements = ? RETURNING campaign_id",
                                 (JobState.FAILED.value, error, now, _QUEUED, requirements)).fetchall()
        for campaign_id in {r["campaign_id"] for r in campaigns}:
            _refresh_campaign(conn, campaign_id)


def heartbeat(conn, node_id: str, watts: float | None, progress: Any, lease_s: float = DEFAULT_LEASE_S,
              held: list[str] | None = None, grace_s: float = UNREPORTED_GRACE_S,
              going_offline: bool = False) -> Heartbeat:
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
            conn.execute("UPDATE nodes SET last_heartbeat = ?, current_watts = NULL, progress = NULL, status = ?"
                         " WHERE id = ?", (now, NodeStatus.OFFLINE.value, node_id))
        else:
            conn.execute("UPDATE nodes SET last_heartbeat = ?, current_watts = ?, progress = ?,"
                         " status = CASE WHEN status = 'offline' THEN 'online' ELSE status END WHERE id = ?",
                         (now, watts, db.dumps(progress), node_id))
        if held is None:
            conn.execute("UPDATE jobs SET lease_expires = ? WHERE node_id = ? AND state = ?",
                         (now + lease_s, node_id, _RUNNING))
            return Heartbeat(before)
        running = conn.execute("SELECT id, attempt, max_attempts, campaign_id, node_id, started_at FROM jobs"
                               " WHERE node_id = ? AND state = ?", (node_id, _RUNNING)).fetchall()
        named = set(held)
        conn.executemany("UPDATE jobs SET lease_expires = ? WHERE id = ?",
                         [(now + lease_s, job["id"]) for job in running if job["id"] in named])
        lost = [job for job in running if job["id"] not in named
                and (going_offline or (job["started_at"] or 0) < now - grace_s)]
        why = "went offline without it" if going_offline else "no longer holds it"
        for job in lost:
            _requeue(conn, job, now, "not_held",
                     f"node {node_id} {why} (attempt {job['attempt']} of {job['max_attempts']})")
        for campaign_id in {job["campaign_id"] for job in lost}:
            _refresh_campaign(conn, campaign_id)
    return Heartbeat(before, requeued=len(lost))


def renew_leases(conn, lease_s: float = DEFAULT_LEASE_S) -> int:
    """Give every running job at least a full lease from now; returns how many.

    For a master that starts again: while it was down no node could heartbeat, so the leases that ran out meanwhile
    say nothing about the nodes. Their nodes get one lease to come back (and hand in results they spooled).
    """
    now = time.time()
    with db.write(conn):
        return conn.execute("UPDATE jobs SET lease_expires = ? WHERE state = ? AND lease_expires < ?",
                            (now + lease_s, _RUNNING, now + lease_s)).rowcount


def requeue_expired(conn, limit: int = REQUEUE_BATCH) -> int:
    """Requeue up to ``limit`` running jobs whose lease expired; fail those out of attempts. Returns how many."""
    now = time.time()
    probe = "SELECT 1 FROM jobs WHERE state = ? AND lease_expires < ? LIMIT 1"
    if conn.execute(probe, (_RUNNING, now)).fetchone() is None:
        return 0
    with db.write(conn):
        expired = conn.execute(
            "SELECT id, attempt, max_attempts, campaign_id, node_id FROM jobs WHERE state = ? AND lease_expires < ?"
            " LIMIT ?", (_RUNNING, now, limit)).fetchall()
        for job in expired:
            _requeue(conn, job, now, "lease_expired",
                     f"lease expired on attempt {job['attempt']} of {job['max_attempts']} (node {job['node_id']})")
        for campaign_id in {job["campaign_id"] for job in expired}:
            _refresh_campaign(conn, campaign_id)
    return len(expired)


def _requeue(conn, job: Mapping[str, Any], now: float, event: str, error: str) -> None:
    """Put a running ``job`` back in the queue, or fail it when it is out of attempts; ``event`` says why."""
    out_of_attempts = job["attempt"] >= job["max_attempts"]
    _event(conn, job["id"], job["attempt"], event, job["node_id"],
           {"error": error, "outcome": "failed" if out_of_attempts else "requeued"}, now)
    if out_of_attempts:
        _finish_job(conn, job, JobState.FAILED, error)
        full = conn.execute("SELECT * FROM jobs WHERE id = ?", (job["id"],)).fetchone()
        _more_runs(conn, full, now)
    else:
        conn.execute("UPDATE jobs SET state = ?, node_id = NULL, lease_expires = NULL, error = ? WHERE id = ?",
                     (_QUEUED, error, job["id"]))
        _release_node(conn, job)


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
        seen = conn.execute("SELECT node_id FROM results WHERE job_id = ? AND attempt = ?",
                            (body["job_id"], body["attempt"])).fetchone()
        if seen is not None and seen["node_id"] == body["node_id"]:
            return {"accepted": True, "duplicate": True, "job_id": job["id"]}
        holds = (job["state"] == _RUNNING and job["attempt"] == body["attempt"] and job["node_id"] == body["node_id"])
        if not holds:
            raise StaleResult(f"stale result: job {job['id']} is {job['state']} on attempt {job['attempt']}"
                              f" held by {job['node_id']}; this result is attempt {body['attempt']}"
                              f" from {body['node_id']}")
        now = time.time()
        conn.execute(
            "INSERT INTO results (job_id, attempt, node_id, status, body, received_at) VALUES (?, ?, ?, ?, ?, ?)",
            (job["id"], body["attempt"], body["node_id"], body["status"], db.dumps(body), now),
        )
        if vm_outbox:
            vmpush.enqueue(conn, job, body, now)
        _event(conn, job["id"], body["attempt"], "result", body["node_id"], _result_detail(body), now)
        state = JobState.SUCCEEDED if body["status"] == "succeeded" else JobState.FAILED
        _finish_job(conn, job, state, body.get("error"))
        added = _more_runs(conn, job, now)
        _refresh_campaign(conn, job["campaign_id"])
    ack: dict[str, Any] = {"accepted": True, "duplicate": False, "job_id": job["id"]}
    if added:
        ack["added_jobs"] = added
    return ack


JOULES_PER_FRAME_SQL = ("CASE WHEN json_valid(r.body) THEN"
                        " CASE WHEN json_type(r.body, '$.metrics.joules_per_frame') IN ('integer', 'real')"
                        " THEN json_extract(r.body, '$.metrics.joules_per_frame') END END")
"""The joules per frame of the result ``r`` in SQL: null unless the stored value is a number (a row stored before
results were validated may hold anything there, a string, an object, or a body that is not JSON at all)."""


def _more_runs(conn, job: Mapping[str, Any], now: float) -> int:
    """After ``job`` finished: queue one more run of its variant if its ``confidence`` asks for it (inside the
    caller's write transaction, before the campaign is refreshed); returns how many jobs were added (0 or 1).

    Only a variant with ``confidence`` of a running campaign grows; the decision is
    :func:`master.campaign.confidence.decide` over the variant's jobs as they are now."""
    if job["campaign_id"] is None or job["confidence"] is None:
        return 0
    running = conn.execute("SELECT 1 FROM campaigns WHERE id = ? AND state = ?",
                           (job["campaign_id"], CampaignState.RUNNING.value)).fetchone()
    if running is None:
        return 0
    spec = db.loads(job["confidence"])
    rows = conn.execute(
        f"SELECT j.state, j.repetition, {JOULES_PER_FRAME_SQL} AS jpf FROM jobs j"
        " LEFT JOIN results r ON r.job_id = j.id AND r.attempt = j.attempt"
        " WHERE j.campaign_id = ? AND j.variant = ?", (job["campaign_id"], job["variant"])).fetchall()
    values = [row["jpf"] for row in rows if row["state"] == JobState.SUCCEEDED.value]
    outstanding = sum(1 for row in rows if row["state"] in (_QUEUED, _RUNNING))
    decision = confidence.decide(values, outstanding, len(rows), spec)
    if decision != confidence.MORE:
        return 0
    found = confidence.assess(values, spec)
    repetition = max(row["repetition"] for row in rows) + 1
    seq = conn.execute("SELECT COALESCE(MAX(seq), -1) + 1 FROM jobs WHERE campaign_id = ?",
                       (job["campaign_id"],)).fetchone()[0]
    name = f"{job['variant']}#{repetition}"
    new = {"name": name, "scenario": job["scenario"], "variant": job["variant"], "repetition": repetition,
           "kind": job["kind"], "params": db.loads(job["params"]), "priority": job["priority"],
           "requirements": db.loads(job["requirements"], {}), "confidence": spec}
    row = _job_row(job["campaign_id"], seq, new, job["max_attempts"], now)
    conn.execute(_INSERT_JOB, row)
    _event(conn, row[0], 0, "queued", None,
           {"reason": "confidence", "after": job["id"], "runs": found.runs, "jobs": len(rows),
            "half_width_pct": found.half_width_pct, "target_pct": spec["target"] * 100, "max": spec["max"]}, now)
    return 1


def _result_detail(body: Mapping[str, Any]) -> dict[str, Any]:
    ffmpeg = body.get("ffmpeg") if isinstance(body.get("ffmpeg"), dict) else {}
    tail = ffmpeg.get("stderr_tail") if isinstance(ffmpeg.get("stderr_tail"), list) else []
    return {"status": body["status"], "error": body.get("error"), "stderr_tail": tail[-STDERR_TAIL_LINES:]}


def cancel_job(conn, job_id: str) -> dict[str, Any]:
    """Cancel a queued or running job (its node learns it from its next heartbeat's ``cancel_jobs``)."""
    with db.write(conn):
        job = get_job(conn, job_id)
        if JobState(job["state"]).finished:
            raise InvalidTransition(f"job {job_id} is already {job['state']}: only queued or running jobs can"
                                    " be cancelled")
        _event(conn, job_id, job["attempt"], "cancelled", job["node_id"], {"was": job["state"]}, time.time())
        _finish_job(conn, job, JobState.CANCELLED, "cancelled by the admin")
        _refresh_campaign(conn, job["campaign_id"])
        return job_to_dict(get_job(conn, job_id))


def retry_job(conn, job_id: str, attempts: int = DEFAULT_MAX_ATTEMPTS) -> dict[str, Any]:
    """Put a failed or cancelled job back in the queue with ``attempts`` more attempts.

    The attempt counter is kept (so a late result of an earlier attempt still gets 409, and results stay one per
    attempt); ``max_attempts`` becomes ``attempt + attempts``. A finished campaign of the job runs again.
    """
    with db.write(conn):
        job = get_job(conn, job_id)
        if job["state"] not in (JobState.FAILED.value, JobState.CANCELLED.value):
            raise InvalidTransition(f"job {job_id} is {job['state']}: only failed or cancelled jobs can be"
                                    " retried")
        conn.execute("UPDATE jobs SET state = ?, node_id = NULL, lease_expires = NULL, started_at = NULL,"
                     " finished_at = NULL, error = NULL, max_attempts = ? WHERE id = ?",
                     (_QUEUED, job["attempt"] + attempts, job_id))
        _event(conn, job_id, job["attempt"], "retried", None,
               {"was": job["state"], "error": job["error"], "max_attempts": job["attempt"] + attempts}, time.time())
        conn.execute("UPDATE campaigns SET state = ?, finished_at = NULL WHERE id = ? AND state != ?",
                     (CampaignState.RUNNING.value, job["campaign_id"], CampaignState.RUNNING.value))
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
        (now, state.value, campaign_id, _QUEUED, _RUNNING))
    cur = conn.execute(
        "UPDATE jobs SET state = ?, finished_at = ?, lease_expires = NULL,"
        " error = COALESCE(error, 'cancelled with its campaign') WHERE campaign_id = ? AND state IN (?, ?)",
        (JobState.CANCELLED.value, now, campaign_id, _QUEUED, _RUNNING),
    )
    conn.execute("UPDATE nodes SET current_job_id = NULL WHERE current_job_id IN"
                 " (SELECT id FROM jobs WHERE campaign_id = ? AND state = ?)",
                 (campaign_id, JobState.CANCELLED.value))
    conn.execute("UPDATE campaigns SET state = ?, finished_at = ? WHERE id = ?", (state.value, now, campaign_id))
    return cur.rowcount


def job_events(conn, job_id: str) -> list[dict[str, Any]]:
    """The job's history, oldest first: each event with its attempt, node, time and details."""
    rows = conn.execute("SELECT attempt, event, node_id, at, detail FROM job_events WHERE job_id = ? ORDER BY id",
                        (job_id,)).fetchall()
    return [{"attempt": r["attempt"], "event": r["event"], "node_id": r["node_id"], "at": r["at"],
             **db.loads(r["detail"], {})} for r in rows]


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


def _event(conn, job_id: str, attempt: int, event: str, node_id: str | None, detail: dict[str, Any],
           now: float) -> None:
    conn.execute("INSERT INTO job_events (job_id, attempt, event, node_id, at, detail) VALUES (?, ?, ?, ?, ?, ?)",
                 (job_id, attempt, event, node_id, now, db.dumps(detail)))


def _finish_job(conn, job: Mapping[str, Any], state: JobState, error: str | None) -> None:
    """Finish ``job`` (a row with id and node_id) in ``state``."""
    conn.execute("UPDATE jobs SET state = ?, error = ?, finished_at = ?, lease_expires = NULL WHERE id = ?",
                 (state.value, error, time.time(), job["id"]))
    _release_node(conn, job)


def _release_node(conn, job: Mapping[str, Any]) -> None:
    if job["node_id"] is not None:
        conn.execute("UPDATE nodes SET current_job_id = NULL WHERE id = ? AND current_job_id = ?",
                     (job["node_id"], job["id"]))


def _refresh_campaign(conn, campaign_id: str | None) -> None:
    """Mark a running campaign finished once none of its jobs is queued or running."""
    if campaign_id is None:
        return
    still_open = conn.execute("SELECT 1 FROM jobs WHERE campaign_id = ? AND state IN (?, ?) LIMIT 1",
                              (campaign_id, _QUEUED, _RUNNING)).fetchone()
    if still_open is None:
        conn.execute("UPDATE campaigns SET state = ?, finished_at = ? WHERE id = ? AND state = ?",
                     (CampaignState.FINISHED.value, time.time(), campaign_id, CampaignState.RUNNING.value))
