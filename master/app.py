"""The master's Flask application factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, jsonify

from master import db, errors, headers
from master.notify import WorkSignal

DEFAULTS: dict[str, Any] = {
    # SQLite database file (WAL mode); its folder is created on start.
    "DATABASE": ".ffwatt/ffwatt.db",
    # Where GET /campaigns/<id>/report renders reports before sending them.
    "REPORT_CACHE_DIR": None,
    # Seconds a claimed job stays leased without a heartbeat from its node.
    "LEASE_S": 120.0,
    # How often agents are told to heartbeat; a node is offline after MISSED_HEARTBEATS_OFFLINE of them.
    "HEARTBEAT_INTERVAL_S": 30.0,
    "MISSED_HEARTBEATS_OFFLINE": 3,
    # Seconds after its claim a running job may go unnamed in its node's heartbeats (held_jobs) before it is taken
    # as lost (the claim's answer never arrived, the agent restarted) and requeued without waiting out the lease.
    "CLAIM_GRACE_S": 30.0,
    # Attempts before a job whose lease keeps expiring fails.
    "MAX_ATTEMPTS": 3,
    # Longest a long-poll sleeps before it re-checks expired leases.
    "REQUEUE_CHECK_S": 1.0,
    # Largest accepted request body (results carry their samples).
    # Chunked bodies (no Content-Length) are cut off at it too: 413, never a truncated body (master/api/bodies.py).
    "MAX_CONTENT_LENGTH": 32 * 1024 * 1024,
    # Token a new agent presents (Authorization: Bearer) to POST /nodes/register.
    "ENROLLMENT_TOKEN": None,
    # Token that submits, cancels, retries, drains and deletes (Authorization: Bearer).
    "ADMIN_TOKEN": None,
    # No token checks at all; only ever served on loopback (the embedded default, --insecure).
    "INSECURE": False,
    # Fail, instead of holding, queued jobs that no online node can run (checked when a node claims); the embedded
    # default sets it, since its one agent is the whole fleet.
    "FAIL_UNRUNNABLE": False,
    # Most jobs one campaign (POST /campaigns, POST /jobs with confidence) may come to, counted before it is expanded
    # (master/campaign/jobcount.py); --max-jobs.
    "MAX_JOBS": 10_000,
    # VictoriaMetrics to push each accepted result's figures to (http(s)://HOST:PORT); None = off. --victoriametrics-url
    "VICTORIAMETRICS_URL": None,
    # Most samples the VictoriaMetrics outbox keeps while VictoriaMetrics is away; the oldest beyond are dropped.
    "VICTORIAMETRICS_OUTBOX_MAX": 100_000,
    # Longest wait between two pushes while VictoriaMetrics fails (the backoff starts at 1 s and doubles).
    "VICTORIAMETRICS_BACKOFF_MAX_S": 60.0,
}


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the master app; ``test_config`` overrides :data:`DEFAULTS`."""
    app = Flask(__name__)
    app.config.update(DEFAULTS)
    if test_config:
        app.config.update(test_config)
    if not app.config["REPORT_CACHE_DIR"]:
        app.config["REPORT_CACHE_DIR"] = str(Path(app.config["DATABASE"]).parent / "report-cache")
    app.json.sort_keys = False
    db.init_app(app)
    app.extensions["ffwatt.work"] = WorkSignal()

    from master import metrics, openapi, vmpush, web
    from master.api import campaigns, compare, jobs, nodes, results

    for module in (nodes, jobs, results, campaigns, compare, metrics, openapi, web):
        app.register_blueprint(module.bp)
    vmpush.init_app(app)  # after metrics: the pusher counts into the app's metrics

    @app.get("/health")
    def health():
        return jsonify({"status": "healthy"})

    errors.init_app(app)
    headers.init_app(app)
    return app
