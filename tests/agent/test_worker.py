"""The agent loop against a real master (with tokens) served over HTTP on loopback."""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path

import pytest

from agent import worker as worker_module
from agent.client import MasterClient, MasterError
from agent.identity import IdentityFile, NodeIdentity
from agent.scenarios.base import RunContext
from agent.spool import REJECTED_DIR, Spool
from agent.worker import Worker, WorkerOptions
from master import db, queue
from master.app import create_app
from master.embedded_server import start_in_thread

ENROLL, ADMIN = "enroll-w", "admin-w"


def _job(name: str, kind: str = "nosuchkind") -> dict:
    return {
        "name": name,
        "scenario": name,
        "variant": name,
        "repetition": 1,
        "kind": kind,
        "params": {"kind": kind},
        "requirements": {},
    }


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    monkeypatch.setattr(worker_module, "BACKOFF_MAX_S", 1.0)


def _app(db_path: Path):
    return create_app({"DATABASE": str(db_path), "ENROLLMENT_TOKEN": ENROLL, "ADMIN_TOKEN": ADMIN})


@pytest.fixture
def master(tmp_path):
    app = _app(tmp_path / "m.db")
    server = start_in_thread(app)
    yield app, server
    server.stop()


def _client(url: str, token: str = ENROLL) -> MasterClient:
    return MasterClient(url, timeout_s=2, enrollment_token=token)


def _worker(url: str, tmp_path: Path, token: str = ENROLL, **opts) -> Worker:
    ctx = RunContext(
        ffmpeg=None,
        sources=[],
        power_notes=[],
        workdir=tmp_path,
        encoder_check=lambda e: {"usable": False, "reason": "test"},
    )
    options = WorkerOptions(hostname="worker-test", poll_interval_s=0.2, heartbeat_interval_s=0.2, **opts)
    return Worker(
        _client(url, token),
        ctx,
        Spool(tmp_path / "spool"),
        {"cpu_model": "t"},
        options,
        identity=IdentityFile(tmp_path),
    )


def _campaign(app, n: int) -> str:
    conn = db.connect(app.config["DATABASE"])
    try:
        return queue.create_campaign(
            conn, name="w", description="", spec_text="x", spec_path=None, jobs=[_job(f"j{i}") for i in range(n)]
        )
    finally:
        conn.close()


def _jobs(app) -> list:
    conn = db.connect(app.config["DATABASE"])
    try:
        return conn.execute("SELECT id, state, error FROM jobs ORDER BY seq").fetchall()
    finally:
        conn.close()


def _claim_as(url: str, state_dir: Path) -> tuple[MasterClient, str, dict]:
    """Register as the worker's host and claim the first job, as a crashed earlier run of the agent did (leaving its
    identity in the state dir)."""
    client = _client(url)
    node_id = client.register("worker-test", {})
    IdentityFile(state_dir).save(NodeIdentity(url, "worker-test", node_id, client.node_token))
    job = client.next_job(node_id, 0)
    client.close()
    return client, node_id, job


def test_burst_worker_reports_every_job(master, tmp_path):
    """A burst worker claims every queued job, reports each (unknown kind -> failed with reason) and stops."""
    app, server = master
    _campaign(app, 3)
    worker = _worker(server.url, tmp_path, burst=True)
    assert worker.work() == 3
    rows = _jobs(app)
    assert [r["state"] for r in rows] == ["failed"] * 3
    assert all("unsupported scenario kind" in r["error"] for r in rows)
    assert list(Spool(tmp_path / "spool").pending()) == []


def test_spooled_result_is_resubmitted_at_start(master, tmp_path):
    """A result left in the spool by a crashed agent reaches the master when the agent starts again."""
    app, server = master
    _campaign(app, 1)
    _, node_id, job = _claim_as(server.url, tmp_path)
    Spool(tmp_path / "spool").put(
        {"job_id": job["id"], "attempt": 1, "node_id": node_id, "status": "failed", "error": "spooled before a crash"}
    )
    _worker(server.url, tmp_path, burst=True).work()
    assert _jobs(app)[0]["error"] == "spooled before a crash"
    assert list(Spool(tmp_path / "spool").pending()) == []


