"""The sampler: rate, interval safety, invalid intervals, overhead and the Measurement shape."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from agent.power.base import PowerSource, Reading
from agent.power.rapl import discover_rapl
from agent.sampler import Measurement, Sampler, measure_idle, other_load_pct
from tests.agent.power.powercap_sim import PowercapSim, running_sim, sim_dir


class StubSource(PowerSource):
    """A constant-power source that can glitch, fail or raise on chosen reads (a test double at our own seam)."""

    kind = "rapl"
    measured = True

    def __init__(self, name="stub", watts=10.0, invalid_every=0, invalid_always=False, raise_on=None):
        self.name, self.watts = name, watts
        self.invalid_every, self.invalid_always, self.raise_on = invalid_every, invalid_always, raise_on
        self.reads = 0
        self.tracked: list[int | None] = []

    def start(self):
        self._t = time.monotonic()

    def read(self):
        now, self.reads = time.monotonic(), self.reads + 1
        dt, self._t = now - self._t, now
        if self.raise_on == self.reads:
            raise OSError("device vanished")
        if self.invalid_always or (self.invalid_every and self.reads % self.invalid_every == 0):
            return Reading.invalid("stub glitch")
        return Reading(self.watts * dt, True, watts=self.watts)

    def details(self):
        return {}


class TrackingStub(StubSource):
    def track(self, pid):
        self.tracked.append(pid)


def _run(sources, seconds=0.6, rate=20.0) -> Measurement:
    sampler = Sampler(sources, rate)
    sampler.start()
    time.sleep(seconds)
    return sampler.stop()


def test_rate_honoured_and_shape():
    """At 20 Hz for 1 s there are ~20 samples ~50 ms apart, each with t, watts per source and total."""
    m = _run([StubSource("a", 10.0), StubSource("b", 5.0)], seconds=1.0)
    assert m.rate_hz == 20.0 and 17 <= m.sample_count <= 22
    gaps = [b["t"] - a["t"] for a, b in zip(m.samples, m.samples[1:-1])]
    assert sum(gaps) / len(gaps) == pytest.approx(0.05, abs=0.01)
    assert set(m.samples[0]) == {"t", "watts", "total_watts"} and m.samples[0]["total_watts"] == 15.0
    assert m.total_energy_j == pytest.approx(15.0 * m.duration_s, rel=0.02)
    assert m.mean_watts == pytest.approx(15.0, rel=0.02) and m.peak_watts == 15.0
    assert json.loads(json.dumps(m.to_dict()))["sources"]["a"]["valid_samples"] == m.sample_count


def test_overhead_recorded():
    """The sampler thread's CPU and the process's CPU are measured and turned into % of one core."""
    m = _run([StubSource()], seconds=0.5, rate=100.0)
    assert 0 < m.sampler_cpu_s <= m.process_cpu_s
    assert m.sampler_overhead_pct == pytest.approx(100 * m.sampler_cpu_s / m.duration_s)
    assert m.process_overhead_pct == pytest.approx(100 * m.process_cpu_s / m.duration_s)


def test_invalid_interval_makes_window_energy_unknown():
    """An invalid interval is not counted as 0: the source's energy is None with a reason, watts from valid ones."""
    m = _run([StubSource("ok", 10.0), StubSource("glitchy", 20.0, invalid_every=3)])
    g = m.sources["glitchy"]
    assert g.energy_j is None and "intervals invalid" in g.reason and "stub glitch" in g.reason
    assert g.invalid_samples == m.sample_count // 3 and g.valid_samples == m.sample_count - g.invalid_samples
    assert g.mean_watts == pytest.approx(20.0, rel=0.05) and g.peak_watts == 20.0  # not 2/3 of it
    assert m.total_energy_j is None and m.missing["total_energy_j"].startswith("glitchy: ")
    assert m.invalid_count == g.invalid_samples
    assert all(s["total_watts"] is None for s in m.samples if s["watts"]["glitchy"] is None)
    assert m.sources["ok"].energy_j is not None


