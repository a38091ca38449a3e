"""The master's HTTP API through Flask's test client on a real SQLite file."""

from __future__ import annotations

import threading
import time

from master import queue
from master.api.jobs import Throttle

FLEET_DOCS_BODY = {
    "scenario": "1080p-h264",
    "confidence": "auto",
    "parameters": {"duration": 300, "bitrate": "5000k", "resolution": "1920x1080"},
}
"""The body of the original system's documented ``curl -X POST http://MASTER_IP:8080/jobs``, verbatim."""


def _claim(client, n, wait=0):
    return client.get(f"/jobs/next?node_id={n.id}&wait={wait}", headers=n.headers).get_json()["job"]


def _post_result(client, n, job, status="succeeded", error=None, **extra):
    body = {"job_id": job["id"], "attempt": job["attempt"], "node_id": n.id, "status": status, "error": error, **extra}
    return client.post("/results", json=body, headers=n.headers)


def test_health(client):
    """GET /health answers exactly as the original system documented."""
    resp = client.get("/health")
    assert resp.status_code == 200 and resp.get_json() == {"status": "healthy"}


def test_register_twice_reuses_node_and_rotates_token(client, node):
    """Re-registering the same hostname with the node's token returns the same node id and a new token; the old one
    stops working."""
    first = node("host-a")
    second = node("host-a", node_token=first.token)
    assert first.id == second.id and first.token != second.token
    assert [n["hostname"] for n in client.get("/nodes").get_json()["nodes"]] == ["host-a"]
    assert client.post(f"/nodes/{first.id}/heartbeat", json={}, headers=first.headers).status_code == 401
    assert client.post(f"/nodes/{first.id}/heartbeat", json={}, headers=second.headers).status_code == 200


def test_node_json_never_shows_the_token_hash(client, node):
    """GET /nodes and GET /nodes/<id> leave the token hash out and show capacity and status."""
    n = node(max_concurrent_jobs=2, heartbeat_interval_s=5)
    shown = client.get(f"/nodes/{n.id}").get_json()
    assert "token_hash" not in shown and "token_hash" not in client.get("/nodes").get_json()["nodes"][0]
    assert (shown["max_concurrent_jobs"], shown["heartbeat_interval_s"], shown["status"]) == (2, 5, "online")


def test_register_missing_hostname_is_400_naming_field(client, node):
    """A body without hostname is refused, naming the field."""
    resp = client.post("/nodes/register", json={"inventory": {}}, headers={"Authorization": "Bearer enroll-test-token"})
    assert resp.status_code == 400 and resp.get_json()["error"].startswith("hostname:")


def test_register_bad_fields_name_the_field(client):
    """A non-string label and a zero capacity are refused with their paths."""
    headers = {"Authorization": "Bearer enroll-test-token"}
    resp = client.post("/nodes/register", json={"hostname": "h", "labels": {"rack": 3}}, headers=headers)
    assert resp.status_code == 400 and resp.get_json()["error"].startswith("labels.rack:")
    resp = client.post("/nodes/register", json={"hostname": "h", "max_concurrent_jobs": 0}, headers=headers)
    assert resp.status_code == 400 and resp.get_json()["error"].startswith("max_concurrent_jobs:")


def test_bad_json_is_400(client):
    """A body that is not JSON is a 400, never a 500."""
    resp = client.post(
        "/nodes/register",
        data="{nope",
        content_type="application/json",
        headers={"Authorization": "Bearer enroll-test-token"},
    )
    assert resp.status_code == 400 and "body" in resp.get_json()["error"]


def test_oversized_body_is_413_json(app, client, admin):
    """A body over MAX_CONTENT_LENGTH is refused with 413 and a JSON error."""
    app.config["MAX_CONTENT_LENGTH"] = 1000
    resp = client.post("/jobs", json={"scenario": "x" * 5000}, headers=admin)
    assert resp.status_code == 413 and resp.get_json()["status"] == 413


