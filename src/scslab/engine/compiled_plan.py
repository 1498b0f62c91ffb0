"""The compiled day plan: the whole daily loop in one compiled call when every mechanism allows it.

A mechanism whose daily step is a kernel keeps its state in a compiled record
(``kernels/structs.py``) and registers two kernels for that record's type with
``compiled_mechanism``: ``step(day, board, state)`` (the day's work, on the board record) and
``metrics(day, state)`` (fills ``state.today``, the day's metric values); both return nothing.
The Python engine calls the same kernels one by one (``CompiledSteps``), so there is one
implementation of each mechanism; when every enabled mechanism has them, ``CompiledPlan`` runs
days in ``run_days``, a compiled loop over the plan that never returns to Python between phases
or days. That removes the fixed cost of Python orchestration per simulated day (about 30
microseconds for the reference model) which dominated runs of a town or a county.

``run_days`` receives each mechanism's record and two kernels as addresses: the record's
(``kernels.compiled_once.record_address``) and those of the kernels' compiled code
(``address_of``), and calls them there (``call_at``), with numba's own calling convention: an
exception raised in a kernel reaches Python as before. Its own machine code is a loop of a few
dozen calls a day, whatever the mechanisms, and it compiles without the kernels: embedding every
kernel took 28 s (``rongcheng``) and 42 s (``integrated_2020``); numba's first-class functions,
used here before, took 2.4 s and 5.7 s, with a Python fallback compiled at every call; a tuple of
the records themselves made one build per combination of mechanisms (1.9 s for ``rongcheng``). A
call through a pointer costs nanoseconds, a few dozen times a simulated day.

``run_days`` takes the same argument types for every plan (``PlanEntries``: arrays of
addresses), so it is compiled once and cached on disk, like every kernel, under a digest of the
package's sources (``kernels/cache.py``). A run that may pick its engine takes the plan when every
mechanism's daily kernels are compiled by the end of its set-up (``kernels_compiled``: loaded from
the cache, or compiled there by the helpers of a first run) and compiles ``run_days`` then if it
must (about 0.3 s, once for every combination of mechanisms); otherwise it takes the Python loop,
which compiles the kernels as it reaches them. The results are the same.

Owns ``run_days``, the tables it reads (``PlanEntries``, ``StepDays``), the metrics layout and
``CompiledPlan``, which appends the day, date and metric columns to ``sim.columns`` and times
each phase. Of the board it only clears the day's tables. It names no concrete mechanism
(``tests/test_layers.py``) and changes no mechanism's state itself: only the kernels each
mechanism registered (``engine/steps.py``), and an observer's ``step``, do.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numba import carray, types

from scslab.engine.board import clear
from scslab.engine.mechanism import Observer
from scslab.engine.steps import check_counts, compiled_state_of, daily_kernels
from scslab.kernels.cache import built_or_cached
from scslab.kernels.clock import cycle_counter, cycles_now
from scslab.kernels.compiled_once import address_of, as_voidptr, call_at, record_address
from scslab.kernels.jit import kernel

if TYPE_CHECKING:
    from scslab.engine.simulation import PlanRow, Simulation


class MetricsLayout(NamedTuple):
    """Where one mechanism's metrics are in the compiled plan's table of a run's days."""

    mechanism: str
    columns: tuple[str, ...]
    """Its metric columns, in the order of its ``today`` values."""
    floats: frozenset[str]
    """Those that are not counts (NaN: a missing value)."""
    offset: int
    """The table column of its first metric."""


class StepDays(NamedTuple):
    """The days on which each compiled mechanism steps, as ``run_days`` reads them."""

    first: np.ndarray
    """Per compiled mechanism (plan order): its first day (its ``active_from``)."""
    last: np.ndarray
    """Per plan row: its last day (``Simulation.last_days``, shared: a kernel may lower it)."""
    positions: np.ndarray
    """Per compiled mechanism: its row in the plan, its entry of ``last``."""


