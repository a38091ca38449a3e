"""The campaign file's JSON Schema (Draft 2020-12), built from the kind registry.

Each scenario is checked against its kind's fields through an ``if kind == K then ...`` branch per registered kind, so
errors keep their own paths. Fields a scenario may inherit from ``defaults`` are not ``required`` here; the checks
in ``checks.py`` look for them after merging.
"""

from __future__ import annotations

import copy
from typing import Any

from jsonschema import Draft202012Validator

from master.campaign.defaults import SPEC_VERSION
from wire.kinds import KINDS, Kind

NAME = {
    "type": "string",
    "pattern": r"^[a-z0-9][a-z0-9_.-]*\Z",
    "maxLength": 100,
    "description": "a name of lowercase letters, digits, '_', '.' and '-' such as 'quick'",
}
SCENARIO_NAME = {
    "type": "string",
    "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]*\Z",
    "maxLength": 100,
    "description": "a name of letters, digits, '_', '.' and '-' such as 'x264'",
}


def _matrix_schema(kind: Kind) -> dict[str, Any]:
    """A matrix: each key a field of the kind, each value a non-empty list of values valid for that field."""
    fields = kind.all_fields
    return {
        "type": "object",
        "minProperties": 1,
        "description": "a mapping of fields to lists of values",
        "properties": {
            name: {
                "type": "array",
                "minItems": 1,
                "uniqueItems": True,
                "items": fields[name],
                "description": f"a list of {name} values",
            }
            for name in kind.matrix_fields
        },
        "additionalProperties": False,
    }


def _kind_branch(kind: Kind) -> dict[str, Any]:
    """``if kind == K then`` the full field list of K, closed to any other key."""
    properties = {
        "name": SCENARIO_NAME,
        "kind": {"const": kind.name},
        **kind.all_fields,
        "matrix": _matrix_schema(kind),
    }
    return {
        "if": {"required": ["kind"], "properties": {"kind": {"const": kind.name}}},
        "then": {"properties": properties, "additionalProperties": False},
    }


def _defaults_schema() -> dict[str, Any]:
    """``defaults``: any field of any kind, checked against that field's schema."""
    fields: dict[str, Any] = {}
    for kind in KINDS.values():
        fields.update(kind.all_fields)
    return {
        "type": "object",
        "properties": fields,
        "additionalProperties": False,
        "description": "a mapping of scenario fields",
    }


def campaign_schema() -> dict[str, Any]:
    """The whole campaign file's schema, for the kinds registered now."""
    scenario = {
        "type": "object",
        "description": "a scenario mapping with name and kind",
        "required": ["name", "kind"],
        "properties": {"name": SCENARIO_NAME, "kind": {"enum": list(KINDS), "description": "a scenario kind"}},
        "allOf": [_kind_branch(kind) for kind in KINDS.values()],
    }
    return copy.deepcopy(
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "description": "a campaign mapping with name and scenarios",
            "required": ["name", "scenarios"],
            "properties": {
                "version": {"const": SPEC_VERSION, "description": "the campaign format version"},
                "name": NAME,
                "description": {"type": "string", "description": "a line of text"},
                "targets": {
                    "type": "array",
                    "minItems": 1,
                    "uniqueItems": True,
                    "items": {"type": "string", "minLength": 1, "description": "a host name or label"},
                    "description": "a list of host names or labels",
                },
                "pricing": {
                    "type": "string",
                    "minLength": 1,
                    "description": "a pricing file (pricing.yml or a JSON file), relative to the campaign file",
                },
                "defaults": _defaults_schema(),
                "scenarios": {"type": "array", "minItems": 1, "items": scenario, "description": "a list of scenarios"},
            },
            "additionalProperties": False,
        }
    )


def validator() -> Draft202012Validator:
    """A validator for :func:`campaign_schema` (the tests check the schema against the metaschema)."""
    return Draft202012Validator(campaign_schema())