def test_unknown_ids_are_404(client, admin):
    """Unknown node, job and campaign ids give 404 with a JSON error, for reads and admin actions alike."""
    for path in ("/nodes/n-x", "/jobs/j-x", "/jobs/j-x/logs", "/campaigns/c-x"):
        resp = client.get(path)
        assert resp.status_code == 404 and "not found" in resp.get_json()["error"]
    for path in ("/jobs/j-x/cancel", "/jobs/j-x/retry", "/nodes/n-x/drain", "/campaigns/c-x/cancel"):
        assert client.post(path, headers=admin).status_code == 404, path
    assert client.delete("/nodes/n-x", headers=admin).status_code == 404


def test_heartbeat_records_watts(client, node):
    """A heartbeat stores the node's live watts."""
    n = node()
    assert client.post(f"/nodes/{n.id}/heartbeat", json={"watts": 42.5}, headers=n.headers).status_code == 200
    assert client.get(f"/nodes/{n.id}").get_json()["current_watts"] == 42.5


def test_heartbeat_negative_watts_is_400(client, node):
    """Negative watts are refused, naming the field."""
    n = node()
    resp = client.post(f"/nodes/{n.id}/heartbeat", json={"watts": -1}, headers=n.headers)
    assert resp.status_code == 400 and resp.get_json()["error"].startswith("watts:")


def test_heartbeat_unknown_status_is_400(client, node):
    """A heartbeat status other than "offline" is refused, naming the field, and changes nothing."""
    n = node()
    resp = client.post(f"/nodes/{n.id}/heartbeat", json={"status": "nope"}, headers=n.headers)
    assert resp.status_code == 400 and resp.get_json()["error"] == "status: 'nope' is not one of ['offline']"
    assert client.get(f"/nodes/{n.id}").get_json()["status"] == "online"


def test_going_offline_heartbeat_shows_the_node_offline_at_once(client, node, make_campaign):
    """``status: offline`` makes the node offline in GET /nodes and /metrics at once, with no claims; its next
    heartbeat brings it back."""
    make_campaign(1)
    n = node()
    resp = client.post(f"/nodes/{n.id}/heartbeat", json={"status": "offline", "held_jobs": []}, headers=n.headers)
    assert resp.status_code == 200
    assert client.get(f"/nodes/{n.id}").get_json()["status"] == "offline"
    metrics = client.get("/metrics").get_data(as_text=True)
    assert any(
        line.startswith("ffwatt_node_up{") and f'node="{n.id}"' in line and line.endswith(" 0.0")
        for line in metrics.splitlines()
    ), metrics
    assert (
        client.get("/jobs/next", query_string={"node_id": n.id, "wait": 0}, headers=n.headers).get_json()["job"] is None
    )
    assert client.post(f"/nodes/{n.id}/heartbeat", json={}, headers=n.headers).status_code == 200
    assert client.get(f"/nodes/{n.id}").get_json()["status"] == "online"


def test_next_job_needs_node_id_and_bad_wait_is_400(client, node):
    """Claiming needs a node id; a wait that is not a number in range names the argument."""
    n = node()
    assert client.get("/jobs/next", headers=n.headers).status_code == 400
    for wait in ("soon", "-1", "61", "nan"):
        resp = client.get(f"/jobs/next?node_id={n.id}&wait={wait}", headers=n.headers)
        assert resp.status_code == 400 and resp.get_json()["error"].startswith("wait:")


def test_next_job_for_unknown_node_is_404_when_insecure(app, client):
    """Without token checks, an unregistered node id is a 404."""
    app.config["INSECURE"] = True
    assert client.get("/jobs/next?node_id=n-nope").status_code == 404


def test_next_job_empty_queue_returns_null_after_wait(client, node):
    """With nothing queued a long-poll returns {"job": null} after about its wait."""
    n = node()
    started = time.monotonic()
    resp = client.get(f"/jobs/next?node_id={n.id}&wait=0.3", headers=n.headers)
    assert resp.get_json() == {"job": None}
    assert 0.25 < time.monotonic() - started < 3


def test_long_poll_wakes_when_work_arrives(app, client, node, admin):
    """A waiting claimer gets a job submitted through POST /jobs during its wait, well before the wait ends."""
    n = node()
    got = {}

    def claim():
        got["resp"] = app.test_client().get(f"/jobs/next?node_id={n.id}&wait=20", headers=n.headers)

    t = threading.Thread(target=claim)
    t.start()
    time.sleep(0.3)
    started = time.monotonic()
    job_id = client.post("/jobs", json={"scenario": "720p-h264"}, headers=admin).get_json()["job_id"]
    t.join(timeout=25)
    assert got["resp"].get_json()["job"]["id"] == job_id
    assert time.monotonic() - started < 2


