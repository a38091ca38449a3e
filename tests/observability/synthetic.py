"""Synthetic series in the metric contract's names, for checking the dashboards against a real VictoriaMetrics.

``exposition(now)`` is Prometheus text (with millisecond timestamps) for ``/api/v1/import/prometheus``: a sample every
:data:`STEP_S` seconds over the last :data:`SPAN_S` seconds for scraped series (with the ``job``, ``instance`` and
``host`` labels a scrape adds), and a few
samples for the result series the master pushes (their labels, no scrape labels). :data:`CONTRACT` names every metric
the dashboards may use.
"""

from __future__ import annotations

from collections.abc import Iterator

import requests

STEP_S = 30
"""Seconds between two samples of a scraped series."""

SPAN_S = 600
"""How far back the samples go."""

MASTER = {"job": "ffwatt-master", "instance": "127.0.0.11:8080", "host": "master-1"}
AGENTS = [{"job": "ffwatt-agent", "instance": f"127.0.0.{n}:9101", "host": f"agent-{n - 11}"} for n in (12, 13)]
NODES = [
    {"job": "node", "instance": f"127.0.0.{n}:9100", "host": h}
    for n, h in ((11, "master-1"), (12, "agent-1"), (13, "agent-2"))
]
STACK = [
    {"job": job, "instance": f"127.0.0.11:{port}", "host": "master-1"}
    for job, port in (("victoriametrics", 8428), ("vmalert", 8880), ("alertmanager", 9093))
]

MASTER_METRICS = (
    "ffwatt_store_up",
    "ffwatt_jobs",
    "ffwatt_queue_depth",
    "ffwatt_nodes",
    "ffwatt_node_up",
    "ffwatt_node_last_heartbeat_timestamp_seconds",
    "ffwatt_node_watts",
    "ffwatt_results_received_total",
    "ffwatt_campaign_jobs",
    "ffwatt_vm_outbox_depth",
)
AGENT_METRICS = (
    "ffwatt_energy_joules_total",
    "ffwatt_power_watts",
    "ffwatt_power_source_up",
    "ffwatt_job_running",
    "ffwatt_ffmpeg_frames",
    "ffwatt_ffmpeg_fps",
    "ffwatt_ffmpeg_speed",
    "ffwatt_agent_sampler_cpu_seconds_total",
    "process_cpu_seconds_total",
    "ffwatt_agent_spool_depth",
    "ffwatt_agent_last_contact_timestamp_seconds",
    "ffwatt_agent_jobs_total",
    "ffwatt_agent_info",
)
RESULT_METRICS = (
    "ffwatt_result_joules_per_frame",
    "ffwatt_result_watts",
    "ffwatt_result_fps",
    "ffwatt_result_quality",
    "ffwatt_result_duration_seconds",
)
NODE_EXPORTER_METRICS = ("node_cpu_seconds_total", "node_memory_MemAvailable_bytes", "node_filesystem_avail_bytes")
CONTRACT = frozenset(("up", *MASTER_METRICS, *AGENT_METRICS, *RESULT_METRICS, *NODE_EXPORTER_METRICS))
"""Every metric name a dashboard may query."""


def _line(name: str, labels: dict[str, str], value: float, ts: float) -> str:
    body = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return f"{name}{{{body}}} {value:g} {int(ts * 1000)}"


