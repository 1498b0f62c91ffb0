"""What every list shares: membership, entries and exits, appeals, credit repair, family reach.

A list keeps one flag bit per person plus a second bit, ``ever``, so that "persons ever listed"
counts people, not entries, and a third marking listings made on a false record (innocents), with
the source of that record (``mechanisms/provenance.py``: a data error, a malicious report...). It
keeps, event by event, how many people who are not listed live in a household with someone who is
(the reach of family extension).

Subclasses say who enters and who leaves each day, in a step kernel that ends with ``apply_day``.
The base adds two exits that every list may have, both drawn at entry and scheduled on a calendar:

- *appeals*: a share of new entries object; an objection succeeds with one probability when the
  listing rests on a false record and another when it is true, and takes effect after a delay;
- *credit repair*: a listing ends after a fixed term (``repair_days``) whatever else happens.

Lists with either keep a one-byte listing counter per person (``uint8``, incremented at every
entry) so that a scheduled exit can tell whether it still belongs to the current listing.

A list's state is a compiled record (``ListState`` here, or a subclass's record with the same
fields and more); ``apply_day`` applies a day's decided changes, scheduled exits and new exit
dates on any of them. Every value crosses into a record by name: the record's fields are those of
a NamedTuple (``ListFields``; a subclass's adds its own after them) that Python builds by keyword
and a cached constructor spreads into the record, so the two orders cannot differ. The counters
Python reads are indexed by the names below (``SIZE``... in ``stats``, ``FILED``... in
``counts``). A list with no compiled step (a prototype) may subclass ``ListBase`` and call
``apply_day`` on its record from its own Python ``step``.

Owns what every list shares: ``ListBase``, the record's common fields (``ListFields``,
``ListState``), the list's three flag bits and its listing counter, ``apply_day`` and
``apply_changes``, the appeals and terms on the exits calendar, and the metric columns. Who
enters and who leaves each day is the subclass's rule. It posts nothing and touches no score; of
other state it writes only the provenance's count of false listings by source
(``mechanisms/provenance.py``).
"""

from __future__ import annotations

from collections import namedtuple
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from pydantic import Field

from scslab.engine.calendar import new_calendar, pop, schedule
from scslab.engine.mechanism import Lists, MechanismParams
from scslab.kernels.bits import counter_increment, counter_value, no_counter
from scslab.kernels.compact import kept
from scslab.kernels.compiled_once import compiled_once
from scslab.kernels.jit import kernel
from scslab.kernels.memory import prefetch_ahead
from scslab.kernels.rng import uniform
from scslab.kernels.sorting import distinct_sorted
from scslab.kernels.structs import CounterBits, compiled_struct
from scslab.mechanisms.provenance import (
    NOT_FALSE,
    no_false_sources,
    no_provenance,
    provenance,
)
from scslab.population.households import household_size, household_start

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation
    from scslab.population import Population

APPEAL, REPAIR = 0, 1
"""Tags of scheduled exits (the low bit; the listing counter above it)."""
SIZE, ENTRIES, EXITS, EVER_LISTED, REACH, INNOCENTS = range(6)
"""Indices in a list record's ``stats``: people listed now, entries and exits so far, people ever
listed, household members of listed people who are not listed, listed on a false record."""
GENERATION_BITS = 4
"""Bits of a person's listing counter, which tells a scheduled exit (an appeal won, a term ended)
of an earlier listing from one of the current listing. It wraps at 16: a stale exit would be taken
for a current one only if its person were relisted a multiple of 16 times while it was pending
(weeks for an appeal, a term of months or years for a repair). Four bits, not a byte, keep the
court list of ``integrated_2020`` and its adversaries within 12 bytes a person."""
FILED, WON, EXPIRED = range(3)
"""Indices in a list record's ``counts``: appeals filed, appeals won, listings whose term ended."""
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

    def settings_unused(self) -> dict[str, str]:
        return self.given_but_unused(
            self.appeal_share == 0,
            ("appeal_success_true", "appeal_success_false", "appeal_days"),
            "appeal_share is 0, so nobody appeals",
        )


