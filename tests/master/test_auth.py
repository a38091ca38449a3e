"""Tokens per docs/DISTRIBUTED.md: who may call which route, 401 versus 403, hashing, INSECURE."""

from __future__ import annotations

import hashlib
import io
import json

import pytest

from master.app import create_app
from tests.master.conftest import ADMIN_TOKEN, ENROLLMENT_TOKEN, LIBX264, bearer

WRONG = "not-a-token"


@pytest.fixture
def world(client, node, make_campaign, admin):
    """Two nodes, a campaign of two jobs, node a holding the first job."""
    cid = make_campaign(2)
    a, b = node("a"), node("b")
    job = client.get(f"/jobs/next?node_id={a.id}", headers=a.headers).get_json()["job"]
    return {"a": a, "b": b, "campaign": cid, "job": job}


def _register(client, token, hostname="new-host"):
    headers = bearer(token) if token is not None else {}
    return client.post("/nodes/register", json={"hostname": hostname, "inventory": LIBX264}, headers=headers)


def test_register_needs_the_enrollment_token(client, node):
    """Register: none or unknown -> 401, admin or node token -> 403, enrollment token -> 201 with a node token."""
    other = node("other")
    assert _register(client, None).status_code == 401
    assert _register(client, WRONG).status_code == 401
    assert _register(client, ADMIN_TOKEN).status_code == 403
    assert _register(client, other.token).status_code == 403
    resp = _register(client, ENROLLMENT_TOKEN)
    assert resp.status_code == 201 and set(resp.get_json()) == {"node_id", "id", "node_token", "reused"}


def _node_calls(client, world):
    """(name, call(token)) for every route only node a may call."""
    a, job = world["a"], world["job"]
    result = {"job_id": job["id"], "attempt": job["attempt"], "node_id": a.id, "status": "succeeded"}
    return [
        ("heartbeat", lambda h: client.post(f"/nodes/{a.id}/heartbeat", json={}, headers=h)),
        ("claim", lambda h: client.get(f"/jobs/next?node_id={a.id}", headers=h)),
        ("result", lambda h: client.post("/results", json=result, headers=h)),
    ]


def test_node_routes_refuse_everyone_but_that_node(client, world):
    """Heartbeat, claim and result: 401 without or with an unknown token, 403 for other parties, 200 for the node."""
    refusals = [
        ({}, 401),
        (bearer(WRONG), 401),
        (world["b"].headers, 403),
        (bearer(ADMIN_TOKEN), 403),
        (bearer(ENROLLMENT_TOKEN), 403),
    ]
    for name, call in _node_calls(client, world):
        for headers, status in refusals:
            resp = call(headers)
            assert resp.status_code == status, (name, headers, resp.get_json())
        assert call(world["a"].headers).status_code == 200, name


def test_node_cannot_report_as_another_node(client, world):
    """A node's own token with another node's id in the result body is a 403."""
    a, b, job = world["a"], world["b"], world["job"]
    body = {"job_id": job["id"], "attempt": 1, "node_id": a.id, "status": "succeeded"}
    assert client.post("/results", json=body, headers=b.headers).status_code == 403
    assert client.get("/jobs").get_json()["jobs"][0]["state"] == "running"


def _admin_calls(client, world):
    job, b, cid = world["job"], world["b"], world["campaign"]
    return [
        (
            "POST",
            "/campaigns",
            {
                "spec_text": "name: x\nscenarios:\n  - name: a\n    kind: transcode\n"
                "    input: {source: testsrc2}\n    encoder: libx264\n"
                "    bitrate: 1M\n    duration: 1\n"
            },
            201,
        ),
        ("POST", "/jobs", {"scenario": "1080p-h264"}, 201),
        ("POST", f"/jobs/{job['id']}/cancel", None, 200),
        ("POST", f"/jobs/{job['id']}/retry", None, 200),
        ("POST", f"/nodes/{b.id}/drain", None, 200),
        ("POST", f"/campaigns/{cid}/cancel", None, 200),
        ("DELETE", f"/nodes/{b.id}", None, 200),  # last: it revokes b's token
    ]


def test_admin_routes_refuse_other_parties_then_admin_succeeds(client, world):
    """Each admin route: 401 without or with an unknown token, 403 with a node or enrollment token, then admin works."""
    refusals = [
        ({}, 401),
        (bearer(WRONG), 401),
        (world["a"].headers, 403),
        (world["b"].headers, 403),
        (bearer(ENROLLMENT_TOKEN), 403),
    ]
    for method, path, body, ok in _admin_calls(client, world):
        for headers, status in refusals:
            resp = client.open(path, method=method, json=body, headers=headers)
            assert resp.status_code == status, (method, path, headers, resp.get_json())
        resp = client.open(path, method=method, json=body, headers=bearer(ADMIN_TOKEN))
        assert resp.status_code == ok, (method, path, resp.get_json())


def test_reads_need_no_token(client, world):
    """GET routes answer without any token."""
    paths = [
        "/health",
        "/nodes",
        f"/nodes/{world['a'].id}",
        "/jobs",
        f"/jobs/{world['job']['id']}",
        f"/jobs/{world['job']['id']}/logs",
        "/campaigns",
        f"/campaigns/{world['campaign']}",
        f"/campaigns/{world['campaign']}/results",
        "/openapi.json",
    ]
    for path in paths:
        assert client.get(path).status_code == 200, path


