"""A list driven by a score: enter below one threshold, leave on reaching another.

Only people whose score may have crossed a threshold are looked at: those with records today and
those whose scheduled exit day has come (from the scoring system's ``day_reaching``). A scheduled
check that a later record made stale simply fails when it falls due.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field, model_validator

from scslab.engine.calendar import Calendar
from scslab.engine.mechanism import Scoring
from scslab.mechanisms.lists.base import ListBase, ListParams

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation


RESCAN_CHUNK = 1 << 22
"""People per chunk when a rescored system makes the list re-check everyone (bounds memory)."""


def _unique_sorted(a: np.ndarray) -> np.ndarray:
    """Distinct values of an already sorted array (no re-sort)."""
    if a.size == 0:
        return a
    keep = np.empty(a.size, np.bool_)
    keep[0] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return a[keep]


class ThresholdListParams(ListParams):
    """The score to watch and the two thresholds."""

    score: str = Field(default="recovering_score", description="The scoring mechanism to read.")
    enter_below: int = Field(default=900, description="Listed when the score falls below this.")
    exit_at: int = Field(default=950, description="Delisted when the score reaches this.")

    @model_validator(mode="after")
    def _hysteresis(self) -> ThresholdListParams:
        if self.exit_at < self.enter_below:
            raise ValueError("exit_at must be at least enter_below")
        return self


class ThresholdList(ListBase):
    """Blacklist by score thresholds (the benchmark reference model's list)."""

    name = "threshold_list"
    Params = ThresholdListParams
    description = "blacklist entered below a score threshold and left on reaching another"
    params: ThresholdListParams

    def init(self, sim: Simulation) -> None:
        super().init(sim)
        self.scorer = sim.get(self.params.score, Scoring, f"{self.name}.score")
        self.calendar = Calendar(sim.days)

    def _crossing(self, n: int, day: int) -> np.ndarray:
        """Everyone whose score crosses a threshold today (a full pass, in chunks)."""
        p, out = self.params, []
        for lo in range(0, n, RESCAN_CHUNK):
            ids = np.arange(lo, min(n, lo + RESCAN_CHUNK))
            s = self.scorer.scores(ids, day)
            enter = (s < p.enter_below) & self.scorer.has_score(ids)
            out.append(ids[np.where(self.flag.get(ids), s >= p.exit_at, enter)])
        return np.concatenate(out) if out else np.empty(0, np.int64)

    def decide(self, sim: Simulation, day: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        p = self.params
        rec = sim.board.records
        due, _ = self.calendar.pop(day)
        cand = _unique_sorted(rec["pid"])  # records are ordered by person
        if due.size:
            cand = np.unique(np.concatenate([cand, due]))
        if self.scorer.rescored(day):  # everyone's score may have moved: find who crosses
            cand = np.union1d(cand, self._crossing(sim.pop.n, day))
        s = self.scorer.scores(cand, day)
        listed = self.flag.get(cand)
        # people the system does not score (not opted in) are never listed by it
        enter = np.where(listed, s < p.exit_at, (s < p.enter_below) & self.scorer.has_score(cand))
        true_pids = _unique_sorted(rec["pid"][rec["true"]])
        pos = np.minimum(np.searchsorted(true_pids, cand), max(true_pids.size - 1, 0))
        false_entry = true_pids[pos] != cand if true_pids.size else np.ones(cand.size, np.bool_)
        self._cand = cand
        return cand, enter, false_entry

    def after_change(self, sim: Simulation, day: int) -> None:
        # Listed people whose score moved today get a (new) exit check.
        p, cand = self.params, self._cand
        watch = cand[self.flag.get(cand)]
        when = self.scorer.day_reaching(watch, day, p.exit_at)
        ok = when > day
        self.calendar.schedule(when[ok], watch[ok])
