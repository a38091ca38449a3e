"""Property-based (Hypothesis): whatever JSON a node posts as a result, the master answers 200, 400, 404 or 409, never
500; a 400 changes nothing in the database; and an accepted result never breaks the confidence decision, the
summaries, results.json, results.csv or the HTML report. Real Flask test client with tokens, real SQLite."""

from __future__ import annotations

import json
import uuid

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from master import queue
from master.analysis.summarize import summarize_run
from master.api.result_schema import METRICS
from master.reports.html import render_html
from master.reports.tabular import csv_text
from master.reports.writer import results_json
from master.rundata import load_run
from tests.master.api.test_result_schema import confidence_jobs, snapshot

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
NUMBERS = (
    st.none()
    | st.integers(min_value=0, max_value=2**63 - 1)
    | st.floats(min_value=0, allow_nan=False, allow_infinity=False)
)
NAMES = st.sampled_from(sorted(METRICS)) | st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True) | st.text(max_size=10)
METRIC_MAPS = st.dictionaries(NAMES, JSON, max_size=6) | st.dictionaries(
    st.sampled_from(sorted(METRICS)), NUMBERS, max_size=10
)
TOP = st.dictionaries(
    st.sampled_from(
        [
            "error",
            "started_at",
            "missing",
            "provenance",
            "baseline",
            "ffmpeg",
            "samples",
            "quality",
            "streams",
            "rungs",
            "density",
            "surprise",
        ]
    ),
    JSON,
    max_size=3,
)
READY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _claimed_pair(conn, make_campaign, node_id: str) -> tuple[str, list[dict]]:
    """A fresh confidence campaign with both of its runs claimed by the node."""
    cid = make_campaign(jobs=confidence_jobs())
    return cid, [queue.claim_next_job(conn, node_id), queue.claim_next_job(conn, node_id)]


def _readers(conn, cid: str) -> None:
    run = load_run(conn, cid)
    summary = summarize_run(run)
    json.loads(results_json(run, summary))
    csv_text(run)
    render_html(run, summary)


@READY
@given(metrics=METRIC_MAPS, top=TOP, failed=st.booleans())
def test_any_result_is_answered_without_a_500(client, conn, node, make_campaign, metrics, top, failed):
    """Random metrics and fields: 200/400/404/409 only; a 400 leaves the database as it was; after a 200 the other
    run's result, the reports and the summaries all work."""
    n = node(f"prop-{uuid.uuid4().hex[:8]}", max_concurrent_jobs=64)  # a live hostname is not re-registered
    cid, (job, other) = _claimed_pair(conn, make_campaign, n.id)
    body = {
        "job_id": job["id"],
        "attempt": job["attempt"],
        "node_id": n.id,
        "status": "failed" if failed else "succeeded",
        "error": "x" if failed else None,
        "metrics": metrics,
        **top,
    }
    before = snapshot(conn)
    resp = client.post("/results", json=body, headers=n.headers)
    assert resp.status_code in (200, 400, 404, 409), resp.get_data(as_text=True)[:500]
    event(f"answer {resp.status_code}")
    if resp.status_code == 400:
        assert snapshot(conn) == before and resp.get_json()["error"]
    if resp.status_code == 200:
        ok = {
            "job_id": other["id"],
            "attempt": other["attempt"],
            "node_id": n.id,
            "status": "succeeded",
            "metrics": {"joules_per_frame": 0.5},
        }
        assert client.post("/results", json=ok, headers=n.headers).status_code == 200
        _readers(conn, cid)
    queue.cancel_campaign(conn, cid)


@READY
@given(
    values=st.lists(
        st.floats(min_value=0, allow_nan=False, allow_infinity=False) | st.integers(min_value=0, max_value=2**63 - 1),
        min_size=2,
        max_size=2,
    )
)
def test_any_valid_joules_per_frame_pair_is_decided_and_reported(client, conn, node, make_campaign, values):
    """Two valid J/frame values, however extreme (0, 5e-324, 1.8e308, 2**63-1): both accepted, the variant decided,
    every report rendered."""
    n = node(f"prop-{uuid.uuid4().hex[:8]}", max_concurrent_jobs=64)  # a live hostname is not re-registered
    cid, jobs = _claimed_pair(conn, make_campaign, n.id)
    for job, value in zip(jobs, values):
        body = {
            "job_id": job["id"],
            "attempt": job["attempt"],
            "node_id": n.id,
            "status": "succeeded",
            "metrics": {"joules_per_frame": value, "dynamic_joules_per_frame": -value, "frames": 1},
        }
        assert client.post("/results", json=body, headers=n.headers).status_code == 200
    _readers(conn, cid)
    queue.cancel_campaign(conn, cid)
