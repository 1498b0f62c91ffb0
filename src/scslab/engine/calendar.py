"""A calendar of scheduled per-person events (repayments, exits, court dates).

Mechanisms schedule follow-ups instead of checking every person every day, so that work grows with
events. Entries are validated when they fall due (the mechanism re-checks the person's state), so a
superseded entry is simply ignored: nothing needs to be cancelled. Entries past the horizon are
dropped, since the run ends first.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np


class Calendar:
    """Per-day buckets of (person id, tag) pairs."""

    def __init__(self, horizon: int) -> None:
        self.horizon = horizon
        self._due: dict[int, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
        self.pending = 0

    def schedule(self, days: np.ndarray, pids: np.ndarray, tags: np.ndarray | None = None) -> None:
        """Schedule ``pids[i]`` on ``days[i]`` with an optional integer tag."""
        days = np.asarray(days, np.int64)
        pids = np.asarray(pids, np.int64)
        tags = np.zeros(pids.size, np.int64) if tags is None else np.asarray(tags, np.int64)
        keep = days < self.horizon
        days, pids, tags = days[keep], pids[keep], tags[keep]
        if days.size == 0:
            return
        order = np.argsort(days, kind="stable")
        days, pids, tags = days[order], pids[order], tags[order]
        cuts = np.flatnonzero(np.diff(days)) + 1
        for d, p, t in zip(
            np.split(days, cuts), np.split(pids, cuts), np.split(tags, cuts), strict=True
        ):
            self._due[int(d[0])].append((p, t))
        self.pending += pids.size

    def pop(self, day: int) -> tuple[np.ndarray, np.ndarray]:
        """Entries due on ``day`` (ordered by person, then tag), removed from the calendar."""
        parts = self._due.pop(day, [])
        if not parts:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        pids = np.concatenate([p for p, _ in parts])
        tags = np.concatenate([t for _, t in parts])
        self.pending -= pids.size
        order = np.lexsort((tags, pids))
        return pids[order], tags[order]
