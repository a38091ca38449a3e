"""``transcode``: encode a source with one encoder and measure the energy of the encode.

(the source rendered by :mod:`agent.sources` before the scenario starts) -> idle baseline -> stabilization wait ->
sampler + FFmpeg (own process group, live progress) -> final power reading while FFmpeg's process is exited but not
reaped -> verify the output -> metrics -> quality (PSNR/SSIM/VMAF of the output against the same source frames,
:mod:`agent.ffmpeg.quality`), computed after the energy window closed so it never counts as the job's energy ->
cooldown wait. ``params.quality: false`` skips the comparison; a failed comparison
leaves the scores null with a reason, never fails the job.

``params.stabilization`` and ``params.cooldown`` (seconds, default 0; the original's ``--stabilization`` /
``--cooldown``) are waits outside the measured window: before FFmpeg starts (after the idle baseline), and at the end
of the job so the next one starts from a machine back at rest. Both wait on ``ctx.cancel``, so a cancel ends them.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from agent import energy
from agent.ffmpeg.command import output_suffix, transcode_argv
from agent.ffmpeg.quality import Quality, measure_quality, per_joule
from agent.ffmpeg.runner import run_ffmpeg
from agent.ffmpeg.verify import verify_output
from agent.sampler import Sampler, measure_idle
from agent.scenarios.base import JobFailed, RunContext, Scenario, require_encoder


def encoded_metrics(run, output_bytes: int | None) -> tuple[dict[str, Any], dict[str, str]]:
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
    reasons = {"frames": "FFmpeg reported no frame count", "fps": "no frames encoded",
               "speed": "FFmpeg reported no encoded duration", "bitrate_kbps": "no encoded duration or output size"}
    missing = {key: reason for key, reason in reasons.items() if metrics[key] is None}
    return metrics, missing


def idle_baseline(params: dict[str, Any], ctx: RunContext):
    """The job's idle baseline (``params.idle_baseline`` seconds, at ``params.sample_rate``), or None when not asked.
    Shared by every kind that measures one (transcode, live, multi, density)."""
    if not params.get("idle_baseline"):
        return None
    ctx.live.phase = "idle baseline"
    return measure_idle(ctx.sources, params["idle_baseline"], params["sample_rate"])


def unmeasured_wait(ctx: RunContext, seconds: float | None, phase: str, cancelled: str) -> None:
    """Wait ``seconds`` outside the measured window (stabilization, cooldown); a cancel ends the wait and fails the
    job with ``cancelled``."""
    if not seconds or seconds <= 0:
        return
    ctx.live.phase = phase
    if ctx.cancel.wait(seconds):
        raise JobFailed(cancelled)


def measured_ffmpeg(argv: list[str], params: dict[str, Any], ctx: RunContext):
    """Run one FFmpeg process inside a sampler window (``params.sample_rate``, ``params.timeout``); the final power
    reading is taken while FFmpeg has exited but is not reaped. Live progress and watts go to ``ctx.live``.
    Returns (FFmpegRun, Measurement)."""
    sampler = Sampler(ctx.sources, rate_hz=params["sample_rate"])
    final = {}

    def on_exited(_pid: int) -> None:
        final["measurement"] = sampler.stop()

    def on_progress(progress) -> None:
        ctx.live.progress = {k: v for k, v in dataclasses.asdict(progress).items() if v is not None}

    sampler.start()
    ctx.live.watts = sampler.current_watts
    try:
        run = run_ffmpeg(argv, params["timeout"], on_progress=on_progress, on_start=sampler.track,
                         on_exited=on_exited, cancel=ctx.cancel)
    finally:
        if "measurement" not in final:
            final["measurement"] = sampler.stop()
        ctx.live.watts = None
    return run, final["measurement"]


class Transcode(Scenario):
    kind = "transcode"

    def prepare(self, job: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        params = job["params"]
        require_encoder(ctx, params["encoder"])
        output = ctx.workdir / f"{job['id']}-{job['attempt']}{output_suffix(params['encoder'])}"
        return {"output": output, "argv": transcode_argv(ctx.ffmpeg.path, params, str(output))}

    def run(self, job: dict[str, Any], ctx: RunContext, state: dict[str, Any]) -> dict[str, Any]:
        params = job["params"]
        baseline = idle_baseline(params, ctx)
        unmeasured_wait(ctx, params.get("stabilization"), "stabilizing", "cancelled while stabilizing")
        if ctx.cancel.is_set():
            raise JobFailed("cancelled before FFmpeg started")
        ctx.live.phase = "encoding"
        run, measurement = measured_ffmpeg(state["argv"], params, ctx)
        output = state["output"]
        output_bytes = output.stat().st_size if output.exists() else None
        ffmpeg_info = {"argv": state["argv"], "version": ctx.ffmpeg.version, "path": ctx.ffmpeg.path,
                       "stderr_tail": run.outcome.stderr_tail}
        failure = verify_output(str(output), run)
        if failure:
            raise JobFailed(failure, {"ffmpeg": ffmpeg_info})
        metrics, missing = encoded_metrics(run, output_bytes)
        measured = energy.summarize(baseline, measurement, metrics["frames"])
        metrics.update(measured.pop("metrics"))
        missing.update(measured.pop("missing"))
        quality = self._quality(params, ctx, output, metrics["frames"])
        metrics.update(quality.metrics())
        missing.update(quality.missing)
        extra, extra_missing = per_joule(quality, metrics.get("frames_per_joule"), missing.get("frames_per_joule"))
        metrics.update(extra)
        missing.update(extra_missing)
        unmeasured_wait(ctx, params.get("cooldown"), "cooling down", "cancelled while cooling down")
        return {"metrics": metrics, "missing": missing, "ffmpeg": ffmpeg_info, "quality": quality.detail or None,
                **measured}

    def _quality(self, params, ctx: RunContext, output, frames) -> Quality:
        """Quality of the finished encode; runs after the measurement window, outside the job's energy."""
        if not params.get("quality", True):
            reason = "quality not requested (params.quality is false)"
            return Quality(missing={k: reason for k in ("psnr_db", "psnr_identical", "ssim", "vmaf",
                                                        "quality_frames")})
        ctx.live.phase = "quality"
        try:
            return measure_quality(ctx.ffmpeg.path, params, str(output), frames, ctx.workdir,
                                   timeout_s=params.get("timeout"), cancel=ctx.cancel)
        except Exception as exc:  # noqa: BLE001 - a quality failure never fails the job
            reason = f"quality comparison error: {exc}"
            return Quality(missing={k: reason for k in ("psnr_db", "psnr_identical", "ssim", "vmaf",
                                                        "quality_frames")})

    def cleanup(self, job: dict[str, Any], ctx: RunContext, state: dict[str, Any]) -> None:
        output = state.get("output")
        if output is not None and output.exists():
            output.unlink()
