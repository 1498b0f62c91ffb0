"""The day's board: event tables that mechanisms of earlier phases post and later phases read.

A day has two tables. ``acts`` holds ground truth (what people did) and whether it has been
recorded yet. ``records`` holds what the system saw: the act it claims, the source that recorded
it, and whether it is true. The gap between the two is what the lab measures. Tables are columns of
numpy arrays, ordered by person id so that later kernels touch memory in order; the board is
cleared at the start of every day.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import njit


@dataclass
class _Table:
    columns: tuple[str, ...]
    dtypes: tuple[type, ...]
    extra: tuple[tuple[str, type], ...] = ()
    """Columns that later phases fill in (zero at first)."""
    parts: list[tuple[np.ndarray, ...]] = field(default_factory=list)
    _merged: dict[str, np.ndarray] | None = None

    def add(self, *cols: np.ndarray) -> None:
        size = len(cols[0])
        if len(cols) != len(self.columns) or any([len(c) != size for c in cols]):
            raise ValueError(f"expected columns {self.columns} of equal length")
        if self._merged is not None and self.extra:
            raise RuntimeError("post every act before any mechanism reads the acts table")
        if size:
            self.parts.append(tuple([_as(c, dt) for c, dt in zip(cols, self.dtypes, strict=True)]))
            self._merged = None

    def merged(self) -> dict[str, np.ndarray]:
        if self._merged is None:
            parts = self.parts
            if len(parts) == 1:
                cols = list(parts[0])
            elif parts:
                cols = [np.concatenate([p[i] for p in parts]) for i in range(len(self.columns))]
                if not _is_sorted(cols[0]):
                    order = np.argsort(cols[0], kind="stable")
                    cols = [col[order] for col in cols]
            else:
                cols = [np.empty(0, dt) for dt in self.dtypes]
            merged = dict(zip(self.columns, cols, strict=True))
            for c, dt in self.extra:
                merged[c] = np.zeros(cols[0].size, dt)
            self._merged = merged
        return self._merged

    def clear(self) -> None:
        self.parts.clear()
        self._merged = None


def _as(column: np.ndarray, dtype: type) -> np.ndarray:
    """``column`` as ``dtype`` (no copy when it already is)."""
    column = np.asarray(column)
    return column if column.dtype == dtype else column.astype(dtype)


def _column(value: np.ndarray | int | bool, n: int, dtype: type) -> np.ndarray:
    """A column of ``n`` values from one value or an array."""
    if isinstance(value, np.ndarray) and value.ndim:
        return value
    if np.ndim(value) == 0:
        return np.full(n, value, dtype)
    return np.asarray(value, dtype)


@njit(cache=True)
def _is_sorted(a):
    for i in range(1, a.size):  # noqa: SIM110 (numba compiles loops, not generators)
        if a[i] < a[i - 1]:
            return False
    return True


class Board:
    """Today's acts and records."""

    def __init__(self) -> None:
        self._acts = _Table(("pid", "act"), (np.int64, np.int16), (("recorded", np.bool_),))
        self._records = _Table(
            ("pid", "act", "source", "true"), (np.int64, np.int16, np.int16, np.bool_)
        )

    def post_acts(self, pid: np.ndarray, act: np.ndarray | int) -> None:
        """Post ground-truth acts (one act code, or one per person)."""
        n = len(pid)
        if n:
            self._acts.add(pid, _column(act, n, np.int16))

    def post_records(
        self,
        pid: np.ndarray,
        act: np.ndarray | int,
        source: np.ndarray | int,
        true: np.ndarray | bool,
    ) -> None:
        """Post observed records."""
        n = len(pid)
        if n:
            self._records.add(
                pid,
                _column(act, n, np.int16),
                _column(source, n, np.int16),
                _column(true, n, np.bool_),
            )

    @property
    def acts(self) -> dict[str, np.ndarray]:
        """Today's acts as columns ``pid``, ``act`` and ``recorded``, ordered by person.

        ``recorded`` starts false; a mechanism that records an act (a data source, an informant)
        sets it, so later phases know what is still unrecorded. Every act must be posted before
        the first mechanism reads this table (behaviour runs first in the plan).
        """
        return self._acts.merged()

    @property
    def records(self) -> dict[str, np.ndarray]:
        """Today's records as columns ``pid``, ``act``, ``source``, ``true``, ordered by person."""
        return self._records.merged()

    def clear(self) -> None:
        """Forget the day."""
        self._acts.clear()
        self._records.clear()
