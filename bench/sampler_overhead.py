"""Sampler overhead: CPU of the sampler thread as % of one core, at 10 Hz and 100 Hz.

    .venv/bin/python bench/sampler_overhead.py [--seconds 20]

Two source sets: RAPL on a simulated two-socket powercap tree (4 counted zones, counters advanced by a writer thread
in real time by a separate process) and the CPU-time estimate tracking a real two-process job (a shell waiting on
``sleep``). The figure is
``time.thread_time()`` of the sampler thread over the window, the same number the sampler reports in every result.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.power.estimate import EstimateSource  # noqa: E402
from agent.power.rapl import discover_rapl  # noqa: E402
from agent.sampler import Measurement, Sampler  # noqa: E402
from tests.agent.power.powercap_sim import PowercapSim, sim_dir  # noqa: E402


def run_window(sources, rate: float, seconds: float, pid: int | None = None) -> Measurement:
    sampler = Sampler(sources, rate)
    sampler.start()
    if pid is not None:
        sampler.track(pid)
    time.sleep(seconds)
    return sampler.stop()


def _serve(sim: PowercapSim, stop) -> None:
    with sim.running(period=0.005):
        stop.wait()


@contextlib.contextmanager
def simulated_tree():
    """The root of a simulated tree whose writer runs in another process, so it takes no CPU from this one."""
    ctx = multiprocessing.get_context("fork")
    with sim_dir() as d:
        sim = PowercapSim(d, range_uj=262_143_328_850)
        stop = ctx.Event()
        writer = ctx.Process(target=_serve, args=(sim, stop), daemon=True)
        writer.start()
        try:
            yield sim.root
        finally:
            stop.set()
            writer.join()


@contextlib.contextmanager
def rapl_sources():
    """RAPL sources on a simulated tree (see :func:`simulated_tree`)."""
    with simulated_tree() as root:
        sources, _ = discover_rapl(root)
        yield sources, None


@contextlib.contextmanager
def estimate_sources():
    job = subprocess.Popen(["sh", "-c", "sleep 3600; true"], start_new_session=True)
    try:
        yield [EstimateSource(tdp_watts=85.0)], job.pid
    finally:
        os.killpg(job.pid, signal.SIGKILL)  # the whole group: sh and its sleep
        job.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="window per configuration")
    args = parser.parse_args()
    print(f"{'sources':<28}{'rate Hz':>8}{'window s':>10}{'samples':>9}{'CPU ms':>9}{'% core':>9}{'us/sample':>11}")
    for label, make in (
        ("rapl (4 zones, simulated)", rapl_sources),
        ("estimate:cpu (2-process job)", estimate_sources),
    ):
        for rate in (10.0, 100.0):
            with make() as (sources, pid):
                m = run_window(sources, rate, args.seconds, pid)
            per_sample = m.sampler_cpu_s / m.sample_count * 1e6
            print(
                f"{label:<28}{m.rate_hz:>8.0f}{m.duration_s:>10.2f}{m.sample_count:>9}"
                f"{m.sampler_cpu_s * 1e3:>9.1f}{m.sampler_overhead_pct:>9.3f}{per_sample:>11.0f}"
            )


if __name__ == "__main__":
    main()
