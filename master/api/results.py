"""Results: the one way a job finishes; a body is checked against :data:`RESULT_SCHEMA` before anything is stored."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from master import auth, db, openapi, results
from master.api.bodies import json_body
from master.api.result_schema import RESULT_SCHEMA
from master.errors import InvalidInput

bp = Blueprint("results", __name__)


@bp.post("/results")
@openapi.doc(
    "A job attempt's result (docs/WIRE.md Result); idempotent per attempt, 409 from a stale attempt",
    body=RESULT_SCHEMA,
    response="ResultAck",
)
@auth.require_node("body")
def post_result():
    body = json_body(RESULT_SCHEMA)
    if body["status"] == "failed" and not body.get("error"):
        raise InvalidInput("error: a failed result must say why")
    # NotFound (404), StaleResult (409): master/errors.py
    ack = results.accept_result(db.get_db(), body, vm_outbox=bool(current_app.config.get("VICTORIAMETRICS_URL")))
    if not ack["duplicate"]:
        # a node with max_concurrent_jobs > 1 has a free slot again; a confidence variant may have queued a run
        current_app.extensions["ffwatt.work"].bump(1 + ack.get("added_jobs", 0))
        metrics = current_app.extensions.get("ffwatt.metrics")
        if metrics is not None:
            metrics.result_received(body["status"])
    return jsonify(ack), 200