def test_results_the_master_will_never_take_are_set_aside(master, tmp_path):
    """Spooled results for an unknown job (404) or from a node identity the master forgot (403) move to rejected/
    with the reason; they neither stop the agent nor get deleted."""
    _, server = master
    client = _client(server.url)
    node_id = client.register("worker-test", {})
    IdentityFile(tmp_path).save(NodeIdentity(server.url, "worker-test", node_id, client.node_token))
    client.close()
    spool = Spool(tmp_path / "spool")
    spool.put({"job_id": "j-gone", "attempt": 1, "node_id": node_id, "status": "failed", "error": "x"})
    spool.put({"job_id": "j-other", "attempt": 1, "node_id": "n-forgotten", "status": "failed", "error": "x"})
    _worker(server.url, tmp_path, burst=True).work()
    assert list(spool.pending()) == []
    rejected = spool.folder / REJECTED_DIR
    assert "404" in (rejected / "j-gone-1.reason").read_text()
    assert "403" in (rejected / "j-other-1.reason").read_text()
    assert (rejected / "j-gone-1.json").exists() and (rejected / "j-other-1.json").exists()


def test_worker_waits_for_an_unreachable_master(tmp_path, caplog):
    """An agent started before its master backs off, logs the outage once, and registers once the master is up."""
    caplog.set_level(logging.INFO, logger="agent.worker")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    worker = _worker(f"http://127.0.0.1:{port}", tmp_path, burst=True)
    thread = threading.Thread(target=worker.work, daemon=True)
    thread.start()
    time.sleep(2.5)
    assert worker.node_id is None and thread.is_alive()
    server = start_in_thread(_app(tmp_path / "late.db"), port=port)
    try:
        thread.join(timeout=20)
        assert not thread.is_alive() and worker.node_id is not None
    finally:
        server.stop()
    messages = [r.getMessage() for r in caplog.records]
    assert sum("unreachable" in m for m in messages) == 1, messages
    assert sum("reachable again" in m for m in messages) == 1, messages


def test_heartbeat_cancels_running_job(master, tmp_path):
    """A heartbeat answer naming the running job sets the cancel event the FFmpeg runner watches."""
    app, server = master
    cid = _campaign(app, 1)
    worker = _worker(server.url, tmp_path)
    worker._register()
    job = worker.client.next_job(worker.node_id, 0)
    worker.ctx.live.job_id = job["id"]
    conn = db.connect(app.config["DATABASE"])
    queue.cancel_campaign(conn, cid)
    conn.close()
    worker.heartbeat_once()
    worker.client.close()
    assert worker.ctx.cancel.is_set()


def test_heartbeat_keeps_held_jobs_and_gives_back_a_lost_claim(master, tmp_path):
    """The heartbeat names the jobs the agent holds (here one whose result waits in the spool): that lease is
    extended. A job the master has running on the node that the agent never received (its claim's answer was lost)
    is requeued at the first heartbeat after the grace, without waiting out the lease; the spooled result is then
    still accepted."""
    app, server = master
    _campaign(app, 2)
    worker = _worker(server.url, tmp_path, max_concurrent_jobs=2)
    worker._register()
    spooled, lost = (worker.client.next_job(worker.node_id, 0) for _ in range(2))
    worker.spool.put(
        {
            "job_id": spooled["id"],
            "attempt": 1,
            "node_id": worker.node_id,
            "status": "failed",
            "error": "waited in the spool",
        }
    )
    assert worker.held_jobs() == [spooled["id"]]
    conn = db.connect(app.config["DATABASE"])
    conn.execute("UPDATE jobs SET started_at = started_at - 3600, lease_expires = 0")
    worker.heartbeat_once()
    rows = {r["id"]: r for r in conn.execute("SELECT id, state, lease_expires FROM jobs")}
    assert rows[lost["id"]]["state"] == "queued"
    assert rows[spooled["id"]]["state"] == "running" and rows[spooled["id"]]["lease_expires"] > time.time() + 60
    worker._flush_spool()
    worker.client.close()
    assert conn.execute("SELECT error FROM jobs WHERE id = ?", (spooled["id"],)).fetchone()[0] == "waited in the spool"
    conn.close()


