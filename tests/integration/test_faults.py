"""Faults against real processes on loopback: a master crash, an agent crash, a frozen agent, claim races, tokens.

Every test starts its own ``python -m master`` (tokens, a short lease) and agents with their own state dirs and host
names, as separate "hosts" 127.0.0.11, 127.0.0.12; everything it started is killed at the end whatever happened.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.integration.procs import (
    ROOT,
    Cluster,
    first_campaign_id,
    node_ids,
    start_agent,
    start_campaign_cli,
    start_master,
    wait_until,
)

pytestmark = pytest.mark.integration

HOST_A, HOST_B = "fault-a", "fault-b"
LABELS = {HOST_A: {"addr": "127.0.0.11"}, HOST_B: {"addr": "127.0.0.12"}}

TINY = """\
  - name: tiny
    kind: transcode
    input: {{source: testsrc2, size: 320x180, rate: 25}}
    encoder: libx264
    preset: medium
    bitrate: 200k
    duration: 2
    repetitions: {n}
"""

LONG = """\
  - name: long
    kind: transcode
    input: {{source: testsrc2, size: 320x180, rate: 25}}
    encoder: libx264
    preset: veryslow
    bitrate: 200k
    duration: {seconds}
    repetitions: 1
"""


def campaign_text(name: str, scenarios: str) -> str:
    return f"name: {name}\ndefaults:\n  idle_baseline: 0\n  sample_rate: 10\n  timeout: 120\nscenarios:\n{scenarios}"


def submit(master, text: str) -> str:
    resp = requests.post(master.url + "/campaigns", json={"spec_text": text}, headers=master.admin(), timeout=30)
    assert resp.status_code == 201, resp.text
    return resp.json()["campaign_id"]


def jobs_of(master, campaign_id: str) -> list[dict]:
    return requests.get(master.url + "/jobs", params={"campaign_id": campaign_id}, timeout=10).json()["jobs"]


def results_rows(db_path: Path, campaign_id: str) -> list[sqlite3.Row]:
    """Every stored result of the campaign, straight from the master's SQLite file."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(
            "SELECT r.job_id, r.attempt, r.node_id, r.status, j.attempt AS job_attempt,"
            " j.state AS job_state FROM results r JOIN jobs j ON j.id = r.job_id"
            " WHERE j.campaign_id = ?",
            (campaign_id,),
        ).fetchall()
    finally:
        conn.close()


def two_agents(cluster: Cluster, master, tmp_path: Path):
    agents = {h: cluster.add(start_agent(master, tmp_path, h, labels=LABELS[h])) for h in (HOST_A, HOST_B)}
    nodes = wait_until(lambda: node_ids(master, agents), 30, "both agents to register")
    return agents, nodes


def history(master, job_id: str) -> list[dict]:
    """The job's events (GET /jobs/{id}/logs), oldest first."""
    return requests.get(f"{master.url}/jobs/{job_id}/logs", timeout=10).json()["events"]


def claims_and_expiry(events: list[dict]) -> list[tuple[str, int, str | None]]:
    """(event, attempt, node) for the claims, lease expiries and results of a job's history."""
    return [
        (e["event"], e["attempt"], e["node_id"] if e["event"] != "lease_expired" else None)
        for e in events
        if e["event"] in ("claimed", "lease_expired", "result")
    ]


def running_job(master, campaign_id: str) -> dict | None:
    return next((j for j in jobs_of(master, campaign_id) if j["state"] == "running"), None)


