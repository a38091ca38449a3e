"""Request bodies: parsed, size-limited and validated against a JSON schema; problems become 400s naming the field."""
from __future__ import annotations

from typing import Any

import jsonschema
from flask import abort, request
from werkzeug.exceptions import BadRequest


def _field(error: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "?"
        return f"{path}.{missing}" if path else missing
    if error.validator == "additionalProperties":
        extra = error.message.split("'")[1] if "'" in error.message else "?"
        return f"{path}.{extra}" if path else extra
    return path or "(body)"


def json_body(schema: dict[str, Any]) -> dict[str, Any]:
    """The request's JSON object, valid against ``schema``; aborts with 400 naming the first bad field."""
    body = request.get_json(silent=True)
    if body is None:
        abort(400, description="body: expected a JSON object (Content-Type: application/json)")
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        raise BadRequest(description=f"{_field(first)}: {first.message}")
    return body


def query_float(name: str, default: float, low: float, high: float) -> float:
    """A numeric query argument within [low, high]; 400 naming it otherwise."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        abort(400, description=f"{name}: expected a number, got {raw!r}")
    if not low <= value <= high:
        abort(400, description=f"{name}: must be between {low:g} and {high:g}")
    return value
