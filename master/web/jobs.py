"""Jobs as the web UI shows them: the recent ones, and one job with its params, attempts, events and result.

A result's energy numbers carry ``est.`` when its provenance says ``estimated``; a metric the agent could not measure
shows "—" with the reason the agent gave under ``missing``.
"""

from __future__ import annotations

import shlex
import sqlite3
from collections.abc import Mapping
from typing import Any

from master import db
from master.api.result_schema import load_stored
from wire.metrics import WIRE_METRICS
from wire.states import JobState

RECENT_JOBS = 15
"""Jobs on the dashboard, most recently active first."""

PAGE_JOBS = 100
"""Jobs on one page of /ui/jobs."""

ACTIVITY = "COALESCE(j.finished_at, j.started_at, j.created_at) DESC, j.seq DESC"
"""Most recently active first; the order of the ``jobs_activity`` index (migration 0004), so a page is an index walk."""

METRICS = tuple((m.name, m.label, m.unit, m.estimated_capable) for m in WIRE_METRICS if m.scalar)
"""Result metrics in display order (the metric registry's, wire/metrics.py): key, label, unit, and whether it is an
energy number (gets ``est.``)."""

ENERGY_WORDS = ("watt", "joule", "energy")
"""A metric not in :data:`METRICS` is an energy number when its key contains one of these."""

NOT_REPORTED = "not reported by the agent"


def recent(
    conn: sqlite3.Connection, limit: int = RECENT_JOBS, offset: int = 0, state: str | None = None
) -> list[dict[str, Any]]:
    """The jobs that most recently finished, started or were queued (of ``state``, if given), with campaign name and
    node hostname: one page of ``limit`` after ``offset``."""
    where, args = ("WHERE j.state = ?", [state]) if state else ("", [])
    return [
        dict(r)
        for r in conn.execute(
            "SELECT j.id, j.name, j.state, j.attempt, j.campaign_id, c.name AS campaign_name, j.node_id, n.hostname,"
            " j.created_at, j.started_at, j.finished_at, j.error FROM jobs j"
            " LEFT JOIN campaigns c ON c.id = j.campaign_id LEFT JOIN nodes n ON n.id = j.node_id"
            f" {where} ORDER BY {ACTIVITY} LIMIT ? OFFSET ?",
            [*args, limit, offset],
        )
    ]


def count_by_state(conn: sqlite3.Connection) -> dict[str, int]:
    """``{state: jobs}`` for every job state (0 included), one indexed count per state."""
    return {
        s.value: conn.execute("SELECT COUNT(*) FROM jobs WHERE state = ?", (s.value,)).fetchone()[0] for s in JobState
    }


def detail(conn: sqlite3.Connection, job_id: str) -> dict[str, Any] | None:
    """One job's page; None if unknown."""
    row = conn.execute(
        "SELECT j.*, c.name AS campaign_name, n.hostname, n.progress AS node_progress FROM jobs j"
        " LEFT JOIN campaigns c ON c.id = j.campaign_id LEFT JOIN nodes n ON n.id = j.node_id WHERE j.id = ?",
        (job_id,),
    ).fetchone()
    if row is None:
        return None
    job = dict(row)
    job["params"] = db.loads(job["params"], {})
    job["requirements"] = db.loads(job["requirements"], {})
    job["param_rows"], job["requirement_rows"] = param_rows(job["params"]), param_rows(job["requirements"])
    job["events"] = events(conn, job_id)
    progress = db.loads(job.pop("node_progress"))
    job["live"] = progress if isinstance(progress, dict) and progress.get("job_id") == job_id else None
    results = [
        dict(r)
        for r in conn.execute(
            "SELECT job_id, attempt, node_id, status, body, received_at FROM results WHERE job_id = ? ORDER BY attempt",
            (job_id,),
        )
    ]
    job["results"] = [{k: v for k, v in r.items() if k not in ("body", "job_id")} for r in results]
    latest = results[-1] if results else None
    job["result"] = result_view(load_stored(latest)) if latest else None
    job["result_attempt"] = latest["attempt"] if latest else None
    return job