def test_master_sigkill_mid_campaign_then_restart(cluster, tmp_path):
    """SIGKILL the master mid-campaign, restart it on the same port and DB: it completes, one result per job."""
    master = cluster.add(start_master(tmp_path, lease=5))
    agents, _ = two_agents(cluster, master, tmp_path)
    spec = tmp_path / "crash.yml"
    spec.write_text(campaign_text("crash", TINY.format(n=12)))
    follower = cluster.add(
        start_campaign_cli(
            tmp_path,
            "run",
            str(spec),
            "--master",
            master.url,
            "--reports-dir",
            str(tmp_path / "reports"),
            env={"FFWATT_ADMIN_TOKEN": master.admin_token},
        )
    )
    campaign_id = wait_until(lambda: first_campaign_id(master), 20, "the campaign to be submitted")

    def some_done():
        c = requests.get(f"{master.url}/campaigns/{campaign_id}", timeout=5).json()
        assert c["state"] == "running", f"campaign ended before the crash: {c}"
        return c["done"] >= 2

    wait_until(some_done, 30, "two finished jobs")
    master.kill()
    time.sleep(1.5)
    master.restart()
    follower.wait(150, master, *agents.values())  # agents back off up to 30 s between retries while the master is down
    assert follower.popen.returncode == 0, follower.log()
    assert "report: " in follower.log()
    jobs = jobs_of(master, campaign_id)
    assert len(jobs) == 12 and all(j["state"] == "succeeded" for j in jobs), [(j["name"], j["state"]) for j in jobs]
    rows = results_rows(master.db_path, campaign_id)
    per_job = {j["id"]: [r for r in rows if r["job_id"] == j["id"]] for j in jobs}
    assert all(len(found) == 1 for found in per_job.values()), {k: len(v) for k, v in per_job.items()}
    assert all(r["attempt"] == r["job_attempt"] and r["status"] == "succeeded" for r in rows)
    wait_until(
        lambda: not any(any((a.state_dir / "spool").glob("*.json")) for a in agents.values()),
        15,
        "the agents' spools to empty",
    )


def test_agent_sigkill_mid_job_runs_on_the_other_agent(cluster, tmp_path):
    """SIGKILL the agent running a long encode: after the 3 s lease the job runs on the other agent and succeeds."""
    master = cluster.add(start_master(tmp_path, lease=3))
    agents, nodes = two_agents(cluster, master, tmp_path)
    campaign_id = submit(master, campaign_text("killed", LONG.format(seconds=15)))
    job = wait_until(lambda: running_job(master, campaign_id), 20, "the long job to start")
    victim = next(h for h, n in nodes.items() if n == job["node_id"])
    survivor = HOST_B if victim == HOST_A else HOST_A
    agents[victim].kill()
    killed_at = time.time()
    done = wait_until(
        lambda: next((j for j in jobs_of(master, campaign_id) if j["state"] in ("succeeded", "failed")), None),
        50,
        "the job to finish on the other agent",
    )
    assert done["state"] == "succeeded", done
    assert done["attempt"] == 2 and done["node_id"] == nodes[survivor]
    events = history(master, job["id"])
    assert claims_and_expiry(events) == [
        ("claimed", 1, nodes[victim]),
        ("lease_expired", 1, None),
        ("claimed", 2, nodes[survivor]),
        ("result", 2, nodes[survivor]),
    ]
    reclaimed = next(e["at"] for e in events if e["event"] == "claimed" and e["attempt"] == 2)
    assert 1.5 <= reclaimed - killed_at <= 10, "the job moved before its lease (3 s, 1 s heartbeats) ran out"
    rows = results_rows(master.db_path, campaign_id)
    assert [(r["attempt"], r["node_id"]) for r in rows] == [(2, nodes[survivor])]


def test_agent_sigstop_past_lease_gets_409(cluster, tmp_path):
    """A frozen agent (SIGSTOP) loses its lease; after SIGCONT its late result is refused with 409."""
    master = cluster.add(start_master(tmp_path, lease=3))
    agents, nodes = two_agents(cluster, master, tmp_path)
    campaign_id = submit(master, campaign_text("frozen", LONG.format(seconds=8)))
    job = wait_until(lambda: running_job(master, campaign_id), 20, "the job to start", interval=0.05)
    frozen = next(h for h, n in nodes.items() if n == job["node_id"])
    other = HOST_B if frozen == HOST_A else HOST_A
    agents[frozen].signal_tree(signal.SIGSTOP)
    try:
        done = wait_until(
            lambda: next((j for j in jobs_of(master, campaign_id) if j["state"] == "succeeded"), None),
            50,
            "the job to succeed on the other agent",
        )
    finally:
        agents[frozen].signal_tree(signal.SIGCONT)
    assert done["attempt"] == 2 and done["node_id"] == nodes[other]
    wait_until(lambda: "409" in agents[frozen].log(20000), 40, "the frozen agent's late result to be refused")
    wait_until(lambda: not any((agents[frozen].state_dir / "spool").glob("*.json")), 10, "its spool to empty")
    assert claims_and_expiry(history(master, job["id"])) == [
        ("claimed", 1, nodes[frozen]),
        ("lease_expired", 1, None),
        ("claimed", 2, nodes[other]),
        ("result", 2, nodes[other]),
    ]
    rows = results_rows(master.db_path, campaign_id)
    assert [(r["attempt"], r["node_id"]) for r in rows] == [(2, nodes[other])]


