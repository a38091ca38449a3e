"""The agent loop: register, heartbeat, claim (long-poll), run, report — top to bottom.

Results go to the spool before they are sent and leave it only when the master acknowledges them (or refuses them
as stale with 409). An unreachable master is retried with exponential backoff and jitter, forever, logged once per
change. A master that stops accepting the node token (401/403, e.g. it lost its state) gets one re-registration.
The node id and token are kept in the state dir (:mod:`agent.identity`) and presented when registering again, so a
restarted agent takes back its own node; while the master answers 409 (the hostname belongs to a live node we cannot
prove we are) registration is retried with backoff until that node goes offline.

Stopping (SIGTERM, :meth:`Worker.request_stop`): no new claims; the running job has ``shutdown_timeout_s`` to finish,
then it is abandoned (its FFmpeg process group killed) and reported failed with "agent shutting down"; results are
sent for up to :data:`FLUSH_TIMEOUT_S` more and otherwise stay in the spool for the next start. Last, a heartbeat
saying ``status: offline`` (waiting at most :data:`OFFLINE_TIMEOUT_S`) tells the master the node is gone, so it shows
offline at once instead of after missed heartbeats; the jobs still in the spool keep their leases.
"""

from __future__ import annotations

import logging
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent.client import MasterClient, MasterError
from agent.identity import IdentityFile, NodeIdentity
from agent.jobrun import execute_job
from agent.scenarios.base import RunContext
from agent.spool import Spool

log = logging.getLogger(__name__)

BACKOFF_MIN_S = 0.5
"""First wait after the master could not be reached."""

BACKOFF_MAX_S = 30.0
"""Longest wait between attempts to reach the master."""

FLUSH_TIMEOUT_S = 15.0
"""After a stop and the job's shutdown timeout, how long unsent results are retried before staying in the spool."""

OFFLINE_TIMEOUT_S = 3.0
"""How long the going-offline heartbeat of a stopping agent may take; a failure is logged and changes nothing else."""

SHUTDOWN_REASON = "agent shutting down"
"""Error of a job abandoned because the agent stopped."""

GAVE_UP = object()
"""What :meth:`Worker._retry` returns when its ``give_up`` test ended the retries."""


@dataclass
class WorkerOptions:
    """How the loop behaves (the CLI's flags)."""

    hostname: str = field(default_factory=socket.gethostname)
    labels: dict[str, str] = field(default_factory=dict)
    poll_interval_s: float = 10.0  # long-poll wait per claim
    heartbeat_interval_s: float = 30.0
    max_jobs: int | None = None
    burst: bool = False  # stop when the queue is empty
    shutdown_timeout_s: float = 60.0  # after a stop, how long the running job may still take
    max_concurrent_jobs: int | None = None  # told to the master at registration; this loop runs one at a time


