"""index.html: the report page, rendered from Jinja2 templates (autoescaped) and inline Plotly charts.

This module turns the run and its summary into view models (cells with their text, tooltip, footnote and `est.`
badge); the templates only lay them out. A missing value is shown as "—" with its reason as a tooltip and a footnote.
The page is self-contained: CSS and plotly.js are inline, and the only links are relative (results.json, results.csv,
#anchors).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from master.analysis.summarize import KIND_METRICS, RUNG_METRICS, job_error, job_kind, ok_result
from master.reports import charts
from master.reports.content import content_columns, source_overview, source_text, warning_rows
from master.reports.inventory import node_view
from master.reports.tabular import node_name

TEMPLATES = Path(__file__).parent / "templates"
"""Directory of the report templates (installed as package data)."""

DASH = "—"

TABLE_METRICS = (
    ("joules_per_frame", "J/frame", True),
    ("dynamic_joules_per_frame", "dyn. J/frame", True),
    ("frames_per_joule", "frames/J", True),
    ("mean_watts", "W mean", True),
    ("idle_watts", "idle W", True),
    ("fps", "fps", False),
    ("speed", "speed ×", False),
    ("bitrate_kbps", "kbps", False),
    ("psnr_db", "PSNR dB", False),
    ("ssim", "SSIM", False),
    ("vmaf", "VMAF", False),
    ("ssim_frames_per_joule", "SSIM·frames/J", True),
)
"""Columns of a scenario table: summary metric, heading, and whether it is an energy number (gets `est.`)."""

KIND_TABLE_METRICS = (
    ("frames_received", "frames received", False),
    ("dropped_frames", "dropped", False),
    ("duplicated_frames", "duplicated", False),
    ("realtime", "real time", False),
    ("streams", "streams", False),
    ("watts_per_stream", "W/stream", True),
    ("dynamic_watts_per_stream", "dyn. W/stream", True),
    ("max_streams", "max streams", False),
    ("marginal_watts_per_stream", "marginal W/stream", True),
    ("rungs", "rungs", False),
    ("frames", "frames", False),
    ("pixels", "pixels", False),
    ("joules_per_megapixel", "J/MP", True),
)
"""Columns of the live, multi, density and ladder kinds (summarize.KIND_METRICS), shown after TABLE_METRICS in a
scenario table only when one of its variants' results carries them."""

RUNG_HEADINGS = {"frames": "frames", "pixels": "pixels", "output_bytes": "bytes", "bitrate_kbps": "kbps"}
"""Headings of the per-rung statistics of a ladder variant (summarize.RUNG_METRICS)."""

ESTIMATE_SENTENCE = "no power sensor on this host; energy is a CPU-time model"


@dataclass
class Cell:
    """One table cell: display text, optional second line, tooltip, footnote number and estimated badge."""

    text: str
    sub: str | None = None
    title: str | None = None
    note: int | None = None
    est: bool = False
    missing: bool = False


@dataclass
class Footnotes:
    """Numbered, de-duplicated reasons for the missing values of the page."""

    items: list[str] = field(default_factory=list)

    def add(self, reason: str) -> int:
        """The number of this reason's footnote, adding it if new."""
        if reason not in self.items:
            self.items.append(reason)
        return self.items.index(reason) + 1

    def missing(self, reason: str) -> Cell:
        """A "—" cell explained by a tooltip and a footnote."""
        return Cell(DASH, title=reason, note=self.add(reason), missing=True)


def fmt(value, digits: int = 4) -> str:
    """A number for people: 4 significant digits, thousands grouped; "—" is for the caller to decide."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if value == 0:
        return "0"
    if 10 ** digits <= abs(value) < 1e15:  # larger ones (up to 1.8e308) in exponent form, not 300 digits
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def value_cell(value, reason: str, notes: Footnotes, est: bool = False, suffix: str = "") -> Cell:
    """A cell for a single value; missing values become "—" with the reason."""
    if value is None:
        return notes.missing(reason)
    return Cell(fmt(value) + suffix, est=est)


def stat_cell(variant: dict, name: str, notes: Footnotes, energy: bool) -> Cell:
    """A scenario-table cell: mean ± stdev and the 95% CI over the variant's successful runs."""
    stat = variant["stats"][name]
    prov = variant["provenance"]
    est = energy and prov["estimated"]
    if stat["n"] == 0:
        return notes.missing(_no_value_reason(variant, name))
    if name == "realtime":
        return _share_cell(variant, stat)
    cell = Cell(fmt(stat["mean"]), est=est)
    if stat["stdev"] is None or stat["ci95_low"] is None or stat["ci95_high"] is None:
        cell.sub = DASH
        cell.title = ("one run: no standard deviation or 95% CI (needs at least 2)" if stat["n"] < 2
                      else "the spread of these runs is too large to represent")
    else:
        cell.text += f" ± {fmt(stat['stdev'], 2)}"
        rel = f" (±{stat['rel_ci95'] * 100:.0f}%)" if stat["rel_ci95"] is not None else ""
        cell.sub = f"CI [{fmt(stat['ci95_low'])}, {fmt(stat['ci95_high'])}]{rel}"
    if stat["n"] < variant["runs_ok"]:
        cell.sub = f"{cell.sub} n={stat['n']}/{variant['runs_ok']}"
        cell.note = notes.add("; ".join(variant["missing"].get(name, ["not reported by the agent"])))
    if est:
        runs = f"estimated in {prov['estimated_runs']} of {prov['runs']} runs"
        cell.title = _join(cell.title, f"{runs}: {ESTIMATE_SENTENCE}")
    return cell


