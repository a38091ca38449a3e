"""Property-based: whatever text comes in, the campaign loader answers a Campaign or a SpecError with problems, and
never raises anything else (Hypothesis; bounded examples)."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from master.campaign.spec import Campaign, SpecError, load_campaign_text
from wire.kinds import KINDS

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(
        [
            "2500k\n",
            "1280x720",
            "1280x720\n",
            "testsrc2",
            "libx264",
            "auto",
            "medium",
            "ultrafast",
            "1e300",
            ".inf",
            "",
            "~",
            "*a",
            "&a",
        ]
    ),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
FIELD_NAMES = sorted({name for kind in KINDS.values() for name in kind.all_fields} | {"matrix", "name", "kind"})


def _loads(text: str) -> None:
    try:
        result = load_campaign_text(text, "prop.yml")
    except SpecError as error:
        assert error.problems and all(problem.line >= 1 for problem in error.problems)
    else:
        assert isinstance(result, Campaign)


@st.composite
def scenarios(draw) -> dict:
    """A scenario-shaped mapping: a kind, a name, then fields of any kind with any values (a matrix of lists)."""
    scenario = {"name": draw(st.sampled_from(["x264", "a", "X Y", ""])), "kind": draw(st.sampled_from([*KINDS, 3]))}
    for field in draw(st.lists(st.sampled_from(FIELD_NAMES), max_size=6, unique=True)):
        if field == "matrix":
            scenario[field] = draw(
                st.dictionaries(st.sampled_from(FIELD_NAMES), st.lists(VALUES, max_size=3), max_size=3)
            )
        else:
            scenario[field] = draw(VALUES)
    return scenario


@SETTINGS
@given(
    st.dictionaries(
        st.sampled_from(["name", "version", "targets", "defaults", "scenarios", "other"]), VALUES, max_size=5
    )
)
def test_any_yaml_mapping(data):
    """A YAML document of any mapping loads or is refused with problems."""
    _loads(yaml.safe_dump(data))


@SETTINGS
@given(st.lists(scenarios(), min_size=1, max_size=3), st.dictionaries(st.sampled_from(FIELD_NAMES), VALUES, max_size=3))
def test_campaign_shaped_documents(items, defaults):
    """Campaign-shaped documents with random fields and values load or are refused with problems."""
    _loads(yaml.safe_dump({"name": "prop", "defaults": defaults, "scenarios": items}))


@SETTINGS
@given(st.text(alphabet=st.sampled_from(list("abc:-[]{}&*!|>'\"#%@`,?\n \t01.~")), max_size=80))
def test_yaml_ish_text(text):
    """Text made of YAML's punctuation (anchors, aliases, tags, flow and block styles) never escapes as another
    exception."""
    _loads("name: prop\nscenarios:\n" + text)
    _loads(text)


@SETTINGS
@given(st.text(max_size=60))
def test_any_text(text):
    """Any unicode text loads or is refused with problems."""
    _loads(text)


@SETTINGS
@given(st.one_of(st.text(max_size=40), st.text(alphabet="a/~.\x00", min_size=1, max_size=300)))
def test_any_file_input_name(name):
    """Any file input name (NUL, ~user, '..', names too long) loads or is refused with problems."""
    scenario = {
        "name": "a",
        "kind": "transcode",
        "input": {"file": name},
        "encoder": "libx264",
        "bitrate": "1k",
        "duration": 1,
    }
    _loads(yaml.safe_dump({"name": "files", "scenarios": [scenario]}))
