"""Run one FFmpeg command through the process-group runner, parsing its progress live.

The argv must carry ``-progress pipe:1 -nostats`` (``command.transcode_argv`` and ``command.probe_argv`` add it): every
stdout line goes through a :class:`~agent.ffmpeg.progress.ProgressParser`, and each finished block is handed to
``on_progress`` while FFmpeg is still running. Timeout, cancel and the start/exit hooks are
:func:`agent.process.run_process`'s. :func:`encoded_metrics` turns a finished run into its frame, speed and bitrate
metrics.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from agent.ffmpeg.progress import Progress, ProgressParser
from agent.process import ProcessOutcome, run_process

log = logging.getLogger(__name__)


@dataclass
class FFmpegRun:
    """One finished FFmpeg run: how the process ended and the last progress it reported."""

    outcome: ProcessOutcome
    last_progress: Progress | None
    progress_count: int

    @property
    def frames(self) -> int | None:
        """Frames encoded according to the last progress block; None when FFmpeg never reported any."""
        return None if self.last_progress is None else self.last_progress.frame

    @property
    def encoder(self) -> str | None:
        """The video encoder named by ``-c:v`` in the argv, if any."""
        argv = self.outcome.argv
        for flag in ("-c:v", "-vcodec", "-codec:v"):
            if flag in argv[:-1]:
                return argv[argv.index(flag) + 1]
        return None


def encoded_metrics(run: FFmpegRun, output_bytes: int | None) -> tuple[dict[str, Any], dict[str, str]]:
    """Frames, fps, speed and bitrate of a finished encode; null fields get a reason.

    fps and speed are computed over the job's measured wall time (the same window as its energy), not taken from
    FFmpeg's running figures, which read 0 for encodes shorter than FFmpeg's first update.
    """
    p = run.last_progress
    duration = run.outcome.duration_s
    frames = p.frame if p else None
    out_time = p.out_time_s if p else None
    metrics: dict[str, Any] = {
        "duration_s": round(duration, 4),
        "frames": frames,
        "fps": round(frames / duration, 3) if frames and duration > 0 else None,
        "speed": round(out_time / duration, 4) if out_time and duration > 0 else None,
        "output_bytes": output_bytes,
        "bitrate_kbps": round(output_bytes * 8 / 1000 / out_time, 3) if out_time and output_bytes else None,
    }
    reasons = {
        "frames": "FFmpeg reported no frame count",
        "fps": "no frames encoded",
        "speed": "FFmpeg reported no encoded duration",
        "bitrate_kbps": "no encoded duration or output size",
    }
    missing = {key: reason for key, reason in reasons.items() if metrics[key] is None}
    return metrics, missing


def _progress_sink(parser: ProgressParser, on_progress: Callable[[Progress], None] | None) -> Callable[[str], None]:
    """A stdout-line callback that parses and forwards snapshots; a failing ``on_progress`` is logged, not fatal,
    so the pipe keeps being drained and FFmpeg never blocks on it."""
    failures = 0

    def on_line(line: str) -> None:
        nonlocal failures
        snapshot = parser.feed(line)
        if snapshot is None or on_progress is None:
            return
        try:
            on_progress(snapshot)
        except Exception:  # noqa: BLE001 - a broken observer must not stall the encode
            failures += 1
            if failures == 1:
                log.exception("on_progress callback failed; further failures are not logged")

    return on_line


def run_ffmpeg(
    argv: Sequence[str],
    timeout_s: float | None,
    on_progress: Callable[[Progress], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    on_exited: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
) -> FFmpegRun:
    """Run ``argv`` in its own process group and stream its progress.

    ``on_progress(Progress)`` runs (on the stdout reader thread) for every finished progress block. ``on_start(pid)``,
    ``on_exited(pid)`` (child exited, not yet reaped) and ``cancel`` are passed to :func:`agent.process.run_process`;
    a timeout or a set ``cancel`` kills FFmpeg's whole process group.
    """
    parser = ProgressParser()
    outcome = run_process(
        argv,
        timeout_s=timeout_s,
        on_stdout_line=_progress_sink(parser, on_progress),
        on_start=on_start,
        on_exited=on_exited,
        cancel=cancel,
    )
    return FFmpegRun(outcome=outcome, last_progress=parser.last, progress_count=parser.count)
