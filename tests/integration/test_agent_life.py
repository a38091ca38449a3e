"""An agent's life on one host, against real processes on loopback: its state dir (the default per user and node name,
one agent at a time) and how it leaves (offline at once after SIGTERM, after missed heartbeats when killed).

Every test starts its own ``python -m master`` (tokens) and agents with real FFmpeg; everything it started is killed
at the end whatever happened.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from tests.integration.procs import node_ids, start_agent, start_master, wait_until
from tests.integration.test_faults import TINY, campaign_text, submit

pytestmark = pytest.mark.integration

AGENT_EXIT_TIMEOUT_S = 45.0
"""Longest wait for a stopped agent to exit (its job, the spool flush and the going-offline heartbeat)."""

SLOW_HEARTBEAT = "10s"
"""An agent heartbeat interval whose missed-heartbeats rule (3 of them: 30 s) is far longer than any wait below."""


def node_of(master, node_id: str) -> dict:
    resp = requests.get(f"{master.url}/nodes/{node_id}", timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()


def node_up(master, node_id: str) -> float | None:
    """The value of ``ffwatt_node_up`` for the node on the master's /metrics, or None when it is not there."""
    text = requests.get(f"{master.url}/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith("ffwatt_node_up{") and f'node="{node_id}"' in line:
            return float(line.rsplit(" ", 1)[1])
    return None


def agent_env(**extra: str) -> dict[str, str]:
    """The environment of an agent started by hand: ours less FFWATT_* and XDG_STATE_HOME, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FFWATT_") and k != "XDG_STATE_HOME"}
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


# -- the state dir ----------------------------------------------------------------------------------------------


def test_a_second_agent_on_the_same_state_dir_refuses_and_the_first_runs_on(cluster, tmp_path):
    """A second agent given the first one's state dir exits 2 with one line naming the dir and the first agent's
    pid; the first keeps running and heartbeating, and its lock file holds its pid."""
    master = cluster.add(start_master(tmp_path))
    first = cluster.add(start_agent(master, tmp_path, "owner"))
    node_id = wait_until(lambda: node_ids(master, ["owner"]), 30, "the first agent to register")["owner"]
    second = cluster.add(start_agent(master, tmp_path, "intruder", extra=["--state-dir", str(first.state_dir)]))
    assert second.wait(30, first) == 2
    lines = second.log().strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0] == (
        f"Error: another agent is using state dir {first.state_dir} (pid {first.pid}, it holds"
        f" {first.state_dir / 'agent.lock'}); give this one its own --state-dir"
    )
    assert (first.state_dir / "agent.lock").read_text().strip() == str(first.pid)
    assert first.alive(), first.log()
    beat = node_of(master, node_id)["last_heartbeat"]
    wait_until(lambda: node_of(master, node_id)["last_heartbeat"] > beat, 15, "the first agent's next heartbeat")
    assert node_of(master, node_id)["status"] == "online"
    assert node_ids(master, ["intruder"]) is None  # the second one never registered


@pytest.mark.parametrize("xdg", [False, True], ids=["home", "xdg_state_home"])
def test_the_default_state_dir_is_per_user_and_node_name_not_the_cwd(tmp_path, cluster, xdg):
    """Without --state-dir the agent keeps node.json under $XDG_STATE_HOME/ffwatt/agent-HOSTNAME, or
    ~/.local/state/ffwatt/agent-HOSTNAME without XDG_STATE_HOME; nothing lands in the directory it runs in."""
    master = cluster.add(start_master(tmp_path))
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    env = agent_env(HOME=str(home), **({"XDG_STATE_HOME": str(tmp_path / "xdg")} if xdg else {}))
    argv = [
        sys.executable,
        "-m",
        "agent",
        "--register",
        "--master",
        master.url,
        "--hostname",
        "roomy",
        "--enrollment-token",
        master.enrollment_token,
        "--poll-interval",
        "1s",
        "--metrics-port",
        "0",
        "--burst",
    ]
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    expected = (tmp_path / "xdg" if xdg else home / ".local" / "state") / "ffwatt" / "agent-roomy"
    assert (expected / "node.json").is_file(), sorted(str(p) for p in tmp_path.rglob("node.json"))
    assert f"state dir {expected}" in done.stderr
    assert list(cwd.iterdir()) == []
    assert [str(p) for p in tmp_path.rglob("node.json")] == [str(expected / "node.json")]


# -- leaving ------------------------------------------------------------------------------------------------------


def test_sigterm_on_an_idle_agent_shows_its_node_offline_at_once(cluster, tmp_path):
    """An idle agent stopped with SIGTERM exits 0 and its node is offline in GET /nodes and /metrics
    (ffwatt_node_up 0) within a couple of seconds, not after 3 missed 10 s heartbeats."""
    master = cluster.add(start_master(tmp_path))
    agent = cluster.add(start_agent(master, tmp_path, "leaver", heartbeat_interval=SLOW_HEARTBEAT))
    node_id = wait_until(lambda: node_ids(master, ["leaver"]), 30, "the agent to register")["leaver"]
    assert node_of(master, node_id)["status"] == "online" and node_up(master, node_id) == 1
    agent.popen.send_signal(signal.SIGTERM)
    assert agent.wait(AGENT_EXIT_TIMEOUT_S, master) == 0, agent.log()
    exited = time.monotonic()
    wait_until(lambda: node_of(master, node_id)["status"] == "offline", 2, "the node to show offline")
    assert node_up(master, node_id) == 0
    assert time.monotonic() - exited < 10  # far inside the 30 s the missed heartbeats would take
    assert f"told the master that node {node_id} is going offline" in agent.log(10**6)


def test_sigterm_during_a_job_finishes_it_then_goes_offline(cluster, tmp_path):
    """SIGTERM while a job runs: the job finishes, its result is accepted, the agent exits 0, and then its node is
    offline at once."""
    master = cluster.add(start_master(tmp_path, lease=60))
    agent = cluster.add(start_agent(master, tmp_path, "finisher", heartbeat_interval=SLOW_HEARTBEAT))
    node_id = wait_until(lambda: node_ids(master, ["finisher"]), 30, "the agent to register")["finisher"]
    campaign_id = submit(master, campaign_text("leaving", TINY.format(n=1)))

    def running():
        jobs = requests.get(f"{master.url}/jobs", params={"campaign_id": campaign_id}, timeout=10).json()["jobs"]
        return next((j for j in jobs if j["state"] == "running"), None)

    job = wait_until(running, 30, "the job to start", interval=0.05)
    agent.popen.send_signal(signal.SIGTERM)
    assert agent.wait(AGENT_EXIT_TIMEOUT_S, master) == 0, agent.log()
    done = requests.get(f"{master.url}/jobs/{job['id']}", timeout=10).json()
    assert done["state"] == "succeeded" and done["node_id"] == node_id, (done, agent.log())
    events = requests.get(f"{master.url}/jobs/{job['id']}/logs", timeout=10).json()["events"]
    assert [(e["event"], e["attempt"]) for e in events if e["event"] in ("claimed", "result", "not_held")] == [
        ("claimed", 1),
        ("result", 1),
    ]
    wait_until(lambda: node_of(master, node_id)["status"] == "offline", 2, "the node to show offline")
    assert node_up(master, node_id) == 0
    assert not any((agent.state_dir / "spool").glob("*.json"))


def test_a_failed_going_offline_heartbeat_is_logged_and_the_agent_still_exits_0(cluster, tmp_path):
    """With the master gone, SIGTERM still ends the agent with 0 and the log says the master could not be told."""
    master = cluster.add(start_master(tmp_path))
    agent = cluster.add(start_agent(master, tmp_path, "orphan", heartbeat_interval=SLOW_HEARTBEAT))
    node_id = wait_until(lambda: node_ids(master, ["orphan"]), 30, "the agent to register")["orphan"]
    master.kill()
    agent.popen.send_signal(signal.SIGTERM)
    assert agent.wait(AGENT_EXIT_TIMEOUT_S) == 0, agent.log()
    assert f"could not tell the master that node {node_id} is going offline" in agent.log(10**6)


def test_a_killed_agent_stays_online_until_it_misses_three_heartbeats(cluster, tmp_path):
    """kill -9 sends no going-offline heartbeat: the node stays online until 3 of its 2 s heartbeats are missed."""
    master = cluster.add(start_master(tmp_path))
    agent = cluster.add(start_agent(master, tmp_path, "crasher", heartbeat_interval="2s"))
    node_id = wait_until(lambda: node_ids(master, ["crasher"]), 30, "the agent to register")["crasher"]
    wait_until(lambda: time.time() - node_of(master, node_id)["last_heartbeat"] < 1, 10, "a fresh heartbeat")
    agent.kill()
    killed = time.time()
    node = node_of(master, node_id)
    assert node["status"] == "online", node
    assert node_up(master, node_id) == 1
    wait_until(lambda: node_of(master, node_id)["status"] == "offline", 15, "the node to miss 3 heartbeats")
    assert time.time() - node["last_heartbeat"] >= 6
    assert time.time() - killed >= 4  # its last heartbeat was under 1 s before the kill: 6 s from it at least
    assert node_up(master, node_id) == 0
