"""Microseconds per simulated day, per mechanism, of a preset at one population size.

    python -m benchmarks.day_cost PRESET --people N [--days D] [--repeats R]

At a few thousand people the events cost almost nothing, so this shows the fixed cost of each
mechanism's daily step (``benchmarks/README.md``, "Where the time goes"). A warm-up run loads the
compiled kernels first; the fastest of ``--repeats`` runs is shown, all in the compiled day plan.
"""

from __future__ import annotations

import argparse

import scslab


def main() -> None:
    """Command line: warm up, run ``--repeats`` times, print the fastest run's phases."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset")
    parser.add_argument("--people", type=int, required=True)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    scenario = scslab.load_scenario(args.preset).with_overrides(people=args.people, days=args.days)

    def once() -> scslab.Simulation:
        sim = scslab.Simulation(scenario, compiled=True)
        sim.run()
        return sim

    once()
    best = min((once() for _ in range(max(1, args.repeats))), key=lambda s: s.run_s)
    per_day = 1e6 / args.days
    phases = sum(row.seconds for row in best.plan)
    print(
        f"{args.preset}, {args.people:,} people x {args.days} days: "
        f"{best.run_s * per_day:.1f} us a day, "
        f"{best.run_s / (args.people * args.days) * 1e9:.2f} ns per person-day"
    )
    for row in best.plan:
        print(f"  {row.mechanism:24s} {row.seconds * per_day:8.1f} us a day")
    print(f"  {'(engine)':24s} {(best.run_s - phases) * per_day:8.1f} us a day")


if __name__ == "__main__":
    main()
