"""One app-wide handler: domain errors become their 4xx, anything unexpected a logged 500 with a request id."""

from __future__ import annotations

import logging

import jsonschema
import pytest

from master import errors, openapi
from master.app import create_app


@pytest.fixture
def raising_app(tmp_path):
    """The real app plus test-only routes that raise, as a bug or a domain refusal deep in a view would."""
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "ffwatt.db"), "INSECURE": True})

    @app.get("/test/boom")
    def boom():
        raise KeyError("secret-detail-in-the-traceback")

    @app.get("/test/domain/<name>")
    def domain(name: str):
        raise getattr(errors, name)(f"refused: {name}")

    return app


def test_unexpected_exception_is_a_logged_500_with_request_id(raising_app, caplog):
    """A bug in a view: 500 JSON with the request id; the traceback goes to the log, never to the client."""
    with caplog.at_level(logging.ERROR):
        resp = raising_app.test_client().get("/test/boom")
    body = resp.get_json()
    assert resp.status_code == 500
    assert body == {"error": "internal error", "status": 500, "request_id": resp.headers["X-Request-Id"]}
    assert "secret-detail" not in resp.get_data(as_text=True) and "Traceback" not in resp.get_data(as_text=True)
    logged = [r for r in caplog.records if r.exc_info and body["request_id"] in r.getMessage()]
    assert logged and isinstance(logged[0].exc_info[1], KeyError)
    assert "secret-detail-in-the-traceback" in caplog.text


@pytest.mark.parametrize(
    "name, status",
    [
        ("InvalidInput", 400),
        ("Unauthenticated", 401),
        ("Forbidden", 403),
        ("NotFound", 404),
        ("Conflict", 409),
        ("InvalidTransition", 409),
        ("StaleResult", 409),
    ],
)
def test_domain_errors_map_to_their_status_in_one_place(raising_app, name, status):
    """Each domain error raised in a view answers its status with its message as JSON."""
    resp = raising_app.test_client().get(f"/test/domain/{name}")
    assert resp.status_code == status and resp.get_json() == {"error": f"refused: {name}", "status": status}


def test_queue_refusals_through_the_api_are_404_and_409(client, node, make_campaign, admin):
    """Unknown job 404; cancelling a finished job, retrying a running one and a stale result 409."""
    make_campaign(1)
    n = node()
    job = client.get(f"/jobs/next?node_id={n.id}", headers=n.headers).get_json()["job"]
    assert client.post("/jobs/j-nope/cancel", headers=admin).status_code == 404
    assert client.post(f"/jobs/{job['id']}/retry", headers=admin).status_code == 409
    result = {"job_id": job["id"], "attempt": 1, "node_id": n.id, "status": "succeeded"}
    assert client.post("/results", json=result, headers=n.headers).status_code == 200
    assert client.post(f"/jobs/{job['id']}/cancel", headers=admin).status_code == 409
    stale = client.post("/results", json={**result, "attempt": 2}, headers=n.headers)
    assert stale.status_code == 409 and "stale result" in stale.get_json()["error"]
    assert client.post("/results", json={**result, "job_id": "j-nope"}, headers=n.headers).status_code == 404


def test_every_answer_carries_a_request_id(client, admin):
    """200s, 4xx and routing 404/405 all carry X-Request-Id; a plain id the client sends is kept."""
    answers = [
        client.get("/health"),
        client.get("/nope"),
        client.delete("/health"),
        client.post("/jobs", json={}, headers=admin),
        client.get("/ui/nope"),
    ]
    ids = [r.headers.get("X-Request-Id") for r in answers]
    assert all(ids) and len(set(ids)) == len(ids)
    assert client.get("/health", headers={"X-Request-Id": "lb-1234"}).headers["X-Request-Id"] == "lb-1234"
    for odd in ("<script>", "y" * 100, "a b"):
        assert client.get("/health", headers={"X-Request-Id": odd}).headers["X-Request-Id"] != odd


def test_error_bodies_match_the_documented_error_shape(raising_app):
    """A 500, a domain 409 and a routing 404 all validate against the OpenAPI document's Error schema."""
    client = raising_app.test_client()
    for resp in (client.get("/test/boom"), client.get("/test/domain/StaleResult"), client.get("/nope")):
        jsonschema.validate(resp.get_json(), openapi.SCHEMAS["Error"])


def test_method_not_allowed_keeps_its_allow_header_and_is_json(client):
    """A 405 from routing is JSON and still says which methods are allowed."""
    resp = client.delete("/health")
    assert resp.status_code == 405 and resp.is_json and "GET" in resp.headers["Allow"]


def test_api_views_refuse_through_domain_errors_only():
    """No API view aborts or builds an error answer itself; metrics read nothing from the web UI."""
    from pathlib import Path

    master = Path(errors.__file__).parent
    for module in sorted((master / "api").glob("*.py")):
        text = module.read_text()
        assert "abort(" not in text and 'jsonify({"error"' not in text, module.name
    assert "master.web" not in (master / "metrics.py").read_text()


def test_a_domain_error_can_carry_more_fields(raising_app):
    """``problems`` given to a domain error come in its JSON answer beside error and status."""

    @raising_app.get("/test/problems")
    def problems():
        raise errors.InvalidInput("spec: invalid", problems=["a", "b"])

    resp = raising_app.test_client().get("/test/problems")
    assert resp.status_code == 400
    assert resp.get_json() == {"error": "spec: invalid", "status": 400, "problems": ["a", "b"]}
