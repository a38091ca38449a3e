"""The ``baseline`` scenario (idle power as its own job) and transcode's unmeasured stabilization / cooldown waits."""

from __future__ import annotations

import json
import threading
import time

import pytest

from agent.jobrun import execute_job
from agent.power.estimate import EstimateSource
from agent.scenarios import KINDS
from agent.scenarios.base import JobFailed, RunContext
from agent.scenarios.baseline import ESTIMATED_IDLE_REASON, NO_FRAMES, Baseline
from agent.scenarios.transcode import Transcode
from agent.sources import prepare_source
from tests.agent.power.powercap_sim import running_rapl

WATTS = {"package-0": 40.0, "package-1": 20.0, "dram-0": 4.0, "dram-1": 6.0}


@pytest.fixture
def rapl_sources():
    """RAPL sources over a simulated two-socket tree at a constant 70 W in all, advancing in real time."""
    with running_rapl(WATTS) as sources:
        yield sources


def _ctx(sources, tmp_path, ffmpeg=None) -> RunContext:
    return RunContext(
        ffmpeg=ffmpeg,
        sources=sources,
        power_notes=[],
        workdir=tmp_path,
        encoder_check=lambda e: {"usable": True, "reason": None},
    )


def _baseline_job(duration: float = 0.6, **extra) -> dict:
    params = {"kind": "baseline", "duration": duration, "sample_rate": 20, "timeout": 60, **extra}
    return {"id": "j-b", "attempt": 1, "name": "idle#1", "kind": "baseline", "params": params}


def _run(scenario, job, ctx) -> dict:
    state = scenario.prepare(job, ctx)
    try:
        return scenario.run(job, ctx, state)
    finally:
        scenario.cleanup(job, ctx, state)


def test_registered():
    assert KINDS["baseline"] is Baseline and KINDS["transcode"] is Transcode


def test_baseline_on_simulated_rapl(rapl_sources, tmp_path):
    """idle_watts = mean watts = the simulated constant power; energy per source; frames null with a reason."""
    result = _run(Baseline(), _baseline_job(0.6), _ctx(rapl_sources, tmp_path))
    m, missing = result["metrics"], result["missing"]
    assert m["duration_s"] >= 0.6
    assert m["idle_watts"] == m["mean_watts"] == pytest.approx(70.0, rel=0.05)
    assert m["peak_watts"] >= m["mean_watts"]  # per-interval watts jitter with the simulator's writer thread
    assert set(m["energy_j"]) == {"rapl:package-0", "rapl:package-1", "rapl:dram-0", "rapl:dram-1"}
    assert m["energy_j"]["rapl:package-0"] == pytest.approx(40.0 * m["duration_s"], rel=0.05)
    assert m["total_energy_j"] == pytest.approx(sum(m["energy_j"].values()), rel=1e-6)
    assert m["frames"] is None and missing["frames"] == NO_FRAMES
    assert m["joules_per_frame"] is None and missing["joules_per_frame"] == NO_FRAMES
    assert m["dynamic_energy_j"] is None and "dynamic_energy_j" in missing
    assert "idle_watts" not in missing and "total_energy_j" not in missing
    assert all(key in missing for key, value in m.items() if value is None)
    prov = result["provenance"]
    assert prov["estimated"] is False and prov["sample_rate_hz"] == 20.0 and prov["sample_count"] >= 10
    assert result["baseline"] is None and result["ffmpeg"] is None and result["samples"]
    json.dumps(result, allow_nan=False)


def test_baseline_with_only_the_estimate(tmp_path):
    """The estimate models job CPU only: a baseline's idle_watts is null with that reason, never 0 W."""
    result = _run(Baseline(), _baseline_job(0.3), _ctx([EstimateSource(tdp_watts=20)], tmp_path))
    m, missing = result["metrics"], result["missing"]
    assert result["provenance"]["estimated"] is True
    assert m["idle_watts"] is None and missing["idle_watts"] == ESTIMATED_IDLE_REASON
    assert m["mean_watts"] is None and "estimate" in missing["mean_watts"]
    assert any("idle_watts" in note for note in result["provenance"]["notes"])


