"""Request bodies: parsed, size-limited and validated against a JSON schema; problems become 400s naming the field."""
from __future__ import annotations

import json
import math
import re
from typing import Any

import jsonschema
from flask import abort, request
from werkzeug.exceptions import BadRequest

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")


def _field(error: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "?"
        return f"{path}.{missing}" if path else missing
    if error.validator == "additionalProperties":
        extra = error.message.split("'")[1] if "'" in error.message else "?"
        return f"{path}.{extra}" if path else extra
    return path or "(body)"


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} is out of range")
    return value


def parse_json() -> Any:
    """The request body as JSON: no NaN/Infinity, no number that overflows, no unpaired surrogate (none of them
    can be stored); 400 saying why otherwise, 413 (from the server's limit) when it is too large."""
    if not request.is_json:
        abort(400, description="body: expected a JSON object (Content-Type: application/json)")
    data = request.get_data(cache=True)
    try:
        body = json.loads(data, parse_constant=_no_constant, parse_float=_finite)
        if _SURROGATE_ESCAPE.search(data):
            json.dumps(body, ensure_ascii=False).encode()
    except ValueError as exc:  # JSONDecodeError, UnicodeError
        abort(400, description=f"body: not valid JSON ({exc})")
    return body


def json_body(schema: dict[str, Any]) -> dict[str, Any]:
    """The request's JSON object, valid against ``schema``; aborts with 400 naming the first bad field."""
    body = parse_json()
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


def query_int(name: str, default: int, low: int, high: int) -> int:
    """A whole-number query argument within [low, high]; 400 naming it otherwise."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        abort(400, description=f"{name}: expected a whole number, got {raw!r}")
    if not low <= value <= high:
        abort(400, description=f"{name}: must be between {low} and {high}")
    return value
