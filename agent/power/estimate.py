"""The fallback when no sensor can be read: energy estimated from the CPU time of the job's process tree.

Model (documented, labelled ``estimated`` wherever it appears): a fully busy logical CPU draws
``TDP / logical CPUs`` watts (inside a VM: ``TDP / hardware threads of a typical host package``, see
:data:`TDP_TABLE`), so the job's energy is ``CPU seconds of its process tree x TDP / logical CPUs``. TDP comes
from ``tdp_watts`` (the whole machine: all sockets) when given, else from :data:`TDP_TABLE` (per package, first model
substring that matches, times the number of sockets), else :data:`DEFAULT_TDP_W`.

The estimate models only the job's own CPU: it is dynamic energy by construction (no idle share, no DRAM, no GPU,
no other processes). ``tdp_watts`` (this machine's, or this VM's share of the host's) overrides the table.

The tree: the root (or several, :meth:`EstimateSource.track_also`), every process in a root's session (run_process
makes the child a session leader, so an orphan
whose parent exited is still found) and the descendants of all of these. CPU time of the tree: for each member seen,
user + system + children_user + children_system (a zombie still reports its own and its reaped children's time, so the
final read while the root is an unreaped zombie includes everything the tree used). A member that vanished was reaped:
if an ancestor we track is still there, its children_* time now holds it; otherwise (an orphan reaped by init, or the
root reaped before the final read) its last value is kept. Members are rescanned at most every
:data:`RESCAN_INTERVAL_S` (a scan reads every process's stat); a process born and reaped between scans is still counted
through its parent's children_* time, one orphaned and reaped by init between two scans is missed. The total never goes
backwards. Assumes parents wait for their children (true for FFmpeg and shells).
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psutil

from agent.power.base import PowerSource, Reading

DEFAULT_TDP_W = 85.0
"""TDP assumed for a CPU model the table does not know (codecarbon's default, a mid-range server package)."""

TDP_TABLE: tuple[tuple[str, float, int], ...] = (
    ("xeon platinum", 250.0, 80),
    ("xeon gold", 150.0, 40),
    ("xeon silver", 85.0, 24),
    ("xeon bronze", 85.0, 8),
    ("xeon cpu e5-", 120.0, 24),
    ("xeon e-", 80.0, 12),
    ("xeon", 150.0, 40),
    ("epyc 9", 320.0, 128),
    ("epyc 7", 225.0, 128),
    ("epyc", 200.0, 96),
    ("ryzen threadripper", 280.0, 64),
    ("ryzen 9", 105.0, 24),
    ("ryzen 7", 65.0, 16),
    ("ryzen 5", 65.0, 12),
    ("ryzen", 65.0, 12),
    ("core i9", 125.0, 24),
    ("core i7", 65.0, 16),
    ("core i5", 65.0, 12),
    ("core i3", 58.0, 8),
)
"""Typical TDP per package (watts) and hardware threads of a typical part of that family, keyed by a substring of the
normalised model name; first match wins. The thread count gives a VM's vCPU its share: TDP / threads of the part."""

DEFAULT_REFERENCE_THREADS = 16
"""Hardware threads assumed per package for a CPU model the table does not know."""

RESCAN_INTERVAL_S = 0.5
"""Longest time between two scans for new descendants."""


def _normalise(model: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"\((r|tm)\)", " ", model.lower())).strip()


def lookup_tdp(model: str) -> tuple[float, str | None]:
    """(TDP per package in watts, the table key that matched or None for the default)."""
    norm = _normalise(model)
    for key, watts, _threads in TDP_TABLE:
        if key in norm:
            return watts, key
    return DEFAULT_TDP_W, None


def reference_threads(key: str | None) -> int:
    """Hardware threads of a typical package for a table key (None: the default)."""
    return next((threads for k, _w, threads in TDP_TABLE if k == key), DEFAULT_REFERENCE_THREADS)


def read_cpuinfo(path: str = "/proc/cpuinfo") -> dict[str, Any]:
    """CPU model name, socket count and whether a hypervisor flag is set (empty values where unreadable)."""
    info: dict[str, Any] = {"model": "", "sockets": 1, "hypervisor": False}
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return info
    models = re.findall(r"^model name\s*:\s*(.+)$", text, re.M)
    info["model"] = models[0].strip() if models else ""
    info["sockets"] = max(1, len(set(re.findall(r"^physical id\s*:\s*(\d+)$", text, re.M))))
    info["hypervisor"] = bool(re.search(r"^flags\s*:.*\bhypervisor\b", text, re.M))
    return info


_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_HAVE_PROC = os.path.isfile("/proc/self/stat")


@dataclass(frozen=True)
class ProcStat:
    """What the tree needs from one process."""

    ppid: int
    session: int
    start: int
    """Start time (clock ticks since boot): tells a process from a later one reusing its pid."""
    cpu_s: float
    """Own user + system plus its reaped children's (children_user + children_system)."""


