"""Per-event kernels in two builds: many threads for a big day, one thread for a small one.

Waking the worker threads for a parallel loop costs several microseconds, and a kernel with array
expressions wakes them once per expression: more than the whole work of a day's few hundred events
in a town of a few thousand people. ``sized_kernel`` compiles the same function twice, with and
without ``parallel=True``, and each call picks one by the size of the argument that holds the
events. Both builds compute the same values (iterations are independent; every draw is a hash of
its own counter), so the choice changes speed, never results.

A threaded build also costs several seconds to compile, more than the one-thread build, and a
kernel compiled for a compiled caller is compiled with every kernel it could call. So a kernel
called from compiled code (``both_builds``) is called as ``kernel(threads, n, *args)``, where
``threads`` comes from the caller's record (``run_threads``): None in a run of fewer than
``THREADED_RUN_PEOPLE`` people, whose caller is then compiled without the threaded build at all.

Owns the two builds (``both_builds``, ``sized_kernel``, ``threads_or_one``), the thresholds
(``PARALLEL_MIN_ITEMS``, ``THREADED_RUN_PEOPLE``, ``RECORD_PARTS``), ``run_threads`` and
``threads_as_for``. It picks a build by the run's size and the count of events only, and must
not change a result: a kernel given to it must compute the same values in both builds. It knows
no mechanism (``tests/test_layers.py``).
"""

from __future__ import annotations

import contextlib
import inspect
import types
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from numba import types as nbtypes
from numba.extending import register_jitable

from scslab.kernels.compiled_once import compiled_once
from scslab.kernels.jit import OVERLOAD_OPTIONS, kernel, kernel_overload

PARALLEL_MIN_ITEMS = 4096
"""Below this many events a kernel runs in one thread.

A judgement from two measurements on the benchmark machine (benchmarks/README.md, "Where the time
goes"): a parallel region costs about 3 microseconds to start where the threads are asleep, and a
per-event kernel does 5-50 nanoseconds of work per event, so threads pay from a few thousand events.
"""


RECORD_PARTS = 16
"""How many parts a threaded per-record kernel splits the day's records into (``person_parts``).

Speed only: the parts hold whole people, so a kernel's results do not depend on their number.
More parts than threads even out the threads' shares when people's records differ in number.
"""


