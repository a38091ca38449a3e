"""Jobs: submit a named scenario, list, inspect, cancel, retry, read the attempt history, and the long-poll claim."""

from __future__ import annotations

import json
import threading
import time
from urllib.parse import urlencode

from flask import Blueprint, current_app, jsonify, request

from master import auth, db, jobstore, leases, openapi, presets, queue
from master.api.bodies import json_body, query_float, query_int
from master.campaign import confidence
from master.errors import InvalidInput
from wire.states import JobState

bp = Blueprint("jobs", __name__)

MAX_WAIT_S = 60.0
"""Longest long-poll a claimer may ask for."""

LIST_LIMIT = 100
"""Jobs one ``GET /jobs`` page holds unless ``limit`` says otherwise."""

MAX_LIST = 1_000
"""Most jobs one ``GET /jobs`` page holds."""

SUBMIT_SCHEMA = {
    "type": "object",
    "required": ["scenario"],
    "properties": {
        "scenario": {"type": "string", "minLength": 1, "description": "a preset: " + ", ".join(presets.PRESETS)},
        "confidence": {"enum": [*presets.CONFIDENCE_LEVELS, None]},
        "parameters": presets.PARAMETERS_SCHEMA,
        "priority": {"type": "integer", "minimum": -1000, "maximum": 1000, "description": "higher runs first"},
        "targets": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "string", "minLength": 1},
            "description": "hostnames or label values the job may run on; local/all/any match every node",
        },
        "labels": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "k=v labels the node must have",
        },
    },
    "additionalProperties": False,
}

LIST_QUERY = {
    "state": "only jobs in this state",
    "campaign": "only jobs of this campaign (also campaign_id)",
    "node": "only jobs claimed by this node (also node_id)",
    "limit": f"jobs per page (1..{MAX_LIST}, default {LIST_LIMIT})",
    "offset": 'skip this many first (the previous page\'s offset + limit; "next" has it)',
}


