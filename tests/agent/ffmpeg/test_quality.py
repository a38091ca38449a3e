"""Quality of an encode (PSNR, SSIM, VMAF) against the same source frames, with real FFmpeg and saved real output."""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path

import pytest

from agent.ffmpeg import quality as q
from agent.ffmpeg.command import transcode_argv
from agent.ffmpeg.runner import run_ffmpeg
from agent.scenarios.base import RunContext
from agent.scenarios.transcode import Transcode

from .conftest import read_data

LAVFI = {"type": "lavfi", "source": "testsrc2", "size": "320x180", "rate": 30}


def _params(**extra) -> dict:
    params = {
        "kind": "transcode",
        "input": dict(LAVFI),
        "encoder": "libx264",
        "preset": "ultrafast",
        "bitrate": None,
        "crf": 0,
        "resolution": "160x90",
        "fps": None,
        "duration": 1,
        "timeout": 60,
    }
    params.update(extra)
    return params


def _encode(ffmpeg, params: dict, out: Path) -> int:
    run = run_ffmpeg(transcode_argv(ffmpeg.path, params, str(out)), 60)
    assert run.outcome.ok, run.outcome.stderr_tail
    return run.frames


# --- parsing saved real output ------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["ffmpeg5.1", "ffmpeg9.0"])
def test_parse_saved_summaries(version):
    lossless = read_data(f"quality_lossless_{version}.txt")
    low = read_data(f"quality_low_{version}.txt")
    psnr = q.parse_psnr(lossless)
    assert math.isinf(psnr["average"]) and math.isinf(psnr["y"])
    assert q.parse_ssim(lossless)["all"] == 1.0
    psnr_low, ssim_low = q.parse_psnr(low), q.parse_ssim(low)
    assert psnr_low["average"] == pytest.approx(25.281889)
    assert psnr_low["min"] == pytest.approx(24.612858)
    assert ssim_low["all"] == pytest.approx(0.808170) and ssim_low["all_db"] == pytest.approx(7.170841)
    if version == "ffmpeg9.0":
        assert q.parse_vmaf(lossless) == pytest.approx(99.501855)
        assert q.parse_vmaf(low) == pytest.approx(33.535182)
    else:
        assert q.parse_vmaf(low) is None


def test_parsers_return_none_without_summary():
    lines = ["Input #0, lavfi", "frame=   30 fps=0.0"]
    assert q.parse_psnr(lines) is None and q.parse_ssim(lines) is None and q.parse_vmaf(lines) is None


def test_psnr_cap_and_json_safety():
    assert q._capped(math.inf) == q.PSNR_CAP_DB
    assert q._capped(42.123456) == 42.1235
    json.dumps(q.Quality(psnr_db=q.PSNR_CAP_DB, psnr_identical=True).metrics(), allow_nan=False)


def test_reference_chain_repeats_the_encode_filters_and_duration():
    inputs, chain = q.reference_chain(_params(fps=15))
    assert inputs == ["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:duration=1"]
    assert chain == "scale=160:90,fps=15,format=yuv420p,trim=duration=1,settb=1/1000,setpts=N"
    _, same_size = q.reference_chain(_params(resolution=None))
    assert not same_size.startswith("scale")


# --- libvmaf probe -------------------------------------------------------------------------------------------------


def test_debian_ffmpeg_has_no_libvmaf(system_ffmpeg):
    q.has_libvmaf.cache_clear()
    assert q.has_libvmaf(system_ffmpeg.path) is False


def test_wheel_ffmpeg_libvmaf_probe(wheel_ffmpeg):
    assert q.has_libvmaf(wheel_ffmpeg.path) is True


def test_missing_binary_has_no_libvmaf(tmp_path):
    assert q.has_libvmaf(str(tmp_path / "nope")) is False


# --- real comparisons ----------------------------------------------------------------------------------------------


