"""The streams of a live window: each stream's receiver and pusher (:class:`StreamRun`), started one after another
``stagger`` seconds apart inside one sampler window (:func:`push_streams`), and what each reported.

Per stream (``result["streams"]``): frames sent, frames received, FFmpeg's dropped / duplicated frames, speed (media
time sent, frames / frame rate, over the wall time since FFmpeg started encoding, so the process start and the RTMP
handshake, which ``-re`` never makes up, do not count against real time), achieved bitrate (bytes pushed x 8 / media
seconds, FLV and audio included), and an error when the stream failed. A stream fails when its pusher exits with an
error or times out, or when its receiver counted no frame.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from agent.ffmpeg.live import bitrate_bps, live_argv, stream_rate
from agent.ffmpeg.progress import Progress, ProgressParser
from agent.process import Child, ProcessOutcome, start_process
from agent.rtmp import RECEIVER_GRACE_S, Ingest, IngestError, Receiver, ReceiverResult
from agent.sampler import Measurement
from agent.scenarios.base import JobFailed, RunContext
from agent.scenarios.phases import sample_rate, sampling

REALTIME_SPEED = 0.98
"""A stream is real time when its speed is at least this and it dropped no frame."""


@dataclass
class StreamRun:
    """One stream of a window: its receiver, its pusher and what they reported."""

    index: int
    bitrate: Any
    key: str
    argv: list[str] | None = None
    receiver: Receiver | None = None
    pusher: Child | None = None
    parser: ProgressParser = field(default_factory=ProgressParser)
    outcome: ProcessOutcome | None = None
    received: ReceiverResult | None = None
    error: str | None = None
    rate: float | None = None
    """The stream's frame rate (None: unknown, a file input without ``fps``)."""

    @property
    def progress(self) -> Progress | None:
        return self.parser.last

    def speed(self) -> float | None:
        """Real-time factor: media time sent / wall time since FFmpeg started encoding.

        The wall time is FFmpeg's own (its final ``out_time / speed``), so the process start and the RTMP handshake,
        which ``-re`` never makes up, do not count against real time. The media time is frames / frame rate: FFmpeg's
        ``out_time`` is the start of the last frame, one frame interval short of what was sent (2 % of a 2 s stream
        at 25 fps). Without a known rate, ``out_time``; without FFmpeg's speed, media time / process wall time.
        The encoder's pipeline latency (lookahead, frame threads) stays in the wall time once: a short stream reads
        low by about latency / duration, so real-time verdicts want durations of 30 s or more."""
        p, out = self.progress, self.outcome
        if p is None or not p.out_time_s:
            return None
        media = p.frame / self.rate if self.rate and p.frame else p.out_time_s
        if p.speed:
            return media / (p.out_time_s / p.speed)
        if out is not None and out.duration_s > 0:
            return media / out.duration_s
        return None

    def result(self) -> tuple[dict[str, Any], dict[str, str]]:
        """The per-stream entry of ``result["streams"]`` and the reasons for its null fields."""
        p, out = self.progress, self.outcome
        frames = p.frame if p else None
        out_time = p.out_time_s if p else None
        speed = self.speed()
        size = p.total_size if p else None
        entry: dict[str, Any] = {
            "index": self.index,
            "bitrate": self.bitrate,
            "target_bitrate_kbps": bitrate_bps(self.bitrate) / 1000,
            "frames": frames,
            "frames_received": self.received.frames if self.received else None,
            "dropped_frames": p.drop_frames if p else None,
            "duplicated_frames": p.dup_frames if p else None,
            "speed": round(speed, 4) if speed is not None else None,
            "fps": p.fps
            if p and p.fps
            else (round(frames / out.duration_s, 3) if frames and out is not None and out.duration_s > 0 else None),
            "bitrate_kbps": round(size * 8 / 1000 / out_time, 3) if size and out_time else None,
            "output_bytes": size,
            "error": self.error,
        }
        no_progress = "the pusher reported no progress" if p is None else None
        reasons = {
            "frames": no_progress or "FFmpeg reported no frame count",
            "frames_received": (
                self.received.reason if self.received and self.received.reason else "the receiver was not started"
            ),
            "dropped_frames": no_progress or "FFmpeg reported no drop count",
            "duplicated_frames": no_progress or "FFmpeg reported no duplicate count",
            "speed": no_progress or "FFmpeg reported no encoded duration",
            "fps": no_progress or "no frames sent",
            "bitrate_kbps": no_progress or "no bytes pushed or no media time",
            "output_bytes": no_progress or "FFmpeg reported no output size",
        }
        return entry, {k: r for k, r in reasons.items() if entry[k] is None}

    @property
    def realtime(self) -> bool:
        entry, _ = self.result()
        return (
            self.error is None
            and entry["speed"] is not None
            and entry["speed"] >= REALTIME_SPEED
            and entry["dropped_frames"] == 0
        )


