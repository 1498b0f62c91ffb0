"""The day's board: event tables that mechanisms of earlier phases post and later phases read.

A day has two tables. ``acts`` holds ground truth (what people did) and whether it has been
recorded yet. ``records`` holds what the system saw: the act it claims, the source that recorded
it, and whether it is true. The gap between the two is what the lab measures. Tables are columns of
numpy arrays, ordered by person id so that later kernels touch memory in order; the board is
cleared at the start of every day.

A mechanism posts rows (``post_acts``, ``post_records``), or its kernel writes them in place:
``act_room``/``record_room`` hand out the buffers with room and the first free row, and
``acts_written``/``records_written`` take the count (no arrays returned to Python and copied).
"""

from __future__ import annotations

from collections.abc import Callable
from sys import getrefcount

import numpy as np
from numba import njit, types
from numba.core.errors import TypingError
from numba.extending import overload


class _Table:
    """Columns in reusable buffers that grow by doubling; rows kept in posting order until read.

    Reading orders the rows by person (a stable sort, so rows of one person stay in posting order)
    and hands out views. An array once read keeps its contents: a buffer that a view still
    shares (its reference count says so) is left to its holders and replaced, and one that
    nobody holds any more is reused the next day.
    """

    def __init__(
        self,
        columns: tuple[str, ...],
        dtypes: tuple[type, ...],
        append: Callable[..., bool],
        order: Callable[..., None],
        extra: tuple[tuple[str, type], ...] = (),
    ) -> None:
        self._append = append
        """The compiled appender of this table's columns (see ``_append_acts``)."""
        self._order = order
        """The compiled stable sort of this table's rows by person, in place (``_order_acts``)."""
        self.posted = len(columns)
        self.columns = columns + tuple(c for c, _ in extra)
        """Posted columns, then columns that later phases fill in (zero at first)."""
        self.extra = bool(extra)
        self._buffers = [np.empty(256, dt) for dt in (*dtypes, *(dt for _, dt in extra))]
        self.size = 0
        self._ordered = True
        self._view: dict[str, np.ndarray] | None = None
        self._handed_out = False

    def add(self, pid: np.ndarray, *values: np.ndarray | int | bool) -> None:
        """Append rows: ``pid`` and one value per other posted column (an array or a scalar)."""
        if type(pid) is not np.ndarray:
            pid = np.asarray(pid)
        if len(values) != self.posted - 1:
            raise ValueError(f"expected columns {self.columns[: self.posted]} of equal length")
        if self._view is not None and self.extra:
            raise RuntimeError("post every act before any mechanism reads the acts table")
        k = pid.size
        n = self.size
        if n + k > self._buffers[0].size:
            self._buffers = [_grown(b, n, n + k) for b in self._buffers]
        # one compiled call checks the lengths, copies the rows and says if they are still ordered
        try:
            ordered = self._append(*self._buffers, n, pid, *values)
        except TypingError:  # a list or another sequence: as arrays (numpy's assignment rules)
            values = tuple(v if np.isscalar(v) else np.asarray(v) for v in values)
            ordered = self._append(*self._buffers, n, pid, *values)
        if k:
            self._ordered = self._ordered and ordered
            self.size = n + k
            self._view = None

    def _still_read(self) -> bool:
        """Whether an array handed out earlier still shares a buffer (a view holds a reference)."""
        self._view = None
        # the list, the loop variable and getrefcount's argument: a buffer nobody reads
        return self._handed_out and any(getrefcount(b) > 3 for b in self._buffers)

    def room(self, most: int) -> tuple[np.ndarray | int, ...]:
        """Every column's buffer, with room for ``most`` more rows, and the first free row.

        For a kernel that writes rows in place (see ``Board.record_room``); it fills the columns
        that later phases fill in too (``recorded``: false).
        """
        if self._view is not None and self.extra:
            raise RuntimeError("post every act before any mechanism reads the acts table")
        n = self.size
        if n + most > self._buffers[0].size:
            self._buffers = [_grown(b, n, n + most) for b in self._buffers]
        return (*self._buffers, n)

    def written(self, k: int, ordered: bool) -> None:
        """``k`` rows were written after the last (``ordered``: still in person order)."""
        if k:
            self._ordered = self._ordered and ordered
            self.size += k
            self._view = None

    def merged(self) -> dict[str, np.ndarray]:
        """Today's rows ordered by person, as a view per column."""
        if self._view is None:
            n = self.size
            if not self._ordered:
                if self._still_read():  # arrays read earlier today keep their contents
                    self._buffers = [b.copy() for b in self._buffers]
                self._order(*self._buffers, n)
                self._ordered = True
            self._view = {c: b[:n] for c, b in zip(self.columns, self._buffers, strict=True)}
            self._handed_out = True
        return self._view

    def clear(self) -> None:
        if self._still_read():  # an array still held keeps its contents: new buffers
            self._buffers = [np.empty(b.size, b.dtype) for b in self._buffers]
        self._handed_out = False
        self.size = 0
        self._ordered = True
        self._view = None