def test_lossless_encode_is_identical(system_ffmpeg, tmp_path):
    params = _params()
    out = tmp_path / "lossless.mp4"
    frames = _encode(system_ffmpeg, params, out)
    assert frames == 30
    result = q.measure_quality(system_ffmpeg.path, params, str(out), frames, tmp_path, timeout_s=60)
    assert result.psnr_db == q.PSNR_CAP_DB and result.psnr_identical is True
    assert result.ssim == pytest.approx(1.0)
    assert result.frames == 30
    assert result.vmaf is None and result.missing["vmaf"] == q.NO_VMAF
    assert set(result.missing) == {"vmaf"}
    assert result.detail["compared_frames_longest"] == result.detail["compared_frames_shortest"] == 30
    assert list(tmp_path.iterdir()) == [out]  # stats files removed


def test_heavily_compressed_encode_scores_lower(system_ffmpeg, tmp_path):
    params = _params(crf=None, bitrate="20k", resolution="320x180")
    out = tmp_path / "low.mp4"
    frames = _encode(system_ffmpeg, params, out)
    result = q.measure_quality(system_ffmpeg.path, params, str(out), frames, tmp_path, timeout_s=60)
    assert result.psnr_identical is False
    assert 10 < result.psnr_db < 40
    assert 0 < result.ssim < 0.95
    assert result.frames == frames


def test_fps_change_and_file_input_stay_aligned(system_ffmpeg, tmp_path):
    source = tmp_path / "src.mkv"
    _encode(system_ffmpeg, _params(resolution=None, duration=2), source)  # lossless 320x180 file, 60 frames
    params = _params(input={"type": "file", "path": str(source)}, fps=15, duration=1.5, crf=18)
    out = tmp_path / "out.mp4"
    frames = _encode(system_ffmpeg, params, out)
    result = q.measure_quality(system_ffmpeg.path, params, str(out), frames, tmp_path, timeout_s=60)
    assert result.frames == frames, result.missing
    assert 30 < result.psnr_db < q.PSNR_CAP_DB and 0.9 < result.ssim < 1


def test_webm_millisecond_timestamps_stay_aligned(system_ffmpeg, tmp_path):
    """VP9 in WebM (1 ms time base: 30 fps frames land at 0, 33, 67, 100 ms): every frame is compared with its own
    source frame, none dropped at the end — the codecs campaign once lost VP9's scores to this."""
    params = _params(encoder="libvpx-vp9", preset="realtime", crf=None, bitrate="300k", duration=2)
    out = tmp_path / "out.webm"
    frames = _encode(system_ffmpeg, params, out)
    assert frames == 60
    result = q.measure_quality(system_ffmpeg.path, params, str(out), frames, tmp_path, timeout_s=60)
    assert result.frames == 60, result.missing
    assert result.detail["compared_frames_longest"] == result.detail["compared_frames_shortest"] == 60
    assert 20 < result.psnr_db < q.PSNR_CAP_DB and 0.5 < result.ssim <= 1


def test_frame_count_mismatch_reports_no_scores(system_ffmpeg, tmp_path):
    params = _params()
    out = tmp_path / "one-second.mp4"
    frames = _encode(system_ffmpeg, params, out)
    longer = _params(duration=2)  # a reference with twice the frames
    result = q.measure_quality(system_ffmpeg.path, longer, str(out), frames, tmp_path, timeout_s=60)
    assert result.psnr_db is None and result.ssim is None and result.frames is None
    assert "frame counts differ" in result.missing["psnr_db"]
    assert "30 and 60" in result.missing["ssim"]
    wrong = q.measure_quality(system_ffmpeg.path, params, str(out), frames + 1, tmp_path, timeout_s=60)
    assert wrong.ssim is None and "encode has 31 frames" in wrong.missing["ssim"]


def test_unknown_frame_count_and_broken_output(system_ffmpeg, tmp_path):
    unknown = q.measure_quality(system_ffmpeg.path, _params(), str(tmp_path / "x.mp4"), None, tmp_path)
    assert unknown.psnr_db is None and "frame count is unknown" in unknown.missing["psnr_db"]
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    result = q.measure_quality(system_ffmpeg.path, _params(), str(broken), 30, tmp_path, timeout_s=60)
    assert result.ssim is None and result.missing["ssim"].startswith("quality comparison failed")