def test_requeue_throttle_lets_one_call_through_per_interval():
    """The long-poll's requeue throttle opens once per interval, whatever the number of callers."""
    throttle = Throttle(0.2)
    assert [throttle.ready() for _ in range(5)] == [True, False, False, False, False]
    time.sleep(0.25)
    assert throttle.ready() is True


def test_long_poll_requeues_expired_leases(app, client, conn, node, make_campaign):
    """A long-poll puts jobs with expired leases back and hands them out again (attempt 2)."""
    make_campaign(1)
    a, b = node("a"), node("b")
    queue.claim_next_job(conn, a.id, lease_s=-1)
    job = _claim(client, b, wait=2)
    assert (job["attempt"], job["node_id"]) == (2, b.id)


def test_result_flow_and_stale_409(client, node, make_campaign):
    """The holder's result is accepted; another node's is 409; a failed result needs an error."""
    make_campaign(1)
    a, b = node("a"), node("b")
    job = _claim(client, a)
    assert _post_result(client, b, job).status_code == 409
    assert _post_result(client, a, job, status="failed").status_code == 400
    assert _post_result(client, a, job).status_code == 200
    assert client.get(f"/jobs/{job['id']}").get_json()["state"] == "succeeded"


def test_result_bad_status_is_400(client, node):
    """A result with an unknown status names the field."""
    n = node()
    resp = client.post(
        "/results", json={"job_id": "j", "attempt": 1, "node_id": n.id, "status": "done"}, headers=n.headers
    )
    assert resp.status_code == 400 and resp.get_json()["error"].startswith("status:")


def test_heartbeat_reports_cancelled_job(client, conn, node, make_campaign):
    """A node running a job of a cancelled campaign is told to stop it."""
    cid = make_campaign(1)
    n = node()
    job = _claim(client, n)
    queue.cancel_campaign(conn, cid)
    assert client.post(f"/nodes/{n.id}/heartbeat", json={}, headers=n.headers).get_json()["cancel_jobs"] == [job["id"]]


def test_fleet_docs_job_body_verbatim_is_201(client, admin):
    """The original system's POST /jobs body (confidence: auto) queues 3 runs of a 1080p libx264 job with the overrides,
    as a one-variant campaign the master repeats up to 10 runs."""
    resp = client.post("/jobs", json=FLEET_DOCS_BODY, headers=admin)
    assert resp.status_code == 201
    answer = resp.get_json()
    assert len(answer["job_ids"]) == 3 and answer["max_jobs"] == 10 and answer["job_id"] == answer["job_ids"][0]
    job = client.get(f"/jobs/{answer['job_id']}").get_json()
    params = job["params"]
    assert (job["campaign_id"], job["state"], job["scenario"]) == (answer["campaign_id"], "queued", "1080p-h264")
    assert (params["encoder"], params["duration"], params["bitrate"], params["resolution"]) == (
        "libx264",
        300,
        "5000k",
        "1920x1080",
    )
    assert "confidence" not in params and params["crf"] is None and params["timeout"] >= 3000
    assert job["confidence"]["target"] == 0.05 and job["requirements"] == {"encoder": "libx264"}
    campaign = client.get(f"/campaigns/{answer['campaign_id']}").get_json()
    assert campaign["name"] == "1080p-h264" and campaign["state"] == "running"


def test_job_without_confidence_runs_once_outside_any_campaign(client, admin):
    """Without confidence, POST /jobs queues exactly one job that belongs to no campaign."""
    body = {k: v for k, v in FLEET_DOCS_BODY.items() if k != "confidence"}
    resp = client.post("/jobs", json=body, headers=admin)
    assert resp.status_code == 201 and set(resp.get_json()) == {"job_id", "id"}
    job = client.get(f"/jobs/{resp.get_json()['job_id']}").get_json()
    assert job["campaign_id"] is None and job["confidence"] is None


