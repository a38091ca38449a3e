"""Dispatch benchmark: one ``python -m master`` (tokens) and N simulated agents long-polling it over real HTTP.

Usage: .venv/bin/python bench/dispatch.py [--agents 200,1000] [--jobs 5000] [--duration 30] [--probes 40] [--wait 20]

--agents takes a comma-separated list: one fresh master per count, one after the other.

Each simulated agent is an asyncio task with one keep-alive HTTP/1.1 connection: it registers (enrollment token),
heartbeats every 15 s, long-polls ``GET /jobs/next?wait=W`` and posts a trivial result for every job it gets.
  1. dispatch latency: with every agent idle and waiting, one job is POSTed (POST /jobs); latency runs from just
     before the POST to the moment an agent holds the job's response (--probes times, one after the other).
  2. throughput: a campaign of --jobs jobs; agents claim and report until the queue is empty or --duration passes:
     claims per second and the latency of claim requests that returned a job (p50/p99).
  3. double assignments, from the master's SQLite file: jobs with more than one result or attempt (and more than one
     "claimed" event, where the master records them), plus the claims the agents saw.
Also printed, since the figures depend on what else runs on the host: the master's CPU per claim+result cycle (and so
the claims/s one core could sustain), this client's own CPU, the master worker's threads and RSS, the load average.
Loopback only (127.0.0.10); everything is bounded by --duration and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import platform
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bulk_campaign import campaign_text  # noqa: E402
from tests.integration.procs import start_master  # noqa: E402

INVENTORY = {"encoders": {"libx264": {"usable": True, "reason": None}}, "gpus": []}
HEARTBEAT_S = 15.0
REGISTER_TRIES = 5
PROBE = {"scenario": "1080p-h264", "parameters": {"duration": 1, "idle_baseline": 0}}


class Http:
    """One keep-alive HTTP/1.1 connection; reconnects once when the server closed it while idle."""

    def __init__(self, host: str, port: int, token: str | None = None):
        self.host, self.port, self.token = host, port, token
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None

    async def request(self, method: str, path: str, body=None, timeout: float = 90.0) -> tuple[int, dict]:
        for attempt in (1, 2):
            try:
                return await asyncio.wait_for(self._once(method, path, body), timeout)
            except (ConnectionError, asyncio.IncompleteReadError, EOFError):
                await self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _once(self, method: str, path: str, body) -> tuple[int, dict]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        data = json.dumps(body).encode() if body is not None else b""
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(data)}"]
        if body is not None:
            head.append("Content-Type: application/json")
        if self.token:
            head.append(f"Authorization: Bearer {self.token}")
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise EOFError("connection closed")
        headers = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            key, _, value = line.decode().partition(":")
            headers[key.strip().lower()] = value.strip()
        if headers.get("transfer-encoding") == "chunked":
            payload = b""
            while (size := int((await self.reader.readline()).strip(), 16)) > 0:
                payload += await self.reader.readexactly(size)
                await self.reader.readline()
            await self.reader.readline()
        else:
            payload = await self.reader.readexactly(int(headers.get("content-length", 0)))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return int(status_line.split()[1]), (json.loads(payload) if payload else {})


class Stats:
    """What the agents saw: claims (job id -> claim time), claim request latencies, errors."""

    def __init__(self):
        self.claimed_at: dict[str, float] = {}
        self.claims = collections.Counter()
        self.claim_latency: list[tuple[float, float]] = []  # (request started, seconds until it returned a job)
        self.reported = 0
        self.errors: list[str] = []


async def sim_agent(
    i: int, host: str, port: int, enrollment: str, wait: float, stats: Stats, stop: asyncio.Event, ready: asyncio.Queue
) -> None:
    conn = Http(host, port, enrollment)
    for _ in range(REGISTER_TRIES):  # like a real agent, a 5xx is retried
        status, reg = await conn.request(
            "POST", "/nodes/register", {"hostname": f"sim-{i:04d}", "inventory": INVENTORY, "labels": {}}
        )
        if status in (200, 201):
            break
        stats.errors.append(f"register {status}: {reg}")
        await asyncio.sleep(0.5)
    else:
        await ready.put(None)
        return
    node_id, conn.token = reg["node_id"], reg["node_token"]
    await ready.put(node_id)
    beat = asyncio.create_task(heartbeats(Http(host, port, conn.token), node_id, stop))
    try:
        while not stop.is_set():
            started = time.perf_counter()
            status, answer = await conn.request("GET", f"/jobs/next?node_id={node_id}&wait={wait:g}")
            now = time.perf_counter()
            if status != 200:
                stats.errors.append(f"claim {status}: {answer}")
                await asyncio.sleep(1)
                continue
            job = answer.get("job")
            if job is None:
                continue
            stats.claimed_at[job["id"]] = now
            stats.claims[job["id"]] += 1
            stats.claim_latency.append((started, now - started))
            status, answer = await conn.request(
                "POST",
                "/results",
                {
                    "job_id": job["id"],
                    "attempt": job["attempt"],
                    "node_id": node_id,
                    "status": "succeeded",
                    "metrics": {"frames": 1},
                },
            )
            if status != 200:
                stats.errors.append(f"result {status}: {answer}")
            stats.reported += 1
    finally:
        beat.cancel()
        await conn.close()


async def heartbeats(conn: Http, node_id: str, stop: asyncio.Event) -> None:
    try:
        while not stop.is_set():
            await conn.request("POST", f"/nodes/{node_id}/heartbeat", {"watts": None})
            await asyncio.sleep(HEARTBEAT_S)
    finally:
        await conn.close()


def master_cpu(tree: list[psutil.Process]) -> float:
    """CPU seconds (user + system) the master's processes used so far."""
    return sum(sum(p.cpu_times()[:2]) for p in tree if p.is_running())


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else float("nan")


