"""The contract every power source follows: start, read deltas, say how often it must be read, which process tree
is the job (for sources that attribute by process), describe itself.

A source reads one counter (a RAPL zone, a GPU) or one model (the CPU-time estimate). ``read()`` returns the energy
since the previous ``read()`` or ``start()``; a reading that cannot be trusted is ``valid=False`` with ``energy_j=None``
and a reason, never 0 and never a guess.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any


class SourceUnavailable(Exception):
    """A source exists on this host but cannot be used; the message says why and how to fix it."""


@dataclass
class Reading:
    """Energy since the previous read()/start() of one source."""

    energy_j: float | None
    valid: bool
    reason: str | None = None
    watts: float | None = None
    """Average watts over the interval when known."""
    extra: dict[str, Any] | None = None
    """Source-specific side values (e.g. NVML encoder utilisation), never energy."""

    @classmethod
    def invalid(cls, reason: str) -> Reading:
        return cls(energy_j=None, valid=False, reason=reason)


class PowerSource(ABC):
    """One energy counter or model, read as deltas."""

    name: str
    """Stable identifier used in results: "rapl:package-0", "rapl:dram-0", "nvml:gpu0", "estimate:cpu"."""
    kind: str
    """"rapl", "nvml" or "estimate"."""
    measured: bool = True
    """False only for the estimate: its energy is a model, not a sensor."""

    @abstractmethod
    def start(self) -> None:
        """Take the reference reading the next ``read()`` is a delta from."""

    @abstractmethod
    def read(self) -> Reading:
        """Energy since the previous ``read()`` or ``start()``."""

    def track(self, pid: int | None) -> None:  # noqa: B027 - a no-op unless the source attributes by process
        """Attribute energy to the process tree rooted at ``pid`` from its birth; None stops attributing. Only a
        source that attributes by process (the estimate) does anything: a sensor measures the whole machine."""

    def track_also(self, pid: int) -> None:  # noqa: B027 - a no-op unless the source attributes by process
        """Attribute the tree rooted at ``pid`` as well, on top of those already tracked (several concurrent
        processes, such as live stream pushers); a no-op for sensors, like :meth:`track`."""

    def max_interval_s(self) -> float | None:
        """Longest safe interval between reads (counter wrap), None when there is no limit."""
        return None

    def close(self) -> None:  # noqa: B027 - a no-op unless the source holds a handle
        """Release what the source holds (library handles); reading after close is undefined."""

    @abstractmethod
    def details(self) -> dict[str, Any]:
        """Source-specific provenance: path, counter range, model, ..."""

    def describe(self) -> dict[str, Any]:
        """Name, kind, measured and details, for provenance and the hardware inventory."""
        return {"name": self.name, "kind": self.kind, "measured": self.measured, "details": self.details()}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"
