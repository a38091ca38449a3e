"""Run one child process in its own process group, and stop it the same way.

Every child the agent starts goes through :func:`run_process`: an argv list (never a shell string), its own session
(so its whole tree can be signalled by process group), stdout lines streamed to a callback, the last stderr lines kept,
a timeout and a cancel event that kill the group, and a hook that runs after the child exited but *before* it is reaped,
so a sampler can read the finished tree's CPU time from the zombie. :func:`start_process` starts one the same way
without waiting for it (several concurrent children, such as live stream pushers), and leaves reaping to the caller.
Both are one :class:`Child`: the Popen, the output pumps, the non-reaping wait and the reaping are written once.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

STDERR_TAIL_LINES = 50
"""How many trailing stderr lines a failed child reports."""

KILL_GRACE_S = 3.0
"""Seconds between SIGTERM and SIGKILL when a process group is stopped."""


@dataclass
class ProcessOutcome:
    """What happened to one child process."""

    argv: list[str]
    returncode: int | None
    duration_s: float
    stderr_tail: list[str] = field(default_factory=list)
    timed_out: bool = False
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.cancelled


def kill_group(pgid: int, grace_s: float = KILL_GRACE_S, leader: subprocess.Popen | None = None) -> None:
    """SIGTERM the process group, then SIGKILL it if anything is left after ``grace_s``.

    ``leader`` is the group's leader when we are its parent: it is reaped while we wait, or its zombie would keep
    the group alive for the whole grace period.
    """
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if leader is not None:
            leader.poll()
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _pump(stream, on_line: Callable[[str], None] | None, sink: collections.deque | None) -> None:
    for raw in iter(stream.readline, ""):
        line = raw.rstrip("\n")
        if sink is not None:
            sink.append(line)
        if on_line is not None:
            on_line(line)
    stream.close()


def run_process(
    argv: Sequence[str],
    *,
    timeout_s: float | None = None,
    on_stdout_line: Callable[[str], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    on_exited: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
    cwd: str | None = None,
    env: dict[str, str] | None = None,
) -> ProcessOutcome:
    """Run ``argv`` to completion in its own process group: a :class:`Child` waited for here.

    ``on_start(pid)`` runs right after the child started; ``on_exited(pid)`` runs once the child has exited but before
    it is reaped (its ``/proc`` entry still holds the CPU time of the whole waited-for tree). On timeout or cancel the
    whole process group is killed. A KeyboardInterrupt in the caller also kills the group before it propagates.
    The outcome's ``duration_s`` runs from the start to the reaping, hooks included.
    """
    child = Child(argv, on_stdout_line=on_stdout_line, cwd=cwd, env=env)
    try:
        if on_start is not None:
            on_start(child.pid)
        remaining = None if timeout_s is None else child.started + timeout_s - time.monotonic()
        stopped = child.wait_exited(remaining, cancel)
        if stopped is not None:
            child.timed_out, child.cancelled = stopped == "timeout", stopped == "cancelled"
            child.stop()
        elif on_exited is not None:
            on_exited(child.pid)
    except BaseException:
        child.stop(grace_s=1.0)
        child.finish(timeout_s=10)
        raise
    return dataclasses.replace(child.finish(), duration_s=time.monotonic() - child.started)


class Child:
    """A child started in its own process group that the caller waits for later (several can run at once).

    Built by :func:`start_process`, and by :func:`run_process`, which waits for it: stdout lines go to a callback, the
    last stderr lines are kept, and the child is never reaped before the caller says so, so a sampler can take its
    final reading while the exited child is still a zombie (:meth:`exited` / :meth:`wait_exited` do not reap;
    :meth:`finish` does).
    """

    def __init__(
        self,
        argv: Sequence[str],
        on_stdout_line: Callable[[str], None] | None = None,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.argv = [str(a) for a in argv]
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,
            cwd=cwd,
            env=env,
        )
        self.tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self._pumps = [
            threading.Thread(target=_pump, args=(self.proc.stdout, on_stdout_line, None), daemon=True),
            threading.Thread(target=_pump, args=(self.proc.stderr, None, self.tail), daemon=True),
        ]
        for t in self._pumps:
            t.start()
        self.exited_at: float | None = None
        self.timed_out = False
        self.cancelled = False
        self._outcome: ProcessOutcome | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def exited(self) -> bool:
        """Whether the child has exited (without reaping it)."""
        if self._outcome is not None or self.proc.returncode is not None:
            return True
        try:
            info = os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG)
        except ChildProcessError:
            return True
        if info is not None and self.exited_at is None:
            self.exited_at = time.monotonic()
        return info is not None

    def wait_exited(self, timeout_s: float | None = None, cancel: threading.Event | None = None) -> str | None:
        """Wait until the child exited, without reaping it. Returns "timeout", "cancelled" or None (exited)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not self.exited():
            if cancel is not None and cancel.is_set():
                return "cancelled"
            if deadline is not None and time.monotonic() >= deadline:
                return "timeout"
            time.sleep(0.02)
        return None

    def stop(self, grace_s: float = KILL_GRACE_S) -> None:
        """SIGTERM the child's process group, SIGKILL after ``grace_s`` (reaps the child)."""
        if self._outcome is None:
            kill_group(self.proc.pid, grace_s=grace_s, leader=self.proc)

    def finish(self, timeout_s: float = 30.0) -> ProcessOutcome:
        """Reap the child (killing whatever is left in its group first when it is still running) and say how it
        ended. Idempotent."""
        if self._outcome is not None:
            return self._outcome
        if not self.exited():
            self.stop()
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # anything the child left in its group goes with it
        except (ProcessLookupError, PermissionError):
            pass
        returncode = self.proc.wait(timeout=timeout_s)
        for t in self._pumps:
            t.join(timeout=5)
        end = self.exited_at if self.exited_at is not None else time.monotonic()
        self._outcome = ProcessOutcome(
            argv=self.argv,
            returncode=returncode,
            duration_s=end - self.started,
            stderr_tail=list(self.tail),
            timed_out=self.timed_out,
            cancelled=self.cancelled,
        )
        return self._outcome


def start_process(
    argv: Sequence[str],
    *,
    on_stdout_line: Callable[[str], None] | None = None,
    cwd: str | None = None,
    env: dict[str, str] | None = None,
) -> Child:
    """Start ``argv`` in its own process group and return at once; the caller waits (:meth:`Child.wait_exited`),
    stops (:meth:`Child.stop`) and reaps (:meth:`Child.finish`) it. Always ``finish`` a started child."""
    return Child(argv, on_stdout_line=on_stdout_line, cwd=cwd, env=env)
