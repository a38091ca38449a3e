"""The agent's Prometheus exporter: power by zone, the running job, and the agent's own health (docs/BENCHMARKS.md
"Agent exporter" for what it costs).

Runs inside the agent service (``--metrics-port``, 9101 by default, 0 disables it) or alone as ``python -m agent
exporter`` on hosts that only need power metrics. One registry per :class:`Exporter` (tests build many; nothing is
global). A scrape reads no sensor: :class:`ExporterCollector` turns the :class:`~agent.monitor.PowerMonitor`'s latest
snapshot and what the worker reported into families. The metric names and labels below are a contract (alert rules and
dashboards use them):

- ``ffwatt_energy_joules_total{source,zone,estimated}``: joules since the exporter started, wrap-corrected, never
  reset; an invalid interval adds nothing (the zone is down meanwhile), so ``rate()`` is watts.
- ``ffwatt_power_watts{source,zone,estimated}``: watts over the monitor's latest interval; absent when it was invalid.
- ``ffwatt_power_source_up{source,zone,reason}``: 1 (reason "") or 0 with a short reason.
- ``ffwatt_job_running{job_id,campaign_id,kind}``: 1 while a job runs, absent otherwise.
- ``ffwatt_ffmpeg_frames{job_id}``, ``ffwatt_ffmpeg_fps{job_id}``, ``ffwatt_ffmpeg_speed{job_id}``: the running
FFmpeg's latest
  progress, each absent while unknown.
- ``ffwatt_agent_sampler_cpu_seconds_total``: CPU of the power monitor's thread plus that of the job samplers (as each
  finished job's result reports it: ``sampler_overhead_pct`` x ``duration_s``); with ``process_*`` (prometheus-client's
  ProcessCollector), the agent's own overhead.
- ``ffwatt_agent_spool_depth``, ``ffwatt_agent_last_contact_timestamp_seconds`` (absent before the first successful
  call to the master), ``ffwatt_agent_jobs_total{status}``: agent service only.
- ``ffwatt_agent_info{hostname,version}`` 1 (version "" when ffwatt is not installed as a distribution).
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from agent.monitor import PowerMonitor
from agent.version import installed_version
from wire.states import RESULT_STATUSES

log = logging.getLogger(__name__)

DEFAULT_PORT = 9101
"""Port of the agent exporter (DESIGN.md "Ports")."""

DEFAULT_ADDRESS = "0.0.0.0"
"""Address the exporter listens on unless ``--metrics-address`` says otherwise."""

CLOSE_TIMEOUT_S = 5.0
"""How long :meth:`Exporter.close` waits for the HTTP server and for the monitor, each."""

JOB_STATUSES = RESULT_STATUSES
"""Job statuses exported from the start (as 0) so that rate() sees the first one."""

PROGRESS_GAUGES = (
    ("ffwatt_ffmpeg_frames", "frame", "Frames the running FFmpeg has output."),
    ("ffwatt_ffmpeg_fps", "fps", "Frames per second the running FFmpeg reports."),
    ("ffwatt_ffmpeg_speed", "speed", "Encoding speed the running FFmpeg reports (x real time)."),
)
"""(metric, key of the live progress, help) for each FFmpeg progress gauge."""


class ExporterBindError(OSError):
    """The exporter cannot listen on its address and port; the message names both and the flag to change."""


class AgentState:
    """What the worker tells the exporter: the running job, finished jobs, the last contact; read at scrape time."""

    def __init__(self, live: Any, spool_depth: Callable[[], int]) -> None:
        self.live = live  # agent.scenarios.base.LiveStatus
        self.spool_depth = spool_depth
        self._lock = threading.Lock()
        self.job: dict[str, str] | None = None
        self.jobs = {status: 0 for status in JOB_STATUSES}
        self.sampler_cpu_s = 0.0
        self.last_contact: float | None = None

    def job_started(self, job: dict[str, Any]) -> None:
        kind = job.get("kind") or (job.get("params") or {}).get("kind") or ""
        with self._lock:
            self.job = {"job": str(job["id"]), "campaign": str(job.get("campaign_id") or ""), "kind": str(kind)}

    def job_finished(self, result: dict[str, Any]) -> None:
        metrics = result.get("metrics") or {}
        pct, duration = metrics.get("sampler_overhead_pct"), metrics.get("duration_s")
        with self._lock:
            self.job = None
            status = str(result.get("status"))
            self.jobs[status] = self.jobs.get(status, 0) + 1
            if isinstance(pct, (int, float)) and isinstance(duration, (int, float)):
                self.sampler_cpu_s += pct / 100.0 * duration

    def contacted(self, at: float | None = None) -> None:
        with self._lock:
            self.last_contact = time.time() if at is None else at

    def read(self) -> dict[str, Any]:
        with self._lock:
            return {
                "job": dict(self.job) if self.job else None,
                "jobs": dict(self.jobs),
                "sampler_cpu_s": self.sampler_cpu_s,
                "last_contact": self.last_contact,
            }


class ExporterCollector:
    """Families from the monitor's snapshot and the agent's state; reads no sensor."""

    def __init__(self, monitor: PowerMonitor, hostname: str) -> None:
        self.monitor = monitor
        self.hostname = hostname
        self.agent: AgentState | None = None

    def describe(self) -> Iterator[Metric]:
        return iter(())  # families depend on the state: collected, never described ahead

    def collect(self) -> Iterator[Metric]:
        yield from self._power()
        agent = self.agent.read() if self.agent is not None else None
        cpu = CounterMetricFamily(
            "ffwatt_agent_sampler_cpu_seconds", "CPU seconds of the power monitor's thread and the job samplers."
        )
        cpu.add_metric([], self.monitor.cpu_seconds + (agent["sampler_cpu_s"] if agent else 0.0))
        yield cpu
        info = GaugeMetricFamily(
            "ffwatt_agent_info", "This agent: host name and ffwatt version.", labels=["hostname", "version"]
        )
        info.add_metric([self.hostname, installed_version()[0] or ""], 1)
        yield info
        if agent is not None:
            yield from self._agent(agent)

    def _power(self) -> Iterator[Metric]:
        labels = ["source", "zone", "estimated"]
        energy = CounterMetricFamily(
            "ffwatt_energy_joules", "Joules counted since the exporter started, by zone.", labels=labels
        )
        watts = GaugeMetricFamily(
            "ffwatt_power_watts", "Watts over the monitor's latest interval, by zone.", labels=labels
        )
        up = GaugeMetricFamily(
            "ffwatt_power_source_up",
            "1 when the zone's latest interval was read, else 0.",
            labels=["source", "zone", "reason"],
        )
        for z in self.monitor.snapshot():
            key = [z.source, z.zone, "true" if z.estimated else "false"]
            energy.add_metric(key, z.energy_j)
            if z.watts is not None:
                watts.add_metric(key, z.watts)
            up.add_metric([z.source, z.zone, z.reason], 1 if z.up else 0)
        yield from (energy, watts, up)

    def _agent(self, agent: dict[str, Any]) -> Iterator[Metric]:
        depth = GaugeMetricFamily("ffwatt_agent_spool_depth", "Results in the spool waiting for the master.")
        try:
            depth.add_metric([], self.agent.spool_depth())
        except OSError as exc:  # left out, not 0
            log.warning("metrics: cannot count the spool: %s", exc)
        yield depth
        contact = GaugeMetricFamily(
            "ffwatt_agent_last_contact_timestamp_seconds", "Unix time of the last successful call to the master."
        )
        if agent["last_contact"] is not None:
            contact.add_metric([], agent["last_contact"])
        yield contact
        jobs = CounterMetricFamily("ffwatt_agent_jobs", "Jobs this agent finished, by status.", labels=["status"])
        for status, count in sorted(agent["jobs"].items()):
            jobs.add_metric([status], count)
        yield jobs
        yield from self._job(agent["job"])

    def _job(self, job: dict[str, str] | None) -> Iterator[Metric]:
        running = GaugeMetricFamily(
            "ffwatt_job_running", "1 while the job runs on this agent.", labels=["job_id", "campaign_id", "kind"]
        )
        progress = {name: GaugeMetricFamily(name, text, labels=["job_id"]) for name, _key, text in PROGRESS_GAUGES}
        if job is not None:
            running.add_metric([job["job"], job["campaign"], job["kind"]], 1)
            live = self.agent.live
            values = dict(live.progress or {}) if live.job_id == job["job"] else {}
            for name, key, _text in PROGRESS_GAUGES:
                value = values.get(key)
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    progress[name].add_metric([job["job"]], value)
        yield running
        yield from progress.values()


class Exporter:
    """A power monitor, its collector and prometheus-client's process collector in one registry, served over HTTP."""

    def __init__(self, monitor: PowerMonitor, hostname: str | None = None) -> None:
        self.monitor = monitor
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.collector = ExporterCollector(monitor, hostname or socket.gethostname())
        self.registry.register(self.collector)
        self._server = None
        self._thread: threading.Thread | None = None
        self.address: tuple[str, int] | None = None

    def attach(self, live: Any, spool_depth: Callable[[], int]) -> AgentState:
        """Export the agent service's families too; returns the state the worker reports to."""
        self.collector.agent = AgentState(live, spool_depth)
        return self.collector.agent

    def exposition(self) -> bytes:
        """Every metric in the Prometheus text format (what GET /metrics answers)."""
        return generate_latest(self.registry)

    def serve(self, port: int, address: str = DEFAULT_ADDRESS) -> tuple[str, int]:
        """Listen on ``address:port`` (port 0: any free one); the address and port bound.

        Raises :class:`ExporterBindError` when the port is taken or the address is not this host's."""
        try:
            self._server, self._thread = start_http_server(port, address, registry=self.registry)
        except OSError as exc:
            why = "address already in use" if exc.errno == errno.EADDRINUSE else exc.strerror or str(exc)
            raise ExporterBindError(exc.errno, f"cannot serve metrics on {address}:{port}: {why}") from exc
        self.address = (address, self._server.server_address[1])
        log.info("metrics on http://%s:%d/metrics", *self.address)
        return self.address

    def start(self, port: int | None = None, address: str = DEFAULT_ADDRESS) -> Exporter:
        """Serve on ``port`` first when given (a busy port fails before the monitor starts), then start the monitor."""
        if port is not None:
            self.serve(port, address)
        self.monitor.start()
        return self

    def close(self, timeout_s: float = CLOSE_TIMEOUT_S) -> None:
        """Stop serving and stop the monitor, waiting at most ``timeout_s`` for each."""
        if self._server is not None:
            stopper = threading.Thread(target=self._server.shutdown, name="ffwatt-exporter-stop", daemon=True)
            stopper.start()
            stopper.join(timeout_s)
            if stopper.is_alive():
                log.warning("metrics server did not stop within %gs", timeout_s)
            else:
                self._server.server_close()
                if self._thread is not None:
                    self._thread.join(timeout_s)
            self._server = None
        self.monitor.stop(timeout_s)
