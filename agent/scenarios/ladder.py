"""``ladder``: an ABR ladder, one input decoded once and encoded to every rung in one FFmpeg process.

idle baseline -> stabilization wait (:func:`agent.scenarios.phases.run_phases`) -> sampler + FFmpeg (own process
group, live progress) -> final power reading
while FFmpeg's process is exited but not reaped -> verify the run -> read every rung's output back to count the frames
it really holds -> metrics -> cooldown wait. The argv is :func:`agent.ffmpeg.ladder.ladder_argv` (split + scale per
rung, one ``-map`` per output, a null-muxer tap first so FFmpeg's progress counts the input frames).

Frames and pixels are counted per rung actually produced, never assumed: ``frames`` is the sum of the rungs' read-back
frame counts, ``pixels`` the sum of frames x width x height (the coded size read from each file). The energy of the
whole process is divided by those: ``joules_per_frame`` = total energy / all rungs' frames, ``joules_per_megapixel`` =
total energy / (pixels / 1e6). A rung whose output is missing, empty or has no frames fails the job with a reason
naming the rung; so does an FFmpeg failure that FFmpeg's stderr pins on one rung's output (an encoder refusing a size).
"""

from __future__ import annotations

from typing import Any

from agent import energy
from agent.ffmpeg.command import output_suffix, parse_size
from agent.ffmpeg.ladder import RungCount, count_frames, device_failure, failed_rung, ladder_argv, rung_label
from agent.ffmpeg.runner import FFmpegRun, encoded_metrics
from agent.ffmpeg.verify import verify_output
from agent.sampler import Measurement
from agent.scenarios.base import JobFailed, RunContext, Scenario, ffmpeg_info, require_encoder
from agent.scenarios.phases import measured_ffmpeg, run_phases


def rung_entry(
    rung: dict[str, Any], count: RungCount, output_bytes: int | None, seconds: float | None
) -> dict[str, Any]:
    """One entry of the result's top-level ``rungs`` (docs/WIRE.md "Ladder job")."""
    width, height = count.width, count.height
    if width is None or height is None:
        width, height = parse_size(rung["resolution"])
    frames = count.frames
    pixels = frames * width * height if frames is not None else None
    kbps = round(output_bytes * 8 / 1000 / seconds, 3) if output_bytes and seconds else None
    return {
        "resolution": rung["resolution"],
        "bitrate": rung["bitrate"],
        "frames": frames,
        "pixels": pixels,
        "output_bytes": output_bytes,
        "bitrate_kbps": kbps,
        "error": count.error,
    }


def ladder_notes(
    entries: list[dict[str, Any]], rungs: list[dict[str, Any]], duration: float | None, source_seconds: float | None
) -> list[str]:
    """Provenance notes: an input that ended before ``duration`` seconds, rungs that got different frame counts."""
    notes = []
    if duration and source_seconds is not None and source_seconds < 0.95 * float(duration):
        notes.append(f"input ended early: {source_seconds:.3f} s of the {float(duration):g} s asked for were encoded")
    counts = {e["frames"] for e in entries}
    if len(counts) > 1:
        detail = ", ".join(f"{rung_label(i, rungs[i])} {e['frames']}" for i, e in enumerate(entries))
        notes.append(f"rungs hold different frame counts: {detail}")
    return notes


def ladder_metrics(
    run: FFmpegRun, entries: list[dict[str, Any]], baseline: Measurement | None, measurement: Measurement
) -> tuple[dict[str, Any], dict[str, str], dict[str, Any]]:
    """(metrics, missing, the rest of energy.summarize) of a ladder whose every rung holds frames.

    source_frames, fps, speed and bitrate come from the encode's progress (the tap: input frames and time), the
    output bytes and bitrate are summed over the rungs, frames and pixels are the rungs' read-back sums; the energy
    metrics are per frame of all rungs, and joules_per_megapixel = total_energy_j / (pixels / 1e6)."""
    total_bytes = sum(e["output_bytes"] for e in entries)
    encoded, missing = encoded_metrics(run, total_bytes)
    metrics = {
        "duration_s": encoded["duration_s"],
        "rungs": len(entries),
        "source_frames": encoded["frames"],
        **{k: encoded[k] for k in ("fps", "speed", "output_bytes", "bitrate_kbps")},
    }
    if "frames" in missing:
        missing["source_frames"] = missing.pop("frames")
    if "fps" in missing:
        missing["fps"] = "FFmpeg reported no source frame count"
    frames = sum(e["frames"] for e in entries)
    pixels = sum(e["pixels"] for e in entries)
    metrics["frames"], metrics["pixels"] = frames, pixels
    measured = energy.summarize(baseline, measurement, frames)
    metrics.update(measured.pop("metrics"))
    missing.update(measured.pop("missing"))
    total = metrics.get("total_energy_j")
    metrics["joules_per_megapixel"] = round(total / (pixels / 1e6), 6) if total is not None and pixels else None
    if metrics["joules_per_megapixel"] is None:
        missing["joules_per_megapixel"] = (
            "no pixels encoded" if not pixels else f"total energy unknown: {missing.get('total_energy_j', 'no reason')}"
        )
    return metrics, missing, measured


