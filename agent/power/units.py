"""Value types for energy and power, with named constructors for the units counters report in.

RAPL reports microjoules, NVML millijoules and milliwatts; everything inside ffwatt is joules and watts.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Energy:
    """An amount of energy in joules."""

    joules: float

    @classmethod
    def from_joules(cls, joules: float) -> Energy:
        return cls(float(joules))

    @classmethod
    def from_mjoules(cls, mjoules: float) -> Energy:
        return cls(mjoules / 1e3)

    @classmethod
    def from_ujoules(cls, ujoules: float) -> Energy:
        return cls(ujoules / 1e6)

    @property
    def kwh(self) -> float:
        return self.joules / 3.6e6

    def __add__(self, other: Energy) -> Energy:
        return Energy(self.joules + other.joules)

    def __sub__(self, other: Energy) -> Energy:
        return Energy(self.joules - other.joules)

    def over(self, seconds: float) -> Power:
        """Mean power of this energy spread over ``seconds``."""
        return Power(self.joules / seconds)


@dataclass(frozen=True, order=True)
class Power:
    """A power in watts."""

    watts: float

    @classmethod
    def from_watts(cls, watts: float) -> Power:
        return cls(float(watts))

    @classmethod
    def from_mwatts(cls, mwatts: float) -> Power:
        return cls(mwatts / 1e3)

    @classmethod
    def from_uwatts(cls, uwatts: float) -> Power:
        return cls(uwatts / 1e6)

    def __add__(self, other: Power) -> Power:
        return Power(self.watts + other.watts)

    def times(self, seconds: float) -> Energy:
        """Energy of this power held for ``seconds``."""
        return Energy(self.watts * seconds)