@kernel(inline="always")
def _household_reach(flags, mask, households, pid):
    start = household_start(households, pid)
    size = household_size(households, pid)
    listed = 0
    for j in range(start, start + size):
        if flags[j] & mask:
            listed += 1
    return size - listed if listed > 0 else 0


@compiled_once
@kernel
def apply_changes(
    pids,
    enter,
    false_source,
    flags,
    mask,
    ever_mask,
    false_mask,
    households,
    stats,
    false_sources,
    causes,
):
    """Apply entries (``enter``) and exits in order; one person's rows must be adjacent.

    ``false_source`` is, per row, the source of the false record an entry rests on
    (``NOT_FALSE``: a true one); an entry on a false record is noted in ``false_sources`` and
    counted in ``causes`` (a ``ProvenanceState``), and forgotten at the exit. Returns who
    entered, who left, and which of ``pids`` are listed afterwards, each in order. ``stats``
    accumulates the counters ``SIZE`` .. ``INNOCENTS``.
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
                stats[EVER_LISTED] += 1
            flags[pid] |= mask | ever_mask
            source = false_source[i]
            if source != NOT_FALSE:
                flags[pid] |= false_mask
                stats[INNOCENTS] += 1
                false_sources[pid] = source
                causes.listings[source] += 1
            stats[SIZE] += 1
            stats[ENTRIES] += 1
            entered[i] = True
        else:
            if flags[pid] & false_mask:
                stats[INNOCENTS] -= 1
                if pid in false_sources:
                    del false_sources[pid]
            flags[pid] &= ~(mask | false_mask)
            stats[SIZE] -= 1
            stats[EXITS] += 1
            exited[i] = True
        listed_now[i] = enter[i]
        stats[REACH] += _household_reach(flags, mask, households, pid) - before
    for i in range(pids.size - 2, -1, -1):  # a person's earlier rows: listed as after the last
        if pids[i] == pids[i + 1]:
            listed_now[i] = listed_now[i + 1]
    return kept(pids, entered), kept(pids, exited), kept(pids, listed_now)


class AppealRule(NamedTuple):
    """Appeals and the listing term, as a list record's ``appeal``."""

    share: float
    """Share of new entries that appeal."""
    success_true: float
    """Chance an appeal against a listing on true records succeeds."""
    success_false: float
    """Chance an appeal against a listing on a false record succeeds."""
    days: int
    """Days from entry to an appeal's decision."""
    term: int
    """Days from entry to the end of a listing (-1: no term)."""


class ListFields(NamedTuple):
    """The fields every list's record has, in the record's order (``ListState``)."""

    flags: np.ndarray
    """The flag byte per person (shared with the population's state)."""
    mask: np.uint8
    """The list's bit."""
    ever_mask: np.uint8
    """The bit of people ever listed."""
    false_mask: np.uint8
    """The bit of people listed on a false record."""
    false_sources: Any
    """Person -> the source of the false record they are listed on (a compiled dict)."""
    provenance: Any
    """The population's count of false listings and sanctions by cause (``ProvenanceState``)."""
    households: np.ndarray
    stats: np.ndarray
    """Counters ``SIZE`` .. ``INNOCENTS`` (see ``apply_changes``)."""
    generation: CounterBits
    """The listing counter per person (``GENERATION_BITS`` packed bits; no array without appeals
    or a term)."""
    exits: Any
    """The calendar of scheduled exits (``CalendarState``)."""
    appeal: AppealRule
    appeal_key: np.uint64
    entered: np.ndarray
    """Who entered on ``changes_day``, in order (read them through ``entered_on``)."""
    exited: np.ndarray
    """Who left on ``changes_day``, in order (read them through ``exited_on``)."""
    changes_day: int
    """The day of the list's last step, whose changes ``entered`` and ``exited`` hold (-1: a
    warm start's, or none). A list a backlash stopped steps no more, so its last changes stay
    there; a reader takes them for the day they happened, never again."""
    listed_candidates: np.ndarray
    """Today's candidates who are listed after the day."""
    counts: np.ndarray
    """Counters ``FILED``, ``WON``, ``EXPIRED``."""
    today: np.ndarray
    """Today's metrics (``METRIC_COLUMNS``, the last three with appeals; a subclass's after)."""
    first_day: int
    """The first day the list steps (its ``active_from``). Before it the list changes nothing:
    its metrics report no entries or exits, and the changes a warm start left for day 0's readers
    are gone the day after (``list_metrics``)."""


