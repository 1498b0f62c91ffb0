"""The calendar returns exactly what was scheduled for each day, ordered, whatever the pool did."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from scslab.engine.calendar import Calendar

entries = st.lists(
    st.tuples(st.integers(0, 40), st.integers(0, 50), st.integers(0, 7)), max_size=60
)


@settings(max_examples=60, deadline=None)
@given(batches=st.lists(entries, min_size=1, max_size=12))
def test_calendar_pops_what_was_scheduled_in_person_then_tag_order(batches):
    horizon = 30
    cal = Calendar(horizon, capacity=4)  # tiny pool: growth and reuse are exercised
    expected: dict[int, list[tuple[int, int]]] = {}
    for today, batch in enumerate(batches):
        days = np.asarray([today + d for d, _, _ in batch], np.int64)
        pids = np.asarray([p for _, p, _ in batch], np.int64)
        tags = np.asarray([t for _, _, t in batch], np.int64)
        cal.schedule(days, pids, tags)
        for d, p, t in zip(days, pids, tags, strict=True):
            if d < horizon:
                expected.setdefault(int(d), []).append((int(p), int(t)))
        pids_due, tags_due = cal.pop(today)
        assert list(zip(pids_due.tolist(), tags_due.tolist(), strict=True)) == sorted(
            expected.pop(today, [])
        )
        assert cal.pending == sum(len(v) for v in expected.values())


def test_calendar_ignores_days_outside_the_run():
    cal = Calendar(10)
    cal.schedule(np.asarray([-1, 10, 99, 3]), np.asarray([1, 2, 3, 4]))
    assert cal.pending == 1
    assert cal.pop(3)[0].tolist() == [4]
    assert cal.pop(10)[0].size == 0 and cal.pop(-1)[0].size == 0


def test_calendar_drops_entries_before_first_day_and_tags_default_to_zero():
    cal = Calendar(10)
    cal.pop(4)  # day 4 is over: an entry for it would never be popped
    cal.schedule(np.asarray([3, 4, 5, 6]), np.asarray([1, 2, 3, 4]), first_day=5)
    assert cal.pending == 2
    pids, tags = cal.pop(5)
    assert pids.tolist() == [3] and tags.tolist() == [0]


def test_a_calendar_made_with_no_room_grows_instead_of_looping():
    """``Calendar(10, 0)``: the pool doubled from 0 for ever."""
    cal = Calendar(10, 0)
    cal.schedule(np.array([1, 1, 2]), np.array([5, 6, 7]))
    pids, _ = cal.pop(1)
    assert sorted(pids.tolist()) == [5, 6]
