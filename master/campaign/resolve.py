"""A scenario with its defaults merged: built-in defaults, then the campaign's ``defaults:``, then its own fields.

``bitrate`` and ``crf`` (any ``one_of`` group of the kind) inherit as a unit: a scenario that sets either one, in its
fields or its matrix, inherits neither from ``defaults``. Inputs are normalised to the job params' shape
(docs/WIRE.md): ``{"type": "lavfi", "source", "content", "size", "rate", "render"}`` (one of source and content set,
render ``prepared`` unless the campaign says ``inline``) or ``{"type": "file", "path": absolute}``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from master.campaign.defaults import FIELD_DEFAULTS
from wire.content import DEFAULT_RENDER
from wire.kinds import Kind

Origin = tuple[str | int, ...] | None
"""Path of the YAML node a value came from; None for a built-in default or an unset field."""


def input_path(value: str, base_dir: Path) -> Path:
    """A ``file:`` input as an absolute path; a relative one starts at the campaign file's directory, ``~`` at the home
    directory (left as written when there is no such user)."""
    path = Path(value)
    try:
        path = path.expanduser()
    except (RuntimeError, ValueError):  # ~nosuchuser, a NUL in the user name
        pass
    return Path(os.path.normpath(path if path.is_absolute() else base_dir / path))


def normalise_input(value: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    """An ``input:`` mapping in the job params' shape, every key present."""
    if "file" in value:
        return {"type": "file", "path": str(input_path(value["file"], base_dir))}
    return {
        "type": "lavfi",
        "source": value.get("source"),
        "content": value.get("content"),
        "size": value.get("size"),
        "rate": value.get("rate"),
        "render": value.get("render", DEFAULT_RENDER),
    }


def _normalise(field: str, value: Any, base_dir: Path) -> Any:
    return normalise_input(value, base_dir) if field == "input" and value is not None else value


def inherited(raw: dict[str, Any], defaults: dict[str, Any], kind: Kind) -> dict[str, Any]:
    """The campaign defaults this scenario takes: the kind's fields it does not set, ``one_of`` groups as a unit."""
    own = set(raw) | set(raw.get("matrix") or {})
    taken = {name: value for name, value in defaults.items() if name in kind.all_fields and name not in own}
    for group in kind.one_of:
        if own & set(group):
            for name in group:
                taken.pop(name, None)
    return taken


def resolve_scenario(
    raw: dict[str, Any], defaults: dict[str, Any], index: int, kind: Kind, base_dir: Path
) -> tuple[dict[str, Any], dict[str, Origin]]:
    """The scenario with every field present (None when unset), and where each value came from."""
    values: dict[str, Any] = {"name": raw["name"], "kind": kind.name}
    origins: dict[str, Origin] = {"name": ("scenarios", index, "name"), "kind": ("scenarios", index, "kind")}
    taken = inherited(raw, defaults, kind)
    for field in kind.all_fields:
        if field in raw:
            value, origins[field] = raw[field], ("scenarios", index, field)
        elif field in taken:
            value, origins[field] = taken[field], ("defaults", field)
        else:
            value, origins[field] = FIELD_DEFAULTS.get(field), None
        values[field] = _normalise(field, value, base_dir)
    matrix = raw.get("matrix") or {}
    values["matrix"] = {
        field: [_normalise(field, value, base_dir) for value in listed] for field, listed in matrix.items()
    }
    return values, origins
