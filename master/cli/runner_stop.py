"""When ansible-runner should stop a playbook (Ctrl-C, SIGTERM, SIGHUP, a deadline), and ending all it started.

ansible-runner kills only ansible-playbook's process group when it cancels a run, but Ansible starts each task's
worker in a session of its own: the workers and the modules they run (a ``command`` task's process) would live on.
:class:`RunnerStop` remembers every process under this one at the moment it asks to stop (but those there before the
run) and ends those still there afterwards. It also keeps ansible-runner from installing its own SIGINT and SIGTERM
handlers, which would stay after the run and swallow Ctrl-C for the rest of the command (following the campaign);
the previous handlers come back when the run ends.
"""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType

import psutil

STOP_TIMEOUT_S = 10.0
"""Longest wait for the playbook's leftover processes to exit after SIGTERM before they are killed."""

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Signals that stop a running playbook: Ctrl-C, a polite kill, the terminal closing."""


class RunnerStop:
    """ansible-runner's ``cancel_callback``, as a context manager around the run."""

    def __init__(self, timeout_s: float):
        self.timeout_s = timeout_s
        self.deadline = time.monotonic() + timeout_s
        self.signum: int | None = None
        self.timed_out = False
        self._leftovers: list[psutil.Process] = []
        self._previous: dict[int, object] = {}
        self._before: set[int] = set()

    def __enter__(self) -> RunnerStop:
        self._before = {process.pid for process in _descendants()}  # not the run's: never ended here
        if threading.current_thread() is threading.main_thread():  # only it may set signal handlers
            self._previous = {signum: signal.signal(signum, self._on_signal) for signum in SIGNALS}
        return self

    def __exit__(self, *exc_info) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self.end_leftovers()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.signum = self.signum or signum

    @property
    def stopping(self) -> bool:
        return self.signum is not None or self.timed_out

    def __call__(self) -> bool:
        """True once the run should stop; then remembers the processes the run started, to end them after it."""
        if not self.stopping and time.monotonic() > self.deadline:
            self.timed_out = True
        if self.stopping and not self._leftovers:
            self._leftovers = [process for process in _descendants() if process.pid not in self._before]
        return self.stopping

    def end_leftovers(self) -> None:
        """SIGTERM what is left of the processes remembered when stopping; SIGKILL them after STOP_TIMEOUT_S."""
        alive = [process for process in self._leftovers if process.is_running()]
        for process in alive:
            try:
                process.terminate()
            except psutil.Error:
                continue
        _, alive = psutil.wait_procs(alive, timeout=STOP_TIMEOUT_S)
        for process in alive:
            try:
                process.kill()
            except psutil.Error:
                continue


def _descendants() -> list[psutil.Process]:
    """Every process under this one."""
    try:
        return psutil.Process().children(recursive=True)
    except psutil.Error:
        return []
