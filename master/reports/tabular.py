"""results.csv: one row per job (its latest attempt's result), flat, for spreadsheets and scripts.

An unmeasured value is an empty cell, never 0; the `missing` column says why (`metric: reason; ...`).

CSV injection (OWASP): a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be
a formula to a spreadsheet; it is written with a leading single quote (``'=HYPERLINK(...)``). Campaign, scenario and
variant names, errors, reasons, source names and hostnames are text anyone who writes a campaign or runs an agent
chooses. Numbers stay numbers: -1.5 is written as -1.5. Rows end with CRLF (RFC 4180), so a carriage return or line
feed inside a cell is always quoted and can never start a new row (whose first cell could be a formula).
"""

from __future__ import annotations

import csv
import io

from wire.fields import QUALITY_METRICS
from wire.metrics import METRICS, WIRE_METRICS

KIND_COLUMNS = (
    "frames_received",
    "dropped_frames",
    "duplicated_frames",
    "realtime",
    "streams",
    "watts_per_stream",
    "dynamic_watts_per_stream",
    "max_streams",
    "marginal_watts_per_stream",
    "rungs",
    "source_frames",
    "pixels",
    "joules_per_megapixel",
)
"""Metrics of the live and multi (frames_received ... dynamic_watts_per_stream; realtime true/false), density
(max_streams, watts_per_stream, marginal_watts_per_stream) and ladder (rungs: the count, source_frames, pixels,
joules_per_megapixel; frames is the sum over the rungs) kinds, appended after the original columns."""

CONTENT_COLUMNS = ("si", "ti", "source_render", "source_sha256")
"""The source's SI/TI (ITU-T P.910, mean over its frames), how it was produced (prepared, inline, file) and the
SHA-256 of the file FFmpeg read (docs/WIRE.md "Source"); empty for results from agents that do not report them."""

_MEASURED_COLUMNS = (
    "duration_s",
    "frames",
    "fps",
    "speed",
    "output_bytes",
    "bitrate_kbps",
    "total_energy_j",
    "mean_watts",
    "peak_watts",
    "idle_watts",
    "dynamic_energy_j",
    "joules_per_frame",
    "dynamic_joules_per_frame",
    "frames_per_joule",
)
"""The measured columns from duration_s to frames_per_joule, in the order results.csv lists them."""

PUBLISHED_COLUMNS = (
    "campaign",
    "job",
    "job_name",
    "scenario",
    "variant",
    "kind",
    "repetition",
    "attempt",
    "state",
    "node",
    "encoder",
    "preset",
    "bitrate",
    "crf",
    "resolution",
    "target_fps",
    "input_duration_s",
    *_MEASURED_COLUMNS,
    *QUALITY_METRICS,
    "estimated",
    "sources",
    "sample_rate_hz",
    "sample_count",
    "agent_overhead_pct",
    "sampler_overhead_pct",
    "missing",
    "error",
    *KIND_COLUMNS,
    *CONTENT_COLUMNS,
)
"""The columns results.csv had before the metric registry (wire/metrics.py), in their published order.
target_fps/input_duration_s are job parameters (input_duration_s: seconds of input
for transcode, idle seconds for baseline); fps/duration_s are measured.
psnr_db is capped at 100 for identical frames (psnr_identical true); see docs/WIRE.md "Quality".
The columns of the newer kinds come next (KIND_COLUMNS), empty for a job of another kind, then the source's
(CONTENT_COLUMNS)."""

METRIC_COLUMNS = tuple(m.name for m in WIRE_METRICS if m.scalar and m.name not in PUBLISHED_COLUMNS)
"""The registered metrics results.csv did not have yet (gpu_encoder_util_pct, mean_speed, target_bitrate_kbps,
levels_tried, then any newer one), appended in the registry's order: a new metric is a new last column, and a
script that reads columns by position keeps working."""

COLUMNS = PUBLISHED_COLUMNS + METRIC_COLUMNS
"""Columns of results.csv, in order."""

_METRIC_COLUMNS = tuple(c for c in COLUMNS if c in METRICS and METRICS[c].scalar)


def job_row(run: dict, job: dict) -> dict:
    """The CSV row of one job: its parameters, its result's metrics and provenance; None for what is absent."""
    params = job.get("params") or {}
    result = job.get("result") or {}
    metrics = result.get("metrics") or {}
    prov = result.get("provenance") or {}
    source = result.get("source") if isinstance(result.get("source"), dict) else {}
    row = {
        "campaign": (run.get("campaign") or {}).get("id"),
        "job": job.get("id"),
        "job_name": job.get("name"),
        "scenario": job.get("scenario"),
        "variant": job.get("variant"),
        "kind": job.get("kind") or params.get("kind"),
        "repetition": job.get("repetition"),
        "attempt": result.get("attempt"),
        "state": job.get("state"),
        "node": node_name(run, job.get("node_id") or result.get("node_id")),
        "encoder": params.get("encoder"),
        "preset": params.get("preset"),
        "bitrate": params.get("bitrate"),
        "crf": params.get("crf"),
        "resolution": params.get("resolution"),
        "target_fps": params.get("fps"),
        "input_duration_s": params.get("duration"),
        "estimated": prov.get("estimated") if prov else None,
        "sources": ";".join(s.get("name", "?") for s in prov.get("sources") or []) or None,
        "sample_rate_hz": prov.get("sample_rate_hz"),
        "sample_count": prov.get("sample_count"),
        "missing": "; ".join(f"{k}: {v}" for k, v in (result.get("missing") or {}).items()) or None,
        "error": job.get("error") or result.get("error"),
        "source_render": source.get("render"),
        "source_sha256": source.get("sha256"),
    }
    row.update({name: metrics.get(name) for name in _METRIC_COLUMNS})
    return row


def node_name(run: dict, node_id: str | None) -> str | None:
    """The hostname of a node id, else the id itself."""
    for node in run.get("nodes") or []:
        if node.get("id") == node_id:
            return node.get("hostname") or node_id
    return node_id


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a text cell may not start with (OWASP CSV injection): a spreadsheet would read it as a formula."""


def cell(value) -> str:
    """A CSV cell: empty for None, true/false for booleans, repr-exact numbers, text that cannot be a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return neutralise(str(value))


def neutralise(text: str) -> str:
    """``text`` with a leading single quote when a spreadsheet would take it for a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(run: dict) -> str:
    """results.csv for a run: header plus one row per job."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180; a CR or LF inside a cell is then quoted
    writer.writerow(COLUMNS)
    for job in run.get("jobs") or []:
        row = job_row(run, job)
        writer.writerow([cell(row[c]) for c in COLUMNS])
    return buffer.getvalue()
