"""Results: the one way a job finishes."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from master import auth, db, openapi, queue
from master.api.bodies import json_body

bp = Blueprint("results", __name__)

RESULT_SCHEMA = {
    "type": "object",
    "required": ["job_id", "attempt", "node_id", "status"],
    "properties": {
        "job_id": {"type": "string", "minLength": 1},
        "attempt": {"type": "integer", "minimum": 1, "maximum": 2**31},
        "node_id": {"type": "string", "minLength": 1},
        "status": {"enum": ["succeeded", "failed"]},
        "error": {"type": ["string", "null"]},
        "metrics": {"type": "object"},
        "missing": {"type": "object"},
        "provenance": {"type": "object"},
        "baseline": {"type": ["object", "null"]},
        "ffmpeg": {"type": ["object", "null"]},
        "samples": {"type": "array"},
    },
}


@bp.post("/results")
@openapi.doc("A job attempt's result (docs/WIRE.md Result); idempotent per attempt, 409 from a stale attempt",
             body=RESULT_SCHEMA, response="ResultAck")
@auth.require_node("body")
def post_result():
    body = json_body(RESULT_SCHEMA)
    if body["status"] == "failed" and not body.get("error"):
        return jsonify({"error": "error: a failed result must say why", "status": 400}), 400
    ack = queue.accept_result(db.get_db(), body)  # NotFound (404), StaleResult (409): master/errors.py
    if not ack["duplicate"]:
        # a node with max_concurrent_jobs > 1 has a free slot again; a confidence variant may have queued a run
        current_app.extensions["ffwatt.work"].bump(1 + ack.get("added_jobs", 0))
        metrics = current_app.extensions.get("ffwatt.metrics")
        if metrics is not None:
            metrics.result_received(body["status"])
    return jsonify(ack), 200
