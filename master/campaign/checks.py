"""Checks JSON Schema cannot express: fields inherited from ``defaults``, one-of groups across the scenario, its
matrix and ``defaults``, ``repetitions`` or ``confidence`` (not both) and confidence's min <= max, unique names,
input files on disk, and each variant's preset and crf against its encoder.

Every check tolerates data the schema rejected (it looks only at what it can use), so one run reports every problem;
the per-variant checks run only on scenarios the schema passed, and only in a campaign within its job cap
(master/campaign/jobcount.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from master.campaign.confidence import DEFAULT_MAX, DEFAULT_MIN
from master.campaign.errors import Problem, key_of
from master.campaign.expand import variants
from master.campaign.jobcount import DEFAULT_MAX_JOBS, job_count_problems
from master.campaign.resolve import input_path, resolve_scenario
from master.campaign.yamldoc import Document
from wire.encoders import ENCODERS
from wire.kinds import KINDS, Kind


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def semantic_problems(
    document: Document,
    base_dir: Path,
    schema_paths: Iterable[tuple],
    max_jobs: int = DEFAULT_MAX_JOBS,
    check_files: bool = True,
) -> Iterator[Problem]:
    """Every problem the schema cannot see; ``schema_paths`` are the paths the schema already rejected. A campaign
    of more than ``max_jobs`` jobs is said so, and its variants are never expanded. ``check_files``: look for
    ``file:`` inputs on this machine."""
    too_many = list(job_count_problems(document, max_jobs))
    yield from too_many
    yield from document.duplicate_keys
    yield from _non_finite(document)
    data = document.data
    if not isinstance(data, dict):
        return
    defaults = _mapping(data.get("defaults"))
    scenarios = data.get("scenarios") if isinstance(data.get("scenarios"), list) else []
    yield from _defaults_one_of(document, defaults)
    yield from _confidence_problems(document, ("defaults",), defaults)
    for index, raw in enumerate(scenarios):
        name = _mapping(raw).get("kind")
        kind = KINDS.get(name) if isinstance(name, str) else None
        if kind is None or "confidence" in kind.all_fields:
            yield from _confidence_problems(document, ("scenarios", index), _mapping(raw))
    yield from _duplicate_names(document, scenarios)
    if check_files:
        yield from _input_files(document, base_dir, defaults, scenarios)
    if too_many:
        return
    bad = {tuple(path[:2]) for path in schema_paths}
    defaults_ok = not any(path[:1] == ("defaults",) for path in bad)
    for index, raw in enumerate(scenarios):
        if isinstance(raw, dict) and isinstance(raw.get("kind"), str) and raw["kind"] in KINDS:
            kind = KINDS[raw["kind"]]
            yield from _matrix_overlap(document, index, raw, kind)
            yield from _scenario_one_of(document, index, raw, defaults, kind)
            yield from _required(document, index, raw, defaults, kind)
            if defaults_ok and ("scenarios", index) not in bad:
                yield from _variant_problems(document, index, raw, defaults, kind, base_dir)
    if not bad:
        yield from _duplicate_variants(document, scenarios, defaults, base_dir)


def _numbers(value: Any, path: tuple, seen: set[int]) -> Iterator[tuple[tuple, float]]:
    """(path, value) of every float in the data; each container once (YAML aliases can make cycles)."""
    if isinstance(value, float):
        yield path, value
    elif isinstance(value, dict | list) and id(value) not in seen:
        seen.add(id(value))
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            yield from _numbers(item, (*path, key), seen)


def _non_finite(document: Document) -> Iterator[Problem]:
    """``.inf`` and ``.nan``: YAML numbers no field can use, which JSON Schema's comparisons let through."""
    for path, value in _numbers(document.data, (), set()):
        if not math.isfinite(value):
            yield document.problem(path, f"expected a finite number, got {value}")


def _defaults_one_of(document: Document, defaults: dict[str, Any]) -> Iterator[Problem]:
    """``defaults`` setting both fields of a one-of group (bitrate and crf)."""
    for kind in KINDS.values():
        for group in kind.one_of:
            both = [field for field in group if field in defaults]
            if len(both) > 1:
                yield document.problem(("defaults", both[1]), f"set only one of {' or '.join(group)}, not both")


def _confidence_problems(document: Document, where: tuple, mapping: dict[str, Any]) -> Iterator[Problem]:
    """``repetitions`` and ``confidence`` both set in one mapping (a scenario, or ``defaults``), and a
    ``confidence`` whose ``min`` is above its ``max`` (given, or the default)."""
    value = mapping.get("confidence")
    if "confidence" in mapping and "repetitions" in mapping:
        line = document.locate((*where, "repetitions"), at_key=True).start_mark.line + 1
        yield document.problem(
            (*where, "confidence"), f"set only one of repetitions (line {line}) or confidence, not both", at_key=True
        )
    if not isinstance(value, dict):
        return
    low, high = value.get("min", DEFAULT_MIN), value.get("max", DEFAULT_MAX)
    whole = all(isinstance(n, int) and not isinstance(n, bool) for n in (low, high))
    if whole and low > high:
        if "min" in value:
            said = f"max {high}" if "max" in value else f"max {high} (the default; set max too)"
            yield document.problem((*where, "confidence", "min"), f"min {low} is more than {said}")
        else:
            yield document.problem(
                (*where, "confidence", "max"), f"max {high} is less than min {low} (the default; set min too)"
            )


