"""Debt: loan arrears, repayment, court judgments left unpaid, and repayment after listing.

The life of a debt, per person:

1. An adult falls into arrears (a daily rate modulated by income quintile and compliance) and
   posts ``loan_arrears`` at once and again every 30 days while in arrears (Rongcheng deducts per
   monthly cycle).
2. A share of arrears is cleared after a geometric delay (``loan_repaid``); the rest, and any not
   cleared within ``court_lag_days``, become a court judgment left unpaid
   (``court_judgment_unpaid``), the event that puts people on the court defaulter list.
3. A judgment debtor repays at a daily hazard (``judgment_repaid``) that is higher once listed:
   the list's coercive effect. The listing is read from the list named in ``listing_list``. With
   ``repay_factor_from``, the listed hazard is multiplied by a factor from a date on (joint
   punishment making the listing bite harder); the wait is drawn once, under the hazard before
   the date and after it (``kernels/hazard.py``), so the date needs no event of its own.
4. A listed debtor who has lost their income repays more slowly: the feedback by which punishment
   can lower compliance. Whichever mechanism cost it (``joint_punishment``'s job sectors, an
   employer reading the dang'an), the change reaches debt through ``mechanisms/income_loss``, and
   the pending repayment is redrawn under the new hazard the next day.

State per person: two flag bits and the day the current episode began (``uint16``). Follow-ups are
scheduled on a calendar and validated against the episode day when they fall due, so work grows
with debts, not with the population.

Owns the debt state, its calendar of follow-ups and the rules of arrears, judgments and
repayment. It posts the debt records and reads the listing flags of ``listing_list`` and the
income changes of ``income_loss``; it must not list anyone or touch a list's, a score's or a
sanction's state.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

import numpy as np
from numba import prange
from pydantic import Field, field_validator, model_validator

from scslab.catalogue import MIN_AGE, Act
from scslab.engine.board import act_room, acts_written, post_acts, written_in_order
from scslab.engine.calendar import new_calendar, pop, schedule
from scslab.engine.mechanism import Behaviour, MechanismParams
from scslab.engine.steps import CompiledSteps, compiled_mechanism, today_of
from scslab.kernels.compact import joined, kept
from scslab.kernels.compiled_once import compiled_once
from scslab.kernels.hazard import NO_STEP, SteppedHazards, stepped_geometric_days
from scslab.kernels.jit import kernel, step_kernel
from scslab.kernels.memory import prefetch_ahead
from scslab.kernels.parallel import both_builds, run_threads
from scslab.kernels.rng import geometric_days, uniform
from scslab.kernels.sampling import DAY_ZERO, compiled_bernoulli_ids
from scslab.kernels.sorting import stable_order
from scslab.kernels.structs import compiled_struct
from scslab.mechanisms.income_loss import listen, no_income_loss, take_changes
from scslab.mechanisms.lists.base import ListBase, entered_on, exited_on, no_list
from scslab.parameter_tables import ParameterTable
from scslab.population.attributes import age, income_class, trait_factor
from scslab.population.geography import REGION_RUN, region_of, region_run

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation
    from scslab.population import Population

MONTH, CURE, JUDGMENT, REPAY_UNLISTED, REPAY_LISTED, REPAY_POOR = (np.int64(k) for k in range(1, 7))
BEFORE_START = np.uint16(65_535)
"""The episode of a debt that began before the cycle's first day (a warm start's listed
debtors, the arrears carried by ``arrears_before_start``): a day no run has (at most 60,000
days), so that no episode drawn in the run can take its follow-ups for its own."""
REPAY_SCALE = (0.6, 0.8, 1.0, 1.2, 1.4)
"""Repayment hazard factor by income quintile, lowest first (assumption: richer pay sooner)."""
BORROWER_MIN_AGE = MIN_AGE[Act.LOAN_ARREARS]
"""The youngest borrower (``catalogue.MIN_AGE``, 18): nobody younger falls into arrears."""
_TAG = 8
ACT_OF_ACTION = np.asarray(
    [-1, Act.LOAN_ARREARS, Act.LOAN_REPAID, Act.COURT_JUDGMENT_UNPAID] + [Act.JUDGMENT_REPAID] * 3,
    np.int16,
)
"""The act a due follow-up posts, by its kind (a monthly reminder posts another arrears)."""


class RepayFactorFrom(ParameterTable):
    """A dated step of the listed repayment hazard: ``factor`` times it from ``date`` on."""

    date: dt.date = Field(
        description="First calendar date of the new hazard (before the run's start date: the "
        "whole run)."
    )
    factor: float = Field(
        gt=0.0,
        le=100.0,
        description="The listed repayment hazard from `date` on, relative to before it (1: no "
        "change; the hazard is capped at 1 a day).",
    )


class DebtParams(MechanismParams):
    """Rates and delays of the debt cycle."""

    @field_validator("listing_list", "sanctions", mode="before")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    def settings_unused(self) -> dict[str, str]:
        return self.given_but_unused(
            self.listing_list is None,
            ("repay_hazard_listed", "repay_factor_from", "income_loss_repay_factor"),
            "listing_list is unset, so no debtor is read as listed",
        )

    @model_validator(mode="after")
    def _a_probability(self) -> DebtParams:
        """The highest person's daily chance of arrears is at most 1.

        Above, the candidates' draw was capped at 1 and everyone thinned by the cap: with a
        lowest quintile at 20 times a rate of 0.1, the other quintiles drew about 0.05, not 0.1.
        """
        top = self.arrears_rate * max(self.income_effect) * (1.0 + abs(self.compliance_weight))
        if top > 1.0:
            raise ValueError(
                f"arrears_rate x the largest income_effect x (1 + |compliance_weight|) is "
                f"{top:.3g}, a daily probability above 1; lower one of them"
            )
        return self

    arrears_rate: float = Field(
        default=0.00003,
        ge=0.0,
        le=0.1,
        description="Daily probability that an adult of the middle income quintile "
        "(income_effect 1) and mean compliance falls into arrears (assumption: about 1.1% a year; "
        "the adults' mean is this times income_effect's mean over the quintiles, 1.08 at its "
        "defaults, about 1.2% a year; with the shares below this gives roughly 1.5 to 2 million "
        "unpaid judgments a year in all of China, the order of the court list's growth in "
        "calibration/blacklist_court_defaulters.csv: 2.5 to 3.7 million a year in 2014-2018).",
    )
    income_effect: list[Annotated[float, Field(ge=0.0, le=100.0)]] = Field(
        default=[2.0, 1.5, 1.0, 0.6, 0.3],
        min_length=5,
        max_length=5,
        description="Arrears rate multiplier by income quintile, lowest first (assumption).",
    )
    compliance_weight: float = Field(
        default=-0.5, ge=-1.0, le=1.0, description="Effect of compliance on arrears (assumption)."
    )
    cure_share: float = Field(
        default=0.85,
        ge=0.0,
        le=1.0,
        description="Share of arrears cleared before any court case (assumption).",
    )
    cure_mean_days: float = Field(
        default=45.0,
        ge=1.0,
        le=36_500.0,
        description="Mean days to clear arrears (assumption).",
    )
    court_lag_days: int = Field(
        default=180,
        ge=1,
        le=3650,
        description="Days from arrears to an unpaid court judgment (assumption: about six months "
        "of litigation and enforcement deadline).",
    )
    repay_hazard: float = Field(
        default=0.0002,
        ge=0.0,
        le=1.0,
        description="Daily probability that an unlisted judgment debtor pays (assumption).",
    )
    repay_hazard_listed: float = Field(
        default=0.0004,
        ge=0.0,
        le=1.0,
        description="Daily probability that a listed judgment debtor pays: about 25% of the ever "
        "listed had complied by mid-2018 (2.8 of 11.23 million, "
        "calibration/blacklist_court_defaulters.csv), rough.",
    )
    repay_factor_from: RepayFactorFrom | None = Field(
        default=None,
        description="A dated step of the listed repayment hazard, {date, factor}: listed "
        "debtors (with or without an income) repay `factor` times faster from `date` on; "
        "unlisted debtors are unchanged. Why: published compliance after listing rises faster "
        "than the list does (calibration/blacklist_court_defaulters.csv: 580,000 had complied "
        "by 2016-12-31, in the list's first 39 months, then 2.93 million more in the next 24, "
        "while the people ever listed went from 6.73 million in February 2017 to 13 million), "
        "which no constant hazard gives. The date joint_punishment_2016 takes is that of the "
        "State Council's 'Warning and Punishment Mechanisms for Persons Subject to Enforcement "
        "for Trust-Breaking', 2016-09-25 (seed article), when the list's sanctions spread to "
        "every sector; that the rise is one step on that date is an assumption, and its factor "
        "is fitted (presets/joint_punishment_2016.toml). Absent: no step.",
    )
    sanctions: str | None = Field(
        default="joint_punishment",
        description="Ignored, kept so that older scenario files load: a lost income slows "
        "repayment whichever mechanism cost it (a sanctioned job sector, an employer reading the "
        "dang'an); income_loss_repay_factor = 1 removes the effect.",
    )
    income_loss_repay_factor: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Repayment hazard of a listed debtor who lost their income, relative to one "
        "who did not (assumption: income halves the ability to repay).",
    )
    arrears_before_start: bool = Field(
        default=False,
        description="Start with the debt pipeline under way: the arrears of the court_lag_days "
        "days before the cycle's first day (the start date, or active_from) are drawn by the "
        "same rule as any day's (arrears, cures, monthly reminders; random streams of their "
        "own), and those neither cured nor judged by then carry into the run, so that judgments "
        "reach the court list from its first day on. Off: nobody is in arrears then, and the "
        "first judgments come court_lag_days later. For a run that starts inside a running "
        "system, as a list's `initial` warm start does (docs/initial_conditions.md).",
    )
    listing_list: str | None = Field(
        default="court_list",
        description="The list whose membership raises the repayment hazard (empty, or a list "
        "the run does not have: no effect, and the run's summary names the list it lacks).",
    )


class ArrearsPeople(NamedTuple):
    """What the arrears draw reads of people, by name at both ends."""

    thin_key: np.uint64
    """This mechanism's keep draw of each candidate."""
    age_key: np.uint64
    """The population's ages (minors never fall into arrears)."""
    income_key: np.uint64
    """The population's income quintiles."""
    compliance_key: np.uint64
    """The population's compliance trait."""
    bounds: np.ndarray
    """The regions' first ids (urban or rural)."""
    households: np.ndarray
    """The households' byte per person."""
    age_table: np.ndarray
    """Who of a household is a child, by its size (``Population.age_table``)."""


