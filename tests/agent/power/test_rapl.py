"""RAPL through a simulated powercap tree: what is counted, wraps, invalid intervals, permissions."""

from __future__ import annotations

import ctypes
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from agent.power.base import SourceUnavailable
from agent.power.rapl import DEFAULT_MAX_POWER_W, RaplSource, discover_rapl
from tests.agent.power.powercap_sim import PowercapSim

COUNTED = {
    "rapl:package-0": "package-0",
    "rapl:package-1": "package-1",
    "rapl:dram-0": "dram-0",
    "rapl:dram-1": "dram-1",
}


def _stepped(pc_dir, **kw):
    sim = PowercapSim(pc_dir, **kw)
    sources, notes = discover_rapl(sim.root, clock=sim.clock)
    return sim, sources, notes


def test_counts_packages_and_dram_only(pc_dir):
    """Two packages and their DRAM are counted; core, uncore, psys and the mmio copy are not."""
    _, sources, notes = _stepped(pc_dir)
    assert sorted(s.name for s in sources) == sorted(COUNTED)
    text = " ".join(notes)
    for left_out in (
        "intel-rapl:0:0 core",
        "intel-rapl:1:1 uncore",
        "intel-rapl:2 psys",
        "intel-rapl-mmio:0 package-0",
    ):
        assert left_out in text
    assert "repeats intel-rapl:0" in text


def test_energy_across_wraps_matches_truth(pc_dir):
    """Package and DRAM energy over many wraps is within 0.1% of the simulated truth."""
    sim, sources, _ = _stepped(pc_dir)
    truth0 = {name: sim.energy_j(key) for name, key in COUNTED.items()}
    for s in sources:
        s.start()
    measured = {s.name: 0.0 for s in sources}
    rng = random.Random(7)
    for _ in range(800):
        sim.advance(rng.uniform(0.004, 0.02), substep=0.004)
        for s in sources:
            r = s.read()
            assert r.valid and r.energy_j >= 0, r.reason
            measured[s.name] += r.energy_j
    assert sim.wraps("package-1") > 30 and sim.wraps("dram-0") > 5
    for name, key in COUNTED.items():
        truth = sim.energy_j(key) - truth0[name]
        assert measured[name] == pytest.approx(truth, rel=1e-3)


def test_reading_reports_interval_watts(pc_dir):
    """A reading's watts are its energy over the elapsed (simulated) time."""
    sim, sources, _ = _stepped(pc_dir, profiles={"package-0": lambda t: 42.0})
    pkg = next(s for s in sources if s.name == "rapl:package-0")
    pkg.start()
    sim.advance(0.02)
    r = pkg.read()
    assert r.watts == pytest.approx(42.0, rel=1e-3)


def test_wrap_without_range_file_is_invalid(pc_dir):
    """A wrap with no readable max_energy_range_uj gives invalid readings, never negative or invented energy."""
    sim, sources, _ = _stepped(pc_dir, range_file=False)
    pkg = next(s for s in sources if s.name == "rapl:package-0")
    assert pkg.max_interval_s() is None
    pkg.start()
    readings = []
    for _ in range(100):
        sim.advance(0.01)
        readings.append(pkg.read())
    invalid = [r for r in readings if not r.valid]
    assert invalid and all(r.energy_j is None for r in invalid)
    assert "max_energy_range_uj is unreadable" in invalid[0].reason
    assert all(r.energy_j >= 0 for r in readings if r.valid)


def test_interval_longer_than_wrap_time_is_invalid(pc_dir):
    """Reading after more than the counter's wrap time is invalid: a second wrap cannot be ruled out."""
    sim, sources, _ = _stepped(pc_dir)
    pkg = next(s for s in sources if s.name == "rapl:package-0")
    pkg.start()
    sim.advance(pkg.wrap_time_s() * 1.5)
    r = pkg.read()
    assert not r.valid and "second wrap" in r.reason
    sim.advance(0.01)
    assert pkg.read().valid


