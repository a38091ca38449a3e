"""The node registry: register a host (or take its node over), drain a node, forget it.

A hostname is one node. Registering a hostname that already has a node takes that node over (same id, new token,
the old token stops working), which is allowed only when the caller proves it is that node (``node_token``: the
node's current token), or the node is gone: offline (missed heartbeats) with no running job. Otherwise
:class:`~master.errors.Conflict`: the enrollment token alone must not let anyone hijack a live node and post results
for its job (docs/DISTRIBUTED.md "Node identity"). Each refusal is a domain error; none of this knows HTTP.
"""

from __future__ import annotations

import hmac
import sqlite3
import time
from collections.abc import Mapping
from typing import Any

from master import auth, db, fleet, jobstore
from master.errors import Conflict
from wire.states import JobState, NodeStatus


def register(
    conn, body: Mapping[str, Any], token: str, liveness: fleet.Liveness, insecure: bool = False
) -> tuple[str, bool]:
    """Register ``body``'s hostname with ``token``, or take its node over: (node id, whether the node existed)."""
    now = time.time()
    with db.write(conn):
        row = conn.execute("SELECT * FROM nodes WHERE hostname = ?", (body["hostname"],)).fetchone()
        if row is not None and not insecure:
            _check_takeover(conn, row, body.get("node_token"), liveness, now)
        node_id = row["id"] if row else jobstore.new_id("n")
        conn.execute(
            "INSERT INTO nodes (id, hostname, inventory, labels, status, registered_at, last_heartbeat, token_hash,"
            " max_concurrent_jobs, heartbeat_interval_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(id) DO UPDATE SET inventory = excluded.inventory, labels = excluded.labels,"
            " status = excluded.status, last_heartbeat = excluded.last_heartbeat, token_hash = excluded.token_hash,"
            " max_concurrent_jobs = excluded.max_concurrent_jobs, heartbeat_interval_s = excluded.heartbeat_interval_s",
            (
                node_id,
                body["hostname"],
                db.dumps(body.get("inventory", {})),
                db.dumps(body.get("labels", {})),
                NodeStatus.ONLINE.value,
                now,
                now,
                auth.hash_token(token),
                body.get("max_concurrent_jobs", 1),
                body.get("heartbeat_interval_s"),
            ),
        )
    return node_id, row is not None


def _proves_identity(row, presented: str | None) -> bool:
    """True when ``presented`` is the node's current token."""
    stored = row["token_hash"]
    return bool(presented and stored) and hmac.compare_digest(stored, auth.hash_token(presented))


def _check_takeover(conn, row, presented: str | None, liveness: fleet.Liveness, now: float) -> None:
    """Conflict unless registering ``row``'s hostname again may take that node over (module docstring)."""
    if _proves_identity(row, presented):
        return
    online = liveness.status(row, now) is not NodeStatus.OFFLINE
    running = conn.execute(
        "SELECT id, lease_expires FROM jobs WHERE node_id = ? AND state = ? LIMIT 1",
        (row["id"], JobState.RUNNING.value),
    ).fetchone()
    if not online and running is None:
        return
    token = "the node_token given is not its current token" if presented else "no node_token was given"
    if online:
        why = (
            f"node {row['id']} with hostname {row['hostname']!r} is online (last heartbeat"
            f" {now - row['last_heartbeat']:.0f} s ago)"
        )
        wait = f"wait until it is offline (no heartbeat for {liveness.offline_after_s(row):g} s)"
    else:
        why = f"node {row['id']} with hostname {row['hostname']!r} is offline but holds running job {running['id']}"
        wait = f"wait until that job's lease expires (in {max(0.0, (running['lease_expires'] or now) - now):.0f} s)"
    raise Conflict(
        f"{why} and {token}: register with that node's current token (node_token), {wait}, or"
        f" have an admin delete it (DELETE /nodes/{row['id']}) and register again"
    )


def forget(conn, node_id: str) -> None:
    """Delete a node that runs no job (its token stops working); Conflict while it runs one."""
    with db.write(conn):
        jobstore.get_node(conn, node_id)
        running = conn.execute(
            "SELECT id FROM jobs WHERE node_id = ? AND state = ?", (node_id, JobState.RUNNING.value)
        ).fetchall()
        if running:
            raise Conflict(f"node {node_id} is running job {running[0]['id']}: drain it and wait, or cancel the job")
        conn.execute("DELETE FROM nodes WHERE id = ?", (node_id,))


def set_status(conn, node_id: str, status: NodeStatus) -> sqlite3.Row:
    """Store ``status`` (draining, or online to undo a drain) for the node; returns its row as it is now."""
    with db.write(conn):
        jobstore.get_node(conn, node_id)
        conn.execute("UPDATE nodes SET status = ? WHERE id = ?", (status.value, node_id))
    return jobstore.get_node(conn, node_id)
