"""Request bodies and query arguments: size-limited, parsed strictly and validated against a JSON schema; problems
become 400s (:class:`~master.errors.InvalidInput`) naming the field, a body too large a 413."""

from __future__ import annotations

import itertools
import json
import math
import operator
import re
import threading
from typing import Any

import fastjsonschema
import jsonschema
from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from master import auth
from master.errors import InvalidInput

MESSAGE_CHARS = 300
"""Longest quote of the client's own input in an error message."""


def _field(error: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "?"
        return f"{path}.{missing}" if path else missing
    if error.validator == "additionalProperties":
        extra = error.message.split("'")[1] if "'" in error.message else "?"
        return f"{path}.{extra}" if path else extra
    return path or "(body)"


def _clip(text: str) -> str:
    return text if len(text) <= MESSAGE_CHARS else f"{text[:MESSAGE_CHARS]}... ({len(text)} characters)"


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKETS = bytes(range(256)).translate(None, b"[]{}")
_NESTING = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")
_WHOLE = re.compile(r"[+-]?[0-9]+")

MAX_DEPTH = 32
"""Deepest nesting of arrays and objects a JSON body may have (results need 4; the parser recurses)."""

INT_RANGE = (-(2**63), 2**63 - 1)
"""Integers a body may hold: what SQLite stores as an integer (int64)."""

_INT_DIGITS = len(str(2**63))
"""An integer written with more digits is out of range whatever its value (and never reaches ``int()``)."""


class _Refused(ValueError):
    """Valid JSON that cannot be taken: the message says why."""


class _OutOfRange(str):
    """A number out of range (an integer beyond int64, a float that overflows), kept as its text while parsing so
    the refusal can name where it is."""


def _no_constant(name: str) -> None:
    raise _Refused(f"{name} is not a JSON number")


def _finite(text: str) -> float | _OutOfRange:
    value = float(text)
    return value if math.isfinite(value) else _OutOfRange(text)


def _int64(text: str) -> int | _OutOfRange:
    value = int(text) if len(text.lstrip("-")) <= _INT_DIGITS else None
    if value is None or not INT_RANGE[0] <= value <= INT_RANGE[1]:
        return _OutOfRange(text)
    return value


def _out_of_range(value: Any, path: tuple = ()) -> tuple[tuple, str] | None:
    """(path, text) of the first number out of range in ``value``, or None."""
    if isinstance(value, _OutOfRange):
        return path, str(value)
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        if isinstance(child, (dict, list, _OutOfRange)) and (found := _out_of_range(child, (*path, key))):
            return found
    return None


def _refuse_out_of_range(body: Any) -> None:
    found = _out_of_range(body)
    if found is not None:
        path, text = found
        shown = text if len(text) <= 24 else f"{text[:12]}... ({len(text)} characters)"
        field = ".".join(str(p) for p in path) or "body"
        what = "integer" if _WHOLE.fullmatch(text) else "number"
        limit = "64-bit integers only" if what == "integer" else "finite double-precision numbers only"
        raise InvalidInput(f"{_clip(field)}: {what} {shown} is out of range ({limit})")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise _Refused(f"duplicate key {_clip(repr(duplicate))} in an object")
    return found


def nesting_depth(data: bytes) -> int:
    """How deep arrays and objects nest in the JSON text ``data``, found without parsing it (no recursion)."""
    brackets = _STRING.sub(b"", data).translate(None, _BRACKETS).translate(_NESTING)
    return max(itertools.accumulate(map(operator.sub, brackets, itertools.repeat(1))), default=0)


def read_body() -> bytes:
    """The raw request body, at most MAX_CONTENT_LENGTH bytes: 413 when it is larger, chunked or not.

    Werkzeug cuts a body without Content-Length (chunked) off at the limit and hands over what it read as if that
    were all; reading one byte past the limit tells a body that is too large from one that fits exactly."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is not None and request.content_length is None and "stream" not in request.__dict__:
        request.max_content_length = limit + 1
    data = request.get_data(cache=True)
    if limit is not None and len(data) > limit:
        raise RequestEntityTooLarge(f"body: larger than the {limit} bytes this master accepts")
    return data


def loads(data: bytes) -> Any:
    """``data`` as JSON, refused (InvalidInput) unless it is UTF-8, at most :data:`MAX_DEPTH` deep, free of
    duplicate keys, NaN/Infinity, numbers out of range (floats that overflow, integers beyond int64) and unpaired
    surrogates: none of them can be stored."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"body: not UTF-8 ({exc})") from None
    if nesting_depth(data) > MAX_DEPTH:
        raise InvalidInput(f"body: arrays and objects nest deeper than {MAX_DEPTH}")
    out_of_range: list[_OutOfRange] = []

    def noted(convert):  # so that only a body holding such a number is walked to find where
        def parse(number: str) -> Any:
            value = convert(number)
            if isinstance(value, _OutOfRange):
                out_of_range.append(value)
            return value

        return parse

    try:
        body = json.loads(
            text,
            parse_constant=_no_constant,
            parse_float=noted(_finite),
            parse_int=noted(_int64),
            object_pairs_hook=_unique_keys,
        )
        if _SURROGATE_ESCAPE.search(data):
            json.dumps(body, ensure_ascii=False).encode()
    except _Refused as exc:
        raise InvalidInput(f"body: {exc}") from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeEncodeError (a lone surrogate)
        raise InvalidInput(f"body: not valid JSON ({_clip(str(exc))})") from None
    if out_of_range:
        _refuse_out_of_range(body)
    return body


def parse_json() -> Any:
    """The request body as JSON (see :func:`loads`); 400 saying why it cannot be taken, 413 when it is too large.

    A route that takes its node from the body (``auth.require_node("body")``) refuses (403) a body naming another
    node than its token's."""
    if not request.is_json:
        raise InvalidInput("body: expected a JSON object (Content-Type: application/json)")
    body = loads(read_body())
    auth.check_body_node(body)
    return body


FAST_KEYWORDS = frozenset(
    {
        "type",
        "enum",
        "const",
        "properties",
        "additionalProperties",
        "patternProperties",
        "propertyNames",
        "required",
        "items",
        "minItems",
        "maxItems",
        "minLength",
        "maxLength",
        "minProperties",
        "maxProperties",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "pattern",
        "oneOf",
        "anyOf",
        "allOf",
        "not",
        "if",
        "then",
        "else",
        "description",
        "title",
        "default",
        "examples",
    }
)
"""Schema keywords fastjsonschema's draft-07 code checks as jsonschema's Draft 2020-12 does. A schema using any other
is checked by jsonschema alone."""

ERRORS_SORTED = 100
"""Schema errors collected to name the first field of a refused body (a junk body can hold hundreds of thousands)."""

_FAST: dict[int, tuple[dict, Any]] = {}
_FAST_GUARD = threading.Lock()


def _keywords(schema: Any) -> set[str]:
    """Every keyword used anywhere in ``schema`` (the names under properties/patternProperties are not keywords)."""
    if isinstance(schema, list):
        return set().union(*map(_keywords, schema)) if schema else set()
    if not isinstance(schema, dict):
        return set()
    found = set(schema)
    for key, value in schema.items():
        if key in ("properties", "patternProperties"):
            found |= _keywords(list(value.values()))
        elif key not in ("enum", "const", "required", "type", "description", "default", "examples", "title"):
            found |= _keywords(value)
    return found


def fast_validator(schema: dict[str, Any]) -> Any:
    """``schema`` compiled by fastjsonschema (about 20 times faster on a result's samples), or None when it uses a
    keyword outside :data:`FAST_KEYWORDS`. Compiled once per schema object."""
    with _FAST_GUARD:
        cached = _FAST.get(id(schema))
        if cached is None or cached[0] is not schema:
            usable = _keywords(schema) <= FAST_KEYWORDS
            cached = _FAST[id(schema)] = (schema, fastjsonschema.compile(schema) if usable else None)
    return cached[1]


def check(body: Any, schema: dict[str, Any]) -> None:
    """Refuse (InvalidInput, naming the first bad field) a ``body`` that breaks ``schema``.

    fastjsonschema decides first when it can (:func:`fast_validator`); a body it accepts is accepted. jsonschema is
    the reference: it names the field of a refused body, and a body it finds valid after all is accepted."""
    fast = fast_validator(schema)
    if fast is not None:
        try:
            fast(body)
            return
        except fastjsonschema.JsonSchemaException:
            pass
    errors = itertools.islice(jsonschema.Draft202012Validator(schema).iter_errors(body), ERRORS_SORTED)
    first = min(errors, key=lambda e: list(map(str, e.absolute_path)), default=None)
    if first is not None:
        raise InvalidInput(f"{_clip(_field(first))}: {_clip(first.message)}")


def json_body(schema: dict[str, Any]) -> dict[str, Any]:
    """The request's JSON object, valid against ``schema``; 400 naming the first bad field otherwise."""
    body = parse_json()
    check(body, schema)
    return body


def query_float(name: str, default: float, low: float, high: float) -> float:
    """A numeric query argument within [low, high]; 400 naming it otherwise."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(f"{name}: expected a number, got {_clip(repr(raw))}") from None
    if not low <= value <= high:  # also refuses nan
        raise InvalidInput(f"{name}: must be between {low:g} and {high:g}")
    return value


def query_int(name: str, default: int, low: int, high: int) -> int:
    """A whole-number query argument within [low, high]; 400 naming it otherwise."""
    raw = request.args.get(name)
    if raw is None:
        return default
    text = raw.strip()
    if not _WHOLE.fullmatch(text):
        raise InvalidInput(f"{name}: expected a whole number, got {_clip(repr(raw))}")
    value = int(text) if len(text) <= _INT_DIGITS + 1 else None
    if value is None or not low <= value <= high:
        raise InvalidInput(f"{name}: must be between {low} and {high}")
    return value
