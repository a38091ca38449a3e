"""NVIDIA GPUs through NVML (``pynvml``, shipped by nvidia-ml-py), one source per GPU.

``pynvml`` is imported, and NVML initialised, only when :func:`discover_nvml` runs, never at import time. A GPU with
the total-energy counter (``nvmlDeviceGetTotalEnergyConsumption``, millijoules since driver load, Volta and newer) is
read as counter deltas; an older GPU's power (``nvmlDeviceGetPowerUsage``, milliwatts) is integrated with the
trapezoid rule between reads, so its accuracy depends on the sample rate (and NVML itself averages power over up to a
second on many boards). Each reading also carries the encoder utilisation (NVENC) in ``Reading.extra``.

No library, an NVML error on init, or no GPU: no source, and a note saying which.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from typing import Any

from agent.power.base import PowerSource, Reading, SourceUnavailable
from agent.power.units import Energy, Power


class _Session:
    """Counts the sources sharing one ``nvmlInit`` and shuts NVML down when the last one closes."""

    def __init__(self, nvml) -> None:
        self.nvml = nvml
        self.users = 0

    def release(self) -> None:
        self.users -= 1
        if self.users == 0:
            try:
                self.nvml.nvmlShutdown()
            except self.nvml.NVMLError:
                pass


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


class NvmlSource(PowerSource):
    """One GPU: energy counter deltas where supported, else trapezoid-integrated power."""

    kind = "nvml"
    measured = True

    def __init__(self, session: _Session, index: int, handle, clock: Callable[[], float] = time.monotonic):
        self._session = session
        self._nvml = session.nvml
        self._handle = handle
        self._clock = clock
        self.index = index
        self.name = f"nvml:gpu{index}"
        self.model = _text(self._nvml.nvmlDeviceGetName(handle))
        self.uses_counter = self._try(self._nvml.nvmlDeviceGetTotalEnergyConsumption) is not None
        if not self.uses_counter and self._try(self._nvml.nvmlDeviceGetPowerUsage) is None:
            raise SourceUnavailable(f"{self.model}: neither total energy nor power usage is supported")
        self._last: tuple[float, float] | None = None  # (counter mJ or power mW, time)
        session.users += 1

    def _try(self, fn):
        try:
            return fn(self._handle)
        except self._nvml.NVMLError:
            return None

    def _sample(self) -> float:
        if self.uses_counter:
            return float(self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle))
        return float(self._nvml.nvmlDeviceGetPowerUsage(self._handle))

    def start(self) -> None:
        try:
            self._last = (self._sample(), self._clock())
        except self._nvml.NVMLError as exc:
            raise SourceUnavailable(f"NVML read failed: {exc}") from None

    def read(self) -> Reading:
        try:
            value, now = self._sample(), self._clock()
        except self._nvml.NVMLError as exc:
            return Reading.invalid(f"NVML read failed: {exc}")
        if self._last is None:
            self._last = (value, now)
            return Reading.invalid("read before start: no reference reading")
        last, last_t = self._last
        self._last = (value, now)
        elapsed = now - last_t
        if self.uses_counter:
            if value < last:
                return Reading.invalid("energy counter went backwards (driver reloaded?)")
            energy_j = Energy.from_mjoules(value - last).joules
        else:
            energy_j = Power.from_mwatts((last + value) / 2).times(elapsed).joules
        watts = energy_j / elapsed if elapsed > 0 else None
        return Reading(
            energy_j=energy_j, valid=True, watts=watts, extra={"encoder_util_pct": self.encoder_utilization()}
        )

    def encoder_utilization(self) -> float | None:
        """NVENC utilisation in percent over NVML's last sampling period, None where unsupported."""
        value = self._try(self._nvml.nvmlDeviceGetEncoderUtilization)
        return None if value is None else float(value[0])

    def close(self) -> None:
        if self._session is not None:
            self._session.release()
            self._session = None

    def details(self) -> dict[str, Any]:
        method = "total energy counter (mJ)" if self.uses_counter else "power usage (mW), trapezoid-integrated"
        return {"index": self.index, "model": self.model, "method": method}


def _import_pynvml():
    return importlib.import_module("pynvml")


def discover_nvml(clock: Callable[[], float] = time.monotonic) -> tuple[list[NvmlSource], list[str]]:
    """One source per usable GPU, and notes on what was found; quietly nothing where NVML is unusable."""
    try:
        nvml = _import_pynvml()
    except ImportError:
        return [], ["pynvml (nvidia-ml-py) not importable: NVML unavailable"]
    try:
        nvml.nvmlInit()
    except (nvml.NVMLError, OSError) as exc:
        return [], [f"NVML init failed ({exc}): NVML unavailable"]
    session = _Session(nvml)
    sources, notes = [], []
    try:
        count = nvml.nvmlDeviceGetCount()
    except nvml.NVMLError as exc:
        count, notes = 0, [f"NVML device count failed ({exc})"]
    for i in range(count):
        try:
            sources.append(NvmlSource(session, i, nvml.nvmlDeviceGetHandleByIndex(i), clock=clock))
        except (nvml.NVMLError, SourceUnavailable) as exc:
            notes.append(f"nvml:gpu{i} unavailable: {exc}")
    if not sources:
        session.users = 1
        session.release()
        return [], notes + ["NVML: no usable NVIDIA GPU"]
    described = ", ".join(f"{s.name} ({s.model}: {s.details()['method']})" for s in sources)
    return sources, [f"NVML: {described}"] + notes
