"""Nodes: registration (which issues the node's token), listing, heartbeats, drain and delete.

A hostname is one node. Registering a hostname that already has a node takes that node over (same id, new token,
the old token stops working), which is allowed only when the caller proves it is that node (``node_token``: the
node's current token), or the node is gone: offline (missed heartbeats) with no running job. Otherwise 409: the
enrollment token alone must not let anyone hijack a live node and post results for its job (docs/DISTRIBUTED.md
"Node identity").
"""
from __future__ import annotations

import hmac
import time

from flask import Blueprint, abort, current_app, jsonify, request

from master import auth, db, fleet, openapi, queue
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
        "node_token": {"type": "string", "minLength": 1, "maxLength": 256,
                       "description": "the node's current token: re-registers a hostname whose node is online"},
    },
    "additionalProperties": False,
}

HEARTBEAT_SCHEMA = {
    "type": "object",
    "properties": {
        "watts": {"type": ["number", "null"], "minimum": 0, "maximum": 1e7},
        "job_id": {"type": ["string", "null"], "description": "the job running now (for the live view)"},
        "held_jobs": {"type": "array", "items": {"type": "string"}, "maxItems": 10000,
                      "description": "every job the node holds: running, or finished with its result not yet"
                                     " acknowledged. Only these leases are extended; a job the node has running"
                                     " that it leaves out is requeued. Absent: every lease of the node is extended"},
        "progress": {"type": ["object", "null"]},
        "status": {"enum": ["offline"],
                   "description": "sent by an agent that is stopping, as its last heartbeat: the node is offline at"
                                  " once and gets no more jobs; a running job of the node that held_jobs leaves out"
                                  " is requeued at once (no grace), the named ones keep their leases. Its next"
                                  " heartbeat or registration brings it back online"},
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


def _node_or_404(conn, node_id: str):
    row = conn.execute("SELECT * FROM nodes WHERE id = ?", (node_id,)).fetchone()
    if row is None:
        abort(404, description=f"node {node_id} not found")
    return row


def _work_arrived() -> None:
    current_app.extensions["ffwatt.work"].bump()


def _proves_identity(row, presented: str | None) -> bool:
    """True when ``presented`` is the node's current token."""
    stored = row["token_hash"]
    return bool(presented and stored) and hmac.compare_digest(stored, auth.hash_token(presented))


def _check_takeover(conn, row, presented: str | None, now: float) -> None:
    """Abort with 409 unless registering ``row``'s hostname again may take that node over (module docstring)."""
    if current_app.config.get("INSECURE") or _proves_identity(row, presented):
        return
    liveness = fleet.Liveness.from_config(current_app.config)
    online = liveness.status(row, now) is not NodeStatus.OFFLINE
    running = conn.execute("SELECT id, lease_expires FROM jobs WHERE node_id = ? AND state = ? LIMIT 1",
                           (row["id"], JobState.RUNNING.value)).fetchone()
    if not online and running is None:
        return
    token = "the node_token given is not its current token" if presented else "no node_token was given"
    if online:
        why = (f"node {row['id']} with hostname {row['hostname']!r} is online (last heartbeat"
               f" {now - row['last_heartbeat']:.0f} s ago)")
        wait = f"wait until it is offline (no heartbeat for {liveness.offline_after_s(row):g} s)"
    else:
        why = f"node {row['id']} with hostname {row['hostname']!r} is offline but holds running job {running['id']}"
        wait = f"wait until that job's lease expires (in {max(0.0, (running['lease_expires'] or now) - now):.0f} s)"
    abort(409, description=f"{why} and {token}: register with that node's current token (node_token), {wait}, or"
                           f" have an admin delete it (DELETE /nodes/{row['id']}) and register again")


@bp.post("/nodes/register")
@openapi.doc("Register a host, or re-register it (node_token, or a node gone offline); issues a new node token",
             body=REGISTER_SCHEMA, response="Registration", status=(201, 200))
@auth.require_enrollment
def register():
    body = json_body(REGISTER_SCHEMA)
    conn, now, token = db.get_db(), time.time(), auth.new_node_token()
    with db.write(conn):
        row = conn.execute("SELECT * FROM nodes WHERE hostname = ?", (body["hostname"],)).fetchone()
        if row is not None:
            _check_takeover(conn, row, body.get("node_token"), now)
        node_id = row["id"] if row else queue.new_id("n")
        conn.execute(
            "INSERT INTO nodes (id, hostname, inventory, labels, status, registered_at, last_heartbeat, token_hash,"
            " max_concurrent_jobs, heartbeat_interval_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(id) DO UPDATE SET inventory = excluded.inventory, labels = excluded.labels,"
            " status = excluded.status, last_heartbeat = excluded.last_heartbeat, token_hash = excluded.token_hash,"
            " max_concurrent_jobs = excluded.max_concurrent_jobs, heartbeat_interval_s = excluded.heartbeat_interval_s",
            (node_id, body["hostname"], db.dumps(body.get("inventory", {})), db.dumps(body.get("labels", {})),
             NodeStatus.ONLINE.value, now, now, auth.hash_token(token), body.get("max_concurrent_jobs", 1),
             body.get("heartbeat_interval_s")),
        )
    _work_arrived()
    return jsonify({"node_id": node_id, "id": node_id, "node_token": token, "reused": row is not None}), \
        200 if row else 201


@bp.get("/nodes")
@openapi.doc("Every registered node with its status", response="NodeList")
def list_nodes():
    rows = db.get_db().execute("SELECT * FROM nodes ORDER BY hostname").fetchall()
    return jsonify({"nodes": [node_to_dict(r) for r in rows]})


@bp.get("/nodes/<node_id>")
@openapi.doc("One node", response="Node")
def get_node(node_id: str):
    return jsonify(node_to_dict(_node_or_404(db.get_db(), node_id)))


@bp.delete("/nodes/<node_id>")
@openapi.doc("Forget a node (409 while it runs a job); its token stops working", response="Deleted")
@auth.require_admin
def delete_node(node_id: str):
    conn = db.get_db()
    with db.write(conn):
        _node_or_404(conn, node_id)
        running = conn.execute("SELECT id FROM jobs WHERE node_id = ? AND state = ?",
                               (node_id, JobState.RUNNING.value)).fetchall()
        if running:
            abort(409, description=f"node {node_id} is running job {running[0]['id']}: drain it and wait, or"
                                   " cancel the job")
        conn.execute("DELETE FROM nodes WHERE id = ?", (node_id,))
    return jsonify({"deleted": node_id})


@bp.post("/nodes/<node_id>/drain")
@openapi.doc("Drain a node: it finishes its jobs and takes no more; {\"drain\": false} undoes it",
             body=DRAIN_SCHEMA, response="Node")
@auth.require_admin
def drain(node_id: str):
    body = json_body(DRAIN_SCHEMA) if request.content_length else {}
    status = NodeStatus.DRAINING if body.get("drain", True) else NodeStatus.ONLINE
    conn = db.get_db()
    with db.write(conn):
        _node_or_404(conn, node_id)
        conn.execute("UPDATE nodes SET status = ? WHERE id = ?", (status.value, node_id))
    if status is NodeStatus.ONLINE:
        _work_arrived()
    return jsonify(node_to_dict(_node_or_404(conn, node_id)))


@bp.post("/nodes/<node_id>/heartbeat")
@openapi.doc("Heartbeat: live watts and progress in, leases extended, jobs to cancel out", body=HEARTBEAT_SCHEMA,
             response="HeartbeatReply")
@auth.require_node("path")
def heartbeat(node_id: str):
    body = json_body(HEARTBEAT_SCHEMA)
    conn = db.get_db()
    going_offline = body.get("status") == NodeStatus.OFFLINE.value
    beat = queue.heartbeat(conn, node_id, body.get("watts"), body.get("progress"), current_app.config["LEASE_S"],
                           held=body.get("held_jobs"), grace_s=current_app.config["CLAIM_GRACE_S"],
                           going_offline=going_offline)
    if beat is None:
        abort(404, description=f"node {node_id} not found")
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
    return jsonify({"ok": True, "cancel_jobs": [r["id"] for r in cancelled],
                    "draining": before["status"] == NodeStatus.DRAINING.value})
