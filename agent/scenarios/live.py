"""``live`` and ``multi``: real-time streams pushed over RTMP, and the energy of pushing them.

ingest (:mod:`agent.rtmp`: nginx-rtmp the agent starts, FFmpeg's own listener, or an external ``rtmp_url``) ->
idle baseline -> stabilization wait -> one sampler window over every stream: stream i's receiver is started and
ready, then its pusher (:func:`agent.ffmpeg.live.live_argv`, ``-re``, CBR-style, fixed GOP, FLV), ``stagger`` x i
seconds after the first -> the window closes once every pusher has exited (final power reading while they are
unreaped zombies, so the estimate sees their whole CPU time) -> receivers drain and stop -> metrics -> cooldown wait ->
the ingest is stopped (:func:`streaming_phases`: :func:`agent.scenarios.phases.run_phases` inside the ingest).

``live`` is one stream; ``multi`` is one stream per entry of ``bitrates``, else ``count`` (default 1) streams at
``bitrate``. The estimate source attributes the pushers' CPU time (every pusher is tracked); a loopback ingest and its
receivers run on the measured machine too, so a measured source (RAPL, NVML) counts them inside the window while the
estimate does not: the provenance notes say so.

Per stream (``result["streams"]``): frames sent, frames received, FFmpeg's dropped / duplicated frames, speed (media
time sent, frames / frame rate, over the wall time since FFmpeg started encoding, so the process start and the RTMP
handshake, which ``-re`` never makes up, do not count against real time), achieved bitrate (bytes pushed x 8 / media
seconds, FLV and audio included), and an
error when the stream failed. A stream fails when its pusher exits with an error or times out, or when its receiver
counted no frame; any failed stream fails the job (the result still lists every stream).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from agent import energy
from agent.ffmpeg.live import bitrate_bps, live_argv, stream_rate
from agent.ffmpeg.progress import Progress, ProgressParser
from agent.process import Child, ProcessOutcome, start_process
from agent.rtmp import RECEIVER_GRACE_S, Ingest, IngestError, Receiver, ReceiverResult, open_ingest
from agent.sampler import Measurement
from agent.scenarios.base import JobFailed, RunContext, Scenario, ffmpeg_info, require_encoder
from agent.scenarios.phases import run_phases, sample_rate, sampling
from wire.fields import QUALITY_METRICS

T = TypeVar("T")

REALTIME_SPEED = 0.98
"""A stream is real time when its speed is at least this and it dropped no frame."""


LOOPBACK_NOTE = (
    "the RTMP ingest ({kind}) and its receivers run on the measured machine: a measured source counts "
    "their energy inside the window"
)
ESTIMATE_NOTE = (
    "estimate:cpu attributes the pushers' CPU time only (every pusher tracked), not the ingest's nor the receivers'"
)
NO_QUALITY = "live streams: quality is not compared"
STREAM_FIELDS = ("frames", "frames_received", "dropped_frames", "duplicated_frames", "speed", "bitrate_kbps")


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


def _sum(values: list, what: str) -> tuple[Any, str | None]:
    unknown = [i for i, v in enumerate(values) if v is None]
    if unknown:
        return None, f"{what} unknown for stream(s) {', '.join(map(str, unknown))}"
    return sum(values), None


def window_result(window: Window, baseline: Measurement | None, ingest: Ingest) -> dict[str, Any]:
    """The result fields (docs/WIRE.md) of a window: total metrics, per-stream ``streams``, energy, provenance."""
    entries, missing = [], {}
    for run in window.streams:
        entry, reasons = run.result()
        entries.append(entry)
        missing.update({f"streams.{run.index}.{k}": r for k, r in reasons.items() if k in entry})
    n = len(entries)
    m = window.measurement
    metrics: dict[str, Any] = {"duration_s": round(m.duration_s, 4), "streams": n}
    for name in ("frames", "frames_received", "dropped_frames", "duplicated_frames", "output_bytes"):
        metrics[name], why = _sum([e[name] for e in entries], name)
        if why:
            missing[name] = why
    speeds = [e["speed"] for e in entries]
    if any(s is None for s in speeds):
        metrics["speed"] = metrics["mean_speed"] = None
        missing["speed"] = missing["mean_speed"] = _sum(speeds, "speed")[1]
    else:
        metrics["speed"] = min(speeds)
        metrics["mean_speed"] = round(sum(speeds) / n, 4)
    fps, why = _sum([e["fps"] for e in entries], "fps")
    metrics["fps"] = round(fps, 3) if fps is not None else None
    if why:
        missing["fps"] = why
    rate, why = _sum([e["bitrate_kbps"] for e in entries], "bitrate")
    metrics["bitrate_kbps"] = round(rate, 3) if rate is not None else None
    if why:
        missing["bitrate_kbps"] = why
    metrics["target_bitrate_kbps"] = sum(e["target_bitrate_kbps"] for e in entries)
    metrics["realtime"] = all(run.realtime for run in window.streams)
    measured = energy.summarize(baseline, m, metrics["frames"])
    metrics.update(measured.pop("metrics"))
    missing.update(measured.pop("missing"))
    per_stream(metrics, missing, n)
    for name in QUALITY_METRICS:
        metrics[name], missing[name] = None, NO_QUALITY
    provenance = measured["provenance"]
    notes = [*ingest.notes]
    if ingest.kind in ("nginx", "listen"):
        notes.append(LOOPBACK_NOTE.format(kind=ingest.kind))
    if m.estimated:
        notes.append(ESTIMATE_NOTE)
    provenance["notes"] = [*provenance["notes"], *notes]
    return {"metrics": metrics, "missing": missing, "streams": entries, **measured}


def per_stream(metrics: dict[str, Any], missing: dict[str, str], streams: int) -> None:
    """watts_per_stream = mean_watts / streams; dynamic_watts_per_stream = (mean_watts - idle_watts) / streams."""
    mean, idle = metrics.get("mean_watts"), metrics.get("idle_watts")
    if streams <= 0:
        reason = "no stream held real time"
        metrics["watts_per_stream"] = metrics["dynamic_watts_per_stream"] = None
        missing["watts_per_stream"] = missing["dynamic_watts_per_stream"] = reason
        return
    metrics["watts_per_stream"] = round(mean / streams, 6) if mean is not None else None
    if mean is None:
        missing["watts_per_stream"] = f"mean watts unknown: {missing.get('mean_watts', 'no reason given')}"
    if mean is not None and idle is not None:
        metrics["dynamic_watts_per_stream"] = round((mean - idle) / streams, 6)
    elif mean is not None and missing.get("idle_watts") == energy.ESTIMATE_IDLE_REASON:
        metrics["dynamic_watts_per_stream"] = round(mean / streams, 6)  # the estimate is dynamic already
    else:
        metrics["dynamic_watts_per_stream"] = None
        missing["dynamic_watts_per_stream"] = (
            f"idle watts unknown: {missing.get('idle_watts', 'no reason given')}"
            if mean is not None
            else missing["watts_per_stream"]
        )


def window_ffmpeg_info(ctx: RunContext, window: Window) -> dict[str, Any]:
    """The ``ffmpeg`` result field: the first stream's argv (the others differ only in URL and bitrate) and the
    stderr of the first stream that failed."""
    first = next((r for r in window.streams if r.argv), None)
    failed = next((r for r in window.streams if r.error and r.outcome is not None), first)
    return ffmpeg_info(
        ctx, first.argv if first else None, failed.outcome.stderr_tail if failed and failed.outcome else []
    )


def check_live_params(params: dict[str, Any], ctx: RunContext, bitrates: list[Any], stagger: float) -> None:
    """Fail early (prepare) on what would fail every stream: a missing encoder, bad params, a window longer than the
    timeout."""
    require_encoder(ctx, params["encoder"])
    if not bitrates or any(b is None for b in bitrates):
        raise JobFailed("a live stream needs a bitrate")
    try:
        for bitrate in bitrates:
            live_argv(ctx.ffmpeg.path, params, "rtmp://127.0.0.1/live/check", bitrate)
    except ValueError as exc:
        raise JobFailed(f"bad live params: {exc}") from exc
    timeout = params.get("timeout")
    span = float(params["duration"]) + stagger * (len(bitrates) - 1)
    if timeout is not None and span > timeout:
        raise JobFailed(
            f"streams need {span:g} s (duration + stagger between starts), longer than the timeout {timeout:g} s"
        )


def streaming_phases(
    params: dict[str, Any], ctx: RunContext, measured_run: Callable[[Ingest, Measurement | None], T]
) -> T:
    """Open the job's ingest, then run :func:`agent.scenarios.phases.run_phases` inside it (idle baseline,
    stabilization, cancel check, ``measured_run(ingest, baseline)``, cooldown); an ingest failure fails the job."""
    ctx.live.phase = "starting ingest"
    try:
        with open_ingest(
            params.get("ingest"), ctx.ffmpeg.path, ctx.workdir, params.get("rtmp_url"), cancel=ctx.cancel
        ) as ingest:
            return run_phases(params, ctx, "the streams started", lambda baseline: measured_run(ingest, baseline))
    except IngestError as exc:
        raise JobFailed(f"RTMP ingest: {exc}") from exc


class Multi(Scenario):
    """``multi``: N concurrent live streams under one sampler window."""

    kind = "multi"

    def _bitrates(self, params: dict[str, Any]) -> list[Any]:
        return stream_bitrates(params)

    def _stagger(self, params: dict[str, Any]) -> float:
        return float(params.get("stagger") or 0)

    def prepare(self, job: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        params = job["params"]
        check_live_params(params, ctx, self._bitrates(params), self._stagger(params))
        return {}

    def run(self, job: dict[str, Any], ctx: RunContext, state: dict[str, Any]) -> dict[str, Any]:
        return streaming_phases(job["params"], ctx, lambda ingest, baseline: self._stream(job, ctx, ingest, baseline))

    def _stream(self, job: dict[str, Any], ctx: RunContext, ingest: Ingest, baseline) -> dict[str, Any]:
        """The measured window over every stream; any failed stream fails the job."""
        params = job["params"]
        window = push_streams(
            ctx, ingest, params, self._bitrates(params), f"{job['id']}-{job['attempt']}", self._stagger(params)
        )
        result = window_result(window, baseline, ingest)
        result["ffmpeg"] = window_ffmpeg_info(ctx, window)
        failed = [r for r in window.streams if r.error]
        if failed:
            first = failed[0]
            prefix = "" if len(window.streams) == 1 else f"stream {first.index}: "
            more = f" (and {len(failed) - 1} more stream(s))" if len(failed) > 1 else ""
            raise JobFailed(f"{prefix}{first.error}{more}", {"ffmpeg": result["ffmpeg"], "streams": result["streams"]})
        return result


class Live(Multi):
    """``live``: one real-time stream."""

    kind = "live"

    def _bitrates(self, params: dict[str, Any]) -> list[Any]:
        return [params.get("bitrate")]

    def _stagger(self, params: dict[str, Any]) -> float:
        return 0.0


def stream_summary(window: Window) -> list[dict[str, Any]]:
    """The ``streams`` entries of a window, without the reasons (density levels)."""
    return [run.result()[0] for run in window.streams]
