"""What the energy of a run cost, in money and grams of CO2, per job and per variant (:func:`add_costs`).

Per job: kWh = ``total_energy_j`` / 3.6e6; energy cost = kWh x the host's electricity price; CO2 g = kWh x the
host's grid intensity; compute cost = node-hours (the result's wall time, started_at to finished_at) x the host's
node cost per hour, when the pricing file gives one. Encoding kinds (transcode, ladder) also give each per hour of
output video (media seconds = frames / frame rate, a ladder's source frames), live kinds (live, multi, density) per
stream-hour (streams x window duration); all kinds per frame. A figure that cannot be computed is None with its
reason under ``missing``, never 0; costs of estimated energy are marked ``estimated``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from master.analysis.capacity import NoDensityResult, plan_capacity
from master.analysis.pricing import Pricing, PricingError, Rates, rates_for
from master.analysis.stats import summary as stat_summary
from master.analysis.summarize import group_by_variant, job_kind, ok_result

JOULES_PER_KWH = 3.6e6
"""Joules in one kilowatt-hour."""

ENCODE_KINDS = ("transcode", "ladder")
"""Kinds whose output is video of a known length: priced per hour of output video."""

LIVE_KINDS = ("live", "multi", "density")
"""Kinds that carry streams for a window: priced per stream-hour."""

FIGURES = (
    "kwh",
    "energy_cost",
    "co2_g",
    "node_hours",
    "compute_cost",
    "media_hours",
    "energy_cost_per_video_hour",
    "co2_g_per_video_hour",
    "compute_cost_per_video_hour",
    "stream_hours",
    "energy_cost_per_stream_hour",
    "co2_g_per_stream_hour",
    "compute_cost_per_stream_hour",
    "energy_cost_per_frame",
    "co2_g_per_frame",
)
"""Figures of a job's cost; a variant's cost summarizes each over its repetitions."""

NO_PRICING_HINT = (
    "no pricing given: run `campaign report --pricing FILE` (or `campaign run --pricing FILE`), or add "
    "`pricing: pricing.yml` to the campaign file"
)
"""What the report says instead of costs when a run has no pricing."""


def job_cost(job: dict, result: dict, rates: Rates) -> dict[str, Any]:
    """The cost figures of one succeeded job at ``rates``, each None with a reason under ``missing`` when it cannot
    be computed."""
    metrics = result.get("metrics") or {}
    figures: dict[str, float | None] = dict.fromkeys(FIGURES)
    missing: dict[str, str] = {}
    energy = _number(metrics.get("total_energy_j"))
    if energy is None:
        reason = (result.get("missing") or {}).get("total_energy_j") or "total_energy_j not reported"
        missing["kwh"] = missing["energy_cost"] = missing["co2_g"] = f"no energy: {reason}"
    else:
        figures["kwh"] = energy / JOULES_PER_KWH
        figures["energy_cost"] = figures["kwh"] * rates.electricity_per_kwh
        figures["co2_g"] = figures["kwh"] * rates.gco2_per_kwh
    figures["node_hours"], why = wall_hours(job, result)
    if why:
        missing["node_hours"] = why
    if rates.node_cost_per_hour is None:
        missing["compute_cost"] = "no node_cost_per_hour in the pricing file for this host"
    elif figures["node_hours"] is not None:
        figures["compute_cost"] = figures["node_hours"] * rates.node_cost_per_hour
    else:
        missing["compute_cost"] = f"no wall time: {why}"
    kind = job_kind(job)
    per = _per_unit(figures, missing, "video_hour", "media_hours", *media_hours(kind, job, metrics))
    per |= _per_unit(figures, missing, "stream_hour", "stream_hours", *stream_hours(kind, metrics))
    frames = _number(metrics.get("frames"))
    for name, total in (("energy_cost_per_frame", "energy_cost"), ("co2_g_per_frame", "co2_g")):
        if frames and figures[total] is not None:
            figures[name] = figures[total] / frames
        else:
            missing[name] = missing.get(total) or "no frame count"
    missing.update(per)
    return {
        "figures": figures,
        "missing": {k: v for k, v in missing.items() if figures.get(k) is None},
        "estimated": bool((result.get("provenance") or {}).get("estimated")),
        "rates": rates.to_dict(),
    }


def _per_unit(figures: dict, missing: dict, unit: str, hours_key: str, hours: float | None, why: str | None) -> dict:
    """Fill ``hours_key`` and the energy cost, CO2 and compute cost per ``unit``; the reasons of those missing."""
    reasons = {}
    figures[hours_key] = hours
    if hours is None:
        reasons[hours_key] = why
    for total in ("energy_cost", "co2_g", "compute_cost"):
        name = f"{total}_per_{unit}"
        if hours and figures[total] is not None:
            figures[name] = figures[total] / hours
        else:
            reasons[name] = why if hours is None else missing.get(total) or f"{total} missing"
    return reasons


def unpriced(result: dict, reason: str) -> dict[str, Any]:
    """The cost of a job whose host the pricing file cannot price: every figure None with ``reason``."""
    return {
        "figures": dict.fromkeys(FIGURES),
        "missing": dict.fromkeys(FIGURES, reason),
        "estimated": bool((result.get("provenance") or {}).get("estimated")),
        "rates": {"host": None, "region": None, "error": reason},
    }


def wall_hours(job: dict, result: dict) -> tuple[float | None, str | None]:
    """Hours the job held its node: the result's started_at to finished_at (else the job's)."""
    for source in (result, job):
        start, end = _time(source.get("started_at")), _time(source.get("finished_at"))
        if start is not None and end is not None and end > start:
            return (end - start).total_seconds() / 3600, None
    return None, "no started_at before finished_at on the result or job"


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def media_hours(kind: str | None, job: dict, metrics: dict) -> tuple[float | None, str | None]:
    """Hours of output video an encoding job produced: frames / frame rate (a ladder's source frames)."""
    if kind not in ENCODE_KINDS:
        return None, f"{kind or 'this'} kind: not an encode of a fixed length (see per stream-hour)"
    params = job.get("params") or {}
    frames = _number(metrics.get("source_frames" if kind == "ladder" else "frames"))
    rate = _number(params.get("fps")) or _number((params.get("input") or {}).get("rate"))
    if not frames:
        return None, "no frame count"
    if not rate:
        return None, "output frame rate unknown (no fps and no input rate in the job)"
    return frames / rate / 3600, None


def stream_hours(kind: str | None, metrics: dict) -> tuple[float | None, str | None]:
    """Stream-hours a live job carried: streams x the window's duration."""
    if kind not in LIVE_KINDS:
        return None, f"{kind or 'this'} kind: no live streams (see per hour of video)"
    streams = _number(metrics.get("streams")) or _number(metrics.get("max_streams"))
    duration = _number(metrics.get("duration_s"))
    if not streams or not duration:
        return None, "no stream count or window duration"
    return streams * duration / 3600, None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def variant_cost(run: dict, jobs: list[dict], pricing: Pricing) -> dict[str, Any]:
    """A variant's cost: each figure summarized over its succeeded repetitions (mean, sd, 95% CI), the reasons of
    those missing, whether any energy was estimated, and the rates used with their sources."""
    costs = []
    for job in jobs:
        result = ok_result(job)
        if result is not None:
            try:
                costs.append(job_cost(job, result, rates_for(run, job, pricing)))
            except PricingError as exc:  # a host the file cannot price: its figures are missing, the report stays
                costs.append(unpriced(result, str(exc)))
    missing: dict[str, list[str]] = {}
    for cost in costs:
        for name, reason in cost["missing"].items():
            missing.setdefault(name, [])
            if reason not in missing[name]:
                missing[name].append(reason)
    return {
        "currency": pricing.currency,
        "runs": len(costs),
        "estimated": any(c["estimated"] for c in costs),
        "stats": {f: stat_summary(c["figures"][f] for c in costs).to_dict() for f in FIGURES},
        "missing": missing if costs else {f: ["no succeeded result"] for f in FIGURES},
        "rates": list({_key(c["rates"]): c["rates"] for c in costs}.values()),
    }


def _key(rates: dict) -> str:
    return repr(sorted((k, str(v)) for k, v in rates.items()))


def add_costs(run: dict, summary: dict, pricing: Pricing | None) -> dict:
    """``summary`` with, given a ``pricing``, a ``cost`` per variant and a ``pricing`` block for the run (the file,
    its currency and content; without pricing neither key is added), and ``capacity`` (master/analysis/capacity.py,
    each density profile's max per node x 10 nodes) when the run has density results; other keys are left as they
    are."""
    try:
        summary["capacity"] = plan_capacity(run, None, pricing)
    except NoDensityResult:
        pass
    if pricing is None:
        return summary
    groups = {
        (g[0].get("variant") or g[0].get("name") or g[0].get("id") or "?"): g
        for g in group_by_variant(run.get("jobs") or [])
    }
    for variant in summary.get("variants") or []:
        jobs = groups.get(variant["variant"])
        if jobs:
            variant["cost"] = variant_cost(run, jobs, pricing)
    summary["pricing"] = {"given": True, **pricing.to_dict()}
    return summary