def list_record_fields(name: str, own: tuple[str, ...], module: str) -> type[Any]:
    """The NamedTuple ``name`` of a list record's fields: ``ListFields``'s, then ``own``.

    Assign it to ``name`` in ``module`` (numba's cache finds it there), define the record with
    ``compiled_struct(..., NAME._fields, ...)`` and build it by keyword:
    ``NAME(**list_fields(lst, days)._asdict(), field=value, ...)``.
    """
    return namedtuple(name, (*ListFields._fields, *own), module=module)


ListState = compiled_struct("ListState", ListFields._fields, __name__)
"""The record of a list with no fields of its own (and of no list at all: ``no_list``)."""


def list_fields(lst: ListBase, sim: Simulation) -> ListFields:
    """The ``ListFields`` of a new list record of ``lst`` in ``sim``.

    Its ``today`` holds one value per name in ``lst.metric_columns``.
    """
    days = sim.days
    p = lst.params
    empty = np.empty(0, np.int64)
    return ListFields(
        flags=lst.flag.array,
        mask=lst.flag.mask,
        ever_mask=lst.ever.mask,
        false_mask=lst.false_flag.mask,
        false_sources=no_false_sources(),
        provenance=lst.provenance,
        households=lst.households,
        stats=np.zeros(6, np.int64),
        generation=lst.generation.bits() if lst.generation is not None else no_counter(),
        exits=new_calendar(days),
        appeal=AppealRule(
            share=p.appeal_share,
            success_true=p.appeal_success_true,
            success_false=p.appeal_success_false,
            days=p.appeal_days,
            term=p.repair_days if p.repair_days is not None else -1,
        ),
        appeal_key=lst.key("appeal"),
        entered=empty,
        exited=empty,
        changes_day=-1,
        listed_candidates=empty,
        counts=np.zeros(3, np.int64),
        today=np.zeros(len(lst.metric_columns), np.float64),
        first_day=sim.first_day_of(lst.name),
    )


@kernel
def _new_list_state(fields):
    return ListState(*fields)


@kernel
def no_list():
    """The record of no list (for a reader whose list is optional): nobody on it."""
    empty = np.empty(0, np.int64)
    fields = ListFields(
        flags=np.empty(0, np.uint8),
        mask=np.uint8(0),
        ever_mask=np.uint8(0),
        false_mask=np.uint8(0),
        false_sources=no_false_sources(),
        provenance=no_provenance(),
        households=np.empty(0, np.uint8),
        stats=np.zeros(6, np.int64),
        generation=no_counter(),
        exits=new_calendar(0),
        appeal=AppealRule(share=0.0, success_true=0.0, success_false=0.0, days=0, term=-1),
        appeal_key=np.uint64(0),
        entered=empty,
        exited=empty,
        changes_day=-1,
        listed_candidates=empty,
        counts=np.zeros(3, np.int64),
        today=np.zeros(0, np.float64),
        first_day=0,
    )
    return ListState(*fields)


@compiled_once
@kernel
def _scheduled_exits(day, s):
    """Today's due exits still valid for the current listing, counted, once each, in order.

    A person whose appeal is won on the day their term ends leaves once, counted once: by the
    first of the two rows (``pop`` orders a person's rows by tag, the appeal first).
    """
    pids, tags = pop(s.exits, day)
    if pids.size == 0:
        return pids
    valid = np.empty(pids.size, np.bool_)
    counted = -1
    for i in range(pids.size):
        pid = pids[i]
        valid[i] = (s.flags[pid] & s.mask) != 0 and counter_value(s.generation, pid) == tags[i] // 2
        if valid[i] and pid != counted:
            s.counts[WON] += tags[i] % 2 == APPEAL
            s.counts[EXPIRED] += tags[i] % 2 == REPAIR
            counted = pid
    return distinct_sorted(kept(pids, valid))


