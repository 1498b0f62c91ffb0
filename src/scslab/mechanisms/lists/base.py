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

A list's state is a compiled record (``ListState`` here, or a subclass's record with the same
fields and more); ``apply_day`` applies a day's decided changes, scheduled exits and new exit
dates on any of them, so a list whose decisions are compiled too (``threshold_list``) runs in the
compiled day plan, and the others use the same code from their Python step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit
from pydantic import Field

from scslab.engine.calendar import new_calendar, pop, schedule
from scslab.engine.mechanism import Lists, MechanismParams
from scslab.kernels.compact import kept
from scslab.kernels.memory import prefetch_ahead
from scslab.kernels.rng import uniform
from scslab.kernels.structs import compiled_struct
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
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Share of new entries that appeal (default 0: none, an assumption for a list "
        "without a published correction procedure).",
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
        "within 15 days (source: Supreme People's Court provisions on the defaulter list, 2017 "
        "revision).",
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
    """Apply entries (``enter``) and exits in order; one person's rows must be adjacent.

    Returns who entered, who left, and which of ``pids`` are listed afterwards, each in order.
    ``stats`` accumulates [size, entries, exits, ever listed, household reach, innocents listed].
    """
    entered = np.zeros(pids.size, np.bool_)
    exited = np.zeros(pids.size, np.bool_)
    listed_now = np.empty(pids.size, np.bool_)
    for i in range(pids.size):
        prefetch_ahead(flags, pids, i)
        pid = pids[i]
        listed = (flags[pid] & mask) != 0
        listed_now[i] = listed
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
        listed_now[i] = enter[i]
        stats[4] += _household_reach(flags, mask, households, pid) - before
    for i in range(pids.size - 2, -1, -1):  # a person's earlier rows: listed as after the last
        if pids[i] == pids[i + 1]:
            listed_now[i] = listed_now[i + 1]
    return kept(pids, entered), kept(pids, exited), kept(pids, listed_now)


LIST_FIELDS = (
    "flags",
    "mask",
    "ever_mask",
    "false_mask",
    "households",
    "stats",
    "generation",
    "exits",
    "appeal",
    "appeal_key",
    "entered",
    "exited",
    "listed_candidates",
    "counts",
    "today",
)
"""The fields every list's record has: the flag byte per person and the list's, ever-listed and
false-record masks; the households; ``stats`` (see ``apply_changes``); the listing counter per
person (empty without appeals or a term) and the calendar of scheduled exits; the appeal rule
(share, success if true, success if false, days, term or -1) and its key; who entered, who left
and which of the day's candidates are listed after it; ``counts`` (appeals filed, appeals won,
listings expired); today's metrics (``METRIC_COLUMNS``, the last three with appeals)."""

ListState = compiled_struct("ListState", LIST_FIELDS, __name__)
"""The record of a list with no fields of its own (and of no list at all: ``no_list``)."""


def list_fields(lst: ListBase, days: int) -> tuple:
    """The values of ``LIST_FIELDS`` for a new list record of ``lst``.

    Its ``today`` holds one value per name in ``lst.metric_columns``.
    """
    p = lst.params
    repair = p.repair_days if p.repair_days is not None else -1
    appeal = (p.appeal_share, p.appeal_success_true, p.appeal_success_false, p.appeal_days, repair)
    empty = np.empty(0, np.int64)
    return (
        lst.flag.array,
        lst.flag.mask,
        lst.ever.mask,
        lst.false_flag.mask,
        lst.households,
        np.zeros(6, np.int64),
        lst.generation if lst.generation is not None else np.empty(0, np.uint8),
        new_calendar(days),
        appeal,
        lst.key("appeal"),
        empty,
        empty,
        empty,
        np.zeros(3, np.int64),
        np.zeros(len(lst.metric_columns), np.float64),
    )


@njit(cache=True)
def _new_list_state(fields):
    return ListState(*fields)


@njit(cache=True)
def no_list():
    """The record of no list (for a reader whose list is optional): nobody on it."""
    empty = np.empty(0, np.int64)
    return ListState(
        np.empty(0, np.uint8),
        np.uint8(0),
        np.uint8(0),
        np.uint8(0),
        np.empty(0, np.uint8),
        np.zeros(6, np.int64),
        np.empty(0, np.uint8),
        new_calendar(0),
        (0.0, 0.0, 0.0, 0, -1),
        np.uint64(0),
        empty,
        empty,
        empty,
        np.zeros(3, np.int64),
        np.zeros(0, np.float64),
    )


@njit(cache=True)
def _scheduled_exits(day, s):
    """Today's due exits still valid for the current listing, counted, once each, in order."""
    pids, tags = pop(s.exits, day)
    if pids.size == 0:
        return pids
    valid = np.empty(pids.size, np.bool_)
    for i in range(pids.size):
        pid = pids[i]
        valid[i] = (s.flags[pid] & s.mask) != 0 and s.generation[pid] == tags[i] // 2
        if valid[i]:
            s.counts[1] += tags[i] % 2 == APPEAL
            s.counts[2] += tags[i] % 2 == REPAIR
    return np.unique(kept(pids, valid))


@njit(cache=True)
def _schedule_exits(day, s):
    """New entries' appeals and listing terms, on the exits calendar."""
    new = s.entered
    share, success_true, success_false, appeal_days, repair_days = s.appeal
    if s.generation.size == 0 or new.size == 0:
        return
    episode = np.empty(new.size, np.int64)
    for i in range(new.size):
        s.generation[new[i]] += np.uint8(1)  # wraps at 256: a stale exit needs 256 relistings
        episode[i] = s.generation[new[i]]
    if share > 0:
        won = np.zeros(new.size, np.bool_)
        for i in range(new.size):
            pid = new[i]
            filed = uniform(s.appeal_key, day, pid, 0) < share
            false = (s.flags[pid] & s.false_mask) != 0
            win = success_false if false else success_true
            won[i] = filed and uniform(s.appeal_key, day, pid, 1) < win
            s.counts[0] += filed
        winners = kept(new, won)
        schedule(
            s.exits,
            np.full(winners.size, day + appeal_days),
            winners,
            kept(episode, won) * 2 + APPEAL,
            0,
        )
    if repair_days >= 0:
        schedule(s.exits, np.full(new.size, day + repair_days), new, episode * 2 + REPAIR, 0)


@njit(cache=True)
def _without(pids, enter, false_entry, out):
    """The candidates not in ``out`` (sorted, unique), after ``out`` as exits."""
    n = 0
    keep = np.empty(pids.size, np.bool_)
    for i in range(pids.size):
        j = np.searchsorted(out, pids[i])
        keep[i] = not (j < out.size and out[j] == pids[i])
        n += keep[i]
    all_pids = np.empty(out.size + n, np.int64)
    all_enter = np.zeros(out.size + n, np.bool_)
    all_false = np.zeros(out.size + n, np.bool_)
    all_pids[: out.size] = out
    k = out.size
    for i in range(pids.size):
        if keep[i]:
            all_pids[k], all_enter[k], all_false[k] = pids[i], enter[i], false_entry[i]
            k += 1
    return all_pids, all_enter, all_false


@njit(cache=True)
def apply_day(day, s, pids, enter, false_entry):
    """Apply a day's decisions (``pids`` with ``enter``, else leave) to the list record ``s``.

    Scheduled exits (appeals won, terms ended) come first and win over the day's other changes;
    then entries and exits in order (``s.entered``, ``s.exited``, ``s.listed_candidates``);
    then the new entries' appeals and terms are scheduled.
    """
    if s.generation.size:
        out = _scheduled_exits(day, s)
        if out.size:
            pids, enter, false_entry = _without(pids, enter, false_entry, out)
    entered, exited, listed = apply_changes(
        pids, enter, false_entry, s.flags, s.mask, s.ever_mask, s.false_mask, s.households, s.stats
    )
    s.entered, s.exited, s.listed_candidates = entered, exited, listed
    _schedule_exits(day, s)


@njit(cache=True)
def list_metrics(day, s):
    """Today's metrics of the list record ``s``; returns how many it wrote.

    ``METRIC_COLUMNS`` in order, the appeals' three only with appeals or a term; a subclass's own
    metrics follow.
    """
    t = s.today
    t[0], t[1], t[2] = s.stats[0], s.entered.size, s.exited.size
    t[3], t[4], t[5] = s.stats[3], s.stats[4], s.stats[5]
    if s.generation.size == 0:
        return 6
    t[6], t[7], t[8] = s.counts[0], s.counts[1], s.counts[2]
    return 9


@njit(cache=True)
def _changes_of_the_day(s):
    return s.entered, s.exited, s.listed_candidates


@njit(cache=True)
def _shared_arrays(s):
    return s.stats, s.counts, s.today


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
        self.metric_columns = self.init_columns()
        self.state = self.new_state(sim)
        self.stats, self.counts, self.today = _shared_arrays(self.state)
        """size, entries, exits, ever listed, household reach, innocents listed; appeals filed,
        appeals won, listings expired; today's metrics: shared with the record."""

    def init_columns(self) -> tuple[str, ...]:
        """The list's metric columns (a subclass may add its own after these)."""
        names = METRIC_COLUMNS if self.generation is not None else METRIC_COLUMNS[:6]
        return tuple(f"{self.name}_{c}" for c in names)

    def new_state(self, sim: Simulation) -> object:
        """The list's record (``ListState``; a subclass with compiled decisions has its own)."""
        return _new_list_state(list_fields(self, sim.days))

    @property
    def entered(self) -> np.ndarray:
        """Who entered today, in order."""
        return _changes_of_the_day(self.state)[0]

    @property
    def exited(self) -> np.ndarray:
        """Who left today, in order."""
        return _changes_of_the_day(self.state)[1]

    @property
    def listed_candidates(self) -> np.ndarray:
        """Today's candidates (``decide``'s and scheduled exits) who are listed after the day."""
        return _changes_of_the_day(self.state)[2]

    @property
    def appeals_filed(self) -> int:
        """Appeals filed so far."""
        return int(self.counts[0])

    @property
    def appeals_won(self) -> int:
        """Appeals won so far (listings they ended)."""
        return int(self.counts[1])

    @property
    def repaired(self) -> int:
        """Listings ended by their term so far."""
        return int(self.counts[2])

    def step(self, sim: Simulation, day: int) -> None:
        pids, enter, false_entry = self.decide(sim, day)
        apply_day(day, self.state, pids, enter, false_entry)
        self.after_change(sim, day)

    @property
    def size(self) -> int:
        """People on the list now."""
        return int(self.stats[0])

    def metrics(self, day: int) -> dict[str, float | int]:
        list_metrics(day, self.state)
        return dict(zip(self.metric_columns, map(int, self.today.tolist()), strict=True))

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
