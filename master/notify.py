"""Wake long-polling claimers when work arrives, instead of letting them sleep out their interval.

Waking every waiter for every job makes hundreds of threads race for one job (and for the GIL): a bump wakes about as
many waiters as jobs were added, and a woken waiter that claims nothing passes the wake-up on to the next one, so a
job that the first woken node cannot run still reaches a node that can.
"""

from __future__ import annotations

import threading

SPARE_WAKEUPS = 1
"""Waiters woken on top of the number of new jobs, in case some of the woken cannot run them."""


class WorkSignal:
    """A generation counter plus a condition; waiters sleep until a bump moves the counter."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._generation = 0

    @property
    def generation(self) -> int:
        with self._cond:
            return self._generation

    def bump(self, count: int | None = None) -> None:
        """Announce work: ``count`` new claimable jobs wake about that many waiters; None wakes all of them."""
        with self._cond:
            self._generation += 1
            if count is None:
                self._cond.notify_all()
            elif count > 0:
                self._cond.notify(count + SPARE_WAKEUPS)

    def pass_on(self) -> None:
        """A woken waiter found nothing it could claim: wake one more."""
        with self._cond:
            self._cond.notify(1)

    def wait_for_change(self, seen: int, timeout: float) -> bool:
        """Block until woken with the generation past ``seen``, or ``timeout`` passes; True if it moved."""
        with self._cond:
            return self._cond.wait_for(lambda: self._generation != seen, timeout=timeout)