def _grown(buffer: np.ndarray, used: int, need: int) -> np.ndarray:
    """A buffer of at least ``need`` rows holding the first ``used`` rows of ``buffer``."""
    out = np.empty(max(need, 2 * buffer.size), buffer.dtype)
    out[:used] = buffer[:used]
    return out


@njit(cache=True)
def _reorder(buffer, order):
    """Put the first ``order.size`` rows of ``buffer`` in ``order``, in place."""
    rows = buffer[: order.size].copy()
    for i in range(order.size):
        buffer[i] = rows[order[i]]


@njit(cache=True)
def _stable_order(keys, n):
    """The order that sorts ``keys[:n]`` stably: a merge of the sorted runs the posts left.

    Each post is usually ordered already, so a day's table is a few sorted runs, and merging
    neighbouring runs pass by pass costs about ``n`` steps per doubling of the run length.
    """
    runs = 1
    for i in range(1, n):
        runs += keys[i] < keys[i - 1]
    bounds = np.empty(runs + 1, np.int64)  # run r is [bounds[r], bounds[r + 1])
    bounds[0], bounds[runs] = 0, n
    r = 1
    for i in range(1, n):
        if keys[i] < keys[i - 1]:
            bounds[r] = i
            r += 1
    order = np.arange(n)
    merged = np.empty(n, np.int64)
    # the keys travel with the order, so a comparison reads them in sequence, not through it
    sorted_keys = np.empty(n, keys.dtype)
    for i in range(n):
        sorted_keys[i] = keys[i]
    merged_keys = np.empty(n, keys.dtype)
    while runs > 1:
        j = 0
        for r in range(0, runs - 1, 2):  # merge runs r and r + 1; on a tie the earlier row first
            x, mid, y, hi = bounds[r], bounds[r + 1], bounds[r + 1], bounds[r + 2]
            k = x
            while x < mid and y < hi:  # without branches: which run is next is a coin toss
                kx, ky = sorted_keys[x], sorted_keys[y]
                take_y = ky < kx
                merged[k] = order[y] if take_y else order[x]
                merged_keys[k] = ky if take_y else kx
                y += take_y
                x += 1 - take_y
                k += 1
            # the rest of either run, copied in loops: slices take seconds longer to compile
            for z in range(x, mid):
                merged[k], merged_keys[k] = order[z], sorted_keys[z]
                k += 1
            for z in range(y, hi):
                merged[k], merged_keys[k] = order[z], sorted_keys[z]
                k += 1
            bounds[j] = bounds[r]
            j += 1
        if runs % 2:  # the last run has no partner this pass
            for z in range(bounds[runs - 1], n):
                merged[z], merged_keys[z] = order[z], sorted_keys[z]
            bounds[j] = bounds[runs - 1]
            j += 1
        bounds[j] = n
        runs = j
        order, merged = merged, order
        sorted_keys, merged_keys = merged_keys, sorted_keys
    return order


@njit(cache=True)
def _order_acts(pid_buf, act_buf, recorded_buf, n):
    """Order the first ``n`` acts by person, in place (stably: posting order within a person)."""
    order = _stable_order(pid_buf, n)
    _reorder(pid_buf, order)
    _reorder(act_buf, order)
    _reorder(recorded_buf, order)


@njit(cache=True)
def _order_records(pid_buf, act_buf, source_buf, true_buf, n):
    """Order the first ``n`` records by person, in place (stably)."""
    order = _stable_order(pid_buf, n)
    _reorder(pid_buf, order)
    _reorder(act_buf, order)
    _reorder(source_buf, order)
    _reorder(true_buf, order)


def _value(column, i):
    """Row ``i`` of a posted column given as an array, or the scalar given for every row."""


@overload(_value, inline="always")
def _value_of(column, i):
    if isinstance(column, types.Array):
        return lambda column, i: column[i]
    if isinstance(column, (types.Number, types.Boolean)):
        return lambda column, i: column
    return None  # a list or other sequence: ``add`` retries with arrays


