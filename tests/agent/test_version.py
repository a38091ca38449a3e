"""The ffwatt version in what an agent reports: its inventory and every result's provenance, from a real agent run
against a real master (HTTP, SQLite, the strict result schema)."""

from __future__ import annotations

import json
from importlib import metadata

from agent.client import MasterClient
from agent.identity import IdentityFile
from agent.inventory import collect_inventory
from agent.power.estimate import EstimateSource
from agent.scenarios.base import RunContext
from agent.spool import Spool
from agent.version import installed_version
from agent.worker import Worker, WorkerOptions
from master import db, queue
from master.app import create_app
from master.embedded_server import start_in_thread

ENROLL, ADMIN = "enroll-v", "admin-v"

BASELINE_JOB = {
    "name": "idle#1",
    "scenario": "idle",
    "variant": "idle",
    "repetition": 1,
    "kind": "baseline",
    "params": {"kind": "baseline", "duration": 0.3, "sample_rate": 20, "timeout": 60},
    "requirements": {},
}
"""The shortest job that measures: a 0.3 s idle window."""


def test_installed_version_is_the_distributions():
    """The version is the installed distribution's metadata; an absent distribution is None with a reason."""
    assert installed_version() == (metadata.version("ffwatt"), None)
    version, reason = installed_version("ffwatt-no-such-distribution")
    assert version is None and "not installed as a distribution" in reason


def test_inventory_carries_the_version():
    """collect_inventory reports the version under ``ffwatt`` with no reason under ``missing``."""
    inventory = collect_inventory(None, probe=False)
    assert inventory["ffwatt"] == metadata.version("ffwatt") and "ffwatt" not in inventory["missing"]


def test_a_result_from_a_real_agent_run_records_the_version(tmp_path):
    """An agent runs a baseline job against a master: the stored result's provenance and the node's inventory both
    carry the installed version, and the master's strict schema accepted them."""
    app = create_app({"DATABASE": str(tmp_path / "m.db"), "ENROLLMENT_TOKEN": ENROLL, "ADMIN_TOKEN": ADMIN})
    conn = db.connect(app.config["DATABASE"])
    queue.create_campaign(conn, name="v", description="", spec_text="x", spec_path=None, jobs=[BASELINE_JOB])
    server = start_in_thread(app)
    try:
        ctx = RunContext(
            ffmpeg=None,
            sources=[EstimateSource(tdp_watts=20)],
            power_notes=[],
            workdir=tmp_path,
            encoder_check=lambda e: {"usable": False, "reason": "no ffmpeg in this test"},
        )
        worker = Worker(
            MasterClient(server.url, timeout_s=5, enrollment_token=ENROLL),
            ctx,
            Spool(tmp_path / "spool"),
            collect_inventory(None, probe=False),
            WorkerOptions(hostname="version-test", poll_interval_s=0.2, heartbeat_interval_s=0.2, burst=True),
            identity=IdentityFile(tmp_path),
        )
        assert worker.work() == 1
    finally:
        server.stop()
    state, error = conn.execute("SELECT state, error FROM jobs").fetchone()
    assert (state, error) == ("succeeded", None)
    body = json.loads(conn.execute("SELECT body FROM results").fetchone()[0])
    inventory = json.loads(conn.execute("SELECT inventory FROM nodes").fetchone()[0])
    conn.close()
    assert body["provenance"]["ffwatt_version"] == metadata.version("ffwatt")
    assert inventory["ffwatt"] == metadata.version("ffwatt")
