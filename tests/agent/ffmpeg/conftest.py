"""Fixtures for the FFmpeg layer's tests: saved real output and fake old ffmpeg scripts (the real binaries are the
fixtures of tests/conftest.py)."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from agent.ffmpeg.locate import clear_ffmpeg_cache

DATA = Path(__file__).resolve().parents[2] / "data" / "ffmpeg"


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
