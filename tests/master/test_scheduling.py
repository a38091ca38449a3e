"""Scheduling per docs/DISTRIBUTED.md: capabilities, labels and targets, priorities, capacity, drain, liveness."""

from __future__ import annotations

import threading
import time

import pytest

from master import db, fleet, queue
from tests.master.conftest import NVENC, job_spec


def _claim(client, n):
    resp = client.get(f"/jobs/next?node_id={n.id}", headers=n.headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["job"]


def _nvenc_then_x264(make_campaign) -> str:
    """A campaign whose first (and highest-priority) job needs NVENC and whose next two need libx264."""
    return make_campaign(
        jobs=[
            job_spec("nv#1", {"encoder": "h264_nvenc", "targets": ["local"]}, priority=5),
            job_spec("x1#1"),
            job_spec("x2#1"),
        ]
    )


def test_job_needing_nvenc_waits_and_does_not_block_others(client, node, make_campaign):
    """A CPU node skips the NVENC job at the head and takes the libx264 jobs behind it; the campaign says why."""
    cid = _nvenc_then_x264(make_campaign)
    cpu = node("cpu", max_concurrent_jobs=2)
    assert [_claim(client, cpu)["name"], _claim(client, cpu)["name"]] == ["x1#1", "x2#1"]
    progress = client.get(f"/campaigns/{cid}").get_json()
    assert progress["waiting"] == [
        {
            "jobs": 1,
            "requirements": {"encoder": "h264_nvenc", "targets": ["local"]},
            "reason": "no online node has usable encoder h264_nvenc",
        }
    ]
    assert progress["waiting_reason"] == "1 job: no online node has usable encoder h264_nvenc"


def test_gpu_node_takes_the_nvenc_job(client, node, make_campaign):
    """A node whose inventory has NVENC usable gets the NVENC job, and nothing waits any more."""
    cid = _nvenc_then_x264(make_campaign)
    gpu = node("gpu", inventory=NVENC)
    assert _claim(client, gpu)["name"] == "nv#1"
    assert client.get(f"/campaigns/{cid}").get_json()["waiting"] == []


def test_gpu_requirement_needs_a_gpu_in_the_inventory(client, node, make_campaign):
    """A job with gpu: true skips a node without GPUs and goes to one that lists a GPU."""
    make_campaign(jobs=[job_spec("g#1", {"gpu": True})])
    cpu, gpu = node("cpu"), node("gpu", inventory=NVENC)
    assert _claim(client, cpu) is None
    assert _claim(client, gpu)["name"] == "g#1"


def test_no_node_online_is_the_reason(client, make_campaign):
    """With no node at all, queued jobs wait because no node is online."""
    cid = make_campaign(2)
    assert client.get(f"/campaigns/{cid}").get_json()["waiting"][0]["reason"] == "no node is online"


@pytest.mark.parametrize(
    "requirements, takers",
    [
        ({"labels": {"rack": "a"}}, {"ra"}),
        ({"targets": ["rb.example.org"]}, {"rb.example.org"}),
        ({"targets": ["rb"]}, {"rb.example.org"}),
        ({"targets": ["a"]}, {"ra"}),
        ({"targets": ["nowhere", "all"]}, {"ra", "rb.example.org"}),
        ({"targets": ["any"]}, {"ra", "rb.example.org"}),
        ({"gpu": True}, set()),
    ],
)
def test_labels_targets_and_gpu(client, node, make_campaign, requirements, takers):
    """Labels must match; targets name a hostname (or its first label) or a label value; all/any match all."""
    make_campaign(jobs=[job_spec("j#1", requirements)])
    nodes = {"ra": node("ra", labels={"rack": "a"}), "rb.example.org": node("rb.example.org", labels={"rack": "b"})}
    got = {name for name, n in nodes.items() if _claim(client, n) is not None}
    assert got <= takers and (got != set()) == bool(takers)


@pytest.mark.parametrize(
    "requirements, takers",
    [
        ({"targets": ["gpu"]}, {"g1"}),
        ({"targets": ["agents"]}, {"m1", "g1"}),
        ({"targets": ["master"]}, {"m1"}),
        ({"labels": {"group": "gpu"}}, {"g1"}),
        ({"labels": {"group": "agents,gpu"}}, {"g1"}),
        ({"labels": {"group": "agent"}}, set()),
    ],
)
def test_a_label_with_several_values_matches_each(client, node, make_campaign, requirements, takers):
    """A label given several times (Ansible's group=<each group>) matches targets and label requirements by each
    value, never by a part of one."""
    make_campaign(jobs=[job_spec("j#1", requirements)])
    nodes = {"m1": node("m1", labels={"group": "master,agents"}), "g1": node("g1", labels={"group": "agents,gpu"})}
    got = {name for name, n in nodes.items() if _claim(client, n) is not None}
    assert got <= takers and (got != set()) == bool(takers)


def test_waiting_reason_names_what_each_node_lacks():
    """When every node lacks something different, the reason lists each node's gaps."""
    a = fleet.Capabilities("a", {"libx264": {"usable": True}}, False, {"rack": "a"})
    b = fleet.Capabilities("b", {}, False, {"rack": "b"})
    reason = fleet.waiting_reason({"encoder": "libx264", "labels": {"rack": "b"}}, [a, b])
    assert reason.startswith("no online node meets every requirement")
    assert "a lacks: has label rack=b" in reason and "b lacks: has usable encoder libx264" in reason
    assert fleet.waiting_reason({"encoder": "libx264"}, [a, b]) is None


def test_priority_then_submission_order(client, node, make_campaign):
    """Higher priority first, then the older campaign, then campaign order."""
    make_campaign(jobs=[job_spec("old-low#1"), job_spec("old-high#1", priority=3)])
    make_campaign(jobs=[job_spec("new-high#1", priority=3), job_spec("new-low#1")])
    n = node(max_concurrent_jobs=4)
    assert [_claim(client, n)["name"] for _ in range(4)] == ["old-high#1", "new-high#1", "old-low#1", "new-low#1"]


@pytest.mark.parametrize("capacity", [1, 2])
def test_capacity_limits_running_jobs(client, node, make_campaign, capacity):
    """A node holds at most max_concurrent_jobs running jobs; a result frees a slot."""
    make_campaign(4)
    n = node(max_concurrent_jobs=capacity) if capacity > 1 else node()
    jobs = [_claim(client, n) for _ in range(capacity)]
    assert all(jobs) and _claim(client, n) is None
    body = {"job_id": jobs[0]["id"], "attempt": 1, "node_id": n.id, "status": "succeeded"}
    assert client.post("/results", json=body, headers=n.headers).status_code == 200
    assert _claim(client, n) is not None


def test_draining_node_gets_nothing_until_undrained(client, node, make_campaign, admin):
    """A draining node keeps its job but claims nothing; {"drain": false} puts it back in service."""
    make_campaign(2)
    n = node(max_concurrent_jobs=2)
    held = _claim(client, n)
    drained = client.post(f"/nodes/{n.id}/drain", headers=admin).get_json()
    assert (drained["status"], drained["draining"]) == ("draining", True)
    assert _claim(client, n) is None
    assert client.get(f"/jobs/{held['id']}").get_json()["state"] == "running"
    assert client.post(f"/nodes/{n.id}/heartbeat", json={}, headers=n.headers).get_json()["draining"] is True
    assert client.post(f"/nodes/{n.id}/drain", json={"drain": False}, headers=admin).get_json()["status"] == "online"
    assert _claim(client, n) is not None


def test_offline_after_missed_heartbeats_then_back(client, node, make_campaign):
    """Three missed heartbeats (of the interval the node registered with) make it offline; one brings it back."""
    make_campaign(1)
    n = node(heartbeat_interval_s=0.2)
    time.sleep(0.8)
    assert client.get(f"/nodes/{n.id}").get_json()["status"] == "offline"
    assert _claim(client, n) is None
    assert client.post(f"/nodes/{n.id}/heartbeat", json={}, headers=n.headers).status_code == 200
    assert client.get(f"/nodes/{n.id}").get_json()["status"] == "online"
    assert _claim(client, n) is not None


def test_offline_node_does_not_count_for_waiting(client, node, make_campaign):
    """A job only an offline node could run waits, and the campaign says no node is online."""
    cid = make_campaign(1)
    node(heartbeat_interval_s=0.1)
    time.sleep(0.5)
    assert client.get(f"/campaigns/{cid}").get_json()["waiting"][0]["reason"] == "no node is online"


def test_delete_refused_while_node_holds_a_job(client, node, make_campaign, admin):
    """DELETE /nodes/<id> is a 409 while the node runs a job, and works once the job is done."""
    make_campaign(1)
    n = node()
    job = _claim(client, n)
    resp = client.delete(f"/nodes/{n.id}", headers=admin)
    assert resp.status_code == 409 and job["id"] in resp.get_json()["error"]
    client.post(
        "/results", json={"job_id": job["id"], "attempt": 1, "node_id": n.id, "status": "succeeded"}, headers=n.headers
    )
    assert client.delete(f"/nodes/{n.id}", headers=admin).status_code == 200
    assert client.get(f"/nodes/{n.id}").status_code == 404


def test_fail_unrunnable_fails_what_no_node_can_run(app, client, node, make_campaign):
    """With FAIL_UNRUNNABLE, a claim fails the NVENC job with the probe's reason and hands out libx264 work."""
    app.config["FAIL_UNRUNNABLE"] = True
    cid = _nvenc_then_x264(make_campaign)
    cpu = node("cpu")
    assert _claim(client, cpu)["name"] == "x1#1"
    jobs = {j["name"]: j for j in client.get(f"/jobs?campaign={cid}").get_json()["jobs"]}
    assert jobs["nv#1"]["state"] == "failed"
    assert jobs["nv#1"]["error"] == "encoder unavailable: h264_nvenc (cpu: no NVIDIA device)"
    assert client.get(f"/jobs/{jobs['nv#1']['id']}/logs").get_json()["events"][0]["event"] == "unrunnable"


def test_without_fail_unrunnable_nothing_fails(client, node, make_campaign):
    """By default the NVENC job stays queued however often a CPU node claims."""
    cid = _nvenc_then_x264(make_campaign)
    cpu = node("cpu", max_concurrent_jobs=3)
    for _ in range(3):
        _claim(client, cpu)
    states = sorted(j["state"] for j in client.get(f"/jobs?campaign={cid}").get_json()["jobs"])
    assert states == ["queued", "running", "running"]


def _claim_cost(conn, node_id: str) -> int:
    """SQLite VM steps (in units of 100 instructions) one claim takes."""
    steps = [0]

    def count():
        steps[0] += 1

    conn.set_progress_handler(count, 100)
    try:
        assert queue.claim_next_job(conn, node_id) is not None
    finally:
        conn.set_progress_handler(None, 0)
    return steps[0]


def test_claim_cost_does_not_grow_with_jobs_it_skips(conn, node, make_campaign):
    """A claim behind 20,000 jobs the node cannot run costs about what it costs behind 200."""
    nid = node(max_concurrent_jobs=4).id
    blocked = [job_spec(f"nv{i}#1", {"encoder": "h264_nvenc"}, priority=1) for i in range(200)]
    make_campaign(jobs=blocked + [job_spec("x#1"), job_spec("y#1")])
    small = _claim_cost(conn, nid)
    make_campaign(jobs=[job_spec(f"nv{i}#2", {"encoder": "h264_nvenc"}, priority=1) for i in range(19_800)])
    large = _claim_cost(conn, nid)
    assert large < small * 1.5 + 20


def test_fifty_threads_twenty_nodes_never_share_a_job(app, node, make_campaign):
    """50 threads, each with its own connection, claim for 20 nodes at once: every job is handed out once."""
    make_campaign(300)
    nodes = [node(f"n{i:02d}", max_concurrent_jobs=64).id for i in range(20)]
    claimed, lock, barrier = [], threading.Lock(), threading.Barrier(50)

    def claimer(node_id):
        c = db.connect(app.config["DATABASE"])
        barrier.wait()
        while (job := queue.claim_next_job(c, node_id)) is not None:
            with lock:
                claimed.append((job["id"], node_id))
        c.close()

    threads = [threading.Thread(target=claimer, args=(nodes[i % 20],)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    ids = [job_id for job_id, _ in claimed]
    assert len(ids) == 300 and len(set(ids)) == 300
    conn = db.connect(app.config["DATABASE"])
    per_node = dict(conn.execute("SELECT node_id, COUNT(*) FROM jobs WHERE state = 'running' GROUP BY node_id"))
    conn.close()
    assert per_node == {n: sum(1 for _, m in claimed if m == n) for n in nodes if any(m == n for _, m in claimed)}
    assert max(per_node.values()) <= 64


def test_fifty_threads_respect_capacity_one(app, node, make_campaign):
    """With capacity 1, concurrent claimers for the same node never give it a second job."""
    make_campaign(40)
    nodes = [node(f"c{i:02d}").id for i in range(20)]
    barrier = threading.Barrier(50)

    def claimer(node_id):
        c = db.connect(app.config["DATABASE"])
        barrier.wait()
        for _ in range(3):
            queue.claim_next_job(c, node_id)
        c.close()

    threads = [threading.Thread(target=claimer, args=(nodes[i % 20],)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    conn = db.connect(app.config["DATABASE"])
    counts = [r[0] for r in conn.execute("SELECT COUNT(*) FROM jobs WHERE state = 'running' GROUP BY node_id")]
    conn.close()
    assert sorted(counts) == [1] * 20