@kernel(inline="always")
def scheduled_exits_so_far(s):
    """Scheduled exits (appeals won, terms ended) of the list record ``s`` so far.

    Each is an exit of its day: a due exit still valid for the current listing always ends it,
    and takes the person's other changes of the day with it (``apply_day``). So a day's exits
    less the day's growth of this count are those that the subclass's rule decided.
    """
    return s.counts[WON] + s.counts[EXPIRED]


@compiled_once
@kernel
def _schedule_exits(day, s):
    """New entries' appeals and listing terms, on the exits calendar."""
    new = s.entered
    rule = s.appeal
    if s.generation.flags.size == 0 or new.size == 0:
        return
    episode = np.empty(new.size, np.int64)
    for i in range(new.size):
        episode[i] = counter_increment(s.generation, new[i])
    if rule.share > 0:
        won = np.zeros(new.size, np.bool_)
        for i in range(new.size):
            pid = new[i]
            filed = uniform(s.appeal_key, day, pid, 0) < rule.share
            false = (s.flags[pid] & s.false_mask) != 0
            win = rule.success_false if false else rule.success_true
            won[i] = filed and uniform(s.appeal_key, day, pid, 1) < win
            # a warm start's appeal decided before day 0 cannot be won in the run: not counted
            s.counts[FILED] += filed and day + rule.days >= 0
        winners = kept(new, won)
        schedule(
            s.exits,
            np.full(winners.size, day + rule.days),
            winners,
            kept(episode, won) * 2 + APPEAL,
            0,
        )
    if rule.term >= 0:
        schedule(s.exits, np.full(new.size, day + rule.term), new, episode * 2 + REPAIR, 0)


@compiled_once
@kernel
def _without(pids, enter, false_source, out):
    """The candidates not in ``out`` (sorted, unique), after ``out`` as exits."""
    n = 0
    keep = np.empty(pids.size, np.bool_)
    for i in range(pids.size):
        j = np.searchsorted(out, pids[i])
        keep[i] = not (j < out.size and out[j] == pids[i])
        n += keep[i]
    all_pids = np.empty(out.size + n, np.int64)
    all_enter = np.zeros(out.size + n, np.bool_)
    all_false = np.full(out.size + n, NOT_FALSE, np.int16)
    for i in range(out.size):  # a loop: see kernels/jit.py on slice assignment
        all_pids[i] = out[i]
    k = out.size
    for i in range(pids.size):
        if keep[i]:
            all_pids[k], all_enter[k], all_false[k] = pids[i], enter[i], false_source[i]
            k += 1
    return all_pids, all_enter, all_false


@compiled_once
@kernel
def apply_day(day, s, pids, enter, false_source):
    """Apply a day's decisions (``pids`` with ``enter``, else leave) to the list record ``s``.

    ``false_source``: per row, the source of the false record an entry rests on, or
    ``NOT_FALSE`` (see ``apply_changes``).

    Scheduled exits (appeals won, terms ended) come first and win over the day's other changes;
    then entries and exits in order (``s.entered``, ``s.exited``, ``s.listed_candidates``);
    then the new entries' appeals and terms are scheduled.
    """
    if s.generation.flags.size:
        out = _scheduled_exits(day, s)
        if out.size:
            pids, enter, false_source = _without(pids, enter, false_source, out)
    entered, exited, listed = apply_changes(
        pids,
        enter,
        false_source,
        s.flags,
        s.mask,
        s.ever_mask,
        s.false_mask,
        s.households,
        s.stats,
        s.false_sources,
        s.provenance,
    )
    s.entered, s.exited, s.listed_candidates = entered, exited, listed
    s.changes_day = day
    _schedule_exits(day, s)


@compiled_once
@kernel
def list_metrics(day, s):
    """Today's metrics of the list record ``s``; returns how many it wrote.

    ``METRIC_COLUMNS`` in order, the appeals' three only with appeals or a term; a subclass's own
    metrics follow.
    """
    t, stats, counts = s.today, s.stats, s.counts
    t[0], t[1], t[2] = stats[SIZE], s.entered.size, s.exited.size
    if day < s.first_day:  # not stepping yet: no change today, and none left for tomorrow
        t[1] = t[2] = 0
        s.entered = s.entered[:0]  # a warm start's entries, read as yesterday's by day 0 only
        s.exited = s.exited[:0]
        s.listed_candidates = s.listed_candidates[:0]
    t[3], t[4], t[5] = stats[EVER_LISTED], stats[REACH], stats[INNOCENTS]
    if s.generation.flags.size == 0:
        return 6
    t[6], t[7], t[8] = counts[FILED], counts[WON], counts[EXPIRED]
    return 9


