"""What the real agent sends keeps the result schema: transcode (with quality and an idle baseline), ladder and
baseline results built by agent.jobrun.execute_job with real FFmpeg, on simulated RAPL and on the estimate, succeeded
and failed. (The live kinds go through a real master in tests/integration/test_kinds.py.)"""

from __future__ import annotations

import pytest

from agent.jobrun import execute_job
from agent.power.estimate import EstimateSource
from agent.scenarios.base import RunContext
from master.api.result_schema import VALIDATOR
from tests.agent.power.powercap_sim import running_rapl

INPUT = {"type": "lavfi", "source": "testsrc2", "size": "160x90", "rate": 30}


@pytest.fixture(params=["rapl", "estimate"])
def sources(request):
    """Simulated RAPL at a constant 30 W (measured, idle watts known) or the CPU-time estimate."""
    if request.param == "estimate":
        yield [EstimateSource(tdp_watts=20)]
        return
    with running_rapl({"package-0": 30.0}, packages=1) as sources:
        yield sources


def _run(kind: str, params: dict, ffmpeg, sources, tmp_path, usable: bool = True) -> dict:
    ctx = RunContext(
        ffmpeg=ffmpeg,
        sources=sources,
        power_notes=[],
        workdir=tmp_path,
        encoder_check=lambda e: {"usable": usable, "reason": None if usable else "no device"},
    )
    job = {"id": f"j-{kind}", "attempt": 1, "name": f"{kind}#1", "kind": kind, "params": {"kind": kind, **params}}
    return execute_job(job, ctx, "n-1")


def _errors(result: dict) -> list[str]:
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in VALIDATOR.iter_errors(result)]


def test_transcode_with_quality_and_baseline_is_valid(ffmpeg, sources, tmp_path):
    """A transcode with an idle baseline and the PSNR/SSIM comparison."""
    params = {
        "input": INPUT,
        "encoder": "libx264",
        "preset": "ultrafast",
        "bitrate": None,
        "crf": 30,
        "resolution": None,
        "fps": None,
        "duration": 0.5,
        "quality": True,
        "idle_baseline": 0.3,
        "sample_rate": 20,
        "timeout": 60,
    }
    result = _run("transcode", params, ffmpeg, sources, tmp_path)
    assert result["status"] == "succeeded", result["error"]
    assert result["metrics"]["ssim"] is not None and _errors(result) == []


def test_ladder_and_baseline_are_valid(ffmpeg, sources, tmp_path):
    """A two-rung ladder and an idle baseline job."""
    rungs = [{"resolution": "160x90", "bitrate": "200k"}, {"resolution": "80x46", "bitrate": "50k"}]
    ladder = _run(
        "ladder",
        {
            "input": INPUT,
            "encoder": "libx264",
            "preset": "ultrafast",
            "fps": None,
            "duration": 0.5,
            "rungs": rungs,
            "idle_baseline": None,
            "sample_rate": 20,
            "timeout": 60,
        },
        ffmpeg,
        sources,
        tmp_path,
    )
    baseline = _run("baseline", {"duration": 0.3, "sample_rate": 20, "timeout": 60}, ffmpeg, sources, tmp_path)
    assert (ladder["status"], baseline["status"]) == ("succeeded", "succeeded"), (ladder["error"], baseline["error"])
    assert _errors(ladder) == [] and _errors(baseline) == []


def test_failed_results_are_valid(ffmpeg, sources, tmp_path):
    """An unusable encoder and an FFmpeg that fails (a bad rung size) give valid failed results."""
    unusable = _run(
        "transcode",
        {"input": INPUT, "encoder": "h264_nvenc", "duration": 0.5, "sample_rate": 20, "timeout": 60},
        ffmpeg,
        sources,
        tmp_path,
        usable=False,
    )
    odd = _run(
        "ladder",
        {
            "input": INPUT,
            "encoder": "libx264",
            "preset": "ultrafast",
            "duration": 0.5,
            "rungs": [{"resolution": "81x45", "bitrate": "50k"}],
            "sample_rate": 20,
            "timeout": 60,
        },
        ffmpeg,
        sources,
        tmp_path,
    )
    assert (unusable["status"], odd["status"]) == ("failed", "failed")
    assert _errors(unusable) == [] and _errors(odd) == []
