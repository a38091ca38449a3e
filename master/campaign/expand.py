"""A campaign expanded into jobs: each scenario's matrix points (variants), each repeated.

Order is fixed: scenarios as written, then matrix points in ``itertools.product`` order of the matrix as written
(its first key varies slowest), then repetitions 1..N (a variant with ``confidence`` gets its ``min`` runs here;
the master queues the rest, see master/campaign/confidence.py). A variant is named after its scenario plus the matrix
values that vary (a key listing one value does not show), so ``x264`` with presets [veryfast, ultrafast] and bitrates
[2000k, 4000k] gives ``x264-veryfast-2000k``, ``x264-veryfast-4000k``, ``x264-ultrafast-2000k``, ...; a job is
``variant#repetition``.
"""

from __future__ import annotations

import copy
import itertools
import re
from dataclasses import asdict, dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from master.campaign.confidence import normalise as normalise_confidence
from wire.kinds import KINDS, Kind

if TYPE_CHECKING:
    from master.campaign.spec import Campaign


@dataclass(frozen=True)
class Variant:
    """One matrix point of a scenario: its name, every field's value, and the matrix index chosen per key."""

    name: str
    values: dict[str, Any]
    points: dict[str, int]


@dataclass(frozen=True)
class JobSpec:
    """One job to queue: docs/WIRE.md "Job" less the ids the master assigns, plus ``kind`` for the queue."""

    name: str
    scenario: str
    variant: str
    repetition: int
    kind: str
    params: dict[str, Any]
    requirements: dict[str, Any]
    confidence: dict[str, Any] | None = None
    """The variant's normalised ``confidence`` (master/campaign/confidence.py) when it repeats until its interval is
    narrow enough; None for a fixed number of repetitions."""

    def to_dict(self) -> dict[str, Any]:
        """The job as JSON-ready data (a deep copy); ``confidence`` only when set."""
        data = asdict(self)
        if data["confidence"] is None:
            del data["confidence"]
        return data


def label(value: Any) -> str:
    """A matrix value as it shows in a variant name: a file input by its stem, a lavfi input by its settings
    (``inline`` when it is rendered inline; the default ``prepared`` does not show)."""
    if isinstance(value, dict) and value.get("type") == "file":
        text = PurePath(value["path"]).stem
    elif isinstance(value, dict):
        shown = [str(value[key]) for key in ("source", "content", "size", "rate") if value.get(key) is not None]
        text = "-".join(shown + (["inline"] if value.get("render") == "inline" else []))
    else:
        text = str(value)
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", text)


def variants(scenario: dict[str, Any]) -> list[Variant]:
    """The scenario's matrix points in order; a scenario without a matrix is its one variant."""
    matrix = scenario.get("matrix") or {}
    keys = list(matrix)
    varying = [key for key in keys if len(matrix[key]) > 1]
    base = {field: value for field, value in scenario.items() if field != "matrix"}
    found = []
    for indexes in itertools.product(*(range(len(matrix[key])) for key in keys)):
        points = dict(zip(keys, indexes, strict=True))
        values = {**base, **{key: matrix[key][index] for key, index in points.items()}}
        name = "-".join([scenario["name"], *(label(values[key]) for key in varying)])
        found.append(Variant(name, values, points))
    return found


def job_spec(
    kind: Kind, variant: Variant, repetition: int, targets: list[str], confidence: dict[str, Any] | None = None
) -> JobSpec:
    """The job for one repetition of one variant; params and requirements are its own copies."""
    values = variant.values
    params = {"kind": kind.name, **{field: copy.deepcopy(values[field]) for field in kind.param_fields}}
    requirements = {**{field: values[field] for field in kind.requirements}, "targets": list(targets)}
    return JobSpec(
        name=f"{variant.name}#{repetition}",
        scenario=values["name"],
        variant=variant.name,
        repetition=repetition,
        kind=kind.name,
        params=params,
        requirements=requirements,
        confidence=copy.deepcopy(confidence),
    )


def runs_of(values: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
    """(jobs to queue now, normalised confidence or None) of a variant: ``repetitions``, or ``confidence``'s ``min``
    (the master queues more as the interval asks, up to its ``max``)."""
    spec = normalise_confidence(values.get("confidence"))
    return (spec["min"], spec) if spec is not None else (values["repetitions"], None)


def expand(campaign: Campaign) -> list[JobSpec]:
    """Every job of the campaign, in run order; a variant with ``confidence`` starts with its ``min`` runs."""
    jobs = []
    for scenario in campaign.scenarios:
        kind = KINDS[scenario["kind"]]
        for variant in variants(scenario):
            count, spec = runs_of(variant.values)
            for repetition in range(1, count + 1):
                jobs.append(job_spec(kind, variant, repetition, campaign.targets, spec))
    return jobs
