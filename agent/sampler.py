"""Sample every power source on a steady clock while a job runs, and total what they read.

A thread reads each source every interval (``time.monotonic``): ``1 / rate_hz``, shortened when a counter could wrap
twice in that time (the note says so). ``stop()`` wakes the thread, which takes one final reading of every source and
exits; the runner calls it from ``on_exited`` so the final reading sees the finished job (the estimate reads the
unreaped zombie). The sampler measures its own thread's CPU time and the whole agent process's over the window.

Invalid intervals: a reading that cannot be trusted counts as an invalid sample and is never counted as 0 J. Because
the energy of that interval is unknown, the source's energy for the whole window is None with a reason (a window total
with a hole in it would look valid and be too small); its mean and peak watts still come from the valid intervals, and
``valid_samples`` / ``invalid_samples`` say how much of the window they cover.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import psutil

from agent.power.base import PowerSource, Reading

DEFAULT_RATE_HZ = 10.0
"""Samples per second when the job does not say (WIRE.md ``sample_rate``)."""

MIN_INTERVAL_S = 0.001
"""Shortest interval the sampler will run at, whatever a counter asks for."""


@dataclass
class SourceTotal:
    """One source over the window."""

    name: str
    kind: str
    measured: bool
    energy_j: float | None
    mean_watts: float | None
    peak_watts: float | None
    valid_samples: int
    invalid_samples: int
    reason: str | None = None
    encoder_util_pct: float | None = None
    """Mean NVENC utilisation over the window's readings that had one (NVML sources only; None elsewhere)."""


@dataclass
class Measurement:
    """Everything one sampling window produced: totals, per-source totals, samples, overhead, provenance."""

    duration_s: float
    rate_hz: float
    sample_count: int
    invalid_count: int
    """Samples in which at least one source's reading was invalid."""
    notes: list[str]
    estimated: bool
    sources: dict[str, SourceTotal]
    samples: list[dict[str, Any]]
    sampler_cpu_s: float
    sampler_overhead_pct: float
    process_cpu_s: float
    process_overhead_pct: float
    total_energy_j: float | None
    mean_watts: float | None
    peak_watts: float | None
    missing: dict[str, str] = field(default_factory=dict)
    """Reason for each None among total_energy_j, mean_watts, peak_watts."""
    other_load_pct: float | None = None
    """Share of the machine's CPU time (all CPUs) that processes other than this agent used during the window: load
    that a sensor counts as the job's or the baseline's; None when the kernel's CPU times could not be read."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Tally:
    """Running totals of one source's readings."""

    def __init__(self, source: PowerSource) -> None:
        self.source = source
        self.energy_j = 0.0
        self.valid_time_s = 0.0
        self.valid = 0
        self.invalid = 0
        self.peak: float | None = None
        self.first_reason: str | None = None
        self.failed: str | None = None
        self.encoder_util: list[float] = []

    def add(self, reading: Reading, dt: float) -> float | None:
        """Count one reading; its watts, or None when invalid."""
        util = (reading.extra or {}).get("encoder_util_pct")
        if util is not None:
            self.encoder_util.append(float(util))
        if not reading.valid or reading.energy_j is None:
            self.invalid += 1
            self.first_reason = self.first_reason or reading.reason or "invalid reading"
            return None
        self.valid += 1
        self.energy_j += reading.energy_j
        self.valid_time_s += dt
        watts = reading.watts if reading.watts is not None else (reading.energy_j / dt if dt > 0 else None)
        if watts is not None:
            self.peak = watts if self.peak is None else max(self.peak, watts)
        return watts

    def total(self) -> SourceTotal:
        s = self.source
        energy, reason = self.energy_j, None
        if self.failed:
            energy, reason = None, self.failed
        elif self.valid == 0:
            energy, reason = None, f"no valid reading: {self.first_reason}"
        elif self.invalid:
            energy = None
            reason = (
                f"{self.invalid} of {self.valid + self.invalid} intervals invalid, energy of the window "
                f"unknown: {self.first_reason}"
            )
        mean = self.energy_j / self.valid_time_s if self.valid and self.valid_time_s > 0 else None
        util = sum(self.encoder_util) / len(self.encoder_util) if self.encoder_util else None
        return SourceTotal(s.name, s.kind, s.measured, energy, mean, self.peak, self.valid, self.invalid, reason, util)


