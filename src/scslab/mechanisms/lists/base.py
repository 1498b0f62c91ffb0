"""What every list shares: membership, entries and exits, appeals, credit repair, family reach.

A list keeps one flag bit per person plus a second bit, ``ever``, so that "persons ever listed"
counts people, not entries, and a third marking listings made on a false record (innocents). It
keeps, event by event, how many people who are not listed live in a household with someone who is
(the reach of family extension).

Subclasses say who enters and who leaves each day (``decide``). The base adds two exits that every
list may have, both drawn at entry and scheduled on a calendar:

- *appeals*: a share of new entries object; an objection succeeds with one probability when the
  listing rests on a false record and another when it is true, and takes effect after a delay;
- *credit repair*: a listing ends after a fixed term (``repair_days``) whatever else happens.

Lists with either keep a one-byte listing counter per person (``uint8``, incremented at every
entry) so that a scheduled exit can tell whether it still belongs to the current listing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit
from pydantic import Field

from scslab.engine.calendar import Calendar
from scslab.engine.mechanism import Lists, MechanismParams
from scslab.kernels.compact import kept
from scslab.kernels.memory import prefetch_ahead
from scslab.kernels.sampling import uniforms
from scslab.population.households import household_size, household_start

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation
    from scslab.population import Population

APPEAL, REPAIR = 0, 1
METRIC_COLUMNS = (
    "size",
    "entries",
    "exits",
    "persons_ever_listed",
    "household_members_of_listed",
    "innocents_listed",
    "appeals_filed",
    "appeals_won",
    "repaired",
)
"""A list's metric columns, each prefixed with the list's name (the last three with appeals)."""


class ListParams(MechanismParams):
    """Exits every list may have: appeals and credit repair."""

    appeal_share: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Share of new entries that appeal."
    )
    appeal_success_true: float = Field(
        default=0.02,
        ge=0.0,
        le=1.0,
        description="Chance an appeal against a listing on true records succeeds (assumption).",
    )
    appeal_success_false: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Chance an appeal against a listing on a false record succeeds (assumption).",
    )
    appeal_days: int = Field(
        default=15,
        ge=1,
        le=3650,
        description="Days from entry to an appeal's decision: courts review a correction request "
        "within 15 days (Supreme People's Court provisions on the defaulter list, 2017 revision).",
    )
    repair_days: int | None = Field(
        default=None,
        ge=1,
        le=36500,
        description="Listing term: people leave after this many days (none: no time limit).",
    )


@njit(inline="always", cache=True)
def _household_reach(flags, mask, households, pid):
    start = household_start(households, pid)
    size = household_size(households, pid)
    listed = 0
    for j in range(start, start + size):
        if flags[j] & mask:
            listed += 1
    return size - listed if listed > 0 else 0


@njit(cache=True)
def apply_changes(pids, enter, false_entry, flags, mask, ever_mask, false_mask, households, stats):
    """Apply entries (``enter``) and exits in order.

    Returns who entered, who left, and which of ``pids`` are listed afterwards, each in order.
    ``stats`` accumulates [size, entries, exits, ever listed, household reach, innocents listed].
    """
    entered = np.zeros(pids.size, np.bool_)
    exited = np.zeros(pids.size, np.bool_)
    for i in range(pids.size):
        prefetch_ahead(flags, pids, i)
        pid = pids[i]
        listed = (flags[pid] & mask) != 0
        if enter[i] == listed:
            continue
        before = _household_reach(flags, mask, households, pid)
        if enter[i]:
            if not flags[pid] & ever_mask:
                stats[3] += 1
            flags[pid] |= mask | ever_mask
            if false_entry[i]:
                flags[pid] |= false_mask
                stats[5] += 1
            stats[0] += 1
            stats[1] += 1
            entered[i] = True
        else:
            if flags[pid] & false_mask:
                stats[5] -= 1
            flags[pid] &= ~(mask | false_mask)
            stats[0] -= 1
            stats[2] += 1
            exited[i] = True
        stats[4] += _household_reach(flags, mask, households, pid) - before
    listed_now = np.empty(pids.size, np.bool_)
    for i in range(pids.size):
        listed_now[i] = (flags[pids[i]] & mask) != 0
    return kept(pids, entered), kept(pids, exited), kept(pids, listed_now)


class ListBase(Lists):
    """Membership, counters, appeals, repair and family reach of one list."""

    params: ListParams

    def decide(self, sim: Simulation, day: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Today's candidates: (person ids, enter (else leave), entry rests on a false record)."""
        raise NotImplementedError

    def after_change(self, sim: Simulation, day: int) -> None:
        """Called after today's changes are applied (``entered``/``exited`` are set)."""

    def declare(self, pop: Population) -> None:
        self.flag, self.ever, self.false_flag = pop.state.add_flags(
            f"{self.name}", f"{self.name}_ever", f"{self.name}_false"
        )
        p = self.params
        self.generation = None
        if p.appeal_share > 0 or p.repair_days is not None:
            self.generation = pop.state.add(f"{self.name}_generation", np.uint8, 0)

    def init(self, sim: Simulation) -> None:
        self.households = sim.pop.households
        # size, entries, exits, ever listed, household reach, innocents listed
        self.stats = np.zeros(6, np.int64)
        self.entered = np.empty(0, np.int64)
        self.exited = np.empty(0, np.int64)
        self.listed_candidates = np.empty(0, np.int64)
        """Today's candidates (``decide``'s and scheduled exits) who are listed after the day."""
        self.exit_calendar = Calendar(sim.days)
        self.appeals_filed = 0
        self.appeals_won = 0
        self.repaired = 0
        self.columns = tuple(f"{self.name}_{c}" for c in METRIC_COLUMNS)

    def change(self, pids: np.ndarray, enter: np.ndarray, false_entry: np.ndarray) -> None:
        """Apply entries and exits (``pids`` in processing order)."""
        self.entered, self.exited, self.listed_candidates = apply_changes(
            pids,
            enter,
            false_entry,
            self.flag.array,
            self.flag.mask,
            self.ever.mask,
            self.false_flag.mask,
            self.households,
            self.stats,
        )

    def _scheduled_exits(self, day: int) -> np.ndarray:
        pids, tags = self.exit_calendar.pop(day)
        if pids.size == 0:
            return pids
        valid = self.flag.get(pids) & (self.generation[pids] == tags // 2)
        pids, kinds = pids[valid], tags[valid] % 2
        self.appeals_won += int(np.count_nonzero(kinds == APPEAL))
        self.repaired += int(np.count_nonzero(kinds == REPAIR))
        return np.unique(pids)

    def _schedule_exits(self, day: int) -> None:
        p, new = self.params, self.entered
        if self.generation is None or new.size == 0:
            return
        self.generation[new] += np.uint8(1)  # wraps at 256: a stale exit would need 256 relistings
        episode = self.generation[new].astype(np.int64)
        days = np.full(new.size, day, np.int64)
        if p.appeal_share > 0:
            u = uniforms(self.key("appeal"), day, new, 0)
            v = uniforms(self.key("appeal"), day, new, 1)
            false = self.false_flag.get(new)
            win = np.where(false, p.appeal_success_false, p.appeal_success_true)
            filed = u < p.appeal_share
            won = filed & (v < win)
            self.appeals_filed += int(filed.sum())
            self.exit_calendar.schedule(
                days[won] + p.appeal_days, new[won], episode[won] * 2 + APPEAL
            )
        if p.repair_days is not None:
            self.exit_calendar.schedule(days + p.repair_days, new, episode * 2 + REPAIR)

    def step(self, sim: Simulation, day: int) -> None:
        pids, enter, false_entry = self.decide(sim, day)
        if self.generation is not None:
            out = self._scheduled_exits(day)
            if out.size:
                keep = ~np.isin(pids, out)  # a scheduled exit wins over today's other changes
                pids = np.concatenate([out, pids[keep]])
                enter = np.concatenate([np.zeros(out.size, np.bool_), enter[keep]])
                false_entry = np.concatenate([np.zeros(out.size, np.bool_), false_entry[keep]])
        self.change(pids, enter, false_entry)
        self._schedule_exits(day)
        self.after_change(sim, day)

    @property
    def size(self) -> int:
        """People on the list now."""
        return int(self.stats[0])

    def metrics(self, day: int) -> dict[str, float | int]:
        c, s = self.columns, self.stats.tolist()
        out = {
            c[0]: s[0],
            c[1]: self.entered.size,
            c[2]: self.exited.size,
            c[3]: s[3],
            c[4]: s[4],
            c[5]: s[5],
        }
        if self.generation is not None:
            out[c[6]] = self.appeals_filed
            out[c[7]] = self.appeals_won
            out[c[8]] = self.repaired
        return out

    def summary(self) -> list[str]:
        s = self.stats
        line = (
            f"{self.name}: {s[0]:,} listed now ({s[5]:,} on a false record), {s[3]:,} ever "
            f"listed, {s[1]:,} entries and {s[2]:,} exits; {s[4]:,} household members of listed "
            "people"
        )
        if self.generation is not None:
            line += f"; {self.appeals_won:,} appeals won, {self.repaired:,} listings expired"
        return [line]
