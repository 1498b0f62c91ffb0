"""Seconds of compiling per kernel on an empty kernel cache: where a first run's wait goes.

    python -m benchmarks.compile_cost PRESET [--people N] [--days D] [--top K]

Runs the scenario in a fresh process with an empty ``NUMBA_CACHE_DIR`` and no compile helpers
(``SCSLAB_COMPILE_HELPERS=0``), so every kernel compiles in that one process, and listens to
numba's compile events. A kernel's time is exclusive: the compiles it sets off for the kernels
it calls are counted to them. A helper with ``inline="always"`` is compiled inside each caller
and counts to the caller. "threaded" marks ``parallel=True`` builds. The first-run table of
``benchmarks/RESULTS.md`` gives the wall time a user waits, with helpers; this says which
kernels it is spent on.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from typing import Any


def _name(dispatcher: Any) -> str:
    module = str(getattr(dispatcher.py_func, "__module__", "?")).removeprefix("scslab.")
    return f"{module}.{dispatcher.py_func.__qualname__}"


def measure(preset: str, people: int, days: int) -> tuple[float, dict[str, list[Any]]]:
    """Run once in this process: the wall seconds and, per kernel, [seconds, compiles, threaded].

    The kernel cache must be empty for the numbers to mean a first run.
    """
    from numba.core import event

    import scslab

    costs: dict[str, list[Any]] = defaultdict(lambda: [0.0, 0, False])

    class Listener(event.Listener):
        def __init__(self) -> None:
            self.open: list[tuple[str, float]] = []

        def on_start(self, ev: event.Event) -> None:
            dispatcher = ev.data["dispatcher"]
            name = _name(dispatcher)
            costs[name][2] = bool(dispatcher.targetoptions.get("parallel"))
            self.open.append((name, time.perf_counter()))

        def on_end(self, ev: event.Event) -> None:
            name, t0 = self.open.pop()
            seconds = time.perf_counter() - t0
            costs[name][0] += seconds
            costs[name][1] += 1
            if self.open:  # the caller's own time excludes this compile
                costs[self.open[-1][0]][0] -= seconds

    event.register("numba:compile", Listener())
    t0 = time.perf_counter()
    scenario = scslab.load_scenario(preset).with_overrides(people=people, days=days)
    scslab.Simulation(scenario, compiled=True).run()
    return time.perf_counter() - t0, dict(costs)


def main() -> None:
    """Command line: measure in a child process on an empty cache, print the costliest kernels."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset")
    parser.add_argument("--people", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--top", type=int, default=30, help="kernels to show (default 30)")
    parser.add_argument("--in-this-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.in_this_process:
        with tempfile.TemporaryDirectory() as cache:
            env = os.environ | {"NUMBA_CACHE_DIR": cache, "SCSLAB_COMPILE_HELPERS": "0"}
            command = [sys.executable, "-m", "benchmarks.compile_cost", *sys.argv[1:]]
            sys.exit(subprocess.run([*command, "--in-this-process"], env=env).returncode)
    wall, costs = measure(args.preset, args.people, args.days)
    total = sum(c[0] for c in costs.values())
    threaded = sum(c[0] for c in costs.values() if c[2])
    one_thread = sum(c[0] for n, c in costs.items() if n.endswith("_one_thread"))
    print(
        f"{args.preset}, {args.people:,} people x {args.days} days on an empty kernel cache, "
        f"one process: {wall:.1f} s wall, {total:.1f} s compiling "
        f"({sum(c[1] for c in costs.values())} compiles); threaded builds {threaded:.1f} s, "
        f"one-thread builds {one_thread:.1f} s"
    )
    for name, (seconds, compiles, parallel) in sorted(costs.items(), key=lambda kv: -kv[1][0])[
        : args.top
    ]:
        mark = "threaded" if parallel else ""
        print(f"  {seconds:7.2f} s  {compiles:3d}x  {mark:8s} {name}")


if __name__ == "__main__":
    main()
