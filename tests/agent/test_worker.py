"""The agent loop against a real master served over HTTP on loopback."""
from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from agent.client import MasterClient
from agent.scenarios.base import RunContext
from agent.spool import Spool
from agent.worker import Worker, WorkerOptions
from master import db, queue
from master.app import create_app
from master.server import start_in_thread


def _job(name: str, kind: str = "nosuchkind") -> dict:
    return {"name": name, "scenario": name, "variant": name, "repetition": 1, "kind": kind,
            "params": {"kind": kind}, "requirements": {}}


@pytest.fixture
def master(tmp_path):
    app = create_app({"DATABASE": str(tmp_path / "m.db")})
    server = start_in_thread(app)
    yield app, server
    server.stop()


def _worker(url: str, tmp_path: Path, **opts) -> Worker:
    ctx = RunContext(ffmpeg=None, sources=[], power_notes=[], workdir=tmp_path,
                     encoder_check=lambda e: {"usable": False, "reason": "test"})
    options = WorkerOptions(hostname="worker-test", poll_interval_s=0.2, heartbeat_interval_s=0.2, **opts)
    return Worker(MasterClient(url, timeout_s=2), ctx, Spool(tmp_path / "spool"), {"cpu_model": "t"}, options)


def _campaign(app, n: int) -> str:
    conn = db.connect(app.config["DATABASE"])
    try:
        return queue.create_campaign(conn, name="w", description="", spec_text="x", spec_path=None,
                                     jobs=[_job(f"j{i}") for i in range(n)])
    finally:
        conn.close()


def test_burst_worker_reports_every_job(master, tmp_path):
    """A burst worker claims every queued job, reports each (unknown kind -> failed with reason) and stops."""
    app, server = master
    _campaign(app, 3)
    worker = _worker(server.url, tmp_path, burst=True)
    assert worker.work() == 3
    conn = db.connect(app.config["DATABASE"])
    rows = conn.execute("SELECT state, error FROM jobs").fetchall()
    assert [r["state"] for r in rows] == ["failed"] * 3
    assert all("unsupported scenario kind" in r["error"] for r in rows)
    assert list(Spool(tmp_path / "spool").pending()) == []


def test_spooled_result_is_resubmitted_at_start(master, tmp_path):
    """A result left in the spool by a crashed agent reaches the master when the agent starts again."""
    app, server = master
    _campaign(app, 1)
    worker = _worker(server.url, tmp_path, burst=True)
    node_id = MasterClient(server.url).register("worker-test", {})
    job = MasterClient(server.url).next_job(node_id, 0)
    Spool(tmp_path / "spool").put({"job_id": job["id"], "attempt": 1, "node_id": node_id, "status": "failed",
                                   "error": "spooled before a crash"})
    worker.work()
    conn = db.connect(app.config["DATABASE"])
    assert conn.execute("SELECT error FROM jobs").fetchone()[0] == "spooled before a crash"
    assert list(Spool(tmp_path / "spool").pending()) == []


def test_worker_waits_for_an_unreachable_master(tmp_path):
    """An agent started before its master retries with backoff and registers once the master is up."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    worker = _worker(f"http://127.0.0.1:{port}", tmp_path, burst=True)
    thread = threading.Thread(target=worker.work, daemon=True)
    thread.start()
    time.sleep(1.5)
    assert worker.node_id is None and thread.is_alive()
    app = create_app({"DATABASE": str(tmp_path / "late.db")})
    server = start_in_thread(app, port=port)
    try:
        thread.join(timeout=40)
        assert not thread.is_alive() and worker.node_id is not None
    finally:
        server.stop()


def test_heartbeat_cancels_running_job(master, tmp_path):
    """A heartbeat answer naming the running job sets the cancel event the FFmpeg runner watches."""
    app, server = master
    cid = _campaign(app, 1)
    worker = _worker(server.url, tmp_path)
    worker.node_id = MasterClient(server.url).register("worker-test", {})
    job = MasterClient(server.url).next_job(worker.node_id, 0)
    worker.ctx.live.job_id = job["id"]
    conn = db.connect(app.config["DATABASE"])
    queue.cancel_campaign(conn, cid)
    worker.heartbeat_once()
    assert worker.ctx.cancel.is_set()