class ArrearsRule(NamedTuple):
    """How income and compliance scale the chance of arrears, by name at both ends."""

    income_effect: np.ndarray
    """Relative rate by income quintile (float64)."""
    compliance_weight: float
    """Effect of the compliance trait."""
    top: float
    """The highest factor of all (candidates are drawn at the rate times it)."""


class ArrearsDraw(NamedTuple):
    """The daily draw of new arrears, by name at both ends."""

    key: np.uint64
    """Stream key of the candidates."""
    rate: float
    """Candidate probability (the arrears rate times ``ArrearsRule.top``, at most 1)."""
    has_list: bool
    """Whether a listing list is enabled."""


class Cure(NamedTuple):
    """How arrears are cleared before a court judgment, by name at both ends."""

    key: np.uint64
    """Stream key of whether an episode is cured."""
    share: float
    """Share of arrears that are cleared."""
    delay_key: np.uint64
    """Stream key of the delay until the cure."""
    hazard: float
    """Daily hazard of the cure (1 / mean days)."""
    lag: int
    """Days until arrears become a court judgment."""


class Repayment(NamedTuple):
    """How judgment debtors repay, by name at both ends.

    The arrays hold one value per regime: unlisted, listed, listed and without income.
    """

    keys: np.ndarray
    """Stream key of each regime's delay (uint64)."""
    hazards: SteppedHazards
    """Daily repayment hazard of each regime, before and from its step day (``_regime_hazards``)."""
    income_key: np.uint64
    """The population's income quintiles."""
    bounds: np.ndarray
    """The regions' first ids."""
    scale: np.ndarray
    """Hazard factor by income quintile (float64)."""


