"""Source detection: RAPL/NVML when present, the estimate otherwise, cached and clearable, with notes."""

from __future__ import annotations

import sys

import pytest

from agent.power import detect
from agent.power.detect import clear_cache, detect_sources
from tests.agent.power.powercap_sim import PowercapSim


@pytest.fixture(autouse=True)
def fresh_cache():
    """Every test starts and ends with an empty detection cache."""
    clear_cache()
    yield
    clear_cache()


def test_rapl_tree_gives_measured_sources(pc_dir):
    """A powercap tree yields RAPL sources, not estimated, and no estimate source."""
    PowercapSim(pc_dir)
    det = detect_sources(powercap_root=pc_dir, tdp_watts=50, use_nvml=False)
    assert not det.estimated and {s.kind for s in det.sources} == {"rapl"}
    assert any("TDP 50 W ignored" in n for n in det.notes)
    assert det.describe()[0]["details"]["entry"] == "intel-rapl:0"


def test_no_sensor_falls_back_to_estimate(tmp_path, monkeypatch):
    """No tree and no NVML: only the estimate, estimated=True, notes saying why."""
    monkeypatch.setitem(sys.modules, "pynvml", None)
    det = detect_sources(powercap_root=tmp_path / "none", tdp_watts=40)
    assert det.estimated and [s.name for s in det.sources] == ["estimate:cpu"]
    assert det.sources[0].tdp_watts == 40
    text = "\n".join(det.notes)
    assert f"no powercap tree at {tmp_path / 'none'}" in text and "not importable" in text and "ESTIMATED" in text


def test_env_root_and_cache(pc_dir, monkeypatch):
    """FFWATT_POWERCAP_ROOT is honoured; results are cached per arguments until clear_cache()."""
    PowercapSim(pc_dir, packages=1, psys=False, mmio=False)
    monkeypatch.setenv(detect.ENV_POWERCAP_ROOT, str(pc_dir))
    first = detect_sources(use_nvml=False)
    assert [s.name for s in first.sources] == ["rapl:package-0", "rapl:dram-0"]
    assert detect_sources(use_nvml=False) is first
    clear_cache()
    assert detect_sources(use_nvml=False) is not first


def test_gpu_without_rapl_is_measured(tmp_path, fake_nvml):
    """A GPU through NVML counts as a measured source: no estimate is added."""
    fake_nvml.fake_reset([fake_nvml.FakeGpu("NVIDIA L4", energy_mj=5)])
    det = detect_sources(powercap_root=tmp_path / "none")
    assert not det.estimated and [s.name for s in det.sources] == ["nvml:gpu0"]
    clear_cache()
    assert fake_nvml.state.init_count == 0
