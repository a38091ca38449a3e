"""Fixtures every test directory shares: the real FFmpeg binaries (the Debian one and the imageio-ffmpeg wheel's) and
masters and agents run as real processes."""

from __future__ import annotations

import os

import pytest

from agent.ffmpeg.locate import FFmpegBinary, probe_binary

SYSTEM_FFMPEG = "/usr/bin/ffmpeg"
"""The Debian ffmpeg (5.1) the tests run jobs with."""


@pytest.fixture(scope="session")
def system_ffmpeg() -> FFmpegBinary:
    """The Debian ffmpeg (>= 5) at /usr/bin/ffmpeg; skips the test where there is none."""
    if not os.access(SYSTEM_FFMPEG, os.X_OK):
        pytest.skip("no /usr/bin/ffmpeg")
    return probe_binary(SYSTEM_FFMPEG, "system")


@pytest.fixture(scope="session")
def ffmpeg(system_ffmpeg) -> FFmpegBinary:
    """The FFmpeg the scenario tests run their jobs with: the system one."""
    return system_ffmpeg


@pytest.fixture(scope="session")
def wheel_ffmpeg() -> FFmpegBinary:
    """The static ffmpeg shipped in the imageio-ffmpeg wheel."""
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    return probe_binary(imageio_ffmpeg.get_ffmpeg_exe(), "imageio-ffmpeg")


@pytest.fixture(params=["system", "wheel"])
def any_ffmpeg(request) -> FFmpegBinary:
    """Each real ffmpeg in turn: Debian's 5.1 and the wheel's static build."""
    return request.getfixturevalue(f"{request.param}_ffmpeg")


@pytest.fixture
def masters():
    """Masters a test started (tests.master.test_service.MasterProcess); any still running at the end are killed."""
    started = []
    yield started
    for master in started:
        master.kill()


@pytest.fixture
def cluster():
    """Masters and agents started as real processes (tests.integration.procs.Cluster), all stopped after the test."""
    from tests.integration.procs import Cluster

    procs = Cluster()
    yield procs
    procs.close()