class DebtMasks(NamedTuple):
    """The bits of the debt flag byte."""

    arrears: np.uint8
    judgment: np.uint8


@kernel(inline="always")
def arrears_weight(people, rule, pid, urban):
    """How likely ``pid`` falls into arrears (0: a minor), and ``pid``'s income quintile.

    The factor is relative to the mean rate, for ``pid`` living in an urban (or rural) region.
    The one place of the rule: the daily draw (``_arrears_keep``) and the debtors of a warm
    start (``draw_debtors``) read it. ``people`` is an ``ArrearsPeople``, ``rule`` an
    ``ArrearsRule``. Every part is computed for everyone and a minor's factor is then 0 by a
    choice of values, not a branch, so that a pass over everyone is vector code.
    """
    adult = age(people.age_key, pid, people.households[pid], people.age_table) >= BORROWER_MIN_AGE
    q = income_class(people.income_key, pid, urban)
    m = rule.income_effect[q] * trait_factor(people.compliance_key, pid, rule.compliance_weight)
    return (m if adult else 0.0), q


@kernel(inline="always")
def arrears_factor(people, rule, pid):
    """``arrears_weight``'s factor of ``pid`` (a person anywhere: its region is looked up)."""
    m, _ = arrears_weight(people, rule, pid, region_of(people.bounds, pid) % 2 == 0)
    return m


def _arrears_keep(people, day, ids, flags, debt_mask, rule):
    """Which candidates ``ids`` fall into arrears: adults not in debt, kept by income and trait.

    ``people`` is an ``ArrearsPeople``, ``rule`` an ``ArrearsRule``.
    """
    thin_key, households, top = people.thin_key, people.households, rule.top
    keep = np.empty(ids.size, np.bool_)
    for i in prange(ids.size):
        prefetch_ahead(flags, ids, i)
        prefetch_ahead(households, ids, i)
        pid = ids[i]
        if flags[pid] & debt_mask:
            keep[i] = False
            continue
        m = arrears_factor(people, rule, pid)
        keep[i] = m > 0.0 and uniform(thin_key, day, pid, 0) * top < m
    return keep


_arrears_keep = both_builds(_arrears_keep)
"""Which arrears candidates ``ids`` fall into arrears today, with threads and in one thread."""


@compiled_once
@kernel
def _open_arrears(
    candidate_key,
    candidate_rate,
    n,
    day,
    people,
    flags,
    arrears_mask,
    debt_mask,
    rule,
    debt_day,
    cure,
    threads,
):
    """Today's new arrears: draw them, open an episode for each, return them and follow-ups.

    Candidates are drawn at ``candidate_rate`` over ``n`` people and kept by ``_arrears_keep``,
    which reads ``people`` (an ``ArrearsPeople``) and ``rule`` (an ``ArrearsRule``); the arrears
    bit is ``arrears_mask``, any debt ``debt_mask``. Each new debtor gets a monthly reminder in
    30 days and either a cure (drawn to happen before the court lag) or an unpaid judgment when
    the lag runs out (``cure``, a ``Cure``); ``threads`` is the run's (``run_threads``). Returns
    (new ids, days, ids, tags): one compiled call for the whole step.
    """
    cure_key, cure_share, delay_key = cure.key, cure.share, cure.delay_key
    hazard, lag = cure.hazard, cure.lag
    cand = compiled_bernoulli_ids(candidate_key, day, n, candidate_rate, threads)
    keep = _arrears_keep(threads, cand.size, people, day, cand, flags, debt_mask, rule)
    new = cand[keep]
    days = np.empty(2 * new.size, np.int64)
    pids = np.empty(2 * new.size, np.int64)
    tags = np.empty(2 * new.size, np.int64)
    episode = np.int64(day) * _TAG
    for i in range(new.size):
        pid = new[i]
        flags[pid] |= arrears_mask
        debt_day[pid] = day
        days[2 * i], pids[2 * i], tags[2 * i] = day + 30, pid, episode + MONTH
        cured = uniform(cure_key, day, pid, 0) < cure_share
        delay = geometric_days(delay_key, day, pid, 0, min(hazard, 1.0))
        pids[2 * i + 1] = pid
        if cured and delay < lag:
            days[2 * i + 1], tags[2 * i + 1] = day + delay, episode + CURE
        else:
            days[2 * i + 1], tags[2 * i + 1] = day + lag, episode + JUDGMENT
    return new, days, pids, tags


