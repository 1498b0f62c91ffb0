"""A list driven by a score: enter below one threshold, leave on reaching another.

Only people whose score may have crossed a threshold are looked at: those with records today and
those whose scheduled exit day has come (from the scoring system's ``day_reaching``). A scheduled
check that a later record made stale simply fails when it falls due.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit
from pydantic import Field, model_validator

from scslab.engine.calendar import Calendar
from scslab.engine.mechanism import Scoring
from scslab.kernels.memory import prefetch_ahead
from scslab.mechanisms.lists.base import ListBase, ListParams

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation


_EVERYONE = np.empty(0, np.bool_)
"""``scored`` for a scoring system that scores everyone."""

RESCAN_CHUNK = 1 << 22
"""People per chunk when a rescored system makes the list re-check everyone (bounds memory)."""


@njit(cache=True)
def _candidates(rec_pids, rec_true, due):
    """People with records today or in ``due`` (both sorted), once each, in order.

    Also whether each has no true record today (an entry today would rest on a false record).
    """
    cand = np.empty(rec_pids.size + due.size, np.int64)
    no_true = np.empty(cand.size, np.bool_)
    i = j = n = 0
    while i < rec_pids.size or j < due.size:
        if j == due.size or (i < rec_pids.size and rec_pids[i] <= due[j]):
            pid = rec_pids[i]
        else:
            pid = due[j]
        has_true = False
        while i < rec_pids.size and rec_pids[i] == pid:
            has_true |= rec_true[i]
            i += 1
        while j < due.size and due[j] == pid:
            j += 1
        cand[n] = pid
        no_true[n] = not has_true
        n += 1
    return cand[:n], no_true[:n]


@njit(cache=True)
def _stays_or_enters(cand, scores, scored, flags, mask, enter_below, exit_at):
    """On the list after today: listed people below ``exit_at``, others scored below the entry.

    ``scored`` says who is scored at all; empty when everyone is.
    """
    everyone = scored.size == 0
    out = np.empty(cand.size, np.bool_)
    for i in range(cand.size):
        prefetch_ahead(flags, cand, i)
        if flags[cand[i]] & mask:
            out[i] = scores[i] < exit_at
        else:
            out[i] = (everyone or scored[i]) and scores[i] < enter_below
    return out


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
        self.scored = _EVERYONE if self.scorer.scores_everyone() else None

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
        if self.scorer.rescored(day):  # everyone's score may have moved: find who crosses
            due = np.union1d(due, self._crossing(sim.pop.n, day))
        cand, false_entry = _candidates(rec["pid"], rec["true"], due)
        s = self.scorer.scores(cand, day)
        # people the system does not score (not opted in) are never listed by it
        enter = _stays_or_enters(
            cand,
            s,
            self.scored if self.scored is not None else self.scorer.has_score(cand),
            self.flag.array,
            self.flag.mask,
            p.enter_below,
            p.exit_at,
        )
        return cand, enter, false_entry

    def after_change(self, sim: Simulation, day: int) -> None:
        # Listed people whose score moved today get a (new) exit check.
        p, watch = self.params, self.listed_candidates
        if watch.size:  # checked from tomorrow: today's candidates are decided
            self.calendar.schedule(
                self.scorer.day_reaching(watch, day, p.exit_at), watch, first_day=day + 1
            )