class Ladder(Scenario):
    kind = "ladder"

    def prepare(self, job: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        params = job["params"]
        require_encoder(ctx, params["encoder"])
        rungs = params.get("rungs") or []
        suffix = output_suffix(params["encoder"])
        outputs = [ctx.workdir / f"{job['id']}-{job['attempt']}-rung{i + 1}{suffix}" for i in range(len(rungs))]
        try:
            argv = ladder_argv(ctx.ffmpeg.path, params, [str(o) for o in outputs])
        except ValueError as exc:
            raise JobFailed(f"bad ladder params: {exc}") from None
        return {"outputs": outputs, "argv": argv}

    def run(self, job: dict[str, Any], ctx: RunContext, state: dict[str, Any]) -> dict[str, Any]:
        params = job["params"]
        return run_phases(params, ctx, "FFmpeg started", lambda baseline: self._encode(ctx, state, params, baseline))

    def _encode(self, ctx: RunContext, state: dict[str, Any], params: dict[str, Any], baseline) -> dict[str, Any]:
        """The measured encode, then (outside its window) every rung read back, and the metrics."""
        rungs = params["rungs"]
        ctx.live.phase = "encoding"
        run, measurement = measured_ffmpeg(state["argv"], params, ctx)
        info = ffmpeg_info(ctx, state["argv"], run.outcome.stderr_tail)
        failure = self._run_failure(run, params)
        if failure:
            raise JobFailed(failure, {"ffmpeg": info})

        ctx.live.phase = "counting frames"
        source_seconds = run.last_progress.out_time_s if run.last_progress else None
        entries = self._count_rungs(ctx, params, state["outputs"], source_seconds)
        bad = [(i, e) for i, e in enumerate(entries) if e["error"]]
        if bad:
            reason = "; ".join(f"{rung_label(i, rungs[i])}: {e['error']}" for i, e in bad)
            raise JobFailed(reason, {"ffmpeg": info, "rungs": entries})
        metrics, missing, measured = ladder_metrics(run, entries, baseline, measurement)
        measured["provenance"]["notes"] += ladder_notes(entries, rungs, params.get("duration"), source_seconds)
        return {"metrics": metrics, "missing": missing, "ffmpeg": info, "rungs": entries, "quality": None, **measured}

    @staticmethod
    def _count_rungs(ctx: RunContext, params: dict[str, Any], outputs: list, source_seconds: float | None) -> list:
        """The result's ``rungs``: each output read back for its frames and size."""
        entries = []
        for rung, output in zip(params["rungs"], outputs):
            count = count_frames(ctx.ffmpeg.path, str(output), params.get("timeout"), ctx.cancel)
            size = output.stat().st_size if output.exists() else None
            entries.append(rung_entry(rung, count, size, source_seconds or count.out_time_s))
        return entries

    @staticmethod
    def _run_failure(run: FFmpegRun, params: dict[str, Any]) -> str | None:
        """Why the ladder's FFmpeg run failed, naming the rung when FFmpeg's stderr blames one output; else None."""
        reason = verify_output(None, run)
        if reason is None:
            return None
        outcome = run.outcome
        if outcome.timed_out or outcome.cancelled or (outcome.returncode or 0) < 0:
            return reason
        device = device_failure(outcome.stderr_tail)
        if device is not None:
            return f"encoder unavailable: {params['encoder']} ({device})"
        blamed = failed_rung(outcome.stderr_tail, len(params["rungs"]))
        if blamed is not None:
            index, detail = blamed
            return f"{rung_label(index, params['rungs'][index])}: {params['encoder']} failed: {detail}"
        return reason

    def cleanup(self, job: dict[str, Any], ctx: RunContext, state: dict[str, Any]) -> None:
        for output in state.get("outputs") or []:
            if output.exists():
                output.unlink()
