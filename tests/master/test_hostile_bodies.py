"""Bodies and query arguments no client should send: each one is a 4xx naming the problem, never a 500."""

from __future__ import annotations

import io
import json
import uuid

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from master import queue
from master.api import bodies
from tests.master.conftest import ENROLLMENT_TOKEN, bearer, job_spec

JSON = "application/json"


def _register(client, raw: str | bytes, content_type: str = JSON):
    return client.post("/nodes/register", data=raw, content_type=content_type, headers=bearer(ENROLLMENT_TOKEN))


def _claim(client, n):
    return client.get(f"/jobs/next?node_id={n.id}", headers=n.headers).get_json()["job"]


def test_deep_nesting_is_400_not_a_recursion_error(client):
    """A body nested 100,000 deep (the parser would recurse) is a 400 saying so; so is one just over the limit."""
    deep = "[" * 100_000 + "]" * 100_000
    resp = _register(client, deep)
    assert resp.status_code == 400 and "nest deeper than" in resp.get_json()["error"]
    over = '{"hostname": "h", "inventory": ' + '{"a": ' * bodies.MAX_DEPTH + "1" + "}" * bodies.MAX_DEPTH + "}"
    assert _register(client, over).status_code == 400


def test_nesting_within_the_limit_and_brackets_in_strings_are_fine(client):
    """Depth counts arrays and objects only: brackets inside strings (escaped quotes too) do not count."""
    depth = bodies.MAX_DEPTH - 1
    inventory = '{"a": ' * (depth - 1) + '"[[[{{{\\"]]]"' + "}" * (depth - 1)
    resp = _register(client, '{"hostname": "h", "inventory": ' + inventory + "}")
    assert resp.status_code == 201, resp.get_json()
    assert bodies.nesting_depth(b'["\\"[[[", {"]": [1]}]') == 3


def test_duplicate_keys_are_400_naming_the_key(client):
    """{"hostname": "a", "hostname": "b"} is refused: which one counts would be a guess."""
    resp = _register(client, '{"hostname": "a", "inventory": {"gpus": [], "gpus": [1]}}')
    assert resp.status_code == 400 and "duplicate key 'gpus'" in resp.get_json()["error"]
    assert client.get("/nodes").get_json()["nodes"] == []


def test_integer_beyond_int64_is_400_and_cannot_poison_the_report(client, node, make_campaign):
    """A 400-digit integer in a result's metrics is refused, so the report (which makes floats of it) still renders."""
    campaign_id = make_campaign(1)
    n = node()
    job = _claim(client, n)
    raw = (
        f'{{"job_id": "{job["id"]}", "attempt": 1, "node_id": "{n.id}", "status": "succeeded",'
        f' "metrics": {{"joules_per_frame": 1{"0" * 400}}}}}'
    )
    resp = client.post("/results", data=raw, content_type=JSON, headers=n.headers)
    assert resp.status_code == 400 and "out of range" in resp.get_json()["error"], resp.get_json()
    assert client.get(f"/campaigns/{campaign_id}/report").status_code == 200
    assert _register(client, f'{{"hostname": "h", "inventory": {{"n": {2**63}}}}}').status_code == 400
    assert _register(client, f'{{"hostname": "h", "inventory": {{"n": {2**63 - 1}}}}}').status_code == 201


def test_5000_digit_integer_is_400_without_pythons_own_limit_message(client):
    """Past Python's int-string conversion limit: a 400 saying the number is out of range, nothing about Python."""
    resp = _register(client, '{"hostname": "h", "max_concurrent_jobs": %s}' % ("9" * 5000))
    error = resp.get_json()["error"]
    assert resp.status_code == 400 and "out of range" in error and "int_max_str_digits" not in error
    assert len(error) < 200


@pytest.mark.parametrize(
    "raw, content_type, expected",
    [
        (b'{"hostname": "\xff\xfe"}', JSON, "not UTF-8"),
        ('{"hostname": "h"}', "text/plain", "Content-Type"),
        ('{"hostname": "\\ud800"}', JSON, "not valid JSON"),
        ('{"hostname": "h", "heartbeat_interval_s": NaN}', JSON, "NaN"),
        ('{"hostname": "h", "heartbeat_interval_s": 1e999}', JSON, "out of range"),
        ('{"hostname": "h",}', JSON, "not valid JSON"),
    ],
)
def test_unusable_bodies_are_400_saying_why(client, raw, content_type, expected):
    """Invalid UTF-8, the wrong Content-Type, lone surrogates, NaN, overflowing floats, broken JSON: 400 saying why."""
    resp = _register(client, raw, content_type)
    assert resp.status_code == 400 and expected in resp.get_json()["error"], resp.get_json()


def test_error_messages_quote_at_most_a_little_of_the_input(client):
    """A 1 MB hostname is refused without echoing the megabyte back."""
    resp = _register(client, json.dumps({"hostname": "x" * 1_000_000}))
    assert resp.status_code == 400 and len(resp.get_data()) < 1000