def test_submit_unknown_scenario_lists_known_ones(client, admin):
    """An unknown scenario is a 400 naming the field and the scenarios there are."""
    resp = client.post("/jobs", json={"scenario": "4k-h266"}, headers=admin)
    error = resp.get_json()["error"]
    assert resp.status_code == 400 and error.startswith("scenario:") and "1080p-h264-nvenc" in error


def test_submit_bad_parameters_name_the_field(client, admin):
    """Bad overrides, an unknown field, both bitrate and crf, and a bad confidence are 400s naming the field."""
    cases = [
        ({"parameters": {"bitrate": "fast"}}, "parameters.bitrate:"),
        ({"parameters": {"frames": 3}}, "parameters.frames:"),
        ({"parameters": {"bitrate": "1M", "crf": 23}}, "parameters:"),
        ({"confidence": "very"}, "confidence:"),
        ({"priority": "high"}, "priority:"),
    ]
    for extra, field in cases:
        resp = client.post("/jobs", json={"scenario": "1080p-h264", **extra}, headers=admin)
        assert resp.status_code == 400 and resp.get_json()["error"].startswith(field), extra


def test_submit_crf_replaces_preset_bitrate_and_keeps_targets(client, admin):
    """A crf override clears the preset's bitrate; targets and labels become requirements."""
    body = {"scenario": "1080p-h265", "parameters": {"crf": 28}, "targets": ["gpu-box"], "labels": {"rack": "a"}}
    job_id = client.post("/jobs", json=body, headers=admin).get_json()["job_id"]
    job = client.get(f"/jobs/{job_id}").get_json()
    assert (job["params"]["crf"], job["params"]["bitrate"]) == (28, None)
    assert job["requirements"] == {"encoder": "libx265", "targets": ["gpu-box"], "labels": {"rack": "a"}}


def test_list_jobs_filters(client, node, make_campaign, admin):
    """GET /jobs filters by state, campaign and node; a bad state or limit is a 400."""
    cid = make_campaign(2)
    client.post("/jobs", json={"scenario": "720p-h264"}, headers=admin)
    n = node()
    job = _claim(client, n)
    ids = lambda query: [j["id"] for j in client.get(f"/jobs?{query}").get_json()["jobs"]]  # noqa: E731
    assert ids(f"node={n.id}") == ids(f"node_id={n.id}") == ids("state=running") == [job["id"]]
    assert len(ids(f"campaign={cid}")) == 2 and len(ids("state=queued")) == 2 and len(ids("limit=1")) == 1
    assert client.get("/jobs?state=sleeping").status_code == 400
    assert client.get("/jobs?limit=0").status_code == 400


def test_cancel_running_job_reaches_node_and_late_result_is_409(client, node, make_campaign, admin):
    """Cancelling a running job tells its node at the next heartbeat; the node's result is then stale."""
    make_campaign(1)
    n = node()
    job = _claim(client, n)
    resp = client.post(f"/jobs/{job['id']}/cancel", headers=admin)
    assert resp.status_code == 200 and resp.get_json()["state"] == "cancelled"
    assert client.post(f"/nodes/{n.id}/heartbeat", json={}, headers=n.headers).get_json()["cancel_jobs"] == [job["id"]]
    assert _post_result(client, n, job).status_code == 409
    assert client.post(f"/jobs/{job['id']}/cancel", headers=admin).status_code == 409


def test_retry_failed_job_runs_it_again(client, node, make_campaign, admin):
    """A failed job retried goes back to the queue and is claimed as the next attempt."""
    make_campaign(1)
    n = node()
    job = _claim(client, n)
    _post_result(client, n, job, status="failed", error="encoder crashed")
    assert client.post(f"/jobs/{job['id']}/retry", headers=admin).get_json()["state"] == "queued"
    again = _claim(client, n)
    assert (again["id"], again["attempt"]) == (job["id"], 2)
    assert client.post(f"/jobs/{job['id']}/retry", headers=admin).status_code == 409


