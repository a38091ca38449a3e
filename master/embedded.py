"""The embedded default: a master served on loopback plus one local agent, in this process, over real HTTP."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from agent.client import MasterClient
from agent.context import build_context
from agent.spool import Spool
from agent.statedir import StateDirBusy, lock_state_dir
from agent.worker import Worker, WorkerOptions
from master import db, queue
from master.app import create_app
from master.campaign.jobcount import DEFAULT_MAX_JOBS
from master.embedded_server import start_in_thread
from wire.states import CampaignState

EMBEDDED_HEARTBEAT_S = 1.0
"""Heartbeat interval of the embedded agent: the progress bar's live watts come from it."""

EMBEDDED_POLL_S = 1.0
"""Long-poll wait of the embedded agent, so it notices a stop within a second."""

AGENT_STOP_TIMEOUT_S = 30.0
"""How long to wait for the embedded agent to finish its result after a stop."""


class StateDirError(Exception):
    """The state directory cannot be created or written."""


def check_state_dir(state_dir: Path) -> Path:
    """Create ``state_dir`` if needed and prove it is writable; raise StateDirError saying why not."""
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        probe = state_dir / f".write-test-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise StateDirError(
            f"state dir {state_dir} is not writable: {exc.strerror or exc} (use --state-dir to choose another)"
        ) from exc
    return state_dir


def report_dir(reports_root: Path, campaign_name: str) -> Path:
    """``reports/<campaign>-<timestamp>``, unique."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = reports_root / f"{campaign_name}-{stamp}"
    n = 1
    while path.exists():
        n += 1
        path = reports_root / f"{campaign_name}-{stamp}-{n}"
    return path


@dataclass
class Embedded:
    """A running embedded master + agent."""

    url: str
    db_path: Path
    worker: Worker
    thread: threading.Thread

    def interrupt(self, campaign_id: str) -> None:
        """Ctrl-C: kill the running FFmpeg, keep finished results, mark the campaign interrupted."""
        self.worker.ctx.cancel.set()
        self.worker.stop.set()
        self.thread.join(timeout=AGENT_STOP_TIMEOUT_S)
        conn = db.connect(self.db_path)
        try:
            queue.cancel_campaign(conn, campaign_id, CampaignState.INTERRUPTED)
        finally:
            conn.close()


@contextlib.contextmanager
def embedded(
    state_dir: Path,
    *,
    powercap: str | None = None,
    tdp_watts: float | None = None,
    max_jobs: int = DEFAULT_MAX_JOBS,
    input_dirs: tuple[Path, ...] = (),
) -> Iterator[Embedded]:
    """Start the master on a free loopback port and one agent thread; stop both on exit. The master takes campaigns
    of up to ``max_jobs`` jobs; the agent reads file inputs in ``input_dirs`` (and its own state dir) only."""
    db_path = check_state_dir(state_dir) / "ffwatt.db"
    try:  # one embedded run per state dir: a second one's agent would share the first one's spool and work files
        lock = lock_state_dir(state_dir / "agent")
    except StateDirBusy:
        raise StateDirError(
            f"another campaign run is using state dir {state_dir}; wait for it to end, or give this"
            " one its own --state-dir"
        ) from None
    app = create_app(
        {
            "DATABASE": str(db_path),
            "HEARTBEAT_INTERVAL_S": EMBEDDED_HEARTBEAT_S,
            "INSECURE": True,
            "FAIL_UNRUNNABLE": True,  # one agent: a job it cannot run fails with the reason
            "MAX_JOBS": max_jobs,
        }
    )
    ctx, inventory = build_context(state_dir / "agent", powercap=powercap, tdp_watts=tdp_watts, input_dirs=input_dirs)
    server = start_in_thread(app, "127.0.0.1", 0)
    options = WorkerOptions(
        hostname=socket.gethostname(), poll_interval_s=EMBEDDED_POLL_S, heartbeat_interval_s=EMBEDDED_HEARTBEAT_S
    )
    worker = Worker(MasterClient(server.url), ctx, Spool(state_dir / "agent" / "spool"), inventory, options)
    thread = threading.Thread(target=worker.work, name="ffwatt-embedded-agent", daemon=True)
    thread.start()
    try:
        yield Embedded(url=server.url, db_path=db_path, worker=worker, thread=thread)
    finally:
        worker.ctx.cancel.set()
        worker.stop.set()
        thread.join(timeout=AGENT_STOP_TIMEOUT_S)
        server.stop()
        db.connections(app).close_all()
        lock.close()


def wait_registered(handle: Embedded, timeout_s: float = 30.0) -> None:
    """Block until the embedded agent registered (so the progress bar can show its watts)."""
    deadline = time.monotonic() + timeout_s
    while handle.worker.node_id is None:
        if time.monotonic() > deadline or not handle.thread.is_alive():
            raise RuntimeError("the embedded agent did not register with the embedded master")
        time.sleep(0.05)
