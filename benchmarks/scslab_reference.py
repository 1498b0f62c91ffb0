"""The reference model in scslab, behind the same harness as the peers (``peers/_cli.py``).

    python -m benchmarks.scslab_reference --people N --days D --seed S

It runs the shipped ``reference`` preset and renames its metric columns to the shared names.
"""

from __future__ import annotations

import sys

import pandas as pd

import scslab
from benchmarks.peers._cli import as_frame, main
from scslab.kernels.parallel import compile_other_builds, threads_as_for

COLUMNS = {
    "day": "day",
    "recovering_score_mean": "mean_score",
    "threshold_list_size": "list_size",
    "flight_purchases_blocked": "blocked_purchases",
    "threshold_list_household_members_of_listed": "household_members_of_listed",
}


class ReferenceRun:
    """A built scslab simulation of the reference preset."""

    def __init__(self, people: int, days: int, seed: int) -> None:
        sc = scslab.load_scenario("reference").with_overrides(people=people, days=days, seed=seed)
        self.sim = scslab.Simulation(sc)
        self.stored_bytes_per_person = self.sim.pop.bytes_per_person()

    def after_warm_up(self) -> None:
        """Ready the threaded kernel builds that a bigger timed run takes (no compiling there)."""
        compile_other_builds()

    def simulate(self) -> None:
        """Run every day."""
        self.sim.run()

    def run(self) -> pd.DataFrame:
        """Run every day; return the shared daily outputs."""
        self.simulate()
        return self.outputs()

    def outputs(self) -> pd.DataFrame:
        """The shared daily outputs of the run."""
        cols = {new: self.sim.columns[old] for old, new in COLUMNS.items()}
        return as_frame(cols)


def build(people: int, days: int, seed: int) -> ReferenceRun:
    """Build the reference model (the harness times this separately from the run)."""
    return ReferenceRun(people, days, seed)


if __name__ == "__main__":
    main("scslab", build, sys.argv[1:], warm_up_as_for=threads_as_for)
