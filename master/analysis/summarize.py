"""Turn a campaign run (campaign, nodes, jobs with their results) into per-variant statistics and provenance.

Repetitions of one variant are grouped; only succeeded results enter the statistics. A metric a result did not
measure (null in the wire format) is left out of that metric's statistics, and its reason is kept under `missing`.
Which metrics are summarized, and for which kinds, is the metric registry's word (wire/metrics.py). Each metric's
statistics (:func:`metric_stats`) add the coefficient of variation and never show a negative lower bound for a
quantity that cannot be negative; the derived efficiency figures (master/analysis/derived.py) are summarized beside
the metrics, and ``outliers`` names the runs outside Tukey's fences (master/analysis/stats.py OUTLIER_RULE).
Everything returned is plain JSON-able data, so the report writer can store it next to the run.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable

from master.analysis.content import job_warnings, result_source, variant_source
from master.analysis.derived import derived_metrics
from master.analysis.stats import (
    OUTLIER_MIN_N,
    OUTLIER_RULE,
    coefficient_of_variation,
    negative_bound_note,
    outliers,
    summary,
)
from wire.fields import ENCODING_PARAMS
from wire.kinds import KINDS
from wire.metrics import DERIVED, REGISTRY, get

BASE_METRICS = tuple(m.name for m in REGISTRY if m.summarized and m.kinds is None and not m.optional and not m.derived)
"""Result metrics of every encoding kind (quality: docs/WIRE.md "Quality"); a result that lacks one is missing it."""

KIND_METRICS: dict[str, tuple[str, ...]] = {name: kind.metrics for name, kind in KINDS.items() if kind.metrics}
"""Metrics only some kinds produce (each kind's ``metrics``, wire/kinds/, the built-in ones from the registry); a
result of another kind is not "missing" them."""

OPTIONAL_METRICS = tuple(m.name for m in REGISTRY if m.summarized and m.optional)
"""The source's spatial and temporal information (ITU-T P.910) and the GPU encoder's utilisation, from agents that
measure them: summarized, and "missing" only for a variant where some result carries them (an older agent's result
does not)."""

CONTENT_METRICS = tuple(m for m in OPTIONAL_METRICS if m in ("si", "ti"))
"""The source's SI and TI (of :data:`OPTIONAL_METRICS`)."""

_KIND_ONLY = tuple(
    dict.fromkeys(m for names in KIND_METRICS.values() for m in names if m not in BASE_METRICS + OPTIONAL_METRICS)
)

METRICS = BASE_METRICS + _KIND_ONLY + OPTIONAL_METRICS
"""Result metrics summarized over the repetitions of a variant, in the registry's order (wire/metrics.py), a kind of
another package's own after the built-in kinds'."""

DERIVED_METRICS = tuple(m.name for m in DERIVED)
"""Efficiency figures derived per run from the metrics (master/analysis/derived.py), summarized as they are."""

RUNG_METRICS = ("frames", "pixels", "output_bytes", "bitrate_kbps")
"""Per-rung fields of a ladder result's top-level ``rungs`` summarized per variant."""

PARAM_KEYS = ("kind", "input", *ENCODING_PARAMS, "rungs", "count", "bitrates", "max_streams")
"""Job parameters reported for a variant when all its repetitions share them."""

PENDING_STATES = ("queued", "running")
"""Job states of work that has not finished (yet): an interrupted campaign leaves jobs in them."""


def ok_result(job: dict) -> dict | None:
    """The job's result when it succeeded, else None."""
    result = job.get("result")
    if result and result.get("status") == "succeeded" and job.get("state", "succeeded") == "succeeded":
        return result
    return None


def is_failed(job: dict) -> bool:
    """True when the job or its result says it failed."""
    result = job.get("result") or {}
    return job.get("state") == "failed" or result.get("status") == "failed"


def job_error(job: dict) -> str | None:
    """The job's one-line error: the job's own, else its result's."""
    return job.get("error") or (job.get("result") or {}).get("error")


def metric(result: dict, name: str) -> float | None:
    """One metric of a result, None when it was not measured."""
    return (result.get("metrics") or {}).get(name)


def missing_reason(result: dict, name: str) -> str:
    """Why a result has no value for a metric, as the agent reported it."""
    return (result.get("missing") or {}).get(name) or "not reported by the agent"


def summarize_run(run: dict) -> dict:
    """Per-variant statistics, job counts and overall provenance of a run."""
    jobs = run.get("jobs") or []
    variants = [summarize_variant(group) for group in group_by_variant(jobs)]
    scenarios = list(dict.fromkeys(v["scenario"] for v in variants))
    return {
        "variants": variants,
        "scenarios": scenarios,
        "warnings": [{"variant": v["variant"], **w} for v in variants for w in v["warnings"]],
        "baselines": baseline_summary(jobs),
        "counts": state_counts(jobs),
        "provenance": overall_provenance(jobs),
    }


def group_by_variant(jobs: Iterable[dict]) -> list[list[dict]]:
    """Jobs grouped by variant, in the order variants first appear, repetitions sorted."""
    groups: dict[str, list[dict]] = {}
    for job in jobs:
        key = job.get("variant") or job.get("name") or job.get("id") or "?"
        groups.setdefault(key, []).append(job)
    return [sorted(g, key=lambda j: (j.get("repetition") is None, j.get("repetition") or 0)) for g in groups.values()]


def summarize_variant(jobs: list[dict]) -> dict:
    """Statistics and provenance of the repetitions of one variant."""
    first = jobs[0]
    results = [r for r in (ok_result(j) for j in jobs) if r is not None]
    states = Counter(j.get("state") for j in jobs)
    kind = job_kind(first)
    params = shared_params(jobs)
    derived = variant_derived(kind, [(j.get("params") or {}, r) for j in jobs if (r := ok_result(j)) is not None])
    return {
        "scenario": first.get("scenario") or "—",
        "variant": first.get("variant") or first.get("name") or first.get("id") or "?",
        "kind": kind,
        "params": params,
        "jobs": len(jobs),
        "runs_ok": len(results),
        "runs_failed": sum(1 for j in jobs if is_failed(j)),
        "runs_pending": sum(states[s] for s in PENDING_STATES),
        "runs_cancelled": states["cancelled"],
        "stats": {**{m: metric_stats(m, [metric(r, m) for r in results]) for m in METRICS}, **derived["stats"]},
        "missing": {
            **missing_reasons(results, expected_metrics(kind) + carried(results, OPTIONAL_METRICS)),
            **derived["missing"],
        },
        "reported": reported_metrics(results),
        "errors": list(dict.fromkeys(e for e in (job_error(j) for j in jobs) if e)),
        "provenance": variant_provenance(results),
        "source": variant_source(params, results),
        "warnings": [w for j in jobs if (r := ok_result(j)) is not None for w in job_warnings(j, r)],
        "outliers": variant_outliers([j for j in jobs if ok_result(j) is not None], results),
        **variant_rungs(results),
        **variant_confidence(first, results),
    }


def metric_stats(name: str, values: list) -> dict:
    """:func:`summary` of one metric's values as a dict, with its coefficient of variation (``cv``); a quantity that
    cannot be below 0 (wire/metrics.py ``Metric.positive``) whose interval would reach below 0 keeps ``ci95_low``
    None and says why in ``ci95_note`` (the half-width and upper bound stay)."""
    stat = summary(values)
    entry = {**stat.to_dict(), "cv": coefficient_of_variation(stat), "ci95_note": None}
    registered = get(name)
    note = negative_bound_note(stat) if registered is None or registered.positive else None
    if note:
        entry.update(ci95_low=None, ci95_note=note)
    return entry


def variant_derived(kind: str | None, runs: list[tuple[dict, dict]]) -> dict:
    """``{"stats", "missing"}`` of the derived efficiency metrics (master/analysis/derived.py) over a variant's
    succeeded runs (``(params, result)`` each); a baseline has none (every one with n 0, none missing). A figure is
    ``estimated`` when some run it was computed from has estimated energy."""
    runs = runs if kind != "baseline" else []
    per_run = [derived_metrics(kind, params, result) for params, result in runs]
    stats = {name: metric_stats(name, [values.get(name) for values, _ in per_run]) for name in DERIVED_METRICS}
    for name, entry in stats.items():
        entry["estimated"] = any(
            values.get(name) is not None and (result.get("provenance") or {}).get("estimated")
            for (values, _), (_, result) in zip(per_run, runs)
        )
    missing: dict[str, list[str]] = {}
    for _, reasons in per_run:
        for name, reason in reasons.items():
            bucket = missing.setdefault(name, [])
            if reason not in bucket:
                bucket.append(reason)
    return {"stats": stats, "missing": missing}


def variant_outliers(jobs: list[dict], results: list[dict]) -> dict:
    """The runs outside Tukey's fences per summarized metric (:data:`master.analysis.stats.OUTLIER_RULE`, judged from
    OUTLIER_MIN_N runs with a value), each as its job id, repetition and value; ``jobs`` and ``results`` pair up."""
    flagged = {}
    for name in METRICS:
        values = [metric(r, name) for r in results]
        found = outliers(values)
        if found:
            flagged[name] = [
                {"job": jobs[i].get("id"), "repetition": jobs[i].get("repetition"), "value": values[i]} for i in found
            ]
    return {"rule": OUTLIER_RULE, "min_runs": OUTLIER_MIN_N, "metrics": flagged}


def job_kind(job: dict) -> str | None:
    """The scenario kind of a job: its own ``kind``, else its params'."""
    return job.get("kind") or (job.get("params") or {}).get("kind")


def expected_metrics(kind: str | None) -> tuple[str, ...]:
    """The metrics a result of ``kind`` should carry: none for a baseline (it is summarized by idle watts), the
    encoding metrics plus the kind's own for the others (an unknown kind: the encoding metrics)."""
    if kind == "baseline":
        return ("idle_watts", "mean_watts", "total_energy_j", "duration_s")
    return BASE_METRICS + tuple(m for m in KIND_METRICS.get(kind or "", ()) if m not in BASE_METRICS)


def carried(results: list[dict], names: tuple[str, ...]) -> tuple[str, ...]:
    """The ``names`` some result carries as a metric key (even null)."""
    return tuple(n for n in names if any(n in (r.get("metrics") or {}) for r in results))


def reported_metrics(results: list[dict]) -> list[str]:
    """The METRICS some result carries as a key (even null), in METRICS order: what a report may show for it."""
    keys = {k for r in results for k in (r.get("metrics") or {})}
    return [m for m in METRICS if m in keys]


def variant_rungs(results: list[dict]) -> dict:
    """``{"rungs": [...]}`` for a ladder variant: per rung position its resolution, bitrate and the statistics of
    RUNG_METRICS over the runs (a rung reported null is left out of that field's statistics); {} without rungs."""
    ladders = [r.get("rungs") for r in results if isinstance(r.get("rungs"), list) and r.get("rungs")]
    if not ladders:
        return {}
    rungs = []
    for index in range(max(len(rs) for rs in ladders)):
        entries = [rs[index] for rs in ladders if index < len(rs) and isinstance(rs[index], dict)]
        first = entries[0] if entries else {}
        rungs.append(
            {
                "resolution": first.get("resolution"),
                "bitrate": first.get("bitrate"),
                "stats": {m: summary(e.get(m) for e in entries).to_dict() for m in RUNG_METRICS},
            }
        )
    return {"rungs": rungs}


def baseline_summary(jobs: Iterable[dict]) -> list[dict]:
    """Baseline jobs (kind ``baseline``) summarized per variant and host: idle watts and duration over repetitions.

    Each entry is :func:`summarize_variant` of the variant's jobs on one node, plus ``node_id``."""
    groups: dict[tuple, list[dict]] = {}
    for job in jobs:
        if job_kind(job) == "baseline":
            node = job.get("node_id") or (job.get("result") or {}).get("node_id")
            key = (job.get("variant") or job.get("name") or job.get("id") or "?", node)
            groups.setdefault(key, []).append(job)
    return [
        {**summarize_variant(sorted(group, key=lambda j: j.get("repetition") or 0)), "node_id": node}
        for (_, node), group in groups.items()
    ]


def variant_confidence(first: dict, results: list[dict]) -> dict:
    """``{"confidence": {target, min, max, runs, half_width_pct, reached}}`` for a variant that repeats until its
    joules per frame interval is narrow enough (master/campaign/confidence.py); {} for a fixed repetition count."""
    from master.campaign.confidence import to_report

    spec = first.get("confidence")
    if not spec:
        return {}
    return {"confidence": to_report((metric(r, "joules_per_frame") for r in results), spec)}


def shared_params(jobs: list[dict]) -> dict:
    """The parameters every repetition has with the same value (absent keys left out)."""
    shared = {}
    for key in PARAM_KEYS:
        values = [(j.get("params") or {}).get(key) for j in jobs]
        encoded = {json.dumps(v, sort_keys=True, default=str) for v in values}
        if len(encoded) == 1 and any(key in (j.get("params") or {}) for j in jobs):
            shared[key] = values[0]
    return shared


def missing_reasons(results: list[dict], names: Iterable[str] = METRICS) -> dict[str, list[str]]:
    """For each metric (of ``names``) some succeeded result did not measure: the distinct reasons."""
    names = tuple(names)
    reasons: dict[str, list[str]] = {}
    for result in results:
        for name in names:
            if metric(result, name) is None:
                bucket = reasons.setdefault(name, [])
                reason = missing_reason(result, name)
                if reason not in bucket:
                    bucket.append(reason)
    return reasons


def variant_provenance(results: list[dict]) -> dict:
    """Where the energy numbers of a variant's results came from."""
    provs = [r.get("provenance") or {} for r in results]
    estimated = sum(1 for p in provs if p.get("estimated"))
    sources = [s for p in provs for s in (p.get("sources") or [])]
    counts = [p.get("sample_count") for p in provs]
    return {
        "runs": len(results),
        "estimated": estimated > 0,
        "estimated_runs": estimated,
        "measured_runs": len(results) - estimated,
        "sources": sorted({s.get("name") for s in sources if s.get("name")}),
        "source_kinds": sorted({s.get("kind") for s in sources if s.get("kind")}),
        "sample_rates_hz": sorted({p.get("sample_rate_hz") for p in provs if p.get("sample_rate_hz") is not None}),
        "sample_counts": counts,
        "sample_count_total": sum(c for c in counts if c is not None) if any(c is not None for c in counts) else None,
        "agent_overhead_pct": summary(metric(r, "agent_overhead_pct") for r in results).to_dict(),
        "notes": list(dict.fromkeys(n for p in provs for n in (p.get("notes") or []))),
    }


def state_counts(jobs: list[dict]) -> dict:
    """How many jobs are in each state, plus the total."""
    counts = Counter(j.get("state") or "unknown" for j in jobs)
    result = {s: counts.get(s, 0) for s in ("succeeded", "failed", "cancelled", "queued", "running")}
    result.update({s: n for s, n in counts.items() if s not in result})
    result["total"] = len(jobs)
    return result


def overall_provenance(jobs: list[dict]) -> dict:
    """Measured versus estimated succeeded jobs of the whole run, and the sources and hosts behind each."""
    measured, estimated = [], []
    for job in jobs:
        result = ok_result(job)
        if result is not None:
            (estimated if (result.get("provenance") or {}).get("estimated") else measured).append((job, result))
    mode = (
        "none"
        if not (measured or estimated)
        else "mixed"
        if measured and estimated
        else ("estimated" if estimated else "measured")
    )
    return {
        "mode": mode,
        "measured": len(measured),
        "estimated": len(estimated),
        "measured_kinds": _kinds(r for _, r in measured),
        "measured_sources": _source_names(r for _, r in measured),
        "estimated_sources": _source_names(r for _, r in estimated),
        "measured_nodes": list(dict.fromkeys(j.get("node_id") for j, _ in measured if j.get("node_id"))),
        "estimated_nodes": list(dict.fromkeys(j.get("node_id") for j, _ in estimated if j.get("node_id"))),
        "source_renders": _counted(result_source(r).get("render") for _, r in measured + estimated),
        "source_contents": _counted(result_source(r).get("content") for _, r in measured + estimated),
    }


def _counted(values: Iterable) -> dict[str, int]:
    """How many times each value that is set occurs, in first-seen order."""
    return dict(Counter(v for v in values if isinstance(v, str)))


def _sources(results: Iterable[dict]) -> list[dict]:
    return [s for r in results for s in ((r.get("provenance") or {}).get("sources") or [])]


def _kinds(results: Iterable[dict]) -> list[str]:
    return sorted({s.get("kind") for s in _sources(results) if s.get("kind") and s.get("measured", True)})


def _source_names(results: Iterable[dict]) -> list[str]:
    return sorted({s.get("name") for s in _sources(results) if s.get("name")})
