"""Nodes: registration (which issues the node's token), listing, heartbeats, drain and delete.

Who may take a hostname's node over, and when a node may be forgotten, is the registry's to say (master/registry.py);
its refusals are domain errors that master/errors.py answers with 404 or 409.
"""

from __future__ import annotations

import time

from flask import Blueprint, current_app, jsonify, request

from master import auth, db, fleet, jobstore, leases, openapi, registry
from master.api.bodies import json_body
from wire.states import JobState, NodeStatus

bp = Blueprint("nodes", __name__)

MAX_CONCURRENT_JOBS = 64
"""Largest ``max_concurrent_jobs`` a node may register with."""

REGISTER_SCHEMA = {
    "type": "object",
    "required": ["hostname"],
    "properties": {
        "hostname": {"type": "string", "minLength": 1, "maxLength": 253},
        "inventory": {"type": "object", "description": "hardware inventory; encoders.<name>.usable, gpus"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "max_concurrent_jobs": {"type": "integer", "minimum": 1, "maximum": MAX_CONCURRENT_JOBS},
        "heartbeat_interval_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 3600},
        "node_token": {
            "type": "string",
            "minLength": 1,
            "maxLength": 256,
            "description": "the node's current token: re-registers a hostname whose node is online",
        },
    },
    "additionalProperties": False,
}

HEARTBEAT_SCHEMA = {
    "type": "object",
    "properties": {
        "watts": {"type": ["number", "null"], "minimum": 0, "maximum": 1e7},
        "job_id": {"type": ["string", "null"], "description": "the job running now (for the live view)"},
        "held_jobs": {
            "type": "array",
            "items": {"type": "string"},
            "maxItems": 10000,
            "description": "every job the node holds: running, or finished with its result not yet"
            " acknowledged. Only these leases are extended; a job the node has running"
            " that it leaves out is requeued. Absent: every lease of the node is extended",
        },
        "progress": {"type": ["object", "null"]},
        "status": {
            "enum": ["offline"],
            "description": "sent by an agent that is stopping, as its last heartbeat: the node is offline at"
            " once and gets no more jobs; a running job of the node that held_jobs leaves out"
            " is requeued at once (no grace), the named ones keep their leases. Its next"
            " heartbeat or registration brings it back online",
        },
    },
    "additionalProperties": False,
}

DRAIN_SCHEMA = {
    "type": "object",
    "properties": {"drain": {"type": "boolean", "description": "false takes the node back into service"}},
    "additionalProperties": False,
}

CANCEL_NOTICE_S = 3600
"""How long after a cancel heartbeats keep naming the cancelled job in ``cancel_jobs``."""


def node_to_dict(row) -> dict:
    """A nodes row as JSON (never its token hash), with its status recomputed from heartbeat age."""
    node = {key: row[key] for key in row.keys() if key != "token_hash"}
    node["inventory"] = db.loads(node["inventory"], {})
    node["labels"] = db.loads(node["labels"], {})
    node["progress"] = db.loads(node["progress"])
    node["draining"] = row["status"] == NodeStatus.DRAINING.value
    node["status"] = fleet.Liveness.from_config(current_app.config).status(row).value
    return node


def _work_arrived() -> None:
    current_app.extensions["ffwatt.work"].bump()


@bp.post("/nodes/register")
@openapi.doc(
    "Register a host, or re-register it (node_token, or a node gone offline); issues a new node token",
    body=REGISTER_SCHEMA,
    response="Registration",
    status=(201, 200),
)
@auth.require_enrollment
def register():
    body, token = json_body(REGISTER_SCHEMA), auth.new_node_token()
    node_id, reused = registry.register(
        db.get_db(),
        body,
        token,
        fleet.Liveness.from_config(current_app.config),
        insecure=bool(current_app.config.get("INSECURE")),
    )
    _work_arrived()
    return jsonify({"node_id": node_id, "id": node_id, "node_token": token, "reused": reused}), 200 if reused else 201


@bp.get("/nodes")
@openapi.doc("Every registered node with its status", response="NodeList")
def list_nodes():
    rows = db.get_db().execute("SELECT * FROM nodes ORDER BY hostname").fetchall()
    return jsonify({"nodes": [node_to_dict(r) for r in rows]})


@bp.get("/nodes/<node_id>")
@openapi.doc("One node", response="Node")
def get_node(node_id: str):
    return jsonify(node_to_dict(jobstore.get_node(db.get_db(), node_id)))


@bp.delete("/nodes/<node_id>")
@openapi.doc("Forget a node (409 while it runs a job); its token stops working", response="Deleted")
@auth.require_admin
def delete_node(node_id: str):
    registry.forget(db.get_db(), node_id)
    return jsonify({"deleted": node_id})


@bp.post("/nodes/<node_id>/drain")
@openapi.doc(
    'Drain a node: it finishes its jobs and takes no more; {"drain": false} undoes it',
    body=DRAIN_SCHEMA,
    response="Node",
)
@auth.require_admin
def drain(node_id: str):
    body = json_body(DRAIN_SCHEMA) if request.content_length else {}
    status = NodeStatus.DRAINING if body.get("drain", True) else NodeStatus.ONLINE
    row = registry.set_status(db.get_db(), node_id, status)
    if status is NodeStatus.ONLINE:
        _work_arrived()
    return jsonify(node_to_dict(row))


@bp.post("/nodes/<node_id>/heartbeat")
@openapi.doc(
    "Heartbeat: live watts and progress in, leases extended, jobs to cancel out",
    body=HEARTBEAT_SCHEMA,
    response="HeartbeatReply",
)
@auth.require_node("path")
def heartbeat(node_id: str):
    body = json_body(HEARTBEAT_SCHEMA)
    conn = db.get_db()
    going_offline = body.get("status") == NodeStatus.OFFLINE.value
    beat = leases.heartbeat(
        conn,
        node_id,
        body.get("watts"),
        body.get("progress"),
        current_app.config["LEASE_S"],
        held=body.get("held_jobs"),
        grace_s=current_app.config["CLAIM_GRACE_S"],
        going_offline=going_offline,
    )
    before = beat.before
    if beat.requeued:
        current_app.extensions["ffwatt.work"].bump(beat.requeued)
    now = time.time()
    if not going_offline and fleet.Liveness.from_config(current_app.config).status(before, now) is NodeStatus.OFFLINE:
        _work_arrived()  # back online: it may claim again
    cancelled = conn.execute(
        "SELECT id FROM jobs WHERE state = ? AND node_id = ? AND finished_at > ?",
        (JobState.CANCELLED.value, node_id, now - CANCEL_NOTICE_S),
    ).fetchall()
    return jsonify(
        {
            "ok": True,
            "cancel_jobs": [r["id"] for r in cancelled],
            "draining": before["status"] == NodeStatus.DRAINING.value,
        }
    )
