"""The ``density`` kind: its fields (:data:`KIND`), its defaults, and its search for the most concurrent streams that
all stay real time, as a pure function: the agent runs it (agent/scenarios/density.py), the master's plan counts its
levels (:func:`plan_levels`).

Upward: levels 1, 2, 4, 8, ... while they hold; ``max_streams`` itself is tried when the doubling passes it. Then a
bisection between the last level that held and the first that failed. Each level is measured at most once and the
next level depends only on the outcomes so far, so the search is deterministic for given outcomes; it trusts each
measurement as it comes and does not look for capacity above a failed level (non-monotonic data: a level that fails
ends the upward phase even if a larger one would have held; within the bisection, a held level moves the lower bound
up and a failed one the upper bound down). The result is therefore a level that held whose next level up failed (or
``max_streams``), or 0 when a single stream failed.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from wire.kinds.base import SECONDS, Kind, PlanModel
from wire.kinds.live import LIVE_FIELDS, STREAM_COUNT
from wire.metrics import kind_metrics

MAX_STREAMS = 32
"""Density: the most streams the upward search tries."""

MIN_SPEED = 0.98
"""Density: the speed every stream must keep (1.0 = real time) for a level to hold."""

LEVEL_REST_S = 2.0
"""Density: the agent's unmeasured rest between two levels (seconds)."""

Outcome = TypeVar("Outcome")


@dataclass(frozen=True)
class SearchResult(Generic[Outcome]):
    """Levels tried, in order, with their outcomes, and the largest level found to hold (0: none)."""

    maximum: int
    tried: list[tuple[int, Outcome]]

    @property
    def levels(self) -> list[int]:
        return [level for level, _ in self.tried]


def upward_levels(max_streams: int) -> list[int]:
    """1, 2, 4, ... below ``max_streams``, then ``max_streams``: the upward phase when every level holds."""
    if max_streams < 1:
        raise ValueError(f"max_streams must be at least 1, got {max_streams}")
    levels, level = [], 1
    while level < max_streams:
        levels.append(level)
        level *= 2
    return levels + [max_streams]


def plan_levels(max_streams: int) -> list[int]:
    """The stream counts a search may run at most: :func:`upward_levels`, then the most bisection steps between its
    last two levels (counted at ``max_streams`` streams each, the longest a step could be)."""
    up = upward_levels(max_streams)
    gap = max(max_streams - up[-2], 1) if len(up) > 1 else 1
    return up + [max_streams] * max(gap - 1, 0).bit_length()


def search(
    max_streams: int, measure: Callable[[int], Outcome], held: Callable[[Outcome], bool] = bool
) -> SearchResult[Outcome]:
    """Run the search: ``measure(streams)`` measures one level, ``held(outcome)`` says whether it stayed real time."""
    tried: list[tuple[int, Outcome]] = []

    def attempt(level: int) -> bool:
        outcome = measure(level)
        tried.append((level, outcome))
        return bool(held(outcome))

    good, bad = 0, None
    for level in upward_levels(max_streams):
        if attempt(level):
            good = level
        else:
            bad = level
            break
    if bad is not None:
        while bad - good > 1:
            middle = (good + bad) // 2
            if attempt(middle):
                good = middle
            else:
                bad = middle
    return SearchResult(maximum=good, tried=tried)


def least_squares_slope(points: list[tuple[float, float]]) -> float | None:
    """Slope of the least-squares line through ``(x, y)`` points; None with fewer than 2 distinct x."""
    if len({x for x, _ in points}) < 2:
        return None
    xs, ys = zip(*points)
    return statistics.linear_regression(xs, ys).slope


def plan(params: dict[str, Any], model: PlanModel) -> dict[str, float]:
    """The most levels the search can run (:func:`plan_levels`), each a live window and a rest."""
    duration, stagger = params.get("duration") or 0, params.get("stagger") or 0
    levels = plan_levels(params.get("max_streams") or MAX_STREAMS)
    return {"streaming": sum(model.window_s(duration, n, stagger) + LEVEL_REST_S for n in levels)}


KIND = Kind(
    name="density",
    fields={
        **LIVE_FIELDS,
        "max_streams": STREAM_COUNT,
        "min_speed": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 2,
            "description": "a speed such as 0.98 (1.0 = real time)",
        },
        "stagger": SECONDS,
    },
    required=("input", "encoder", "bitrate", "duration"),
    metrics=kind_metrics("density"),
    live=True,
    plan=plan,
)
"""The most concurrent live streams of one profile that all stay real time (every stream's speed >= ``min_speed``, no
dropped frames): levels 1, 2, 4, ... up to ``max_streams``, then a bisection between the last level that held and the
first that did not; ``duration`` seconds measured per level."""