def test_401_says_how_to_authenticate(client):
    """A 401 is JSON and carries a WWW-Authenticate: Bearer challenge."""
    resp = client.post("/jobs", json={"scenario": "1080p-h264"})
    assert resp.status_code == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert "admin token" in resp.get_json()["error"]


def test_header_forms(client):
    """The scheme is case-insensitive; another scheme or a bare 'Bearer' counts as no token."""
    body = {"scenario": "720p-h264"}
    assert client.post("/jobs", json=body, headers={"Authorization": f"bearer {ADMIN_TOKEN}"}).status_code == 201
    assert client.post("/jobs", json=body, headers={"Authorization": f"Basic {ADMIN_TOKEN}"}).status_code == 401
    assert client.post("/jobs", json=body, headers={"Authorization": "Bearer"}).status_code == 401


def test_node_token_is_stored_only_as_its_sha256(client, conn, node):
    """The nodes table holds the SHA-256 hex of the token, never the token."""
    n = node()
    stored = conn.execute("SELECT token_hash FROM nodes WHERE id = ?", (n.id,)).fetchone()[0]
    assert stored == hashlib.sha256(n.token.encode()).hexdigest() and n.token not in stored
    assert len(n.token) >= 43


def test_deleted_node_token_stops_working(client, node, admin):
    """After DELETE /nodes/<id> the node's token is unknown: 401."""
    n = node()
    assert client.delete(f"/nodes/{n.id}", headers=admin).status_code == 200
    assert client.post(f"/nodes/{n.id}/heartbeat", json={}, headers=n.headers).status_code == 401


def test_insecure_checks_nothing_and_still_issues_tokens(tmp_path):
    """With INSECURE no route asks for a token, and register still returns a node token."""
    client = create_app({"TESTING": True, "DATABASE": str(tmp_path / "i.db"), "INSECURE": True}).test_client()
    resp = client.post("/nodes/register", json={"hostname": "h", "inventory": LIBX264})
    assert resp.status_code == 201 and resp.get_json()["node_token"]
    node_id = resp.get_json()["node_id"]
    assert client.post("/jobs", json={"scenario": "720p-h264"}).status_code == 201
    assert client.get(f"/jobs/next?node_id={node_id}").get_json()["job"] is not None
    assert client.post(f"/nodes/{node_id}/heartbeat", json={}).status_code == 200


def test_without_tokens_configured_protected_routes_are_401(tmp_path):
    """An app built without tokens and without INSECURE starts, serves reads, and refuses protected routes."""
    client = create_app({"TESTING": True, "DATABASE": str(tmp_path / "n.db")}).test_client()
    assert client.get("/health").status_code == 200
    assert client.post("/nodes/register", json={"hostname": "h"}).status_code == 401
    assert client.post("/jobs", json={"scenario": "720p-h264"}, headers=bearer("anything")).status_code == 401


class CountingStream(io.BytesIO):
    """A request body that records how many bytes the master read from it (the test client seeks, never reads)."""

    consumed = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.consumed += len(chunk)
        return chunk

    def readinto(self, buffer) -> int:
        n = super().readinto(buffer)
        self.consumed += n
        return n

    def readline(self, size: int | None = -1) -> bytes:
        line = super().readline(size)
        self.consumed += len(line)
        return line


def test_tokens_are_checked_before_a_byte_of_the_body_is_read(client, world):
    """Without the right party's token every guarded POST is refused with its body left unread."""
    a = world["a"]
    result = json.dumps(
        {"job_id": world["job"]["id"], "attempt": 1, "node_id": a.id, "status": "succeeded", "pad": "x" * 100_000}
    ).encode()
    routes = [
        ("/results", [({}, 401), (bearer(WRONG), 401), (bearer(ADMIN_TOKEN), 403), (bearer(ENROLLMENT_TOKEN), 403)]),
        (f"/nodes/{a.id}/heartbeat", [({}, 401), (world["b"].headers, 403)]),
        ("/jobs", [({}, 401), (a.headers, 403)]),
        ("/nodes/register", [({}, 401), (a.headers, 403)]),
    ]
    for path, refusals in routes:
        for headers, status in refusals:
            body = CountingStream(result)
            resp = client.post(
                path, input_stream=body, content_length=len(result), content_type="application/json", headers=headers
            )
            assert (resp.status_code, body.consumed) == (status, 0), (path, headers, resp.get_json())


def test_a_node_token_then_the_body_is_parsed_then_its_node_compared(client, world):
    """With a node's token: a broken body is 400, a body naming another node 403, its own node's result 200."""
    a, b, job = world["a"], world["b"], world["job"]
    broken = client.post("/results", data=b'{"node_id": ', content_type="application/json", headers=b.headers)
    assert broken.status_code == 400
    body = {"job_id": job["id"], "attempt": 1, "node_id": a.id, "status": "succeeded"}
    refused = client.post("/results", json=body, headers=b.headers)
    assert refused.status_code == 403 and f"node {b.id}" in refused.get_json()["error"]
    assert client.post("/results", json=body, headers=a.headers).status_code == 200
