"""The phases every measuring kind shares (agent/scenarios/phases.py): a cancel during the idle baseline ends the job
at once, whichever kind it is, through the agent's own job runner and worker.

Real FFmpeg (the job's source is rendered before the baseline), power from a simulated powercap tree."""

from __future__ import annotations

import logging
import os
import threading
import time

import pytest

from agent.client import MasterClient
from agent.ffmpeg.locate import probe_binary
from agent.identity import IdentityFile
from agent.jobrun import execute_job
from agent.power.rapl import discover_rapl
from agent.scenarios.base import RunContext
from agent.scenarios.phases import IDLE_CANCELLED
from agent.spool import Spool
from agent.worker import Worker, WorkerOptions
from master import db, queue
from master.app import create_app
from master.embedded_server import start_in_thread
from tests.agent.power.powercap_sim import PowercapSim, sim_dir

SYSTEM_FFMPEG = "/usr/bin/ffmpeg"
LONG_IDLE_S = 60
INPUT = {"type": "lavfi", "source": "testsrc2", "size": "160x90", "rate": 15}
LIVE = {"bitrate": "150k", "gop": 2, "audio": False, "ingest": None, "rtmp_url": "rtmp://127.0.0.1:1/live"}
KIND_PARAMS = {
    "transcode": {"bitrate": None, "crf": 30, "quality": False},
    "ladder": {"rungs": [{"resolution": "96x54", "bitrate": "60k"}]},
    "live": LIVE,
    "multi": {**LIVE, "count": 2, "bitrates": None, "stagger": 0},
    "density": {**LIVE, "max_streams": 2, "min_speed": None, "stagger": 0},
}


@pytest.fixture
def ctx(tmp_path):
    """A run context with the system FFmpeg and one simulated RAPL package at a constant 30 W (real time)."""
    if not os.access(SYSTEM_FFMPEG, os.X_OK):
        pytest.skip("no /usr/bin/ffmpeg")
    (tmp_path / "work").mkdir()
    with sim_dir() as d:
        sim = PowercapSim(d, range_uj=30_000_000, packages=1, psys=False, profiles={"package-0": lambda t: 30.0})
        with sim.running():
            yield RunContext(
                ffmpeg=probe_binary(SYSTEM_FFMPEG, "system"),
                sources=discover_rapl(sim.root)[0],
                power_notes=[],
                workdir=tmp_path / "work",
                encoder_check=lambda e: {"usable": True, "reason": None},
            )


def _params(kind: str) -> dict:
    return {
        "kind": kind,
        "input": INPUT,
        "encoder": "libx264",
        "preset": "ultrafast",
        "resolution": None,
        "fps": None,
        "duration": 1,
        "stabilization": 0,
        "cooldown": 0,
        "idle_baseline": LONG_IDLE_S,
        "sample_rate": 10,
        "timeout": 120,
        **KIND_PARAMS[kind],
    }


def _when_idle(ctx: RunContext, act, after_s: float = 0.3) -> threading.Thread:
    """Call ``act()`` ``after_s`` seconds into the job's idle baseline (a daemon thread watching ``ctx.live``)."""

    def watch() -> None:
        deadline = time.monotonic() + 60
        while ctx.live.phase != "idle baseline" and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(after_s)
        act()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("kind", sorted(KIND_PARAMS))
def test_cancel_during_the_idle_baseline_ends_the_job(kind, ctx):
    """A cancel a moment into a 60 s idle baseline ends the job within seconds, failed as cancelled, for every kind
    that measures one."""
    job = {"id": f"j-{kind}", "attempt": 1, "name": f"{kind}#1", "kind": kind, "params": _params(kind)}
    cancelled_at: list[float] = []
    _when_idle(ctx, lambda: (cancelled_at.append(time.monotonic()), ctx.cancel.set()))
    result = execute_job(job, ctx, "n-1")
    assert result["status"] == "failed" and result["error"] == f"cancelled: {IDLE_CANCELLED}", result["error"]
    assert cancelled_at and time.monotonic() - cancelled_at[0] < 5
    assert ctx.live.watts is None and ctx.live.phase == "idle"


def test_master_cancel_during_the_idle_baseline_reaches_the_worker(ctx, tmp_path, caplog):
    """Cancelling the campaign while the agent measures a job's idle baseline: the next heartbeat stops the job, and
    the worker reports it cancelled within seconds, not after the baseline's 60 s."""
    app = create_app({"DATABASE": str(tmp_path / "m.db"), "ENROLLMENT_TOKEN": "e", "ADMIN_TOKEN": "a"})
    server = start_in_thread(app)
    conn = db.connect(app.config["DATABASE"])
    try:
        spec = {
            "name": "x264",
            "scenario": "x264",
            "variant": "x264",
            "repetition": 1,
            "kind": "transcode",
            "params": _params("transcode"),
            "requirements": {},
        }
        cid = queue.create_campaign(conn, name="c", description="", spec_text="x", spec_path=None, jobs=[spec])
        options = WorkerOptions(hostname="phases-test", poll_interval_s=0.2, heartbeat_interval_s=0.2, max_jobs=1)
        worker = Worker(
            MasterClient(server.url, timeout_s=2, enrollment_token="e"),
            ctx,
            Spool(tmp_path / "spool"),
            {"cpu_model": "t"},
            options,
            identity=IdentityFile(tmp_path),
        )
        cancelled_at: list[float] = []
        _when_idle(ctx, lambda: (cancelled_at.append(time.monotonic()), queue.cancel_campaign(conn, cid)))
        with caplog.at_level(logging.INFO, logger="agent.worker"):
            assert worker.work() == 1
        assert cancelled_at and time.monotonic() - cancelled_at[0] < 10
        assert f"failed: cancelled: {IDLE_CANCELLED}" in caplog.text
        assert conn.execute("SELECT state FROM jobs").fetchone()["state"] == "cancelled"
    finally:
        conn.close()
        server.stop()
