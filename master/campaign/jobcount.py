"""How many jobs a campaign comes to, by arithmetic on the file's data, and the cap on it.

A scenario comes to (the product of its matrix's list lengths) x (its runs): ``repetitions``, or a ``confidence``'s
``max`` (the master may queue that many), taken as :func:`master.campaign.resolve.inherited` and the precedence in
master/campaign/confidence.py take them. Nothing is expanded to count, so a matrix of fifteen billion points is
refused as fast as one of four. The count tolerates data the schema rejects (a value it cannot use counts as 1 run,
a matrix entry that is not a list as 1 point), so it can run before every check that expands variants.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from master.campaign.confidence import AUTO, DEFAULT_MAX, PRESETS
from master.campaign.errors import Problem
from master.campaign.resolve import inherited
from master.campaign.yamldoc import Document
from wire.kinds import KINDS

DEFAULT_MAX_JOBS = 10_000
"""Most jobs one campaign may come to (confidence variants counted at their ``max``); the master's ``--max-jobs``
(config ``MAX_JOBS``) and ``campaign validate|plan|run --max-jobs`` change it."""


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else None


def confidence_max(value: Any) -> int:
    """The most runs a ``confidence`` value asks for: its preset's or mapping's ``max``."""
    if isinstance(value, str):
        return PRESETS.get(AUTO if value == "auto" else value, {"max": DEFAULT_MAX})["max"]
    return _whole(_mapping(value).get("max")) or DEFAULT_MAX


def runs(raw: dict[str, Any], defaults: dict[str, Any]) -> int:
    """Runs of each variant of a scenario: its own ``repetitions`` or ``confidence``, else the ones it inherits."""
    kind = KINDS.get(raw.get("kind")) if isinstance(raw.get("kind"), str) else None
    taken = inherited(raw, defaults, kind) if kind is not None else {}
    for source in (raw, taken):
        found = [_whole(source.get("repetitions")) or 1] if "repetitions" in source else []
        if "confidence" in source and (kind is None or "confidence" in kind.all_fields):
            found.append(confidence_max(source["confidence"]))
        if found:
            return max(found)
    return 1


def points(raw: dict[str, Any]) -> int:
    """Matrix points of a scenario: the product of its matrix's list lengths (1 without a matrix)."""
    matrix = _mapping(raw.get("matrix"))
    return math.prod(len(listed) if isinstance(listed, list) else 1 for listed in matrix.values())


def _where(raw: dict[str, Any], index: int) -> tuple:
    """The node a scenario's count is reported at: its matrix, else what sets its runs, else the scenario."""
    for key in ("matrix", "repetitions", "confidence"):
        if key in raw:
            return ("scenarios", index, key)
    return ("scenarios", index)


def _sum(many: int, each: int) -> str:
    """``50 matrix points x 2 runs``, or ``20 runs`` without a matrix."""
    runs_words = f"{each:,} run" + ("s" if each != 1 else "")
    return f"{many:,} matrix points x {runs_words}" if many != 1 else runs_words


def job_count_problems(document: Document, max_jobs: int) -> Iterator[Problem]:
    """A problem at each scenario that alone comes to more than ``max_jobs`` jobs, else one at ``scenarios`` when
    all of them together do."""
    data = _mapping(document.data)
    defaults = _mapping(data.get("defaults"))
    scenarios = data.get("scenarios") if isinstance(data.get("scenarios"), list) else []
    limit = f"a campaign may come to at most {max_jobs:,} jobs (--max-jobs)"
    total, over = 0, False
    for index, raw in enumerate(scenarios):
        raw = _mapping(raw)
        many, each = points(raw), runs(raw, defaults)
        total += many * each
        if many * each > max_jobs:
            over = True
            yield document.problem(
                _where(raw, index),
                f"this scenario comes to {many * each:,} jobs ({_sum(many, each)}); {limit}",
                at_key=True,
            )
    if total > max_jobs and not over:
        yield document.problem(("scenarios",), f"the scenarios come to {total:,} jobs together; {limit}", at_key=True)