@kernel
def _regime(pid, listed_flags, listed_mask, poor_flags, poor_mask):
    """The repayment regime of judgment debtor ``pid`` today: unlisted, listed, or listed and poor.

    A repayment drawn under another regime is stale: it is dropped when it falls due, and so is
    one drawn before the debtor's latest wait (``_start_repayment``).
    """
    if not listed_flags[pid] & listed_mask:
        return REPAY_UNLISTED
    return REPAY_POOR if poor_flags[pid] & poor_mask else REPAY_LISTED


@compiled_once
@kernel
def _due(
    pids,
    tags,
    flags,
    arrears_mask,
    judgment_mask,
    listed_flags,
    listed_mask,
    poor_flags,
    poor_mask,
    debt_day,
    day,
    act_pid,
    act_act,
    act_recorded,
    row,
):
    """Validate due calendar entries and apply them.

    Writes the act of each follow-up that acted on the board from ``row`` (buffers ``act_*``,
    with room for every entry), in order of person then kind. Returns how many acts, whether the
    board stays ordered by person; then, in order of person then kind: those due a monthly
    reminder and its calendar tag, those judged, and how many repaid.
    """
    action = np.zeros(pids.size, np.int64)
    for i in range(pids.size):
        prefetch_ahead(debt_day, pids, i)
        prefetch_ahead(flags, pids, i)
        pid = pids[i]
        kind = tags[i] % _TAG
        episode = tags[i] // _TAG
        if debt_day[pid] != episode:
            continue
        f = flags[pid]
        if kind in (MONTH, CURE, JUDGMENT):
            if not f & arrears_mask:
                continue
            if kind == CURE:
                flags[pid] = f & ~arrears_mask
            elif kind == JUDGMENT:
                flags[pid] = (f & ~arrears_mask) | judgment_mask
                debt_day[pid] = day
        else:
            if not f & judgment_mask:
                continue
            # a repayment drawn under another regime (listed or not, income or not) is stale
            if kind != _regime(pid, listed_flags, listed_mask, poor_flags, poor_mask):
                continue
            flags[pid] = f & ~judgment_mask
        action[i] = kind
    k = row
    for i in range(pids.size):
        if action[i] > 0:
            act_pid[k], act_act[k], act_recorded[k] = pids[i], ACT_OF_ACTION[action[i]], False
            k += 1
    month = pids[action == MONTH]
    month_tags = debt_day[month].astype(np.int64) * _TAG + MONTH  # after today's judgments
    repaid = np.count_nonzero(action >= REPAY_UNLISTED)
    return (
        k - row,
        written_in_order(act_pid, row, k - row),
        month,
        month_tags,
        pids[action == JUDGMENT],
        repaid,
    )


def _delays(key, day, pids, hazard, late, step_day, income_key, bounds, scale):
    out = np.empty(pids.size, np.int64)
    for i in prange(pids.size):
        pid = pids[i]
        urban = region_of(bounds, pid) % 2 == 0
        s = scale[income_class(income_key, pid, urban)]
        h, h_late = min(hazard * s, 1.0), min(late * s, 1.0)
        out[i] = stepped_geometric_days(key, day, pid, h, h_late, step_day)
    return out


_delays = both_builds(_delays)
"""Days until each of ``pids`` repays at a daily ``hazard`` (``late`` from ``step_day`` on)
scaled by income quintile."""

DebtState = compiled_struct(
    "DebtState",
    (
        "flags",
        "masks",
        "debt_day",
        "calendar",
        "listing",
        "income",
        "arrears",
        "people",
        "keep_rule",
        "cure",
        "repay",
        "n",
        "threads",
        "today",
    ),
    __name__,
)
"""The debt flag byte per person and its masks (``DebtMasks``); the episode's first day per person;
the calendar of follow-ups; the listing list's record (an empty one when there is none; whether
there is one is in ``arrears``); the lost-income record (``mechanisms/income_loss``; mask 0:
nobody loses income); the arrears draw (``ArrearsDraw``); what ``_arrears_keep`` reads of people
(``ArrearsPeople``) and its rule (``ArrearsRule``); the cure (``Cure``); repayment
(``Repayment``); the population and its ``run_threads``; today's metrics."""


@kernel
def _new_state(
    flags,
    masks,
    debt_day,
    days,
    listing,
    income,
    arrears,
    people,
    rule,
    cure,
    repay,
    n,
    threads,
):
    return DebtState(
        flags,
        masks,
        debt_day,
        new_calendar(days),
        listing,
        income,
        arrears,
        people,
        rule,
        cure,
        repay,
        n,
        threads,
        np.zeros(3, np.float64),
    )