def _share_cell(variant: dict, stat: dict) -> Cell:
    """A yes/no metric (``realtime``): the share of runs where it held."""
    held = round(stat["mean"] * stat["n"])
    return Cell(f"{stat['mean'] * 100:.0f}%", sub=f"{held} of {stat['n']} runs",
                title=f"real time in {held} of {stat['n']} runs with a value ({variant['runs_ok']} succeeded)")


def _no_value_reason(variant: dict, name: str) -> str:
    if variant["runs_ok"] == 0:
        errors = "; ".join(variant["errors"])
        return f"no successful run ({errors})" if errors else "no successful run"
    return "; ".join(variant["missing"].get(name, ["not reported by the agent"]))


def _join(*parts: str | None) -> str:
    return "; ".join(p for p in parts if p)


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
    kind), else only those a variant reports (quality ones only when some run has a score); then the KIND_TABLE_METRICS columns a variant of a kind that has them
    (summarize.KIND_METRICS) reports: a transcode's ``frames`` does not add the ladder's frames column."""

    def reported(name: str, kinds=None) -> bool:
        return any((kinds is None or name in kinds.get(v.get("kind"), ()))
                   and (name in v.get("reported", ()) or v["stats"][name]["n"] > 0) for v in variants)

    def measured(name: str) -> bool:
        return any(v["stats"][name]["n"] > 0 for v in variants)

    encodes = any(v.get("kind") not in KIND_METRICS for v in variants)
    base = [c for c in TABLE_METRICS
            if encodes or (measured(c[0]) if c[0] in QUALITY_METRICS else reported(c[0]))]
    return (base + [c for c in KIND_TABLE_METRICS if reported(c[0], KIND_METRICS)]
            + content_columns(variants))


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
    rate = (f"bitrate {params['bitrate']}" if params.get("bitrate")
            else f"crf {params['crf']}" if params.get("crf") is not None else None)
    bitrates = params.get("bitrates")
    parts = [
        params.get("encoder"), params.get("preset"), rate,
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
        rows.append({
            "variant": entry["variant"], "node": node_name(run, entry.get("node_id")) or DASH,
            "runs_ok": entry["runs_ok"], "jobs": entry["jobs"], "runs_failed": entry["runs_failed"],
            "errors": entry["errors"], "estimated": entry["provenance"]["estimated"],
            "asked": entry["params"].get("duration"),
            "idle_watts": stat_cell(entry, "idle_watts", notes, True),
            "duration": stat_cell(entry, "duration_s", notes, False),
        })
    return rows


def rung_tables(summary: dict, notes: Footnotes) -> list[dict]:
    """Per ladder variant: a row per rung with the mean ± stdev of its frames, pixels, bytes and kbps."""
    tables = []
    for variant in energy_variants(summary):
        if variant.get("rungs"):
            rows = [{"rung": i + 1, "resolution": r.get("resolution") or DASH, "bitrate": r.get("bitrate") or DASH,
                     "cells": [_rung_cell(variant, i, r["stats"][m], m, notes) for m in RUNG_METRICS]}
                    for i, r in enumerate(variant["rungs"])]
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


def banner(run: dict, summary: dict) -> dict:
    """The provenance banner: measured, estimated, mixed or no data, in words, with a CSS class."""
    prov = summary["provenance"]
    kinds = ", ".join(prov["measured_kinds"]) or "energy counters"
    est_hosts = ", ".join(node_name(run, n) or "?" for n in prov["estimated_nodes"]) or "the host"
    estimated = f"ESTIMATED on {est_hosts} — {ESTIMATE_SENTENCE}. Numbers marked est. are a model, not a measurement."
    if prov["mode"] == "measured":
        text = f"MEASURED via {kinds} — energy from counters ({', '.join(prov['measured_sources'])})."
    elif prov["mode"] == "estimated":
        text = estimated
    elif prov["mode"] == "mixed":
        text = (f"MIXED — {prov['measured']} jobs MEASURED via {kinds}; {prov['estimated']} jobs {estimated} "
                "Do not compare estimated and measured numbers as equals.")
    else:
        text = "NO ENERGY DATA — no job produced a successful result."
    return {"mode": prov["mode"], "text": text}


def partial_notice(run: dict, summary: dict) -> str | None:
    """A notice when the campaign did not finish: the report covers the completed jobs only."""
    state = (run.get("campaign") or {}).get("state")
    counts = summary["counts"]
    done = counts["succeeded"] + counts["failed"]
    left = counts["queued"] + counts["running"] + counts["cancelled"]
    if state == "interrupted":
        return (f"This campaign was interrupted: the report covers the {done} completed jobs only; "
                f"{left} of {counts['total']} jobs did not complete.")
    if state in ("running", "queued", "created", "pending") or (counts["queued"] + counts["running"]):
        return f"This campaign has not finished (state: {state}): {left} of {counts['total']} jobs are not complete."
    return None


def failure_rows(run: dict) -> list[dict]:
    """Jobs that failed or were cancelled, with their error."""
    rows = []
    for job in run.get("jobs") or []:
        result = job.get("result") or {}
        if job.get("state") in ("failed", "cancelled") or result.get("status") == "failed":
            rows.append({
                "name": job.get("name") or job.get("id"), "variant": job.get("variant"),
                "repetition": job.get("repetition"), "state": job.get("state"),
                "node": node_name(run, job.get("node_id")) or DASH,
                "error": job_error(job) or ("cancelled before it ran" if job.get("state") == "cancelled" else DASH),
            })
    return rows


def provenance_rows(run: dict, notes: Footnotes) -> list[dict]:
    """Per job with a successful result: sources, sample rate and count, baseline, agent overhead."""
    rows = []
    for job in run.get("jobs") or []:
        result = ok_result(job)
        if result is not None:
            rows.append(_provenance_row(run, job, result, notes))
    return rows


def _provenance_row(run: dict, job: dict, result: dict, notes: Footnotes) -> dict:
    prov, metrics = result.get("provenance") or {}, result.get("metrics") or {}
    missing, baseline = result.get("missing") or {}, result.get("baseline") or {}

    def cell(value, key: str, suffix: str = "") -> Cell:
        return value_cell(value, missing.get(key) or f"{key}: not reported by the agent", notes, suffix=suffix)

    return {
        "name": job.get("name") or job.get("id"),
        "node": node_name(run, job.get("node_id")) or DASH,
        "estimated": bool(prov.get("estimated")),
        "sources": prov.get("sources") or [],
        "sample_rate": cell(prov.get("sample_rate_hz"), "sample_rate_hz", " Hz"),
        "sample_count": cell(prov.get("sample_count"), "sample_count"),
        "baseline": cell(baseline.get("idle_watts"), "idle_watts", " W"),
        "baseline_samples": baseline.get("sample_count"),
        "agent_overhead": cell(metrics.get("agent_overhead_pct"), "agent_overhead_pct", " %"),
        "sampler_overhead": cell(metrics.get("sampler_overhead_pct"), "sampler_overhead_pct", " %"),
        "ffmpeg": (result.get("ffmpeg") or {}).get("version"),
        "source": source_text(job, result),
        "notes": prov.get("notes") or [],
    }


def chart_fragments(run: dict, summary: dict) -> dict:
    """The joules-per-frame bar chart (baselines left out), the streams-vs-watts chart of density variants and one
    power-over-time chart per scenario (None where there is no data)."""
    jobs = run.get("jobs") or []
    power = []
    for index, scenario in enumerate(summary["scenarios"]):
        scenario_jobs = [j for j in jobs if (j.get("scenario") or DASH) == scenario and ok_result(j)]
        chart = charts.power_chart(scenario, scenario_jobs, f"chart-power-{index}")
        power.append({"scenario": scenario, "html": chart})
    return {"jpf": charts.jpf_bar_chart(energy_variants(summary)), "density": density_chart(jobs), "power": power}


def density_chart(jobs: list[dict]) -> str | None:
    """Streams vs watts of the density jobs' results, one line per variant; None when there is none."""
    groups: dict[str, list[dict]] = {}
    for job in jobs:
        result = ok_result(job)
        if result is not None and job_kind(job) == "density" and isinstance(result.get("density"), dict):
            groups.setdefault(job.get("variant") or job.get("name") or "?", []).append(result)
    return charts.density_chart(groups) if groups else None


