"""Microseconds per simulated day of each compiled kernel that Python calls, inside a real run.

    python -m benchmarks.kernel_cost PRESET --people N [--days D] [--top K]

``day_cost`` says which phase of a day costs what; this says which kernel inside the phases. It
times every call that Python makes into a compiled kernel of the mechanisms, the board and the
calendar, over a whole run of the Python loop (``compiled=False``): in the compiled day plan no
call comes from Python, and each phase is timed by the plan itself (``day_cost``). A mechanism
with compiled kernels shows as its step kernel; the others show every kernel they call. A kernel
timed alone on one day's inputs repeated runs with caches and branch predictors that have learnt
those inputs and can look several times cheaper than it is inside a run (``benchmarks/README.md``,
"Where the time goes"); this is the number to improve.

The timing wraps each kernel in Python, which adds about 0.2 microseconds a call, and a warm-up
run compiles every kernel first: a kernel that other kernels call must be compiled before it is
wrapped, or they would find a Python function where they expect a compiled one.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

from numba.core.registry import CPUDispatcher

import scslab
import scslab.engine.board
import scslab.engine.calendar
import scslab.mechanisms
from scslab.engine.steps import KERNELS
from scslab.kernels.parallel import SizedKernel


def _modules() -> list[ModuleType]:
    """The mechanisms' modules, the board's and the calendar's."""
    names = pkgutil.walk_packages(scslab.mechanisms.__path__, scslab.mechanisms.__name__ + ".")
    return [importlib.import_module(m.name) for m in names] + [
        scslab.engine.board,
        scslab.engine.calendar,
    ]


def _defined_here(obj: Any, module: ModuleType) -> bool:
    """Whether ``obj`` is a compiled kernel defined in ``module`` (not one it imports)."""
    if isinstance(obj, SizedKernel):
        return obj.threaded.py_func.__module__ == module.__name__
    return isinstance(obj, CPUDispatcher) and obj.py_func.__module__ == module.__name__


def _timed(kernel: Callable[..., Any], name: str, seconds: dict[str, float], calls: dict[str, int]):
    def call(*args: Any) -> Any:
        t0 = time.perf_counter()
        out = kernel(*args)
        seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - t0
        calls[name] = calls.get(name, 0) + 1
        return out

    return call


def measure(scenario: scslab.Scenario) -> tuple[scslab.Simulation, dict[str, float], dict]:
    """Run ``scenario`` once to compile, then once with every kernel timed.

    Returns the timed run and, per kernel (``module.name``), its seconds and its calls.
    """
    scslab.Simulation(scenario, compiled=False).run()  # compiles (or loads) every kernel first
    seconds: dict[str, float] = {}
    calls: dict[str, int] = {}
    originals = []
    for module in _modules():
        for name, obj in list(vars(module).items()):
            if _defined_here(obj, module):
                label = f"{module.__name__.rsplit('.', 1)[-1]}.{name}"
                originals.append((module, name, obj))
                setattr(module, name, _timed(obj, label, seconds, calls))
    registered = dict(KERNELS)  # the mechanisms' step and metrics kernels, by record class
    for state_class, kernels in registered.items():
        KERNELS[state_class] = kernels._make(
            _timed(k, f"{k.py_func.__module__.rsplit('.', 1)[-1]}.{k.__name__}", seconds, calls)
            for k in kernels
        )
    try:
        sim = scslab.Simulation(scenario, compiled=False)
        sim.run()
    finally:
        KERNELS.update(registered)
        for module, name, obj in originals:
            setattr(module, name, obj)
    return sim, seconds, calls


def main() -> None:
    """Command line: print the run's phases and its costliest kernels, per simulated day."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset")
    parser.add_argument("--people", type=int, required=True)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--top", type=int, default=20, help="kernels to show (default 20)")
    args = parser.parse_args()
    scenario = scslab.load_scenario(args.preset).with_overrides(people=args.people, days=args.days)
    sim, seconds, calls = measure(scenario)
    per_day = 1e6 / args.days
    print(
        f"{args.preset}, {args.people:,} people x {args.days} days: "
        f"{sim.run_s * per_day:.1f} us a day (kernels timed: about 0.2 us more a call)"
    )
    for row in sim.plan:
        print(f"  phase  {row.mechanism:34s} {row.seconds * per_day:8.1f} us a day")
    for name, s in sorted(seconds.items(), key=lambda kv: -kv[1])[: args.top]:
        print(
            f"  kernel {name:34s} {s * per_day:8.1f} us a day  "
            f"({calls[name] / args.days:.1f} calls a day)"
        )


if __name__ == "__main__":
    main()
