"""Hostile bodies against the real service (``python -m master``: gunicorn, one worker): refused before they cost.

A big body without the right token is refused from its headers, unread, and the worker's memory does not grow by
it; a chunked body (no Content-Length) past MAX_CONTENT_LENGTH is a JSON 413, not a truncated body.
"""

from __future__ import annotations

import time

import psutil
import pytest
import requests

from tests.integration.procs import Cluster, start_master

pytestmark = pytest.mark.integration

MB = 1 << 20
BIG = 20 * MB
"""The unauthenticated body: well under MAX_CONTENT_LENGTH, so only the order of the checks refuses it early."""


@pytest.fixture
def master(tmp_path):
    procs = Cluster()
    yield procs.add(start_master(tmp_path, lease=60))
    procs.close()


class Body:
    """A chunked request body of ``total`` bytes that records how much of it the client managed to send."""

    def __init__(self, total: int, chunk: int = MB):
        self.total, self.chunk, self.consumed = total, chunk, 0

    def __iter__(self):
        while self.consumed < self.total:
            self.consumed += self.chunk
            yield b" " * self.chunk


def _worker(master) -> psutil.Process:
    return psutil.Process(master.pid).children(recursive=True)[0]


def _post(url: str, data, token: str | None) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(url, data=data, headers=headers, timeout=30)


def test_a_big_body_without_the_right_token_is_refused_unread(master):
    """20 MB to POST /results with no, an unknown or the admin token: 401/403 at once, the worker's RSS flat."""
    worker = _worker(master)
    requests.get(master.url + "/health", timeout=10)
    before = worker.memory_info().rss
    for token, status in ((None, 401), ("wrong", 401), (master.admin_token, 403), (master.enrollment_token, 403)):
        body = Body(BIG)
        started = time.monotonic()
        resp = _post(master.url + "/results", body, token)
        assert resp.status_code == status and resp.json()["status"] == status
        assert time.monotonic() - started < 5
        assert body.consumed < BIG, "the master read the whole unauthenticated body"
        resp = _post(master.url + "/results", b"x" * BIG, token)  # with a Content-Length this time
        assert resp.status_code == status
    grown = worker.memory_info().rss - before
    assert grown < 10 * MB, f"worker RSS grew by {grown / MB:.1f} MB answering unauthenticated bodies"


def test_chunked_body_over_the_limit_is_413_json(master):
    """A chunked 40 MB body with the admin token gets a JSON 413 (MAX_CONTENT_LENGTH is 32 MB), not a 400."""
    resp = _post(master.url + "/jobs", Body(40 * MB), master.admin_token)
    assert resp.status_code == 413 and resp.headers["Content-Type"] == "application/json"
    assert resp.json()["status"] == 413 and resp.headers["X-Content-Type-Options"] == "nosniff"
    resp = _post(master.url + "/jobs", iter([b'{"scenario": "720p-h264"}']), master.admin_token)
    assert resp.status_code == 201, resp.text
