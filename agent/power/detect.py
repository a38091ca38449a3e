"""Which power sources this host has: RAPL and NVML when present, the CPU-time estimate only when neither is.

Detection is cached per arguments (a probe walks sysfs and may initialise NVML) and clearable. The notes say what was
chosen and why, and travel into every result's provenance.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

from agent.power.base import PowerSource
from agent.power.estimate import EstimateSource
from agent.power.nvml import discover_nvml
from agent.power.rapl import DEFAULT_POWERCAP_ROOT, discover_rapl

ENV_POWERCAP_ROOT = "FFWATT_POWERCAP_ROOT"
"""Environment variable naming the powercap root (a simulated tree in tests, a bind mount in containers)."""


@dataclass
class Detection:
    """The sources to sample, why they were chosen, and whether the energy will be an estimate."""

    sources: list[PowerSource]
    notes: list[str] = field(default_factory=list)
    estimated: bool = False

    def describe(self) -> list[dict]:
        """Each source's description, for the hardware inventory."""
        return [s.describe() for s in self.sources]


_cache: dict[tuple, Detection] = {}
_lock = threading.Lock()


def resolve_powercap_root(explicit: str | os.PathLike | None = None) -> str:
    """The powercap root to probe: the argument, else $FFWATT_POWERCAP_ROOT, else /sys/class/powercap."""
    return str(explicit or os.environ.get(ENV_POWERCAP_ROOT) or DEFAULT_POWERCAP_ROOT)


def detect_sources(
    powercap_root: str | os.PathLike | None = None,
    tdp_watts: float | None = None,
    use_nvml: bool = True,
    fresh: bool = False,
) -> Detection:
    """RAPL and NVML sources when present, else the estimate (``estimated=True``); cached per arguments, unless
    ``fresh``: new source instances for a second reader (sources keep the state of their last reading)."""
    key = (resolve_powercap_root(powercap_root), tdp_watts, use_nvml)
    if fresh:
        return _detect(*key)
    with _lock:
        if key not in _cache:
            _cache[key] = _detect(*key)
        return _cache[key]


def _detect(root: str, tdp_watts: float | None, use_nvml: bool) -> Detection:
    sources, notes = discover_rapl(root)
    sources = list(sources)
    if use_nvml:
        gpus, gpu_notes = discover_nvml()
        sources += gpus
        notes += gpu_notes
    else:
        notes.append("NVML not probed (disabled)")
    if sources:
        if tdp_watts:
            notes.append(f"TDP {tdp_watts:g} W ignored: measured sources present")
        return Detection(sources, notes, estimated=False)
    estimate = EstimateSource(tdp_watts=tdp_watts)
    notes.append("no measured power source: energy is ESTIMATED from the job's CPU time")
    return Detection([estimate], notes + estimate.notes(), estimated=True)


def clear_cache() -> None:
    """Forget every detection and close its sources (NVML is shut down once no source uses it)."""
    with _lock:
        for detection in _cache.values():
            for source in detection.sources:
                source.close()
        _cache.clear()