class Worker:
    """One agent: pulls jobs from one master and runs them one at a time."""

    def __init__(
        self,
        client: MasterClient,
        ctx: RunContext,
        spool: Spool,
        inventory: dict[str, Any],
        options: WorkerOptions,
        stop: threading.Event | None = None,
        identity: IdentityFile | None = None,
        metrics: Any = None,
    ):
        self.client, self.ctx, self.spool, self.inventory, self.options = client, ctx, spool, inventory, options
        self.metrics = metrics  # agent.exporter.AgentState, or None: no exporter (embedded agent)
        self.identity = identity  # where the node id and token persist across restarts (None: nowhere)
        self.stop = stop or threading.Event()
        self.node_id: str | None = None
        self.jobs_done = 0
        self._reachable = True
        self._done = threading.Event()  # work() has returned: heartbeats and the watchdog end
        self._abandon = threading.Event()  # the shutdown timeout passed: cancel whatever runs
        self._stopped_at: float | None = None
        self._registration = 0  # bumped by every (re-)registration
        self._register_lock = threading.Lock()
        self._held: set[str] = set()  # claimed and not yet in the spool (the spool names the rest)
        self._beat_lock = threading.Lock()  # one heartbeat at a time, so none overtakes the going-offline one
        self._gone = False  # the going-offline heartbeat was sent: no more heartbeats

    # -- the loop ---------------------------------------------------------------------------------------------

    def work(self) -> int:
        """Run until stopped (or burst/max_jobs says so); returns the number of jobs run."""
        registered = (
            self._retry(self._register, give_up=self.stop.is_set, wait_conflict=True)
            if not self.stop.is_set()
            else GAVE_UP
        )
        if registered is GAVE_UP:
            return 0
        threads = [
            threading.Thread(target=self._heartbeat_loop, name="ffwatt-heartbeat", daemon=True),
            threading.Thread(target=self._shutdown_watchdog, name="ffwatt-shutdown", daemon=True),
        ]
        for thread in threads:
            thread.start()
        try:
            self._flush_spool()
            while not self.stop.is_set():
                if self.options.max_jobs is not None and self.jobs_done >= self.options.max_jobs:
                    break
                job = self._claim()
                if job is None:
                    if self.options.burst:
                        break
                    continue
                if self.stop.is_set():
                    log.warning(
                        "job %s was claimed as the agent stopped: not started; the master requeues it"
                        " when told this node is going offline (else when its lease expires)",
                        job["id"],
                    )
                    break
                self._run_one(job)
        finally:
            self.stop.set()
            self._final_flush()
            self._done.set()
            for thread in threads:
                thread.join(timeout=5)
            self._go_offline()
            self.client.close()
        return self.jobs_done

    def request_stop(self) -> None:
        """Stop claiming and let the running job finish within the shutdown timeout; a second call abandons it now."""
        if self.stop.is_set():
            log.info("second stop request: abandoning the running job now")
            self._abandon_job()
            return
        log.info("stopping: no new jobs; the running job has %gs to finish", self.options.shutdown_timeout_s)
        self._stopped_at = time.monotonic()
        self.stop.set()

    def _claim(self) -> dict[str, Any] | None:
        job = self._retry(
            lambda: self._as_node(
                lambda: self.client.next_job(self.node_id, self.options.poll_interval_s), node_may_vanish=True
            ),
            give_up=self.stop.is_set,
        )
        return None if job is GAVE_UP else job

    def _run_one(self, job: dict[str, Any]) -> None:
        log.info("running job %s (%s, attempt %s)", job["id"], job.get("name"), job["attempt"])
        self._held.add(job["id"])
        try:
            self._run_held(job)
        finally:
            self._held.discard(job["id"])  # after the spool took it (or the result was sent unspooled)

    def _run_held(self, job: dict[str, Any]) -> None:
        self.ctx.cancel.clear()
        if self._abandon.is_set():
            self.ctx.cancel.set()
        if self.metrics is not None:
            self.metrics.job_started(job)
        result = execute_job(job, self.ctx, self.node_id)  # always returns a result, failed ones say why
        if self.metrics is not None:
            self.metrics.job_finished(result)
        if self._abandon.is_set() and result["status"] == "failed":
            result["error"] = (
                f"{SHUTDOWN_REASON}: abandoned after the {self.options.shutdown_timeout_s:g}s shutdown timeout"
            )
        try:
            self.spool.put(result)
        except OSError as exc:  # a full or read-only disk must not cost the result: still send it
            log.error("cannot spool the result of job %s (%s): sending it unspooled", job["id"], exc)
        self.jobs_done += 1
        log.info("job %s %s%s", job["id"], result["status"], f": {result['error']}" if result["error"] else "")
        self._submit(result)

    # -- registration and node calls -------------------------------------------------------------------------

    def _register(self) -> str:
        """Register, presenting the node token we hold (or saved at an earlier start); save the new identity."""
        if self.identity is not None and self.client.node_token is None:
            saved = self.identity.load(self.client.base_url, self.options.hostname)
            if saved is not None:
                self.client.node_token = saved.node_token
        self.node_id = self.client.register(
            self.options.hostname,
            self.inventory,
            self.options.labels,
            heartbeat_interval_s=self.options.heartbeat_interval_s,
            max_concurrent_jobs=self.options.max_concurrent_jobs,
        )
        self._registration += 1
        log.info("registered as node %s", self.node_id)
        if self.identity is not None and self.client.node_token:
            try:
                self.identity.save(
                    NodeIdentity(self.client.base_url, self.options.hostname, self.node_id, self.client.node_token)
                )
            except OSError as exc:  # this run goes on; a restart before the next success waits out the node
                log.error("cannot save the node identity to %s: %s", self.identity.path, exc)
        return self.node_id

    def _as_node(self, call: Callable[[], Any], node_may_vanish: bool = False) -> Any:
        """``call()``; if the master refuses our node token (401/403, or 404 for a node it forgot), re-register once
        and call again. Any other error, or a second refusal, propagates."""
        seen = self._registration
        try:
            return call()
        except MasterError as exc:
            if not (exc.auth or (node_may_vanish and exc.status == 404)):
                raise
            log.warning("master refused node %s (%s): registering again", self.node_id, exc)
            with self._register_lock:
                if self._registration == seen:  # the other thread may have re-registered already
                    self._register()
            return call()

    # -- results --------------------------------------------------------------------------------------------

    def _submit(self, result: dict[str, Any]) -> bool:
        """Send one spooled result; True once the master settled it (acknowledged, stale, or refused for good)."""
        ours = result.get("node_id") == self.node_id  # else from an identity the master has since forgotten
        send = (
            (lambda: self._as_node(lambda: self.client.submit_result(result)))
            if ours
            else (lambda: self.client.submit_result(result))
        )
        try:
            sent = self._retry(send, give_up=self._flush_expired)
        except MasterError as exc:
            if exc.auth and ours:
                raise  # our token is refused even after re-registering: keep the result for the next start
            if exc.status == 409:
                log.warning("result for job %s attempt %s is stale: %s", result["job_id"], result["attempt"], exc)
                self.spool.remove(result)
            else:
                where = self.spool.reject(result, str(exc))
                log.error("result for job %s refused for good (%s): kept in %s", result["job_id"], exc, where)
            return True
        if sent is GAVE_UP:
            log.warning(
                "result for job %s stays in the spool: the master is unreachable (sent at next start)", result["job_id"]
            )
            return False
        self.spool.remove(result)
        return True

    def _flush_spool(self) -> None:
        for result in self.spool.pending():
            log.info("resubmitting spooled result for job %s attempt %s", result["job_id"], result["attempt"])
            if not self._submit(result):
                return

    def _final_flush(self) -> None:
        try:
            self._flush_spool()
        except MasterError as exc:
            log.error("results left in the spool %s: %s", self.spool.folder, exc)

    # -- retrying ---------------------------------------------------------------------------------------------

    def _retry(self, call: Callable[[], Any], give_up: Callable[[], bool], wait_conflict: bool = False) -> Any:
        """Call until it answers; unreachable master or 5xx (and 409 with ``wait_conflict``) -> backoff with jitter
        until ``give_up()`` (then :data:`GAVE_UP`). Other 4xx errors propagate."""
        delay = BACKOFF_MIN_S
        while True:
            try:
                value = call()
            except MasterError as exc:
                if wait_conflict and exc.status == 409:
                    log.warning("registration refused, trying again in up to %.1f s: %s", delay, exc)
                elif not exc.unreachable:
                    raise
                else:
                    self._set_reachable(False, exc)
                if give_up():
                    return GAVE_UP
                self._pause(delay * random.uniform(0.5, 1.0))
                delay = min(delay * 2, BACKOFF_MAX_S)
                continue
            self._set_reachable(True)
            self._contacted()
            return value

    def _pause(self, seconds: float) -> None:
        """Sleep, waking early on a stop (so a stopping agent stops waiting to claim)."""
        if self.stop.is_set():
            time.sleep(min(seconds, 1.0))
        else:
            self.stop.wait(seconds)

    def _flush_expired(self) -> bool:
        """True once a stopped agent has spent its shutdown timeout plus :data:`FLUSH_TIMEOUT_S`."""
        if not self.stop.is_set():
            return False
        if self._stopped_at is None:
            self._stopped_at = time.monotonic()
        return time.monotonic() > self._stopped_at + self.options.shutdown_timeout_s + FLUSH_TIMEOUT_S

    def _contacted(self) -> None:
        """A call to the master succeeded (for the exporter's last-contact time)."""
        if self.metrics is not None:
            self.metrics.contacted()

    def _set_reachable(self, ok: bool, exc: Exception | None = None) -> None:
        if ok != self._reachable:
            (log.info if ok else log.warning)("master %s", "reachable again" if ok else f"unreachable: {exc}")
        self._reachable = ok

    # -- background threads -----------------------------------------------------------------------------------

    def _shutdown_watchdog(self) -> None:
        """After a stop, abandon the running job once the shutdown timeout has passed."""
        self.stop.wait()
        if self._stopped_at is None:
            self._stopped_at = time.monotonic()
        remaining = self._stopped_at + self.options.shutdown_timeout_s - time.monotonic()
        if not self._done.wait(max(remaining, 0.0)):
            self._abandon_job()

    def _abandon_job(self) -> None:
        self._abandon.set()
        if self.ctx.live.job_id:
            log.warning("abandoning job %s: %s", self.ctx.live.job_id, SHUTDOWN_REASON)
        self.ctx.cancel.set()

    def held_jobs(self) -> list[str]:
        """Every job this agent holds: the one it runs and those whose results wait in the spool."""
        held = set(self._held)  # read before the spool: a job leaves _held only once it is in the spool
        try:
            held |= self.spool.job_ids()
        except OSError as exc:
            log.warning("cannot list the spool %s: %s", self.spool.folder, exc)
        return sorted(held)

    def _heartbeat_loop(self) -> None:
        while not self._done.wait(self.options.heartbeat_interval_s):
            self.heartbeat_once()

    def heartbeat_once(self) -> None:
        """Send one heartbeat with live watts and progress; stop the current job if the master cancelled it."""
        with self._beat_lock:
            if not self._gone:
                self._beat()

    def _go_offline(self) -> None:
        """Tell the master this node is going offline (the last heartbeat); a failure is only logged."""
        with self._beat_lock:
            self._gone = True
            try:
                self.client.going_offline(self.node_id, self.held_jobs(), OFFLINE_TIMEOUT_S)
            except MasterError as exc:
                log.warning(
                    "could not tell the master that node %s is going offline (%s): it shows offline after"
                    " missed heartbeats",
                    self.node_id,
                    exc,
                )
                return
        log.info("told the master that node %s is going offline", self.node_id)

    def _beat(self) -> None:
        live = self.ctx.live
        try:
            reply = self._as_node(
                lambda: self.client.heartbeat(
                    self.node_id, live.current_watts(), live.job_id, live.snapshot(), self.held_jobs()
                ),
                node_may_vanish=True,
            )
        except MasterError as exc:
            if exc.unreachable:
                self._set_reachable(False, exc)
            else:
                log.warning("heartbeat refused: %s", exc)
            return
        self._contacted()
        if live.job_id and live.job_id in reply.get("cancel_jobs", []):
            log.info("master cancelled job %s: stopping it", live.job_id)
            self.ctx.cancel.set()
