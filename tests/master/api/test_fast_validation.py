"""The fast schema check (fastjsonschema) never accepts a body jsonschema refuses, on every schema a route validates
with (bench/result_validation.py measures how much faster it is)."""

from __future__ import annotations

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from master.api import bodies, campaigns, jobs, nodes
from master.api.result_schema import METRICS, RESULT_SCHEMA, STORED_VALIDATOR, stored_is_valid
from master.errors import InvalidInput

SCHEMAS = {
    "result": RESULT_SCHEMA,
    "submit_job": jobs.SUBMIT_SCHEMA,
    "register": nodes.REGISTER_SCHEMA,
    "heartbeat": nodes.HEARTBEAT_SCHEMA,
    "submit_campaign": campaigns.SUBMIT_SCHEMA,
    "stored_result": STORED_VALIDATOR.schema,
}

EDGES = st.sampled_from([True, False, 1.0, -0.0, 0, -1, 2**63 - 1, 2**63, 1e308, "", "x\n", "a" * 300, [], {}])
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | EDGES
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=8) | st.sampled_from(sorted(METRICS)), inner, max_size=3)
    ),
    max_leaves=8,
)
KEYS = st.sampled_from(sorted({key for schema in SCHEMAS.values() for key in schema.get("properties", {})}))
BODIES = st.dictionaries(KEYS, JSON, max_size=6) | st.fixed_dictionaries(
    {"job_id": st.just("j"), "attempt": st.just(1), "node_id": st.just("n"), "status": st.just("succeeded")},
    optional={
        "metrics": st.dictionaries(st.sampled_from(sorted(METRICS)), SCALARS, max_size=6),
        "samples": st.lists(st.dictionaries(st.sampled_from(["t", "watts", "total_watts"]), JSON), max_size=3),
        "streams": st.lists(st.dictionaries(st.sampled_from(["index", "bitrate", "frames"]), SCALARS), max_size=2),
    },
)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_route_schema_has_a_fast_check(name):
    """Each route schema compiles for the fast path (none uses a keyword it cannot check)."""
    assert bodies.fast_validator(SCHEMAS[name]) is not None


@settings(max_examples=400, deadline=None)
@given(name=st.sampled_from(sorted(SCHEMAS)), body=BODIES)
def test_fast_check_never_accepts_what_jsonschema_refuses(name, body):
    """Whatever the body, accepted by the fast check means valid for jsonschema (the reference)."""
    schema = SCHEMAS[name]
    valid = jsonschema.Draft202012Validator(schema).is_valid(body)
    try:
        bodies.check(body, schema)
        accepted = True
    except InvalidInput:
        accepted = False
    assert accepted == valid


@settings(max_examples=200, deadline=None)
@given(body=BODIES)
def test_stored_results_are_judged_as_jsonschema_judges_them(body):
    """A stored result read for a report or the campaign page is valid exactly when jsonschema says so."""
    assert stored_is_valid(body) == STORED_VALIDATOR.is_valid(body)
