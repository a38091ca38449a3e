"""index.html: the report page, rendered from Jinja2 templates (autoescaped) with inline SVG charts.

This module turns the run and its summary into view models (cells: master/reports/cells.py, tables:
master/reports/tables.py); the templates only lay them out. A missing value is shown as "—" with its reason as a
tooltip and a footnote. The page is self-contained and needs no script: CSS and SVG are inline, and the only links are
relative (results.json, results.csv, #anchors). It opens with the answer in words (master/reports/headline.py).
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from master.analysis.efficiency import quality_points
from master.analysis.summarize import RUNG_METRICS, job_error, job_kind, ok_result
from master.reports import charts

# stat_cell, KIND_TABLE_METRICS, confidence_text: imported by tests through this module
from master.reports.cells import DASH, ESTIMATE_SENTENCE, Cell, Footnotes, fmt, stat_cell, value_cell  # noqa: F401
from master.reports.content import source_overview, source_text, warning_rows
from master.reports.cost_section import cost_view
from master.reports.headline import headlines
from master.reports.inventory import node_view
from master.reports.sections import (
    baseline_load_rows,
    energy_split,
    power_job_rows,
    preflight_rows,
    ranking_rows,
    spread_rows,
)
from master.reports.tables import (  # noqa: F401
    KIND_TABLE_METRICS,
    RUNG_HEADINGS,
    TABLE_METRICS,
    baseline_rows,
    confidence_text,
    energy_variants,
    rung_tables,
    scenario_tables,
)
from master.reports.tabular import node_name

TEMPLATES = Path(__file__).parent / "templates"
"""Directory of the report templates (installed as package data)."""


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
        text = (
            f"MIXED — {prov['measured']} jobs MEASURED via {kinds}; {prov['estimated']} jobs {estimated} "
            "Do not compare estimated and measured numbers as equals."
        )
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
        return (
            f"This campaign was interrupted: the report covers the {done} completed jobs only; "
            f"{left} of {counts['total']} jobs did not complete."
        )
    if state in ("running", "queued", "created", "pending") or (counts["queued"] + counts["running"]):
        return f"This campaign has not finished (state: {state}): {left} of {counts['total']} jobs are not complete."
    return None


def failure_rows(run: dict) -> list[dict]:
    """Jobs that failed or were cancelled, with their error."""
    rows = []
    for job in run.get("jobs") or []:
        result = job.get("result") or {}
        if job.get("state") in ("failed", "cancelled") or result.get("status") == "failed":
            rows.append(
                {
                    "name": job.get("name") or job.get("id"),
                    "variant": job.get("variant"),
                    "repetition": job.get("repetition"),
                    "state": job.get("state"),
                    "node": node_name(run, job.get("node_id")) or DASH,
                    "error": job_error(job) or ("cancelled before it ran" if job.get("state") == "cancelled" else DASH),
                }
            )
    return rows


def provenance_rows(run: dict, notes: Footnotes, remarks: Footnotes | None = None) -> list[dict]:
    """Per job with a successful result: sources, sample rate and count, baseline, agent overhead. The sources'
    reasons and the result's notes repeat over jobs, so they are numbered once in ``remarks`` (listed under the
    table) and the rows carry their numbers."""
    remarks = remarks if remarks is not None else Footnotes()
    rows = []
    for job in run.get("jobs") or []:
        result = ok_result(job)
        if result is not None:
            rows.append(_provenance_row(run, job, result, notes, remarks))
    return rows


def _provenance_row(run: dict, job: dict, result: dict, notes: Footnotes, remarks: Footnotes) -> dict:
    prov, metrics = result.get("provenance") or {}, result.get("metrics") or {}
    missing, baseline = result.get("missing") or {}, result.get("baseline") or {}

    def cell(value, key: str, suffix: str = "") -> Cell:
        return value_cell(value, missing.get(key) or f"{key}: not reported by the agent", notes, suffix=suffix)

    sources = [
        {
            "name": s.get("name", "?"),
            "kind": s.get("kind"),
            "valid": s.get("valid_samples"),
            "invalid": s.get("invalid_samples"),
            "remark": remarks.add(str(s["reason"])) if s.get("reason") else None,
        }
        for s in prov.get("sources") or []
        if isinstance(s, dict)
    ]
    return {
        "name": job.get("name") or job.get("id"),
        "node": node_name(run, job.get("node_id")) or DASH,
        "estimated": bool(prov.get("estimated")),
        "sources": sources,
        "sample_rate": cell(prov.get("sample_rate_hz"), "sample_rate_hz", " Hz"),
        "sample_count": cell(prov.get("sample_count"), "sample_count"),
        "baseline": cell(baseline.get("idle_watts"), "idle_watts", " W"),
        "baseline_samples": baseline.get("sample_count"),
        "agent_overhead": cell(metrics.get("agent_overhead_pct"), "agent_overhead_pct", " %"),
        "sampler_overhead": cell(metrics.get("sampler_overhead_pct"), "sampler_overhead_pct", " %"),
        "ffmpeg": (result.get("ffmpeg") or {}).get("version"),
        "source": source_text(job, result),
        "remarks": [remarks.add(str(n)) for n in prov.get("notes") or []],
    }


def chart_fragments(run: dict, summary: dict) -> dict:
    """The chart dicts of the page (master/reports/charts.py; None where there is no data): joules per frame
    (baselines left out), streams vs watts of density variants, quality vs energy with its Pareto frontier, and one
    power-over-time chart per scenario."""
    jobs = run.get("jobs") or []
    power = []
    for index, scenario in enumerate(summary["scenarios"]):
        scenario_jobs = [j for j in jobs if (j.get("scenario") or DASH) == scenario and ok_result(j)]
        chart = charts.power_chart(scenario, scenario_jobs, f"chart-power-{index}")
        power.append({"scenario": scenario, "chart": chart})
    variants = energy_variants(summary)
    quality = quality_points(variants)
    pareto = charts.pareto_chart(*quality) if quality else None
    frontier = [quality[0][i]["label"] for i in quality[1]] if quality else []
    return {
        "jpf": charts.jpf_bar_chart(variants),
        "density": density_chart(jobs),
        "pareto": pareto,
        "frontier": frontier,
        "power": power,
    }


def density_chart(jobs: list[dict]) -> dict | None:
    """Streams vs watts of the density jobs' results, one line per variant; None when there is none."""
    groups: dict[str, list[dict]] = {}
    for job in jobs:
        result = ok_result(job)
        if result is not None and job_kind(job) == "density" and isinstance(result.get("density"), dict):
            groups.setdefault(job.get("variant") or job.get("name") or "?", []).append(result)
    return charts.density_chart(groups) if groups else None


