"""The day's board: event tables that mechanisms of earlier phases post and later phases read.

A day has two tables. ``acts`` holds ground truth (what people did) and whether it has been
recorded yet. ``records`` holds what the system saw: the act it claims, the source that recorded
it, and whether it is true. The gap between the two is what the lab measures. Tables are columns of
numpy arrays, ordered by person id when read so that later kernels touch memory in order; the
board is cleared at the start of every day.

The board itself is a compiled record (``BoardState``, see ``kernels/structs.py``) that Python and
kernels share: a kernel makes room (``act_room``/``record_room``: the first free row, the buffers
grown if need be), writes rows in place and says how many (``acts_written``/``records_written``);
``acts_of``/``records_of`` order the rows and hand out views. Before anyone reads the acts, a
behaviour mechanism may withdraw some of those posted so far (``posted_acts``/``withdraw_acts``:
acts deterred or self-censored), the rest keeping their order. ``Board`` wraps the record for
Python code (``post_acts``, ``acts``...), each method a call of these kernels. An array handed out
to Python keeps its contents: a buffer that a view still shares is not reordered or reused but
replaced.

Owns the two tables, their buffers and the kernels that post, withdraw, order and read rows. It
decides nothing about an act or a record and draws no random number: which acts happen and what
is recorded are the mechanisms' rules.
"""

from __future__ import annotations

from sys import getrefcount

import numpy as np
from numba import types
from numba.core.errors import TypingError

from scslab.engine.table_order import order_acts, order_records
from scslab.kernels.compact import grown
from scslab.kernels.compiled_once import compiled_once
from scslab.kernels.jit import kernel, kernel_overload
from scslab.kernels.sorting import descents
from scslab.kernels.structs import compiled_struct

BoardState = compiled_struct(
    "BoardState",
    (
        "act_pid",
        "act_act",
        "act_recorded",
        "n_acts",
        "acts_ordered",
        "acts_read",
        "acts_shared",
        "rec_pid",
        "rec_act",
        "rec_source",
        "rec_true",
        "n_records",
        "records_ordered",
        "records_shared",
        "version",
    ),
    __name__,
)
"""Today's rows: act columns (``pid``, ``act``, ``recorded``), record columns (``pid``, ``act``,
``source``, ``true``), each table's row count, whether its rows are in person order, whether the
acts have been read (no act may be posted after), whether Python holds views of a table, and
``version[0]``, counting the changes to the tables' rows or buffers (so that Python can keep the
views it read until the next change)."""


@kernel
def new_board(capacity=256):
    """An empty board with room for ``capacity`` rows in each table (it grows as needed)."""
    return BoardState(
        np.empty(capacity, np.int64),
        np.empty(capacity, np.int16),
        np.empty(capacity, np.bool_),
        0,
        True,
        False,
        False,
        np.empty(capacity, np.int64),
        np.empty(capacity, np.int16),
        np.empty(capacity, np.int16),
        np.empty(capacity, np.bool_),
        0,
        True,
        False,
        np.zeros(1, np.int64),
    )


def _value(column, i):
    """Row ``i`` of a posted column given as an array, or the scalar given for every row."""


@kernel_overload(_value, inline="always")
def _value_of(column, i):
    if isinstance(column, types.Array):
        return lambda column, i: column[i]
    if isinstance(column, (types.Number, types.Boolean)):
        return lambda column, i: column
    return None  # a list or other sequence: ``add`` retries with arrays


def _is_array_of(column, k):
    """Whether a posted column fits ``k`` rows: an array of ``k`` values, or one scalar."""


@kernel_overload(_is_array_of, inline="always")
def _is_array_of_impl(column, k):
    if isinstance(column, types.Array):
        return lambda column, k: column.size == k
    if isinstance(column, (types.Number, types.Boolean)):
        return lambda column, k: True
    return None


@kernel
def _copy_ids(pid_buf, n, pid):
    """Copy ``pid`` to ``pid_buf[n:]``; true when the buffer stays ordered by person."""
    ordered = n == 0 or pid.size == 0 or pid[0] >= pid_buf[n - 1]
    for i in range(pid.size):
        pid_buf[n + i] = pid[i]
    return ordered and descents(pid) == 0


@kernel
def written_in_order(pid_buf, n, k):
    """Whether rows ``n .. n + k`` written in place leave ``pid_buf[: n + k]`` ordered by person.

    (Given that the first ``n`` rows were.) For kernels that write board rows in place.
    """
    ordered = n == 0 or k == 0 or pid_buf[n] >= pid_buf[n - 1]
    return ordered and descents(pid_buf[n : n + k]) == 0


