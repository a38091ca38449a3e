"""The campaign page's results table in a real headless Chromium against the master served by waitress on loopback.

The campaign is submitted, claimed and answered through the master's HTTP API (as an agent would). The first result
is posted right after the master built the first campaign page (which had no row), so a row in the DOM Chromium dumps
at the end can only come from the page's own refresh (ui.js), not from a reload: the dumped document carries the
``data-refreshed`` mark only ui.js sets. A finished campaign's page is final: it is fetched once and never again.
"""

from __future__ import annotations

import re
import threading

import pytest
from werkzeug.test import Client

from master.app import create_app
from master.embedded_server import start_in_thread
from tests.integration.test_web_browser import chromium, needs_chromium, page_requests
from tests.master.conftest import ADMIN_TOKEN, ENROLLMENT_TOKEN, LIBX264, bearer
from tests.master.test_web_results import TWO_PRESETS, result_body

pytestmark = pytest.mark.integration


class AfterFirstPage:
    """WSGI middleware: records each request's host and path, and runs ``change`` once, right after the first
    ``GET path`` was built (before it is sent), keeping that first page's HTML."""

    def __init__(self, wsgi_app, path: str, change):
        self.wsgi_app, self.path, self.change = wsgi_app, path, change
        self.requests: list[tuple[str, str]] = []
        self.first_page: str | None = None
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        body = self.wsgi_app(environ, start_response)
        with self.lock:
            self.requests.append((environ.get("HTTP_HOST", ""), environ["PATH_INFO"]))
            first = environ["PATH_INFO"] == self.path and self.first_page is None
            if first:
                body = [b"".join(body)]
                self.first_page = body[0].decode()
        if first and self.change is not None:
            self.change()
        return body


@pytest.fixture
def campaign(tmp_path):
    """A master with a submitted two-variant campaign, one of whose jobs a registered node has claimed; the API
    reached through the app itself (``api``), not through the recording middleware."""
    app = create_app(
        {
            "TESTING": True,
            "DATABASE": str(tmp_path / "ffwatt.db"),
            "ENROLLMENT_TOKEN": ENROLLMENT_TOKEN,
            "ADMIN_TOKEN": ADMIN_TOKEN,
        }
    )
    api = Client(app.wsgi_app)
    resp = api.post("/campaigns", json={"spec_text": TWO_PRESETS}, headers=bearer(ADMIN_TOKEN))
    assert resp.status_code == 201, resp.get_data(as_text=True)
    campaign_id = resp.json["campaign_id"]
    resp = api.post(
        "/nodes/register", json={"hostname": "browser-node", "inventory": LIBX264}, headers=bearer(ENROLLMENT_TOKEN)
    )
    node_id, headers = resp.json["node_id"], bearer(resp.json["node_token"])
    job = api.get(f"/jobs/next?node_id={node_id}&wait=0", headers=headers).json["job"]
    return app, api, campaign_id, node_id, headers, job


def serve(app, path: str, change=None):
    recorder = AfterFirstPage(app.wsgi_app, path, change)
    app.wsgi_app = recorder
    return start_in_thread(app), recorder


@needs_chromium
def test_results_row_appears_without_reload(campaign, tmp_path):
    """The running campaign's page shows no row; the first result, posted after that page was served, appears as its
    variant's row through the page's refresh; no console message, no blocked load, no request off the origin."""
    app, api, campaign_id, node_id, headers, job = campaign
    path = f"/ui/campaigns/{campaign_id}"

    def first_result():
        body = result_body(job, node_id, jpf=0.625, watts=41.5, fps=48.0)
        assert api.post("/results", json=body, headers=headers).status_code in (200, 201)

    server, recorder = serve(app, path, first_result)
    try:
        netlog = tmp_path / "netlog.json"
        proc = chromium(server.url + path, tmp_path / "profile", netlog, "--dump-dom")
    finally:
        server.stop()
    assert proc.returncode == 0, proc.stderr[-3000:]
    first = recorder.first_page
    assert first is not None and "No result yet" in first and "<tr data-variant" not in first

    dom = proc.stdout
    assert re.search(r'<html[^>]* data-refreshed="\d+"', dom), "the page's refresh never ran"
    row = re.search(rf'<tr data-variant="{re.escape(job["variant"])}">(.*?)</tr>', dom, re.S)
    assert row, dom[-3000:]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row.group(1)))
    assert "1 of 3" in text and "0.625" in text and "41.5" in text and "48" in text and "measured" in text
    assert [p for _, p in recorder.requests].count(path) >= 2

    requests = page_requests(netlog)
    assert requests and all(
        initiator == server.url and target.startswith(server.url + "/") for initiator, target in requests
    ), requests
    assert {host for host, _ in recorder.requests} == {server.url.removeprefix("http://")}
    assert "Uncaught" not in proc.stderr and "Content Security Policy" not in proc.stderr
    assert "CONSOLE(" not in proc.stderr, [line for line in proc.stderr.splitlines() if "CONSOLE(" in line]


@needs_chromium
def test_finished_campaign_page_does_not_refresh(campaign, tmp_path):
    """A cancelled campaign's page is fetched once: nothing on it can change, so it never asks again."""
    app, api, campaign_id, *_ = campaign
    assert api.post(f"/campaigns/{campaign_id}/cancel", headers=bearer(ADMIN_TOKEN)).status_code == 200
    path = f"/ui/campaigns/{campaign_id}"
    server, recorder = serve(app, path)
    try:
        proc = chromium(server.url + path, tmp_path / "profile", tmp_path / "netlog.json", "--dump-dom")
    finally:
        server.stop()
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "data-final" in proc.stdout and "data-refreshed" not in proc.stdout
    assert [p for _, p in recorder.requests].count(path) == 1
    assert "/ui/static/ui.js" in {p for _, p in recorder.requests}
