"""RAPL energy counters read through the Linux powercap tree (``/sys/class/powercap``), Intel and AMD alike.

What is counted: every package zone (top-level zone named ``package-N``, or ``package-N-die-M``) once, and each
package's ``dram`` subzone as its own source. What is not: ``core``/``uncore`` subzones (already inside their package),
``psys`` (the platform total, which includes the packages), and ``intel-rapl-mmio:N`` or any other control type that
repeats a package already counted (deduplicated by package name and by resolved directory; the MSR interface
``intel-rapl`` wins).

Energy is the difference of ``energy_uj`` between reads. A counter that went backwards wrapped once and is corrected
with ``max_energy_range_uj`` (the counter runs from 0 to that range; the at most one energy unit, ~15-61 uJ, by which
real hardware's period exceeds it is ignored). The sampler reads each zone at least every :meth:`max_interval_s`, which
leaves at most half the counter's range between two reads at the zone's maximum power, so a counter cannot wrap twice
unseen. A wrap with an unreadable range, an interval longer than the counter's wrap time, or a delta above the zone's
maximum power makes the reading invalid: ``None`` with a reason, never negative and never invented.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.power.base import PowerSource, Reading, SourceUnavailable
from agent.power.units import Energy, Power

DEFAULT_POWERCAP_ROOT = "/sys/class/powercap"
"""Where Linux exposes powercap zones; ``FFWATT_POWERCAP_ROOT`` (see detect.py) or an argument overrides it."""

DEFAULT_MAX_POWER_W = 500.0
"""Maximum power assumed for a zone that states none (DRAM zones rarely have ``constraint_0_max_power_uw``).
Generous on purpose: it only shortens the sampling interval and loosens the plausibility check."""

POWER_HEADROOM = 2.5
"""``constraint_0_max_power_uw`` is usually the long-term limit (PL1, about TDP); short-term limits (PL2) run up to
about twice that. Maximum power = stated maximum x this headroom."""

WRAP_SAFETY_FACTOR = 2.0
"""At maximum power a counter covers at most 1/this of its range between two reads: one wrap at most."""

PLAUSIBILITY_SLACK_S = 0.05
"""Seconds of maximum power tolerated on top of the elapsed time (counters update about every millisecond)."""

AGENT_GROUP = "ffwatt"
"""Group the agent runs in; the permission message tells how to give it (and only it) read access."""

_CONTROL_PREFERENCE = ("intel-rapl",)
"""Control types tried first when zones repeat a package (the MSR interface before mmio/tpmi copies)."""


@dataclass(frozen=True)
class Zone:
    """One entry of the powercap root, e.g. ``intel-rapl:0:2`` named ``dram``."""

    entry: str
    control: str
    index: tuple[str, ...]
    path: Path
    name: str

    @property
    def depth(self) -> int:
        return len(self.index)


def _read_int(path: Path | str) -> int | None:
    """An integer file's value, None when it cannot be read or parsed (PermissionError propagates).

    Opened afresh on every read, with bare os calls (a quarter of ``open()``'s cost): sysfs regenerates the value on
    each open, and the simulated trees in tests replace files atomically."""
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            return int(os.read(fd, 64))
        finally:
            os.close(fd)
    except PermissionError:
        raise
    except (OSError, ValueError):
        return None


def permission_message(energy_file: Path | str) -> str:
    """How to grant the agent's group, and only it, read access to a RAPL counter."""
    return (
        f"permission denied reading {energy_file}: RAPL counters are root-only since CVE-2020-8694. "
        f"Give the agent's group read access, never world-readable: "
        f"`chgrp {AGENT_GROUP} {energy_file} && chmod g+r {energy_file}` (until reboot), or persistently a udev rule "
        f'`ACTION=="add", SUBSYSTEM=="powercap", RUN+="/bin/chgrp {AGENT_GROUP} /sys%p/energy_uj", '
        f'RUN+="/bin/chmod g+r /sys%p/energy_uj"`'
    )


class RaplSource(PowerSource):
    """One RAPL zone's ``energy_uj`` counter, read as wrap-corrected deltas."""

    kind = "rapl"
    measured = True

    def __init__(
        self, name: str, zone_dir: str | os.PathLike, entry: str = "", clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.name = name
        self.path = Path(zone_dir)
        self.entry = entry or self.path.name
        self._energy_file = str(self.path / "energy_uj")
        self._clock = clock
        self._last: tuple[int, float] | None = None
        self.range_uj = _read_int(self.path / "max_energy_range_uj")
        stated_uw = _read_int(self.path / "constraint_0_max_power_uw")
        self.stated_max_w = Power.from_uwatts(stated_uw).watts if stated_uw else None
        self.max_power_w = self.stated_max_w * POWER_HEADROOM if self.stated_max_w else DEFAULT_MAX_POWER_W
        try:
            if _read_int(self._energy_file) is None:
                raise SourceUnavailable(f"cannot read a counter from {self._energy_file}")
        except PermissionError:
            raise SourceUnavailable(permission_message(self._energy_file)) from None

    def wrap_time_s(self) -> float | None:
        """Seconds the counter needs to cover its whole range at maximum power."""
        if not self.range_uj:
            return None
        return Energy.from_ujoules(self.range_uj).joules / self.max_power_w

    def max_interval_s(self) -> float | None:
        wrap = self.wrap_time_s()
        return None if wrap is None else wrap / WRAP_SAFETY_FACTOR

    def start(self) -> None:
        raw = self._read_raw()
        if isinstance(raw, Reading):
            raise SourceUnavailable(raw.reason)
        self._last = (raw, self._clock())

    def _read_raw(self) -> int | Reading:
        try:
            raw = _read_int(self._energy_file)
        except PermissionError:
            return Reading.invalid(permission_message(self._energy_file))
        if raw is None:
            return Reading.invalid(f"cannot read {self._energy_file}")
        return raw

    def read(self) -> Reading:
        raw = self._read_raw()
        now = self._clock()
        if isinstance(raw, Reading):
            return raw
        if self._last is None:
            self._last = (raw, now)
            return Reading.invalid("read before start: no reference reading")
        last_raw, last_t = self._last
        self._last = (raw, now)
        return self._delta(raw - last_raw, now - last_t)

    def _delta(self, delta_uj: int, elapsed: float) -> Reading:
        if delta_uj < 0:
            try:
                rng = _read_int(self.path / "max_energy_range_uj")
            except PermissionError:
                rng = None
            if not rng:
                return Reading.invalid(
                    f"counter wrapped and {self.path / 'max_energy_range_uj'} is unreadable: "
                    "energy of the interval unknown"
                )
            delta_uj += rng
        wrap = self.wrap_time_s()
        if wrap is not None and elapsed > wrap:
            return Reading.invalid(
                f"{elapsed:.3f} s between reads exceeds the counter's wrap time ({wrap:.3f} s at "
                f"{self.max_power_w:g} W): a second wrap cannot be ruled out"
            )
        energy_j = Energy.from_ujoules(delta_uj).joules
        if energy_j > self.max_power_w * (elapsed + PLAUSIBILITY_SLACK_S):
            return Reading.invalid(
                f"implausible delta {energy_j:.3f} J in {elapsed:.3f} s (max {self.max_power_w:g} W): "
                "counter reset or miscounted wrap"
            )
        watts = energy_j / elapsed if elapsed > 0 else None
        return Reading(energy_j=energy_j, valid=True, watts=watts)

    def details(self) -> dict[str, Any]:
        return {
            "entry": self.entry,
            "path": str(self.path),
            "max_energy_range_uj": self.range_uj,
            "stated_max_power_w": self.stated_max_w,
            "assumed_max_power_w": self.max_power_w,
            "max_interval_s": self.max_interval_s(),
        }


_ENTRY = re.compile(r"^(?P<control>[a-z0-9-]*rapl[a-z0-9-]*)(?P<index>(?::\d+)+)$")


def list_zones(root: Path) -> list[Zone]:
    """Every RAPL zone entry under the powercap root (flat symlinks or directories), readable name or not."""
    zones = []
    for entry in sorted(root.iterdir()):
        m = _ENTRY.match(entry.name)
        if m is None:
            continue
        try:
            name = (entry / "name").read_text().strip()
        except OSError:
            name = ""
        index = tuple(m.group("index").lstrip(":").split(":"))
        zones.append(Zone(entry.name, m.group("control"), index, entry.resolve(), name))
    return zones


def _package_suffix(zone: Zone) -> str:
    m = re.match(r"^package-(.+)$", zone.name)
    return m.group(1) if m else zone.index[0]


def _top_order(zone: Zone) -> tuple:
    preferred = zone.control in _CONTROL_PREFERENCE
    return (not preferred, zone.control, tuple(int(i) for i in zone.index))


def select_zones(zones: list[Zone]) -> tuple[list[tuple[str, Zone]], dict[str, list[str]]]:
    """(source name, zone) pairs to count, and the zones left out grouped by why."""
    chosen: list[tuple[str, Zone]] = []
    skipped: dict[str, list[str]] = {}
    seen: dict[str, str] = {}
    for top in sorted((z for z in zones if z.depth == 1), key=_top_order):
        label = f"{top.entry} {top.name or '(no name)'}"
        if not top.name.startswith("package"):
            why = "platform total, includes the packages" if top.name == "psys" else "not a package zone"
            skipped.setdefault(why, []).append(label)
            continue
        key_seen = seen.get(top.name) or seen.get(str(top.path))
        if key_seen is not None:
            skipped.setdefault(f"repeats {key_seen}", []).append(label)
            continue
        seen[top.name] = seen[str(top.path)] = top.entry
        chosen.append((f"rapl:{top.name}", top))
        for sub in zones:
            if sub.control != top.control or sub.depth != 2 or sub.index[0] != top.index[0]:
                continue
            if sub.name == "dram":
                chosen.append((f"rapl:dram-{_package_suffix(top)}", sub))
            else:
                skipped.setdefault("subzone inside its package", []).append(f"{sub.entry} {sub.name}")
    return chosen, skipped


def discover_rapl(
    root: str | os.PathLike | None = None, clock: Callable[[], float] = time.monotonic
) -> tuple[list[RaplSource], list[str]]:
    """RAPL sources for every package and DRAM zone under ``root``, and notes on what was chosen and why."""
    root = Path(root or DEFAULT_POWERCAP_ROOT)
    if not root.is_dir():
        return [], [f"no powercap tree at {root}: RAPL unavailable"]
    chosen, skipped = select_zones(list_zones(root))
    if not chosen:
        return [], [f"no RAPL package zone under {root}: RAPL unavailable"]
    sources, notes = [], []
    for name, zone in chosen:
        try:
            sources.append(RaplSource(name, zone.path, entry=zone.entry, clock=clock))
        except SourceUnavailable as exc:
            notes.append(f"{name} unavailable: {exc}")
    if sources:
        counted = ", ".join(f"{s.name} ({s.entry})" for s in sources)
        notes.insert(0, f"RAPL at {root}: counting {counted}")
    for why, labels in skipped.items():
        notes.append(f"RAPL not counted ({why}): {', '.join(labels)}")
    return sources, notes