def environment() -> Environment:
    """The Jinja2 environment of the report: autoescaped, strict about undefined names."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["fmt"] = fmt
    return env


def render_html(run: dict, summary: dict) -> str:
    """The full report page for a run and its summary."""
    notes = Footnotes()
    chart_html = chart_fragments(run, summary)
    has_chart = (chart_html["jpf"] is not None or chart_html["density"] is not None
                 or any(p["html"] for p in chart_html["power"]))
    context = {
        "campaign": run.get("campaign") or {},
        "generated_at": run.get("generated_at"),
        "counts": summary["counts"],
        "banner": banner(run, summary),
        "partial": partial_notice(run, summary),
        "warnings": warning_rows(summary),
        "source_overview": source_overview(summary),
        "nodes": [node_view(n) for n in run.get("nodes") or []],
        "tables": scenario_tables(summary, notes),
        "baselines": baseline_rows(run, summary, notes),
        "rung_tables": rung_tables(summary, notes),
        "rung_headings": [RUNG_HEADINGS[m] for m in RUNG_METRICS],
        "failures": failure_rows(run),
        "provenance": provenance_rows(run, notes),
        "charts": chart_html,
        "plotly_js": charts.plotly_js() if has_chart else None,
        "footnotes": notes.items,
    }
    return environment().get_template("report.html").render(**context)
