"""Compiling a run's daily kernels on the machine's other cores: a first run waits less.

A scenario's first run compiles its mechanisms' kernels, and numba compiles in one thread: the
set-up's kernels (each mechanism's ``init``), then the daily ``step`` and ``metrics`` kernels. A
mechanism's daily kernels and their argument types are known as soon as its ``init`` is done
(its compiled record exists), long before the first day. ``CompileHelpers`` hands each one that
is missing from the disk cache to helper processes (started on the first missing kernel; by
default one per other core, at most ``MAX_HELPERS``), which compile them in the order offered
while this process goes on with the set-up. The day plan's entry (``run_days``) is offered last,
once every record exists: it calls the kernels through pointers, so it needs none of them. When
the set-up is done, ``finish`` compiles here whatever the helpers have not, from the last offered
backwards: the entry first, beside the helpers rather than after them. The cache's per-kernel locks
(``kernels/cache.py``) make each kernel compiled once between them: a process that reaches a
kernel the other is compiling waits, then loads it. ``finish`` then stops the helpers; nothing
half-written reaches the cache (numba writes each cache file whole, then renames it).

This module owns the helpers: when they start, what they are given, and their process's main.
It must not run days or touch results: a helper only fills the kernel cache, and a kernel loaded
from it is the same machine code as one compiled here, so results are bit for bit the same with
or without helpers. ``SCSLAB_COMPILE_HELPERS`` sets how many (0: none, and nothing changes).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Iterable
from importlib import import_module
from typing import IO, Any

from scslab.errors import ScenarioError
from scslab.kernels.cache import built_or_cached

HELPERS_ENV = "SCSLAB_COMPILE_HELPERS"
"""The environment variable that sets how many helper processes a first run may start."""

MAX_HELPERS = 3
"""The most helpers by default, whatever the cores: a day has a dozen or so kernels to split."""

_RUNNING: list[subprocess.Popen[bytes]] = []
"""Helpers started by this process and not stopped yet."""


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
    return not built_or_cached(kernel, args)


def _importable(kernel: Any) -> bool:
    """Whether a helper finds ``kernel`` by module and name (not one made inside a function)."""
    func = kernel.py_func
    module = sys.modules.get(func.__module__)
    return module is not None and getattr(module, func.__qualname__, None) is kernel


class CompileHelpers:
    """The helpers of one run's set-up: offered kernels as they become known, then ``finish``."""

    def __init__(self) -> None:
        self.count = helpers_wanted()
        """Helpers to start on the first missing kernel (0: none)."""
        self.offered: list[tuple[Any, tuple]] = []
        """Every kernel offered, with its argument types, in order."""
        self.sent = 0
        """Kernels handed to a helper."""
        self._processes: list[subprocess.Popen[bytes]] = []

    def offer(self, kernels: Iterable[tuple[Any, tuple]]) -> None:
        """Kernels the run will need (``(kernel, argument types)``): helpers compile the missing."""
        for kernel, args in kernels:
            self.offered.append((kernel, args))
            if self.count == 0 or not is_missing(kernel, args) or not _importable(kernel):
                continue
            if not self._processes:
                self._start()
            if not self._processes:  # none could start: this process compiles everything
                self.count = 0
                continue
            job = (kernel.py_func.__module__, kernel.py_func.__qualname__, args)
            process = self._processes[self.sent % len(self._processes)]
            try:
                stream: IO[bytes] = process.stdin  # type: ignore[assignment]
                pickle.dump(job, stream)
                stream.flush()
            except (OSError, pickle.PicklingError):  # that helper is gone: compiled here
                continue
            self.sent += 1

    def _start(self) -> None:
        environment = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),  # what this process imports
            HELPERS_ENV: "0",
        }
        for _ in range(self.count):
            try:
                process = subprocess.Popen(
                    [sys.executable, "-m", "scslab.engine.compile_ahead"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env=environment,
                )
            except OSError:
                break
            self._processes.append(process)
            _RUNNING.append(process)

    def finish(self) -> None:
        """The set-up is done: compile here, last first, what helpers have not; stop them.

        Without helpers nothing is compiled here: the first day compiles its kernels as it
        reaches them, as it always has.
        """
        if not self._processes:
            return
        for process in self._processes:
            with contextlib.suppress(OSError):
                process.stdin.close()  # type: ignore[union-attr]
        for kernel, args in reversed(self.offered):
            if args not in kernel.overloads:
                kernel.compile(args)  # or load it, saved by a helper; or wait for the one on it
        self.stop()

    def stop(self) -> None:
        """Stop this run's helpers (a set-up that failed, or one done)."""
        stop_helpers(self._processes)
        self._processes = []


def stop_helpers(processes: list[subprocess.Popen[bytes]] | None = None) -> None:
    """Stop helpers (all still running by default): their locks go with them."""
    for process in list(_RUNNING if processes is None else processes):
        if process.poll() is None:
            process.terminate()
        process.wait()
        if process in _RUNNING:
            _RUNNING.remove(process)


atexit.register(stop_helpers)


def compile_job(module: str, name: str, args: tuple) -> bool:
    """Compile (or load) kernel ``name`` of ``module`` for ``args``; True if compiled here.

    A kernel that cannot be found or compiled is left to the process that needs it, which
    compiles it itself and reports its error.
    """
    try:
        kernel = getattr(import_module(module), name)
        if not is_missing(kernel, args):
            return False
        kernel.compile(args)
    except Exception:  # a helper's failure is the run's to report, where it compiles
        return False
    return True


def _main() -> None:
    """A helper: compile the jobs pickled on stdin, as they come, until it closes."""
    jobs: queue.Queue[tuple[str, str, tuple] | None] = queue.Queue()

    def read() -> None:  # the parent never waits on a full pipe while this helper compiles
        stream = sys.stdin.buffer
        while True:
            try:
                jobs.put(pickle.load(stream))  # our own parent's bytes
            except Exception:  # end of input, or a type that cannot be found here
                jobs.put(None)
                return

    threading.Thread(target=read, daemon=True).start()
    while (job := jobs.get()) is not None:
        compile_job(*job)


if __name__ == "__main__":
    _main()
