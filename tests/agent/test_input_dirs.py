"""``--input-dir``: a job's file input must lie in a directory the agent allows (symlinks and ``..`` resolved), or the
job fails with a clear error before FFmpeg runs.

Real FFmpeg, through a wrapper script that logs each command line, so a test can tell whether FFmpeg ran."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from agent.context import build_context
from agent.ffmpeg.locate import probe_binary
from agent.jobrun import execute_job
from agent.power.estimate import EstimateSource
from agent.scenarios.base import RunContext
from tests.conftest import SYSTEM_FFMPEG


@pytest.fixture
def ffmpeg_log(tmp_path) -> Path:
    return tmp_path / "ffmpeg.log"


@pytest.fixture
def ffmpeg(tmp_path, ffmpeg_log, system_ffmpeg):
    """The system FFmpeg behind a wrapper that appends its argv to ffmpeg.log."""
    wrapper = tmp_path / "bin" / "ffmpeg"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> {ffmpeg_log}\nexec {system_ffmpeg.path} "$@"\n')
    wrapper.chmod(0o755)
    binary = probe_binary(str(wrapper), "system")
    ffmpeg_log.unlink(missing_ok=True)
    return binary


def _clip(path: Path) -> Path:
    """A 1-second 160x90 clip made with testsrc."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            SYSTEM_FFMPEG,
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x90:rate=10",
            "-t",
            "1",
            "-c:v",
            "libx264",
            "-y",
            str(path),
        ],
        check=True,
    )
    return path


def _ctx(ffmpeg, tmp_path: Path, allowed: Path) -> RunContext:
    workdir = tmp_path / "state" / "work"
    workdir.mkdir(parents=True)
    return RunContext(
        ffmpeg=ffmpeg,
        sources=[EstimateSource(tdp_watts=20)],
        power_notes=[],
        workdir=workdir,
        encoder_check=lambda e: {"usable": True, "reason": None},
        input_dirs=(allowed,),
    )


def _job(path: str) -> dict:
    params = {
        "kind": "transcode",
        "input": {"type": "file", "path": path},
        "encoder": "libx264",
        "preset": "ultrafast",
        "bitrate": "200k",
        "crf": None,
        "resolution": None,
        "fps": None,
        "duration": 1,
        "stabilization": 0,
        "cooldown": 0,
        "quality": False,
        "idle_baseline": 0,
        "sample_rate": 10,
        "timeout": 60,
    }
    return {"id": "j-in", "attempt": 1, "name": "in#1", "kind": "transcode", "params": params}


def _refused(result: dict, path: str, ffmpeg_log: Path) -> str:
    assert result["status"] == "failed"
    assert result["error"].startswith(f"input {path}")
    assert "is outside the allowed input directories: " in result["error"]
    assert result["error"].endswith("; start the agent with --input-dir DIR to allow one")
    assert not ffmpeg_log.exists(), "FFmpeg ran"
    return result["error"]


def test_file_outside_the_allowed_dirs_fails_before_ffmpeg(ffmpeg, ffmpeg_log, tmp_path):
    """A clip outside --input-dir and the state dir fails the job with the reason; FFmpeg never runs."""
    allowed = tmp_path / "clips"
    allowed.mkdir()
    outside = _clip(tmp_path / "elsewhere" / "clip.mp4")
    result = execute_job(_job(str(outside)), _ctx(ffmpeg, tmp_path, allowed), "n-1")
    error = _refused(result, str(outside), ffmpeg_log)
    assert str(allowed) in error and str(tmp_path / "state" / "work") in error


def test_system_file_is_refused(ffmpeg, ffmpeg_log, tmp_path):
    """/etc/shadow is refused whatever is in it."""
    allowed = tmp_path / "clips"
    allowed.mkdir()
    _refused(execute_job(_job("/etc/shadow"), _ctx(ffmpeg, tmp_path, allowed), "n-1"), "/etc/shadow", ffmpeg_log)


def test_file_inside_an_allowed_dir_runs(ffmpeg, ffmpeg_log, tmp_path):
    """A clip inside --input-dir is encoded by real FFmpeg."""
    clip = _clip(tmp_path / "clips" / "sub" / "clip.mp4")
    result = execute_job(_job(str(clip)), _ctx(ffmpeg, tmp_path, tmp_path / "clips"), "n-1")
    assert result["status"] == "succeeded", result["error"]
    assert str(clip) in ffmpeg_log.read_text()
    assert result["metrics"]["frames"] == 10


def test_dotdot_and_symlink_escapes_are_refused(ffmpeg, ffmpeg_log, tmp_path):
    """A path that leaves the allowed dir through '..' or a symlink is refused as where it really leads."""
    allowed = tmp_path / "clips"
    allowed.mkdir()
    outside = _clip(tmp_path / "elsewhere" / "clip.mp4")
    link = allowed / "link.mp4"
    link.symlink_to(outside)
    ctx = _ctx(ffmpeg, tmp_path, allowed)
    for path in (f"{allowed}/../elsewhere/clip.mp4", str(link)):
        error = _refused(execute_job(_job(path), ctx, "n-1"), path, ffmpeg_log)
        assert f"(resolves to {outside})" in error


@pytest.mark.usefixtures("system_ffmpeg")
def test_build_context_allows_the_input_dirs_and_the_state_dir(tmp_path):
    """build_context (what --input-dir feeds) allows the dirs given and the agent's state dir."""
    ctx, _ = build_context(tmp_path / "state", tdp_watts=20, input_dirs=(tmp_path / "clips",))
    assert ctx.input_dirs == (tmp_path / "clips", tmp_path / "state")