@kernel
def _fresh(buffer, used):
    """A new buffer holding the first ``used`` rows (the old one is shared; ``grown`` sizes it)."""
    return grown(buffer, used, buffer.size)


@compiled_once
@kernel
def act_room(board, most):
    """Make room for ``most`` more acts; returns the first free row of ``board.act_*``.

    A kernel writes rows from there (``recorded`` false), then calls ``acts_written``.
    """
    if board.acts_read:
        raise RuntimeError("post every act before any mechanism reads the acts table")
    n = board.n_acts
    if n + most > board.act_pid.size:
        board.act_pid = grown(board.act_pid, n, n + most)
        board.act_act = grown(board.act_act, n, n + most)
        board.act_recorded = grown(board.act_recorded, n, n + most)
        board.acts_shared = False  # views handed out keep the old buffers
        board.version[0] += 1
    return n


@kernel
def acts_written(board, k, ordered):
    """``k`` acts were written after the last row (``ordered``: still in person order)."""
    board.n_acts += k
    board.acts_ordered = board.acts_ordered and (ordered or k == 0)
    board.version[0] += k != 0


@kernel
def posted_acts(board):
    """Today's acts posted so far, in posting order and before anyone reads them: ``(pid, act)``.

    For a behaviour mechanism that withdraws some of them (``withdraw_acts``) before data
    sources see them; the rows may not be ordered by person. Raises once the acts were read.
    """
    if board.acts_read:
        raise RuntimeError("withdraw acts before any mechanism reads the acts table")
    n = board.n_acts
    return board.act_pid[:n], board.act_act[:n]


@kernel
def withdraw_acts(board, keep):
    """Keep only the posted acts whose ``keep`` is true, in their order (rows of ``posted_acts``).

    The acts that stay keep their order, so a table ordered by person stays ordered. Returns how
    many were withdrawn. Raises once the acts were read, or if ``keep`` is not one flag per act.
    """
    if board.acts_read:
        raise RuntimeError("withdraw acts before any mechanism reads the acts table")
    n = board.n_acts
    if keep.size != n:
        raise ValueError("expected one keep flag per posted act")
    pid, act, recorded = board.act_pid, board.act_act, board.act_recorded
    k = 0
    for i in range(n):
        pid[k], act[k], recorded[k] = pid[i], act[i], recorded[i]
        k += keep[i]  # written always, kept by counting it
    board.n_acts = k
    board.version[0] += k != n
    return n - k


@compiled_once
@kernel
def record_room(board, most):
    """Make room for ``most`` more records; returns the first free row of ``board.rec_*``."""
    n = board.n_records
    if n + most > board.rec_pid.size:
        board.rec_pid = grown(board.rec_pid, n, n + most)
        board.rec_act = grown(board.rec_act, n, n + most)
        board.rec_source = grown(board.rec_source, n, n + most)
        board.rec_true = grown(board.rec_true, n, n + most)
        board.records_shared = False
        board.version[0] += 1
    return n


@kernel
def records_written(board, k, ordered):
    """``k`` records were written after the last row (``ordered``: still in person order)."""
    board.n_records += k
    board.records_ordered = board.records_ordered and (ordered or k == 0)
    board.version[0] += k != 0


@compiled_once
@kernel
def acts_of(board):
    """Today's acts ordered by person (stably): views ``(pid, act, recorded)``.

    ``recorded`` may be set through its view (a source or an informant recorded the act). No
    act may be posted once the acts have been read.
    """
    n = board.n_acts
    if not board.acts_ordered:
        if board.acts_shared:  # views handed out to Python keep their contents
            board.act_pid = _fresh(board.act_pid, n)
            board.act_act = _fresh(board.act_act, n)
            board.act_recorded = _fresh(board.act_recorded, n)
            board.acts_shared = False
        order_acts(board.act_pid, board.act_act, board.act_recorded, n)
        board.acts_ordered = True
        board.version[0] += 1
    board.acts_read = True
    return board.act_pid[:n], board.act_act[:n], board.act_recorded[:n]


