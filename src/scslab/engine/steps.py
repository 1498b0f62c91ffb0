"""Compiled steps: the registry of each mechanism's two kernels, and the mixin that calls them.

A mechanism whose daily step is a kernel keeps its state in a compiled record
(``kernels/structs.py``) and registers, here, two kernels for that record's type with
``compiled_mechanism``: ``step(day, board, state)`` and ``metrics(day, state)``. The Python loop
calls them through ``CompiledSteps``; the compiled day plan (``engine/compiled_plan.py``) calls
the same kernels through pointers.

This module owns the registry and the mixin only. It must not run days or know a concrete
mechanism, and it stays apart from the plan so that an edit of the plan recompiles the plan, not
the kernel of every mechanism that registers here (a kernel's disk cache is keyed by the code of
the modules its module imports, ``kernels/cache.py``).
"""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numba import typeof, types
from numba.core.registry import CPUDispatcher
from numba.core.typing.typeof import Purpose

from scslab.kernels.jit import kernel, step_kernel

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation


class CompiledKernels(NamedTuple):
    """The kernels registered for one state record class."""

    step: Any
    """``step(day, board, state)``: the day's work."""
    metrics: Any
    """``metrics(day, state)``: fills ``state.today``."""


KERNELS: dict[type, CompiledKernels] = {}
"""State record class -> the kernels of the mechanisms that keep that state."""


@step_kernel
def metrics_written_by_step(day, state):
    """The metrics kernel of a mechanism whose step writes ``state.today`` itself."""


@kernel
def today_of(state):
    """A record's ``today`` array, for Python to share (any record with that field)."""
    return state.today


def compiled_mechanism(
    state_class: type, step: Any, metrics: Any = metrics_written_by_step
) -> None:
    """Register ``step`` and ``metrics`` (compiled kernels) for mechanisms keeping ``state_class``.

    ``step(day, board, state)`` does the day's work; ``metrics(day, state)`` writes the day's
    metric values into ``state.today`` (a float64 array, one value per metric column), which the
    step may also do itself (the default). Both return nothing: the compiled plan calls them by
    address as kernels that do (``engine/compiled_plan.CompiledPlan.compile`` checks it). Both
    are ``@step_kernel`` (``kernels/jit.py``); anything that is not a compiled kernel is refused.
    """
    if state_class in KERNELS:
        raise TypeError(f"{state_class.__name__} has compiled kernels already")
    for registered in (step, metrics):
        if not isinstance(registered, CPUDispatcher):
            raise TypeError(
                f"{getattr(registered, '__qualname__', registered)!r} is not a compiled kernel: "
                "declare it @step_kernel"
            )
    KERNELS[state_class] = CompiledKernels(step=step, metrics=metrics)


class CompiledSteps:
    """Mixin of mechanisms whose step and metrics are kernels registered for ``state``'s class.

    ``init`` sets ``state`` (the record), ``today`` (the record's ``today`` array, shared),
    ``metric_columns`` (the names of ``today``'s values) and ``float_metrics`` (those that are
    not counts; NaN in one is a missing value). The Python engine's calls run the same kernels as
    the compiled plan.
    """

    state: Any
    today: np.ndarray
    metric_columns: tuple[str, ...]
    float_metrics: frozenset[str] = frozenset()

    def compiled_state(self) -> Any:
        """The record the compiled plan passes to this mechanism's kernels (None: it cannot)."""
        return self.state

    def step(self, sim: Simulation, day: int) -> None:
        """The day's step: the registered kernel on the board and the state."""
        kernels_of(self.state).step(day, sim.board.native, self.state)

    def metrics(self, day: int) -> dict[str, float | int | None]:
        """The day's metrics: the registered kernel fills ``today``, named here."""
        kernels_of(self.state).metrics(day, self.state)
        floats = self.float_metrics
        check_counts(self, self.today[None, :])
        return {
            name: (None if v != v else v) if name in floats else int(v)  # NaN: missing
            for name, v in zip(self.metric_columns, self.today.tolist(), strict=True)
        }


def check_counts(mechanism: Any, values: np.ndarray) -> None:
    """Refuse a value that is not whole in a column of counts (any not in ``float_metrics``).

    ``values`` holds days by ``metric_columns``. A count is stored as an integer, so a mean
    named in no ``float_metrics`` would be cut to its whole part without a word.

    Raises:
        TypeError: the mechanism, the column and the value, and what to do.
    """
    floats = mechanism.float_metrics
    counts = [j for j, col in enumerate(mechanism.metric_columns) if col not in floats]
    cut = values[:, counts]
    day, j = np.nonzero((cut != np.trunc(cut)) & ~np.isnan(cut))  # NaN: a missing value
    if day.size:
        col = mechanism.metric_columns[counts[j[0]]]
        raise TypeError(
            f"{mechanism.name}: metric column {col!r} holds {cut[day[0], j[0]]!r}, which is not "
            "a count; name it in the mechanism's float_metrics (docs/architecture.md, step 4)"
        )


def check_ready(mechanism: Any) -> None:
    """Refuse a compiled mechanism whose ``init`` did not set what the engine reads, by name.

    Raises:
        TypeError: the mechanism and the attribute (``today``, ``metric_columns``).
    """
    for attribute, what in (
        ("today", "self.today = today_of(self.state)"),
        ("metric_columns", "self.metric_columns = (...)"),
    ):
        if not hasattr(mechanism, attribute):
            raise TypeError(
                f"{mechanism.name}: its init sets no {attribute}; add {what} to init "
                "(docs/architecture.md, step 4)"
            )


def kernels_of(state: Any) -> CompiledKernels:
    """The step and metrics kernels registered for ``state``'s class.

    Raises:
        TypeError: None are (a new mechanism's module forgot to register them), naming the call.
    """
    try:
        return KERNELS[type(state)]
    except KeyError:
        name = type(state).__name__
        raise TypeError(
            f"{name}: no step and metrics kernels are registered for this record; call "
            f"engine.steps.compiled_mechanism({name}, step, metrics) in its module"
        ) from None


def daily_kernels(state: Any, board: Any) -> list[tuple[Any, tuple]]:
    """The step and metrics kernels registered for ``state``'s class, with their argument types.

    ``step(day, board, state)`` and ``metrics(day, state)``, as the compiled plan and the Python
    loop call them: what a run compiles for this state on its first day.
    """
    kernels = kernels_of(state)
    record = typeof(state, Purpose.argument)
    day = types.int64
    return [
        (kernels.step, (day, typeof(board, Purpose.argument), record)),
        (kernels.metrics, (day, record)),
    ]


def state_made_at_init(mechanism: object) -> bool:
    """Whether ``mechanism``'s record exists once its own ``init`` is done.

    Not for a mechanism whose ``state`` is a property (or a cached one) that makes the record on
    first use, once every mechanism is ready (its record holds another's, such as the debt
    cycle's the list's): reading it earlier would make it too early.
    """
    lazy = inspect.getattr_static(mechanism, "state", None)
    return not isinstance(lazy, property | functools.cached_property)


def compiled_state_of(mechanism: object) -> Any | None:
    """The record a mechanism's compiled kernels take, or None if it has none (or cannot)."""
    return mechanism.compiled_state() if isinstance(mechanism, CompiledSteps) else None
