"""A master that is down longer than a lease renews the running jobs' leases when it starts again.

docs/DISTRIBUTED.md, Scheduling: "A master that starts gives every job still running in its database a fresh lease:
its nodes could not heartbeat while it was down, and their spooled results must still be accepted." Without that
renewal the first claim anyone makes after the restart requeues the job (its lease ran out while nobody could
heartbeat), the agent's spooled result gets 409, and the job runs a second time.

Real processes on loopback: ``python -m master`` and ``python -m agent`` running real FFmpeg.
"""

from __future__ import annotations

import signal
import sqlite3
import time

import pytest
import requests

from agent.client import MasterClient
from tests.integration.procs import start_agent, start_master, wait_until
from tests.integration.test_faults import (
    LONG,
    campaign_text,
    claims_and_expiry,
    history,
    jobs_of,
    results_rows,
    running_job,
    submit,
)

pytestmark = pytest.mark.integration

LEASE_S = 3.0
HOST = "lease-a"


def lease_expires(db_path, job_id: str) -> float:
    """The job's lease end as the master's SQLite file has it (read-only)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute("SELECT lease_expires FROM jobs WHERE id = ?", (job_id,)).fetchone()[0]
    finally:
        conn.close()


def test_restarted_master_accepts_the_result_spooled_while_it_was_down(cluster, tmp_path):
    """The master stops while the agent's job runs and stays down past the job's lease; the agent finishes and
    spools its result. Started again on the same database, the master gets a claim from another node before the
    agent is back (the agent is frozen meanwhile, so this order is certain): that claim finds no expired lease to
    requeue. Then the agent hands in its spooled result: accepted, attempt 1, one claim and one result in the job's
    history, one result row."""
    master = cluster.add(start_master(tmp_path, lease=LEASE_S))
    agent = cluster.add(start_agent(master, tmp_path, HOST))
    campaign_id = submit(master, campaign_text("restart-lease", LONG.format(seconds=4)))
    job = wait_until(lambda: running_job(master, campaign_id), 30, "the job to start", interval=0.05)
    node_id = job["node_id"]
    assert job["attempt"] == 1

    master.stop()
    stopped_at = time.time()
    spool = agent.state_dir / "spool"
    wait_until(lambda: any(spool.glob("*.json")), 60, "the agent to finish the job and spool its result")
    expires = lease_expires(master.db_path, job["id"])
    down_until = max(expires + 1.0, stopped_at + LEASE_S + 0.1)  # the lease may have been renewed well before the stop
    wait_until(lambda: time.time() > down_until, LEASE_S + 5, "the job's lease to run out while the master is down")
    assert time.time() - stopped_at > LEASE_S, "the master was not down longer than a lease"

    agent.signal_tree(signal.SIGSTOP)  # the agent comes back only after another node has claimed
    try:
        master.restart()
        other = MasterClient(master.url, enrollment_token=master.enrollment_token)
        try:
            other.register("lease-other", inventory={}, labels={})
            other_id = next(
                n["id"]
                for n in requests.get(master.url + "/nodes", timeout=10).json()["nodes"]
                if n["hostname"] == "lease-other"
            )
            assert other.next_job(other_id, 0) is None  # the claim's requeue check runs first: nothing expired
        finally:
            other.close()
        [waiting] = jobs_of(master, campaign_id)
        assert waiting["state"] == "running", "the job left its attempt while the agent was away"
    finally:
        agent.signal_tree(signal.SIGCONT)

    done = wait_until(
        lambda: next((j for j in jobs_of(master, campaign_id) if j["state"] in ("succeeded", "failed")), None),
        60,
        "the spooled result to be accepted",
    )
    assert (done["state"], done["attempt"], done["node_id"]) == ("succeeded", 1, node_id), done
    wait_until(lambda: not any(spool.glob("*.json")), 15, "the agent's spool to empty")
    events = history(master, job["id"])
    assert claims_and_expiry(events) == [("claimed", 1, node_id), ("result", 1, node_id)], events
    assert not [e for e in events if e["event"] in ("lease_expired", "not_held", "requeued")], events
    rows = results_rows(master.db_path, campaign_id)
    assert [(r["attempt"], r["node_id"], r["status"]) for r in rows] == [(1, node_id, "succeeded")]
    assert "409" not in agent.log(10**6), "the agent's result was refused"
