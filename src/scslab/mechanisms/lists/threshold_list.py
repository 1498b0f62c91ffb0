"""A list driven by a score: enter below one threshold, leave on reaching another.

Only people whose score may have crossed a threshold are looked at: those whose score today's
records may move (the scorer's ``moving_records``: an online purchase moves no credit history; and
``records_as_scored``: a record about someone moves the score of a user misverified as them, for
whom it is a false record of the face-ID match), those whose scheduled exit day has come (from the
scoring system's ``day_reaching``), and on a day the scorer rescored everyone, whoever crosses.
On its first day a list that opens after its scorer, or after a burn-in gave scores a history,
also makes that full pass once, for the people already below its entry line. A
scheduled check that a later record made stale simply fails when it falls due. So a record that
cannot move the score changes nothing: it does not bring back someone an appeal or the listing term
took off the list (the next record that moves their score, or the next rescoring, does), and it is
never the false record a listing is said to rest on.

The whole step is a kernel (``_step``) that reads the score through the scorer's compiled kernels
(``scoring/compiled.py``), in the compiled day plan and in the Python loop alike; a score without
compiled kernels is refused by name when the list is set up.

A threshold list is the state's: from the first day the state may not read the score (a
commercial score whose licence was refused, ``scoring/compiled.state_reads``) the list rests on
nothing the state reads, so it releases every member that day and lists nobody after; the day
and the number released are in its summary.

Owns the ``threshold_list`` entry and exit rule (the two thresholds and their order), its
calendar of exit checks and the release when the state stops reading the score; the membership,
appeals, terms and metrics are the shared list machinery's (``lists/base.py``). It posts nothing
and writes no score: it reads the scorer's record through its kernels (``scoring/compiled.py``).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
from numba import prange
from pydantic import Field, model_validator

from scslab.engine.board import records_of
from scslab.engine.calendar import new_calendar, schedule
from scslab.engine.calendar import pop as pop_due
from scslab.engine.steps import CompiledSteps, compiled_mechanism
from scslab.kernels.compact import grown, kept, rows_coded
from scslab.kernels.jit import kernel, step_kernel
from scslab.kernels.memory import prefetch_ahead
from scslab.kernels.parallel import both_builds, run_threads
from scslab.kernels.structs import compiled_struct
from scslab.mechanisms.lists.base import SIZE as LIST_SIZE
from scslab.mechanisms.lists.base import (
    ListBase,
    ListParams,
    apply_day,
    list_fields,
    list_members,
    list_metrics,
    list_record_fields,
    scheduled_exits_so_far,
)
from scslab.mechanisms.provenance import NOT_FALSE, UNATTRIBUTED
from scslab.mechanisms.scoring.compiled import (
    compiled_scorer,
    day_reaching,
    has_score,
    record_moves,
    records_as_scored,
    rescored,
    state_reads,
)
from scslab.mechanisms.scoring.compiled import scores as scores_of

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation


_EVERYONE = np.empty(0, np.bool_)
"""``scored`` for a scoring system that scores everyone."""

RESCAN_CHUNK = 1 << 16
"""People per chunk when a rescored system makes the list re-check everyone: a chunk's ids,
scores and flags stay in cache (speed only: the people found do not depend on it)."""

RESCAN_WAVE = 16
"""Chunks read at once, by as many threads as there are, in that re-check (speed only)."""


@kernel
def _moving_only(rec_pids, rec_act, rec_source, rec_true, moving):
    """Today's records that may move the score (``record_moves``), in their order.

    Only the rows of acts that move it from some source are read (``rows_coded``): a
    commercial score's list reads credit records among a day's purchases.
    """
    if moving.shape[0] == 0:  # every record may
        return rec_pids, rec_source, rec_true
    some_source = np.zeros(moving.shape[0], np.bool_)
    for act in range(moving.shape[0]):
        some_source[act] = moving[act].any()
    rows = rows_coded(rec_act, some_source)
    keep = np.empty(rows.size, np.bool_)
    for r in range(rows.size):
        keep[r] = record_moves(moving, rec_act[rows[r]], rec_source[rows[r]])
    return kept(rec_pids[rows], keep), kept(rec_source[rows], keep), kept(rec_true[rows], keep)


@kernel
def _candidates(rec_pids, rec_source, rec_true, due):
    """People with records in ``rec_pids`` or in ``due`` (both sorted), once each, in order.

    Also what an entry today would rest on: ``NOT_FALSE`` for a person with a true record, else
    the source of their first false record (the provenance of a listing on a false record), or
    ``UNATTRIBUTED`` for a person without one.
    """
    cand = np.empty(rec_pids.size + due.size, np.int64)
    false_source = np.empty(cand.size, np.int16)
    i = j = n = 0
    while i < rec_pids.size or j < due.size:
        if j == due.size or (i < rec_pids.size and rec_pids[i] <= due[j]):
            pid = rec_pids[i]
        else:
            pid = due[j]
        has_true = False
        cause = UNATTRIBUTED
        while i < rec_pids.size and rec_pids[i] == pid:
            has_true |= rec_true[i]
            if not rec_true[i] and cause == UNATTRIBUTED:
                cause = rec_source[i]
            i += 1
        while j < due.size and due[j] == pid:
            j += 1
        cand[n] = pid
        false_source[n] = NOT_FALSE if has_true else cause
        n += 1
    return cand[:n], false_source[:n]


@kernel
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
    enter_below: int = Field(
        default=900,
        ge=-30_000,
        le=30_000,
        description="Listed when the score falls below this (assumption: the reference model's, "
        "100 points below its cap of 1000).",
    )
    exit_at: int = Field(
        default=950,
        ge=-30_000,
        le=30_000,
        description="Delisted when the score reaches this (assumption: the reference model's, "
        "halfway back to the cap).",
    )

    @model_validator(mode="after")
    def _hysteresis(self) -> ThresholdListParams:
        if self.exit_at < self.enter_below:
            raise ValueError("exit_at must be at least enter_below")
        return self


ThresholdFields = list_record_fields(
    "ThresholdFields",
    (
        "scorer",
        "moving",
        "calendar",
        "enter_below",
        "exit_at",
        "everyone",
        "n",
        "threads",
        "released",
        "scan_on",
    ),
    __name__,
)
"""A list's fields (``ListFields``), the scorer's record and the records that may move its scores
(``moving_records``), the calendar of exit checks, the thresholds, whether the scorer scores
everyone, the population and its ``run_threads`` (the re-check's build), and the day the list
released its members because the state stopped reading the score and how many (int64; -1 and 0
until then), and the day of a full pass for the people already below the entry line when the list
opens (its first day, where its scorer ran before it or a burn-in gave scores a history; -1:
none, everyone starts at the start score)."""

ThresholdState = compiled_struct("ThresholdState", ThresholdFields._fields, __name__)


@kernel
def _new_state(fields):
    return ThresholdState(*fields)


def _crossing(s, day):
    """Everyone whose score crosses a threshold today (a full pass, in chunks).

    Branch-free: whether a person crosses is a coin flip to the processor (who is scored, who is
    listed), so each id is written and kept by adding the 0/1 test to the count. A wave of
    chunks is read at once (the scorer's reads may use threads of their own), then its chunks
    are tested apart, each into its own slot, and their finds joined in order.
    """
    out = np.empty(1024, np.int64)
    k = 0
    flags, mask, exit_at, enter_below, scorer = s.flags, s.mask, s.exit_at, s.enter_below, s.scorer
    n = s.n
    step = RESCAN_CHUNK * RESCAN_WAVE
    found = np.empty(min(step, n), np.int64)
    finds = np.zeros(RESCAN_WAVE, np.int64)
    for lo in range(0, n, step):
        ids = np.arange(lo, min(n, lo + step))
        sc = scores_of(scorer, ids, day)
        scored = has_score(scorer, ids)
        chunks = (ids.size + RESCAN_CHUNK - 1) // RESCAN_CHUNK
        for c in prange(chunks):
            first = c * RESCAN_CHUNK
            m = first
            for i in range(first, min(ids.size, first + RESCAN_CHUNK)):
                listed = np.int64((flags[lo + i] & mask) != 0)
                leaves = listed & np.int64(sc[i] >= exit_at)
                enters = (1 - listed) & np.int64(sc[i] < enter_below) & np.int64(scored[i])
                found[m] = lo + i
                m += leaves | enters
            finds[c] = m - first
        for c in range(chunks):
            m = finds[c]
            if k + m > out.size:
                out = grown(out, k, k + m)
            for i in range(m):  # a loop: see kernels/jit.py on slice assignment
                out[k + i] = found[c * RESCAN_CHUNK + i]
            k += m
    return out[:k]


_crossing = both_builds(_crossing)


@step_kernel
def _step(day, board, s):
    pid, source, true = records_as_scored(s.scorer, *_moving_only(*records_of(board), s.moving))
    due, _ = pop_due(s.calendar, day)
    if not state_reads(s.scorer, day):  # the state reads no score: nobody is listed by it
        members = list_members(s) if s.stats[LIST_SIZE] else np.empty(0, np.int64)
        ended = scheduled_exits_so_far(s)
        leave = np.zeros(members.size, np.bool_)
        apply_day(day, s, members, leave, np.full(members.size, NOT_FALSE, np.int16))
        # released: members who left today not by appeal or term (those ended first, and count
        # as such)
        released = s.exited.size - (scheduled_exits_so_far(s) - ended)
        if released and s.released[0] < 0:
            s.released[0], s.released[1] = day, released
        return
    if rescored(s.scorer, day) or day == s.scan_on:  # everyone may cross, or be below already
        due = np.union1d(due, _crossing(s.threads, s.n, s, day))
    cand, false_source = _candidates(pid, source, true, due)
    sc = scores_of(s.scorer, cand, day)
    scored = _EVERYONE if s.everyone else has_score(s.scorer, cand)
    enter = _stays_or_enters(cand, sc, scored, s.flags, s.mask, s.enter_below, s.exit_at)
    apply_day(day, s, cand, enter, false_source)
    watch = s.listed_candidates  # listed people whose score moved: a (new) exit check
    if watch.size:  # checked from tomorrow: today's candidates are decided
        schedule(s.calendar, day_reaching(s.scorer, watch, day, s.exit_at), watch, None, day + 1)


@step_kernel
def _metrics(day, s):
    written = list_metrics(day, s)
    if s.today.size > written:  # the state stops reading the score within the run
        s.today[written] = s.released[1]


@kernel
def _released_of(s):
    return s.released


compiled_mechanism(ThresholdState, _step, _metrics)


class ThresholdList(CompiledSteps, ListBase):
    """Blacklist by score thresholds (the benchmark reference model's list)."""

    name = "threshold_list"
    Params = ThresholdListParams
    description = "blacklist entered below a score threshold and left on reaching another"
    params: ThresholdListParams

    def _scan_on(self, sim: Simulation) -> int:
        """The list's first day if scores may be below its entry line then, else -1.

        They may where its scorer ran before it or a burn-in gave scores a history: a list that
        opened then listed only those whose score moved again, so a point system's people below
        the line were never found, and a recovering score's drifted back up unlisted.
        """
        opens = sim.first_day_of(self.name)
        earlier = sim.first_day_of(self.params.score) < opens
        return opens if earlier or sim.scenario.meta.burn_in_days > 0 else -1

    def init(self, sim: Simulation) -> None:
        self.scorer = compiled_scorer(sim, self.params.score, self.name, f"{self.name}.score")
        self.start_date = sim.start_date
        self.unread_in_run = sim.days > 0 and not self.scorer.state_reads(sim.days - 1)
        """Whether the state stops reading the score within the run (a licence refused: from
        then on it never reads it again), so that the list releases its members."""
        super().init(sim)

    def init_columns(self) -> tuple[str, ...]:
        """The list's columns, and ``{name}_released`` if the state stops reading the score."""
        released = (f"{self.name}_released",) if self.unread_in_run else ()
        return (*super().init_columns(), *released)

    def left_on_their_own(self) -> str:
        return f"their {self.params.score} score back at {self.params.exit_at} or above"

    def summary(self) -> list[str]:
        """The list's line, and the day it released its members, if the state stopped reading."""
        lines = super().summary()
        day, count = (int(v) for v in _released_of(self.state))
        if day >= 0:
            date = (self.start_date + dt.timedelta(days=day)).isoformat()
            lines.append(
                f"{self.name}: released its {count:,} members on {date} (day {day}): from then "
                f"the state reads no {self.params.score} score, and lists nobody by it"
            )
        return lines

    def new_state(self, sim: Simulation) -> object:
        p = self.params
        return _new_state(
            ThresholdFields(
                **list_fields(self, sim)._asdict(),
                scorer=self.scorer.state,
                moving=self.scorer.moving_records(),  # asked once: fixed after its init
                calendar=new_calendar(sim.days),
                enter_below=p.enter_below,
                exit_at=p.exit_at,
                everyone=self.scorer.scores_everyone(),  # asked once: fixed after its init
                n=sim.pop.n,
                threads=run_threads(sim.pop.n),
                released=np.array([-1, 0], np.int64),
                scan_on=self._scan_on(sim),
            )
        )
