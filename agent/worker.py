"""The agent loop: register, heartbeat, claim (long-poll), run, report — top to bottom.

Results go to the spool before they are sent and leave it only when the master acknowledges them (or refuses them
as stale with 409). An unreachable master is retried with exponential backoff and jitter, logged once per change.
"""
from __future__ import annotations

import logging
import random
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from agent.client import MasterClient, MasterError
from agent.jobrun import execute_job
from agent.scenarios.base import RunContext
from agent.spool import Spool

log = logging.getLogger(__name__)

BACKOFF_MIN_S = 0.5
"""First wait after the master could not be reached."""

BACKOFF_MAX_S = 30.0
"""Longest wait between attempts to reach the master."""


@dataclass
class WorkerOptions:
    """How the loop behaves (the CLI's flags)."""

    hostname: str = field(default_factory=socket.gethostname)
    labels: dict[str, str] = field(default_factory=dict)
    poll_interval_s: float = 10.0          # long-poll wait per claim
    heartbeat_interval_s: float = 30.0
    max_jobs: int | None = None
    burst: bool = False                    # stop when the queue is empty


class Worker:
    """One agent: pulls jobs from one master and runs them one at a time."""

    def __init__(self, client: MasterClient, ctx: RunContext, spool: Spool, inventory: dict[str, Any],
                 options: WorkerOptions, stop: threading.Event | None = None):
        self.client, self.ctx, self.spool, self.inventory, self.options = client, ctx, spool, inventory, options
        self.stop = stop or threading.Event()
        self.node_id: str | None = None
        self.jobs_done = 0
        self._reachable = True

    def work(self) -> int:
        """Run until stopped (or burst/max_jobs says so); returns the number of jobs run."""
        self.node_id = self._retry(lambda: self.client.register(self.options.hostname, self.inventory,
                                                                  self.options.labels))
        if self.node_id is None:
            return 0
        log.info("registered as node %s", self.node_id)
        beat = threading.Thread(target=self._heartbeat_loop, name="ffwatt-heartbeat", daemon=True)
        beat.start()
        try:
            self._flush_spool()
            while not self.stop.is_set():
                if self.options.max_jobs is not None and self.jobs_done >= self.options.max_jobs:
                    break
                job = self._retry(lambda: self.client.next_job(self.node_id, self.options.poll_interval_s))
                if job is None:
                    if self.options.burst:
                        break
                    continue
                self._run_one(job)
        finally:
            self.stop.set()
            beat.join(timeout=self.options.heartbeat_interval_s + 5)
        return self.jobs_done

    def _run_one(self, job: dict[str, Any]) -> None:
        log.info("running job %s (%s, attempt %s)", job["id"], job.get("name"), job["attempt"])
        self.ctx.cancel.clear()
        result = execute_job(job, self.ctx, self.node_id)
        self.spool.put(result)
        self._submit(result)
        self.jobs_done += 1
        log.info("job %s %s%s", job["id"], result["status"], f": {result['error']}" if result["error"] else "")

    def _submit(self, result: dict[str, Any]) -> None:
        try:
            self._retry(lambda: self.client.submit_result(result), until_stopped=False)
        except MasterError as exc:  # 4xx: the master will never take it (stale attempt, unknown job)
            log.warning("result for job %s refused: %s", result["job_id"], exc)
        self.spool.remove(result)

    def _flush_spool(self) -> None:
        for result in self.spool.pending():
            log.info("resubmitting spooled result for job %s attempt %s", result["job_id"], result["attempt"])
            self._submit(result)

    def _retry(self, call: Callable[[], Any], until_stopped: bool = True) -> Any:
        """Call until it succeeds; unreachable master or 5xx -> backoff with jitter. 4xx errors propagate."""
        delay = BACKOFF_MIN_S
        while True:
            try:
                value = call()
            except MasterError as exc:
                if 400 <= exc.status < 500:
                    raise
                self._set_reachable(False, exc)
                if until_stopped and self.stop.is_set():
                    return None
                time.sleep(delay * random.uniform(0.5, 1.0))
                delay = min(delay * 2, BACKOFF_MAX_S)
                continue
            self._set_reachable(True)
            return value

    def _set_reachable(self, ok: bool, exc: Exception | None = None) -> None:
        if ok != self._reachable:
            (log.info if ok else log.warning)("master %s", "reachable again" if ok else f"unreachable: {exc}")
        self._reachable = ok

    def _heartbeat_loop(self) -> None:
        while not self.stop.wait(self.options.heartbeat_interval_s):
            self.heartbeat_once()

    def heartbeat_once(self) -> None:
        """Send one heartbeat with live watts and progress; stop the current job if the master cancelled it."""
        live = self.ctx.live
        try:
            reply = self.client.heartbeat(self.node_id, live.current_watts(), live.job_id, live.snapshot())
        except MasterError as exc:
            self._set_reachable(False, exc)
            return
        if live.job_id and live.job_id in reply.get("cancel_jobs", []):
            log.info("master cancelled job %s: stopping it", live.job_id)
            self.ctx.cancel.set()
