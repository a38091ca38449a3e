"""Spatial and temporal information (SI/TI, ITU-T P.910) of a source, with FFmpeg's ``siti`` filter (FFmpeg >= 5.0).

Build (:func:`siti_argv`), run (:func:`measure_siti`) and parse (:func:`parse_siti`) are separate. The filter prints
its summary on stderr at the end of the run (saved real output: ``tests/data/ffmpeg/siti_*.txt``)::

    [Parsed_siti_0 @ 0x...] SITI Summary:
    Total frames: 31
    Spatial Information:
    Average: 107.332382
    Max: 108.855469
    Min: 103.836891
    Temporal Information:
    Average: 13.433075
    ...

A binary without the filter, a failed run or a summary that cannot be read gives ``None`` and a reason, never 0.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence

from agent.ffmpeg.quality import listed_filters
from agent.process import run_process

_VALUE = re.compile(r"^\s*(Average|Max|Min):\s*(\S+)\s*$")


def siti_argv(ffmpeg_path: str, inputs: Sequence[str], seconds: float | None = None) -> list[str]:
    """Read ``inputs`` (input flags ending in ``-i X``) for at most ``seconds`` and print the SI/TI summary."""
    argv = [str(ffmpeg_path), "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info", *inputs]
    if seconds is not None:
        argv += ["-t", f"{float(seconds):g}"]
    return argv + ["-map", "0:v:0", "-an", "-vf", "siti=print_summary=1", "-f", "null", "-"]


def parse_siti(lines: Iterable[str]) -> dict[str, float] | None:
    """The summary -> {"si_mean", "si_max", "si_min", "ti_mean", "ti_max", "ti_min"}; None when it is incomplete."""
    section, found = None, {}
    for line in lines:
        if "Spatial Information" in line:
            section = "si"
        elif "Temporal Information" in line:
            section = "ti"
        elif section:
            match = _VALUE.match(line)
            if match:
                name = {"Average": "mean", "Max": "max", "Min": "min"}[match.group(1)]
                try:
                    found[f"{section}_{name}"] = float(match.group(2))
                except ValueError:
                    return None
    keys = [f"{s}_{n}" for s in ("si", "ti") for n in ("mean", "max", "min")]
    return {k: round(found[k], 6) for k in keys} if all(k in found for k in keys) else None


def has_siti(ffmpeg_path: str) -> bool:
    """True when this FFmpeg binary lists the ``siti`` filter (FFmpeg >= 5.0)."""
    return "siti" in listed_filters(ffmpeg_path)


has_siti.cache_clear = listed_filters.cache_clear  # type: ignore[attr-defined]


def measure_siti(
    ffmpeg_path: str,
    inputs: Sequence[str],
    seconds: float | None = None,
    timeout_s: float | None = None,
    cancel: threading.Event | None = None,
) -> tuple[dict[str, float] | None, str | None]:
    """(SI/TI summary, None) or (None, the reason it is unavailable)."""
    if not has_siti(str(ffmpeg_path)):
        return None, "unavailable: this FFmpeg has no siti filter (FFmpeg >= 5.0 has it)"
    outcome = run_process(siti_argv(ffmpeg_path, inputs, seconds), timeout_s=timeout_s, cancel=cancel)
    if not outcome.ok:
        why = (
            "timed out"
            if outcome.timed_out
            else "cancelled"
            if outcome.cancelled
            else f"exit {outcome.returncode}: {(outcome.stderr_tail or ['no output'])[-1].strip()}"
        )
        return None, f"unavailable: the siti run failed ({why})"
    summary = parse_siti(outcome.stderr_tail)
    if summary is None:
        return None, "unavailable: FFmpeg printed no SITI summary"
    return summary, None
