"""The web UI in a real headless Chromium against the master served by waitress on loopback.

Chromium runs with ``--virtual-time-budget`` so the page's refresh timer fires without waiting in real time; the
server changes the store right after it served the first page, so a value in the dumped DOM that was not in that
page proves the refresh ran. ``--log-net-log`` records every request the browser made: each one the page started must
go to the master's loopback origin (the browser's own background requests are sent nowhere by
``--host-resolver-rules``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from master import db
from master.app import create_app
from master.embedded_server import start_in_thread
from tests.master.test_web import INVENTORY, insert_node, make_jobs

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
BROWSER_TIMEOUT_S = 90
VIRTUAL_TIME_MS = 12_000
"""Virtual milliseconds the page runs: two refreshes at the UI's 5 s."""

needs_chromium = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None, reason=f"{CHROMIUM} is absent (Debian package chromium)"
)


class ChangeAfterFirstPage:
    """WSGI middleware: records each request, and runs ``change`` once, right after the first ``GET /`` was built."""

    def __init__(self, wsgi_app, change):
        self.wsgi_app, self.change = wsgi_app, change
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.changed = False

    def __call__(self, environ, start_response):
        body = self.wsgi_app(environ, start_response)
        with self.lock:
            self.requests.append((environ.get("HTTP_HOST", ""), environ["PATH_INFO"]))
            first = environ["PATH_INFO"] == "/" and not self.changed
            self.changed = self.changed or first
        if first:
            self.change()
        return body


def chromium(url: str, profile: Path, netlog: Path, *mode: str) -> subprocess.CompletedProcess:
    """Run headless Chromium on ``url`` in ``mode`` (--dump-dom or --screenshot=...)."""
    argv = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-extensions",
        "--disable-default-apps",
        "--no-default-browser-check",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--log-net-log={netlog}",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1280,1000",
        f"--virtual-time-budget={VIRTUAL_TIME_MS}",
        *mode,
        url,
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=BROWSER_TIMEOUT_S)


def page_requests(netlog: Path) -> list[tuple[str, str]]:
    """(initiator, url) of every request the page itself started (browser-initiated ones have no origin)."""
    text = netlog.read_text()
    try:
        log = json.loads(text)
    except ValueError:  # Chromium killed mid-write leaves the closing brackets out
        log = json.loads(text.rstrip().rstrip(",") + "]}")
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    found = []
    for event in log["events"]:
        params = event.get("params") or {}
        if event["type"] == start and params.get("initiator", "not an origin") != "not an origin":
            found.append((params["initiator"], params["url"]))
    return found


@pytest.fixture
def served(tmp_path):
    """The app on a free loopback port with one node (87.5 W) and a campaign at 2 of 4 done."""
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "ffwatt.db"), "INSECURE": True})
    conn = db.connect(app.config["DATABASE"])
    insert_node(conn, "n-1", "bench-browser-01", watts=87.5, inventory=INVENTORY)
    _, ids = make_jobs(conn, ["succeeded", "succeeded", "running", "queued"], node_id="n-1", name="browser-ladder")

    def change():
        with db.write(conn):
            conn.execute("UPDATE nodes SET current_watts = 123.5 WHERE id = 'n-1'")
            conn.execute("UPDATE jobs SET state = 'succeeded', finished_at = ? WHERE id = ?", (time.time(), ids[2]))

    recorder = ChangeAfterFirstPage(app.wsgi_app, change)
    app.wsgi_app = recorder
    server = start_in_thread(app)
    yield server.url, recorder
    server.stop()
    conn.close()


@needs_chromium
def test_dashboard_renders_and_refreshes_in_chromium(served, tmp_path):
    """Chromium shows the node, and after the JS refresh its new watts and the campaign's new progress."""
    url, recorder = served
    netlog = tmp_path / "netlog.json"
    proc = chromium(url + "/", tmp_path / "profile", netlog, "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-3000:]
    dom = proc.stdout
    assert "bench-browser-01" in dom and "AMD EPYC 7443P" in dom
    assert "123.5 W" in dom and "87.5 W" not in dom
    assert "3 / 4 done (75%)" in dom and "2 / 4 done" not in dom
    assert re.search(r'<html[^>]* data-refreshed="\d+"', dom)
    assert [p for _, p in recorder.requests].count("/") >= 2
    assert {"/ui/static/ui.js", "/ui/static/ui.css"} <= {p for _, p in recorder.requests}


@needs_chromium
def test_no_request_leaves_loopback(served, tmp_path):
    """Every request the page makes goes to the master's loopback origin; the CSP reports no blocked load."""
    url, recorder = served
    netlog = tmp_path / "netlog.json"
    proc = chromium(url + "/", tmp_path / "profile", netlog, "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-3000:]
    requests = page_requests(netlog)
    assert requests, "the net log recorded no page request"
    assert all(initiator == url and target.startswith(url + "/") for initiator, target in requests), requests
    assert {url + "/ui/static/ui.js", url + "/ui/static/ui.css", url + "/"} <= {t for _, t in requests}
    assert "Content Security Policy" not in proc.stderr
    assert "Uncaught" not in proc.stderr
    assert {host for host, _ in recorder.requests} == {url.removeprefix("http://")}


@needs_chromium
def test_unknown_node_page_in_chromium(served, tmp_path):
    """An unknown node id renders the 404 page in the browser."""
    url, _ = served
    proc = chromium(url + "/ui/nodes/n-nope", tmp_path / "profile", tmp_path / "netlog.json", "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "404" in proc.stdout and "node n-nope not found" in proc.stdout
