"""Wake long-polling claimers when work arrives, instead of letting them sleep out their interval."""
from __future__ import annotations

import threading


class WorkSignal:
    """A counter plus a condition: ``wait_for_change(seen, timeout)`` returns when ``bump()`` moved the counter."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._generation = 0

    @property
    def generation(self) -> int:
        with self._cond:
            return self._generation

    def bump(self) -> None:
        """Announce that new work may be claimable."""
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def wait_for_change(self, seen: int, timeout: float) -> bool:
        """Block until the generation differs from ``seen`` or ``timeout`` passes; True if it changed."""
        with self._cond:
            return self._cond.wait_for(lambda: self._generation != seen, timeout=timeout)