class PlanEntries(NamedTuple):
    """Per compiled mechanism, in plan order, the addresses ``run_days`` calls and reads.

    Held by the plan with the records and arrays they point into, which outlive every call.
    """

    records: np.ndarray
    """Its compiled record (``record_address``), the last argument of its two kernels."""
    steps: np.ndarray
    """Its ``step(day, board, record)`` kernel's code (``address_of``)."""
    metrics: np.ndarray
    """Its ``metrics(day, record)`` kernel's code."""
    todays: np.ndarray
    """The data of its ``today`` array: the metrics its kernel wrote (float64)."""
    widths: np.ndarray
    """The length of its ``today`` array."""


_call_step, _call_metrics = call_at(3), call_at(2)
"""``step(day, board, record)`` and ``metrics(day, record)`` at an address."""


def _run_days(day0, day1, board, plan, days, cycles, table, offsets):
    """Days ``day0 .. day1 - 1`` of ``plan`` (``PlanEntries``): each mechanism's kernels, in order.

    Each mechanism steps from its first day to its last (``days``, a ``StepDays``); the cycles of
    its step and its metrics add to ``cycles``; every mechanism's metrics of day ``d`` go to
    ``table[d - day0]`` from column ``offsets[i]``, NaN (null) before its first day and once it
    has stopped.
    """
    first_days, last_days, positions = days.first, days.last, days.positions
    for day in range(day0, day1):
        clear(board)
        for i in range(plan.records.size):
            if first_days[i] <= day <= last_days[positions[i]]:
                t0 = cycle_counter()
                _call_step(plan.steps[i], day, board, as_voidptr(plan.records[i]))
                cycles[i] += cycle_counter() - t0
        row = table[day - day0]
        for i in range(plan.records.size):
            idle = day < first_days[i] or day > last_days[positions[i]]
            if not idle:
                t0 = cycle_counter()
                _call_metrics(plan.metrics[i], day, as_voidptr(plan.records[i]))
                cycles[i] += cycle_counter() - t0
            today = carray(as_voidptr(plan.todays[i]), plan.widths[i], np.float64)
            for j in range(today.size):
                row[offsets[i] + j] = np.nan if idle else today[j]


run_days = kernel(_run_days)


def _observed(row: PlanRow, m: Observer, day: int) -> dict[str, Any]:
    """An observer's metrics of ``day``: null before its first day, as ``_run_days`` writes."""
    return m.metrics(day) if day >= row.first_day else m.idle_metrics()


def _daily_address(daily: Any, args: tuple) -> int:
    """The address of ``daily``'s build for ``args`` (compiled or loaded), which returns nothing.

    Raises:
        TypeError: the kernel returns a value (``run_days`` calls it as returning nothing).
    """
    address = address_of(daily, args)
    returns = daily.overloads[args].signature.return_type
    if returns != types.none:
        raise TypeError(
            f"{daily.py_func.__module__}.{daily.__name__} returns {returns}: "
            "a step or metrics kernel must return nothing"
        )
    return address


