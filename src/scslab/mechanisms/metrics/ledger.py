"""The ledger of truth against record: how many records were true or false, by source.

A false record's cause is the source that produced it (a camera's false match, a bank's error, an
informant's malicious report), so ``false_records_by_SOURCE`` attributes every false record.

Runs last, after every mechanism has posted its acts and records, and only counts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from scslab.catalogue import Source
from scslab.engine.mechanism import MechanismParams, Metrics

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation


@njit(cache=True)
def _tally(acts, source, true, n_sources):
    """[acts, true records, false records, records by source..., false records by source...]."""
    out = np.zeros(3 + 2 * n_sources, np.int64)
    out[0] = acts
    for i in range(source.size):
        out[3 + source[i]] += 1
        if true[i]:
            out[1] += 1
        else:
            out[2] += 1
            out[3 + n_sources + source[i]] += 1  # the cause of a false record: its source
    return out


class Ledger(Metrics):
    """Daily and cumulative counts of acts, true records and false records."""

    name = "ledger"
    Params = MechanismParams
    description = "acts, true and false records per day and by source"

    def init(self, sim: Simulation) -> None:
        self.today: dict[str, int] = {}
        self.cum = np.zeros(3, np.int64)
        # Source codes are 0..len(Source) - 1: the order of _tally's counts
        self.columns = (
            "acts",
            "records_true",
            "records_false",
            *(f"records_by_{s.name.lower()}" for s in Source),
            *(f"false_records_by_{s.name.lower()}" for s in Source),
        )

    def step(self, sim: Simulation, day: int) -> None:
        acts, rec = sim.board.acts, sim.board.records
        counts = _tally(acts["pid"].size, rec["source"], rec["true"], len(Source))
        self.cum += counts[:3]
        self.today = dict(zip(self.columns, counts.tolist(), strict=True))

    def metrics(self, day: int) -> dict[str, float | int]:
        return self.today

    def summary(self) -> list[str]:
        acts, true, false = (int(x) for x in self.cum)
        share = false / max(true + false, 1)
        return [
            f"ledger: {acts:,} acts, {true:,} true records, {false:,} false records "
            f"({share:.1%} of all records are false)"
        ]
