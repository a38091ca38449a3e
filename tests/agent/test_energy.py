"""energy.summarize on constructed measurements: idle subtraction, per-frame figures, missing reasons, WIRE shapes."""

from __future__ import annotations

import json

import pytest

from agent.energy import ESTIMATE_IDLE_REASON, summarize
from agent.sampler import Measurement, SourceTotal

WIRE_METRICS = {
    "energy_j",
    "total_energy_j",
    "mean_watts",
    "peak_watts",
    "idle_watts",
    "dynamic_energy_j",
    "joules_per_frame",
    "dynamic_joules_per_frame",
    "frames_per_joule",
    "agent_overhead_pct",
    "sampler_overhead_pct",
    "gpu_encoder_util_pct",
}


def _m(energies: dict[str, float | None], duration: float, kind="rapl", notes=()) -> Measurement:
    """A measurement as the sampler would build it, with the given per-source energies."""
    measured = kind != "estimate"
    sources = {
        n: SourceTotal(
            n,
            kind,
            measured,
            e,
            None if e is None else e / duration,
            None,
            10,
            0 if e is not None else 10,
            None if e is not None else "no valid reading: x",
        )
        for n, e in energies.items()
    }
    known = all(e is not None for e in energies.values())
    total = sum(energies.values()) if known else None
    return Measurement(
        duration_s=duration,
        rate_hz=10.0,
        sample_count=10,
        invalid_count=0 if known else 10,
        notes=list(notes),
        estimated=not measured,
        sources=sources,
        samples=[{"t": 0.1, "watts": {}, "total_watts": None}],
        sampler_cpu_s=0.01,
        sampler_overhead_pct=0.25,
        process_cpu_s=0.04,
        process_overhead_pct=1.0,
        total_energy_j=total,
        mean_watts=None if total is None else total / duration,
        peak_watts=42.0,
        missing={} if known else {"total_energy_j": "pkg: no valid reading: x"},
    )


def test_idle_subtraction_and_per_frame():
    """Idle 5 W over a 4 s job leaves 80 of 100 J dynamic; 200 frames give 0.5 and 0.4 J per frame."""
    baseline = _m({"rapl:package-0": 8.0, "rapl:dram-0": 2.0}, 2.0)
    run = _m({"rapl:package-0": 90.0, "rapl:dram-0": 10.0}, 4.0)
    out = summarize(baseline, run, frames=200)
    m = out["metrics"]
    assert m["energy_j"] == {"rapl:package-0": 90.0, "rapl:dram-0": 10.0}
    assert (m["total_energy_j"], m["idle_watts"], m["dynamic_energy_j"]) == (100.0, 5.0, 80.0)
    assert (m["joules_per_frame"], m["dynamic_joules_per_frame"], m["frames_per_joule"]) == (0.5, 0.4, 2.0)
    assert m["mean_watts"] == 25.0 and m["peak_watts"] == 42.0
    assert (m["agent_overhead_pct"], m["sampler_overhead_pct"]) == (1.0, 0.25)
    assert out["missing"] == {
        "gpu_encoder_util_pct": "no NVML GPU source: encoder utilisation is read from NVIDIA GPUs only"
    }
    assert m["gpu_encoder_util_pct"] is None
    assert out["baseline"] == {"duration_s": 2.0, "idle_watts": 5.0, "sample_count": 10, "other_load_pct": None}
    assert set(m) == WIRE_METRICS


def test_frames_unknown_gives_null_with_reason():
    """Without a frame count every per-frame figure is null with the reason, never 0."""
    out = summarize(None, _m({"rapl:package-0": 10.0}, 1.0), frames=None)
    for key in ("joules_per_frame", "dynamic_joules_per_frame", "frames_per_joule"):
        assert out["metrics"][key] is None and out["missing"][key] == "frame count unknown"
    assert out["metrics"]["idle_watts"] is None and out["missing"]["idle_watts"] == "no idle baseline measured"
    assert out["missing"]["dynamic_energy_j"].startswith("idle watts unknown")
    assert out["baseline"] is None


def test_missing_source_energy_propagates():
    """A source with no valid energy nulls its entry, the total and everything derived, each with a reason."""
    run = _m({"rapl:package-0": None, "rapl:dram-0": 3.0}, 2.0)
    out = summarize(_m({"rapl:package-0": 2.0, "rapl:dram-0": 1.0}, 1.0), run, frames=50)
    m, missing = out["metrics"], out["missing"]
    assert m["energy_j"]["rapl:package-0"] is None and "no valid reading" in missing["energy_j.rapl:package-0"]
    assert m["total_energy_j"] is None and missing["total_energy_j"] == "pkg: no valid reading: x"
    assert m["joules_per_frame"] is None and missing["joules_per_frame"] == "total energy unknown"
    assert m["dynamic_energy_j"] is None and m["idle_watts"] == 3.0
    assert all(missing.get(k) for k, v in m.items() if v is None)


def test_estimate_is_dynamic_already():
    """For the estimate, idle watts are null with the model's reason and dynamic equals total."""
    run = _m({"estimate:cpu": 12.0}, 3.0, kind="estimate")
    out = summarize(_m({"estimate:cpu": 0.0}, 1.0, kind="estimate"), run, frames=120)
    m = out["metrics"]
    assert m["idle_watts"] is None and out["missing"]["idle_watts"] == ESTIMATE_IDLE_REASON
    assert m["dynamic_energy_j"] == 12.0 and m["dynamic_joules_per_frame"] == 0.1
    assert out["provenance"]["estimated"] is True and out["baseline"]["idle_watts"] is None


def test_baseline_on_other_sources_is_not_subtracted():
    """A baseline measured on different sources gives no idle watts rather than a wrong subtraction."""
    out = summarize(_m({"rapl:package-0": 5.0}, 1.0), _m({"rapl:package-0": 9.0, "rapl:dram-0": 1.0}, 1.0), 10)
    assert out["metrics"]["idle_watts"] is None and "baseline measured" in out["missing"]["idle_watts"]


def test_negative_dynamic_kept_and_noted():
    """A job below idle keeps its negative dynamic energy (no clamping bias) and says so in the notes."""
    out = summarize(_m({"rapl:package-0": 12.0}, 2.0), _m({"rapl:package-0": 11.0}, 2.0), frames=None)
    assert out["metrics"]["dynamic_energy_j"] == pytest.approx(-1.0)
    assert any("indistinguishable from idle" in n for n in out["provenance"]["notes"])


def test_provenance_shape_and_json():
    """Provenance has WIRE's keys and per-source entries; the whole summary is JSON."""
    run = _m({"rapl:package-0": 10.0}, 1.0, notes=["RAPL at /x: counting rapl:package-0"])
    baseline = _m({"rapl:package-0": 1.0}, 1.0, notes=["idle note"])
    out = summarize(baseline, run, frames=10)
    prov = out["provenance"]
    assert set(prov) == {"estimated", "sources", "sample_rate_hz", "sample_count", "ffwatt_version", "notes"}
    assert prov["sources"] == [
        {
            "name": "rapl:package-0",
            "kind": "rapl",
            "measured": True,
            "valid_samples": 10,
            "invalid_samples": 0,
            "reason": None,
        }
    ]
    assert prov["notes"] == ["RAPL at /x: counting rapl:package-0", "baseline: idle note"]
    assert json.loads(json.dumps(out))["samples"] == run.samples
