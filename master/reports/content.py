"""The report's view of content: the warnings block, the SI/TI columns and the source of each job's provenance
(master/analysis/content.py finds them; this module only words them for the page)."""

from __future__ import annotations

from master.analysis.content import result_source

CONTENT_TABLE_METRICS = (("si", "SI", False), ("ti", "TI", False))
"""Scenario-table columns of the source's spatial and temporal information (ITU-T P.910), shown when a variant of
the table reports them."""

WARNING_TITLES = {
    "low_bitrate": "low bitrate",
    "different_source": "different source",
    "inline_render": "inline render",
}
"""Heading of each warning kind (master/analysis/content.py)."""


def content_columns(variants: list[dict]) -> list[tuple[str, str, bool]]:
    """The SI/TI columns when some variant's results carry them (results of older agents do not)."""
    return [
        c
        for c in CONTENT_TABLE_METRICS
        if any(c[0] in v.get("reported", ()) or v["stats"][c[0]]["n"] > 0 for v in variants)
    ]


def warning_rows(summary: dict) -> list[dict]:
    """The run's warnings, one row per variant and message, naming the runs it applies to."""
    rows: dict[tuple, dict] = {}
    for warning in summary.get("warnings") or []:
        key = (warning.get("variant"), warning.get("kind"), warning.get("message"))
        row = rows.setdefault(
            key, {"variant": key[0], "title": WARNING_TITLES.get(key[1], key[1]), "message": key[2], "jobs": []}
        )
        row["jobs"].append(warning.get("job"))
    return list(rows.values())


def source_text(job: dict, result: dict) -> str | None:
    """A job's source in one line: render, content (or the file), a short hash, SI/TI means; None when the result
    does not say (an older agent) and the job asked for nothing in particular."""
    source = result_source(result)
    spec = (job.get("params") or {}).get("input")
    spec = spec if isinstance(spec, dict) else {}
    render = source.get("render") or spec.get("render")
    what = source.get("content") or spec.get("content") or spec.get("source") or source.get("file") or spec.get("path")
    parts = [render, f"content {what}" if (source.get("content") or spec.get("content")) else what]
    if source.get("sha256"):
        parts.append(f"sha256 {source['sha256'][:12]}…")
    if source.get("cached"):
        parts.append("cached")
    for key, label in (("si_mean", "SI"), ("ti_mean", "TI")):
        if isinstance(source.get(key), int | float):
            parts.append(f"{label} {source[key]:.1f}")
    if source.get("siti_reason"):
        parts.append(f"no SI/TI: {source['siti_reason']}")
    return " · ".join(str(p) for p in parts if p) or None


def source_overview(summary: dict) -> str | None:
    """The run's sources in words: ``"prepared ×4; content medium ×4"``; None when no result says."""
    prov = summary.get("provenance") or {}
    renders, contents = prov.get("source_renders") or {}, prov.get("source_contents") or {}
    parts = [
        ", ".join(f"{name} ×{count}" for name, count in renders.items()),
        ", ".join(f"content {name} ×{count}" for name, count in contents.items()),
    ]
    return "; ".join(p for p in parts if p) or None
