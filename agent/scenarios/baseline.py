"""``baseline``: an idle measurement as its own scenario (the original's ``--with-baseline``).

The sampler reads every power source for ``params.duration`` seconds with no job running; the result carries the
window's energy per source, total energy, mean and peak watts, and ``idle_watts`` (= mean). Nothing is encoded: the
frame-based metrics are null with the reason "baseline: no frames". The window is
:func:`agent.scenarios.phases.idle_window` (the same as every job's idle baseline): a cancel ends
the measurement at once and fails the job (a shortened baseline is not a baseline of the asked duration).

Estimated energy: the estimate models only the CPU time of a tracked job, and a baseline tracks none, so its energy is
0 J by construction. ``idle_watts`` (and mean / peak watts) are then null with that reason, never a made-up 0 W.
"""

from __future__ import annotations

from typing import Any

from agent import energy
from agent.sampler import Measurement
from agent.scenarios.base import JobFailed, RunContext, Scenario
from agent.scenarios.phases import idle_window, sample_rate

NO_FRAMES = "baseline: no frames"
NO_ENCODE = "baseline: nothing is encoded"
ALL_IDLE = "baseline: the whole window is idle, there is no job energy above it"
ESTIMATED_IDLE_REASON = (
    "the estimate models only a job's own CPU time and a baseline runs no job: its energy is 0 J "
    "by construction, not a measured idle power"
)
FRAME_FIELDS = ("frames", "fps", "joules_per_frame", "dynamic_joules_per_frame", "frames_per_joule")
ENCODE_FIELDS = ("speed", "output_bytes", "bitrate_kbps")


def baseline_result(measurement: Measurement) -> dict[str, Any]:
    """The result fields (docs/WIRE.md "Result") of an idle window: metrics, missing, provenance, samples."""
    summary = energy.summarize(None, measurement, None)
    measured, missing = summary["metrics"], summary["missing"]
    metrics: dict[str, Any] = {"duration_s": round(measurement.duration_s, 4), "energy_j": measured["energy_j"]}
    for key in ("total_energy_j", "mean_watts", "peak_watts"):
        metrics[key] = measured[key]
    metrics["idle_watts"] = measured["mean_watts"]
    out_missing = {
        key: reason
        for key, reason in missing.items()
        if key.startswith("energy_j.") or key in ("total_energy_j", "mean_watts", "peak_watts")
    }
    if metrics["idle_watts"] is None:
        out_missing["idle_watts"] = missing.get("mean_watts") or "mean watts unknown"
    if measurement.estimated:
        for key in ("idle_watts", "mean_watts", "peak_watts"):
            metrics[key] = None
            out_missing[key] = ESTIMATED_IDLE_REASON
    metrics["dynamic_energy_j"] = None
    out_missing["dynamic_energy_j"] = ALL_IDLE
    for key in FRAME_FIELDS:
        metrics[key], out_missing[key] = None, NO_FRAMES
    for key in ENCODE_FIELDS:
        metrics[key], out_missing[key] = None, NO_ENCODE
    metrics["agent_overhead_pct"] = measured["agent_overhead_pct"]
    metrics["sampler_overhead_pct"] = measured["sampler_overhead_pct"]
    provenance = summary["provenance"]
    if measurement.estimated:
        provenance["notes"] = [*provenance["notes"], f"idle_watts: {ESTIMATED_IDLE_REASON}"]
    return {
        "metrics": metrics,
        "missing": out_missing,
        "provenance": provenance,
        "baseline": None,
        "ffmpeg": None,
        "samples": summary["samples"],
    }


class Baseline(Scenario):
    kind = "baseline"

    def prepare(self, job: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        params = job["params"]
        duration, timeout = params.get("duration"), params.get("timeout")
        if not isinstance(duration, (int, float)) or isinstance(duration, bool) or duration <= 0:
            raise JobFailed(f"baseline duration must be a positive number of seconds, got {duration!r}")
        if timeout is not None and duration > timeout:
            raise JobFailed(f"baseline duration {duration:g} s is longer than its timeout {timeout:g} s")
        return {}

    def run(self, job: dict[str, Any], ctx: RunContext, state: dict[str, Any]) -> dict[str, Any]:
        params = job["params"]
        duration = float(params["duration"])
        if ctx.cancel.is_set():
            raise JobFailed("cancelled before the idle measurement started")
        ctx.live.phase = "idle baseline"
        measurement, cancelled = idle_window(ctx, duration, sample_rate(params))
        if cancelled:
            raise JobFailed(f"idle measurement cancelled after {measurement.duration_s:.1f} of {duration:g} s")
        return baseline_result(measurement)
