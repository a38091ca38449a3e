"""Numbers, times and sizes for people: the web UI's Jinja filters.

Every filter takes None to None, so the template decides how a missing value looks ("—" with its reason); nothing here
turns a missing value into 0.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from master.reports.cells import fmt as report_number

DASH = "—"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def num(value: Any, digits: int = 4) -> str | None:
    """4 significant digits, thousands grouped for big numbers (as in the report); non-numbers as text."""
    return None if value is None else report_number(value, digits)


def watts(value: Any) -> str | None:
    """``42.5 W`` (one decimal)."""
    return f"{value:.1f} W" if _is_number(value) else None


def when(ts: float | None) -> str | None:
    """A UNIX timestamp as ``2026-11-27 03:40:07Z`` (UTC)."""
    if not _is_number(ts):
        return None
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def iso(ts: float | None) -> str | None:
    """A UNIX timestamp as ISO 8601 for ``<time datetime=...>``."""
    if not _is_number(ts):
        return None
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="seconds")


def duration(seconds: float | None) -> str | None:
    """``4.1 s``, ``3 min 12 s``, ``2 h 05 min``, ``3 d 4 h``."""
    if not _is_number(seconds):
        return None
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def ago(ts: float | None, now: float) -> str | None:
    """How long before ``now``: ``12 s ago``; a time in the future says ``in 5 s``."""
    if not _is_number(ts):
        return None
    delta = now - ts
    text = duration(abs(delta))
    return f"{text} ago" if delta >= 0 else f"in {text}"


def gib(value: Any) -> str | None:
    """Bytes as ``15.5 GiB`` (or MiB below one GiB)."""
    if not _is_number(value):
        return None
    return f"{value / 2**30:.1f} GiB" if value >= 2**30 else f"{value / 2**20:.1f} MiB"


def percent(done: Any, total: Any) -> int | None:
    """Whole percent of done over total; None when the total is unknown or 0."""
    if not (_is_number(done) and _is_number(total)) or total <= 0:
        return None
    return max(0, min(100, int(done * 100 // total)))