def test_cancel_stops_the_comparison(system_ffmpeg, tmp_path):
    out = tmp_path / "lossless.mp4"
    frames = _encode(system_ffmpeg, _params(), out)
    cancel = threading.Event()
    cancel.set()
    result = q.measure_quality(system_ffmpeg.path, _params(), str(out), frames, tmp_path, cancel=cancel)
    assert result.ssim is None and result.missing["ssim"] == "quality comparison cancelled"


def test_vmaf_with_the_wheel_ffmpeg(wheel_ffmpeg, tmp_path):
    if not q.has_libvmaf(wheel_ffmpeg.path):
        pytest.skip("the imageio-ffmpeg binary has no libvmaf")
    scores = {}
    for name, extra in (("lossless", {}), ("low", {"crf": None, "bitrate": "20k", "resolution": "320x180"})):
        params = _params(**extra)
        out = tmp_path / f"{name}.mp4"
        frames = _encode(wheel_ffmpeg, params, out)
        result = q.measure_quality(wheel_ffmpeg.path, params, str(out), frames, tmp_path, timeout_s=60)
        assert result.vmaf is not None, result.missing
        assert "vmaf" not in result.missing
        scores[name] = result.vmaf
    assert scores["lossless"] > 90 and scores["low"] < scores["lossless"] - 20


def test_per_joule():
    good = q.Quality(psnr_db=40.0, ssim=0.95, vmaf=None, missing={"vmaf": q.NO_VMAF})
    metrics, missing = q.per_joule(good, 2.0, None)
    assert metrics == {"ssim_frames_per_joule": 1.9, "vmaf_frames_per_joule": None}
    assert missing == {"vmaf_frames_per_joule": f"no VMAF: {q.NO_VMAF}"}
    metrics, missing = q.per_joule(good, None, "no energy measured")
    assert metrics["ssim_frames_per_joule"] is None
    assert missing["ssim_frames_per_joule"] == "no frames_per_joule: no energy measured"


# --- the transcode scenario ----------------------------------------------------------------------------------------


def _ctx(ffmpeg, tmp_path) -> RunContext:
    return RunContext(
        ffmpeg=ffmpeg,
        sources=[],
        power_notes=[],
        workdir=tmp_path,
        encoder_check=lambda e: {"usable": True, "reason": None},
    )


def _job(params: dict) -> dict:
    return {"id": "j-q", "attempt": 1, "params": {"idle_baseline": 0, "sample_rate": 10, **params}}


def test_transcode_reports_quality(system_ffmpeg, tmp_path):
    scenario, ctx, job = Transcode(), _ctx(system_ffmpeg, tmp_path), _job(_params())
    state = scenario.prepare(job, ctx)
    try:
        result = scenario.run(job, ctx, state)
    finally:
        scenario.cleanup(job, ctx, state)
    metrics = result["metrics"]
    assert metrics["psnr_db"] == q.PSNR_CAP_DB and metrics["psnr_identical"] is True
    assert metrics["ssim"] == pytest.approx(1.0) and metrics["quality_frames"] == metrics["frames"] == 30
    assert metrics["vmaf"] is None and result["missing"]["vmaf"] == q.NO_VMAF
    assert "vmaf_frames_per_joule" in result["missing"]
    if metrics.get("frames_per_joule") is not None:
        assert metrics["ssim_frames_per_joule"] == pytest.approx(metrics["ssim"] * metrics["frames_per_joule"], 1e-4)
    else:
        assert "ssim_frames_per_joule" in result["missing"]
    assert result["quality"]["argv"][0] == system_ffmpeg.path
    json.dumps(result, allow_nan=False, default=str)


def test_transcode_quality_can_be_switched_off(system_ffmpeg, tmp_path):
    scenario, ctx, job = Transcode(), _ctx(system_ffmpeg, tmp_path), _job(_params(quality=False))
    state = scenario.prepare(job, ctx)
    try:
        result = scenario.run(job, ctx, state)
    finally:
        scenario.cleanup(job, ctx, state)
    assert result["metrics"]["ssim"] is None and result["quality"] is None
    assert result["missing"]["ssim"] == "quality not requested (params.quality is false)"