def effective_interval(sources: Sequence[PowerSource], rate_hz: float) -> tuple[float, list[str]]:
    """The sampling interval for ``rate_hz`` made short enough for every counter, and a note when it was shortened."""
    interval = 1.0 / rate_hz
    limits = [(s.max_interval_s(), s.name) for s in sources if s.max_interval_s() is not None]
    if not limits:
        return interval, []
    limit, name = min(limits)
    if limit >= interval:
        return interval, []
    shortened = max(limit, MIN_INTERVAL_S)
    note = (
        f"sampling interval shortened from {interval:.4g} s to {shortened:.4g} s ({1 / shortened:.4g} Hz) so no "
        f"counter can wrap twice between samples ({name} allows at most {limit:.4g} s)"
    )
    return shortened, [note]


def _process_cpu_s() -> float:
    """CPU seconds of this whole process (every thread), at nanosecond resolution."""
    return time.process_time()


def _machine_cpu() -> tuple[float, float] | None:
    """(busy, total) CPU seconds of the whole machine since boot, all CPUs; None when they cannot be read."""
    try:
        times = psutil.cpu_times()
    except (OSError, RuntimeError):
        return None
    total = sum(times)
    idle = times.idle + getattr(times, "iowait", 0.0)
    return total - idle, total


def other_load_pct(before: tuple[float, float] | None, after: tuple[float, float] | None, own_cpu_s: float):
    """The machine's busy CPU time between two :func:`_machine_cpu` readings, less ``own_cpu_s`` (this process), as a
    percentage of all its CPU time then; None without both readings or with no time between them."""
    if before is None or after is None or after[1] <= before[1]:
        return None
    other = max(after[0] - before[0] - own_cpu_s, 0.0)
    return round(min(100.0 * other / (after[1] - before[1]), 100.0), 2)


