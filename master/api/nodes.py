"""Nodes: registration, listing, heartbeats."""
from __future__ import annotations

import time

from flask import Blueprint, abort, current_app, jsonify

from master import db, queue
from master.api.bodies import json_body
from master.states import JobState, NodeStatus

bp = Blueprint("nodes", __name__)

REGISTER_SCHEMA = {
    "type": "object",
    "required": ["hostname"],
    "properties": {
        "hostname": {"type": "string", "minLength": 1, "maxLength": 253},
        "inventory": {"type": "object"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "additionalProperties": False,
}

HEARTBEAT_SCHEMA = {
    "type": "object",
    "properties": {
        "watts": {"type": ["number", "null"], "minimum": 0},
        "job_id": {"type": ["string", "null"]},
        "progress": {"type": ["object", "null"]},
    },
    "additionalProperties": False,
}


def node_to_dict(row) -> dict:
    """A nodes row as JSON, with its status recomputed from heartbeat age."""
    node = dict(row)
    node["inventory"] = db.loads(node["inventory"], {})
    node["labels"] = db.loads(node["labels"], {})
    node["progress"] = db.loads(node["progress"])
    window = current_app.config["HEARTBEAT_INTERVAL_S"] * current_app.config["MISSED_HEARTBEATS_OFFLINE"]
    if node["status"] == NodeStatus.ONLINE.value and (time.time() - (node["last_heartbeat"] or 0)) > window:
        node["status"] = NodeStatus.OFFLINE.value
    return node


@bp.post("/nodes/register")
def register():
    body = json_body(REGISTER_SCHEMA)
    conn, now = db.get_db(), time.time()
    with db.write(conn):
        row = conn.execute("SELECT id FROM nodes WHERE hostname = ?", (body["hostname"],)).fetchone()
        node_id = row["id"] if row else queue.new_id("n")
        conn.execute(
            "INSERT INTO nodes (id, hostname, inventory, labels, status, registered_at, last_heartbeat)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET inventory = excluded.inventory,"
            " labels = excluded.labels, status = excluded.status, last_heartbeat = excluded.last_heartbeat",
            (node_id, body["hostname"], db.dumps(body.get("inventory", {})), db.dumps(body.get("labels", {})),
             NodeStatus.ONLINE.value, now, now),
        )
    return jsonify({"node_id": node_id, "id": node_id, "reused": row is not None}), 200 if row else 201


@bp.get("/nodes")
def list_nodes():
    rows = db.get_db().execute("SELECT * FROM nodes ORDER BY hostname").fetchall()
    return jsonify({"nodes": [node_to_dict(r) for r in rows]})


@bp.get("/nodes/<node_id>")
def get_node(node_id: str):
    row = db.get_db().execute("SELECT * FROM nodes WHERE id = ?", (node_id,)).fetchone()
    if row is None:
        abort(404, description=f"node {node_id} not found")
    return jsonify(node_to_dict(row))


@bp.post("/nodes/<node_id>/heartbeat")
def heartbeat(node_id: str):
    body = json_body(HEARTBEAT_SCHEMA)
    conn = db.get_db()
    with db.write(conn):
        cur = conn.execute(
            "UPDATE nodes SET last_heartbeat = ?, current_watts = ?, progress = ?,"
            " status = CASE WHEN status = ? THEN ? ELSE status END WHERE id = ?",
            (time.time(), body.get("watts"), db.dumps(body.get("progress")), NodeStatus.OFFLINE.value,
             NodeStatus.ONLINE.value, node_id),
        )
    if cur.rowcount == 0:
        abort(404, description=f"node {node_id} not found")
    queue.extend_leases(conn, node_id, current_app.config["LEASE_S"])
    cancelled = conn.execute(
        "SELECT id FROM jobs WHERE state = ? AND node_id = ? AND finished_at > ?",
        (JobState.CANCELLED.value, node_id, time.time() - 3600),
    ).fetchall()
    return jsonify({"ok": True, "cancel_jobs": [r["id"] for r in cancelled]})