@kernel
def _judged(s, pids, also_listed):
    """Those of ``pids`` with an unpaid judgment (and, with ``also_listed``, on the list)."""
    keep = np.empty(pids.size, np.bool_)
    lst = s.listing
    for i in range(pids.size):
        keep[i] = (s.flags[pids[i]] & s.masks.judgment) != 0
        if also_listed:
            keep[i] = keep[i] and (lst.flags[pids[i]] & lst.mask) != 0
    return pids[keep]


@compiled_once
@kernel
def _income_moved(s, entered, changed, listed_flags, listed_mask):
    """Listed judgment debtors whose repayment regime now turns on their income: (poor, regained).

    Poor: those of ``entered`` (listed yesterday) and ``changed`` (lost-income flag changed since
    the last step, by any mechanism) whose regime is now the poor one; regained: those of
    ``changed`` alone whose regime is now the listed one (``entered`` ones were drawn under it).
    Each person once, by id.
    """
    ids = np.concatenate((entered, changed))
    order = stable_order(ids)  # of equal ids, an entered one first
    regime = np.zeros(ids.size, np.int64)
    income = s.income
    for j in range(ids.size):
        i = order[j]
        pid = ids[i]
        if (j > 0 and ids[order[j - 1]] == pid) or not s.flags[pid] & s.masks.judgment:
            continue
        r = _regime(pid, listed_flags, listed_mask, income.flags, income.mask)
        if r == REPAY_POOR or (r == REPAY_LISTED and i >= entered.size):
            regime[j] = r
    ids = ids[order]
    return ids[regime == REPAY_POOR], ids[regime == REPAY_LISTED]


@compiled_once
@kernel
def _start_repayment(s, pids, day, kind):
    """Schedule the repayment of ``pids`` under regime ``kind`` (unlisted, listed, poor).

    The wait drawn today is the debt's one wait: the episode of ``pids`` becomes today, so that a
    wait drawn earlier is stale even when the debtor comes back to the regime it was drawn under
    (listed, without an income, listed again: two waits at the listed hazard, about 1.75 times
    it, before). Two waits of one day differ by their regime (``_regime``).
    """
    if pids.size == 0:
        return
    for pid in pids:
        s.debt_day[pid] = day
    r = s.repay
    j = kind - REPAY_UNLISTED
    h = r.hazards
    args = (
        r.keys[j],
        day,
        pids,
        h.before[j],
        h.after[j],
        h.step_day,
        r.income_key,
        r.bounds,
        r.scale,
    )
    delay = _delays(s.threads, pids.size, *args)
    tags = np.full(pids.size, np.int64(day) * _TAG + kind)
    schedule(s.calendar, day + delay, pids, tags, 0)


@compiled_once
@kernel
def _start_by_regime(s, pids, day, listed_flags, listed_mask):
    """Schedule the repayment of ``pids`` each under its regime today (``_regime``).

    For those judged today: most are not on the list yet (it lists them from tomorrow, and their
    listing redraws the wait), but one still listed, after a repayment its source never recorded
    or on a false record, is in no list's entries tomorrow and must repay at the listed hazard.
    """
    income = s.income
    kinds = np.empty(pids.size, np.int64)
    for i in range(pids.size):
        kinds[i] = _regime(pids[i], listed_flags, listed_mask, income.flags, income.mask)
    for kind in (REPAY_UNLISTED, REPAY_LISTED, REPAY_POOR):
        _start_repayment(s, pids[kinds == kind], day, kind)


@step_kernel
def _step(day, board, s):
    arrears_mask, judgment_mask = s.masks.arrears, s.masks.judgment
    has_list = s.arrears.has_list
    lst = s.listing
    # Without a list, read any per-person byte with an empty mask: nobody is listed.
    listed_flags = lst.flags if has_list else s.flags
    listed_mask = lst.mask if has_list else np.uint8(0)
    income = s.income
    changed = take_changes(income)  # every day, so that the log stays a day long

    if has_list:
        # Debtors listed yesterday: the listing changes their repayment hazard from today.
        entered = _judged(s, entered_on(lst, day - 1), False)
        _start_repayment(s, entered, day, REPAY_LISTED)
        # Debtors who left the list without paying (an appeal, an expired term) still owe.
        _start_repayment(s, _judged(s, exited_on(lst, day - 1), False), day, REPAY_UNLISTED)
        # Listed debtors who lost their income since yesterday (whichever mechanism cost it), or
        # were listed without it, repay more slowly; those who regained it, at the listed rate.
        poor, regained = _income_moved(s, entered, changed, listed_flags, listed_mask)
        _start_repayment(s, poor, day, REPAY_POOR)
        _start_repayment(s, regained, day, REPAY_LISTED)

    # Follow-ups that fall due today.
    pids, tags = pop(s.calendar, day)
    row = act_room(board, pids.size)
    acts, ordered, month, month_tags, judged, repaid = _due(
        pids,
        tags,
        s.flags,
        arrears_mask,
        judgment_mask,
        listed_flags,
        listed_mask,
        income.flags,
        income.mask,
        s.debt_day,
        day,
        board.act_pid,
        board.act_act,
        board.act_recorded,
        row,
    )
    acts_written(board, acts, ordered)  # by person, then kind: one person's acts in order
    schedule(s.calendar, np.full(month.size, day + 30), month, month_tags, 0)
    _start_by_regime(s, judged, day, listed_flags, listed_mask)

    # New arrears.
    new, days, follow, tags = _open_arrears(
        s.arrears.key,
        s.arrears.rate,
        s.n,
        day,
        s.people,
        s.flags,
        arrears_mask,
        arrears_mask | judgment_mask,
        s.keep_rule,
        s.debt_day,
        s.cure,
        s.threads,
    )
    post_acts(board, new, np.int16(Act.LOAN_ARREARS))
    schedule(s.calendar, days, follow, tags, 0)
    s.today[0], s.today[1], s.today[2] = new.size, judged.size, repaid


