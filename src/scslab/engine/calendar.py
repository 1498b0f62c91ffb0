"""A calendar of scheduled per-person events (repayments, exits, court dates).

Mechanisms schedule follow-ups instead of checking every person every day, so that work grows with
events. Entries are validated when they fall due (the mechanism re-checks the person's state), so a
superseded entry is simply ignored: nothing needs to be cancelled. Entries past the horizon are
dropped, since the run ends first.

Storage is one pool of entries (person, tag, next entry of the same day) with a list head per day
and a free list, so scheduling and popping are compiled loops over the entries concerned, whatever
the number of distinct days; the pool doubles when full and reuses popped entries. The calendar is
a compiled record (``CalendarState``) that kernels schedule on and pop from themselves
(``schedule``, ``pop``); ``Calendar`` wraps one for Python code (a prototype, a test), each of its
methods one call of those kernels.

Owns the calendar record, its pool and the kernels that schedule and pop. It decides nothing
about an entry: what an entry means, and whether it still holds when it falls due, is the
scheduling mechanism's rule.
"""

from __future__ import annotations

import numpy as np

from scslab.kernels.compact import grown
from scslab.kernels.compiled_once import compiled_once
from scslab.kernels.jit import kernel
from scslab.kernels.sorting import stable_order
from scslab.kernels.structs import compiled_struct

_FREE, _TOP, _PENDING = 0, 1, 2
"""Indices in ``meta``: head of the free list, first never-used entry, entries pending."""

CalendarState = compiled_struct(
    "CalendarState", ("head", "nxt", "pid", "tag", "meta", "horizon"), __name__
)
"""A list head per day, the pool (next entry, person, tag), ``meta`` and the horizon (days)."""


@kernel
def new_calendar(horizon, capacity=1024):
    """An empty calendar for days ``0 .. horizon - 1``."""
    return CalendarState(
        np.full(max(horizon, 0), -1, np.int64),
        np.empty(capacity, np.int64),
        np.empty(capacity, np.int64),
        np.empty(capacity, np.int64),
        np.asarray([-1, 0, 0], np.int64),
        max(horizon, 0),
    )


@kernel
def _reserve(cal, n):
    """Make room for ``n`` more entries (the pool doubles until they fit)."""
    need = cal.meta[_PENDING] + n  # popped entries are reused first
    size = cal.pid.size
    if need <= size:
        return
    size = max(size, 1)  # a pool of 0 would never double
    while size < need:
        size *= 2
    cal.nxt = grown(cal.nxt, cal.nxt.size, size)
    cal.pid = grown(cal.pid, cal.pid.size, size)
    cal.tag = grown(cal.tag, cal.tag.size, size)


@compiled_once
@kernel
def schedule(cal, days, pids, tags, first_day):
    """Schedule ``pids[i]`` on ``days[i]`` with tag ``tags[i]`` (``None``: 0).

    Entries before ``first_day`` (a day already popped) or past the horizon are dropped.
    """
    if days.size != pids.size or (tags is not None and tags.size != pids.size):
        raise ValueError("days, pids and tags must have the same length")
    if days.size == 0:
        return
    _reserve(cal, days.size)
    head, nxt, pid, tag, meta = cal.head, cal.nxt, cal.pid, cal.tag, cal.meta
    first = max(first_day, 0)
    for i in range(days.size):
        d = days[i]
        if d < first or d >= cal.horizon:  # past the run's end (or already past): never due
            continue
        slot = meta[_FREE]
        if slot >= 0:
            meta[_FREE] = nxt[slot]
        else:
            slot = meta[_TOP]
            meta[_TOP] += 1
        pid[slot] = pids[i]
        tag[slot] = 0 if tags is None else tags[i]
        nxt[slot] = head[d]
        head[d] = slot
        meta[_PENDING] += 1


@compiled_once
@kernel
def pop(cal, day):
    """Entries due on ``day`` (ordered by person, then tag), removed from the calendar."""
    if not 0 <= day < cal.horizon or cal.head[day] < 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    head, nxt, pid, tag, meta = cal.head, cal.nxt, cal.pid, cal.tag, cal.meta
    n = 0
    slot = head[day]
    while slot >= 0:
        n += 1
        slot = nxt[slot]
    pids = np.empty(n, np.int64)
    tags = np.empty(n, np.int64)
    slot = head[day]
    i = 0
    while slot >= 0:
        pids[i] = pid[slot]
        tags[i] = tag[slot]
        following = nxt[slot]
        nxt[slot] = meta[_FREE]
        meta[_FREE] = slot
        slot = following
        i += 1
    head[day] = -1
    meta[_PENDING] -= n
    by_tag = stable_order(tags)
    order = by_tag[stable_order(pids[by_tag])]
    return pids[order], tags[order]


@kernel
def _meta(cal):
    return cal.meta


class Calendar:
    """Per-day lists of (person id, tag) pairs, for Python code (``native``: the record)."""

    def __init__(self, horizon: int, capacity: int = 1024) -> None:
        self.native = new_calendar(horizon, capacity)
        self._meta = _meta(self.native)
        """The record's ``meta`` (never replaced): read without a compiled call."""

    @property
    def pending(self) -> int:
        """Entries scheduled and not yet popped."""
        return int(self._meta[_PENDING])

    def schedule(
        self,
        days: np.ndarray,
        pids: np.ndarray,
        tags: np.ndarray | None = None,
        first_day: int = 0,
    ) -> None:
        """Schedule ``pids[i]`` on ``days[i]`` with an optional integer tag (default 0).

        Entries before ``first_day`` (a day already popped) or past the horizon are dropped; the
        ``schedule`` kernel decides (and refuses columns of different lengths).
        """
        schedule(
            self.native,
            np.asarray(days, np.int64),
            np.asarray(pids, np.int64),
            None if tags is None else np.asarray(tags, np.int64),
            first_day,
        )

    def pop(self, day: int) -> tuple[np.ndarray, np.ndarray]:
        """Entries due on ``day`` (ordered by person, then tag), removed: the ``pop`` kernel."""
        return pop(self.native, day)
