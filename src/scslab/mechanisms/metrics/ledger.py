"""The ledger of truth against record: how many records were true or false, by source.

A false record's cause is the source that produced it (a camera's false match, a bank's error, an
informant's malicious report), so ``false_records_by_SOURCE`` attributes every false record.

Runs last, after every mechanism has posted its acts and records, and only counts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from scslab.catalogue import Source
from scslab.engine.mechanism import MechanismParams, Metrics

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation


class Ledger(Metrics):
    """Daily and cumulative counts of acts, true records and false records."""

    name = "ledger"
    Params = MechanismParams
    description = "acts, true and false records per day and by source"

    def init(self, sim: Simulation) -> None:
        self.today: dict[str, int] = {}
        self.cum = np.zeros(3, np.int64)
        # Source codes are 0..len(Source) - 1, so bincount positions are sources
        self.by_source = [f"records_by_{s.name.lower()}" for s in Source]
        self.false_by_source = [f"false_records_by_{s.name.lower()}" for s in Source]

    def step(self, sim: Simulation, day: int) -> None:
        acts, rec = sim.board.acts, sim.board.records
        true = int(rec["true"].sum())
        false = int(rec["true"].size - true)
        self.cum += (acts["pid"].size, true, false)
        src = rec["source"].astype(np.int64)
        by_source = np.bincount(src, minlength=len(Source))
        false_by_source = np.bincount(src[~rec["true"]], minlength=len(Source))
        self.today = {"acts": int(acts["pid"].size), "records_true": true, "records_false": false}
        self.today.update(zip(self.by_source, by_source.tolist(), strict=True))
        # the cause of each false record: the source that produced it
        self.today.update(zip(self.false_by_source, false_by_source.tolist(), strict=True))

    def metrics(self, day: int) -> dict[str, float | int]:
        return self.today

    def summary(self) -> list[str]:
        acts, true, false = (int(x) for x in self.cum)
        share = false / max(true + false, 1)
        return [
            f"ledger: {acts:,} acts, {true:,} true records, {false:,} false records "
            f"({share:.1%} of all records are false)"
        ]
