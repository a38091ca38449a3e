"""Turn an idle baseline and a job's measurement into the energy part of a result (docs/WIRE.md).

``summarize`` returns the energy fields of ``metrics`` plus ``missing``, ``provenance``, ``baseline`` and ``samples``,
in WIRE.md's shapes. Every null metric has a reason under ``missing``; nested ones are keyed ``energy_j.<source>``.

Idle subtraction: ``dynamic_energy_j = total_energy_j - idle_watts x duration_s``, where ``idle_watts`` is the
baseline's total energy over its duration, measured on the same sources. It is not clamped at 0: a job
indistinguishable from idle may come out slightly negative, and clamping would bias repetitions upwards. The estimate
models only the job's
own CPU time, so its energy is dynamic already: ``idle_watts`` is null (with that reason) and dynamic = total.
"""

from __future__ import annotations

from typing import Any

from agent.sampler import Measurement
from agent.version import installed_version

ESTIMATE_IDLE_REASON = "the estimate models only the job's own CPU time: its energy is dynamic already"


def _r(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def idle_watts(baseline: Measurement | None, run: Measurement) -> tuple[float | None, str | None]:
    """Idle watts from the baseline, or None and why."""
    if run.estimated:
        return None, ESTIMATE_IDLE_REASON
    if baseline is None:
        return None, "no idle baseline measured"
    if set(baseline.sources) != set(run.sources):
        return None, f"baseline measured {sorted(baseline.sources)}, the job {sorted(run.sources)}"
    if baseline.total_energy_j is None:
        return None, f"idle baseline energy unknown: {baseline.missing.get('total_energy_j', 'no reason given')}"
    if baseline.duration_s <= 0:
        return None, "idle baseline has no duration"
    return baseline.total_energy_j / baseline.duration_s, None


def _dynamic(run: Measurement, idle: float | None, idle_reason: str | None) -> tuple[float | None, str | None]:
    total = run.total_energy_j
    if total is None:
        return None, "total energy unknown"
    if run.estimated:
        return total, None
    if idle is None:
        return None, f"idle watts unknown: {idle_reason}"
    return total - idle * run.duration_s, None


def _per_frame(energy: float | None, frames: int | None, what: str) -> tuple[float | None, str | None]:
    if frames is None:
        return None, "frame count unknown"
    if frames <= 0:
        return None, "no frames encoded"
    if energy is None:
        return None, f"{what} unknown"
    return energy / frames, None


def _frames_per_joule(total: float | None, frames: int | None) -> tuple[float | None, str | None]:
    if frames is None:
        return None, "frame count unknown"
    if total is None:
        return None, "total energy unknown"
    if total <= 0:
        return None, "total energy is 0 J"
    return frames / total, None


def _energy_metrics(baseline: Measurement | None, run: Measurement, frames: int | None):
    """(metrics, missing) for the energy fields."""
    metrics: dict[str, Any] = {"energy_j": {}}
    missing: dict[str, str] = {}
    for name, st in run.sources.items():
        metrics["energy_j"][name] = _r(st.energy_j)
        if st.energy_j is None:
            missing[f"energy_j.{name}"] = st.reason or "no valid reading"
    idle, idle_reason = idle_watts(baseline, run)
    dynamic, dynamic_reason = _dynamic(run, idle, idle_reason)
    total = run.total_energy_j
    fields = {
        "total_energy_j": (total, run.missing.get("total_energy_j")),
        "mean_watts": (run.mean_watts, run.missing.get("mean_watts")),
        "peak_watts": (run.peak_watts, run.missing.get("peak_watts")),
        "idle_watts": (idle, idle_reason),
        "dynamic_energy_j": (dynamic, dynamic_reason),
        "joules_per_frame": _per_frame(total, frames, "total energy"),
        "dynamic_joules_per_frame": _per_frame(dynamic, frames, "dynamic energy"),
        "frames_per_joule": _frames_per_joule(total, frames),
    }
    for key, (value, reason) in fields.items():
        metrics[key] = _r(value)
        if value is None:
            missing[key] = reason or "unknown"
    metrics["gpu_encoder_util_pct"], reason = encoder_utilization(run)
    if reason:
        missing["gpu_encoder_util_pct"] = reason
    metrics["agent_overhead_pct"] = _r(run.process_overhead_pct, 4)
    metrics["sampler_overhead_pct"] = _r(run.sampler_overhead_pct, 4)
    return metrics, missing


def encoder_utilization(run: Measurement) -> tuple[float | None, str | None]:
    """Mean NVENC utilisation (percent) over the window, averaged over the GPUs that reported one; None with a reason
    when no source reads it (no NVML GPU, or a GPU without the counter)."""
    values = [s.encoder_util_pct for s in run.sources.values() if s.encoder_util_pct is not None]
    if values:
        return _r(sum(values) / len(values), 3), None
    if any(s.kind == "nvml" for s in run.sources.values()):
        return None, "this GPU does not report encoder utilisation"
    return None, "no NVML GPU source: encoder utilisation is read from NVIDIA GPUs only"


def provenance(baseline: Measurement | None, run: Measurement) -> dict[str, Any]:
    """Where the numbers came from: estimated or measured, which sources, how often sampled, which ffwatt, notes."""
    notes = list(run.notes)
    version, version_reason = installed_version()
    if version_reason:
        notes.append(f"ffwatt_version: {version_reason}")
    if baseline is not None:
        notes += [f"baseline: {n}" for n in baseline.notes if n not in run.notes]
    if run.total_energy_j is not None and not run.estimated:
        idle, _ = idle_watts(baseline, run)
        if idle is not None and run.total_energy_j < idle * run.duration_s:
            notes.append("dynamic energy is negative: the job is indistinguishable from idle")
    sources = [
        {
            "name": s.name,
            "kind": s.kind,
            "measured": s.measured,
            "valid_samples": s.valid_samples,
            "invalid_samples": s.invalid_samples,
            "reason": s.reason,
            **({"encoder_util_pct": _r(s.encoder_util_pct, 3)} if s.encoder_util_pct is not None else {}),
        }
        for s in run.sources.values()
    ]
    return {
        "estimated": run.estimated,
        "sources": sources,
        "sample_rate_hz": _r(run.rate_hz, 3),
        "sample_count": run.sample_count,
        "ffwatt_version": version,
        "notes": notes,
    }


def summarize(baseline: Measurement | None, run: Measurement, frames: int | None) -> dict[str, Any]:
    """The energy part of a result: ``metrics``, ``missing``, ``provenance``, ``baseline`` and ``samples``."""
    metrics, missing = _energy_metrics(baseline, run, frames)
    base = None
    if baseline is not None:
        idle = None if run.estimated else idle_watts(baseline, baseline)[0]
        base = {
            "duration_s": _r(baseline.duration_s, 3),
            "idle_watts": _r(idle),
            "sample_count": baseline.sample_count,
            "other_load_pct": baseline.other_load_pct,
        }
    return {
        "metrics": metrics,
        "missing": missing,
        "provenance": provenance(baseline, run),
        "baseline": base,
        "samples": run.samples,
    }