@dataclass
class Window:
    """One sampler window over concurrent streams."""

    streams: list[StreamRun]
    measurement: Measurement


def stream_bitrates(params: dict[str, Any]) -> list[Any]:
    """multi: ``bitrates`` when set, else ``[bitrate] * (count or 1)``; live: ``[bitrate]``."""
    if params.get("bitrates"):
        return list(params["bitrates"])
    return [params.get("bitrate")] * int(params.get("count") or 1)


def _first_line(lines: list[str]) -> str:
    useful = [line.strip() for line in lines if line.strip()]
    return useful[-1] if useful else "no error printed"


def push_streams(
    ctx: RunContext, ingest: Ingest, params: dict[str, Any], bitrates: list[Any], key: str, stagger: float = 0.0
) -> Window:
    """Push one stream per bitrate through ``ingest`` under one sampler window; per-stream failures are recorded on
    the streams, a cancel raises :class:`JobFailed`. Every child started here is stopped and reaped before it
    returns. ``params.timeout`` bounds the window (the pushers still running then are killed)."""
    rate = stream_rate(params)
    runs = [StreamRun(i, b, f"{key}-{i}", rate=float(rate) if rate else None) for i, b in enumerate(bitrates)]
    duration = float(params["duration"])
    timeout = params.get("timeout")
    lock = threading.Lock()

    def sink(run: StreamRun):
        def on_line(line: str) -> None:
            if run.parser.feed(line) is None:
                return
            with lock:
                lasts = [r.progress for r in runs if r.progress is not None]
                ctx.live.progress = {
                    "streams": len(lasts),
                    "frame": sum(p.frame or 0 for p in lasts),
                    "speed": min((p.speed for p in lasts if p.speed), default=None),
                }

        return on_line

    measurement: Measurement | None = None
    ctx.live.phase = "streaming"
    try:
        with sampling(ctx, sample_rate(params)) as sampler:
            t0 = time.monotonic()
            deadline = t0 + timeout if timeout else None
            started = 0
            for run in runs:
                if ctx.cancel.wait(max(0.0, t0 + stagger * run.index - time.monotonic())):
                    raise JobFailed("cancelled while streaming")
                try:
                    run.receiver = ingest.receiver(run.key, duration, ctx.cancel)
                except IngestError as exc:
                    run.error = str(exc)
                    continue
                run.argv = live_argv(ctx.ffmpeg.path, params, run.receiver.publish_url, run.bitrate)
                run.pusher = start_process(run.argv, on_stdout_line=sink(run))
                (sampler.track if started == 0 else sampler.track_also)(run.pusher.pid)  # the estimate counts it
                started += 1
            while not all(r.pusher is None or r.pusher.exited() for r in runs):
                if ctx.cancel.wait(0.02):
                    raise JobFailed("cancelled while streaming")
                if deadline is not None and time.monotonic() >= deadline:
                    for r in runs:
                        if r.pusher is not None and not r.pusher.exited():
                            r.pusher.timed_out = True
                            r.pusher.stop()
                    break
            measurement = sampler.stop()
    finally:  # the window is closed (the sampler stopped) before any pusher is reaped
        for run in runs:
            if run.pusher is not None:
                run.outcome = run.pusher.finish()
        for run in runs:
            if run.receiver is None:
                continue
            if measurement is None:
                run.receiver.abort()
            else:  # a pusher that failed sends nothing more: its receiver is not waited for
                sent = run.progress.frame if run.progress else None
                pushed = run.outcome is not None and run.outcome.ok
                run.received = run.receiver.finish(sent, grace_s=RECEIVER_GRACE_S if pushed else 0.0)
    for run in runs:
        run.error = run.error or _stream_error(run, timeout)
    return Window(runs, measurement)


def _stream_error(run: StreamRun, timeout: float | None) -> str | None:
    out = run.outcome
    if out is None:
        return "the pusher was not started"
    if out.timed_out:
        return f"pusher timed out after {timeout:g} s (params.timeout)"
    if out.returncode != 0:
        return f"pusher failed (exit {out.returncode}): {_first_line(out.stderr_tail)}"
    received = run.received
    if received is not None and received.reason is None and not received.frames:
        return f"receiver saw no frames from {run.receiver.publish_url}: {_first_line(received.stderr_tail)}"
    return None