def _raw_stat(pid: int) -> bytes | None:
    """The fields after ``(comm)`` of /proc/<pid>/stat, None when the process is gone."""
    try:
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
        try:
            data = os.read(fd, 4096)
        finally:
            os.close(fd)
    except OSError:
        return None
    return data[data.rfind(b")") + 2 :]


def read_stat(pid: int) -> ProcStat | None:
    """One process's stat (zombies included), None when it is gone. Straight from ``/proc/<pid>/stat``, the file
    psutil's cpu_times reads, at a sixth of its cost; through psutil where there is no /proc."""
    if not _HAVE_PROC:
        return _stat_psutil(pid)
    raw = _raw_stat(pid)
    if raw is None:
        return None
    f = raw.split()  # state ppid pgrp session ... utime stime cutime cstime (11-14) ... starttime (19)
    return ProcStat(int(f[1]), int(f[3]), int(f[19]), sum(int(x) for x in f[11:15]) / _CLK_TCK)


def _process_table() -> dict[int, tuple[int, int]]:
    """pid -> (ppid, session) for every process: one pass over /proc, parsing only those two fields."""
    if not _HAVE_PROC:
        return {pid: (st.ppid, st.session) for pid in psutil.pids() if (st := _stat_psutil(pid)) is not None}
    table = {}
    for name in os.listdir("/proc"):
        if name.isdigit() and (raw := _raw_stat(int(name))) is not None:
            f = raw.split(None, 4)
            table[int(name)] = (int(f[1]), int(f[3]))
    return table


def _stat_psutil(pid: int) -> ProcStat | None:
    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            t = proc.cpu_times()
            cpu = t.user + t.system + getattr(t, "children_user", 0.0) + getattr(t, "children_system", 0.0)
            return ProcStat(proc.ppid(), -1, int(proc.create_time() * 100), cpu)
    except psutil.Error:
        return None


