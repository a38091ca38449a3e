"""View models of the report's efficiency sections: the ranking, the energy split by source, the per-job power rows
and the preflight warnings about how the hosts were measured.

A missing figure stays "—" with its reason (master/reports/cells.py); an estimated source is labelled as such.
"""

from __future__ import annotations

from master.analysis.efficiency import ranking
from master.analysis.stats import summary as stat_summary
from master.analysis.summarize import ok_result
from master.reports.cells import DASH, Footnotes, fmt, stat_cell, value_cell
from master.reports.tabular import node_name

PREFLIGHT_FACTS = (
    ("cpu_governor", "performance", "CPU frequency governor is {value!r}, not 'performance': clocks vary with load"),
    ("turbo", False, "turbo boost is on: clocks and power depend on temperature and other load"),
    ("smt", False, "SMT (hyper-threading) is on: sibling threads share a core's power"),
)
"""Inventory facts checked before trusting a host's numbers: (key, the value wanted, the warning otherwise)."""


RANKING_EXTRAS = (
    ("pixels_per_joule", "pixels / J"),
    ("mbps_per_watt", "Mbps / W"),
    ("joules_per_stream_hour", "J / stream-hour"),
)
"""Efficiency figures the ranking table adds when some variant has them (derived by the master from each run)."""


def ranking_rows(variants: list[dict], notes: Footnotes) -> dict | None:
    """The ranking table by frames per joule (best first) with quality per joule when measured, and pixels per joule
    and Mbps per watt when known; None when no variant has frames per joule."""
    ordered, per_joule = ranking(variants)
    if not any(v["stats"]["frames_per_joule"]["mean"] is not None for v in ordered):
        return None
    extras = [
        (name, heading)
        for name, heading in RANKING_EXTRAS
        if any((v["stats"].get(name) or {}).get("mean") is not None for v in ordered)
    ]
    rows = []
    for rank, v in enumerate(ordered, 1):
        rated = v["stats"]["frames_per_joule"]["mean"] is not None
        rows.append(
            {
                "rank": rank if rated else DASH,
                "variant": v["variant"],
                "scenario": v["scenario"],
                "estimated": v["provenance"]["estimated"],
                "fpj": stat_cell(v, "frames_per_joule", notes, energy=True),
                "jpf": stat_cell(v, "joules_per_frame", notes, energy=True),
                "quality": stat_cell(v, per_joule[0], notes, energy=True) if per_joule else None,
                "extras": [
                    stat_cell(v, name, notes, energy=True)
                    if name in v["stats"]
                    else notes.missing(f"{name} is not derived for a {v.get('kind')} variant")
                    for name, _ in extras
                ],
            }
        )
    return {
        "rows": rows,
        "quality_heading": per_joule[1] if per_joule else None,
        "extra_headings": [heading for _, heading in extras],
    }


def energy_split(run: dict) -> dict | None:
    """Per variant, the mean energy per run of each power source (``metrics.energy_j``) and its share of the total;
    None when no result carries per-source energy."""
    per_variant: dict[str, dict[str, list[float]]] = {}
    kinds: dict[str, str] = {}
    for job in run.get("jobs") or []:
        result = ok_result(job)
        energy = ((result or {}).get("metrics") or {}).get("energy_j")
        if not isinstance(energy, dict) or not energy:
            continue
        for source in (result.get("provenance") or {}).get("sources") or []:
            if isinstance(source, dict) and source.get("name"):
                kinds[source["name"]] = source.get("kind") or ""
        sources = per_variant.setdefault(job.get("variant") or job.get("name") or "?", {})
        for name, joules in energy.items():
            sources.setdefault(name, []).append(joules)
    if not per_variant:
        return None
    names = sorted({n for sources in per_variant.values() for n in sources})
    rows = []
    for variant, sources in per_variant.items():
        means = {n: stat_summary(sources.get(n, [])).mean for n in names}
        total = sum(m for m in means.values() if m is not None)
        cells = []
        for n in names:
            mean = means[n]
            share = f"{mean / total * 100:.0f}%" if mean is not None and total else None
            cells.append({"text": fmt(mean) if mean is not None else DASH, "share": share, "missing": mean is None})
        rows.append({"variant": variant, "cells": cells})
    headings = [{"name": n, "estimated": kinds.get(n) == "estimate" or n.startswith("estimate")} for n in names]
    return {"headings": headings, "rows": rows}


def power_job_rows(run: dict, notes: Footnotes) -> list[dict]:
    """Per successful job with samples: its variant, duration, mean and peak watts and sample count (the per-job
    detail under the power-over-time charts)."""
    rows = []
    for job in run.get("jobs") or []:
        result = ok_result(job)
        if result is None or not isinstance(result.get("samples"), list) or not result["samples"]:
            continue
        metrics, missing = result.get("metrics") or {}, result.get("missing") or {}

        def cell(key: str, suffix: str = "", metrics=metrics, missing=missing):
            return value_cell(metrics.get(key), missing.get(key) or f"{key}: not reported", notes, suffix=suffix)

        rows.append(
            {
                "name": job.get("name") or job.get("id"),
                "scenario": job.get("scenario") or DASH,
                "variant": job.get("variant") or DASH,
                "estimated": bool((result.get("provenance") or {}).get("estimated")),
                "duration": cell("duration_s", " s"),
                "mean": cell("mean_watts", " W"),
                "peak": cell("peak_watts", " W"),
                "samples": len(result["samples"]),
            }
        )
    return rows