def test_all_invalid_and_raising_sources():
    """A source never valid, one that raises and one that fails to start all end as None with reasons."""

    class FailingStart(StubSource):
        def start(self):
            raise PermissionError("energy_uj: permission denied")

    m = _run([StubSource("never", invalid_always=True), StubSource("raises", raise_on=2), FailingStart("nostart")])
    assert m.sources["never"].energy_j is None and m.sources["never"].reason.startswith("no valid reading")
    assert "read raised OSError: device vanished" in m.sources["raises"].reason
    assert "start failed" in m.sources["nostart"].reason and m.sources["nostart"].valid_samples == 0
    assert m.peak_watts is None and "peak_watts" in m.missing


def test_interval_shortened_for_fast_wrapping_zone():
    """A zone that can wrap within 50 ms at max power forces the sampler to 40 Hz, with a note saying so."""
    with sim_dir() as d:
        sim = PowercapSim(d, range_uj=5_000_000, packages=1, psys=False, mmio=False)
        sources, _ = discover_rapl(sim.root)
        sampler = Sampler(sources, rate_hz=10.0)
        assert sampler.interval_s == pytest.approx(0.025) and sampler.rate_hz == pytest.approx(40.0)
        with sim.running():
            sampler.start()
            time.sleep(0.5)
            m = sampler.stop()
    assert m.rate_hz == pytest.approx(40.0) and any("shortened" in n for n in m.notes)
    assert m.sample_count >= 12


def test_rapl_in_real_time_matches_profile():
    """Sampling a simulated tree in real time gives the profile's watts, across counter wraps."""
    watts = {"package-0": 60.0, "package-1": 20.0, "dram-0": 5.0, "dram-1": 5.0}
    with running_sim(watts) as sim:
        sources, _ = discover_rapl(sim.root)
        wraps = sim.wraps("package-0")
        m = _run(sources, seconds=1.2, rate=10.0)
        assert sim.wraps("package-0") > wraps
    assert m.invalid_count == 0 and m.estimated is False
    assert m.mean_watts == pytest.approx(90.0, rel=0.05)
    assert m.sources["rapl:package-0"].energy_j == pytest.approx(60.0 * m.duration_s, rel=0.05)


def test_current_watts_track_and_idle():
    """current_watts shows the latest total, track reaches sources that attribute by pid, measure_idle lasts."""
    stub = TrackingStub(watts=7.0)
    sampler = Sampler([stub, StubSource("plain")], rate_hz=50.0)
    assert sampler.current_watts() is None
    sampler.start()
    sampler.track(1234)
    time.sleep(0.1)
    assert sampler.current_watts() == 17.0
    first = sampler.stop()
    assert sampler.stop() is first and stub.tracked == [1234, None]
    idle = measure_idle([StubSource()], 0.3, rate_hz=20.0)
    assert idle.duration_s == pytest.approx(0.3, abs=0.05)


def test_misuse_is_refused():
    """A non-positive rate, stopping a sampler never started and starting twice raise."""
    with pytest.raises(ValueError):
        Sampler([], rate_hz=0)
    with pytest.raises(RuntimeError):
        Sampler([]).stop()
    sampler = Sampler([StubSource()])
    sampler.start()
    with pytest.raises(RuntimeError):
        sampler.start()
    empty = Sampler([])
    empty.start()
    m = empty.stop()
    assert m.total_energy_j is None and m.missing["total_energy_j"] == "no power source"


def test_other_load_is_what_other_processes_burn():
    """A process spinning on one CPU during the window shows as other load: about 1 / CPUs of the machine (here more
    than half of that, whatever else runs), never the agent's own CPU time."""
    burner = subprocess.Popen(
        [sys.executable, "-c", "import time\nend = time.time() + 30\nwhile time.time() < end: pass"]
    )
    try:
        time.sleep(0.2)
        m = _run([StubSource()], seconds=1.0)
    finally:
        burner.kill()
        burner.wait(timeout=10)
    cpus = os.cpu_count() or 1
    assert m.other_load_pct is not None and 100.0 / cpus * 0.5 < m.other_load_pct <= 100.0


def test_other_load_arithmetic():
    """Busy CPU seconds between two readings, less the agent's own, over all CPU seconds; None without readings."""
    assert other_load_pct((10.0, 100.0), (16.0, 120.0), own_cpu_s=1.0) == 25.0
    assert other_load_pct((10.0, 100.0), (10.5, 120.0), own_cpu_s=1.0) == 0.0  # never below 0
    assert other_load_pct(None, (16.0, 120.0), 0.0) is None
    assert other_load_pct((10.0, 100.0), (10.0, 100.0), 0.0) is None
