"""Master memory: RSS of ``python -m master`` with 1,000 registered nodes and 100,000 queued jobs.

Usage: .venv/bin/python bench/master_memory.py [--nodes 1000] [--jobs 100000] [--batch 10000]

Everything goes through the API of a real master (tokens, loopback 127.0.0.10): nodes register with the enrollment
token, jobs arrive as campaigns of --batch jobs each (POST /campaigns with ``repetitions``). RSS and USS (psutil) of
the master's processes are printed after start, after the nodes, after the jobs, and after a round of list, status,
claim and result requests. Each read is timed over --repeat calls (first call, median, max): GET /jobs pages
(the first, a deep one, a filtered one), the dashboard and the UI's job and node lists must stay under 100 ms.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bulk_campaign import campaign_text  # noqa: E402
from tests.integration.procs import start_master  # noqa: E402

INVENTORY = {"encoders": {"libx264": {"usable": True, "reason": None}}, "gpus": [], "cpu_model": "sim"}


def memory(pid: int) -> str:
    """'arbiter rss/uss + worker rss/uss' in MiB for the master's process tree."""
    parts, total_uss = [], 0
    procs = [psutil.Process(pid)] + psutil.Process(pid).children(recursive=True)
    for proc in procs:
        info = proc.memory_full_info()
        total_uss += info.uss
        parts.append(f"pid {proc.pid} rss {info.rss / 2**20:.1f} MiB uss {info.uss / 2**20:.1f} MiB")
    return "; ".join(parts) + f"  | total uss {total_uss / 2**20:.1f} MiB"


REPEAT = 5
"""Calls per timed read (the first may warm caches; the median is the figure)."""


def timed(label: str, call, repeat: int = 1) -> object:
    """Call ``repeat`` times; print status, first, median and max milliseconds and the size; return the last."""
    took = []
    for _ in range(repeat):
        started = time.perf_counter()
        resp = call()
        took.append(time.perf_counter() - started)
    size = len(resp.content) if hasattr(resp, "content") else 0
    status = getattr(resp, "status_code", "")
    spread = f" first {took[0] * 1000:7.1f}  max {max(took) * 1000:7.1f}" if repeat > 1 else ""
    print(f"  {label:<44} {status} {statistics.median(took) * 1000:8.1f} ms{spread} {size / 1024:8.0f} KiB")
    return resp


def register_nodes(master, n: int) -> list[tuple[str, str]]:
    def one(i: int) -> tuple[str, str]:
        resp = requests.post(
            master.url + "/nodes/register",
            timeout=60,
            headers={"Authorization": f"Bearer {master.enrollment_token}"},
            json={"hostname": f"mem-node-{i:05d}", "inventory": INVENTORY, "labels": {"rack": f"r{i % 20}"}},
        )
        resp.raise_for_status()
        return resp.json()["node_id"], resp.json()["node_token"]

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(n)))


def requests_round(master, nodes: list[tuple[str, str]], campaign_ids: list[str], repeat: int = REPEAT) -> None:
    url, session = master.url, requests.Session()  # one keep-alive connection, as a browser or script has

    def get(path: str, **params):
        return lambda: session.get(url + path, params=params, timeout=120)

    timed("GET /health", get("/health"), repeat)
    timed("GET /nodes", get("/nodes"), repeat)
    timed("GET /campaigns", get("/campaigns"), repeat)
    timed("GET /campaigns/{id}", get(f"/campaigns/{campaign_ids[0]}"), repeat)
    timed("GET /jobs (first page, 100)", get("/jobs"), repeat)
    timed("GET /jobs?offset=99900 (last page)", get("/jobs", offset=99_900), repeat)
    timed("GET /jobs?state=queued", get("/jobs", state="queued"), repeat)
    timed("GET /jobs?campaign=ID&limit=1000", get("/jobs", campaign=campaign_ids[-1], limit=1000), repeat)
    timed("GET /metrics", get("/metrics"), repeat)
    timed("GET / (dashboard)", get("/"), repeat)
    timed("GET /ui/jobs", get("/ui/jobs"), repeat)
    timed("GET /ui/jobs?state=queued&offset=50000", get("/ui/jobs", state="queued", offset=50_000), repeat)
    timed("GET /ui/nodes", get("/ui/nodes"), repeat)
    timed("GET /ui/campaigns/{id}", get(f"/ui/campaigns/{campaign_ids[0]}"), repeat)
    for node_id, token in nodes[:20]:
        headers = {"Authorization": f"Bearer {token}"}
        resp = timed(
            f"GET /jobs/next ({node_id})",
            lambda node_id=node_id, headers=headers: requests.get(
                url + "/jobs/next", params={"node_id": node_id, "wait": 0}, headers=headers, timeout=120
            ),
        )
        job = resp.json().get("job") if resp.status_code == 200 else None
        if job:
            requests.post(
                url + "/results",
                headers=headers,
                timeout=60,
                json={
                    "job_id": job["id"],
                    "attempt": job["attempt"],
                    "node_id": node_id,
                    "status": "succeeded",
                    "metrics": {"frames": 1},
                },
            ).raise_for_status()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=REPEAT, help="calls per timed read")
    args = parser.parse_args()
    print(
        f"host: {psutil.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start,"
        f" Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory(prefix="ffwatt-memory-") as tmp:
        master = start_master(Path(tmp), lease=300, heartbeat_interval=3600)
        try:
            print(f"started:            {memory(master.pid)}")
            t0 = time.perf_counter()
            nodes = register_nodes(master, args.nodes)
            print(f"{len(nodes)} nodes registered in {time.perf_counter() - t0:.1f} s")
            print(f"after nodes:        {memory(master.pid)}")
            campaign_ids, t0 = [], time.perf_counter()
            for n in range(0, args.jobs, args.batch):
                size = min(args.batch, args.jobs - n)
                resp = requests.post(
                    master.url + "/campaigns",
                    headers=master.admin(),
                    timeout=600,
                    json={"spec_text": campaign_text(f"mem-{n // args.batch}", size)},
                )
                resp.raise_for_status()
                campaign_ids.append(resp.json()["campaign_id"])
            took = time.perf_counter() - t0
            print(
                f"{args.jobs} jobs queued in {len(campaign_ids)} campaigns in {took:.1f} s"
                f" ({args.jobs / took:.0f} jobs/s)"
            )
            print(f"after jobs:         {memory(master.pid)}")
            print("requests:")
            requests_round(master, nodes, campaign_ids, args.repeat)
            print(f"after requests:     {memory(master.pid)}")
            wal = Path(f"{master.db_path}-wal")
            print(
                f"database: {master.db_path.stat().st_size / 2**20:.1f} MiB"
                f" (+ WAL {wal.stat().st_size / 2**20 if wal.exists() else 0:.1f} MiB)"
            )
        finally:
            master.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
