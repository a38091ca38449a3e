"""Node identity: the enrollment token alone never takes over a live node (docs/DISTRIBUTED.md "Node identity")."""

from __future__ import annotations

import time

from tests.master.conftest import ENROLLMENT_TOKEN, LIBX264, Node, bearer


def _register(client, hostname: str = "host-a", **extra):
    return client.post(
        "/nodes/register", json={"hostname": hostname, "inventory": LIBX264, **extra}, headers=bearer(ENROLLMENT_TOKEN)
    )


def _beat(client, n: Node) -> int:
    return client.post(f"/nodes/{n.id}/heartbeat", json={"watts": None}, headers=n.headers).status_code


def _claim(client, n: Node) -> dict:
    return client.get(f"/jobs/next?node_id={n.id}&wait=0", headers=n.headers).get_json()["job"]


def _result(client, job: dict, node_id: str, headers: dict):
    body = {"job_id": job["id"], "attempt": job["attempt"], "node_id": node_id, "status": "succeeded"}
    return client.post("/results", json=body, headers=headers)


def _go_offline(conn, n: Node) -> None:
    conn.execute("UPDATE nodes SET last_heartbeat = ? WHERE id = ?", (time.time() - 3600, n.id))


def test_takeover_of_a_live_node_with_only_the_enrollment_token_is_409(client, node, make_campaign):
    """A second registration of a live node's hostname with only the enrollment token is refused: the node's token
    keeps working, its result is accepted, and the attacker has no token that can post one."""
    a = node("host-a")
    make_campaign(1)
    assert _beat(client, a) == 200
    job = _claim(client, a)
    resp = _register(client, "host-a")
    assert resp.status_code == 409
    message = resp.get_json()["error"]
    assert "online" in message and "node_token" in message and f"DELETE /nodes/{a.id}" in message
    assert _beat(client, a) == 200
    for headers in (bearer(ENROLLMENT_TOKEN), bearer("guessed-token"), node("host-evil").headers):
        assert _result(client, job, a.id, headers).status_code in (401, 403)
    assert _register(client, "host-a", node_token="not-its-token").status_code == 409
    assert _result(client, job, a.id, a.headers).get_json()["accepted"] is True
    assert client.get(f"/jobs/{job['id']}").get_json()["state"] == "succeeded"


def test_re_registering_with_the_node_token_rotates_it(client, node, make_campaign):
    """The node's own token proves it is that node (a restarted agent): same id, new token, old one refused, and
    its running job stays its own."""
    a = node("host-a")
    make_campaign(1)
    job = _claim(client, a)
    resp = _register(client, "host-a", node_token=a.token)
    assert resp.status_code == 200 and resp.get_json()["reused"] is True
    again = Node(resp.get_json()["node_id"], resp.get_json()["node_token"])
    assert again.id == a.id and again.token != a.token
    assert _beat(client, a) == 401 and _beat(client, again) == 200
    assert _result(client, job, a.id, again.headers).status_code == 200


def test_an_offline_node_without_a_running_job_may_be_re_registered(client, conn, node):
    """A node that missed its heartbeats and holds no job is gone: its hostname registers again with the
    enrollment token alone (a host reinstalled without its state dir), keeping the id and rotating the token."""
    a = node("host-a")
    _go_offline(conn, a)
    resp = _register(client, "host-a")
    assert resp.status_code == 200 and resp.get_json()["node_id"] == a.id
    assert _beat(client, a) == 401
    assert _beat(client, Node(a.id, resp.get_json()["node_token"])) == 200


def test_an_offline_node_holding_a_running_job_is_not_taken_over(client, conn, node, make_campaign):
    """Offline but still holding a running job (its lease not yet expired): 409 naming the job, so nobody else
    can post that job's result as the node."""
    a = node("host-a")
    make_campaign(1)
    job = _claim(client, a)
    _go_offline(conn, a)
    resp = _register(client, "host-a")
    assert resp.status_code == 409 and job["id"] in resp.get_json()["error"]
    assert _beat(client, a) == 200


def test_a_node_the_admin_deleted_registers_anew(client, node, admin):
    """After DELETE /nodes/{id} the hostname registers as a new node (201, new id)."""
    a = node("host-a")
    assert client.delete(f"/nodes/{a.id}", headers=admin).status_code == 200
    resp = _register(client, "host-a")
    assert resp.status_code == 201 and resp.get_json()["node_id"] != a.id


def test_insecure_masters_let_any_registration_reuse_a_hostname(app, client, node):
    """Without token checks there is no identity to protect (anyone may post anything): re-registering reuses."""
    app.config["INSECURE"] = True
    a = node("host-a")
    resp = client.post("/nodes/register", json={"hostname": "host-a"})
    assert resp.status_code == 200 and resp.get_json()["node_id"] == a.id