def _duplicate_names(document: Document, scenarios: list) -> Iterator[Problem]:
    """A scenario named like an earlier one."""
    first: dict[str, int] = {}
    for index, raw in enumerate(scenarios):
        name = _mapping(raw).get("name")
        if not isinstance(name, str):
            continue
        if name in first:
            line = document.locate(("scenarios", first[name], "name")).start_mark.line + 1
            yield document.problem(
                ("scenarios", index, "name"), f"duplicate scenario name {name!r} (first at line {line})"
            )
        else:
            first[name] = index


def _input_locations(defaults: dict[str, Any], scenarios: list) -> Iterator[tuple[tuple, Any]]:
    """(path, value) of every ``input:`` written: in defaults, in scenarios, in matrices."""
    yield ("defaults", "input"), defaults.get("input")
    for index, raw in enumerate(scenarios):
        raw = _mapping(raw)
        yield ("scenarios", index, "input"), raw.get("input")
        listed = _mapping(raw.get("matrix")).get("input")
        for item, value in enumerate(listed if isinstance(listed, list) else []):
            yield ("scenarios", index, "matrix", "input", item), value


def _input_files(document: Document, base_dir: Path, defaults: dict[str, Any], scenarios: list) -> Iterator[Problem]:
    """A ``file:`` input that does not exist, is not a file, or cannot be looked at (a name too long)."""
    for path, value in _input_locations(defaults, scenarios):
        file = _mapping(value).get("file")
        if not isinstance(file, str) or not file:
            continue
        resolved = input_path(file, base_dir)
        try:
            problem = None if resolved.is_file() else "not a file" if resolved.exists() else "no such file"
        except (OSError, ValueError) as error:
            problem = f"cannot look at it ({error.__class__.__name__}: {getattr(error, 'strerror', None) or error})"
        if problem:
            yield document.problem((*path, "file"), f"{problem}: {resolved}")


def _matrix_overlap(document: Document, index: int, raw: dict[str, Any], kind: Kind) -> Iterator[Problem]:
    """A field set both in the scenario and in its matrix (a key the matrix cannot vary is the schema's)."""
    for field in _mapping(raw.get("matrix")):
        if field in raw and field in kind.matrix_fields:
            line = document.locate(("scenarios", index, field)).start_mark.line + 1
            yield document.problem(
                ("scenarios", index, "matrix", field), f"also set in the scenario (line {line}); keep one", at_key=True
            )


def _scenario_one_of(
    document: Document, index: int, raw: dict[str, Any], defaults: dict[str, Any], kind: Kind
) -> Iterator[Problem]:
    """Both fields of a one-of group set in the scenario or its matrix, or neither set anywhere."""
    matrix = _mapping(raw.get("matrix"))
    for group in kind.one_of:
        own = [field for field in group if field in raw or field in matrix]
        words = " or ".join(group)
        if len(own) > 1:
            where = ("scenarios", index, own[1]) if own[1] in raw else ("scenarios", index, "matrix", own[1])
            yield document.problem(where, f"set only one of {words}, not both", at_key=True)
        elif not own and not any(field in defaults for field in group):
            yield document.problem(
                ("scenarios", index), f"set {words}: neither is set here, in the matrix or in defaults"
            )


def _required(
    document: Document, index: int, raw: dict[str, Any], defaults: dict[str, Any], kind: Kind
) -> Iterator[Problem]:
    """A field the kind needs that neither the scenario, its matrix nor ``defaults`` sets."""
    matrix = _mapping(raw.get("matrix"))
    for field in kind.required:
        if field not in raw and field not in matrix and field not in defaults:
            yield document.problem(
                ("scenarios", index, field), "missing required key (set it here, in the matrix or in defaults)"
            )


def _variant_problems(
    document: Document, index: int, raw: dict[str, Any], defaults: dict[str, Any], kind: Kind, base_dir: Path
) -> Iterator[Problem]:
    """Each variant's preset and crf checked against its encoder, reported where the value was written."""
    scenario, origins = resolve_scenario(raw, defaults, index, kind, base_dir)
    for variant in variants(scenario):
        encoder = ENCODERS.get(variant.values.get("encoder"))
        if encoder is None:
            continue
        where = {
            **origins,
            **{field: ("scenarios", index, "matrix", field, point) for field, point in variant.points.items()},
        }
        checks = (("preset", encoder.preset_problem), ("crf", encoder.crf_problem))
        for field, check in checks:
            value = variant.values.get(field)
            message = check(value) if value is not None else None
            if message and where[field] is not None:
                if where[field][0] == "defaults":
                    message += f" (scenario {raw['name']!r})"
                yield document.problem(where[field], message)


def _duplicate_variants(
    document: Document, scenarios: list, defaults: dict[str, Any], base_dir: Path
) -> Iterator[Problem]:
    """Variants sharing a name (job names must be unique), one problem per scenario; scenarios that share a name
    are reported already."""
    owners: dict[str, tuple[int, str]] = {}
    for index, raw in enumerate(scenarios):
        scenario, _ = resolve_scenario(raw, defaults, index, KINDS[raw["kind"]], base_dir)
        mine: set[str] = set()
        clashes: list[tuple[str, int]] = []
        for variant in variants(scenario):
            if variant.name in mine:
                clashes.append((variant.name, index))
            elif variant.name in owners and owners[variant.name][1] != raw["name"]:
                clashes.append((variant.name, owners[variant.name][0]))
            mine.add(variant.name)
        for name in mine:
            owners.setdefault(name, (index, raw["name"]))
        if clashes:
            (name, other), more = clashes[0], f" (and {len(clashes) - 1} more)" if len(clashes) > 1 else ""
            yield document.problem(
                ("scenarios", index, "name"),
                f"variant name {name!r} also comes from {key_of(('scenarios', other))}{more}; rename or change values",
            )