class Throttle:
    """Lets a caller through at most once per ``interval_s`` (per process, across threads)."""

    def __init__(self, interval_s: float):
        self.interval_s = interval_s
        self._lock = threading.Lock()
        self._last = float("-inf")

    def ready(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if now - self._last < self.interval_s:
                return False
            self._last = now
            return True


@bp.post("/jobs")
@openapi.doc(
    "Queue one job from a named scenario (a preset), outside any campaign",
    body=SUBMIT_SCHEMA,
    response="Submitted",
    status=201,
)
@auth.require_admin
def submit():
    body = json_body(SUBMIT_SCHEMA)
    try:
        params = presets.resolve(body["scenario"], body.get("parameters"))
        presets.check(body["scenario"], params, body.get("confidence"), current_app.config["MAX_JOBS"])
    except presets.PresetError as exc:  # the problems a campaign file with this job would have, by body field
        raise InvalidInput(exc.problems[0], problems=exc.problems) from exc
    wanted = {key: body[key] for key in ("targets", "labels") if key in body}
    conn, max_attempts = db.get_db(), current_app.config["MAX_ATTEMPTS"]
    spec = confidence.normalise(body.get("confidence"))
    if spec is None:
        job_id = queue.submit_job(
            conn, presets.job_spec(body["scenario"], params, wanted, body.get("priority", 0)), max_attempts
        )
        current_app.extensions["ffwatt.work"].bump(1)
        return jsonify({"job_id": job_id, "id": job_id}), 201
    # Repeated until its interval is tight: a one-variant campaign, so runs group and the report says how many.
    jobs = [
        presets.job_spec(body["scenario"], params, wanted, body.get("priority", 0), repetition=n, confidence=spec)
        for n in range(1, spec["min"] + 1)
    ]
    campaign_id = queue.create_campaign(
        conn,
        name=body["scenario"],
        description=f"POST /jobs {body['scenario']} with confidence {body['confidence']}",
        spec_text=json.dumps(body, indent=2),
        spec_path=None,
        jobs=jobs,
        max_attempts=max_attempts,
    )
    ids = [row["id"] for row in conn.execute("SELECT id FROM jobs WHERE campaign_id = ? ORDER BY seq", (campaign_id,))]
    current_app.extensions["ffwatt.work"].bump(len(ids))
    return jsonify(
        {"job_id": ids[0], "id": ids[0], "campaign_id": campaign_id, "job_ids": ids, "max_jobs": spec["max"]}
    ), 201


@bp.get("/jobs")
@openapi.doc(
    "A page of jobs in submission order, filtered; total counts every match, next is the following page",
    query=LIST_QUERY,
    response="JobList",
)
def list_jobs():
    state = request.args.get("state")
    if state and state not in {s.value for s in JobState}:
        raise InvalidInput(f"state: must be one of {', '.join(s.value for s in JobState)}")
    clauses, args = [], []
    for column, names in (
        ("state", ("state",)),
        ("campaign_id", ("campaign", "campaign_id")),
        ("node_id", ("node", "node_id")),
    ):
        value = next((request.args[n] for n in names if request.args.get(n)), None)
        if value:
            clauses.append(f"{column} = ?")
            args.append(value)
    limit, offset = query_int("limit", LIST_LIMIT, 1, MAX_LIST), query_int("offset", 0, 0, 2**62)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    conn = db.get_db()
    rows = conn.execute(
        f"SELECT * FROM jobs {where} ORDER BY created_at, seq, id LIMIT ? OFFSET ?", [*args, limit, offset]
    ).fetchall()
    total = conn.execute(f"SELECT COUNT(*) FROM jobs {where}", args).fetchone()[0]
    following = offset + len(rows)
    return jsonify(
        {
            "jobs": [jobstore.job_to_dict(r) for r in rows],
            "total": total,
            "offset": offset,
            "limit": limit,
            "next": _page_url(following, limit) if following < total and rows else None,
        }
    )


def _page_url(offset: int, limit: int) -> str:
    """This request's URL (its filters kept) at another offset."""
    query = {key: value for key, value in request.args.items() if key not in ("offset", "limit")}
    return f"{request.path}?{urlencode({**query, 'limit': limit, 'offset': offset})}"


@bp.get("/jobs/next")
@openapi.doc(
    'Long-poll: claim the next job this node can run; {"job": null} after wait seconds',
    query={"node_id": "the claiming node (required)", "wait": f"seconds to wait, 0..{MAX_WAIT_S:g}"},
    response="Claim",
)
@auth.require_node("query")
def next_job():
    node_id = request.args.get("node_id")
    if not node_id:
        raise InvalidInput("node_id: required query argument")
    wait = query_float("wait", 0.0, 0.0, MAX_WAIT_S)
    conn = db.get_db()
    jobstore.get_node(conn, node_id, ": register first")
    return jsonify({"job": _long_poll(conn, node_id, wait)})


def _long_poll(conn, node_id: str, wait: float):
    """Claim until a job comes or ``wait`` passes; expired leases are requeued at most once per REQUEUE_CHECK_S.

    A waiter claims again only when woken (work arrived) or when its own requeue check put jobs back: waking up every
    REQUEUE_CHECK_S to look at an unchanged queue would cost 1,000 waiting agents 1,000 claims a second."""
    app, config = current_app, current_app.config
    signal = app.extensions["ffwatt.work"]
    throttle = app.extensions.setdefault("ffwatt.requeue", Throttle(config["REQUEUE_CHECK_S"]))
    rules = queue.ClaimRules.from_config(config)
    metrics = app.extensions.get("ffwatt.metrics")
    deadline = time.monotonic() + wait
    woken, look = False, True
    while True:
        seen = signal.generation
        if throttle.ready() and (requeued := leases.requeue_expired(conn)):
            signal.bump(requeued)
            look = True
        job = None
        if look:
            started = time.perf_counter()
            job = queue.claim_next_job(conn, node_id, config["LEASE_S"], rules)
            if job is not None and metrics is not None:
                metrics.observe_claim(time.perf_counter() - started)
            if job is None and woken:
                signal.pass_on()
        remaining = deadline - time.monotonic()
        if job is not None or remaining <= 0:
            return job
        woken = look = signal.wait_for_change(seen, timeout=min(remaining, config["REQUEUE_CHECK_S"]))


@bp.get("/jobs/<job_id>")
@openapi.doc("One job", response="Job")
def get_job(job_id: str):
    return jsonify(jobstore.job_to_dict(jobstore.get_job(db.get_db(), job_id)))


@bp.get("/jobs/<job_id>/logs")
@openapi.doc(
    "The job's attempt history: claims, lease expiries, results (error, FFmpeg stderr tail)", response="JobLogs"
)
def job_logs(job_id: str):
    conn = db.get_db()
    row = jobstore.get_job(conn, job_id)
    return jsonify(
        {
            "job_id": job_id,
            "state": row["state"],
            "attempt": row["attempt"],
            "max_attempts": row["max_attempts"],
            "error": row["error"],
            "events": jobstore.job_events(conn, job_id),
        }
    )


@bp.post("/jobs/<job_id>/cancel")
@openapi.doc("Cancel a queued or running job (its node stops it at its next heartbeat)", response="Job")
@auth.require_admin
def cancel(job_id: str):
    job = queue.cancel_job(db.get_db(), job_id)
    current_app.extensions["ffwatt.work"].bump()
    return jsonify(job)


@bp.post("/jobs/<job_id>/retry")
@openapi.doc(
    "Queue a failed or cancelled job again with MAX_ATTEMPTS more attempts (attempt numbers go on)", response="Job"
)
@auth.require_admin
def retry(job_id: str):
    job = queue.retry_job(db.get_db(), job_id, current_app.config["MAX_ATTEMPTS"])
    current_app.extensions["ffwatt.work"].bump(1)
    return jsonify(job)
