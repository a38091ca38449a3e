"""Every answer is safe to open: nosniff, no framing and a Content-Security-Policy, whatever produced it."""

from __future__ import annotations

import pytest

from master import headers, web
from master.app import create_app

SAFE = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}


@pytest.fixture
def answers(client, node, make_campaign, admin):
    """(what, response) for each kind of answer the master gives."""
    campaign_id = make_campaign(1)
    n = node()
    job = client.get(f"/jobs/next?node_id={n.id}", headers=n.headers).get_json()["job"]
    return {
        "api json": client.get("/jobs"),
        "api 404": client.get("/jobs/j-nope"),
        "api 400": client.post("/jobs", json={}, headers=admin),
        "api 401": client.post("/jobs", json={}),
        "routing 405": client.delete("/health"),
        "metrics": client.get("/metrics"),
        "openapi": client.get("/openapi.json"),
        "report html": client.get(f"/campaigns/{campaign_id}/report"),
        "report csv": client.get(f"/campaigns/{campaign_id}/report.csv"),
        "report json": client.get(f"/campaigns/{campaign_id}/report.json"),
        "ui page": client.get(f"/ui/jobs/{job['id']}"),
        "ui 404": client.get("/ui/nodes/x"),
        "ui asset": client.get("/ui/static/ui.js"),
        "dashboard": client.get("/"),
    }


def test_every_kind_of_answer_carries_the_safety_headers(answers):
    """API JSON, errors, /metrics, /openapi.json, reports and UI pages: nosniff, DENY and a CSP."""
    for what, resp in answers.items():
        for name, value in SAFE.items():
            assert resp.headers.get(name) == value, (what, name, resp.status_code)
        assert resp.headers.get("Content-Security-Policy"), what


def test_each_answer_gets_the_policy_it_needs(answers):
    """UI: same origin only; the HTML report: its own inline-only policy; everything else: nothing at all."""
    for what, resp in answers.items():
        policy = resp.headers["Content-Security-Policy"]
        if what.startswith(("ui", "dashboard")):
            assert policy == web.CONTENT_SECURITY_POLICY, what
        elif what.startswith("report"):
            assert policy == headers.REPORT_POLICY, what
        else:
            assert policy == headers.NOTHING_POLICY, what


def test_report_policy_allows_what_the_report_itself_declares(answers):
    """The header policy is no stricter than the report's own <meta> policy, so the report still renders."""
    page = answers["report html"].get_data(as_text=True)
    meta = page.split('http-equiv="Content-Security-Policy" content="', 1)[1].split('"', 1)[0]
    header = {d.split()[0]: d.split()[1:] for d in headers.REPORT_POLICY.split("; ")}
    for directive in meta.split("; "):
        name, *sources = directive.split()
        assert set(sources) <= set(header[name]), directive


def test_an_unexpected_500_is_safe_too(tmp_path):
    """Even the answer to a bug carries the headers."""
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "ffwatt.db"), "INSECURE": True})

    @app.get("/test/boom")
    def boom():
        raise RuntimeError("bug")

    resp = app.test_client().get("/test/boom")
    assert resp.status_code == 500 and resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Content-Security-Policy"] == headers.NOTHING_POLICY
