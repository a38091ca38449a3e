"""Write a campaign run's report directory: index.html, results.json and results.csv.

Each file is written to a temporary name and renamed into place, so a reader never sees half a report.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from master.analysis.cost import add_costs
from master.analysis.pricing import Pricing
from master.analysis.summarize import summarize_run
from master.reports.html import render_html
from master.reports.tabular import csv_text

RESULTS_FORMAT = "ffwatt-results/1"
"""Identifies the layout of results.json: the run's own keys (campaign, nodes, jobs, generated_at) plus "format" and
"summary" (see master.analysis.summarize)."""


def write_report(run: dict, out_dir: Path, pricing: Pricing | None = None) -> Path:
    """Write the report of `run` into `out_dir` (created if needed) and return the path of its index.html; with
    `pricing`, the summary carries the cost and carbon of each variant (master/analysis/cost.py)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = add_costs(run, summarize_run(run), pricing)
    _write_atomic(out_dir / "results.json", results_json(run, summary))
    _write_atomic(out_dir / "results.csv", csv_text(run))
    index = out_dir / "index.html"
    _write_atomic(index, render_html(run, summary))
    return index


def results_json(run: dict, summary: dict) -> str:
    """results.json: the run's keys as given, plus format and summary. Non-finite floats become null."""
    document = {"format": RESULTS_FORMAT, **run, "summary": summary}
    return json.dumps(_finite(document), indent=1, ensure_ascii=False, allow_nan=False, default=str) + "\n"


def _finite(value):
    """The value with NaN and infinities replaced by None, recursively (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _write_atomic(path: Path, text: str) -> None:
    """Write text (UTF-8) to a temporary file beside `path`, then rename it over `path`."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8", newline="")
    os.replace(tmp, path)
