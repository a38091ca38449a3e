"""GET /metrics: the master's Prometheus metrics.

Two kinds of numbers, one registry per app (tests build many apps; nothing is global):

- read from SQLite at scrape time by :class:`StoreCollector`: jobs by state, queue depth, nodes by status (offline =
  its agent said it stopped, or no heartbeat for 3 intervals, see :class:`master.fleet.Liveness`), the latest watts
  each live node reported, each node's liveness and last heartbeat, the jobs of each running campaign by state, and
  the VictoriaMetrics outbox's depth;
- counted in memory by :class:`MasterMetrics`, which the API calls through ``app.extensions["ffwatt.metrics"]``:
  results received by status, the claim latency histogram, and what the VictoriaMetrics pusher (master/vmpush.py)
  pushed, failed to push and dropped (all restart from zero with the process, as Prometheus counters do).

A node whose last heartbeat carried no watts, or that is offline, has no ``ffwatt_node_watts`` sample at all: a missing
reading is never exported as 0; a node that never sent a heartbeat has no
``ffwatt_node_last_heartbeat_timestamp_seconds`` sample. ``ffwatt_campaign_jobs`` covers running campaigns only, so its
series stay as few as the campaigns in flight. If the database cannot be read, ``ffwatt_store_up`` is 0 and the
store's families are left out rather than reported as zeros.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, current_app
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from master import db, vmpush
from master.fleet import LIVENESS_COLUMNS, Liveness
from wire.states import RESULT_STATUSES, CampaignState, JobState, NodeStatus

log = logging.getLogger(__name__)

bp = Blueprint("metrics", __name__)

EXTENSION = "ffwatt.metrics"
"""Key of the app's :class:`MasterMetrics` in ``app.extensions``."""

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The Prometheus text exposition format that ``generate_latest`` writes."""

CLAIM_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""Histogram buckets (seconds) of ``ffwatt_claim_latency_seconds``: a claim is milliseconds, a long-poll up to 60 s."""


def _store_up() -> GaugeMetricFamily:
    return GaugeMetricFamily("ffwatt_store_up", "1 when the master's SQLite store could be read for this scrape.")


