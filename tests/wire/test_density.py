"""The density search as a pure function, on recorded level outcomes (no FFmpeg)."""

from __future__ import annotations

import pytest

from wire.kinds.density import least_squares_slope, search, upward_levels


def recorded(capacity=None, table=None):
    """A measure function replaying recorded outcomes: held when streams <= capacity, or per level from ``table``;
    it also records every call, so the test sees that no level is measured twice."""
    calls = []

    def measure(streams: int) -> bool:
        calls.append(streams)
        if table is not None:
            return table[streams]
        return streams <= capacity

    return measure, calls


@pytest.mark.parametrize(
    "max_streams, levels",
    [
        (1, [1]),
        (2, [1, 2]),
        (4, [1, 2, 4]),
        (6, [1, 2, 4, 6]),
        (32, [1, 2, 4, 8, 16, 32]),
        (33, [1, 2, 4, 8, 16, 32, 33]),
    ],
)
def test_upward_levels(max_streams, levels):
    assert upward_levels(max_streams) == levels


def test_upward_levels_needs_one():
    with pytest.raises(ValueError):
        upward_levels(0)


def test_first_level_fails_gives_zero():
    measure, calls = recorded(capacity=0)
    result = search(32, measure)
    assert result.maximum == 0 and result.levels == [1] == calls


def test_all_levels_hold_up_to_max_streams():
    measure, calls = recorded(capacity=100)
    result = search(12, measure)
    assert result.maximum == 12 and result.levels == [1, 2, 4, 8, 12]


@pytest.mark.parametrize(
    "capacity, levels",
    [
        (5, [1, 2, 4, 8, 6, 5]),  # fails at 8: bisect 4..8 -> 6 fails -> 5 holds
        (6, [1, 2, 4, 8, 6, 7]),
        (7, [1, 2, 4, 8, 6, 7]),
        (4, [1, 2, 4, 8, 6, 5]),
        (1, [1, 2]),
        (2, [1, 2, 4, 3]),
        (13, [1, 2, 4, 8, 16, 12, 14, 13]),
    ],
)
def test_failure_in_the_middle_bisects(capacity, levels):
    measure, calls = recorded(capacity=capacity)
    result = search(32, measure)
    assert result.maximum == capacity
    assert result.levels == levels == calls
    assert len(set(calls)) == len(calls)


def test_doubling_past_max_streams_tries_it_then_bisects():
    """max 6: 1, 2, 4 hold, 6 fails -> bisect between 4 and 6 -> 5."""
    measure, _ = recorded(capacity=5)
    result = search(6, measure)
    assert result.maximum == 5 and result.levels == [1, 2, 4, 6, 5]


def test_non_monotonic_data_is_deterministic():
    """Recorded outcomes that hold again above a failure: the search stops upward at the first failure and never
    re-measures a level; the same outcomes always give the same levels and maximum."""
    table = {1: True, 2: True, 4: False, 8: True, 3: True, 16: True}
    first = search(16, recorded(table=table)[0])
    again = search(16, recorded(table=table)[0])
    assert first.levels == again.levels == [1, 2, 4, 3]
    assert first.maximum == again.maximum == 3
    # a bisection step that fails below one that held: the lower bound stays at the level that held
    table = {1: True, 2: True, 4: True, 8: False, 6: True, 7: False, 5: False}
    result = search(16, recorded(table=table)[0])
    assert result.levels == [1, 2, 4, 8, 6, 7] and result.maximum == 6
    # a single stream fails but two would hold: 0, and 2 is never tried
    result = search(16, recorded(table={1: False, 2: True})[0])
    assert result.levels == [1] and result.maximum == 0


def test_outcomes_are_kept_with_their_levels():
    """``held`` reads the outcome; the outcomes come back in the order tried."""
    outcomes = {n: {"streams": n, "held": n <= 3} for n in (1, 2, 4, 3)}
    result = search(4, lambda n: outcomes[n], held=lambda o: o["held"])
    assert result.maximum == 3
    assert [o for _, o in result.tried] == [outcomes[1], outcomes[2], outcomes[4], outcomes[3]]


def test_least_squares_slope():
    assert least_squares_slope([(1, 10.0), (2, 12.0), (4, 16.0)]) == pytest.approx(2.0)
    assert least_squares_slope([(1, 10.0), (2, 13.0), (4, 16.0)]) == pytest.approx(27 / 14)
    assert least_squares_slope([(1, 10.0)]) is None
    assert least_squares_slope([(2, 10.0), (2, 11.0)]) is None
    assert least_squares_slope([]) is None
