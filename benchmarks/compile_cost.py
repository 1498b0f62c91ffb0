"""Seconds of compiling per kernel on an empty kernel cache: where a first run's wait goes.

    python -m benchmarks.compile_cost PRESET [--people N] [--days D] [--top K] [--llvm]

Runs the scenario in a fresh process with an empty ``NUMBA_CACHE_DIR`` and no compile helpers
(``SCSLAB_COMPILE_HELPERS=0``), so every kernel compiles in that one process, and listens to
numba's compile events. A kernel's time is exclusive: the compiles it sets off for the kernels
it calls are counted to them. A helper with ``inline="always"`` is compiled inside each caller
and counts to the caller. "threaded" marks ``parallel=True`` builds. The first-run table of
``benchmarks/RESULTS.md`` gives the wall time a user waits, with helpers; this says which
kernels it is spent on.

``--llvm`` also says where the seconds go inside numba, and how much code LLVM is given: the IR of
each kernel's own module, and the IR of the callees' modules that numba links into it and
optimises and turns into machine code again, caller by caller. Sizes are bytes of IR text, the
same from run to run on a given numba, so a change that compiles less shows up even where this
machine's timings are too noisy to. It reads numba's internals (``CPUCodeLibrary``, numba 0.68)
and printing the IR slows the run, so its wall time is not a first run's.
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


class LlvmShare:
    """Seconds in numba's LLVM stages and bytes of IR given to them (``--llvm``)."""

    STAGES = (  # CPUCodeLibrary methods: what each does, without the stages it calls
        ("add_ir_module", "IR printed as text, parsed and verified by LLVM"),
        ("_optimize_functions", "function passes on a kernel's own code"),
        ("_optimize_final_module", "module passes once the callees are linked in"),
        ("_finalize_final_module", "machine code"),
    )

    def __init__(self) -> None:
        self.seconds = dict.fromkeys((name for name, _ in self.STAGES), 0.0)
        """Each stage's own seconds: numba's ``add_ir_module`` runs ``_optimize_functions``,
        whose seconds count to the function passes only."""
        self.own_ir = self.linked_ir = 0
        self._inner: list[float] = []
        """For each stage running now, the seconds of the stages it has called so far."""

    def install(self) -> None:
        """Wrap numba's code library so that every kernel compiled from now on is counted."""
        from numba.core.codegen import CPUCodeLibrary

        for name in self.seconds:
            setattr(CPUCodeLibrary, name, self._timed(name, getattr(CPUCodeLibrary, name)))
        finalize = CPUCodeLibrary.finalize

        def counted(library: Any) -> Any:
            self.own_ir += len(str(library._final_module))
            for linked in dict.fromkeys(library._linking_libraries):  # each once, in order
                self.linked_ir += len(str(linked._get_module_for_linking()))
            return finalize(library)

        CPUCodeLibrary.finalize = counted

    def _timed(self, name: str, method: Any) -> Any:
        def timed(library: Any, *args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            self._inner.append(0.0)
            try:
                return method(library, *args, **kwargs)
            finally:
                spent = time.perf_counter() - t0
                self.seconds[name] += spent - self._inner.pop()
                if self._inner:
                    self._inner[-1] += spent

        return timed

    def report(self) -> str:
        """The seconds per stage and the IR given, as lines to print."""
        lines = ["inside numba's LLVM stages:"]
        for name, what in self.STAGES:
            lines.append(f"  {self.seconds[name]:7.2f} s  {name} ({what})")
        lines.append(
            f"  IR given to LLVM: {self.own_ir / 1e6:.1f} MB of the kernels' own modules and "
            f"{self.linked_ir / 1e6:.1f} MB of callees linked into them"
        )
        return "\n".join(lines)


def measure(
    preset: str, people: int, days: int, llvm: LlvmShare | None = None
) -> tuple[float, dict[str, list[Any]]]:
    """Run once in this process: the wall seconds and, per kernel, [seconds, compiles, threaded].

    The kernel cache must be empty for the numbers to mean a first run.
    """
    from numba.core import event

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
    if llvm is not None:
        llvm.install()
    t0 = time.perf_counter()
    import scslab  # after the listeners, so that any compile at import would be counted

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
    parser.add_argument(
        "--llvm", action="store_true", help="also the seconds and IR in numba's LLVM stages"
    )
    parser.add_argument("--in-this-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.in_this_process:
        with tempfile.TemporaryDirectory() as cache:
            env = os.environ | {"NUMBA_CACHE_DIR": cache, "SCSLAB_COMPILE_HELPERS": "0"}
            command = [sys.executable, "-m", "benchmarks.compile_cost", *sys.argv[1:]]
            sys.exit(subprocess.run([*command, "--in-this-process"], env=env).returncode)
    llvm = LlvmShare() if args.llvm else None
    wall, costs = measure(args.preset, args.people, args.days, llvm)
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
    if llvm is not None:
        print(llvm.report())


if __name__ == "__main__":
    main()
