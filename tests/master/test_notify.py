"""The long-poll wake-up signal: a bump wakes about as many waiters as there is new work."""

from __future__ import annotations

import threading
import time

from master.notify import SPARE_WAKEUPS, WorkSignal


def _waiters(signal: WorkSignal, n: int, timeout: float):
    woken, threads = [], []
    seen = signal.generation

    def wait():
        if signal.wait_for_change(seen, timeout):
            woken.append(time.monotonic())

    for _ in range(n):
        threads.append(threading.Thread(target=wait))
        threads[-1].start()
    time.sleep(0.2)
    return woken, threads


def test_bump_count_wakes_that_many_plus_spare():
    """bump(1) wakes 1 + SPARE_WAKEUPS of 10 waiters; the rest sleep out their timeout."""
    signal = WorkSignal()
    woken, threads = _waiters(signal, 10, timeout=1.5)
    started = time.monotonic()
    signal.bump(1)
    time.sleep(0.3)
    assert len(woken) == 1 + SPARE_WAKEUPS
    assert all(t - started < 0.3 for t in woken)
    for t in threads:
        t.join(timeout=5)


def test_pass_on_and_bump_all():
    """pass_on wakes one more waiter; bump() without a count wakes everyone."""
    signal = WorkSignal()
    woken, threads = _waiters(signal, 6, timeout=3)
    signal.bump(1)
    time.sleep(0.2)
    first = len(woken)
    signal.pass_on()
    time.sleep(0.2)
    assert len(woken) == first + 1
    signal.bump()
    for t in threads:
        t.join(timeout=5)
    assert len(woken) == 6