@pytest.mark.parametrize(
    "query",
    [
        "limit=" + "9" * 5000,
        "limit=99999999999999999999999",
        "limit=nan",
        "offset=-1",
        "offset=1e3",
        "state=%ff",
        "limit=%00",
    ],
)
def test_bad_query_arguments_are_400(client, query):
    """Huge, non-numeric, NaN or non-UTF-8 query arguments are a short 400 naming the argument."""
    resp = client.get(f"/jobs?{query}")
    assert resp.status_code == 400 and query.split("=")[0] in resp.get_json()["error"]
    assert len(resp.get_data()) < 300


def test_wait_nan_and_infinite_are_400(client, node):
    """?wait= must be a number within 0..60: nan, inf and 1e999 are refused."""
    n = node()
    for wait in ("nan", "inf", "-inf", "1e999", "%ff"):
        resp = client.get(f"/jobs/next?node_id={n.id}&wait={wait}", headers=n.headers)
        assert resp.status_code == 400 and "wait" in resp.get_json()["error"], wait


def test_chunked_body_over_the_limit_is_413_not_truncated(app, client, admin):
    """A body without Content-Length (chunked) larger than MAX_CONTENT_LENGTH is a JSON 413, not a cut-off 400."""
    app.config["MAX_CONTENT_LENGTH"] = 1000
    chunked = {**admin, "Transfer-Encoding": "chunked"}  # Content-Length is then ignored, as a server does
    padded = b'{"scenario": "720p-h264"' + b" " * 2000 + b"}"
    resp = client.post(
        "/jobs",
        input_stream=io.BytesIO(padded),
        content_type=JSON,
        headers=chunked,
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert resp.status_code == 413 and resp.get_json()["status"] == 413, resp.get_json()
    fits = b'{"scenario": "720p-h264"}'.ljust(1000)
    resp = client.post(
        "/jobs",
        input_stream=io.BytesIO(fits),
        content_type=JSON,
        headers=chunked,
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert resp.status_code == 201, resp.get_json()


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
"""Any JSON value, numbers beyond int64 and NaN/Infinity (which json.dumps writes) included."""

NESTED = st.tuples(st.integers(1, 3000), st.sampled_from([b"[", b'{"a":'])).map(
    lambda n: n[1] * n[0] + b"1" + (b"]" if n[1] == b"[" else b"}") * n[0]
)
"""Arrays or objects nested up to 3000 deep."""

RAW_BODIES = st.binary(max_size=300) | JSON_VALUES.map(lambda v: json.dumps(v).encode()) | NESTED

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _post_routes(client, node, admin) -> list[tuple[str, dict]]:
    n = node(f"fuzz-{uuid.uuid4().hex[:12]}")  # a new host each example: re-registering one may be refused
    return [
        ("/nodes/register", bearer(ENROLLMENT_TOKEN)),
        (f"/nodes/{n.id}/heartbeat", n.headers),
        ("/results", n.headers),
        ("/jobs", admin),
        ("/campaigns", admin),
        (f"/nodes/{n.id}/drain", admin),
    ]


@FUZZ
@given(raw=RAW_BODIES)
def test_any_bytes_to_any_post_route_is_never_a_5xx(client, node, admin, raw):
    """Random bytes or JSON of any shape, to every POST route with its token: a 2xx or a JSON 4xx, never a 5xx."""
    for path, headers in _post_routes(client, node, admin):
        resp = client.post(path, data=raw, content_type=JSON, headers=headers)
        assert resp.status_code < 500, (path, raw, resp.get_json())
        assert resp.status_code < 300 or resp.get_json()["error"], (path, raw)


@settings(FUZZ, max_examples=15, phases=[Phase.explicit, Phase.generate])  # each example renders a report
@given(
    metrics=st.dictionaries(
        st.sampled_from(["joules_per_frame", "avg_watts", "frames", "fps", "duration_s"]), JSON_VALUES, max_size=5
    )
)
def test_whatever_result_is_accepted_still_reports(client, node, conn, metrics):
    """A result the master accepts, whatever its metrics hold, leaves the campaign's results and report readable."""
    campaign_id = queue.create_campaign(
        conn,
        name="fuzz",
        description="",
        spec_text="name: fuzz",
        spec_path=None,
        jobs=[job_spec("v#1", encoder="libx264")],
    )
    n = node(f"fuzz-{campaign_id}")  # a fresh node each time: a refused result leaves the last one busy
    job = _claim(client, n)
    body = {"job_id": job["id"], "attempt": job["attempt"], "node_id": n.id, "status": "succeeded", "metrics": metrics}
    resp = client.post("/results", data=json.dumps(body), content_type=JSON, headers=n.headers)
    assert resp.status_code in (200, 400), resp.get_json()
    for path in (
        f"/campaigns/{campaign_id}/results",
        f"/campaigns/{campaign_id}/report",
        f"/campaigns/{campaign_id}/report.csv",
        f"/ui/jobs/{job['id']}",
        f"/ui/campaigns/{campaign_id}",
    ):
        assert client.get(path).status_code == 200, (path, metrics)