def _scraped(now: float) -> Iterator[tuple[str, dict[str, str], float, float]]:
    """(name, labels, value, timestamp) of every scraped sample; ``i`` counts steps, so counters grow."""
    steps = range(SPAN_S // STEP_S + 1)
    for i in steps:
        ts = now - SPAN_S + i * STEP_S
        for target in [MASTER, *AGENTS, *NODES, *STACK]:
            yield "up", target, 1, ts
        yield from _master(MASTER, i, ts)
        for n, agent in enumerate(AGENTS):
            yield from _agent(agent, n, i, ts)
        for n, node in enumerate(NODES):
            yield "node_cpu_seconds_total", {**node, "cpu": "0", "mode": "idle"}, i * STEP_S * 0.6, ts
            yield "node_cpu_seconds_total", {**node, "cpu": "0", "mode": "user"}, i * STEP_S * 0.4, ts
            yield "node_memory_MemAvailable_bytes", node, (2 + n) * 2**30, ts
            yield (
                "node_filesystem_avail_bytes",
                {**node, "device": "/dev/sda1", "fstype": "ext4", "mountpoint": "/"},
                40 * 2**30 - i * 2**20,
                ts,
            )


def _master(target: dict[str, str], i: int, ts: float) -> Iterator[tuple[str, dict[str, str], float, float]]:
    done = min(i, 8)
    yield "ffwatt_store_up", target, 1, ts
    for state, count in (
        ("queued", 8 - done),
        ("running", 1 if done < 8 else 0),
        ("succeeded", done),
        ("failed", 0),
        ("cancelled", 0),
    ):
        yield "ffwatt_jobs", {**target, "state": state}, count, ts
        yield ("ffwatt_campaign_jobs", {**target, "campaign_id": "c1", "campaign": "quick", "state": state}, count, ts)
    yield "ffwatt_queue_depth", target, 8 - done, ts
    for status, count in (("online", 2), ("offline", 0), ("draining", 0)):
        yield "ffwatt_nodes", {**target, "status": status}, count, ts
    for n, agent in enumerate(AGENTS):
        node = {**target, "node": f"n{n + 1}", "hostname": agent["host"]}
        yield "ffwatt_node_up", node, 1, ts
        yield "ffwatt_node_last_heartbeat_timestamp_seconds", node, ts - 5, ts
        yield "ffwatt_node_watts", node, 40 + 10 * n, ts
    yield "ffwatt_results_received_total", {**target, "status": "accepted"}, done, ts
    yield "ffwatt_vm_outbox_depth", target, 0, ts


def _agent(target: dict[str, str], n: int, i: int, ts: float) -> Iterator[tuple[str, dict[str, str], float, float]]:
    source = {"source": "estimate" if n else "rapl", "estimated": "true" if n else "false"}
    zones = ["estimate"] if n else ["package-0", "dram"]
    for zone in zones:
        labels = {**target, **source, "zone": zone}
        yield "ffwatt_energy_joules_total", labels, i * STEP_S * 20.0, ts
        yield "ffwatt_power_watts", labels, 20.0, ts
        yield ("ffwatt_power_source_up", {**target, "source": source["source"], "zone": zone, "reason": ""}, 1, ts)
    if 2 <= i <= 12:  # a job runs for a while, then the series go away
        job = {"job_id": f"j-{40 + n}"}
        yield "ffwatt_job_running", {**target, **job, "campaign_id": "c-quick", "kind": "transcode"}, 1, ts
        yield "ffwatt_ffmpeg_frames", {**target, **job}, (i - 2) * 900, ts
        yield "ffwatt_ffmpeg_fps", {**target, **job}, 30 + n, ts
        yield "ffwatt_ffmpeg_speed", {**target, **job}, 1.2, ts
    yield "ffwatt_agent_sampler_cpu_seconds_total", target, i * 0.05, ts
    yield "process_cpu_seconds_total", target, i * 0.5, ts
    yield "ffwatt_agent_spool_depth", target, 0, ts
    yield "ffwatt_agent_last_contact_timestamp_seconds", target, ts - 2, ts
    yield "ffwatt_agent_jobs_total", {**target, "status": "succeeded"}, min(i, 4), ts
    yield "ffwatt_agent_info", {**target, "hostname": target["host"], "version": "0.1.0"}, 1, ts


def _results(now: float) -> Iterator[tuple[str, dict[str, str], float, float]]:
    """One sample per result at its own time, as the master pushes them (no scrape labels)."""
    for k in range(6):
        ts = now - SPAN_S + 60 + k * 90
        encoder = "libx264" if k % 2 else "libx265"
        labels = {
            "campaign": "quick",
            "campaign_id": "c1",
            "variant": f"{encoder}-medium-crf23-720p",
            "node": f"n{k % 2 + 1}",
            "encoder": encoder,
            "kind": "transcode",
            "estimated": "false",
            "job": str(30 + k),
        }
        yield "ffwatt_result_joules_per_frame", labels, 0.5 + 0.1 * k, ts
        yield "ffwatt_result_watts", labels, 25 + k, ts
        yield "ffwatt_result_fps", labels, 50 - k, ts
        yield "ffwatt_result_duration_seconds", labels, 20 + k, ts
        for metric, value in (("psnr", 40 + k), ("ssim", 0.98)):
            yield "ffwatt_result_quality", {**labels, "metric": metric}, value, ts


def exposition(now: float) -> str:
    """Every synthetic sample as Prometheus text with timestamps."""
    samples = [*_scraped(now), *_results(now)]
    return "\n".join(_line(*sample) for sample in samples) + "\n"


def names(now: float) -> set[str]:
    """The metric names :func:`exposition` writes."""
    return {name for name, *_ in [*_scraped(now), *_results(now)]}


def import_into(base_url: str, now: float) -> None:
    """Write the synthetic series into VictoriaMetrics (``/api/v1/import/prometheus``)."""
    resp = requests.post(f"{base_url}/api/v1/import/prometheus", data=exposition(now).encode(), timeout=30)
    resp.raise_for_status()
