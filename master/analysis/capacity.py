"""Capacity planning from density results: what N concurrent live streams need per month (:func:`plan_capacity`).

Per density variant (a stream profile): the streams one node carried in real time (the measured ``max_streams``; the
smallest over repetitions when they differ), nodes needed = ceil(N / max_streams), watts per stream (mean watts at
that level / max_streams, averaged over repetitions), kWh per month = watts per stream x N x 730 h / 1000, and with a
pricing file the energy cost, CO2 and the node cost per month (nodes x node cost per hour x 730 h).
"""

from __future__ import annotations

import math
from typing import Any

from master.analysis.pricing import Pricing, PricingError, rates_for
from master.analysis.stats import present
from master.analysis.summarize import group_by_variant, job_kind, ok_result

HOURS_PER_MONTH = 730.0
"""Hours in an average month (8,760 h a year / 12)."""

REPORT_NODES = 10
"""The report's capacity block plans for this many nodes' worth of streams (each profile's max per node x 10)."""


NO_PRICING = "no pricing given (--pricing FILE, or pricing: in the campaign file)"
"""Why a plan without pricing has no cost or CO2."""


class NoDensityResult(Exception):
    """The run has no density variant with a succeeded result to plan from."""


def density_groups(run: dict) -> list[list[dict]]:
    """The density variants' jobs, one list per variant, each with at least one succeeded result."""
    groups = []
    for jobs in group_by_variant(run.get("jobs") or []):
        if job_kind(jobs[0]) == "density" and any(ok_result(j) for j in jobs):
            groups.append(jobs)
    return groups


def plan_capacity(run: dict, streams: int | None, pricing: Pricing | None) -> dict[str, Any]:
    """The plan for ``streams`` streams on each density profile of the run (None: each profile's max per node x
    :data:`REPORT_NODES`); raises NoDensityResult when the run has none."""
    groups = density_groups(run)
    if not groups:
        raise NoDensityResult(
            "this run has no density result: capacity planning needs a scenario of kind density that succeeded"
        )
    return {
        "streams": streams,
        "hours_per_month": HOURS_PER_MONTH,
        "currency": pricing.currency if pricing else None,
        "pricing_file": pricing.file if pricing else None,
        "profiles": [profile_plan(run, jobs, streams, pricing) for jobs in groups],
    }


def profile_plan(run: dict, jobs: list[dict], streams: int | None, pricing: Pricing | None) -> dict[str, Any]:
    """One density profile's plan; figures that cannot be computed are None with their reason under ``missing``."""
    results = [(j, r) for j in jobs if (r := ok_result(j)) is not None]
    maxima = [int(m) for m in present((r.get("metrics") or {}).get("max_streams") for _, r in results)]
    watts = present((r.get("metrics") or {}).get("watts_per_stream") for _, r in results)
    first_job = results[0][0]
    plan: dict[str, Any] = {
        "variant": first_job.get("variant") or first_job.get("name") or "?",
        "runs": len(results),
        "max_streams": min(maxima) if maxima else None,
        "max_streams_runs": maxima,
        "watts_per_stream": sum(watts) / len(watts) if watts else None,
        "estimated": any((r.get("provenance") or {}).get("estimated") for _, r in results),
        "notes": [],
        "missing": {},
    }
    if len(set(maxima)) > 1:
        plan["notes"].append(f"repetitions found {sorted(set(maxima))} streams per node: planned at the smallest")
    if plan["estimated"]:
        plan["notes"].append("estimated: the density energy is a CPU-time model, not a measurement")
    target = streams if streams is not None else (plan["max_streams"] or 0) * REPORT_NODES
    plan["streams"] = target
    _fill(plan, target, _rates(run, first_job, pricing, plan), pricing is not None)
    return plan


def _rates(run: dict, job: dict, pricing: Pricing | None, plan: dict):
    """The rates of the job's host; None without pricing, or (with a note) when the file cannot price the host."""
    if pricing is None:
        return None
    try:
        return rates_for(run, job, pricing)
    except PricingError as exc:
        plan["notes"].append(f"not priced: {exc}")
        return None


def _fill(plan: dict, streams: int, rates, priced: bool) -> None:
    """Nodes, kWh, cost and CO2 per month of ``streams`` streams on the profile in ``plan``."""
    missing = plan["missing"]
    per_node, watts = plan["max_streams"], plan["watts_per_stream"]
    plan["nodes"] = math.ceil(streams / per_node) if per_node else None
    if not per_node:
        missing["nodes"] = (
            "no level held: even 1 stream was not real time on this node"
            if per_node == 0
            else "max_streams not reported"
        )
    plan["kwh_per_month"] = watts * streams * HOURS_PER_MONTH / 1000 if watts is not None else None
    if watts is None:
        missing["kwh_per_month"] = "watts_per_stream not measured"
    plan["rates"] = rates.to_dict() if rates else None
    kwh = plan["kwh_per_month"]
    plan["energy_cost_per_month"] = kwh * rates.electricity_per_kwh if rates and kwh is not None else None
    plan["co2_kg_per_month"] = kwh * rates.gco2_per_kwh / 1000 if rates and kwh is not None else None
    cost = rates.node_cost_per_hour if rates else None
    nodes = plan["nodes"]
    plan["node_cost_per_month"] = nodes * cost * HOURS_PER_MONTH if cost is not None and nodes is not None else None
    for name in ("energy_cost_per_month", "co2_kg_per_month", "node_cost_per_month"):
        if plan[name] is None:
            missing[name] = _why(name, rates, kwh, nodes, priced)


def _why(name: str, rates, kwh, nodes, priced: bool) -> str:
    if rates is None:
        return "no prices for this host (see the notes)" if priced else NO_PRICING
    if name == "node_cost_per_month":
        return "no node_cost_per_hour for this host in the pricing file" if nodes is not None else "no node count"
    return "no kWh per month" if kwh is None else "not computed"