def _is_array_of(column, k):
    """Whether a posted column fits ``k`` rows: an array of ``k`` values, or one scalar."""


@overload(_is_array_of, inline="always")
def _is_array_of_impl(column, k):
    if isinstance(column, types.Array):
        return lambda column, k: column.size == k
    if isinstance(column, (types.Number, types.Boolean)):
        return lambda column, k: True
    return None


@njit(cache=True)
def _copy_ids(pid_buf, n, pid):
    """Copy ``pid`` to ``pid_buf[n:]``; true when the buffer stays ordered by person."""
    ordered = n == 0 or pid.size == 0 or pid[0] >= pid_buf[n - 1]
    for i in range(pid.size):
        pid_buf[n + i] = pid[i]
        if i and pid[i] < pid[i - 1]:
            ordered = False
    return ordered


@njit(cache=True)
def written_in_order(pid_buf, n, k):
    """Whether rows ``n .. n + k`` written in place leave ``pid_buf[: n + k]`` ordered by person.

    (Given that the first ``n`` rows were.) For kernels that write board rows in place.
    """
    ordered = n == 0 or k == 0 or pid_buf[n] >= pid_buf[n - 1]
    for i in range(n + 1, n + k):
        if pid_buf[i] < pid_buf[i - 1]:
            ordered = False
    return ordered


@njit(cache=True)
def _append_acts(pid_buf, act_buf, recorded_buf, n, pid, act):
    """Append acts (``act``: one per row or one for all), not yet recorded; still ordered?"""
    if not _is_array_of(act, pid.size):
        raise ValueError("expected columns ('pid', 'act') of equal length")
    for i in range(pid.size):
        act_buf[n + i] = _value(act, i)
        recorded_buf[n + i] = False
    return _copy_ids(pid_buf, n, pid)


@njit(cache=True)
def _append_records(pid_buf, act_buf, source_buf, true_buf, n, pid, act, source, true):
    """Append records (each value column: one per row or one for all); still ordered?"""
    k = pid.size
    if not (_is_array_of(act, k) and _is_array_of(source, k) and _is_array_of(true, k)):
        raise ValueError("expected columns ('pid', 'act', 'source', 'true') of equal length")
    for i in range(k):
        act_buf[n + i] = _value(act, i)
        source_buf[n + i] = _value(source, i)
        true_buf[n + i] = _value(true, i)
    return _copy_ids(pid_buf, n, pid)


class Board:
    """Today's acts and records."""

    def __init__(self) -> None:
        self._acts = _Table(
            ("pid", "act"),
            (np.int64, np.int16),
            _append_acts,
            _order_acts,
            (("recorded", np.bool_),),
        )
        self._records = _Table(
            ("pid", "act", "source", "true"),
            (np.int64, np.int16, np.int16, np.bool_),
            _append_records,
            _order_records,
        )

    def post_acts(self, pid: np.ndarray, act: np.ndarray | int) -> None:
        """Post ground-truth acts (one act code, or one per person)."""
        self._acts.add(pid, act)

    def post_records(
        self,
        pid: np.ndarray,
        act: np.ndarray | int,
        source: np.ndarray | int,
        true: np.ndarray | bool,
    ) -> None:
        """Post observed records."""
        self._records.add(pid, act, source, true)

    def act_room(self, most: int) -> tuple[np.ndarray | int, ...]:
        """Room for up to ``most`` acts written in place by a kernel.

        Returns the ``pid``, ``act`` and ``recorded`` buffers and the row to write from, as
        ``record_room`` does for records; the kernel writes ``recorded`` false, and the caller
        says how many rows it wrote with ``acts_written``.
        """
        return self._acts.room(most)

    def acts_written(self, k: int, ordered: bool) -> None:
        """``k`` acts were written in the room of ``act_room`` (``ordered``: by person)."""
        self._acts.written(k, ordered)

    def record_room(self, most: int) -> tuple[np.ndarray | int, ...]:
        """Room for up to ``most`` records written in place by a kernel.

        Returns the ``pid``, ``act``, ``source`` and ``true`` buffers and the row to write from,
        ``n``. The kernel writes rows ``n, n + 1, ...`` (see ``written_in_order``), and the caller
        then says how many with ``records_written``; nothing posted in between.
        """
        return self._records.room(most)

    def records_written(self, k: int, ordered: bool) -> None:
        """``k`` records were written in the room of ``record_room`` (``ordered``: by person)."""
        self._records.written(k, ordered)

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
