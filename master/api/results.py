"""Results: the one way a job finishes."""
from __future__ import annotations

from flask import Blueprint, jsonify

from master import db, queue
from master.api.bodies import json_body

bp = Blueprint("results", __name__)

RESULT_SCHEMA = {
    "type": "object",
    "required": ["job_id", "attempt", "node_id", "status"],
    "properties": {
        "job_id": {"type": "string", "minLength": 1},
        "attempt": {"type": "integer", "minimum": 1},
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
def post_result():
    body = json_body(RESULT_SCHEMA)
    if body["status"] == "failed" and not body.get("error"):
        return jsonify({"error": "error: a failed result must say why"}), 400
    try:
        ack = queue.accept_result(db.get_db(), body)
    except queue.QueueError as exc:
        return jsonify({"error": exc.message}), exc.status
    return jsonify(ack), 200