class StoreCollector:
    """Reads the queue and the nodes from SQLite each time Prometheus scrapes."""

    def __init__(self, config: Any):
        self.config = config

    def describe(self) -> Iterator[Metric]:
        """The families :meth:`collect` yields (without reading the database)."""
        yield _store_up()
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        """One consistent read of the store; on a read error only ``ffwatt_store_up 0``."""
        up = _store_up()
        try:
            families = self._read()
        except sqlite3.Error as exc:
            log.warning("metrics: cannot read %s: %s", self.config["DATABASE"], exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _families(self) -> tuple[GaugeMetricFamily, ...]:
        return (
            GaugeMetricFamily("ffwatt_jobs", "Jobs by state.", labels=["state"]),
            GaugeMetricFamily("ffwatt_queue_depth", "Jobs queued and waiting for a node."),
            GaugeMetricFamily(
                "ffwatt_nodes",
                "Nodes by status (offline: stopped, or no heartbeat for 3 intervals).",
                labels=["status"],
            ),
            GaugeMetricFamily(
                "ffwatt_node_watts", "Latest watts a live node reported in its heartbeat.", labels=["node", "hostname"]
            ),
            GaugeMetricFamily(
                "ffwatt_node_up",
                "1 unless the node is offline (stopped, or no heartbeat for 3 intervals).",
                labels=["node", "hostname"],
            ),
            GaugeMetricFamily(
                "ffwatt_node_last_heartbeat_timestamp_seconds",
                "Unix time of the node's last heartbeat (no sample if it never sent one).",
                labels=["node", "hostname"],
            ),
            GaugeMetricFamily(
                "ffwatt_campaign_jobs",
                "Jobs of each running campaign by state.",
                labels=["campaign_id", "campaign", "state"],
            ),
            GaugeMetricFamily(
                "ffwatt_vm_outbox_depth", "Result samples waiting in the outbox for VictoriaMetrics (master/vmpush.py)."
            ),
        )

    def _read(self) -> list[GaugeMetricFamily]:
        families = self._families()
        jobs, depth, _, _, _, _, campaign_jobs, outbox = families
        conn = db.connect(self.config["DATABASE"])
        try:
            conn.execute("BEGIN")
            job_counts = dict(conn.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall())
            node_rows = conn.execute(f"SELECT {LIVENESS_COLUMNS} FROM nodes ORDER BY hostname").fetchall()
            campaign_rows = conn.execute(_RUNNING_CAMPAIGN_JOBS, (CampaignState.RUNNING.value,)).fetchall()
            outbox.add_metric([], vmpush.outbox_depth(conn))
            conn.execute("COMMIT")
        finally:
            conn.close()
        for state in [s.value for s in JobState] + sorted(set(job_counts) - {s.value for s in JobState}):
            jobs.add_metric([state], job_counts.get(state, 0))
        depth.add_metric([], job_counts.get(JobState.QUEUED.value, 0))
        self._add_nodes(*families[2:6], node_rows)
        _add_campaigns(campaign_jobs, campaign_rows)
        return list(families)

    def _add_nodes(
        self,
        nodes: GaugeMetricFamily,
        watts: GaugeMetricFamily,
        up: GaugeMetricFamily,
        heartbeat: GaugeMetricFamily,
        rows: list,
    ) -> None:
        now = time.time()
        liveness = Liveness.from_config(self.config)
        by_status = {s.value: 0 for s in NodeStatus}
        for row in rows:
            status = liveness.status(row, now)
            by_status[status.value] += 1
            labels = [row["id"], row["hostname"]]
            up.add_metric(labels, 0 if status is NodeStatus.OFFLINE else 1)
            if row["last_heartbeat"] is not None:
                heartbeat.add_metric(labels, row["last_heartbeat"])
            if status is not NodeStatus.OFFLINE and row["current_watts"] is not None:
                watts.add_metric(labels, row["current_watts"])
        for status, count in by_status.items():
            nodes.add_metric([status], count)


_RUNNING_CAMPAIGN_JOBS = (
    "SELECT c.id, c.name, j.state, COUNT(j.id) AS n FROM campaigns c"
    " LEFT JOIN jobs j ON j.campaign_id = c.id WHERE c.state = ?"
    " GROUP BY c.id, j.state ORDER BY c.created_at, c.id"
)


def _add_campaigns(family: GaugeMetricFamily, rows: list) -> None:
    """Every job state of each running campaign (0 where it has none), plus any other state its jobs are in."""
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for row in rows:
        states = counts.setdefault((row["id"], row["name"]), {s.value: 0 for s in JobState})
        if row["state"] is not None:
            states[row["state"]] = row["n"]
    for (campaign_id, name), states in counts.items():
        for state, count in states.items():
            family.add_metric([campaign_id, name, state], count)


class MasterMetrics:
    """The app's metrics: its own registry, the store collector, and the counters the API feeds."""

    def __init__(self, config: Any):
        self.registry = CollectorRegistry()
        self.results = Counter(
            "ffwatt_results_received", "Results received from agents, by status.", ["status"], registry=self.registry
        )
        for status in RESULT_STATUSES:
            self.results.labels(status=status)
        self.claim_latency = Histogram(
            "ffwatt_claim_latency_seconds",
            "Seconds a claim (GET /jobs/next) took.",
            buckets=CLAIM_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.vm_pushed_samples = Counter(
            "ffwatt_vm_pushed_samples", "Result samples VictoriaMetrics accepted (2xx).", registry=self.registry
        )
        self.vm_push_errors = Counter(
            "ffwatt_vm_push_errors",
            "Pushes to VictoriaMetrics that failed (each retry counts).",
            registry=self.registry,
        )
        self.vm_dropped_samples = Counter(
            "ffwatt_vm_dropped_samples",
            "Result samples dropped from the full VictoriaMetrics outbox, oldest first.",
            registry=self.registry,
        )
        self.registry.register(StoreCollector(config))

    def observe_claim(self, seconds: float) -> None:
        """Record one claim's latency; a negative or non-finite duration is dropped, not clamped."""
        if isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds >= 0:
            self.claim_latency.observe(seconds)

    def result_received(self, status: str) -> None:
        """Count one result received with ``status`` (e.g. succeeded, failed)."""
        self.results.labels(status=str(status)).inc()

    def vm_pushed(self, pushed: int = 0, push_errors: int = 0, dropped: int = 0) -> None:
        """Count what the VictoriaMetrics pusher did: samples delivered, failed pushes, samples dropped."""
        self.vm_pushed_samples.inc(pushed)
        self.vm_push_errors.inc(push_errors)
        self.vm_dropped_samples.inc(dropped)

    def exposition(self) -> bytes:
        """Every metric in the Prometheus text format."""
        return generate_latest(self.registry)


@bp.record_once
def _setup(state) -> None:
    """Give each app its own :class:`MasterMetrics` when the blueprint is first registered on it."""
    app = state.app
    app.extensions[EXTENSION] = MasterMetrics(app.config)


@bp.get("/metrics")
def metrics() -> Response:
    return Response(current_app.extensions[EXTENSION].exposition(), content_type=CONTENT_TYPE)
