"""A node that claims a job again (attempt 2) cannot finish it with its old attempt's late result.

docs/DISTRIBUTED.md, Scheduling: "A result from any attempt but the current one gets 409 and changes nothing." When
the job went back to the queue and the SAME node took it again, node and state match the old result: only the
attempt number tells the two apart. Real Flask app, real SQLite file, through HTTP (tests/master/conftest.py).
"""

from __future__ import annotations

import time

import pytest

from master.app import create_app
from tests.integration.procs import wait_until
from tests.master.conftest import ADMIN_TOKEN, ENROLLMENT_TOKEN

LEASE_S = 0.5


@pytest.fixture
def app(tmp_path):
    """The real app with a half-second lease and no claim grace, so both ways back to the queue happen in a test."""
    return create_app(
        {
            "TESTING": True,
            "DATABASE": str(tmp_path / "ffwatt.db"),
            "LEASE_S": LEASE_S,
            "CLAIM_GRACE_S": 0.0,
            "ENROLLMENT_TOKEN": ENROLLMENT_TOKEN,
            "ADMIN_TOKEN": ADMIN_TOKEN,
            "REQUEUE_CHECK_S": 0.05,
        }
    )


def claim(client, n) -> dict | None:
    resp = client.get(f"/jobs/next?node_id={n.id}&wait=0", headers=n.headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["job"]


def post_result(client, n, job: dict, attempt: int):
    body = {"job_id": job["id"], "attempt": attempt, "node_id": n.id, "status": "succeeded", "error": None}
    return client.post("/results", json=body, headers=n.headers)


def snapshot(client, conn, campaign_id: str, job_id: str) -> dict:
    """Everything a result could change: the job, its history, the stored results, the campaign's counts."""
    job = client.get(f"/jobs/{job_id}").get_json()
    campaign = client.get(f"/campaigns/{campaign_id}").get_json()
    return {
        "job": {k: job[k] for k in ("state", "attempt", "node_id", "error", "finished_at")},
        "events": client.get(f"/jobs/{job_id}/logs").get_json()["events"],
        "results": [tuple(r) for r in conn.execute("SELECT job_id, attempt, node_id, status FROM results")],
        "campaign": {k: v for k, v in campaign.items() if k not in ("updated_at",)},
    }


def requeue_by_lease(client, conn, n, job) -> str:
    """Let the lease run out; the node's next claim puts the job back (and takes it)."""
    wait_until(lambda: time.time() > job["lease_expires"] + 0.05, LEASE_S + 5, "the lease to run out", interval=0.02)
    return "lease_expired"


def requeue_by_not_held(client, conn, n, job) -> str:
    """A heartbeat of the node that leaves the job out of held_jobs (the agent restarted): requeued at once."""
    time.sleep(0.01)  # the claim is older than the (zero) grace
    resp = client.post(
        f"/nodes/{n.id}/heartbeat",
        json={"watts": None, "job_id": None, "progress": None, "held_jobs": []},
        headers=n.headers,
    )
    assert resp.status_code == 200, resp.get_json()
    assert client.get(f"/jobs/{job['id']}").get_json()["state"] == "queued"
    return "not_held"


@pytest.mark.parametrize("requeue", [requeue_by_lease, requeue_by_not_held], ids=["lease_expired", "not_held"])
def test_old_attempts_late_result_is_409_after_the_same_node_reclaims(client, conn, node, make_campaign, requeue):
    """Attempt 1 goes back to the queue, the same node claims attempt 2, then attempt 1's result arrives: 409 naming
    both attempts, and job, history, results and campaign counts are exactly as before. Attempt 2's result is then
    accepted."""
    campaign_id = make_campaign(2)
    n = node("same-node")
    first = claim(client, n)
    assert (first["attempt"], first["node_id"]) == (1, n.id)

    event = requeue(client, conn, n, first)
    second = claim(client, n)
    assert second is not None and second["id"] == first["id"], second
    assert (second["attempt"], second["node_id"], second["state"]) == (2, n.id, "running")
    history = [(e["event"], e["attempt"]) for e in client.get(f"/jobs/{first['id']}/logs").get_json()["events"]]
    assert history == [("claimed", 1), (event, 1), ("claimed", 2)]

    before = snapshot(client, conn, campaign_id, first["id"])
    late = post_result(client, n, first, attempt=1)
    assert late.status_code == 409, late.get_json()
    assert "attempt 2" in late.get_json()["error"] and "attempt 1" in late.get_json()["error"]
    assert snapshot(client, conn, campaign_id, first["id"]) == before
    assert before["job"]["state"] == "running" and before["results"] == []
    assert before["campaign"]["done"] == 0

    current = post_result(client, n, second, attempt=2)
    assert current.status_code == 200 and current.get_json()["accepted"] is True, current.get_json()
    after = snapshot(client, conn, campaign_id, first["id"])
    assert (after["job"]["state"], after["job"]["attempt"]) == ("succeeded", 2)
    assert after["results"] == [(first["id"], 2, n.id, "succeeded")]
    assert after["campaign"]["done"] == 1