def events(conn: sqlite3.Connection, job_id: str) -> list[dict[str, Any]]:
    """The job's history from ``job_events`` (oldest first), or [] on a store that does not record it yet."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'job_events'").fetchone() is None:
        return []
    shown = []
    for row in conn.execute(
        "SELECT attempt, event, node_id, at, detail FROM job_events WHERE job_id = ? ORDER BY id", (job_id,)
    ):
        detail = db.loads(row["detail"], {})
        detail = detail if isinstance(detail, dict) else {"detail": detail}
        tail = detail.pop("stderr_tail", None)
        error = detail.pop("error", None)
        rest = "; ".join(f"{k}={v}" for k, v in detail.items() if v is not None)
        shown.append(
            {
                "attempt": row["attempt"],
                "event": row["event"],
                "node_id": row["node_id"],
                "at": row["at"],
                "error": error,
                "detail": rest or None,
                "stderr_tail": [str(line) for line in tail] if isinstance(tail, list) else [],
            }
        )
    return shown


def metric_rows(metrics: Mapping[str, Any], missing: Mapping[str, Any], estimated: bool) -> list[dict[str, Any]]:
    """``[{"key", "label", "value", "unit", "est", "reason"}]`` for every metric reported or explained as missing."""
    known = {key for key, *_ in METRICS}
    extra = sorted(k for k, v in metrics.items() if k not in known and (v is None or _scalar(v)))
    extra += sorted(k for k in missing if k not in known and k not in metrics)
    table = [(key, label, unit, energy) for key, label, unit, energy in METRICS]
    table += [(key, key.replace("_", " "), "", any(w in key for w in ENERGY_WORDS)) for key in extra]
    rows = []
    for key, label, unit, energy in table:
        if key not in metrics and key not in missing:
            continue
        value = metrics.get(key)
        reason = None if value is not None else str(missing.get(key) or NOT_REPORTED)
        rows.append(
            {"key": key, "label": label, "value": value, "unit": unit, "est": energy and estimated, "reason": reason}
        )
    return rows


def result_view(body: Mapping[str, Any]) -> dict[str, Any]:
    """A stored result (docs/WIRE.md "Result") as the job page shows it; samples are left out."""
    provenance = body.get("provenance") if isinstance(body.get("provenance"), dict) else {}
    metrics = body.get("metrics") if isinstance(body.get("metrics"), dict) else {}
    missing = body.get("missing") if isinstance(body.get("missing"), dict) else {}
    estimated = bool(provenance.get("estimated"))
    ffmpeg = body.get("ffmpeg") if isinstance(body.get("ffmpeg"), dict) else {}
    argv = ffmpeg.get("argv")
    energy = metrics.get("energy_j")
    return {
        "status": body.get("status"),
        "error": body.get("error"),
        "started_at": body.get("started_at"),
        "finished_at": body.get("finished_at"),
        "estimated": estimated,
        "metrics": metric_rows(metrics, missing, estimated),
        "energy_by_source": sorted(energy.items()) if isinstance(energy, dict) else [],
        "sources": [s for s in provenance.get("sources") or [] if isinstance(s, dict)],
        "sample_rate_hz": provenance.get("sample_rate_hz"),
        "sample_count": provenance.get("sample_count"),
        "notes": [str(n) for n in provenance.get("notes") or []],
        "baseline": body.get("baseline") if isinstance(body.get("baseline"), dict) else None,
        "ffmpeg_version": ffmpeg.get("version"),
        "ffmpeg_path": ffmpeg.get("path"),
        "argv": shlex.join(str(a) for a in argv) if isinstance(argv, list) else None,
        "stderr_tail": [str(line) for line in ffmpeg.get("stderr_tail") or []],
    }


def param_rows(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(name, text)`` per job parameter; nested values (the input) as compact ``k=v`` text."""
    rows = []
    for key, value in params.items():
        if isinstance(value, dict):
            text = ", ".join(f"{k}={v}" for k, v in value.items())
        elif isinstance(value, list):
            text = ", ".join(str(v) for v in value) or "none"
        elif value is None:
            text = "none"
        else:
            text = str(value)
        rows.append((key, text))
    return rows


def _scalar(value: Any) -> bool:
    return isinstance(value, (int, float, str)) and not isinstance(value, bool)