class Sampler:
    """Samples ``sources`` from a thread between ``start()`` and ``stop()``; single use."""

    def __init__(
        self,
        sources: Sequence[PowerSource],
        rate_hz: float = DEFAULT_RATE_HZ,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate_hz <= 0:
            raise ValueError(f"sample rate must be positive, got {rate_hz}")
        self.sources = list(sources)
        self.interval_s, self._notes = effective_interval(self.sources, rate_hz)
        self._clock = clock
        self._tallies = [_Tally(s) for s in self.sources]
        self._samples: list[dict[str, Any]] = []
        self._invalid_count = 0
        self._latest: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._result: Measurement | None = None
        self._thread_cpu_s = 0.0
        self._duration_s = 0.0

    @property
    def rate_hz(self) -> float:
        return 1.0 / self.interval_s

    def start(self) -> None:
        """Start every source and the sampling thread."""
        if self._thread is not None:
            raise RuntimeError("sampler already started")
        self._t0 = self._last_t = self._clock()
        self._cpu0 = _process_cpu_s()
        self._machine0 = _machine_cpu()
        for tally in self._tallies:
            try:
                tally.source.start()
            except Exception as exc:  # a source that cannot start is reported, not fatal
                tally.failed = f"start failed: {exc}"
        self._thread = threading.Thread(target=self._run, name="ffwatt-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        cpu0 = time.thread_time()
        try:
            next_t = self._t0 + self.interval_s
            while not self._stop.wait(max(0.0, next_t - self._clock())):
                self._sample()
                next_t += self.interval_s
                now = self._clock()
                if next_t <= now:
                    next_t = now + self.interval_s
            self._sample()
        finally:
            self._thread_cpu_s = time.thread_time() - cpu0

    def _read(self, tally: _Tally) -> Reading:
        try:
            return tally.source.read()
        except Exception as exc:  # a failing source makes its sample invalid, it does not stop the sampler
            return Reading.invalid(f"read raised {type(exc).__name__}: {exc}")

    def _sample(self) -> None:
        now = self._clock()
        dt, self._last_t = now - self._last_t, now
        watts: dict[str, float | None] = {}
        total, complete, invalid = 0.0, bool(self._tallies), False
        for tally in self._tallies:
            reading = Reading.invalid(tally.failed) if tally.failed else self._read(tally)
            w = tally.add(reading, dt)
            invalid |= not reading.valid
            if reading.valid and reading.reason and reading.reason not in self._notes:
                self._notes.append(reading.reason)
            watts[tally.source.name] = None if w is None else round(w, 3)
            complete &= w is not None
            total += w or 0.0
        self._invalid_count += invalid
        self._duration_s = now - self._t0
        self._latest = round(total, 3) if complete else None
        self._samples.append({"t": round(now - self._t0, 3), "watts": watts, "total_watts": self._latest})

    def current_watts(self) -> float | None:
        """Total watts of the latest sample (None before the first or when a source was invalid)."""
        return self._latest

    def track(self, pid: int | None) -> None:
        """Tell sources that attribute by process (the estimate) which process tree is the job."""
        for source in self.sources:
            source.track(pid)

    def track_also(self, pid: int) -> None:
        """Tell sources that attribute by process that the tree rooted at ``pid`` is part of the job too."""
        for source in self.sources:
            source.track_also(pid)

    def stop(self) -> Measurement:
        """Take the final reading of every source, stop the thread and return the window's measurement.

        Sources stop attributing to the tracked process afterwards (``track(None)``): the window is over."""
        if self._result is not None:
            return self._result
        if self._thread is None:
            raise RuntimeError("sampler was never started")
        self._stop.set()
        self._thread.join()
        self.track(None)
        own = _process_cpu_s() - self._cpu0
        self._result = self._measurement(own)
        self._result.other_load_pct = other_load_pct(self._machine0, _machine_cpu(), own)
        return self._result

    def _measurement(self, process_cpu_s: float) -> Measurement:
        duration = self._duration_s
        totals = {t.source.name: t.total() for t in self._tallies}

        def pct(cpu: float) -> float:
            return 100.0 * cpu / duration if duration > 0 else 0.0

        energy, mean, peak, missing = _window_totals(list(totals.values()), self._samples, duration)
        return Measurement(
            duration_s=duration,
            rate_hz=self.rate_hz,
            sample_count=len(self._samples),
            invalid_count=self._invalid_count,
            notes=list(self._notes),
            estimated=any(not s.measured for s in self.sources),
            sources=totals,
            samples=self._samples,
            sampler_cpu_s=self._thread_cpu_s,
            sampler_overhead_pct=pct(self._thread_cpu_s),
            process_cpu_s=process_cpu_s,
            process_overhead_pct=pct(process_cpu_s),
            total_energy_j=energy,
            mean_watts=mean,
            peak_watts=peak,
            missing=missing,
        )


def _window_totals(totals: list[SourceTotal], samples: list[dict], duration: float):
    """(total energy, mean watts, peak watts, reasons for the ones that are None) over all sources."""
    missing: dict[str, str] = {}
    if not totals:
        reason = "no power source"
        return None, None, None, {"total_energy_j": reason, "mean_watts": reason, "peak_watts": reason}
    unknown = [f"{t.name}: {t.reason or 'no energy'}" for t in totals if t.energy_j is None]
    energy = None if unknown else sum(t.energy_j for t in totals)
    if unknown:
        missing["total_energy_j"] = "; ".join(unknown)
    if energy is not None and duration > 0:
        mean = energy / duration
    elif all(t.mean_watts is not None for t in totals):
        mean = sum(t.mean_watts for t in totals)
    else:
        mean = None
        missing["mean_watts"] = "a source has no valid interval"
    peaks = [s["total_watts"] for s in samples if s["total_watts"] is not None]
    peak = max(peaks) if peaks else None
    if peak is None:
        missing["peak_watts"] = "no sample in which every source was valid"
    return energy, mean, peak, missing


def measure_idle(sources: Sequence[PowerSource], seconds: float, rate_hz: float = DEFAULT_RATE_HZ) -> Measurement:
    """Sample ``sources`` for ``seconds`` with no job running: the idle baseline."""
    sampler = Sampler(sources, rate_hz)
    sampler.start()
    time.sleep(seconds)
    return sampler.stop()