def test_a_refused_node_token_means_one_re_registration(master, tmp_path, caplog):
    """When the master stops accepting the node token (an admin deleted the node), the agent registers again once
    and its calls go on."""
    app, server = master
    worker = _worker(server.url, tmp_path)
    worker._register()
    old_token = worker.client.node_token
    deleted = worker.client.session.delete(
        f"{server.url}/nodes/{worker.node_id}", timeout=5, headers={"Authorization": f"Bearer {ADMIN}"}
    )
    assert deleted.status_code == 200
    with pytest.raises(MasterError) as refused:
        worker.client.heartbeat(worker.node_id, None, None, None)
    assert refused.value.auth
    worker.heartbeat_once()
    assert worker.client.node_token not in (None, old_token)
    assert worker.client.heartbeat(worker.node_id, None, None, None)["ok"]
    assert sum("registering again" in r.getMessage() for r in caplog.records) == 1
    worker.client.close()


def test_a_wrong_enrollment_token_stops_the_agent(master, tmp_path):
    """401 at registration is not retried forever: work() raises and the CLI exits 1."""
    _, server = master
    with pytest.raises(MasterError) as refused:
        _worker(server.url, tmp_path, token="not-the-token").work()
    assert refused.value.status == 401


def test_stopping_agent_keeps_unsendable_results_in_the_spool(tmp_path, monkeypatch):
    """Stopped, with the master down: the result is retried until the flush deadline, then stays spooled."""
    monkeypatch.setattr(worker_module, "FLUSH_TIMEOUT_S", 0.5)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    worker = _worker(f"http://127.0.0.1:{port}", tmp_path, shutdown_timeout_s=0.5)
    result = {"job_id": "j-1", "attempt": 1, "node_id": "n-1", "status": "failed", "error": "x"}
    worker.spool.put(result)
    worker.request_stop()
    started = time.monotonic()
    assert worker._submit(result) is False
    assert time.monotonic() - started < 5
    assert [r["job_id"] for r in worker.spool.pending()] == ["j-1"]


def test_a_restarted_agent_takes_back_its_live_node(master, tmp_path):
    """The agent keeps its node id and token in STATE/node.json (0600); started again while the master still sees
    the node online, it presents them and gets the same node back, with a new token saved in place."""
    _, server = master
    first = _worker(server.url, tmp_path)
    first._register()
    first.heartbeat_once()
    path = tmp_path / "node.json"
    assert path.stat().st_mode & 0o777 == 0o600
    assert IdentityFile(tmp_path).load(server.url, "worker-test").node_token == first.client.node_token
    restarted = _worker(server.url, tmp_path)  # a new process: nothing in memory, the same state dir
    assert restarted._register() == first.node_id
    saved = IdentityFile(tmp_path).load(server.url, "worker-test")
    assert saved.node_token == restarted.client.node_token != first.client.node_token
    assert path.stat().st_mode & 0o777 == 0o600
    restarted.heartbeat_once()
    with pytest.raises(MasterError) as refused:
        first.client.heartbeat(first.node_id, None, None, None)
    assert refused.value.status == 401
    first.client.close()
    restarted.client.close()


def test_an_agent_without_the_identity_waits_until_the_live_node_is_gone(master, tmp_path, caplog):
    """Another state dir with the same hostname gets 409 while the node is online and retries; once the node
    misses its heartbeats (3 x 0.2 s here) and holds no job, the registration goes through."""
    caplog.set_level(logging.WARNING, logger="agent.worker")
    _, server = master
    live = _worker(server.url, tmp_path / "a")
    live._register()
    other = _worker(server.url, tmp_path / "b", burst=True)
    thread = threading.Thread(target=other.work, daemon=True)
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive() and other.node_id == live.node_id
    assert any("registration refused" in r.getMessage() and "409" in r.getMessage() for r in caplog.records)
    live.client.close()
