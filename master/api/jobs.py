"""Jobs: listing, inspection, and the long-poll claim agents use."""
from __future__ import annotations

import time

from flask import Blueprint, abort, current_app, jsonify, request

from master import db, queue
from master.api.bodies import query_float
from master.states import JobState

bp = Blueprint("jobs", __name__)

MAX_WAIT_S = 60.0
"""Longest long-poll a claimer may ask for."""


@bp.get("/jobs")
def list_jobs():
    clauses, args = [], []
    for name in ("state", "campaign_id", "node_id"):
        value = request.args.get(name) or (request.args.get("campaign") if name == "campaign_id" else None)
        if value:
            clauses.append(f"{name} = ?")
            args.append(value)
    state = request.args.get("state")
    if state and state not in {s.value for s in JobState}:
        abort(400, description=f"state: must be one of {', '.join(s.value for s in JobState)}")
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = db.get_db().execute(f"SELECT * FROM jobs {where} ORDER BY created_at, seq LIMIT 10000", args).fetchall()
    return jsonify({"jobs": [queue.job_to_dict(r) for r in rows]})


@bp.get("/jobs/next")
def next_job():
    node_id = request.args.get("node_id")
    if not node_id:
        abort(400, description="node_id: required query argument")
    wait = query_float("wait", 0.0, 0.0, MAX_WAIT_S)
    conn = db.get_db()
    if conn.execute("SELECT 1 FROM nodes WHERE id = ?", (node_id,)).fetchone() is None:
        abort(404, description=f"node {node_id} not found: register first")
    signal = current_app.extensions["ffwatt.work"]
    deadline = time.monotonic() + wait
    while True:
        seen = signal.generation
        queue.requeue_expired(conn)
        job = queue.claim_next_job(conn, node_id, current_app.config["LEASE_S"])
        remaining = deadline - time.monotonic()
        if job is not None or remaining <= 0:
            return jsonify({"job": job})
        signal.wait_for_change(seen, timeout=min(remaining, current_app.config["REQUEUE_CHECK_S"]))


@bp.get("/jobs/<job_id>")
def get_job(job_id: str):
    row = db.get_db().execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
    if row is None:
        abort(404, description=f"job {job_id} not found")
    return jsonify(queue.job_to_dict(row))