@kernel
def person_parts(pids, parts):
    """Bounds of up to ``parts`` runs of ``pids`` (ordered) that split no person's rows.

    Returns ``bounds``: part ``j`` is ``bounds[j]:bounds[j + 1]``; every row of a person falls
    in one part. Fewer parts when there are too few rows; none when there are none.
    """
    n = pids.size
    parts = max(min(parts, n), 1)
    bounds = np.zeros(parts + 1, np.int64)
    for j in range(1, parts + 1):
        at = max(n * j // parts, bounds[j - 1])
        while 0 < at < n and pids[at] == pids[at - 1]:  # past the rows of the person at the cut
            at += 1
        bounds[j] = at
    bounds[parts] = n
    return bounds


def _renamed(func: types.FunctionType, suffix: str) -> types.FunctionType:
    """A copy of ``func`` under another qualified name.

    numba names its cache files by qualified name and line, not by compile options, so the
    one-thread build needs a name of its own or the two builds would overwrite each other.
    """
    copy = types.FunctionType(
        func.__code__, func.__globals__, func.__name__ + suffix, func.__defaults__, func.__closure__
    )
    copy.__qualname__ = func.__qualname__ + suffix
    copy.__module__ = func.__module__
    copy.__doc__ = func.__doc__
    return copy


THREADED_RUN_PEOPLE = 1_000_000
"""From this many people a run's compiled kernels may use threads; below, they run in one thread.

A tuning choice (an assumption, 2026-12-04, 2 cores): the threaded builds of ``rongcheng``'s
kernels took 25 s of a first run's 160 s of compiling (``python -m benchmarks.compile_cost``),
while threads save a day's per-event kernels a few tens of microseconds below a million people
(about 4 percent of them act on a day: some ten thousand events), under a second a simulated
year. A threaded build is compiled once and cached, so a run of this many people pays it once.
"""


_AS_FOR_PEOPLE = [0]
"""The size of run that ``threads_as_for`` makes every run count as, at least (0: its own)."""


def run_threads(people: int) -> bool | None:
    """The ``threads`` value of a run of ``people``: True (may use threads) or None (one thread).

    Compiled records hold it in a field named ``threads``; it is a type, not a value, for the
    compiler: a caller compiled for None has no threaded build to compile.
    """
    return True if max(people, _AS_FOR_PEOPLE[-1]) >= THREADED_RUN_PEOPLE else None


@contextlib.contextmanager
def threads_as_for(people: int) -> Iterator[None]:
    """Inside, runs take the ``threads`` of a run of (at least) ``people``: for a warm-up.

    A small warm-up run compiles (or loads) what a timed run of many people runs only if its
    records have the timed run's threads; results are the same either way.
    """
    _AS_FOR_PEOPLE.append(people)
    try:
        yield
    finally:
        _AS_FOR_PEOPLE.pop()


def _two_builds(func: types.FunctionType, **options: Any) -> tuple[Any, Any]:
    """``func`` compiled with threads and in one thread, each cached under its own name."""
    threaded = kernel(func, parallel=True, **options)
    return threaded, kernel(_renamed(func, "_one_thread"), **options)


def threads_or_one(threaded: Any, one_thread: Any) -> Callable[..., Any]:
    """``pick(threads, many, *args)``: ``threaded(*args)`` if ``threads`` is not None and ``many``.

    Else ``one_thread(*args)``: two compiled functions that compute the same values, one of them
    with threads. ``pick`` can be called from compiled code, where a caller compiled for
    ``threads`` None (``run_threads``) has no call of ``threaded``, which is then never compiled,
    and from Python. Compiled code calls each build by address (``compiled_once``): a per-event
    kernel is called a few times a day, and is large.
    """

    def pick(threads: bool | None, many: bool, *args: Any) -> Any:
        return (threaded if threads is not None and many else one_thread)(*args)

    threaded_once, one_thread_once = compiled_once(threaded), compiled_once(one_thread)

    @kernel_overload(pick)
    def _compiled(threads, many, *args):  # numba types, not values
        if isinstance(threads, (nbtypes.NoneType, nbtypes.Omitted)):
            return lambda threads, many, *args: one_thread_once(*args)

        def by_size(threads, many, *args):
            if many:
                return threaded_once(*args)
            return one_thread_once(*args)

        return by_size

    return pick


def both_builds(func: types.FunctionType, **options: Any) -> Callable[..., Any]:
    """``func`` compiled with threads and in one thread, each cached under its own name.

    Returns ``kernel(threads, n, *args)``, which runs ``func(*args)``: the threaded build when
    ``threads`` is not None (``run_threads``) and ``n``, the count of events, is at least
    ``PARALLEL_MIN_ITEMS``; else the one-thread build (``threads_or_one``). It can be called from
    compiled code and from Python; the builds are its ``threaded`` and ``one_thread``.
    ``options`` go to both builds (for example ``error_model="numpy"``, no zero-division checks,
    for loops that should be vector code).
    """
    threaded, one_thread = _two_builds(func, **options)
    pick = threads_or_one(threaded, one_thread)

    def kernel(threads: bool | None, n: int, *args: Any) -> Any:
        return pick(threads, n >= PARALLEL_MIN_ITEMS, *args)

    kernel.__name__ = func.__name__
    kernel.__qualname__ = func.__qualname__
    kernel.__module__ = func.__module__
    kernel.__doc__ = func.__doc__
    kernel.threaded = threaded  # type: ignore[attr-defined]
    kernel.one_thread = one_thread  # type: ignore[attr-defined]
    return register_jitable(**OVERLOAD_OPTIONS)(kernel)


_ALL: list[SizedKernel] = []
"""Every sized kernel defined so far (for ``compile_other_builds``)."""


class SizedKernel:
    """A kernel compiled with and without threads; a call picks one by the events' count."""

    def __init__(self, func: types.FunctionType, size_arg: str, min_items: int) -> None:
        names = list(inspect.signature(func).parameters)
        if size_arg not in names:
            raise ValueError(f"{func.__name__} has no argument {size_arg!r}")
        self.position = names.index(size_arg)
        self.min_items = min_items
        self.threaded, self.one_thread = _two_builds(func)
        self.__doc__ = func.__doc__
        self.__name__ = func.__name__
        _ALL.append(self)

    def __call__(self, *args: Any) -> Any:
        """Run the threaded build on at least ``min_items`` events, else the one-thread one."""
        if len(args[self.position]) >= self.min_items:
            return self.threaded(*args)
        return self.one_thread(*args)


def sized_kernel(
    size_arg: str, min_items: int = PARALLEL_MIN_ITEMS
) -> Callable[[types.FunctionType], SizedKernel]:
    """Decorator: compile a per-event kernel twice; ``size_arg`` names the events' array."""

    def wrap(func: types.FunctionType) -> SizedKernel:
        return SizedKernel(func, size_arg, min_items)

    return wrap


def compile_other_builds() -> int:
    """Compile (or load from numba's cache) the build not yet used, for every signature used.

    A run of a small population compiles only one-thread builds; a later run of a big one would
    compile the threaded builds in the middle of its first day. Calling this after a small warm-up
    run readies both, so that no later run of the same scenarios compiles. Returns how many
    specialisations it compiled or loaded.
    """
    done = 0
    for sized in _ALL:
        for used, other in (
            (sized.threaded, sized.one_thread),
            (sized.one_thread, sized.threaded),
        ):
            for signature in list(used.signatures):
                if signature not in other.signatures:
                    other.compile(signature)
                    done += 1
    return done
