"""Render the report of a synthetic 10,000-job run and print how long it took and how big index.html is.

The jobs are copies of the recorded quick run's successful jobs (tests/data/reports/run_quick.json), spread over
10 scenarios x 5 variants x 200 repetitions, each with 100 power samples and its J/frame scaled a little per copy so
the statistics are not degenerate. Goal: index.html rendered in < 3 s and < 10 MB.

    .venv/bin/python bench/report_render.py [--jobs 10000] [--samples 100]
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import time
from pathlib import Path

from master.analysis.summarize import summarize_run
from master.reports.html import render_html

RUN_FILE = Path(__file__).resolve().parents[1] / "tests" / "data" / "reports" / "run_quick.json"


def synthetic_run(jobs: int, samples: int, seed: int = 1) -> dict:
    """A run of ``jobs`` successful jobs (10 scenarios x 5 variants), each with ``samples`` power samples."""
    rng = random.Random(seed)
    base = json.loads(RUN_FILE.read_text())
    templates = [j for j in base["jobs"] if j["state"] == "succeeded"]
    out = []
    for i in range(jobs):
        job = copy.deepcopy(templates[i % len(templates)])
        scenario, variant = f"s{i % 10}", f"s{i % 10}-v{(i // 10) % 5}"
        scale = 1 + 0.2 * ((i // 10) % 5) + rng.uniform(-0.05, 0.05)
        metrics = job["result"]["metrics"]
        for key in ("joules_per_frame", "dynamic_joules_per_frame", "total_energy_j", "mean_watts"):
            if isinstance(metrics.get(key), (int, float)):
                metrics[key] *= scale
        if isinstance(metrics.get("frames_per_joule"), (int, float)):
            metrics["frames_per_joule"] /= scale
        job["result"]["samples"] = [
            {"t": round(0.2 * k, 2), "total_watts": round(20 * scale + rng.uniform(-2, 2), 2)} for k in range(samples)
        ]
        job.update(id=f"j-{i:05d}", name=f"{variant}#{i // 50 + 1}", scenario=scenario, variant=variant)
        job["repetition"] = i // 50 + 1
        out.append(job)
    return {**base, "jobs": out}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=100)
    args = parser.parse_args()
    run = synthetic_run(args.jobs, args.samples)
    start = time.perf_counter()
    summary = summarize_run(run)
    summarized = time.perf_counter()
    page = render_html(run, summary)
    rendered = time.perf_counter()
    size = len(page.encode())
    print(f"jobs {args.jobs}, samples/job {args.samples}")
    print(f"summarize {summarized - start:.2f} s, render_html {rendered - summarized:.2f} s")
    print(f"index.html {size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