def test_implausible_jump_is_invalid(pc_dir):
    """A counter jump larger than max power allows (reset, garbage) is invalid, not energy."""
    sim, sources, _ = _stepped(pc_dir, range_uj=10**12)
    pkg = next(s for s in sources if s.name == "rapl:package-0")
    pkg.start()
    sim.zones["package-0"].total_uj += 5e9
    sim.advance(0.01)
    r = pkg.read()
    assert not r.valid and "implausible" in r.reason


def test_max_interval_from_range_and_max_power(pc_dir):
    """max_interval_s leaves half the range at max power (stated 40 W x headroom 2.5 = 100 W)."""
    _, sources, _ = _stepped(pc_dir, range_uj=5_000_000)
    pkg = next(s for s in sources if s.name == "rapl:package-0")
    assert pkg.max_power_w == pytest.approx(100.0)
    assert pkg.max_interval_s() == pytest.approx(5.0 / 100.0 / 2)


def test_zone_without_stated_max_uses_default(pc_dir):
    """An AMD-like tree (package with a core subzone, no DRAM, no constraint file) counts the package alone."""
    sim = PowercapSim(pc_dir, packages=1, psys=False, mmio=False, package_max_uw=None)
    for sub in ("intel-rapl:0:1", "intel-rapl:0:2"):
        (sim.root / sub).unlink()
    sources, _ = discover_rapl(sim.root)
    assert [s.name for s in sources] == ["rapl:package-0"]
    assert sources[0].max_power_w == DEFAULT_MAX_POWER_W


def test_no_tree_and_psys_only(pc_dir):
    """A missing root and a tree without package zones both give no source and a note saying why."""
    sources, notes = discover_rapl(pc_dir / "absent")
    assert sources == [] and "no powercap tree" in notes[0]
    sim = PowercapSim(pc_dir, packages=0, psys=False, mmio=False)
    (sim.root / "intel-rapl:9").symlink_to(sim.root / "intel-rapl")
    (sim.root / "intel-rapl" / "name").write_text("psys\n")
    sources, notes = discover_rapl(sim.root)
    assert sources == [] and "no RAPL package zone" in notes[0]


def test_unreadable_counter_is_unavailable(pc_dir):
    """An energy_uj that cannot be read (here a directory) makes that zone unavailable with a note."""
    sim = PowercapSim(pc_dir, packages=1, psys=False, mmio=False)
    f = sim.dir("dram-0") / "energy_uj"
    f.unlink()
    f.mkdir()
    sources, notes = discover_rapl(sim.root)
    assert [s.name for s in sources] == ["rapl:package-0"]
    assert any("rapl:dram-0 unavailable" in n for n in notes)


PROBE = """
import sys
from agent.power.rapl import discover_rapl
sources, notes = discover_rapl(sys.argv[1])
print([s.name for s in sources])
print("\\n".join(notes))
"""

PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2


def _drop_file_override() -> None:
    """In the child before exec: drop root's power to ignore file modes, so mode 000 really denies reads."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_permission_denied_gives_group_instructions(pc_dir):
    """energy_uj without read permission: the zone is unavailable and the note says how to grant group access."""
    sim = PowercapSim(pc_dir, packages=1, psys=False, mmio=False)
    os.chmod(sim.dir("package-0") / "energy_uj", 0o000)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[3]))
    preexec = _drop_file_override if os.geteuid() == 0 else None
    try:
        out = subprocess.run(
            [sys.executable, "-c", PROBE, str(sim.root)],
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
            preexec_fn=preexec,
        )
    except subprocess.SubprocessError as exc:
        pytest.skip(f"cannot drop CAP_DAC_OVERRIDE in a child here: {exc}")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "['rapl:dram-0']"
    assert "permission denied" in out.stdout and "chmod g+r" in out.stdout and "CVE-2020-8694" in out.stdout


def test_start_fails_loudly_when_counter_vanishes(pc_dir):
    """A source whose counter disappears after discovery refuses to start rather than reading 0."""
    sim = PowercapSim(pc_dir, packages=1, psys=False, mmio=False)
    src = RaplSource("rapl:package-0", sim.dir("package-0"))
    (sim.dir("package-0") / "energy_uj").unlink()
    with pytest.raises(SourceUnavailable):
        src.start()
    r = src.read()
    assert not r.valid and r.energy_j is None