def test_baseline_through_execute_job(rapl_sources, tmp_path):
    """The agent's job runner picks the kind from the registry and reports success."""
    ctx = _ctx(rapl_sources, tmp_path)
    result = execute_job(_baseline_job(0.3), ctx, "n-1")
    assert result["status"] == "succeeded", result["error"]
    assert result["metrics"]["idle_watts"] == pytest.approx(70.0, rel=0.05)
    assert ctx.live.phase == "idle"


def test_baseline_cancel_stops_at_once(rapl_sources, tmp_path):
    """A cancel during the idle window ends it at once and fails the job."""
    ctx = _ctx(rapl_sources, tmp_path)
    threading.Timer(0.2, ctx.cancel.set).start()
    t0 = time.monotonic()
    result = execute_job(_baseline_job(30), ctx, "n-1")
    assert time.monotonic() - t0 < 5
    assert result["status"] == "failed" and result["error"].startswith("cancelled: idle measurement cancelled")


@pytest.mark.parametrize(
    "params, reason",
    [
        ({"duration": 0}, "baseline duration must be a positive number"),
        ({"duration": 10, "timeout": 5}, "longer than its timeout"),
    ],
)
def test_baseline_bad_params_fail(params, reason, tmp_path):
    job = _baseline_job()
    job["params"].update(params)
    with pytest.raises(JobFailed, match=reason):
        Baseline().prepare(job, _ctx([], tmp_path))


# --- transcode: stabilization and cooldown ---------------------------------------------------------------------------


def _transcode_job(**extra) -> dict:
    params = {
        "kind": "transcode",
        "input": {"type": "lavfi", "source": "testsrc2", "size": "160x90", "rate": 30},
        "encoder": "libx264",
        "preset": "ultrafast",
        "bitrate": None,
        "crf": 30,
        "resolution": None,
        "fps": None,
        "duration": 0.5,
        "idle_baseline": 0,
        "sample_rate": 20,
        "timeout": 60,
        "quality": False,
        **extra,
    }
    return {"id": "j-t", "attempt": 1, "name": "x264#1", "kind": "transcode", "params": params}


def _timed(ctx, job) -> tuple[dict, float]:
    t0 = time.monotonic()
    result = execute_job(job, ctx, "n-1")
    return result, time.monotonic() - t0


def test_stabilization_and_cooldown_are_not_measured(ffmpeg, rapl_sources, tmp_path):
    """The waits stretch the job's wall time by their sum but not its measured duration; phases are shown live."""
    ctx = _ctx(rapl_sources, tmp_path, ffmpeg)
    phases: list[str] = []
    stop = threading.Event()

    def watch():
        while not stop.wait(0.02):
            if not phases or phases[-1] != ctx.live.phase:
                phases.append(ctx.live.phase)

    prepare_source(_transcode_job(), ctx)  # render the source first: both timed jobs then read it from the cache
    plain, plain_wall = _timed(ctx, _transcode_job())
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        waited, waited_wall = _timed(ctx, _transcode_job(stabilization=0.8, cooldown=0.7))
    finally:
        stop.set()
        watcher.join()
    assert plain["status"] == waited["status"] == "succeeded", (plain["error"], waited["error"])
    assert waited_wall - plain_wall >= 1.5 - 0.3
    assert waited["metrics"]["duration_s"] < plain["metrics"]["duration_s"] + 0.5
    assert waited["metrics"]["duration_s"] < waited_wall - 1.4
    assert waited["provenance"]["sample_count"] < plain["provenance"]["sample_count"] + 10
    assert waited["metrics"]["frames"] == plain["metrics"]["frames"] == 15
    assert "stabilizing" in phases and "cooling down" in phases
    assert phases.index("stabilizing") < phases.index("encoding") < phases.index("cooling down")


def test_cancel_interrupts_stabilization(ffmpeg, tmp_path):
    """A cancel during a long stabilization wait ends the job at once, before FFmpeg starts."""
    ctx = _ctx([], tmp_path, ffmpeg)
    threading.Timer(0.2, ctx.cancel.set).start()
    result, wall = _timed(ctx, _transcode_job(stabilization=30))
    assert wall < 5
    assert result["status"] == "failed" and result["error"] == "cancelled: cancelled while stabilizing"
