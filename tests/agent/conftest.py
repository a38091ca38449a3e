"""Fixtures the agent tests share: agent processes, a directory for a simulated powercap tree, the fake pynvml."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.agent.power.powercap_sim import sim_dir

FAKE_MODULES = Path(__file__).resolve().parents[1] / "fake_modules"


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


@pytest.fixture
def pc_dir():
    """A fresh directory (tmpfs when available) for a simulated powercap tree."""
    with sim_dir() as d:
        yield d


@pytest.fixture
def fake_nvml(monkeypatch):
    """The fake pynvml from tests/fake_modules, first on sys.path, replacing any imported nvidia-ml-py for this test
    only."""
    monkeypatch.syspath_prepend(str(FAKE_MODULES))
    saved = sys.modules.pop("pynvml", None)
    import pynvml

    assert pynvml.FAKE
    yield pynvml
    sys.modules.pop("pynvml", None)
    if saved is not None:
        sys.modules["pynvml"] = saved
