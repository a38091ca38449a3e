"""RAPL energy vs simulated truth, across many counter wrap-arounds.

    .venv/bin/python bench/rapl_sim_error.py [--sim-seconds 600] [--real-seconds 30]

1. Stepped: simulated time advances in random steps (0.2-0.95 of each zone's max safe interval) under a varying power
   profile, with a 50 J counter range so counters wrap hundreds of times; sources read after every step. Truth is the
   simulator's exact integral.
2. Real time: the simulator's writer thread advances counters with ``time.monotonic``; the sampler reads them at
   10 Hz. Truth "seen" is the simulator's total at the moments the first and last readings were taken (the files then
   hold exactly that value); truth "ideal" adds the energy between the simulator's last write and each read, i.e. what
   a continuously updated counter would have shown (the gap is the simulator's write granularity, not the reader's).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.power.base import PowerSource  # noqa: E402
from agent.power.rapl import discover_rapl  # noqa: E402
from agent.sampler import Sampler  # noqa: E402
from tests.agent.power.powercap_sim import PowercapSim, sim_dir  # noqa: E402

RANGE_UJ = 50_000_000
KEYS = {"rapl:package-0": "package-0", "rapl:package-1": "package-1", "rapl:dram-0": "dram-0", "rapl:dram-1": "dram-1"}


def stepped(sim_seconds: float) -> None:
    with sim_dir() as d:
        sim = PowercapSim(d, range_uj=RANGE_UJ)
        sources, _ = discover_rapl(sim.root, clock=sim.clock)
        safe = min(s.max_interval_s() for s in sources)
        start = {n: sim.energy_j(k) for n, k in KEYS.items()}
        measured = dict.fromkeys(KEYS, 0.0)
        invalid = 0
        for s in sources:
            s.start()
        rng = random.Random(1)
        while sim.t < sim_seconds:
            sim.advance(rng.uniform(0.2, 0.95) * safe, substep=0.005)
            for s in sources:
                r = s.read()
                invalid += not r.valid
                measured[s.name] += r.energy_j or 0.0
        print(f"stepped: {sim.t:.0f} simulated s, read every 0.2-0.95 x {safe * 1e3:.1f} ms, {invalid} invalid")
        for name, key in KEYS.items():
            truth = sim.energy_j(key) - start[name]
            print(
                f"  {name:<16} truth {truth:12.3f} J  measured {measured[name]:12.3f} J  "
                f"rel. error {(measured[name] - truth) / truth:+.2e}  wraps {sim.wraps(key)}"
            )


class Witness(PowerSource):
    """Wraps a RAPL source; records the simulator's truth at the instant of each read, under the writer's lock."""

    def __init__(self, inner, sim: PowercapSim, key: str) -> None:
        self.inner, self.sim, self.key = inner, sim, key
        self.name, self.kind, self.measured = inner.name, inner.kind, inner.measured
        self.seen: list[float] = []
        self.ideal: list[float] = []

    def _witness(self, fn):
        with self.sim.lock:
            result = fn()
            zone = self.sim.zones[self.key]
            lag = time.monotonic() - self.sim.synced_at
            self.seen.append(int(zone.total_uj) / 1e6)
            self.ideal.append(zone.total_uj / 1e6 + zone.watts(self.sim.t + lag / 2) * lag)
        return result

    def start(self):
        self._witness(self.inner.start)

    def read(self):
        return self._witness(self.inner.read)

    def max_interval_s(self):
        return self.inner.max_interval_s()

    def details(self):
        return self.inner.details()


def real_time(seconds: float) -> None:
    with sim_dir() as d:
        sim = PowercapSim(d, range_uj=RANGE_UJ)
        sources, _ = discover_rapl(sim.root)
        with sim.running(period=0.002):
            time.sleep(0.05)
            witnesses = [Witness(s, sim, KEYS[s.name]) for s in sources]
            sampler = Sampler(witnesses, rate_hz=10.0)
            sampler.start()
            time.sleep(seconds)
            m = sampler.stop()
        print(
            f"real time: {m.duration_s:.1f} s at {m.rate_hz:g} Hz, {m.sample_count} samples, {m.invalid_count} invalid"
        )
        for w in witnesses:
            got = m.sources[w.name].energy_j
            seen, ideal = w.seen[-1] - w.seen[0], w.ideal[-1] - w.ideal[0]
            print(
                f"  {w.name:<16} measured {got:10.3f} J  vs seen {(got - seen) / seen:+.2e}  "
                f"vs ideal {(got - ideal) / ideal:+.2e}  wraps {sim.wraps(w.key)}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sim-seconds", type=float, default=600.0)
    parser.add_argument("--real-seconds", type=float, default=30.0)
    args = parser.parse_args()
    stepped(args.sim_seconds)
    real_time(args.real_seconds)


if __name__ == "__main__":
    main()