def test_logs_show_the_attempt_history(client, conn, node, make_campaign, admin):
    """GET /jobs/<id>/logs lists the lease expiry, both claims, the failed result with its stderr, the retry."""
    make_campaign(1)
    a, b = node("a"), node("b")
    first = queue.claim_next_job(conn, a.id, lease_s=-1)
    second = _claim(client, b, wait=2)
    _post_result(
        client,
        b,
        second,
        status="failed",
        error="ffmpeg exited 1",
        ffmpeg={"stderr_tail": ["Error while opening encoder"]},
    )
    client.post(f"/jobs/{first['id']}/retry", headers=admin)
    logs = client.get(f"/jobs/{first['id']}/logs").get_json()
    events = [(e["event"], e["attempt"], e["node_id"]) for e in logs["events"]]
    assert events == [
        ("claimed", 1, a.id),
        ("lease_expired", 1, a.id),
        ("claimed", 2, b.id),
        ("result", 2, b.id),
        ("retried", 2, None),
    ]
    result = logs["events"][3]
    assert result["error"] == "ffmpeg exited 1" and result["stderr_tail"] == ["Error while opening encoder"]
    assert logs["events"][1]["outcome"] == "requeued" and logs["state"] == "queued"


def test_campaign_cancel_by_admin_then_409(client, make_campaign, admin):
    """An admin cancels a running campaign's jobs; cancelling it again is a 409."""
    cid = make_campaign(2)
    resp = client.post(f"/campaigns/{cid}/cancel", headers=admin)
    assert resp.status_code == 200 and resp.get_json()["cancelled_jobs"] == 2
    assert client.get(f"/campaigns/{cid}").get_json()["state"] == "cancelled"
    assert client.post(f"/campaigns/{cid}/cancel", headers=admin).status_code == 409


class FakeMetrics:
    def __init__(self):
        self.claims, self.results = [], []

    def observe_claim(self, seconds):
        self.claims.append(seconds)

    def result_received(self, status):
        self.results.append(status)


def test_metrics_hook_sees_claims_and_results(app, client, node, make_campaign):
    """Each job handed out is timed and each new result counted through app.extensions["ffwatt.metrics"]."""
    metrics = app.extensions["ffwatt.metrics"] = FakeMetrics()
    make_campaign(1)
    n = node()
    job = _claim(client, n)
    assert _claim(client, n) is None
    _post_result(client, n, job)
    _post_result(client, n, job)
    assert len(metrics.claims) == 1 and 0 <= metrics.claims[0] < 5
    assert metrics.results == ["succeeded"]


def test_work_still_flows_without_a_metrics_extension(app, client, node, make_campaign):
    """Without a metrics object the claim and result paths work the same."""
    app.extensions.pop("ffwatt.metrics", None)
    make_campaign(1)
    n = node()
    assert _post_result(client, n, _claim(client, n)).status_code == 200


BAD_BODIES = [
    '{"hostname": NaN, "watts": NaN}',
    '{"watts": 1e400, "duration": 1e400}',
    '{"hostname": "\\ud800"}',
    "[]",
    '"x"',
    "null",
    '{"attempt": 100000000000000000000000000000, "priority": 1e30}',
    "\xff\xfe{",
]
"""Bodies no route can store: non-finite numbers, an unpaired surrogate, non-objects, overflowing numbers, bad bytes."""


def test_bad_bodies_never_yield_500(client, node, make_campaign, admin):
    """Every POST route answers a 4xx JSON error, never a 5xx, to bodies that cannot be stored."""
    make_campaign(1)
    n = node()
    job = _claim(client, n)
    routes = [
        ("/nodes/register", {"Authorization": "Bearer enroll-test-token"}),
        (f"/nodes/{n.id}/heartbeat", n.headers),
        ("/results", n.headers),
        ("/jobs", admin),
        ("/campaigns", admin),
        (f"/nodes/{n.id}/drain", admin),
    ]
    for path, headers in routes:
        for raw in BAD_BODIES:
            resp = client.post(
                path, data=raw.encode("utf-8", "surrogateescape"), headers=headers, content_type="application/json"
            )
            assert 400 <= resp.status_code < 500 and resp.get_json()["error"], (path, raw, resp.status_code)
    result = {"job_id": job["id"], "attempt": 10**30, "node_id": n.id, "status": "succeeded"}
    assert client.post("/results", json=result, headers=n.headers).status_code == 400