INVENTORY = {"encoders": {"libx264": {"usable": True, "reason": None}}, "gpus": []}


def register(master, hostname: str, token: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token if token is not None else master.enrollment_token}"}
    return requests.post(
        master.url + "/nodes/register",
        headers=headers,
        timeout=10,
        json={"hostname": hostname, "inventory": INVENTORY, "labels": {}},
    )


def test_fifty_threads_claiming_never_share_a_job(cluster, tmp_path):
    """50 nodes claim and report concurrently over HTTP: every job is handed out exactly once."""
    master = cluster.add(start_master(tmp_path, lease=60))
    nodes = []
    for i in range(50):
        resp = register(master, f"claimer-{i:02d}")
        assert resp.status_code in (200, 201), resp.text
        nodes.append((resp.json()["node_id"], resp.json()["node_token"]))
    campaign_id = submit(master, campaign_text("race", TINY.format(n=200)))
    claims: list[tuple[str, int, str]] = []
    errors: list[str] = []
    barrier = threading.Barrier(len(nodes), timeout=30)
    deadline = time.monotonic() + 60

    def claimer(node_id: str, token: str) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        barrier.wait()
        while time.monotonic() < deadline:
            resp = session.get(master.url + "/jobs/next", params={"node_id": node_id, "wait": 0}, timeout=30)
            if resp.status_code != 200:
                errors.append(f"claim {resp.status_code}: {resp.text}")
                return
            job = resp.json()["job"]
            if job is None:
                return
            claims.append((job["id"], job["attempt"], node_id))
            done = session.post(
                master.url + "/results",
                timeout=30,
                json={
                    "job_id": job["id"],
                    "attempt": job["attempt"],
                    "node_id": node_id,
                    "status": "succeeded",
                    "metrics": {"frames": 1},
                },
            )
            if done.status_code != 200:
                errors.append(f"result {done.status_code}: {done.text}")

    threads = [threading.Thread(target=claimer, args=node) for node in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert not errors, errors[:5]
    ids = [c[0] for c in claims]
    assert len(ids) == 200 and len(set(ids)) == 200
    assert len({c[2] for c in claims}) > 1
    rows = results_rows(master.db_path, campaign_id)
    assert len(rows) == 200 and len({r["job_id"] for r in rows}) == 200
    assert all(r["attempt"] == 1 and r["job_state"] == "succeeded" for r in rows)
    claimed_by = {c[0]: c[2] for c in claims}
    assert all(claimed_by[r["job_id"]] == r["node_id"] for r in rows)


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token is not None else {}


def test_tokens_end_to_end(cluster, tmp_path):
    """No token, a wrong token, another node's token, a node token on admin routes: 401 or 403 as documented."""
    master = cluster.add(start_master(tmp_path, lease=60))
    url = master.url
    assert register(master, "auth-a", token="").status_code == 401
    assert requests.post(url + "/nodes/register", json={"hostname": "auth-a"}, timeout=10).status_code == 401
    assert register(master, "auth-a", token="wrong").status_code == 401
    assert register(master, "auth-a", token=master.admin_token).status_code == 403
    a, b = register(master, "auth-a").json(), register(master, "auth-b").json()
    assert register(master, "auth-c", token=a["node_token"]).status_code == 403
    campaign_id = submit(master, campaign_text("auth", TINY.format(n=2)))

    def beat(node: str, token: str | None) -> int:
        return requests.post(
            f"{url}/nodes/{node}/heartbeat", json={"watts": None}, headers=bearer(token), timeout=10
        ).status_code

    def claim(node: str, token: str | None) -> int:
        return requests.get(
            url + "/jobs/next", params={"node_id": node, "wait": 0}, headers=bearer(token), timeout=10
        ).status_code

    for call in (beat, claim):
        assert call(a["node_id"], None) == 401
        assert call(a["node_id"], "wrong") == 401
        assert call(a["node_id"], b["node_token"]) == 403
        assert call(a["node_id"], master.admin_token) == 403
        assert call(a["node_id"], master.enrollment_token) == 403
    assert beat(a["node_id"], a["node_token"]) == 200
    job = requests.get(
        url + "/jobs/next", params={"node_id": a["node_id"], "wait": 0}, headers=bearer(a["node_token"]), timeout=10
    ).json()["job"]
    assert job is not None
    result = {"job_id": job["id"], "attempt": job["attempt"], "node_id": a["node_id"], "status": "succeeded"}
    for token, status in ((None, 401), ("wrong", 401), (b["node_token"], 403), (master.admin_token, 403)):
        assert requests.post(url + "/results", json=result, headers=bearer(token), timeout=10).status_code == status

    admin_routes = [
        ("POST", "/campaigns", {"spec_text": campaign_text("x", TINY.format(n=1))}),
        ("POST", "/jobs", {"scenario": "1080p-h264"}),
        ("POST", f"/jobs/{job['id']}/cancel", None),
        ("POST", f"/jobs/{job['id']}/retry", None),
        ("POST", f"/campaigns/{campaign_id}/cancel", None),
        ("POST", f"/nodes/{b['node_id']}/drain", None),
        ("DELETE", f"/nodes/{b['node_id']}", None),
    ]
    for method, path, body in admin_routes:
        for token, status in ((None, 401), ("wrong", 401), (a["node_token"], 403), (b["node_token"], 403)):
            got = requests.request(method, url + path, json=body, headers=bearer(token), timeout=10).status_code
            assert got == status, f"{method} {path} with {token and token[:6]!r}: {got}, expected {status}"

    for path in ("/health", "/nodes", "/jobs", "/campaigns", f"/campaigns/{campaign_id}", "/openapi.json"):
        assert requests.get(url + path, timeout=10).status_code == 200, path
    assert requests.post(url + "/results", json=result, headers=bearer(a["node_token"]), timeout=10).status_code == 200
    assert register(master, "auth-a").status_code == 409  # a live node is not taken over with the enrollment token
    assert beat(a["node_id"], a["node_token"]) == 200
    again = requests.post(
        master.url + "/nodes/register",
        headers=bearer(master.enrollment_token),
        timeout=10,
        json={"hostname": "auth-a", "node_token": a["node_token"]},
    ).json()
    assert again["node_id"] == a["node_id"] and again["node_token"] != a["node_token"]
    assert beat(a["node_id"], a["node_token"]) == 401
    assert beat(a["node_id"], again["node_token"]) == 200


def test_agent_sigkilled_and_restarted_takes_back_its_live_node(cluster, tmp_path):
    """An agent SIGKILLed and started again at once (systemd's restart) re-registers as the same node while the
    master still sees it online: it presents the identity it saved in its state dir (node.json, 0600)."""
    master = cluster.add(start_master(tmp_path, lease=60))
    agent = cluster.add(start_agent(master, tmp_path, "restart-a"))
    node_id = wait_until(lambda: node_ids(master, ["restart-a"]), 30, "the agent to register")["restart-a"]
    identity = agent.state_dir / "node.json"
    assert identity.stat().st_mode & 0o777 == 0o600
    agent.kill()
    restarted = cluster.add(start_agent(master, tmp_path, "restart-a"))
    wait_until(
        lambda: restarted.log(10**6).count(f"registered as node {node_id}") == 2,
        30,
        "the restarted agent to register as the same node",
        interval=0.2,
    )
    assert "registration refused" not in restarted.log(10**6)
    assert requests.get(f"{master.url}/nodes/{node_id}", timeout=10).json()["status"] == "online"
    assert identity.stat().st_mode & 0o777 == 0o600


def test_master_refuses_to_start_without_tokens(tmp_path):
    """Without tokens and without --insecure the master exits 2 and says why."""
    proc = subprocess.run(
        [sys.executable, "-m", "master", "--host", "127.0.0.10", "--port", "0", "--db", str(tmp_path / "m.db")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 2 and "token" in proc.stderr and "Traceback" not in proc.stderr
