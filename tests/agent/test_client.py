"""The agent's master client: tokens on the wire, an older master's register schema, HTTPS and mTLS."""

from __future__ import annotations

import socket

import pytest
from flask import Flask, jsonify, request

from agent.client import MasterClient, MasterError
from master.app import create_app
from master.embedded_server import start_in_thread
from tests.master.test_service import needs_openssl, start_master, tls_files  # noqa: F401 (fixture)

ENROLL, ADMIN = "enroll-c", "admin-c"


@pytest.fixture
def master_url(tmp_path):
    server = start_in_thread(
        create_app({"DATABASE": str(tmp_path / "c.db"), "ENROLLMENT_TOKEN": ENROLL, "ADMIN_TOKEN": ADMIN})
    )
    yield server.url
    server.stop()


def test_register_presents_the_enrollment_token_then_the_node_token(master_url):
    """Register with the enrollment token (401 without), then every node call carries the issued node token."""
    with pytest.raises(MasterError) as refused:
        MasterClient(master_url).register("c1", {})
    assert refused.value.status == 401 and refused.value.auth
    client = MasterClient(master_url, enrollment_token=ENROLL)
    node_id = client.register("c1", {}, {"rack": "r1"}, heartbeat_interval_s=5.0, max_concurrent_jobs=1)
    assert node_id and client.node_token
    assert client.heartbeat(node_id, 12.5, None, None)["ok"] is True
    assert client.next_job(node_id, 0) is None
    client.node_token = "not-a-token"
    with pytest.raises(MasterError) as unknown:
        client.heartbeat(node_id, None, None, None)
    assert unknown.value.status == 401
    client.close()


def test_register_retries_without_fields_an_older_master_refuses():
    """A master whose register schema lacks heartbeat_interval_s/max_concurrent_jobs (400 naming one) still
    registers the agent, without them."""
    seen: list[dict] = []
    stub = Flask("old-master")

    @stub.post("/nodes/register")
    def register():
        body = request.get_json()
        seen.append(body)
        extra = [k for k in body if k not in ("hostname", "inventory", "labels")]
        if extra:
            return jsonify({"error": f"{extra[0]}: Additional properties are not allowed"}), 400
        return jsonify({"node_id": "n-1", "id": "n-1", "node_token": "t-1", "reused": False}), 201

    server = start_in_thread(stub)
    try:
        client = MasterClient(server.url, enrollment_token=ENROLL)
        assert client.register("c1", {}, heartbeat_interval_s=30.0, max_concurrent_jobs=2) == "n-1"
        client.close()
    finally:
        server.stop()
    assert [sorted(b) for b in seen] == [
        ["heartbeat_interval_s", "hostname", "inventory", "labels", "max_concurrent_jobs"],
        ["hostname", "inventory", "labels"],
    ]


def test_other_client_errors_are_not_retried_without_fields(master_url):
    """A 400 that names no optional field (here: an empty hostname) is the caller's error, raised as is."""
    with pytest.raises(MasterError) as bad:
        MasterClient(master_url, enrollment_token=ENROLL).register("", {}, heartbeat_interval_s=30.0)
    assert bad.value.status == 400 and "hostname" in bad.value.message


def test_an_unreachable_master_is_status_0():
    """No answer at all is MasterError(0), which the worker retries with backoff."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(MasterError) as down:
        MasterClient(f"http://127.0.0.1:{port}", timeout_s=2).health()
    assert down.value.status == 0 and down.value.unreachable


@needs_openssl
def test_client_verifies_the_master_and_presents_its_certificate(tmp_path, tls_files, masters):  # noqa: F811
    """Against an mTLS master: with the CA and a client certificate it registers; without the certificate, or
    without trusting the master's CA, the master counts as unreachable."""
    ca, cert = str(tls_files["ca.pem"]), (str(tls_files["client.pem"]), str(tls_files["client.key"]))
    master = start_master(
        tmp_path,
        "--insecure",
        "--tls-cert",
        str(tls_files["server.pem"]),
        "--tls-key",
        str(tls_files["server.key"]),
        "--tls-client-ca",
        ca,
        verify=ca,
        cert=cert,
    )
    masters.append(master)
    client = MasterClient(master.url, verify=ca, cert=cert)
    assert client.register("tls-node", {})
    client.close()
    for verify, with_cert in ((ca, None), (True, cert)):
        with pytest.raises(MasterError) as refused:
            MasterClient(master.url, verify=verify, cert=with_cert, timeout_s=5).health()
        assert refused.value.status == 0
