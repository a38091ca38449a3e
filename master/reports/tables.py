"""The report's tables as view models: per scenario (a row per variant, a cell per metric), the idle baselines and
the ladder rungs; which columns a table has."""

from __future__ import annotations

from master.analysis.summarize import KIND_METRICS, RUNG_METRICS
from master.reports.cells import DASH, Cell, Footnotes, fmt, stat_cell
from master.reports.content import content_columns
from master.reports.tabular import node_name
from wire.metrics import REGISTRY

TABLE_METRICS = tuple(
    (m.name, m.heading, m.estimated_capable) for m in REGISTRY if m.column and m.kinds is None and not m.optional
)
"""Columns of a scenario table: summary metric, heading, and whether it is an energy number (gets `est.`): the
registry's (wire/metrics.py) columns of every measuring kind, in its order."""

KIND_TABLE_METRICS = tuple((m.name, m.heading, m.estimated_capable) for m in REGISTRY if m.column and m.kinds)
"""Columns of the live, multi, density and ladder kinds (the registry's columns of some kinds only), shown after
TABLE_METRICS in a scenario table only when one of its variants' results carries them."""

RUNG_HEADINGS = {"frames": "frames", "pixels": "pixels", "output_bytes": "bytes", "bitrate_kbps": "kbps"}
"""Headings of the per-rung statistics of a ladder variant (summarize.RUNG_METRICS)."""


def energy_variants(summary: dict) -> list[dict]:
    """The variants of the per-scenario energy tables and the J/frame chart: all but baselines (their own section)."""
    return [v for v in summary["variants"] if v.get("kind") != "baseline"]


def scenario_tables(summary: dict, notes: Footnotes) -> list[dict]:
    """One table per scenario: a row per variant with its parameters, run counts and metric cells.

    Baseline variants are left out (see :func:`baseline_rows`); the columns are TABLE_METRICS, plus those of
    KIND_TABLE_METRICS that a variant of the table reports, and TABLE_METRICS alone for a table of encodes only."""
    tables = []
    for scenario in summary["scenarios"]:
        variants = [v for v in energy_variants(summary) if v["scenario"] == scenario]
        if not variants:
            continue
        columns = table_columns(variants)
        rows = [_variant_row(v, notes, columns) for v in variants]
        tables.append({"scenario": scenario, "rows": rows, "headings": [heading for _, heading, _ in columns]})
    return tables


QUALITY_METRICS = ("psnr_db", "ssim", "vmaf", "ssim_frames_per_joule", "vmaf_frames_per_joule")
"""Transcode's quality columns: a table of other kinds (live streams, ladders: never compared) shows them only when
some run has a score, not as a column of dashes."""


def table_columns(variants: list[dict]) -> list[tuple[str, str, bool]]:
    """The columns of a scenario table: every TABLE_METRICS column when a variant is a transcode (or of unknown
    kind), else only those a variant reports (quality ones only when some run has a score); then the
    KIND_TABLE_METRICS columns a variant of a kind that has them
    (summarize.KIND_METRICS) reports: a transcode's ``frames`` does not add the ladder's frames column."""

    def reported(name: str, kinds=None) -> bool:
        return any(
            (kinds is None or name in kinds.get(v.get("kind"), ()))
            and (name in v.get("reported", ()) or v["stats"][name]["n"] > 0)
            for v in variants
        )

    def measured(name: str) -> bool:
        return any(v["stats"][name]["n"] > 0 for v in variants)

    encodes = any(v.get("kind") not in KIND_METRICS for v in variants)
    base = [c for c in TABLE_METRICS if encodes or (measured(c[0]) if c[0] in QUALITY_METRICS else reported(c[0]))]
    return base + [c for c in KIND_TABLE_METRICS if reported(c[0], KIND_METRICS)] + content_columns(variants)


