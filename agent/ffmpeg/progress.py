"""Parse FFmpeg's machine-readable progress (``-progress pipe:1 -nostats``).

FFmpeg writes one ``key=value`` line per field and ends each block with ``progress=continue`` (more to come) or
``progress=end`` (the last block). :class:`ProgressParser` is fed one stdout line at a time and hands back a
:class:`Progress` snapshot whenever a block ends. A value FFmpeg reports as ``N/A`` (or cannot know yet) stays ``None``:
it is never turned into 0.

A block looks like this (FFmpeg 5.1)::

    frame=85
    fps=0.00
    stream_0_0_q=29.0
    bitrate=   0.5kbits/s
    total_size=48
    out_time_us=833398
    out_time_ms=833398
    out_time=00:00:00.833398
    dup_frames=0
    drop_frames=0
    speed=1.63x
    progress=continue
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_CLOCK = re.compile(r"^(-?)(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")


@dataclass(frozen=True)
class Progress:
    """One progress block: FFmpeg's state at one moment of the encode."""

    frame: int | None = None
    fps: float | None = None
    speed: float | None = None
    bitrate_kbps: float | None = None
    total_size: int | None = None
    out_time_s: float | None = None
    dup_frames: int | None = None
    drop_frames: int | None = None
    done: bool = False
    extra: dict[str, str] = field(default_factory=dict, compare=False)
    """Fields this parser does not model (``stream_0_0_q``, ``stream_0_0_psnr_y``...), raw."""


def _clean(value: str) -> str | None:
    value = value.strip()
    if not value or value.upper() == "N/A":
        return None
    return value


def parse_int(value: str) -> int | None:
    """``"120"`` -> 120; ``"N/A"``, empty or garbage -> None."""
    text = _clean(value)
    try:
        return None if text is None else int(text)
    except ValueError:
        return None


def parse_float(value: str, suffix: str = "") -> float | None:
    """``"1.63x"`` with suffix ``"x"`` -> 1.63; ``"N/A"``, empty or garbage -> None."""
    text = _clean(value)
    if text is None:
        return None
    if suffix and text.endswith(suffix):
        text = text[: -len(suffix)].strip()
    try:
        return float(text)
    except ValueError:
        return None


def parse_bitrate_kbps(value: str) -> float | None:
    """``" 789.6kbits/s"`` -> 789.6 (FFmpeg always reports kbit/s here); ``"N/A"`` -> None."""
    return parse_float(value, "kbits/s")


def parse_clock(value: str) -> float | None:
    """``"00:01:02.500000"`` -> 62.5 seconds; ``"N/A"`` or a negative clock (no timestamp yet) -> None."""
    text = _clean(value)
    match = _CLOCK.match(text) if text else None
    if match is None or match.group(1) == "-":
        return None
    return int(match.group(2)) * 3600 + int(match.group(3)) * 60 + float(match.group(4))


def _out_time_s(fields: dict[str, str]) -> float | None:
    """Output timestamp in seconds: ``out_time_us`` first (exact), then the ``out_time`` clock."""
    micros = parse_int(fields.get("out_time_us", ""))
    if micros is not None:
        # Before the first packet FFmpeg prints INT64_MIN-ish values: no timestamp yet, not a negative time.
        return micros / 1e6 if micros >= 0 else None
    return parse_clock(fields.get("out_time", ""))


_KNOWN = {
    "frame",
    "fps",
    "speed",
    "bitrate",
    "total_size",
    "out_time_us",
    "out_time_ms",
    "out_time",
    "dup_frames",
    "drop_frames",
    "progress",
}


def progress_from_fields(fields: dict[str, str]) -> Progress:
    """Build a :class:`Progress` from one block's raw ``key -> value`` fields."""
    return Progress(
        frame=parse_int(fields.get("frame", "")),
        fps=parse_float(fields.get("fps", "")),
        speed=parse_float(fields.get("speed", ""), "x"),
        bitrate_kbps=parse_bitrate_kbps(fields.get("bitrate", "")),
        total_size=parse_int(fields.get("total_size", "")),
        out_time_s=_out_time_s(fields),
        dup_frames=parse_int(fields.get("dup_frames", "")),
        drop_frames=parse_int(fields.get("drop_frames", "")),
        done=fields.get("progress", "").strip() == "end",
        extra={k: v for k, v in fields.items() if k not in _KNOWN},
    )


class ProgressParser:
    """Incremental parser: feed it stdout lines, get a :class:`Progress` each time a block ends."""

    def __init__(self) -> None:
        self._fields: dict[str, str] = {}
        self.last: Progress | None = None
        """The most recent complete block, or None before the first one."""
        self.count = 0
        """How many complete blocks were parsed."""

    def feed(self, line: str) -> Progress | None:
        """Take one line; return the finished block's snapshot when ``line`` is ``progress=...``, else None."""
        key, sep, value = line.strip().partition("=")
        if not sep or not key:
            return None
        self._fields[key] = value
        if key != "progress":
            return None
        snapshot = progress_from_fields(self._fields)
        self._fields = {}
        self.last = snapshot
        self.count += 1
        return snapshot

    def feed_all(self, lines) -> list[Progress]:
        """Feed every line of an iterable (e.g. a saved output) and return all the snapshots."""
        return [p for p in map(self.feed, lines) if p is not None]
