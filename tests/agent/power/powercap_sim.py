"""A simulated Linux powercap tree: real files in a temp dir whose ``energy_uj`` counters advance at a known power.

Layout as on a two-socket Intel host: flat symlinks at the root (``intel-rapl:0``, ``intel-rapl:0:2``, ...) pointing
into nested device directories; each package has core, uncore and dram subzones; a ``psys`` zone holds the platform
total; ``intel-rapl-mmio:0`` repeats package-0's counter. Counters wrap at a small ``max_energy_range_uj`` so tests
see wrap-arounds. Time is either stepped explicitly (``advance``; ``clock`` is then the simulated clock) or follows
``time.monotonic`` in a background writer thread (``running()``). ``running_sim`` and ``running_rapl`` are the usual
shortcut: a tree at constant powers, advancing in real time, for the length of a ``with`` block.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agent.power.rapl import discover_rapl

DEVICES = Path("devices/virtual/powercap")


@contextlib.contextmanager
def sim_dir():
    """A fresh directory for a simulated tree, on tmpfs when there is one (sysfs lives in memory too, and renames on
    ext4 cost milliseconds each)."""
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    d = Path(tempfile.mkdtemp(prefix="ffwatt-powercap-", dir=base))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def constant(watts: dict[str, float]) -> dict[str, Callable[[float], float]]:
    """Profiles holding each named zone (``package-0``, ``dram-1``, ...) at a constant power in W."""
    return {key: (lambda t, w=w: w) for key, w in watts.items()}


@contextlib.contextmanager
def running_sim(watts: dict[str, float], *, range_uj: int = 30_000_000, **kwargs):
    """A tree in a fresh :func:`sim_dir` whose zones named in ``watts`` draw that constant power (the others their
    default profile), advancing in real time while the block runs; other keyword arguments go to PowercapSim."""
    with sim_dir() as d:
        sim = PowercapSim(d, range_uj=range_uj, profiles=constant(watts), **kwargs)
        with sim.running():
            yield sim


@contextlib.contextmanager
def running_rapl(watts: dict[str, float], **kwargs):
    """The RAPL sources found on a :func:`running_sim` tree (same arguments)."""
    with running_sim(watts, **kwargs) as sim:
        yield discover_rapl(sim.root)[0]


def package_watts(i: int) -> Callable[[float], float]:
    """Default package profile: 30-50 W plus 10 W per socket index, varying over ~1.3 s."""
    return lambda t: 30 + 10 * i + 20 * (0.5 + 0.5 * math.sin(2 * math.pi * t / 1.3 + i))


def dram_watts(i: int) -> Callable[[float], float]:
    """Default DRAM profile: 4-6 W."""
    return lambda t: 5 + i * 0.5 + math.sin(2 * math.pi * t / 0.9)


@dataclass
class SimZone:
    """One simulated zone: where it lives, its power profile and its exact accumulated energy."""

    key: str
    dirs: list[Path]
    watts: Callable[[float], float]
    range_uj: int
    total_uj: float = 0.0

    @property
    def counter(self) -> int:
        return int(self.total_uj) % self.range_uj


class PowercapSim:
    """Builds the tree under ``root`` and advances every counter at its profile."""

    def __init__(
        self,
        root: Path,
        *,
        range_uj: int = 5_000_000,
        packages: int = 2,
        psys: bool = True,
        mmio: bool = True,
        package_max_uw: int | None = 40_000_000,
        dram_max_uw: int | None = 10_000_000,
        range_file: bool = True,
        profiles: dict[str, Callable[[float], float]] | None = None,
    ):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.range_uj = range_uj
        self.range_file = range_file
        self.t = 0.0
        self.zones: dict[str, SimZone] = {}
        self._lock = threading.RLock()
        self.synced_at: float | None = None  # monotonic time of the last real-time write
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        profiles = profiles or {}
        self._control("intel-rapl")
        for i in range(packages):
            self._package(i, profiles, package_max_uw, dram_max_uw)
        if psys:
            pk = [self.zones[f"package-{i}"] for i in range(packages)]
            dr = [self.zones[f"dram-{i}"] for i in range(packages)]
            total = lambda t: 10 + sum(z.watts(t) for z in pk + dr)  # noqa: E731
            self._zone("psys", ["intel-rapl", f"intel-rapl:{packages}"], "psys", total, package_max_uw)
        if mmio:
            self._control("intel-rapl-mmio")
            d = self._mkdir(["intel-rapl-mmio", "intel-rapl-mmio:0"], "package-0", package_max_uw)
            self.zones["package-0"].dirs.append(d)
        self._write_all()

    def _control(self, control: str) -> None:
        d = self.root / DEVICES / control
        d.mkdir(parents=True, exist_ok=True)
        (d / "enabled").write_text("1\n")
        os.symlink(os.path.relpath(d, self.root), self.root / control)

    def _package(self, i, profiles, package_max_uw, dram_max_uw) -> None:
        top = ["intel-rapl", f"intel-rapl:{i}"]
        pkg = profiles.get(f"package-{i}", package_watts(i))
        self._zone(f"package-{i}", top, f"package-{i}", pkg, package_max_uw)
        self._zone(f"core-{i}", top + [f"intel-rapl:{i}:0"], "core", lambda t: 0.6 * pkg(t), None)
        self._zone(f"uncore-{i}", top + [f"intel-rapl:{i}:1"], "uncore", lambda t: 0.1 * pkg(t), None)
        self._zone(
            f"dram-{i}", top + [f"intel-rapl:{i}:2"], "dram", profiles.get(f"dram-{i}", dram_watts(i)), dram_max_uw
        )

    def _mkdir(self, parts: list[str], name: str, max_uw: int | None) -> Path:
        d = self.root / DEVICES.joinpath(*parts)
        d.mkdir(parents=True, exist_ok=True)
        (d / "name").write_text(name + "\n")
        if self.range_file:
            (d / "max_energy_range_uj").write_text(f"{self.range_uj}\n")
        if max_uw is not None:
            (d / "constraint_0_max_power_uw").write_text(f"{max_uw}\n")
        os.symlink(os.path.relpath(d, self.root), self.root / parts[-1])
        return d

    def _zone(self, key, parts, name, watts, max_uw) -> None:
        self.zones[key] = SimZone(key, [self._mkdir(parts, name, max_uw)], watts, self.range_uj)

    @staticmethod
    def _write(d: Path, value: int) -> None:
        tmp = d / ".energy_uj.tmp"
        tmp.write_text(f"{value}\n")
        os.replace(tmp, d / "energy_uj")

    def _write_all(self) -> None:
        for z in self.zones.values():
            for d in z.dirs:
                self._write(d, z.counter)

    def advance(self, dt: float, substep: float = 0.001) -> None:
        """Move simulated time forward by ``dt``: integrate every profile (midpoint rule), then write counters."""
        with self._lock:
            n = max(1, math.ceil(dt / substep))
            h = dt / n
            for k in range(n):
                mid = self.t + (k + 0.5) * h
                for z in self.zones.values():
                    z.total_uj += z.watts(mid) * h * 1e6
            self.t += dt
            self._write_all()

    def clock(self) -> float:
        """The simulated time, for sources built with ``clock=sim.clock`` in stepped tests."""
        return self.t

    @property
    def lock(self) -> threading.RLock:
        """Held while counters are written: a read under it sees files that match ``energy_j`` exactly."""
        return self._lock

    def energy_j(self, key: str) -> float:
        """Exact energy the zone has accumulated since the tree was built."""
        with self._lock:
            return self.zones[key].total_uj / 1e6

    def wraps(self, key: str) -> int:
        """How many times the zone's counter has wrapped."""
        return int(self.zones[key].total_uj) // self.range_uj

    def dir(self, key: str) -> Path:
        return self.zones[key].dirs[0]

    @contextlib.contextmanager
    def running(self, period: float = 0.002):
        """Advance counters in real time (``time.monotonic``) from a background thread while the block runs."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(period,), daemon=True)
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()

    def _run(self, period: float) -> None:
        last = time.monotonic()
        while not self._stop.wait(period):
            with self._lock:
                now = time.monotonic()
                self.advance(now - last, substep=max(now - last, 1e-4))
                self.synced_at = last = now