class ProcessTree:
    """CPU seconds used so far by a process and its descendants; never decreases."""

    def __init__(
        self, root_pid: int, rescan_s: float = RESCAN_INTERVAL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.root_pid = root_pid
        self.roots: set[int] = set()
        """Every root of the tree: ``root_pid`` and those added by :meth:`add_root`."""
        self._rescan_s = rescan_s
        self._clock = clock
        self._next_scan = float("-inf")
        self._procs: dict[int, int] = {}  # pid -> start time, for every member seen
        self._last: dict[int, tuple[int, float]] = {}  # pid -> (ppid, cpu_s) at the previous read
        self._gone = 0.0
        self._total = 0.0
        self.note: str | None = None
        self.add_root(root_pid)

    def add_root(self, pid: int) -> None:
        """Track one more process and its descendants in the same total (e.g. every pusher of a multi-stream job);
        call it right after spawning. The roots must be distinct trees, or the shared part counts twice."""
        if pid in self.roots:
            return
        root = read_stat(pid)
        if root is None:
            self.note = f"process {pid} was gone before it could be tracked"
            return
        self.roots.add(pid)
        self._procs[pid] = root.start

    def _scan(self) -> None:
        """Add every process in the root's session or below a member (a pass over all processes' stat)."""
        table = _process_table()
        children: dict[int, list[int]] = {}
        for pid, (ppid, _) in table.items():
            children.setdefault(ppid, []).append(pid)
        todo = [pid for pid, (_, sid) in table.items() if sid in self.roots] + list(self._procs)
        seen: set[int] = set()
        while todo:
            pid = todo.pop()
            if pid in seen or pid not in table:
                continue
            seen.add(pid)
            todo.extend(children.get(pid, ()))
            if pid not in self._procs and (st := read_stat(pid)) is not None:
                self._procs[pid] = st.start

    def _absorbed(self, pid: int, current: dict[int, tuple[int, float]]) -> bool:
        """Whether a vanished process's time now sits in a tracked ancestor's children_* time."""
        seen = set()
        ppid = self._last[pid][0]
        while ppid not in seen:
            seen.add(ppid)
            if ppid in current:
                return True
            if ppid not in self._last:
                return False
            ppid = self._last[ppid][0]
        return False

    def cpu_s(self) -> float:
        """Total CPU seconds of the tree so far."""
        if self._clock() >= self._next_scan:
            self._scan()
            self._next_scan = self._clock() + self._rescan_s
        current: dict[int, tuple[int, float]] = {}
        for pid, start in self._procs.items():
            st = read_stat(pid)
            if st is not None and st.start == start:
                current[pid] = (st.ppid, st.cpu_s)
        for pid in set(self._last) - set(current):
            if not self._absorbed(pid, current):
                self._gone += self._last[pid][1]
            if pid in self.roots:
                self.note = f"process {pid} was reaped before its final CPU time was read: the last interval is missing"
        self._procs = {pid: start for pid, start in self._procs.items() if pid in current}
        self._last = current
        self._total = max(self._total, self._gone + sum(v for _, v in current.values()))
        return self._total


class EstimateSource(PowerSource):
    """Estimated energy of the tracked process tree: its CPU seconds x TDP / logical CPUs."""

    name = "estimate:cpu"
    kind = "estimate"
    measured = False

    def __init__(
        self,
        tdp_watts: float | None = None,
        cpu_model: str | None = None,
        logical_cpus: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        in_vm: bool | None = None,
    ) -> None:
        info = read_cpuinfo()
        self.cpu_model = cpu_model if cpu_model is not None else info["model"]
        self.logical_cpus = logical_cpus or psutil.cpu_count(logical=True) or os.cpu_count() or 1
        self.sockets = info["sockets"]
        self.in_vm = info["hypervisor"] if in_vm is None else in_vm
        self.cpus_sharing_tdp = self.logical_cpus
        if tdp_watts:
            self.tdp_watts, self.tdp_origin = float(tdp_watts), "given"
        else:
            per_package, key = lookup_tdp(self.cpu_model)
            origin = f"table entry '{key}'" if key else f"default {DEFAULT_TDP_W:g} W"
            if self.in_vm:  # a vCPU's share of the host package, not the VM's few vCPUs sharing a whole TDP
                self.tdp_watts, self.cpus_sharing_tdp = per_package, reference_threads(key)
                self.tdp_origin = f"{origin}, one host package of {self.cpus_sharing_tdp} threads (VM)"
            else:
                self.tdp_watts = per_package * self.sockets
                self.tdp_origin = f"{origin} x {self.sockets} socket(s)"
        self.watts_per_cpu = self.tdp_watts / self.cpus_sharing_tdp
        self._clock = clock
        self._lock = threading.Lock()
        self._tree: ProcessTree | None = None
        self._prev_cpu = 0.0
        self._last_t: float | None = None

    def track(self, pid: int | None) -> None:
        """Attribute the tree rooted at ``pid`` from its birth (call it right after spawning); None stops (every
        tracked tree, including those added by :meth:`track_also`)."""
        with self._lock:
            self._tree = None if pid is None else ProcessTree(pid, clock=self._clock)
            self._prev_cpu = 0.0

    def track_also(self, pid: int) -> None:
        """Attribute the tree rooted at ``pid`` as well, from its birth, on top of those already tracked (a job made
        of several concurrent processes, such as one FFmpeg pusher per live stream). Without a tracked tree this is
        :meth:`track`. One scan of the process table serves every root."""
        with self._lock:
            if self._tree is None:
                self._tree = ProcessTree(pid, clock=self._clock)
                self._prev_cpu = 0.0
            else:
                self._tree.add_root(pid)

    def tracked_pids(self) -> list[int]:
        """The roots currently tracked (empty when none)."""
        with self._lock:
            return sorted(self._tree.roots) if self._tree is not None else []

    def start(self) -> None:
        with self._lock:
            self._prev_cpu = self._tree.cpu_s() if self._tree is not None else 0.0
            self._last_t = self._clock()

    def read(self) -> Reading:
        with self._lock:
            now = self._clock()
            elapsed = now - self._last_t if self._last_t is not None else 0.0
            self._last_t = now
            cpu, note = 0.0, None
            if self._tree is not None:
                total = self._tree.cpu_s()
                cpu, self._prev_cpu = total - self._prev_cpu, total
                note, self._tree.note = self._tree.note, None
        energy = cpu * self.watts_per_cpu
        watts = energy / elapsed if elapsed > 0 else None
        return Reading(energy_j=energy, valid=True, reason=note, watts=watts, extra={"cpu_s": cpu})

    def details(self) -> dict[str, Any]:
        return {
            "model": "CPU seconds of the job's process tree x TDP / threads sharing it (dynamic energy only)",
            "cpu_model": self.cpu_model,
            "tdp_watts": self.tdp_watts,
            "tdp_origin": self.tdp_origin,
            "logical_cpus": self.logical_cpus,
            "threads_sharing_tdp": self.cpus_sharing_tdp,
            "watts_per_busy_cpu": self.watts_per_cpu,
            "in_vm": self.in_vm,
        }

    def notes(self) -> list[str]:
        """What the estimate assumed, for detection notes."""
        notes = [
            f"estimate:cpu: {self.watts_per_cpu:.2f} W per busy logical CPU = TDP {self.tdp_watts:g} W "
            f"({self.tdp_origin}, CPU '{self.cpu_model or 'unknown'}') / {self.cpus_sharing_tdp} threads"
        ]
        if self.in_vm and self.tdp_origin != "given":
            notes.append(
                "estimate:cpu: running under a hypervisor: each vCPU is taken as one hardware thread of a "
                "typical host package; pass --tdp-watts (this VM's share of the host's power) to override"
            )
        return notes
