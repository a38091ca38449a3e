"""Decide whether an FFmpeg run produced real output, and say in one line why not.

The exit code alone is not enough: an encoder can fail to initialise while FFmpeg still exits 0 having written nothing
(reported for ``h264_nvenc`` on hosts without a GPU; Debian's 5.1 exits 1 and the static 9.0 build 255 there), so a
run also needs frames in its progress and a non-empty output file. Encoder initialisation failures become ``"encoder
unavailable: <encoder> (<reason>)"``, the form the result's
``error`` field carries (docs/WIRE.md).
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterable

from agent.ffmpeg.runner import FFmpegRun

REASON_MAX_CHARS = 160
"""Longest reason text kept from an FFmpeg log line."""

DEVICE_PATTERNS = (
    "cannot load libcuda",
    "cannot load libnvidia-encode",
    "no capable devices found",
    "no nvenc capable devices",
    "driver does not support the required nvenc api",
    "openencodesessionex failed",
    "cuinit",
    "cuda_error",
    "failed to initialise vaapi",
    "no va display found",
    "failed to create a vaapi device",
    "device creation failed",
    "error creating a mfx session",
    "mfx session",
    "mfx_err_unsupported",
    "unknown encoder",
    "encoder not found",
    "no device available",
    "cannot open the dri",
)
"""Lowercase fragments of FFmpeg/driver messages meaning the encoder (or its device/driver) is not there."""

INIT_PATTERNS = (
    "error initializing output stream",
    "error while opening encoder",
    "could not open encoder",
    "error selecting an encoder",
)
"""Lowercase fragments of FFmpeg's generic encoder-initialisation failures."""

_NOISE = re.compile(
    r"^(conversion failed!?|press \[q\]|frame=\s*\d+ .*|size=.*|video:.*|"
    r".*(terminating thread|task finished) with .*|.*nothing was written into output file.*|exiting normally.*)$",
    re.IGNORECASE,
)
_CONTEXT = re.compile(r"\[([^\]@]+?)\s*@\s*0x[0-9a-f]+\]\s*", re.IGNORECASE)


def clean_line(line: str) -> str:
    """Drop FFmpeg's ``[name @ 0x55d...]`` context prefixes and trim to :data:`REASON_MAX_CHARS`."""
    text = _CONTEXT.sub("", line).strip()
    return text if len(text) <= REASON_MAX_CHARS else text[: REASON_MAX_CHARS - 3] + "..."


def last_meaningful_line(stderr_tail: Iterable[str]) -> str | None:
    """The last stderr line that says something: not blank, not a stats line or "Conversion failed!"."""
    for line in reversed(list(stderr_tail)):
        text = clean_line(line)
        if text and not _NOISE.match(text):
            return text
    return None


def _first_match(lines: list[str], patterns: tuple[str, ...]) -> str | None:
    for line in lines:
        if any(p in line.lower() for p in patterns):
            return clean_line(line)
    return None


def classify_failure(stderr_tail: Iterable[str], encoder: str | None) -> str | None:
    """ "encoder unavailable: <encoder> (<reason>)" when the stderr shows the encoder failed to start, else None
    (then :func:`verify_output`'s reason stands).

    The reason is the most specific line: a device/driver message first, then the encoder's own complaint
    (``[<encoder> @ 0x...] ...``), then FFmpeg's generic initialisation error.
    """
    lines = list(stderr_tail)
    reason = _first_match(lines, DEVICE_PATTERNS)
    if reason is None and _first_match(lines, INIT_PATTERNS) is not None:
        own = [clean_line(line) for line in lines if encoder and f"[{encoder} @" in line]
        reason = own[-1] if own else _first_match(lines, INIT_PATTERNS)
    return None if reason is None else f"encoder unavailable: {encoder or 'unknown'} ({reason})"


def _exit_reason(run: FFmpegRun) -> str | None:
    outcome = run.outcome
    if outcome.timed_out:
        return f"timed out after {outcome.duration_s:.1f} s; ffmpeg's process group was killed"
    if outcome.cancelled:
        return "cancelled; ffmpeg's process group was killed"
    code = outcome.returncode
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"ffmpeg was killed by {name}"
    if code != 0:
        unavailable = classify_failure(outcome.stderr_tail, run.encoder)
        line = last_meaningful_line(outcome.stderr_tail) or "no error message on stderr"
        return unavailable or f"ffmpeg exited with code {code}: {line}"
    return None


def _output_reason(path: str | os.PathLike) -> str | None:
    try:
        size = os.path.getsize(path)
    except OSError:
        return f"output missing: {os.fspath(path)}"
    return f"output is empty (0 bytes): {os.fspath(path)}" if size == 0 else None


def verify_output(path: str | os.PathLike | None, run: FFmpegRun) -> str | None:
    """None when ``run`` exited cleanly, encoded frames and wrote a non-empty ``path``; else a one-line reason.

    ``path`` None skips the file checks (a probe to the null muxer).
    """
    reason = _exit_reason(run)
    if reason is not None:
        return reason
    if run.progress_count == 0 or not run.frames:
        unavailable = classify_failure(run.outcome.stderr_tail, run.encoder)
        what = "no progress reported" if run.progress_count == 0 else "no frames encoded"
        detail = last_meaningful_line(run.outcome.stderr_tail)
        return unavailable or f"{what} although ffmpeg exited 0" + (f": {detail}" if detail else "")
    if path is None:
        return None
    reason = _output_reason(path)
    if reason is not None:
        return classify_failure(run.outcome.stderr_tail, run.encoder) or reason
    return None