async def probe_dispatch(admin: Http, stats: Stats, probes: int) -> tuple[list[float], list[float]]:
    """One job at a time (POST /jobs): submit->claim latencies and POST round trips (seconds)."""
    dispatch, posts = [], []
    for _ in range(probes):
        t0 = time.perf_counter()
        status, answer = await admin.request("POST", "/jobs", PROBE)
        posts.append(time.perf_counter() - t0)
        if status != 201:
            raise SystemExit(f"probe submit failed: {status} {answer}")
        job_id = answer["job_id"]
        deadline = time.perf_counter() + 10
        while job_id not in stats.claimed_at and time.perf_counter() < deadline:
            await asyncio.sleep(0.005)
        if job_id in stats.claimed_at:
            dispatch.append(stats.claimed_at[job_id] - t0)
        await asyncio.sleep(0.2)  # the claimer posts its result and goes back to waiting
    return dispatch, posts


async def throughput(admin: Http, stats: Stats, jobs: int, duration: float) -> tuple[str, int, float]:
    """Submit ``jobs`` at once; wait until all are claimed or ``duration`` passes. (campaign id, claims, seconds)."""
    before, latencies_before = sum(stats.claims.values()), len(stats.claim_latency)
    t0 = time.perf_counter()
    status, answer = await admin.request("POST", "/campaigns", {"spec_text": campaign_text("burst", jobs)}, timeout=120)
    if status != 201:
        raise SystemExit(f"burst submit failed: {status} {answer}")
    submitted = time.perf_counter()
    print(f"  submitted {jobs} jobs in {submitted - t0:.2f} s")
    while sum(stats.claims.values()) - before < jobs and time.perf_counter() - submitted < duration:
        await asyncio.sleep(0.05)
    elapsed, claimed = time.perf_counter() - submitted, sum(stats.claims.values()) - before
    deadline = time.perf_counter() + 10
    while stats.reported < sum(stats.claims.values()) and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    # only claims asked after the submission: earlier ones include time spent waiting for work
    stats.claim_latency[:] = [(s, d) for s, d in stats.claim_latency[latencies_before:] if s >= submitted]
    return answer["campaign_id"], claimed, elapsed


def errors_in_log(path: Path, most: int = 12) -> list[str]:
    """Failed routes and the exceptions the master's log shows, counted."""
    found: collections.Counter = collections.Counter()
    for line in path.read_text(errors="replace").splitlines():
        route = re.search(r"ERROR Exception on (.+)$", line)
        if route:
            found[f"500 on {route.group(1)}"] += 1
        elif re.match(r"^[\w.]+(Error|Exception): ", line):
            found[line[:200]] += 1
    return [f"  {n} x {text}" for text, n in found.most_common(most)]


