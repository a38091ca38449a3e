"""NVML sources against the fake pynvml in tests/fake_modules: counter, power integration, unavailability."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from agent.power.nvml import discover_nvml


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _two_gpus(fake):
    new = fake.FakeGpu("NVIDIA H100", energy_mj=1_000_000, power_mw=300_000, encoder_util=37)
    old = fake.FakeGpu("Tesla P4", power_mw=100_000, supports_energy=False)
    fake.fake_reset([new, old])
    return new, old


def test_counter_and_power_integration(fake_nvml):
    """A GPU with the energy counter reads deltas; one without integrates power with the trapezoid rule."""
    new, old = _two_gpus(fake_nvml)
    clock = Clock()
    sources, notes = discover_nvml(clock=clock)
    assert [s.name for s in sources] == ["nvml:gpu0", "nvml:gpu1"]
    assert [s.uses_counter for s in sources] == [True, False]
    assert "trapezoid" in notes[0] and "Tesla P4" in notes[0]
    for s in sources:
        s.start()
    clock.t += 2.0
    new.energy_mj += 5_000
    old.power_mw = 200_000
    counter, integrated = (s.read() for s in sources)
    assert counter.valid and counter.energy_j == pytest.approx(5.0) and counter.watts == pytest.approx(2.5)
    assert integrated.valid and integrated.energy_j == pytest.approx(300.0)
    assert counter.extra["encoder_util_pct"] == 37.0


def test_encoder_utilization_method(fake_nvml):
    """encoder_utilization() reports the fake's NVENC percentage."""
    new, _ = _two_gpus(fake_nvml)
    sources, _ = discover_nvml()
    new.encoder_util = 81
    assert sources[0].encoder_utilization() == 81.0


def test_failed_read_is_invalid(fake_nvml):
    """An NVML error on read is an invalid reading with the error, not 0 J."""
    new, _ = _two_gpus(fake_nvml)
    sources, _ = discover_nvml(clock=Clock())
    sources[0].start()
    new.lost = True
    r = sources[0].read()
    assert not r.valid and r.energy_j is None and "GPU is lost" in r.reason


def test_counter_going_backwards_is_invalid(fake_nvml):
    """A counter that decreases (driver reload) gives an invalid reading."""
    new, _ = _two_gpus(fake_nvml)
    sources, _ = discover_nvml(clock=Clock())
    sources[0].start()
    new.energy_mj -= 10
    assert not sources[0].read().valid


def test_init_error_and_no_gpu(fake_nvml):
    """NVMLError on init, or zero GPUs, give no source and a note; NVML is shut down again."""
    fake_nvml.fake_reset([], init_error=fake_nvml.NVML_ERROR_LIBRARY_NOT_FOUND)
    sources, notes = discover_nvml()
    assert sources == [] and "NVML init failed (NVML Shared Library Not Found)" in notes[0]
    fake_nvml.fake_reset([])
    sources, notes = discover_nvml()
    assert sources == [] and "no usable NVIDIA GPU" in notes[-1]
    assert fake_nvml.state.init_count == 0


def test_close_shuts_nvml_down_after_last_source(fake_nvml):
    """NVML stays initialised until every GPU source is closed."""
    _two_gpus(fake_nvml)
    sources, _ = discover_nvml()
    sources[0].close()
    assert fake_nvml.state.init_count == 1
    sources[1].close()
    assert fake_nvml.state.init_count == 0


def test_absent_module_is_unavailable(monkeypatch):
    """Without pynvml the source is quietly unavailable, with a note."""
    monkeypatch.setitem(sys.modules, "pynvml", None)
    sources, notes = discover_nvml()
    assert sources == [] and "not importable" in notes[0]


def test_import_does_not_touch_nvml():
    """Importing the module neither imports pynvml nor initialises NVML."""
    code = "import sys, agent.power.nvml, agent.power.detect; print('pynvml' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "False", out.stderr


def test_encoder_utilisation_reaches_the_result(fake_nvml):
    """The sampler averages each GPU's NVENC utilisation over the window; the result's gpu_encoder_util_pct is the
    mean over the GPUs that report it, and provenance shows it per source."""
    from agent.energy import summarize
    from agent.sampler import Sampler

    new, old = _two_gpus(fake_nvml)
    old.encoder_util = 0
    sources, _ = discover_nvml()
    sampler = Sampler(sources, rate_hz=50)
    sampler.start()
    time.sleep(0.2)
    new.encoder_util, old.encoder_util = 81, 40
    time.sleep(0.3)
    measurement = sampler.stop()
    gpu0, gpu1 = measurement.sources["nvml:gpu0"], measurement.sources["nvml:gpu1"]
    assert 37 < gpu0.encoder_util_pct < 81 and 0 < gpu1.encoder_util_pct < 40
    out = summarize(None, measurement, frames=10)
    assert out["metrics"]["gpu_encoder_util_pct"] == pytest.approx(
        (gpu0.encoder_util_pct + gpu1.encoder_util_pct) / 2, abs=1e-3
    )
    assert "gpu_encoder_util_pct" not in out["missing"]
    assert [s["encoder_util_pct"] for s in out["provenance"]["sources"]] == [
        pytest.approx(gpu0.encoder_util_pct, abs=1e-3),
        pytest.approx(gpu1.encoder_util_pct, abs=1e-3),
    ]
