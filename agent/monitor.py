"""The exporter's power monitor: its own power sources, read on a steady clock, totalled per zone.

Scrapes never read a sensor: a background thread reads every source each interval (``--metrics-interval``, shortened by
:func:`agent.sampler.effective_interval` so no counter can wrap twice between reads) and keeps, per zone, the joules
counted since it started, the watts of the latest interval and whether the zone is up. :meth:`PowerMonitor.snapshot`
hands a copy to the collector.

The sources are the monitor's own instances (a job's sampler reads deltas from its own instances too: sharing one
would split the deltas between them), found the way :mod:`agent.context` finds them, with the same powercap root and
TDP.
An invalid interval adds no joules and clears the zone's watts: the zone is down with the reading's reason until a
valid interval comes again. On an estimate-only host the estimate follows this process's tree (the agent and the
FFmpeg it runs), labelled estimated.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from agent.power.base import PowerSource, Reading
from agent.power.detect import detect_sources
from agent.sampler import effective_interval

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 1.0
"""Seconds between two readings of the monitor (``--metrics-interval``) unless a counter needs shorter."""

STOP_TIMEOUT_S = 5.0
"""How long :meth:`PowerMonitor.stop` waits for the thread to end."""


@dataclass(frozen=True)
class ZoneState:
    """What the monitor knows about one source: labels, joules so far, latest watts, up or why not."""

    source: str
    """The source's kind: rapl, nvml, estimate."""
    zone: str
    """package-0, dram-0, gpu-0, cpu."""
    estimated: bool
    energy_j: float = 0.0
    watts: float | None = None
    up: bool = True
    reason: str = ""


def zone_label(source: PowerSource) -> str:
    """The zone part of a source's name: rapl:package-0 -> package-0, nvml:gpu0 -> gpu-0, estimate:cpu -> cpu."""
    zone = source.name.split(":", 1)[-1]
    return re.sub(r"^gpu(\d+)$", r"gpu-\1", zone)


def monitor_sources(
    powercap_root: str | None = None, tdp_watts: float | None = None
) -> tuple[list[PowerSource], list[str]]:
    """Fresh sources for the monitor, detected as :func:`agent.power.detect.detect_sources` does (uncached: the job
    sampler's cached instances stay its own); an estimate follows this process's tree."""
    detection = detect_sources(powercap_root, tdp_watts, fresh=True)
    for source in detection.sources:
        source.track(os.getpid())
    return list(detection.sources), list(detection.notes)


class PowerMonitor:
    """Reads ``sources`` every interval from a thread between :meth:`start` and :meth:`stop`."""

    def __init__(
        self,
        sources: Sequence[PowerSource],
        interval_s: float = DEFAULT_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not interval_s > 0:
            raise ValueError(f"monitor interval must be positive, got {interval_s}")
        self.sources = list(sources)
        self.interval_s, self.notes = effective_interval(self.sources, 1.0 / interval_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._states = [ZoneState(s.kind, zone_label(s), not s.measured) for s in self.sources]
        self._failed: list[str | None] = [None] * len(self.sources)
        self._reads = 0
        self._cpu_s = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def reads(self) -> int:
        """How many times the monitor has read every source (after :meth:`start`)."""
        with self._lock:
            return self._reads

    @property
    def cpu_seconds(self) -> float:
        """CPU seconds the monitor's thread has used so far."""
        with self._lock:
            return self._cpu_s

    def start(self, run_thread: bool = True) -> None:
        """Take every source's reference reading and start the thread (without it, :meth:`poll` reads: stepped
        tests); a source that cannot start is down."""
        if self._thread is not None:
            raise RuntimeError("monitor already started")
        for i, source in enumerate(self.sources):
            try:
                source.start()
            except Exception as exc:  # reported as down, not fatal
                self._failed[i] = f"start failed: {exc}"
                self._states[i] = replace(self._states[i], up=False, reason=short_reason(self._failed[i]))
        self._thread = threading.Thread(target=self._run, name="ffwatt-power-monitor", daemon=True)
        if run_thread:
            self._thread.start()

    def _run(self) -> None:
        cpu0 = time.thread_time()
        next_t = self._clock() + self.interval_s
        while not self._stop.wait(max(0.0, next_t - self._clock())):
            self.poll()
            with self._lock:
                self._cpu_s = time.thread_time() - cpu0
            next_t += self.interval_s
            now = self._clock()
            if next_t <= now:
                next_t = now + self.interval_s

    def poll(self) -> None:
        """Read every source once and fold the readings into the zone states."""
        readings = [Reading.invalid(failed) if failed else _read(s) for s, failed in zip(self.sources, self._failed)]
        with self._lock:
            self._states = [_fold(state, r) for state, r in zip(self._states, readings)]
            self._reads += 1

    def snapshot(self) -> list[ZoneState]:
        """The zone states as of the latest reading (no sensor is read)."""
        with self._lock:
            return list(self._states)

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> bool:
        """Stop the thread (waiting up to ``timeout_s``) and close the sources; True when the thread ended."""
        self._stop.set()
        ended = True
        if self._thread is not None and self._thread.ident is not None:
            self._thread.join(timeout_s)
            ended = not self._thread.is_alive()
            if not ended:
                log.warning("power monitor thread did not stop within %gs", timeout_s)
        if ended:
            for source in self.sources:
                try:
                    source.close()
                except Exception as exc:  # closing is best effort
                    log.warning("closing %s: %s", source.name, exc)
        return ended


def _read(source: PowerSource) -> Reading:
    try:
        return source.read()
    except Exception as exc:  # a failing source is down, it does not stop the monitor
        return Reading.invalid(f"read raised {type(exc).__name__}: {exc}")


def _fold(state: ZoneState, reading: Reading) -> ZoneState:
    """The state after one more interval: joules and watts when valid; down with the reason (no joules) when not."""
    if not reading.valid or reading.energy_j is None:
        return replace(state, watts=None, up=False, reason=short_reason(reading.reason or "invalid reading"))
    return replace(state, energy_j=state.energy_j + reading.energy_j, watts=reading.watts, up=True, reason="")


def short_reason(text: str, limit: int = 120) -> str:
    """The first line of ``text``, measurements (``1.234``) as ``N``, at most ``limit`` characters: a label value
    that stays the same while the fault does, not a log message."""
    line = text.strip().splitlines()[0] if text.strip() else "unknown"
    line = re.sub(r"\d+\.\d+", "N", line)
    return line if len(line) <= limit else line[: limit - 3] + "..."
