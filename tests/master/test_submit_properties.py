"""Property-based: whatever body comes to ``POST /jobs`` or ``POST /campaigns``, the answer is 201 or 400, never a 500
(Hypothesis; bounded examples, one app per test)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from master.presets import FIELDS, PRESETS

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(
        [
            "2500k",
            "2500k\n",
            "1280x720",
            "1280x720\n",
            "ultrafast",
            "libsvtav1",
            "libx264",
            "h264_qsv",
            "testsrc2",
            "/etc/shadow",
            "auto",
        ]
    ),
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
INPUTS = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {"type": st.sampled_from(["lavfi", "file", "x"])},
        optional={"source": JSON_SCALARS, "size": JSON_SCALARS, "rate": JSON_SCALARS, "path": JSON_SCALARS},
    ),
)
PARAMETERS = st.one_of(
    JSON,
    st.dictionaries(st.sampled_from(FIELDS), JSON_SCALARS, max_size=5),
    st.fixed_dictionaries(
        {}, optional={"input": INPUTS, "duration": JSON_SCALARS, "bitrate": JSON_SCALARS, "crf": JSON_SCALARS}
    ),
)
BODIES = st.fixed_dictionaries(
    {"scenario": st.one_of(st.sampled_from(list(PRESETS)), JSON_SCALARS)},
    optional={
        "parameters": PARAMETERS,
        "confidence": st.one_of(st.sampled_from(["auto", "high", "low"]), JSON),
        "priority": JSON_SCALARS,
        "targets": JSON,
        "labels": JSON,
        "other": JSON,
    },
)


@SETTINGS
@given(body=BODIES)
def test_any_body_is_201_or_400(client, admin, body):
    """A random body is queued (201) or refused with a reason naming a field (400)."""
    resp = client.post("/jobs", json=body, headers=admin)
    assert resp.status_code in (201, 400), (body, resp.get_data(as_text=True))
    if resp.status_code == 400:
        assert resp.get_json()["error"]


@SETTINGS
@given(body=JSON)
def test_any_json_is_201_or_400(client, admin, body):
    """Any JSON value at all is answered 400 (or, by luck, 201), never 500."""
    assert client.post("/jobs", json=body, headers=admin).status_code in (201, 400)


YAMLISH = st.text(alphabet=st.sampled_from(list("ab:-[]{}&*!|>'\"#\n \t01.~\x08\x00\u2028é")), max_size=60)


QUICK = (
    "name: p\nscenarios:\n  - {name: a, kind: transcode, input: {file: clip.mp4}, encoder: libx264, bitrate: 1k,"
    " duration: 1}\n"
)


@SETTINGS
@given(text=st.one_of(YAMLISH, st.text(max_size=60)), spec_path=st.one_of(st.none(), st.text(max_size=30)))
def test_any_spec_text_is_201_or_400(client, admin, text, spec_path):
    """Any spec_text (control characters and YAML punctuation included) and spec_path are answered 201 or 400."""
    for spec_text in ("name: p\nscenarios:\n" + text, text or "x", QUICK):
        resp = client.post("/campaigns", json={"spec_text": spec_text, "spec_path": spec_path}, headers=admin)
        assert resp.status_code in (201, 400), (spec_text, spec_path, resp.get_data(as_text=True))
