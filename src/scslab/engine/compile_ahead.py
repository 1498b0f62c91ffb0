"""Compiling a run's daily kernels on the machine's other cores: a first run waits less.

A scenario's first run compiles its mechanisms' kernels (numba compiles in one thread), and most
of that is the daily ``step`` and ``metrics`` kernels, compiled one after the other as the first
day reaches them. Once a run's set-up is done, the kernels it will need and their argument types
are known (``CompiledPlan.kernel_signatures``). When several of them are missing from the disk
cache, ``start_helpers`` starts helper processes (by default one per other core, at most
``MAX_HELPERS``) that compile them from the last mechanism backwards while this process
compiles from the first forwards. The cache's per-kernel locks (``kernels/cache.py``) make each
kernel compiled once between them: a process that reaches a kernel the other is compiling waits,
then loads it. A helper exits when its list is done; one still working when this process exits
is stopped (``stop_helpers``, at exit), and nothing half-written reaches the cache (numba writes
each cache file whole, then renames it).

This module owns the choice to start helpers, their list of work and the helper process's main.
It must not run days or touch results: a helper only fills the kernel cache, and a kernel loaded
from it is the same machine code as one compiled here, so results are bit for bit the same with
or without helpers. ``SCSLAB_COMPILE_HELPERS`` sets how many (0: none).
"""

from __future__ import annotations

import atexit
import os
import pickle
import subprocess
import sys
from collections.abc import Sequence
from importlib import import_module
from typing import Any

from scslab.errors import ScenarioError
from scslab.kernels.cache import SourcesCache

HELPERS_ENV = "SCSLAB_COMPILE_HELPERS"
"""The environment variable that sets how many helper processes a first run may start."""

MAX_HELPERS = 3
"""The most helpers by default, whatever the cores: a day has a dozen or so kernels to split."""

MIN_MISSING = 3
"""Helpers start only when at least this many kernels are missing from the cache.

Starting one costs about two seconds of another core (Python, numba and the package imported);
one or two kernels compile in about that (a judgement, not a measurement of each kernel)."""

_RUNNING: list[subprocess.Popen[bytes]] = []
"""Helpers started by this process and not yet seen to finish."""


def helpers_wanted() -> int:
    """How many helpers a first run starts: ``SCSLAB_COMPILE_HELPERS``, or the other cores.

    Raises:
        ScenarioError: ``SCSLAB_COMPILE_HELPERS`` is set to something other than a whole
            number of 0 or more.
    """
    raw = os.environ.get(HELPERS_ENV, "").strip()
    if not raw:
        return max(0, min(len(os.sched_getaffinity(0)) - 1, MAX_HELPERS))
    try:
        count = int(raw)
    except ValueError:
        count = -1
    if count < 0:
        raise ScenarioError(
            f"{HELPERS_ENV}={raw!r}: expected a whole number of helper processes, 0 or more"
        )
    return count


def is_missing(kernel: Any, args: tuple) -> bool:
    """Whether ``kernel`` has no build for ``args`` here and none in the disk cache."""
    if args in kernel.overloads:
        return False
    cache = getattr(kernel, "_cache", None)
    return not (isinstance(cache, SourcesCache) and cache.holds(args, kernel.targetctx))


def _importable(kernel: Any) -> bool:
    """Whether a helper finds ``kernel`` by module and name (not one made inside a function)."""
    func = kernel.py_func
    module = sys.modules.get(func.__module__)
    return module is not None and getattr(module, func.__qualname__, None) is kernel


def helper_order(count: int, helper: int, helpers: int) -> list[int]:
    """The positions helper ``helper`` of ``helpers`` compiles, of ``count`` kernels in plan order.

    This process goes forwards from the first; helper 0 backwards from the last, and each next
    helper backwards from a point a share further down, all of them round to the end, so that
    each starts where nobody else is working.
    """
    start = count - 1 - helper * count // (helpers + 1)
    return [(start - k) % count for k in range(count)]


def start_helpers(kernels: Sequence[tuple[Any, tuple]]) -> int:
    """Start helpers that compile ``kernels`` (``(kernel, argument types)``, plan order).

    Nothing starts when fewer than ``MIN_MISSING`` are missing from the cache or no helper is
    wanted. Returns how many helpers started.
    """
    helpers = helpers_wanted()
    missing = [(k, args) for k, args in kernels if is_missing(k, args) and _importable(k)]
    if helpers == 0 or len(missing) < MIN_MISSING:
        return 0
    jobs = [(k.py_func.__module__, k.py_func.__qualname__, args) for k, args in missing]
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),  # what this process imports
        HELPERS_ENV: "0",
    }
    started = 0
    for helper in range(helpers):
        ordered = [jobs[i] for i in helper_order(len(jobs), helper, helpers)]
        try:
            payload = pickle.dumps(ordered)
            process = subprocess.Popen(
                [sys.executable, "-m", "scslab.engine.compile_ahead"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=environment,
            )
            assert process.stdin is not None
            process.stdin.write(payload)
            process.stdin.close()
        except (OSError, pickle.PicklingError):  # no helper: this process compiles everything
            break
        _RUNNING.append(process)
        started += 1
    return started


def stop_helpers() -> None:
    """Stop the helpers still compiling (their locks go with them; nothing half-saved stays)."""
    while _RUNNING:
        process = _RUNNING.pop()
        if process.poll() is None:
            process.terminate()
            process.wait()


atexit.register(stop_helpers)


def compile_jobs(jobs: Sequence[tuple[str, str, tuple]]) -> int:
    """Compile (or load) each ``(module, name, argument types)``; returns how many compiled.

    A kernel that cannot be found or compiled is left to the process that needs it, which
    compiles it itself and reports its error.
    """
    done = 0
    for module, name, args in jobs:
        try:
            kernel = getattr(import_module(module), name)
            if is_missing(kernel, args):
                kernel.compile(args)
                done += 1
        except Exception:  # a helper's failure is the run's to report, where it compiles
            continue
    return done


def _main() -> None:
    """A helper: read the jobs pickled on stdin, compile them, exit."""
    compile_jobs(pickle.loads(sys.stdin.buffer.read()))  # our own parent's bytes


if __name__ == "__main__":
    _main()
