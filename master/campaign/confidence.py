"""``confidence:``: repeat a variant until its joules per frame is known well enough, instead of a fixed count.

A scenario (or the campaign's ``defaults``) sets either ``repetitions: N`` (exactly N runs) or ``confidence``:

- ``confidence: {target: 0.03, min: 3, max: 20}``: run the variant at least ``min`` times (default 3) and at most
  ``max`` times (default 10); stop as soon as the Student-t 95% confidence interval of the mean joules per frame has
  a half-width of at most ``target`` x the mean (0.03 = ±3%).
- ``confidence: auto`` is ``medium``. The named presets:

  ========  ======  ===  ===  ==========================================================================
  preset    target  min  max  for
  ========  ======  ===  ===  ==========================================================================
  high      2%      5    20   comparisons of close variants (a change of a few percent)
  medium    5%      3    10   the default (``auto``): a cost figure to quote
  low       10%     2    5    a quick look, or long jobs where each run is expensive
  ========  ======  ===  ===  ==========================================================================

How it runs: the campaign queues ``min`` jobs per variant (repetitions 1..min). Each time a job of the variant
finishes (a result is accepted, or the job fails for good), the master looks at the variant's jobs: while any is
still queued or running it waits; otherwise it queues one more run (the next repetition, same parameters) unless the
target is reached with at least ``min`` succeeded runs, or ``max`` jobs were created already (failed jobs count toward
``max``), or every one of the first ``min`` jobs failed without a sample (a run that cannot succeed is not repeated
until ``max``). A cancelled or interrupted campaign never grows. The campaign is finished only once no variant wants
another run.

A sample is the ``joules_per_frame`` of a succeeded run. A missing value (null, NaN) or one that is not > 0 (no energy
can be measured for a frame that was encoded) is not a sample: such a run counts toward ``max`` but not toward the
interval. The report gives, per such variant, ``confidence``: ``target``, ``min``, ``max``, ``runs`` (samples used),
``half_width_pct`` (the interval's half-width as a percentage of the mean; null with fewer than 2 samples) and
``reached``.

Precedence: a scenario may not set both ``repetitions`` and ``confidence`` itself, nor may ``defaults`` (an error at
the line of ``confidence``). Across levels the scenario's own setting wins: ``defaults: {repetitions: 2}`` with a
scenario's ``confidence: auto`` repeats by confidence; ``defaults: {confidence: auto}`` with a scenario's
``repetitions: 5`` runs 5 times. ``min`` above ``max`` (given, or the default 10) is an error at ``min``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from master.analysis.stats import present, summary

DEFAULT_MIN = 3
"""Runs of a variant before the interval is looked at, when ``min`` is not given."""

DEFAULT_MAX = 10
"""Most jobs of a variant (failed ones included), when ``max`` is not given."""

PRESETS: dict[str, dict[str, float | int]] = {
    "high": {"target": 0.02, "min": 5, "max": 20},
    "medium": {"target": 0.05, "min": DEFAULT_MIN, "max": DEFAULT_MAX},
    "low": {"target": 0.10, "min": 2, "max": 5},
}
"""Named confidence levels: the 95% interval's half-width as a fraction of the mean, and the run limits."""

AUTO = "medium"
"""The preset ``confidence: auto`` stands for."""

WAIT, MORE, DONE = "wait", "more", "done"
"""Decisions: runs are still outstanding; queue one more run; the variant has run enough (target reached or not)."""


def normalise(value: Any) -> dict[str, Any] | None:
    """A valid ``confidence`` value as ``{"preset", "target", "min", "max"}`` (``preset`` is the name used, None
    for a mapping); None stays None. Raises ValueError for a value the schema would reject or ``min > max``."""
    if value is None:
        return None
    if isinstance(value, str):
        name = AUTO if value == "auto" else value
        if name not in PRESETS:
            raise ValueError(f"confidence: unknown preset {value!r}")
        return {"preset": value, **PRESETS[name]}
    if not isinstance(value, Mapping) or "target" not in value:
        raise ValueError(f"confidence: expected a preset name or a mapping with target, got {value!r}")
    found = {
        "preset": None,
        "target": float(value["target"]),
        "min": int(value.get("min", DEFAULT_MIN)),
        "max": int(value.get("max", DEFAULT_MAX)),
    }
    if found["min"] > found["max"]:
        raise ValueError(f"confidence: min {found['min']} is more than max {found['max']}")
    return found


def describe(spec: Mapping[str, Any]) -> str:
    """``3-10 runs (auto ±5%)`` or ``3-20 runs (±3%)``, for ``campaign plan``."""
    name = f"{spec['preset']} " if spec.get("preset") else ""
    return f"{spec['min']}-{spec['max']} runs ({name}±{spec['target'] * 100:g}%)"


def samples(values: Iterable[object]) -> list[float]:
    """The values that count as samples: measured numbers (not None, finite, not a boolean or other junk) > 0."""
    return [v for v in present(x for x in values if not isinstance(x, bool)) if v > 0]


@dataclass(frozen=True)
class Assessment:
    """Where a variant stands against its target: samples used, the interval's relative half-width, reached."""

    runs: int
    half_width_pct: float | None
    reached: bool


def assess(values: Iterable[float | None], spec: Mapping[str, Any]) -> Assessment:
    """The variant's samples against ``spec``: reached = at least ``min`` samples and a 95% half-width of at most
    ``target`` x mean (Student-t, :func:`master.analysis.stats.summary`)."""
    xs = samples(values)
    rel = summary(xs).rel_ci95
    reached = len(xs) >= spec["min"] and rel is not None and rel <= spec["target"]
    return Assessment(len(xs), None if rel is None else rel * 100, reached)


def decide(values: Iterable[float | None], outstanding: int, created: int, spec: Mapping[str, Any]) -> str:
    """What to do for a variant: :data:`WAIT` while ``outstanding`` runs are queued or running; :data:`DONE` when
    the target is reached (:func:`assess`), ``created`` (every job of the variant so far, failed ones included)
    reached ``max``, or ``min`` jobs were created and none gave a sample; else :data:`MORE` (queue one run).

    ``values`` are the joules per frame of the variant's succeeded runs (missing ones as None)."""
    if outstanding > 0:
        return WAIT
    xs = samples(values)
    if assess(xs, spec).reached or created >= spec["max"] or (not xs and created >= spec["min"]):
        return DONE
    return MORE


REACHED, RUNNING, NOT_REACHED = "reached", "still running", "not reached"
"""Outcomes of a variant so far: its target is reached; it may still get runs; it stopped short of the target."""


def outcome(
    values: Iterable[float | None], outstanding: int, created: int, spec: Mapping[str, Any], growing: bool
) -> str:
    """Where a variant stands: :data:`REACHED` (:func:`assess`); :data:`RUNNING` while runs are outstanding, or
    when its campaign still runs (``growing``) and :func:`decide` would queue another; else :data:`NOT_REACHED`
    (``max`` runs, no sample in ``min`` runs, or a campaign that ended first)."""
    values = list(values)
    if assess(values, spec).reached:
        return REACHED
    if outstanding > 0 or (growing and decide(values, outstanding, created, spec) != DONE):
        return RUNNING
    return NOT_REACHED


def to_report(values: Iterable[float | None], spec: Mapping[str, Any]) -> dict[str, Any]:
    """The report's ``confidence`` entry of a variant: target, min, max, runs, half_width_pct, reached."""
    found = assess(values, spec)
    return {
        "target": spec["target"],
        "min": spec["min"],
        "max": spec["max"],
        "runs": found.runs,
        "half_width_pct": found.half_width_pct,
        "reached": found.reached,
    }
