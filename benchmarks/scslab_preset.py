"""Time one preset through the public API, after a warm-up run of the same preset in-process.

    python -m benchmarks.scslab_preset PRESET --people N --days D --out DIR

PRESET is a preset's name, or ``integrated_2020+all`` for the whole system of issue 13
(``benchmarks/whole_system.py``: the preset with every adversary and response on).

The warm-up (200,000 people, the same days) loads or compiles every kernel the preset uses, in
both its one-thread and threaded builds, and its compiled day plan, so the timed run measures
simulation, not compilation: its records take the timed run's threads (``threads_as_for``).
Both runs are in the compiled day plan.
The timed run writes a normal run folder (manifest and metrics); this prints its wall time (set-up,
run and writing results) as JSON.
"""

from __future__ import annotations

import argparse
import json
import time

import scslab
from benchmarks.whole_system import WHOLE_SYSTEM, whole_system
from scslab.kernels.parallel import compile_other_builds, threads_as_for

WARM_UP_PEOPLE = 200_000


def scenario(preset: str, people: int, days: int) -> scslab.Scenario:
    """The preset (or the whole system) at ``people`` x ``days``."""
    if preset == WHOLE_SYSTEM:
        return whole_system(people, days)
    return scslab.load_scenario(preset).with_overrides(people=people, days=days)


def main() -> None:
    """Command line: warm up, then time the run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset")
    parser.add_argument("--people", type=int, required=True)
    parser.add_argument("--days", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    warm_up = min(args.people, WARM_UP_PEOPLE)
    with threads_as_for(args.people):
        scslab.run(scenario(args.preset, warm_up, args.days), compiled=True)
    compile_other_builds()  # the threaded builds a bigger population takes
    t0 = time.perf_counter()
    scslab.run(scenario(args.preset, args.people, args.days), out=args.out, compiled=True)
    print(json.dumps({"wall_s": round(time.perf_counter() - t0, 3)}))


if __name__ == "__main__":
    main()
