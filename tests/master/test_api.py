"""The master's HTTP API through Flask's test client on a real SQLite file."""
from __future__ import annotations

import threading
import time

from master import queue


def test_health(client):
    """GET /health answers exactly as the fleet docs say."""
    resp = client.get("/health")
    assert resp.status_code == 200 and resp.get_json() == {"status": "healthy"}


def test_register_twice_reuses_node(client, node):
    """Re-registering the same hostname returns the same node id."""
    first, second = node("host-a"), node("host-a")
    assert first == second
    assert [n["hostname"] for n in client.get("/nodes").get_json()["nodes"]] == ["host-a"]


def test_register_missing_hostname_is_400_naming_field(client):
    """A body without hostname is refused, naming the field."""
    resp = client.post("/nodes/register", json={"inventory": {}})
    assert resp.status_code == 400 and resp.get_json()["error"].startswith("hostname:")


def test_register_wrong_type_names_nested_field(client):
    """A label that is not a string is refused with its path."""
    resp = client.post("/nodes/register", json={"hostname": "h", "labels": {"rack": 3}})
    assert resp.status_code == 400 and resp.get_json()["error"].startswith("labels.rack:")


def test_bad_json_is_400(client):
    """A body that is not JSON is a 400, never a 500."""
    resp = client.post("/nodes/register", data="{nope", content_type="application/json")
    assert resp.status_code == 400 and "body" in resp.get_json()["error"]


def test_unknown_ids_are_404(client):
    """Unknown node, job and campaign ids give 404 with a JSON error."""
    for path in ("/nodes/n-x", "/jobs/j-x", "/campaigns/c-x"):
        resp = client.get(path)
        assert resp.status_code == 404 and "not found" in resp.get_json()["error"]


def test_heartbeat_records_watts(client, node):
    """A heartbeat stores the node's live watts."""
    nid = node()
    assert client.post(f"/nodes/{nid}/heartbeat", json={"watts": 42.5}).status_code == 200
    assert client.get(f"/nodes/{nid}").get_json()["current_watts"] == 42.5


def test_heartbeat_negative_watts_is_400(client, node):
    """Negative watts are refused, naming the field."""
    resp = client.post(f"/nodes/{node()}/heartbeat", json={"watts": -1})
    assert resp.status_code == 400 and resp.get_json()["error"].startswith("watts:")


def test_next_job_without_node_is_400_and_unknown_node_404(client):
    """Claiming needs a registered node id."""
    assert client.get("/jobs/next").status_code == 400
    assert client.get("/jobs/next?node_id=n-nope").status_code == 404


def test_next_job_empty_queue_returns_null_after_wait(client, node):
    """With nothing queued a long-poll returns {"job": null} after about its wait."""
    nid = node()
    started = time.monotonic()
    resp = client.get(f"/jobs/next?node_id={nid}&wait=0.3")
    assert resp.get_json() == {"job": None}
    assert 0.25 < time.monotonic() - started < 3


def test_long_poll_wakes_when_work_arrives(app, client, node, make_campaign):
    """A waiting claimer gets a job submitted during its wait, well before the wait ends."""
    nid = node()
    got = {}

    def claim():
        got["resp"] = app.test_client().get(f"/jobs/next?node_id={nid}&wait=20")

    t = threading.Thread(target=claim)
    t.start()
    time.sleep(0.3)
    started = time.monotonic()
    make_campaign(1)
    app.extensions["ffwatt.work"].bump()
    t.join(timeout=25)
    assert got["resp"].get_json()["job"]["name"] == "v0#1"
    assert time.monotonic() - started < 2


def test_result_flow_and_stale_409(client, node, make_campaign):
    """The holder's result is accepted; another node's is 409; a failed result needs an error."""
    make_campaign(1)
    a, b = node("a"), node("b")
    job = client.get(f"/jobs/next?node_id={a}").get_json()["job"]
    body = {"job_id": job["id"], "attempt": 1, "node_id": b, "status": "succeeded"}
    assert client.post("/results", json=body).status_code == 409
    assert client.post("/results", json={**body, "node_id": a, "status": "failed"}).status_code == 400
    assert client.post("/results", json={**body, "node_id": a}).status_code == 200
    assert client.get(f"/jobs/{job['id']}").get_json()["state"] == "succeeded"


def test_result_bad_status_is_400(client):
    """A result with an unknown status names the field."""
    resp = client.post("/results", json={"job_id": "j", "attempt": 1, "node_id": "n", "status": "done"})
    assert resp.status_code == 400 and resp.get_json()["error"].startswith("status:")


def test_heartbeat_reports_cancelled_job(client, conn, node, make_campaign):
    """A node running a job of a cancelled campaign is told to stop it."""
    cid = make_campaign(1)
    nid = node()
    job = client.get(f"/jobs/next?node_id={nid}").get_json()["job"]
    queue.cancel_campaign(conn, cid)
    assert client.post(f"/nodes/{nid}/heartbeat", json={}).get_json()["cancel_jobs"] == [job["id"]]
