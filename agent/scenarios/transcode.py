"""``transcode``: encode a source with one encoder and measure the energy of the encode.

(the source rendered by :mod:`agent.sources` before the scenario starts) -> idle baseline -> stabilization wait ->
sampler + FFmpeg (own process group, live progress) -> final power reading while FFmpeg's process is exited but not
reaped -> verify the output -> metrics -> quality (PSNR/SSIM/VMAF of the output against the same source frames,
:mod:`agent.ffmpeg.quality`), computed after the energy window closed so it never counts as the job's energy ->
cooldown wait. ``params.quality: false`` skips the comparison; a failed comparison
leaves the scores null with a reason, never fails the job.

``params.stabilization`` and ``params.cooldown`` (seconds, default 0; the original's ``--stabilization`` /
``--cooldown``) are waits outside the measured window: before FFmpeg starts (after the idle baseline), and at the end
of the job so the next one starts from a machine back at rest. The phases are :func:`agent.scenarios.phases.run_phases`;
each wait is on ``ctx.cancel``, so a cancel ends it.
"""

from __future__ import annotations

from typing import Any

from agent import energy
from agent.ffmpeg.command import output_suffix, transcode_argv
from agent.ffmpeg.quality import Quality, measure_quality, per_joule
from agent.ffmpeg.runner import encoded_metrics
from agent.ffmpeg.verify import verify_output
from agent.scenarios.base import JobFailed, RunContext, Scenario, ffmpeg_info, require_encoder
from agent.scenarios.phases import measured_ffmpeg, run_phases


class Transcode(Scenario):
    kind = "transcode"

    def prepare(self, job: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        params = job["params"]
        require_encoder(ctx, params["encoder"])
        output = ctx.workdir / f"{job['id']}-{job['attempt']}{output_suffix(params['encoder'])}"
        return {"output": output, "argv": transcode_argv(ctx.ffmpeg.path, params, str(output))}

    def run(self, job: dict[str, Any], ctx: RunContext, state: dict[str, Any]) -> dict[str, Any]:
        params = job["params"]
        return run_phases(params, ctx, "FFmpeg started", lambda baseline: self._encode(ctx, state, params, baseline))

    def _encode(self, ctx: RunContext, state: dict[str, Any], params: dict[str, Any], baseline) -> dict[str, Any]:
        """The measured encode, then (outside its window) verification, metrics and quality."""
        ctx.live.phase = "encoding"
        run, measurement = measured_ffmpeg(state["argv"], params, ctx)
        output = state["output"]
        output_bytes = output.stat().st_size if output.exists() else None
        info = ffmpeg_info(ctx, state["argv"], run.outcome.stderr_tail)
        failure = verify_output(str(output), run)
        if failure:
            raise JobFailed(failure, {"ffmpeg": info})
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
        return {"metrics": metrics, "missing": missing, "ffmpeg": info, "quality": quality.detail or None, **measured}

    def _quality(self, params, ctx: RunContext, output, frames) -> Quality:
        """Quality of the finished encode; runs after the measurement window, outside the job's energy."""
        if not params.get("quality", True):
            reason = "quality not requested (params.quality is false)"
            return Quality(missing={k: reason for k in ("psnr_db", "psnr_identical", "ssim", "vmaf", "quality_frames")})
        ctx.live.phase = "quality"
        try:
            return measure_quality(
                ctx.ffmpeg.path,
                params,
                str(output),
                frames,
                ctx.workdir,
                timeout_s=params.get("timeout"),
                cancel=ctx.cancel,
            )
        except Exception as exc:  # noqa: BLE001 - a quality failure never fails the job
            reason = f"quality comparison error: {exc}"
            return Quality(missing={k: reason for k in ("psnr_db", "psnr_identical", "ssim", "vmaf", "quality_frames")})

    def cleanup(self, job: dict[str, Any], ctx: RunContext, state: dict[str, Any]) -> None:
        output = state.get("output")
        if output is not None and output.exists():
            output.unlink()