def environment() -> Environment:
    """The Jinja2 environment of the report: autoescaped, strict about undefined names."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["fmt"] = fmt
    env.filters["value"] = value_html
    env.filters["maybe"] = maybe_html
    return env


def maybe_html(value, reason: str = "not reported") -> Markup:
    """A value, or "—" explaining why it is missing (macros.html's ``maybe``, as a filter for per-job rows)."""
    if value is None or value == "":
        return Markup(f'<span class="missing" title="{escape(reason)}">—</span>')
    return escape(value)


def value_html(cell: Cell) -> Markup:
    """A single-value cell of the per-job tables as HTML (what macros.html's ``cell`` gives for a cell without a sub
    line), built here because those tables have a row per job (10,000 in a big campaign)."""
    if cell.missing:
        ref = f'<sup class="note-ref"><a href="#note-{cell.note}">{cell.note}</a></sup>' if cell.note else ""
        return Markup(f'<span class="missing" title="{escape(cell.title or "")}">—</span>{ref}')
    est = ' <span class="badge est">est.</span>' if cell.est else ""
    return Markup(f"{escape(cell.text)}{est}")


def render_html(run: dict, summary: dict) -> str:
    """The full report page for a run and its summary."""
    notes, remarks = Footnotes(), Footnotes()
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
        "provenance": provenance_rows(run, notes, remarks),
        "remarks": remarks.items,
        "charts": chart_fragments(run, summary),
        "headlines": headlines(run, summary),
        "ranking": ranking_rows(energy_variants(summary), notes),
        "energy_split": energy_split(run),
        "power_jobs": power_job_rows(run, notes),
        "preflight": preflight_rows(run, summary) + baseline_load_rows(run) + spread_rows(summary),
        "cost": cost_view(summary),
        "footnotes": notes.items,
    }
    return environment().get_template("report.html").render(**context)