compiled_mechanism(DebtState, _step)

_WEIGHT_BLOCK = 1 << 20
"""People per partial sum of ``_weight_sums``: fixed, so that the total is the same whatever
the number of threads."""


@kernel(inline="always")
def _debtor_weight(people, rule, factor, pid, urban):
    """``arrears_weight`` times ``factor`` of ``pid``'s income quintile (0 for a minor)."""
    m, q = arrears_weight(people, rule, pid, urban)
    return m * factor[q]


@kernel
def _quintiles(income_key, bounds, pids):
    out = np.empty(pids.size, np.int64)
    for i in range(pids.size):
        out[i] = income_class(income_key, pids[i], region_of(bounds, pids[i]) % 2 == 0)
    return out


def _weight_sums(people, rule, factor, n):
    """Each block's sum of ``_debtor_weight``, added in id order.

    A block goes a run of one region at a time (``region_run``), whose weights are computed in a
    loop of its own, which is vector code, before they are added one by one (a float sum in a
    fixed order is the same on every machine).
    """
    bounds = people.bounds
    blocks = (n + _WEIGHT_BLOCK - 1) // _WEIGHT_BLOCK
    out = np.zeros(blocks, np.float64)
    for b in prange(blocks):
        weights = np.empty(REGION_RUN, np.float64)
        t = 0.0
        pos, hi = b * _WEIGHT_BLOCK, min(n, (b + 1) * _WEIGHT_BLOCK)
        r = region_of(bounds, pos)
        while pos < hi:
            end, next_r = region_run(bounds, r, pos, hi, REGION_RUN)
            urban = r % 2 == 0
            for i in range(end - pos):
                weights[i] = _debtor_weight(people, rule, factor, pos + i, urban)
            for i in range(end - pos):
                t += weights[i]
            pos, r = end, next_r
        out[b] = t
    return out


_weight_sums = both_builds(_weight_sums)
"""Sums of ``_debtor_weight`` over fixed blocks of people, with threads and in one thread."""


@kernel
def _draw_debtors(key, sums, people, rule, factor, n, share, threads):
    """Each person with probability ``share * n * weight / total weight`` (at most 1), sorted.

    Candidates are drawn at the highest probability and kept by their own (the arrears draw's
    thinning), so that work grows with the people drawn.
    """
    total = 0.0
    for b in range(sums.size):
        total += sums[b]
    if total <= 0.0 or share <= 0.0:
        return np.empty(0, np.int64)
    top = rule.top * factor.max()
    expected = share * n
    rate = min(1.0, expected * top / total)
    cand = compiled_bernoulli_ids(key, DAY_ZERO, n, rate, threads)
    keep = np.empty(cand.size, np.bool_)
    for i in range(cand.size):
        urban = region_of(people.bounds, cand[i]) % 2 == 0
        p = expected * _debtor_weight(people, rule, factor, cand[i], urban) / total
        keep[i] = uniform(key, 0, cand[i], 1) * rate < p
    return cand[keep]


@kernel
def _owe_listed(s, first_day):
    """People the listing list holds before day 0 (a warm start's) owe an unpaid judgment.

    A listing on the court list is a recorded unpaid judgment; their episode is
    ``BEFORE_START``. A cycle that steps from day 0 starts their repayment at the listed hazard
    in its first step (they are the list's ``entered``, read as yesterday's); one that starts
    later (``first_day``, its ``active_from``) finds other entries there by then, so their
    repayment is scheduled now, from its first day. Without a warm start the list's ``entered``
    is empty before day 0: nothing changes.
    """
    if not s.arrears.has_list:
        return
    owed = s.listing.entered
    for pid in owed:
        s.flags[pid] = (s.flags[pid] & ~s.masks.arrears) | s.masks.judgment
        s.debt_day[pid] = BEFORE_START
    if first_day > 0:
        lst = s.listing
        _start_by_regime(s, owed, first_day, lst.flags, lst.mask)


class BeforeStart(NamedTuple):
    """The streams of the arrears drawn before day 0 (``arrears_before_start``), by name."""

    candidate_key: np.uint64
    """Stream key of the candidates (the run's draw has its own)."""
    people: ArrearsPeople
    """What the rule reads of people, with a keep draw of its own (``thin_key``)."""
    cure: Cure
    """The run's cure, with stream keys of its own."""