def _variant_row(variant: dict, notes: Footnotes, columns=TABLE_METRICS) -> dict:
    params = variant["params"]
    return {
        "variant": variant["variant"],
        "setup": _setup_text(params),
        "runs_ok": variant["runs_ok"],
        "jobs": variant["jobs"],
        "runs_failed": variant["runs_failed"],
        "runs_pending": variant["runs_pending"] + variant["runs_cancelled"],
        "errors": variant["errors"],
        "estimated": variant["provenance"]["estimated"],
        "confidence": confidence_text(variant.get("confidence")),
        "cells": [stat_cell(variant, name, notes, energy) for name, _, energy in columns],
    }


def confidence_text(confidence: dict | None) -> str | None:
    """``"runs 5, ±3.1% (target 5%) reached"`` for a variant repeated until its J/frame interval is narrow enough."""
    if not confidence:
        return None
    half = confidence.get("half_width_pct")
    width = f"±{half:.1f}%" if isinstance(half, (int, float)) else f"±{DASH}"
    target = confidence.get("target")
    goal = f" (target {target * 100:g}%)" if isinstance(target, (int, float)) else ""
    state = "reached" if confidence.get("reached") else "not reached"
    return f"runs {confidence.get('runs', DASH)}, {width}{goal} {state}"


def _setup_text(params: dict) -> str:
    """Encoder, preset, rate control, resolution, fps, streams or rungs, and duration in one line."""
    rate = (
        f"bitrate {params['bitrate']}"
        if params.get("bitrate")
        else f"crf {params['crf']}"
        if params.get("crf") is not None
        else None
    )
    bitrates = params.get("bitrates")
    parts = [
        params.get("encoder"),
        params.get("preset"),
        rate,
        f"bitrates {', '.join(map(str, bitrates))}" if isinstance(bitrates, list) else None,
        params.get("resolution"),
        f"{params['fps']} fps" if params.get("fps") else None,
        f"{params['count']} streams" if params.get("count") else None,
        f"up to {params['max_streams']} streams" if params.get("max_streams") else None,
        f"{len(params['rungs'])} rungs" if isinstance(params.get("rungs"), list) else None,
        f"{params['duration']} s" if params.get("duration") else None,
    ]
    return " · ".join(str(p) for p in parts if p) or DASH


def baseline_rows(run: dict, summary: dict, notes: Footnotes) -> list[dict]:
    """The idle-baseline section: per baseline variant and host, idle watts and measured duration over the runs."""
    rows = []
    for entry in summary.get("baselines") or []:
        rows.append(
            {
                "variant": entry["variant"],
                "node": node_name(run, entry.get("node_id")) or DASH,
                "runs_ok": entry["runs_ok"],
                "jobs": entry["jobs"],
                "runs_failed": entry["runs_failed"],
                "errors": entry["errors"],
                "estimated": entry["provenance"]["estimated"],
                "asked": entry["params"].get("duration"),
                "idle_watts": stat_cell(entry, "idle_watts", notes, True),
                "duration": stat_cell(entry, "duration_s", notes, False),
            }
        )
    return rows


def rung_tables(summary: dict, notes: Footnotes) -> list[dict]:
    """Per ladder variant: a row per rung with the mean ± stdev of its frames, pixels, bytes and kbps."""
    tables = []
    for variant in energy_variants(summary):
        if variant.get("rungs"):
            rows = [
                {
                    "rung": i + 1,
                    "resolution": r.get("resolution") or DASH,
                    "bitrate": r.get("bitrate") or DASH,
                    "cells": [_rung_cell(variant, i, r["stats"][m], m, notes) for m in RUNG_METRICS],
                }
                for i, r in enumerate(variant["rungs"])
            ]
            tables.append({"scenario": variant["scenario"], "variant": variant["variant"], "rows": rows})
    return tables


def _rung_cell(variant: dict, index: int, stat: dict, name: str, notes: Footnotes) -> Cell:
    if stat["n"] == 0:
        return notes.missing(f"{variant['variant']} rung {index + 1}: no run reported its {name}")
    cell = Cell(fmt(stat["mean"]))
    if stat["stdev"] is not None:
        cell.text += f" ± {fmt(stat['stdev'], 2)}"
    if stat["n"] < variant["runs_ok"]:
        cell.sub = f"n={stat['n']}/{variant['runs_ok']}"
    return cell