class CompiledPlan:
    """A simulation's mechanisms run together by ``run_days``; their metrics become columns.

    Observers (``engine.mechanism.Observer``, Python metrics that only read state) do not stop a
    scenario from running compiled: days run in compiled stretches that end on each day an
    observer has work, and the observer steps in Python between two stretches.
    """

    def __init__(
        self,
        sim: Simulation,
        compiled: list[tuple[PlanRow, Any]],
        observers: list[tuple[PlanRow, Observer]],
    ) -> None:
        self.sim = sim
        self.rows = [row for row, _ in compiled]
        """The plan rows of the compiled mechanisms, in plan order."""
        self.states = tuple(state for _, state in compiled)
        self.plan: PlanEntries | None = None
        """Per compiled mechanism, in plan order, the addresses ``run_days`` calls (``compile``)."""
        self._entry: Any = None
        """``run_days`` compiled for this plan (``compile``)."""
        self.observers = observers
        self.first_days = np.asarray([row.first_day for row in self.rows], np.int64)
        self.days = StepDays(
            first=self.first_days,
            last=sim.last_days,
            positions=np.asarray([sim.plan.index(row) for row in self.rows], np.int64),
        )
        self.cycles = np.zeros(len(self.states), np.uint64)
        self.layout: list[MetricsLayout] = []
        """Per compiled mechanism: where its metrics are in a table of days."""
        offset = 0
        for row in self.rows:
            m = sim.mechanisms[row.mechanism]  # a column named twice: refused at set-up
            if m.today.size != len(m.metric_columns):
                raise RuntimeError(
                    f"{row.mechanism} has {m.today.size} metric values for "
                    f"{len(m.metric_columns)} columns"
                )
            self.layout.append(
                MetricsLayout(
                    mechanism=row.mechanism,
                    columns=m.metric_columns,
                    floats=m.float_metrics,
                    offset=offset,
                )
            )
            offset += len(m.metric_columns)
        self.offsets = np.asarray([entry.offset for entry in self.layout], np.int64)
        self.width = offset
        self._total = (0, 0.0)
        """Cycles and seconds of every run so far (the seconds per cycle of the phase times)."""

    def _arguments(self, day0: int, day1: int, table: np.ndarray) -> tuple:
        return (
            day0,
            day1,
            self.sim.board.native,
            self.plan,
            self.days,
            self.cycles,
            table,
            self.offsets,
        )

    def signature(self) -> tuple:
        """The argument types of ``run_days``: the same for every plan (addresses, not records)."""
        typeof = run_days.typeof_pyval
        addresses = np.empty(0, np.int64)
        table = np.empty((0, self.width), np.float64)
        return (
            types.int64,
            types.int64,
            typeof(self.sim.board.native),
            typeof(PlanEntries(**dict.fromkeys(PlanEntries._fields, addresses))),
            typeof(self.days),
            typeof(self.cycles),
            typeof(table),
            typeof(self.offsets),
        )

    def entry(self) -> tuple[Any, tuple]:
        """``run_days`` and its argument types for this plan: what ``compile`` compiles last.

        It calls the kernels by address, so it compiles without them: a first run's set-up
        compiles it beside them (``engine/compile_ahead.py``).
        """
        return run_days, self.signature()

    def _run_days(self, day0: int, day1: int, table: np.ndarray) -> None:
        if self._entry is None:
            self.compile()
        self._entry(*self._arguments(day0, day1, table))

    def compile(self) -> None:
        """Compile (or load) every mechanism's kernels, then ``run_days``, and take the addresses.

        Checks that each kernel returns nothing, as ``run_days`` calls it, and that each
        ``today`` array is what ``run_days`` reads (float64, contiguous). Part of a run's
        set-up, not of its first day.
        """
        columns: dict[str, list[int]] = {name: [] for name in PlanEntries._fields}
        board = self.sim.board.native
        for row, state in zip(self.rows, self.states, strict=True):
            (step, step_args), (metrics, metrics_args) = daily_kernels(state, board)
            today = self.sim.mechanisms[row.mechanism].today  # the record's, read back
            if today.dtype != np.float64 or today.ndim != 1 or not today.flags.c_contiguous:
                raise TypeError(f"{row.mechanism}.today must be a flat float64 array")
            entry = {
                "records": record_address(state),
                "steps": _daily_address(step, step_args),
                "metrics": _daily_address(metrics, metrics_args),
                "todays": today.ctypes.data,
                "widths": today.size,
            }
            for name, value in entry.items():
                columns[name].append(value)
        self.plan = PlanEntries(
            **{name: np.asarray(values, np.int64) for name, values in columns.items()}
        )
        entry, args = self.entry()
        self._entry = entry.compile(args)

    def kernels_compiled(self) -> bool:
        """Whether every mechanism's daily kernels are compiled: here, or on disk.

        Nothing is compiled or loaded: a new mechanism answers False at once. ``run_days`` is not
        asked: it is one build for every plan, which ``compile`` compiles once if it must.
        """
        board = self.sim.board.native
        return all(
            built_or_cached(daily, args)
            for state in self.states
            for daily, args in daily_kernels(state, board)
        )

    @classmethod
    def of(cls, sim: Simulation) -> CompiledPlan | None:
        """The compiled plan of ``sim``, or None when a mechanism has no compiled kernels.

        Observers are the exception: they step in Python between compiled stretches of days.
        """
        if sim.python_only:
            return None
        compiled: list[tuple[PlanRow, Any]] = []
        observers: list[tuple[PlanRow, Observer]] = []
        for row in sim.plan:
            m = sim.mechanisms[row.mechanism]
            if isinstance(m, Observer):
                observers.append((row, m))
            else:
                compiled.append((row, compiled_state_of(m)))
        return cls(sim, compiled, observers) if compiled else None

    def run(self, day0: int, day1: int) -> None:
        """Simulate days ``day0 .. day1 - 1`` and append their metrics to ``sim.columns``.

        Without observers that is one compiled stretch; with them, a stretch ends on each day
        an observer has work (``Observer.observes``), and the observers step after it.
        """
        if not self.observers:  # one stretch: no day-by-day scan in Python
            if day1 > day0:
                self._run_stretch(day0, day1, [])
            return
        first = day0
        for day in range(day0, day1):
            due = [
                (row, m) for row, m in self.observers if day >= row.first_day and m.observes(day)
            ]
            if due or day == day1 - 1:
                self._run_stretch(first, day + 1, due)
                first = day + 1

    def _run_stretch(self, day0: int, day1: int, due: list[tuple[PlanRow, Observer]]) -> None:
        """Days ``day0 .. day1 - 1`` compiled, then the ``due`` observers' step on the last."""
        table = np.empty((max(day1 - day0, 0), self.width), np.float64)
        c0, t0 = cycles_now(), time.perf_counter()
        self._run_days(day0, day1, table)
        self._time_phases(cycles_now() - c0, time.perf_counter() - t0)
        observed: dict[str, list[dict[str, float | int | None]]] = {}
        for row, m in self.observers:
            values = [_observed(row, m, day) for day in range(day0, day1 - 1)]
            if (row, m) in due:
                t1 = time.perf_counter()
                m.step(self.sim, day1 - 1)
                row.seconds += time.perf_counter() - t1
            values.append(_observed(row, m, day1 - 1))
            observed[row.mechanism] = values
        self._append(day0, table, observed)

    def _time_phases(self, cycles: int, seconds: float) -> None:
        """Each phase's seconds so far, from its cycles at the run's seconds per cycle."""
        total_cycles, total_s = self._total[0] + int(cycles), self._total[1] + seconds
        self._total = (total_cycles, total_s)
        per_cycle = total_s / total_cycles if total_cycles > 0 else 0.0
        for row, c in zip(self.rows, self.cycles.tolist(), strict=True):
            row.seconds = c * per_cycle

    def _column(self, day0: int, col: str, name: str) -> list:
        """The column ``col`` of mechanism ``name``, made (null before ``day0``) if new."""
        sim = self.sim
        column = sim.columns.get(col)
        if column is None:
            column = sim.columns[col] = [None] * day0
            sim.column_owner[col] = name
        elif sim.column_owner[col] != name:
            raise RuntimeError(
                f"metric column {col!r} is written by both {sim.column_owner[col]} and {name}"
            )
        return column

    def _append(
        self,
        day0: int,
        table: np.ndarray,
        observed: dict[str, list[dict[str, float | int | None]]],
    ) -> None:
        """Append the day and date columns and every mechanism's metric columns, in plan order."""
        sim, columns, days = self.sim, self.sim.columns, table.shape[0]
        columns["day"].extend(range(day0, day0 + days))
        columns["date"].extend(sim.dates(day0, day0 + days))
        compiled = {entry.mechanism: entry for entry in self.layout}
        for row in sim.plan:
            name = row.mechanism
            if name in observed:  # an observer: its columns in the order it reports them
                days_values = observed[name]
                for col in dict.fromkeys(c for values in days_values for c in values):
                    self._column(day0, col, name).extend(v.get(col) for v in days_values)
                continue
            entry = compiled[name]
            floats, offset = entry.floats, entry.offset
            check_counts(sim.mechanisms[name], table[:, offset : offset + len(entry.columns)])
            for j, col in enumerate(entry.columns):
                values = table[:, offset + j]
                column = self._column(day0, col, name)
                missing = np.isnan(values).any()  # NaN: a missing value (or a stopped mechanism)
                if col not in floats and not missing:
                    column.extend(values.astype(np.int64).tolist())
                elif col not in floats:
                    column.extend(None if v != v else int(v) for v in values.tolist())
                elif missing:
                    column.extend(None if v != v else v for v in values.tolist())
                else:
                    column.extend(values.tolist())
