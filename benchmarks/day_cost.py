"""Microseconds per simulated day, per mechanism, of a preset at one population size.

    python -m benchmarks.day_cost PRESET --people N [--days D] [--repeats R]
    python -m benchmarks.day_cost PRESET --people N --between A B
    python -m benchmarks.day_cost PRESET --people N --between A B --without-act ACT

At a few thousand people the events cost almost nothing, so this shows the fixed cost of each
mechanism's daily step (``benchmarks/README.md``, "Where the time goes"). A warm-up run loads the
compiled kernels first; the fastest of ``--repeats`` runs is shown, all in the compiled day plan.

``--between A B`` runs the preset for A days and for B days (one run each, after the warm-up)
and prints what days A to B cost each phase: the difference of the two runs' phase times over
``B - A`` days. It leaves out set-up and the first days (a first pass over everyone, say), and
with ``B - A`` a multiple of a monthly period it averages that period's passes in.

``--without-act ACT`` (repeatable) runs the preset with nobody committing ``ACT`` on their own
(the act left out of ``everyday_acts``): what the day costs without that act's events, phase by
phase. A measurement of where the time goes, not a scenario to report: results differ.
"""

from __future__ import annotations

import argparse
import functools

import scslab


def _scenario(preset: str, people: int, days: int, without: tuple[str, ...]) -> scslab.Scenario:
    """The preset at ``people`` x ``days``, with the acts ``without`` left out of everyday acts."""
    scenario = scslab.load_scenario(preset).with_overrides(people=people, days=days)
    if not without:
        return scenario
    everyday = scenario.mechanisms.get("everyday_acts")
    if everyday is None:
        raise ValueError(f"--without-act: {preset} has no everyday_acts mechanism")
    rates = everyday.model_dump(include={"acts", "extra_acts"})
    unknown = sorted(set(without) - set(rates["acts"]) - set(rates["extra_acts"]))
    if unknown:
        known = ", ".join(sorted({*rates["acts"], *rates["extra_acts"]}))
        raise ValueError(f"--without-act: {preset} draws no act {unknown[0]!r}; it draws {known}")
    kept = {
        field: {a: r for a, r in acts.items() if a not in without} for field, acts in rates.items()
    }
    return scenario.with_mechanism("everyday_acts", **kept)


def _run(preset: str, people: int, days: int, without: tuple[str, ...] = ()) -> scslab.Simulation:
    scenario = _scenario(preset, people, days, without)
    sim = scslab.Simulation(scenario, compiled=True)
    sim.run()
    return sim


def _phases(sim: scslab.Simulation) -> dict[str, float]:
    """Seconds per phase, and the engine's own (``(engine)``), of a finished run."""
    phases = {row.mechanism: row.seconds for row in sim.plan}
    return phases | {"(engine)": sim.run_s - sum(phases.values())}


def _left_out(without: tuple[str, ...]) -> str:
    return f" without {', '.join(without)}" if without else ""


def main() -> None:
    """Command line: warm up, run, print each phase's cost a day."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset")
    parser.add_argument("--people", type=int, required=True)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--between", type=int, nargs=2, metavar=("A", "B"))
    parser.add_argument("--without-act", action="append", default=[], metavar="ACT")
    args = parser.parse_args()
    without = tuple(args.without_act)
    try:
        _scenario(args.preset, args.people, args.days, without)  # bad flags fail before any run
    except (ValueError, scslab.ScenarioError) as err:
        parser.error(str(err))
    if args.between:
        first, last = args.between
        if not 0 <= first < last:
            parser.error(f"--between takes two day counts A < B, got {first} and {last}")
        _run(args.preset, args.people, first or 1, without)  # warm-up: load the kernels
        before = _phases(_run(args.preset, args.people, first, without)) if first else {}
        after = _phases(_run(args.preset, args.people, last, without))
        width = last - first
        cost = {name: (s - before.get(name, 0.0)) / width for name, s in after.items()}
        total = sum(cost.values())
        print(
            f"{args.preset}{_left_out(without)}, {args.people:,} people, days {first} to {last}: "
            f"{total * 1e3:.1f} ms a day, {total / args.people * 1e9:.2f} ns per person-day"
        )
        for name, seconds in cost.items():
            print(f"  {name:24s} {seconds * 1e3:9.2f} ms a day {seconds / total:7.1%}")
        return
    once = functools.partial(_run, args.preset, args.people, args.days, without)
    once()
    best = min((once() for _ in range(max(1, args.repeats))), key=lambda s: s.run_s)
    per_day = 1e6 / args.days
    print(
        f"{args.preset}{_left_out(without)}, {args.people:,} people x {args.days} days: "
        f"{best.run_s * per_day:.1f} us a day, "
        f"{best.run_s / (args.people * args.days) * 1e9:.2f} ns per person-day"
    )
    for name, seconds in _phases(best).items():
        print(f"  {name:24s} {seconds * per_day:8.1f} us a day")


if __name__ == "__main__":
    main()
