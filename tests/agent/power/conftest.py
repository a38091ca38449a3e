"""Fixtures shared by the power-source tests."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.agent.power.powercap_sim import sim_dir

FAKE_MODULES = Path(__file__).resolve().parents[2] / "fake_modules"


@pytest.fixture
def pc_dir():
    """A fresh directory (tmpfs when available) for a simulated powercap tree."""
    with sim_dir() as d:
        yield d


@pytest.fixture
def fake_nvml(monkeypatch):
    """The fake pynvml, first on sys.path, replacing any imported nvidia-ml-py for this test only."""
    monkeypatch.syspath_prepend(str(FAKE_MODULES))
    saved = sys.modules.pop("pynvml", None)
    import pynvml
    assert pynvml.FAKE
    yield pynvml
    sys.modules.pop("pynvml", None)
    if saved is not None:
        sys.modules["pynvml"] = saved