@kernel
def entered_on(s, day):
    """Who entered the list record ``s`` on ``day`` (nobody if it did not step that day)."""
    return s.entered if s.changes_day == day else s.entered[:0]


@kernel
def exited_on(s, day):
    """Who left the list record ``s`` on ``day`` (nobody if it did not step that day)."""
    return s.exited if s.changes_day == day else s.exited[:0]


@kernel
def list_members(s):
    """Everyone on the list record ``s``, in order: one pass over everyone's flag.

    For a reader that needs the members once (not every day): a list keeps no array of them.
    """
    flags, mask = s.flags, s.mask
    count = 0
    for pid in range(flags.size):
        count += (flags[pid] & mask) != 0
    out = np.empty(count, np.int64)
    k = 0
    for pid in range(flags.size):
        if flags[pid] & mask:
            out[k] = pid
            k += 1
    return out


@kernel
def _changes_of_the_day(s):
    return s.entered, s.exited, s.listed_candidates


@kernel
def _shared_arrays(s):
    return s.stats, s.counts, s.today


class ListBase(Lists):
    """Membership, counters, appeals, repair and family reach of one list."""

    params: ListParams

    def declare(self, pop: Population) -> None:
        self.flag, self.ever, self.false_flag = pop.state.add_flags(
            f"{self.name}", f"{self.name}_ever", f"{self.name}_false"
        )
        self.provenance = provenance(pop)
        p = self.params
        self.generation = None
        if p.appeal_share > 0 or p.repair_days is not None:
            self.generation = pop.state.add_counter(f"{self.name}_generation", GENERATION_BITS)

    def init(self, sim: Simulation) -> None:
        self.households = sim.pop.households
        self.metric_columns = self.init_columns()
        self.state = self.new_state(sim)
        self.stats, self.counts, self.today = _shared_arrays(self.state)
        """The counters ``SIZE`` .. ``INNOCENTS`` and ``FILED``, ``WON``, ``EXPIRED``; today's
        metrics: shared with the record."""

    def init_columns(self) -> tuple[str, ...]:
        """The list's metric columns (a subclass may add its own after these)."""
        names = METRIC_COLUMNS if self.generation is not None else METRIC_COLUMNS[:6]
        return tuple(f"{self.name}_{c}" for c in names)

    def left_on_their_own(self) -> str:
        """How a member leaves the list by what they do, in words.

        The harm audit's note on the exits that were neither an appeal, a term's end nor a
        release. A list kind says its own.
        """
        return "by the list's own exit rule"

    def new_state(self, sim: Simulation) -> object:
        """The list's record (``ListState``; a subclass with fields of its own has its own)."""
        return _new_list_state(list_fields(self, sim))

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
        return int(self.counts[FILED])

    @property
    def appeals_won(self) -> int:
        """Appeals won so far (listings they ended)."""
        return int(self.counts[WON])

    @property
    def repaired(self) -> int:
        """Listings ended by their term so far."""
        return int(self.counts[EXPIRED])

    @property
    def size(self) -> int:
        """People on the list now."""
        return int(self.stats[SIZE])

    def metrics(self, day: int) -> dict[str, float | int]:
        list_metrics(day, self.state)
        return dict(zip(self.metric_columns, map(int, self.today.tolist()), strict=True))

    def summary(self) -> list[str]:
        s = self.stats
        line = (
            f"{self.name}: {s[SIZE]:,} listed now ({s[INNOCENTS]:,} on a false record), "
            f"{s[EVER_LISTED]:,} ever listed, {s[ENTRIES]:,} entries and {s[EXITS]:,} exits; "
            f"{s[REACH]:,} household members of listed people"
        )
        if self.generation is not None:
            line += f"; {self.appeals_won:,} appeals won, {self.repaired:,} listings expired"
        return [line]
