"""Agent exporter: what a scrape of /metrics costs, and whether the exporter disturbs a job's sampler.

    .venv/bin/python bench/exporter_scrape.py [--scrapes 200] [--seconds 15]

Power comes from a simulated two-socket powercap tree (4 counted zones) whose counters a separate process advances in
real time. (1) The exporter (its power monitor at 1 s, the agent families attached) serves /metrics from a child
process; this process scrapes it ``--scrapes`` times: wall ms per scrape (mean, p95) and the child's CPU ms per
scrape (psutil, whole child process over the scrapes, the monitor's few readings included). (2) A job Sampler at
10 Hz for ``--seconds`` in this process, as in the agent: alone, with the exporter's monitor running in the same
process but no scrapes, and with scrapes from another process at 1/s and 10/s. ``sampler_overhead_pct`` is the
sampler thread's CPU, ``process_overhead_pct`` the whole process's (sampler, monitor, HTTP server) as % of one core.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.exporter import Exporter  # noqa: E402
from agent.monitor import PowerMonitor, monitor_sources  # noqa: E402
from agent.power.rapl import discover_rapl  # noqa: E402
from agent.sampler import Measurement, Sampler  # noqa: E402
from agent.scenarios.base import LiveStatus  # noqa: E402
from agent.spool import Spool  # noqa: E402
from bench.sampler_overhead import simulated_tree  # noqa: E402

RATE_HZ = 10.0
"""The job sampler's rate (the campaigns' default sample_rate)."""


def start_exporter(root: Path, state: Path) -> Exporter:
    """The agent's exporter on a free loopback port: its own monitor at 1 s and the agent families attached."""
    sources, _ = monitor_sources(str(root))
    exporter = Exporter(PowerMonitor(sources, 1.0), hostname="bench")
    spool = Spool(state / "spool")
    exporter.attach(LiveStatus(), lambda: len(spool.job_ids())).contacted()
    return exporter.start(0, "127.0.0.1")


def url_of(exporter: Exporter) -> str:
    return "http://{}:{}/metrics".format(*exporter.address)


def _serve(root: Path, state: Path, queue, stop) -> None:
    exporter = start_exporter(root, state)
    queue.put(url_of(exporter))
    stop.wait()
    exporter.close()


def _scrape_at(url: str, per_s: float, stop) -> None:
    session = requests.Session()
    next_t = time.monotonic()
    while not stop.wait(max(0.0, next_t - time.monotonic())):
        session.get(url, timeout=5).raise_for_status()
        next_t += 1.0 / per_s


def scrape_cost(root: Path, state: Path, scrapes: int) -> dict[str, float]:
    """Scrape an exporter in a child process ``scrapes`` times: wall ms (mean, p95) and child CPU ms per scrape."""
    ctx = multiprocessing.get_context("fork")
    queue, stop = ctx.Queue(), ctx.Event()
    child = ctx.Process(target=_serve, args=(root, state, queue, stop), daemon=True)
    child.start()
    try:
        url = queue.get(timeout=30)
        session = requests.Session()
        session.get(url, timeout=5).raise_for_status()  # warm up
        proc = psutil.Process(child.pid)
        cpu0, walls = sum(proc.cpu_times()[:2]), []
        for _ in range(scrapes):
            t0 = time.perf_counter()
            session.get(url, timeout=5).raise_for_status()
            walls.append((time.perf_counter() - t0) * 1e3)
        cpu_ms = (sum(proc.cpu_times()[:2]) - cpu0) * 1e3 / scrapes
        size = len(session.get(url, timeout=5).content)
    finally:
        stop.set()
        child.join(timeout=15)
    return {"mean": statistics.fmean(walls), "p95": statistics.quantiles(walls, n=20)[-1], "cpu": cpu_ms, "bytes": size}


def sampler_window(root: Path, state: Path, seconds: float, monitor: bool, scrapes_per_s: float) -> Measurement:
    """A job Sampler at 10 Hz for ``seconds``, with the exporter running in this process or not, scraped or not."""
    exporter = start_exporter(root, state) if monitor else None
    ctx = multiprocessing.get_context("fork")
    stop = ctx.Event()
    scraper = (
        ctx.Process(target=_scrape_at, args=(url_of(exporter), scrapes_per_s, stop), daemon=True)
        if exporter and scrapes_per_s
        else None
    )
    try:
        if scraper:
            scraper.start()
        sources, _ = discover_rapl(root)
        sampler = Sampler(sources, RATE_HZ)
        sampler.start()
        time.sleep(seconds)
        return sampler.stop()
    finally:
        stop.set()
        if scraper:
            scraper.join(timeout=15)
        if exporter:
            exporter.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scrapes", type=int, default=200, help="scrapes timed in part 1")
    parser.add_argument("--seconds", type=float, default=15.0, help="sampler window per configuration in part 2")
    args = parser.parse_args()
    with simulated_tree() as root, tempfile.TemporaryDirectory(prefix="ffwatt-bench-") as state:
        state = Path(state)
        cost = scrape_cost(root, state, args.scrapes)
        print("| scrapes | body bytes | wall ms mean | wall ms p95 | exporter CPU ms per scrape |")
        print("|---|---|---|---|---|")
        print(f"| {args.scrapes} | {cost['bytes']} | {cost['mean']:.2f} | {cost['p95']:.2f} | {cost['cpu']:.2f} |")
        print()
        print(
            f"| configuration (job sampler {RATE_HZ:g} Hz, {args.seconds:g} s) | samples | sampler_overhead_pct | "
            "process_overhead_pct |"
        )
        print("|---|---|---|---|")
        for label, monitor, per_s in (
            ("no exporter", False, 0.0),
            ("exporter monitor, no scrapes", True, 0.0),
            ("exporter, 1 scrape/s", True, 1.0),
            ("exporter, 10 scrapes/s", True, 10.0),
        ):
            m = sampler_window(root, state, args.seconds, monitor, per_s)
            print(f"| {label} | {m.sample_count} | {m.sampler_overhead_pct:.3f} | {m.process_overhead_pct:.3f} |")


if __name__ == "__main__":
    main()