@compiled_once
@kernel
def records_of(board):
    """Today's records ordered by person (stably): views ``(pid, act, source, true)``."""
    n = board.n_records
    if not board.records_ordered:
        if board.records_shared:
            board.rec_pid = _fresh(board.rec_pid, n)
            board.rec_act = _fresh(board.rec_act, n)
            board.rec_source = _fresh(board.rec_source, n)
            board.rec_true = _fresh(board.rec_true, n)
            board.records_shared = False
        order_records(board.rec_pid, board.rec_act, board.rec_source, board.rec_true, n)
        board.records_ordered = True
        board.version[0] += 1
    return board.rec_pid[:n], board.rec_act[:n], board.rec_source[:n], board.rec_true[:n]


@kernel
def _clear(board, acts_held, records_held):
    """Forget the day; a table whose buffers are still ``held`` by views gets new ones."""
    if acts_held:
        board.act_pid = np.empty(board.act_pid.size, np.int64)
        board.act_act = np.empty(board.act_act.size, np.int16)
        board.act_recorded = np.empty(board.act_recorded.size, np.bool_)
    if records_held:
        board.rec_pid = np.empty(board.rec_pid.size, np.int64)
        board.rec_act = np.empty(board.rec_act.size, np.int16)
        board.rec_source = np.empty(board.rec_source.size, np.int16)
        board.rec_true = np.empty(board.rec_true.size, np.bool_)
    board.n_acts = 0
    board.n_records = 0
    board.acts_ordered = True
    board.records_ordered = True
    board.acts_read = False
    board.acts_shared = False
    board.records_shared = False
    board.version[0] += 1


@kernel
def clear(board):
    """Forget the day (in compiled code, where no view outlives its day unless Python holds it)."""
    _clear(board, board.acts_shared, board.records_shared)


@compiled_once
@kernel
def post_acts(board, pid, act):
    """Append acts (``act``: one per row or one for all), not yet recorded."""
    if not _is_array_of(act, pid.size):
        raise ValueError("expected columns ('pid', 'act') of equal length")
    row = act_room(board, pid.size)
    act_buf, recorded_buf = board.act_act, board.act_recorded
    for i in range(pid.size):
        act_buf[row + i] = _value(act, i)
        recorded_buf[row + i] = False
    acts_written(board, pid.size, _copy_ids(board.act_pid, row, pid))


TRUE_RECORDS, FALSE_RECORDS = np.bool_(True), np.bool_(False)
"""``true`` of records that all are of acts that happened, or all are not (``post_records``).

Values, not the literals True and False: numba compiles a kernel once more for each literal it is
called with (see ``kernels.sampling.DAY_ZERO``).
"""


@compiled_once
@kernel
def post_records(board, pid, act, source, true):
    """Append records (each value column: one per row or one for all)."""
    k = pid.size
    if not (_is_array_of(act, k) and _is_array_of(source, k) and _is_array_of(true, k)):
        raise ValueError("expected columns ('pid', 'act', 'source', 'true') of equal length")
    row = record_room(board, k)
    act_buf, source_buf, true_buf = board.rec_act, board.rec_source, board.rec_true
    for i in range(k):
        act_buf[row + i] = _value(act, i)
        source_buf[row + i] = _value(source, i)
        true_buf[row + i] = _value(true, i)
    records_written(board, k, _copy_ids(board.rec_pid, row, pid))


@kernel
def _act_buffers(board, most):
    row = act_room(board, most)
    return board.act_pid, board.act_act, board.act_recorded, row


@kernel
def _record_buffers(board, most):
    row = record_room(board, most)
    return board.rec_pid, board.rec_act, board.rec_source, board.rec_true, row


@kernel
def _version(board):
    return board.version


@kernel
def _acts_for_python(board):
    views = acts_of(board)
    board.acts_shared = True
    return views


@kernel
def _records_for_python(board):
    views = records_of(board)
    board.records_shared = True
    return views


_ACT_COLUMNS = ("pid", "act", "recorded")
_RECORD_COLUMNS = ("pid", "act", "source", "true")
_HOLDERS = 3
"""References to a handed-out view that are the board's own: its list, the loop's variable and
``getrefcount``'s argument (``clear`` drops the cached table first). More means some reader still
holds the view (or a view of it)."""


def _as_arrays(values: tuple) -> tuple:
    """Posted columns given as lists or other sequences, as arrays (numpy's assignment rules)."""
    return tuple(v if np.isscalar(v) else np.asarray(v) for v in values)


