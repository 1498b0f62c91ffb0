"""Per-event kernels in two builds: many threads for a big day, one thread for a small one.

Waking the worker threads for a parallel loop costs several microseconds, and a kernel with array
expressions wakes them once per expression: more than the whole work of a day's few hundred events
in a town of a few thousand people. ``sized_kernel`` compiles the same function twice, with and
without ``parallel=True``, and each call picks one by the size of the argument that holds the
events. Both builds compute the same values (iterations are independent; every draw is a hash of
its own counter), so the choice changes speed, never results.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable
from typing import Any

from numba import njit

PARALLEL_MIN_ITEMS = 4096
"""Below this many events a kernel runs in one thread.

A judgement from two measurements on the benchmark machine (benchmarks/README.md, "Where the time
goes"): a parallel region costs about 3 microseconds to start where the threads are asleep, and a
per-event kernel does 5-50 nanoseconds of work per event, so threads pay from a few thousand events.
"""


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


def both_builds(func: types.FunctionType, **options: Any) -> tuple[Any, Any]:
    """``func`` compiled with threads and in one thread, each cached under its own name.

    For a kernel called from other compiled code, which picks a build itself; ``sized_kernel``
    is the same for kernels called from Python. ``options`` go to both builds (for example
    ``error_model="numpy"``, no zero-division checks, for loops that should be vector code).
    """
    threaded = njit(parallel=True, cache=True, **options)(func)
    return threaded, njit(cache=True, **options)(_renamed(func, "_one_thread"))


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
        self.threaded, self.one_thread = both_builds(func)
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
    for kernel in _ALL:
        for used, other in (
            (kernel.threaded, kernel.one_thread),
            (kernel.one_thread, kernel.threaded),
        ):
            for signature in list(used.signatures):
                if signature not in other.signatures:
                    other.compile(signature)
                    done += 1
    return done
