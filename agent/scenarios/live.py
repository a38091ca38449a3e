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

Each stream's figures and when it fails: :mod:`agent.scenarios.streams`; any failed stream fails the job (the result
still lists every stream).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from agent import energy
from agent.ffmpeg.live import live_argv
from agent.rtmp import Ingest, IngestError, open_ingest
from agent.sampler import Measurement
from agent.scenarios.base import JobFailed, RunContext, Scenario, ffmpeg_info, require_encoder
from agent.scenarios.phases import run_phases
from agent.scenarios.streams import Window, push_streams, stream_bitrates
from wire.fields import QUALITY_METRICS

T = TypeVar("T")

LOOPBACK_NOTE = (
    "the RTMP ingest ({kind}) and its receivers run on the measured machine: a measured source counts "
    "their energy inside the window"
)
ESTIMATE_NOTE = (
    "estimate:cpu attributes the pushers' CPU time only (every pusher tracked), not the ingest's nor the receivers'"
)
NO_QUALITY = "live streams: quality is not compared"


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
