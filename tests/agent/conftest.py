"""Fixtures the agent tests share."""
from __future__ import annotations

import os
import signal
import subprocess

import pytest


@pytest.fixture
def agents():
    """Agent (and exporter) processes a test started, each in a session of its own; any still running at the end
    are killed with their process group."""
    started: list[subprocess.Popen] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