def preflight_rows(run: dict, summary: dict) -> list[dict]:
    """Warnings about how each host was measured: an estimate instead of a sensor, and inventory facts (governor,
    turbo, SMT) that make power vary; a fact the inventory does not carry is listed as unknown with its reason."""
    rows = []
    estimated = summary["provenance"]["estimated_nodes"]
    for node in run.get("nodes") or []:
        name = node.get("hostname") or node_name(run, node.get("id")) or node.get("id") or "?"
        inventory = node.get("inventory") or {}
        if node.get("id") in estimated:
            rows.append(
                {"host": name, "level": "warn", "text": "energy is ESTIMATED (CPU-time model), no power sensor"}
            )
        for key, wanted, message in PREFLIGHT_FACTS:
            if key not in inventory:
                continue
            value = inventory[key]
            if value is None:
                reason = (inventory.get("missing") or {}).get(key) or "not readable"
                rows.append({"host": name, "level": "unknown", "text": f"{key} unknown: {reason}"})
            elif value != wanted:
                rows.append({"host": name, "level": "warn", "text": message.format(value=value)})
    return rows


HIGH_CV = 0.10
"""A variant whose headline figure varies more than this between runs (coefficient of variation) is flagged."""

SPREAD_METRICS = ("joules_per_frame", "watts_per_stream", "max_streams")
"""The headline figure of each kind, in the order looked for: J/frame, W per stream (live kinds), max streams."""

OUTLIER_RULES = {"tukey-1.5iqr": "beyond 1.5 IQR of the quartiles (Tukey)"}
"""The outlier rules summarize names, in words."""


def spread_rows(summary: dict) -> list[dict]:
    """Warnings about the runs themselves: a variant whose headline figure varies more than :data:`HIGH_CV` between
    runs, and each run flagged as an outlier of a metric (with the rule used)."""
    rows = []
    for variant in summary["variants"]:
        name = variant.get("variant") or "?"
        stats = variant.get("stats") or {}
        metric = next((m for m in SPREAD_METRICS if (stats.get(m) or {}).get("cv") is not None), None)
        if metric is not None and stats[metric]["cv"] > HIGH_CV:
            rows.append(
                {
                    "host": name,
                    "level": "warn",
                    "text": f"{metric} varies {stats[metric]['cv'] * 100:.0f}% between its {stats[metric]['n']} runs "
                    "(coefficient of variation): more repetitions, or a confidence target, narrow it",
                }
            )
        outliers = variant.get("outliers") or {}
        rule = OUTLIER_RULES.get(outliers.get("rule"), outliers.get("rule"))
        for metric_name, flagged in sorted((outliers.get("metrics") or {}).items()):
            for entry in flagged:
                rows.append(
                    {
                        "host": name,
                        "level": "warn",
                        "text": f"run {entry.get('repetition')} ({entry.get('job')}): {metric_name} "
                        f"{fmt(entry.get('value'))} is an outlier ({rule})",
                    }
                )
    return rows


BUSY_BASELINE_PCT = 10.0
"""An idle baseline during which other processes used more than this share of the machine's CPU is flagged: its idle
watts include their load, so every dynamic figure of that job is understated."""


def baseline_load_rows(run: dict) -> list[dict]:
    """Per host, the idle baselines during which other processes kept more than :data:`BUSY_BASELINE_PCT` of the CPU
    busy (the agent records it as ``baseline.other_load_pct``)."""
    by_host: dict[str, list[tuple[float, str]]] = {}
    seen: dict[str, int] = {}
    for job in run.get("jobs") or []:
        baseline = (job.get("result") or {}).get("baseline") or {}
        load = baseline.get("other_load_pct")
        if load is None:
            continue
        host = node_name(run, job.get("node_id")) or job.get("node_id") or "?"
        seen[host] = seen.get(host, 0) + 1
        if load > BUSY_BASELINE_PCT:
            by_host.setdefault(host, []).append((load, job.get("name") or job.get("id") or "?"))
    rows = []
    for host, busy in sorted(by_host.items()):
        worst, name = max(busy)
        rows.append(
            {
                "host": host,
                "level": "warn",
                "text": f"other load during the idle baseline: {len(busy)} of {seen[host]} baselines had more than "
                f"{BUSY_BASELINE_PCT:g}% of the CPUs busy with other processes (up to {worst:g}%, {name}); their idle "
                "watts include that load, so dynamic figures are understated",
            }
        )
    return rows
