"""Fixtures for the FFmpeg layer's tests: real binaries, saved real output, and fake old ffmpeg scripts."""
from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from agent.ffmpeg.locate import FFmpegBinary, clear_ffmpeg_cache, probe_binary

DATA = Path(__file__).resolve().parents[2] / "data" / "ffmpeg"
SYSTEM_FFMPEG = "/usr/bin/ffmpeg"


def read_data(name: str) -> list[str]:
    """Lines of a saved real FFmpeg output under tests/data/ffmpeg."""
    return (DATA / name).read_text().splitlines()


def gpu_present() -> bool:
    """True when this host has an NVIDIA GPU (NVENC would then really work)."""
    return shutil.which("nvidia-smi") is not None or os.path.exists("/dev/nvidia0")


def write_fake_ffmpeg(directory: Path, version_output: str) -> Path:
    """An executable named ``ffmpeg`` in ``directory`` that prints ``version_output`` for any arguments."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "ffmpeg"
    script.write_text("#!/bin/sh\ncat <<'OUT'\n" + version_output + "\nOUT\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return script


@pytest.fixture(autouse=True)
def _fresh_detection():
    clear_ffmpeg_cache()
    yield
    clear_ffmpeg_cache()


@pytest.fixture(scope="session")
def system_ffmpeg() -> FFmpegBinary:
    """The Debian ffmpeg (>= 5) at /usr/bin/ffmpeg."""
    if not os.access(SYSTEM_FFMPEG, os.X_OK):
        pytest.skip("no /usr/bin/ffmpeg")
    return probe_binary(SYSTEM_FFMPEG, "system")


@pytest.fixture(scope="session")
def wheel_ffmpeg() -> FFmpegBinary:
    """The static ffmpeg shipped in the imageio-ffmpeg wheel."""
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    return probe_binary(imageio_ffmpeg.get_ffmpeg_exe(), "imageio-ffmpeg")


@pytest.fixture(params=["system", "wheel"])
def any_ffmpeg(request) -> FFmpegBinary:
    """Each real ffmpeg in turn: Debian's 5.1 and the wheel's static build."""
    return request.getfixturevalue(f"{request.param}_ffmpeg")