def db_check(db_path: Path) -> dict[str, int]:
    """Double assignments as the master's database records them."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        found = {
            "jobs with >1 result": conn.execute(
                "SELECT COUNT(*) FROM (SELECT job_id FROM results GROUP BY job_id HAVING COUNT(*) > 1)"
            ).fetchone()[0],
            "jobs with attempt > 1": conn.execute("SELECT COUNT(*) FROM jobs WHERE attempt > 1").fetchone()[0],
            "results": conn.execute("SELECT COUNT(*) FROM results").fetchone()[0],
        }
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "job_events" in tables:
            found["jobs claimed >1 time"] = conn.execute(
                "SELECT COUNT(*) FROM (SELECT job_id FROM job_events WHERE event = 'claimed' GROUP BY job_id"
                " HAVING COUNT(*) > 1)"
            ).fetchone()[0]
        return found
    finally:
        conn.close()


async def bench(args, master) -> int:
    stats, stop, ready = Stats(), asyncio.Event(), asyncio.Queue()
    tasks = [
        asyncio.create_task(
            sim_agent(i, master.host, master.port, master.enrollment_token, args.wait, stats, stop, ready)
        )
        for i in range(args.agents)
    ]
    t0 = time.perf_counter()
    registered = [await asyncio.wait_for(ready.get(), 120) for _ in tasks]
    print(f"registered {sum(1 for r in registered if r)} agents in {time.perf_counter() - t0:.1f} s")
    await asyncio.sleep(1.0)
    admin = Http(master.host, master.port, master.admin_token)
    tree = [psutil.Process(master.pid)] + psutil.Process(master.pid).children(recursive=True)

    dispatch, posts = await probe_dispatch(admin, stats, args.probes)
    reported0 = stats.reported
    print(
        f"dispatch latency (submit -> agent holds the job), {len(dispatch)}/{args.probes} probes, "
        f"{args.agents} agents long-polling (wait={args.wait:g}s):"
    )
    print(
        f"  median {statistics.median(dispatch) * 1000:.1f} ms  p90 {pct(dispatch, 90) * 1000:.1f} ms"
        f"  p99 {pct(dispatch, 99) * 1000:.1f} ms  max {max(dispatch) * 1000:.1f} ms"
        f"  (POST /jobs round trip median {statistics.median(posts) * 1000:.1f} ms)"
    )

    me, t1 = psutil.Process(), time.perf_counter()
    cpu1, own1 = master_cpu(tree), sum(me.cpu_times()[:2])
    campaign_id, claimed, elapsed = await throughput(admin, stats, args.jobs, args.duration)
    cpu, own = master_cpu(tree) - cpu1, sum(me.cpu_times()[:2]) - own1
    wall = time.perf_counter() - t1
    lat = [d for _, d in stats.claim_latency]
    print(
        f"throughput: {claimed}/{args.jobs} jobs claimed and reported in {elapsed:.2f} s"
        f" = {claimed / elapsed:.0f} claims/s"
    )
    print(
        f"  claim request latency (returned a job): p50 {pct(lat, 50) * 1000:.1f} ms"
        f"  p99 {pct(lat, 99) * 1000:.1f} ms  max {max(lat) * 1000:.1f} ms  (n={len(lat)})"
    )
    cycles = max(stats.reported - reported0, 1)
    print(
        f"  master CPU {cpu / wall * 100:.0f}% of one core, {cpu / cycles * 1000:.2f} ms per claim+result"
        f" (one core: at most {cycles / cpu:.0f} claims/s); this client {own / wall * 100:.0f}% of one core;"
        f" {psutil.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}"
    )
    worker = max(tree, key=lambda p: p.num_threads() if p.is_running() else 0)
    print(f"  master worker: {worker.num_threads()} threads, RSS {worker.memory_info().rss / 2**20:.1f} MiB")
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await admin.close()
    doubles = {job: n for job, n in stats.claims.items() if n > 1}
    print(
        f"double assignments seen by agents: {len(doubles)}  (claims {sum(stats.claims.values())},"
        f" distinct jobs {len(stats.claims)})"
    )
    print(f"errors: {len(stats.errors)}" + (f"  first: {stats.errors[:3]}" if stats.errors else ""))
    return 1 if doubles or stats.errors else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--agents", default="200", help="simulated agents; a comma-separated list runs each in turn")
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--duration", type=float, default=30.0, help="longest throughput phase, seconds")
    parser.add_argument("--probes", type=int, default=40)
    parser.add_argument("--wait", type=float, default=20.0, help="long-poll wait the agents ask for")
    parser.add_argument("--threads", type=int, help="master --threads (default: the master's own)")
    args = parser.parse_args()
    code = 0
    for agents in [int(n) for n in str(args.agents).split(",")]:
        print(f"=== {agents} agents")
        code |= run_once(argparse.Namespace(**{**vars(args), "agents": agents}))
    return code


def run_once(args) -> int:
    """One master, ``args.agents`` simulated agents: probes, burst, checks; 1 on any double assignment or error."""
    print(
        f"host: {psutil.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start,"
        f" Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory(prefix="ffwatt-dispatch-") as tmp:
        extra = ["--threads", str(args.threads)] if args.threads else []
        master = start_master(Path(tmp), lease=300, heartbeat_interval=HEARTBEAT_S, extra=extra)
        try:
            code = asyncio.run(bench(args, master))
            found = db_check(master.db_path)
        finally:
            master.stop()
        if code:
            print("master log, errors:")
            print("\n".join(errors_in_log(master.log_path)))
        print("database check: " + ", ".join(f"{k} {v}" for k, v in found.items()))
        if any(v for k, v in found.items() if k != "results"):
            code = 1
    return code


if __name__ == "__main__":
    sys.exit(main())