@kernel
def _arrears_before_start(s, before, first_day):
    """Draw the arrears of the ``lag`` days before ``first_day`` and carry the open ones over.

    ``first_day`` is the debt cycle's first day in the run (0, or its ``active_from``'s). The days
    before it are numbered 0 .. ``lag - 1`` (``first_day`` is ``lag``) and run the run's own
    rule, kernel for kernel: each day the follow-ups due (``_due``: cures clear arrears, reminders
    come again in 30 days), then that day's new arrears (``_open_arrears``), on a calendar of
    their own; acts before ``first_day`` are posted nowhere. What is still pending on day ``lag``
    moves to the run's calendar, its day less ``lag`` plus ``first_day``: the judgments of the
    arrears not cured, the cures still to come and the next reminders. Every open episode becomes
    the episode ``BEFORE_START``, as a warm start's listed debtors are (``_owe_listed``). Returns
    how many people are in arrears on ``first_day``.
    """
    lag = np.int64(s.cure.lag)
    arrears_mask, judgment_mask = s.masks.arrears, s.masks.judgment
    none = np.uint8(0)
    cal = new_calendar(2 * lag + 31)
    for day in range(lag):
        pids, tags = pop(cal, day)
        _, _, month, month_tags, _, _ = _due(
            pids,
            tags,
            s.flags,
            arrears_mask,
            judgment_mask,
            s.flags,  # nobody is listed before day 0 here: an empty mask
            none,
            s.flags,
            none,
            s.debt_day,
            day,
            np.empty(pids.size, np.int64),
            np.empty(pids.size, np.int16),
            np.empty(pids.size, np.bool_),
            np.int64(0),
        )
        schedule(cal, np.full(month.size, day + 30), month, month_tags, 0)
        _, days, follow, tags = _open_arrears(
            before.candidate_key,
            s.arrears.rate,
            s.n,
            day,
            before.people,
            s.flags,
            arrears_mask,
            arrears_mask | judgment_mask,
            s.keep_rule,
            s.debt_day,
            before.cure,
            s.threads,
        )
        schedule(cal, days, follow, tags, 0)
    opened = [np.empty(0, np.int64)]
    total = 0
    for day in range(lag, cal.horizon):
        pids, tags = pop(cal, day)
        keep = np.zeros(pids.size, np.bool_)
        for i in range(pids.size):  # still open: the episode's own entries
            pid = pids[i]
            keep[i] = s.debt_day[pid] == tags[i] // _TAG and (s.flags[pid] & arrears_mask) != 0
        pids, kinds = kept(pids, keep), kept(tags, keep) % _TAG
        carried = np.full(pids.size, day - lag + first_day)
        schedule(s.calendar, carried, pids, np.int64(BEFORE_START) * _TAG + kinds, 0)
        episodes = kept(pids, kinds != MONTH)  # one cure or judgment per open episode
        opened.append(episodes)
        total += episodes.size
    for pid in joined(opened, total):  # once every entry is carried: they were checked by it
        s.debt_day[pid] = BEFORE_START
    return total


