"""JSON Schema errors turned into problems a person can act on, each at the YAML node it is about.

jsonschema finds the errors; this module only words them: which key, what was expected (from the schema's
``description``), what was found, and the closest known names for a misspelt one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

from jsonschema import ValidationError

from master.campaign.errors import Problem
from master.campaign.yamldoc import Document
from wire.encoders import suggest

SHOWN_CHARS = 60
"""Most characters of a value a problem repeats."""

TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "nothing",
}


def schema_problems(document: Document, errors: list[ValidationError]) -> Iterator[Problem]:
    """Each schema error as problems: one per unknown key, one for anything else."""
    for error in errors:
        path = list(error.absolute_path)
        if error.validator == "additionalProperties":
            known = error.schema.get("properties", {})
            for extra in (key for key in error.instance if key not in known):
                yield document.problem([*path, extra], _unknown_key(document, path, extra, known), at_key=True)
        elif error.validator == "oneOf":
            yield from _one_of(document, error)
        elif error.validator == "required":
            for missing in (key for key in error.validator_value if key not in error.instance):
                yield document.problem([*path, missing], "missing required key")
        else:
            yield document.problem(path, _message(error))


def _one_of(document: Document, error: ValidationError) -> Iterator[Problem]:
    """A value matching none of its forms (``confidence: very``): worded by the form of the same type as the value,
    so a mapping is checked key by key and a name against the known names."""
    same_type = [
        sub
        for sub in error.context or []
        if isinstance(error.instance, str | dict)
        and sub.validator != "type"
        and _form_of(sub) == isinstance(error.instance, dict)
    ]
    if same_type:
        yield from schema_problems(document, same_type)
    else:
        yield document.problem(list(error.absolute_path), f"expected {_expected(error)}, got {_found(error.instance)}")


def _form_of(sub: ValidationError) -> bool:
    """True when a oneOf sub-error comes from a mapping form of the schema."""
    schema = sub.schema if isinstance(sub.schema, dict) else {}
    return schema.get("type") == "object" or "properties" in schema or bool(sub.relative_path)


def _unknown_key(document: Document, path: list, extra: Any, known: dict) -> str:
    """``unknown key``, or in a matrix ``not a field a <kind> matrix can vary``, with the closest known keys."""
    if path and path[-1] == "matrix":
        kind = document.data["scenarios"][path[1]]["kind"]
        message = f"not a field a {kind} scenario can vary in its matrix"
    else:
        message = "unknown key"
    hint = suggest(str(extra), known) or "expected one of: " + ", ".join(known)
    return f"{message}; {hint}"


def _message(error: ValidationError) -> str:
    """The error in words, by the JSON Schema keyword that failed."""
    wording = _WORDING.get(str(error.validator))
    return wording(error) if wording else error.message


def _expected(error: ValidationError) -> str:
    """What the schema wanted: its ``description``, else its types in words."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    if "description" in schema:
        return schema["description"]
    types = schema.get("type", [])
    return " or ".join(TYPE_WORDS.get(name, name) for name in ([types] if isinstance(types, str) else types))


def _found(value: Any) -> str:
    """A YAML value and what it is, in the words a campaign author uses."""
    if isinstance(value, (dict, list)) or value is None:
        return {dict: "a mapping", list: "a list"}.get(type(value), "nothing (null)")
    if isinstance(value, bool):
        return f"{str(value).lower()} (true or false)"
    words = {int: "a whole number", float: "a number", str: "a string", date: "a date"}
    shown = _short(value)
    return f"{shown} ({words.get(type(value), type(value).__name__)})"


def _short(value: Any) -> str:
    """A value as a problem shows it: a string quoted, at most :data:`SHOWN_CHARS` characters of it."""
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= SHOWN_CHARS else f"{text[:SHOWN_CHARS]}... ({len(text)} characters)"


def _field(error: ValidationError) -> str:
    """The name of the field an error is about: the last key on its path."""
    return next((part for part in reversed(error.absolute_path) if isinstance(part, str)), "value")


def _enum(error: ValidationError) -> str:
    """An unknown name, with the closest known names or else all of them."""
    field = _field(error)
    choices = [str(choice) for choice in error.validator_value]
    hint = suggest(str(error.instance), choices) or "expected one of: " + ", ".join(choices)
    return f"unknown {field} {_short(error.instance)}; {hint}"


_WORDING: dict[str, Callable[[ValidationError], str]] = {
    "type": lambda e: f"expected {_expected(e)}, got {_found(e.instance)}",
    "pattern": lambda e: f"{_short(e.instance)} is not {_expected(e)}",
    "enum": _enum,
    "const": lambda e: f"unsupported {_field(e)} {_short(e.instance)}; expected {e.validator_value!r}",
    "minimum": lambda e: f"must be at least {e.validator_value}, got {e.instance!r}",
    "maximum": lambda e: f"must be at most {e.validator_value}, got {e.instance!r}",
    "exclusiveMinimum": lambda e: f"must be greater than {e.validator_value}, got {e.instance!r}",
    "maxLength": lambda e: f"must be at most {e.validator_value} characters, got {len(e.instance)}",
    "maxItems": lambda e: f"must list at most {e.validator_value}, got {len(e.instance)}",
    "minItems": lambda e: "must not be empty",
    "minProperties": lambda e: "must not be empty",
    "minLength": lambda e: "must not be empty",
    "uniqueItems": lambda e: "lists the same value twice",
    "not": lambda e: _expected(e),
}