class Board:
    """Today's acts and records, for Python code (``native`` is the record kernels share)."""

    def __init__(self) -> None:
        self.native = new_board()
        self._version = _version(self.native)
        """The board's change counter, shared with the record: read without a compiled call."""
        self._handed_acts: list[np.ndarray] = []
        self._handed_records: list[np.ndarray] = []
        self._acts: tuple[int, dict[str, np.ndarray]] = (-1, {})
        self._records: tuple[int, dict[str, np.ndarray]] = (-1, {})
        """The views read last and the version they were read at."""

    def post_acts(self, pid: np.ndarray, act: np.ndarray | int) -> None:
        """Post ground-truth acts (one act code, or one per person)."""
        pid = np.asarray(pid, np.int64)
        try:
            post_acts(self.native, pid, act)
        except TypingError:  # a list or another sequence: as an array
            post_acts(self.native, pid, *_as_arrays((act,)))

    def post_records(
        self,
        pid: np.ndarray,
        act: np.ndarray | int,
        source: np.ndarray | int,
        true: np.ndarray | bool,
    ) -> None:
        """Post observed records."""
        pid = np.asarray(pid, np.int64)
        try:
            post_records(self.native, pid, act, source, true)
        except TypingError:
            post_records(self.native, pid, *_as_arrays((act, source, true)))

    def act_room(self, most: int) -> tuple[np.ndarray | int, ...]:
        """Room for up to ``most`` acts written in place by a kernel.

        Returns the ``pid``, ``act`` and ``recorded`` buffers and the row to write from, as
        ``record_room`` does for records; the kernel writes ``recorded`` false, and the caller
        says how many rows it wrote with ``acts_written``.
        """
        return _act_buffers(self.native, most)

    def acts_written(self, k: int, ordered: bool) -> None:
        """``k`` acts were written in the room of ``act_room`` (``ordered``: by person)."""
        acts_written(self.native, k, ordered)

    def posted_acts(self) -> dict[str, np.ndarray]:
        """Today's acts posted so far, unordered and not yet read, as copies (``pid``, ``act``).

        For Python code that withdraws some of them with ``withdraw_acts``.
        """
        pid, act = posted_acts(self.native)
        return {"pid": pid.copy(), "act": act.copy()}

    def withdraw_acts(self, keep: np.ndarray) -> int:
        """Keep only the posted acts whose ``keep`` is true (rows of ``posted_acts``).

        Returns how many acts were withdrawn.
        """
        return int(withdraw_acts(self.native, np.asarray(keep, np.bool_)))

    def record_room(self, most: int) -> tuple[np.ndarray | int, ...]:
        """Room for up to ``most`` records written in place by a kernel.

        Returns the ``pid``, ``act``, ``source`` and ``true`` buffers and the row to write from,
        ``n``. The kernel writes rows ``n, n + 1, ...`` (see ``written_in_order``), and the caller
        then says how many with ``records_written``; nothing posted in between.
        """
        return _record_buffers(self.native, most)

    def records_written(self, k: int, ordered: bool) -> None:
        """``k`` records were written in the room of ``record_room`` (``ordered``: by person)."""
        records_written(self.native, k, ordered)

    @property
    def acts(self) -> dict[str, np.ndarray]:
        """Today's acts as columns ``pid``, ``act`` and ``recorded``, ordered by person.

        ``recorded`` starts false; a mechanism that records an act (a data source, an informant)
        sets it, so later phases know what is still unrecorded. Every act must be posted before
        the first mechanism reads this table (behaviour runs first in the plan).
        """
        version, table = self._acts
        if version != self._version[0]:
            views = _acts_for_python(self.native)
            self._handed_acts += views
            table = dict(zip(_ACT_COLUMNS, views, strict=True))
            self._acts = (int(self._version[0]), table)
        return table

    @property
    def records(self) -> dict[str, np.ndarray]:
        """Today's records as columns ``pid``, ``act``, ``source``, ``true``, ordered by person."""
        version, table = self._records
        if version != self._version[0]:
            views = _records_for_python(self.native)
            self._handed_records += views
            table = dict(zip(_RECORD_COLUMNS, views, strict=True))
            self._records = (int(self._version[0]), table)
        return table

    @staticmethod
    def _still_read(handed: list[np.ndarray]) -> bool:
        """Whether a view handed out today is still held by a reader."""
        return any(getrefcount(view) > _HOLDERS for view in handed)

    def clear(self) -> None:
        """Forget the day."""
        self._acts = self._records = (-1, {})  # the board's own references go first
        acts_held = self._still_read(self._handed_acts)
        records_held = self._still_read(self._handed_records)
        self._handed_acts.clear()
        self._handed_records.clear()
        _clear(self.native, acts_held, records_held)
