"""A calendar of scheduled per-person events (repayments, exits, court dates).

Mechanisms schedule follow-ups instead of checking every person every day, so that work grows with
events. Entries are validated when they fall due (the mechanism re-checks the person's state), so a
superseded entry is simply ignored: nothing needs to be cancelled. Entries past the horizon are
dropped, since the run ends first.

Storage is one pool of entries (person, tag, next entry of the same day) with a list head per day
and a free list, so scheduling and popping are compiled loops over the entries concerned, whatever
the number of distinct days; the pool doubles when full and reuses popped entries.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_FREE, _TOP, _PENDING = 0, 1, 2
"""Indices in ``meta``: head of the free list, first never-used entry, entries pending."""


@njit(cache=True)
def _push(head, nxt, pid, tag, meta, days, pids, tags, first, horizon):
    for i in range(days.size):
        d = days[i]
        if d < first or d >= horizon:  # past the run's end (or already past): never due
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


@njit(cache=True)
def _pop(head, nxt, pid, tag, meta, day):
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
    by_tag = np.argsort(tags, kind="mergesort")
    order = by_tag[np.argsort(pids[by_tag], kind="mergesort")]
    return pids[order], tags[order]


class Calendar:
    """Per-day lists of (person id, tag) pairs."""

    def __init__(self, horizon: int, capacity: int = 1024) -> None:
        self.horizon = horizon
        self._head = np.full(max(horizon, 0), -1, np.int64)
        self._next = np.empty(capacity, np.int64)
        self._pid = np.empty(capacity, np.int64)
        self._tag = np.empty(capacity, np.int64)
        self._meta = np.asarray([-1, 0, 0], np.int64)

    @property
    def pending(self) -> int:
        """Entries scheduled and not yet popped."""
        return int(self._meta[_PENDING])

    def _reserve(self, n: int) -> None:
        """Make room for ``n`` more entries (the pool doubles until they fit)."""
        need = self.pending + n
        cap = self._pid.size
        if need <= cap:
            return
        while cap < need:
            cap *= 2
        for name in ("_next", "_pid", "_tag"):
            old = getattr(self, name)
            new = np.empty(cap, np.int64)
            new[: old.size] = old
            setattr(self, name, new)

    def schedule(
        self,
        days: np.ndarray,
        pids: np.ndarray,
        tags: np.ndarray | None = None,
        first_day: int = 0,
    ) -> None:
        """Schedule ``pids[i]`` on ``days[i]`` with an optional integer tag (default 0).

        Entries before ``first_day`` (a day already popped) or past the horizon are dropped.
        """
        days = np.asarray(days, np.int64)
        if days.size == 0:
            return
        pids = np.asarray(pids, np.int64)
        if tags is not None:
            tags = np.asarray(tags, np.int64)
        if days.size != pids.size or (tags is not None and tags.size != pids.size):
            raise ValueError("days, pids and tags must have the same length")
        self._reserve(days.size)
        _push(
            self._head,
            self._next,
            self._pid,
            self._tag,
            self._meta,
            days,
            pids,
            tags,
            max(first_day, 0),
            self.horizon,
        )

    def pop(self, day: int) -> tuple[np.ndarray, np.ndarray]:
        """Entries due on ``day`` (ordered by person, then tag), removed from the calendar."""
        if not 0 <= day < self.horizon or self._head[day] < 0:  # nothing due: no compiled call
            return np.empty(0, np.int64), np.empty(0, np.int64)
        return _pop(self._head, self._next, self._pid, self._tag, self._meta, day)