class Debt(CompiledSteps, Behaviour):
    """Loan arrears, cures, unpaid court judgments and repayments."""

    name = "debt"
    Params = DebtParams
    description = "loan arrears and repayment, unpaid court judgments, repayment after listing"
    params: DebtParams
    acts_with_state = ("loan_arrears", "loan_repaid", "court_judgment_unpaid", "judgment_repaid")
    """Every act it posts: each is a step of a debt it schedules and counts."""

    def acts_posted(self) -> tuple[str, ...]:
        """Its ``acts_with_state``: it posts no other act."""
        return self.acts_with_state

    def declare(self, pop: Population) -> None:
        self.arrears, self.judgment = pop.state.add_flags("debt_arrears", "debt_judgment_unpaid")
        self.debt_day = pop.state.add("debt_day", np.uint16, 0)

    def init(self, sim: Simulation) -> None:
        p = self.params
        self.pop = sim.pop
        name = p.listing_list
        self.list = sim.find(name, ListBase, f"{self.name}.listing_list")
        self.list_not_run = name is not None and self.list is None and not sim.runs_without(name)
        """A list named that this run does not have (switched off, dropped, or misspelled): no
        effect, and the summary says so (a dropped list must not stop the run: compare's drops
        remove its table, so a misspelling cannot be told from it)."""
        self.income = listen(sim.pop)  # lost incomes from any mechanism, from day 0
        self.days = sim.days
        step = p.repay_factor_from
        self.step_day = NO_STEP if step is None else (step.date - sim.start_date).days
        self.first_day = sim.first_day_of(self.name)
        """The first day the cycle steps: the arrears before it are ``arrears_before_start``'s."""
        self.since = sim.date_of(self.first_day).isoformat()
        self.metric_columns = ("debt_new_arrears", "debt_judgments", "debt_judgments_repaid")
        self._state = None

    @property
    def state(self) -> object:
        """The debt record, made once every mechanism is ready: it holds the list's record."""
        if self._state is None:
            self._state = self._new_state()
            self._today = today_of(self._state)
        return self._state

    @property
    def today(self) -> np.ndarray:
        """Today's metric values (shared with the record)."""
        _ = self.state
        return self._today

    def summary(self) -> list[str]:
        """Lines on the arrears carried into day 0, and on a listing list the run lacks."""
        lines = []
        if self.params.arrears_before_start:
            when = "the start date" if self.first_day == 0 else f"its first day, {self.since}"
            lines.append(
                f"{self.name}: {self.in_arrears_at_start:,} people in arrears on {when} (the "
                f"arrears of the {self.params.court_lag_days} days before it, drawn by the run's "
                "rule)"
            )
        if self.list_not_run:
            lines.append(
                f"{self.name}: listing_list {self.params.listing_list!r} is not in this run "
                "(switched off, dropped or misspelled): no listing raised anyone's repayment"
            )
        return lines

    def set_up(self) -> dict[str, Any]:
        """The people in arrears on day 0, with ``arrears_before_start`` (else nothing)."""
        if not self.params.arrears_before_start:
            return {}
        _ = self.state
        return {"in_arrears_at_start": self.in_arrears_at_start}

    def _people_and_rule(self) -> tuple[ArrearsPeople, ArrearsRule]:
        """What the arrears rule reads of people, and the rule (``arrears_factor``)."""
        p, pop = self.params, self.pop
        income_effect = np.asarray(p.income_effect, np.float64)
        top = float(income_effect.max() * (1.0 + abs(p.compliance_weight)))
        keys = pop.keys
        people = ArrearsPeople(
            thin_key=self.key("arrears/thin"),
            age_key=keys.age,
            income_key=keys.income,
            compliance_key=keys.compliance,
            bounds=pop.geography.bounds,
            households=pop.households,
            age_table=pop.age_table,
        )
        rule = ArrearsRule(
            income_effect=income_effect, compliance_weight=p.compliance_weight, top=top
        )
        return people, rule

    def draw_debtors(self, key: np.uint64, share: float, factor: np.ndarray) -> np.ndarray:
        """About ``share`` of all people, drawn as this debt cycle makes judgment debtors.

        For a warm start (``mechanisms/lists/initial.py``): each person with probability
        proportional to ``arrears_factor`` (adults only; poorer and less compliant people more
        often) times ``factor`` of their income quintile (the caller's: for people still listed,
        the chance that a debtor of that quintile has not repaid yet). Sorted ids; ``key`` is
        the caller's stream.
        """
        people, rule = self._people_and_rule()
        factor = np.asarray(factor, np.float64)
        args = (people, rule, factor, self.pop.n)
        threads = run_threads(self.pop.n)
        sums = _weight_sums(threads, self.pop.n, *args)
        return _draw_debtors(key, sums, *args, share, threads)

    def _regime_hazards(self) -> SteppedHazards:
        """The daily repayment hazard of each regime (unlisted, listed, listed without income).

        Before and from ``repay_factor_from``'s date, the day counted from the run's day 0: the
        listed regimes' hazards times its factor from then on (no step without it).
        """
        p = self.params
        before = np.asarray(
            (
                p.repay_hazard,
                p.repay_hazard_listed,
                p.repay_hazard_listed * p.income_loss_repay_factor,
            ),
            np.float64,
        )
        step = p.repay_factor_from
        if step is None:
            return SteppedHazards(before=before, after=before, step_day=NO_STEP)
        after = before * np.asarray((1.0, step.factor, step.factor))
        return SteppedHazards(before=before, after=after, step_day=self.step_day)

    def listed_repayment(self, pids: np.ndarray | None = None) -> SteppedHazards:
        """The daily repayment hazard of a listed debtor, by income quintile (lowest first).

        As ``Repayment`` holds it for the listed regime (``repay_hazard_listed`` times
        ``REPAY_SCALE``, and times ``repay_factor_from``'s factor from its day on); a listed
        debtor who lost their income repays more slowly. With ``pids``, of each of their income
        quintiles.
        """
        h = self._regime_hazards()
        j = REPAY_LISTED - REPAY_UNLISTED
        scale = np.asarray(REPAY_SCALE)
        if pids is not None:
            pop = self.pop
            scale = scale[_quintiles(pop.keys.income, pop.geography.bounds, pids)]
        return SteppedHazards(
            before=h.before[j] * scale, after=h.after[j] * scale, step_day=h.step_day
        )

    def _new_state(self) -> object:
        p, pop = self.params, self.pop
        keys = pop.keys
        people, rule = self._people_and_rule()
        top = rule.top
        arrears = ArrearsDraw(
            key=self.key("arrears/candidates"),
            rate=min(1.0, p.arrears_rate * top),
            has_list=self.list is not None,
        )
        cure = Cure(
            key=self.key("cure"),
            share=p.cure_share,
            delay_key=self.key("cure/delay"),
            hazard=1.0 / p.cure_mean_days,
            lag=p.court_lag_days,
        )
        kinds = (REPAY_UNLISTED, REPAY_LISTED, REPAY_POOR)
        repay = Repayment(
            keys=np.asarray([self.key(f"repay/{k}") for k in kinds], np.uint64),
            hazards=self._regime_hazards(),
            income_key=keys.income,
            bounds=pop.geography.bounds,
            scale=np.asarray(REPAY_SCALE),
        )
        state = _new_state(
            flags=self.arrears.array,
            masks=DebtMasks(arrears=self.arrears.mask, judgment=self.judgment.mask),
            debt_day=self.debt_day,
            days=self.days,
            listing=self.list.state if self.list is not None else no_list(),
            income=self.income if self.income is not None else no_income_loss(self.arrears.array),
            arrears=arrears,
            people=people,
            rule=rule,
            cure=cure,
            repay=repay,
            n=pop.n,
            threads=run_threads(pop.n),
        )
        _owe_listed(state, np.int64(self.first_day))
        if p.arrears_before_start:
            before = BeforeStart(
                candidate_key=self.key("before_start/candidates"),
                people=people._replace(thin_key=self.key("before_start/thin")),
                cure=cure._replace(
                    key=self.key("before_start/cure"),
                    delay_key=self.key("before_start/cure/delay"),
                ),
            )
            first_day = np.int64(self.first_day)
            self.in_arrears_at_start = int(_arrears_before_start(state, before, first_day))
        return state
