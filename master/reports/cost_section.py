"""The report's "Cost and carbon" section (templates/cost.html) as a view model, from the summary's ``pricing``,
each variant's ``cost`` and ``capacity`` (master/analysis/cost.py, capacity.py)."""

from __future__ import annotations

from typing import Any

from master.analysis.capacity import REPORT_NODES
from master.analysis.cost import ENCODE_KINDS, LIVE_KINDS, NO_PRICING_HINT
from master.reports.cells import DASH, Cell, fmt

ESTIMATED_COST = "estimated: the energy behind this cost is a CPU-time model, not a measurement"
"""Tooltip of the est. badge on a cost."""


def cost_view(summary: dict) -> dict[str, Any]:
    """What templates/cost.html shows: the costs per variant and the prices used, or how to add a pricing file;
    the capacity plan when the run has density results."""
    pricing = summary.get("pricing") or {"given": False, "reason": NO_PRICING_HINT}
    view: dict[str, Any] = {"given": bool(pricing.get("given")), "hint": pricing.get("reason") or NO_PRICING_HINT}
    variants = [v for v in summary.get("variants") or [] if v.get("cost")]
    if view["given"]:
        rates = [r for v in variants for r in v["cost"]["rates"]]
        view.update(
            currency=pricing.get("currency"),
            file=pricing.get("file"),
            format=pricing.get("format"),
            rows=[_row(v) for v in variants],
            compute=any(v["cost"]["stats"]["compute_cost"]["n"] for v in variants),
            prices=[
                _price_row(r, pricing.get("file"))
                for r in {repr(sorted(map(str, r.items()))): r for r in rates}.values()
            ],
        )
    view["capacity"] = _capacity(summary.get("capacity"), pricing.get("currency"))
    return view


def _price_row(rates: dict, file: str | None) -> dict[str, Any]:
    """A host's rates for the prices table (numbers formatted, None where the file could not price the host), their
    sources without the file name the section already gives."""
    prefix = f"{file}: "
    sources = [s[len(prefix) :] if file and s.startswith(prefix) else s for s in (rates.get("source") or {}).values()]
    if rates.get("error"):
        sources.append(rates["error"])
    return {
        "host": rates.get("host") or DASH,
        "region": rates.get("region") or DASH,
        **{k: fmt(rates[k]) if rates.get(k) is not None else None for k in PRICE_KEYS},
        "sources": sources,
        "why": rates.get("error") or (rates.get("source") or {}).get("node_cost_per_hour") or "not in the file",
    }


PRICE_KEYS = ("electricity_per_kwh", "gco2_per_kwh", "node_cost_per_hour")


def _cell(cost: dict, name: str, est: bool) -> Cell:
    """The mean of a cost figure over the variant's runs, or "—" with why it is missing."""
    stat = cost["stats"][name]
    if not stat["n"]:
        return Cell(DASH, title="; ".join(cost["missing"].get(name) or ["not computed"]), missing=True)
    return Cell(fmt(stat["mean"]), est=est, title=ESTIMATED_COST if est else None)


def _row(variant: dict) -> dict[str, Any]:
    cost = variant["cost"]
    est = cost["estimated"]
    live = variant.get("kind") in LIVE_KINDS
    unit = "stream_hour" if live else "video_hour"
    label = "stream-hour" if live else "hour of video" if variant.get("kind") in ENCODE_KINDS else DASH
    return {
        "variant": variant["variant"],
        "kind": variant.get("kind") or DASH,
        "estimated": est,
        "runs": cost["runs"],
        "kwh": _cell(cost, "kwh", est),
        "energy_cost": _cell(cost, "energy_cost", est),
        "co2_g": _cell(cost, "co2_g", est),
        "unit": label,
        "energy_cost_per_unit": _cell(cost, f"energy_cost_per_{unit}", est),
        "co2_g_per_unit": _cell(cost, f"co2_g_per_{unit}", est),
        "energy_cost_per_frame": _cell(cost, "energy_cost_per_frame", est),
        "compute_cost": _cell(cost, "compute_cost", False),
        "compute_cost_per_unit": _cell(cost, f"compute_cost_per_{unit}", False),
    }


def _capacity(capacity: dict | None, currency: str | None) -> dict[str, Any] | None:
    """The capacity block: per density profile, the plan for its max per node x REPORT_NODES streams."""
    if not capacity:
        return None
    rows = []
    for p in capacity["profiles"]:
        est = p["estimated"]

        def cell(name: str, estimated: bool = est, p: dict = p) -> Cell:
            if p.get(name) is None:
                return Cell(DASH, title=p["missing"].get(name) or "not computed", missing=True)
            return Cell(fmt(p[name]), est=estimated, title=ESTIMATED_COST if estimated else None)

        rows.append(
            {
                "variant": p["variant"],
                "streams": p["streams"],
                "max_streams": cell("max_streams", False),
                "nodes": cell("nodes", False),
                "watts_per_stream": cell("watts_per_stream"),
                "kwh_per_month": cell("kwh_per_month"),
                "energy_cost_per_month": cell("energy_cost_per_month"),
                "co2_kg_per_month": cell("co2_kg_per_month"),
                "node_cost_per_month": cell("node_cost_per_month", False),
                "notes": p["notes"],
            }
        )
    return {"nodes": REPORT_NODES, "hours": capacity["hours_per_month"], "currency": currency, "rows": rows}
