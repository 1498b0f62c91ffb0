"""The ledger of truth against record: how many records were true or false, by source.

A false record's cause is the source that produced it (a camera's false match, a bank's error, an
informant's malicious report), so ``false_records_by_SOURCE`` attributes every false record.

Runs last, after every mechanism has posted its acts and records, and only counts.

Owns its counts and columns; it reads the day's acts and records and writes nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from scslab.catalogue import Source
from scslab.engine.board import acts_of, records_of
from scslab.engine.mechanism import MechanismParams, Metrics
from scslab.engine.steps import CompiledSteps, compiled_mechanism
from scslab.kernels.jit import kernel, step_kernel
from scslab.kernels.structs import compiled_struct

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation


@kernel
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


LedgerState = compiled_struct("LedgerState", ("n_sources", "cum", "today"), __name__)
"""The number of source codes; acts, true and false records so far; today's counts (``_tally``'s
order)."""


@kernel
def _new_state(n_sources):
    return LedgerState(n_sources, np.zeros(3, np.int64), np.zeros(3 + 2 * n_sources, np.float64))


@step_kernel
def _step(day, board, s):
    pid, _, _ = acts_of(board)
    _, _, source, true = records_of(board)
    counts = _tally(pid.size, source, true, s.n_sources)
    s.cum += counts[:3]
    for j in range(counts.size):
        s.today[j] = counts[j]


@kernel
def _shared(s):
    return s.cum, s.today


compiled_mechanism(LedgerState, _step)


class Ledger(CompiledSteps, Metrics):
    """Daily and cumulative counts of acts, true records and false records."""

    name = "ledger"
    Params = MechanismParams
    description = "acts, true and false records per day and by source"

    def init(self, sim: Simulation) -> None:
        self.state = _new_state(len(Source))
        self.cum, self.today = _shared(self.state)
        # Source codes are 0..len(Source) - 1: the order of _tally's counts
        self.metric_columns = (
            "acts",
            "records_true",
            "records_false",
            *(f"records_by_{s.name.lower()}" for s in Source),
            *(f"false_records_by_{s.name.lower()}" for s in Source),
        )

    def summary(self) -> list[str]:
        acts, true, false = (int(x) for x in self.cum)
        share = false / max(true + false, 1)
        return [
            f"ledger: {acts:,} acts, {true:,} true records, {false:,} false records "
            f"({share:.1%} of all records are false)"
        ]
