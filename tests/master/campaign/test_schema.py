"""The campaign schema and the kind registry it is built from."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from master.campaign import SpecError, expand, load_campaign_text
from master.campaign.schema import campaign_schema
from wire.kinds import COMMON_FIELDS, KINDS, Kind

DENSITY = """
name: d
scenarios:
  - name: dense
    kind: density
    streams: [1, 2]
    repetitions: 2
"""


def test_schema_is_valid_draft_2020_12():
    """The generated schema passes the Draft 2020-12 metaschema."""
    Draft202012Validator.check_schema(campaign_schema())


def test_every_field_is_described():
    """Each field has a description, which the problem messages quote."""
    for kind in KINDS.values():
        for name, field in kind.all_fields.items():
            assert field.get("description"), f"{kind.name}.{name}"


def test_a_registered_kind_slots_in(monkeypatch):
    """Registering a kind makes its scenarios valid and expandable, without touching the schema code."""
    density = Kind(
        name="density",
        fields={"streams": {"type": "integer", "minimum": 1, "description": "a number of streams"}},
        required=("streams",),
        requirements=(),
    )
    monkeypatch.setitem(KINDS, "density", density)
    with pytest.raises(SpecError, match=r"scenarios\[0\]\.streams: expected a number of streams, got a list"):
        load_campaign_text(DENSITY, "d.yml")
    jobs = expand(load_campaign_text(DENSITY.replace("streams: [1, 2]", "matrix: {streams: [1, 2]}"), "d.yml"))
    assert [job.name for job in jobs] == ["dense-1#1", "dense-1#2", "dense-2#1", "dense-2#2"]
    assert jobs[0].params == {"kind": "density", "streams": 1, "idle_baseline": 3, "sample_rate": 10, "timeout": 600}
    assert jobs[0].requirements == {"targets": ["local"]}


def test_common_fields_are_in_every_kind():
    """Every kind takes the common measurement fields, except baseline, which is an idle measurement itself."""
    for kind in KINDS.values():
        expected = set(COMMON_FIELDS) - ({"idle_baseline", "confidence"} if kind.name == "baseline" else set())
        assert expected <= set(kind.all_fields)
        assert "repetitions" not in kind.matrix_fields and "confidence" not in kind.matrix_fields
    assert "idle_baseline" not in KINDS["baseline"].all_fields
