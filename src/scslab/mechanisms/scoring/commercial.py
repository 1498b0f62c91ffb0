"""Commercial credit scores: opt-in, five weighted dimensions, read by perks and by any reader.

The scores themselves punish nobody: perks at thresholds live in ``consequences/rewards.py``,
and a scenario may still punish on them (a ``threshold_list`` on Sesame, ``integrated_2020``'s
commercial blacklist; an employer screening a leaked score, ``adversary/data_breaches.py``).

Owns the ``CommercialScore`` base and three registered scores: ``sesame_credit`` (Ant Financial's
Sesame Credit, 350-950), ``tencent_credit`` (300-850) and ``network_credit`` (a relationship-based
score like the one Facebook's credit pilot explored). It reads records; it never posts any, and
rewards for high scores live in ``consequences/rewards.py``.

A score is ``lo + (hi - lo) * sum(w_d * x_d) / sum(w_d)`` over five dimensions ``x_d`` in [0, 1]:

- credit history: ``clean_history * (1 - penalty / 31)``, where ``penalty`` (0..31) rises and
  falls with credit records from the credit sources (``credit_penalties``) and falls by one unit
  every ``recovery_days``;
- fulfilment capacity: a value per income quintile (``fulfilment_by_income``);
- identity characteristics: a value per occupation, blended with adult age (maturity);
- behaviour and preferences: the online-activity trait blended with the activity records of the
  last period (e.g. online purchases recorded by e-commerce platforms), up to ``activity_cap``;
- interpersonal relationships: the mean normalised score of the person's community ties who use
  the score (generated ties, ``scslab.population.attributes.community_tie``), less the ties cut
  (``mechanisms/ties.py``: a cut tie's score no longer counts); weight 0 switches the dimension
  off.

Opt-in is a pure function of a hash of (seed, person) and of age, urban residence and the online
trait, so it is never stored; with ``adoption_days`` the users join along a linear ramp from the
mechanism's first day. Stored per person: the score (``int16``, 0 for people who have not opted
in) and one byte packing the penalty (low 5 bits) and the period's activity count (high 3 bits):
3 bytes. Every ``period_days`` one numba pass over the population, block by block, admits new
users, lets penalties recover and recomputes every user's score; within a block all scores are
computed from the stored scores before any is written, so results do not depend on the thread
count. A credit record changes the credit-history component of a user's score the same day.

The state's licence: the People's Bank of China chose eight companies in 2015 to pilot credit
scores and, in July 2017, was reported to have abandoned plans to license them (seed article).
``licence_refused_on`` dates that refusal: from that day the score's ``state_reads`` kernel
answers no, and every reader acting for the state (a city service's perk, a state list) sees no
score, while commercial readers (the company's own perks) read on. Without a date the state reads
the score throughout and nothing changes.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

import numpy as np
from numba import prange
from pydantic import Field, field_validator, model_validator

from scslab.catalogue import Act, ActName, Source, SourceName, act_by_name, source_by_name
from scslab.engine.board import records_of
from scslab.engine.burn_in import MAX_DAYS
from scslab.engine.mechanism import MechanismParams
from scslab.engine.steps import CompiledSteps, compiled_mechanism, today_of
from scslab.kernels.jit import kernel, step_kernel
from scslab.kernels.memory import prefetch_ahead
from scslab.kernels.parallel import RECORD_PARTS, both_builds, person_parts, run_threads
from scslab.kernels.rng import uniform
from scslab.kernels.structs import compiled_struct
from scslab.mechanisms.scoring.compiled import (
    CompiledScoring,
    clean_of,
    compiled_scoring,
    moving_by_value,
    record_value,
)
from scslab.mechanisms.ties import tie_cuts, tie_kept
from scslab.population.attributes import (
    OCCUPATIONS,
    age,
    income_class,
    occupation,
    regions_ties,
    trait,
    trait_factor,
)
from scslab.population.geography import REGION_RUN, region_of, region_run

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation
    from scslab.population import Population

PENALTY_MAX = 31
"""The credit-history penalty is stored in 5 bits."""
ACTIVITY_MAX = 7
"""The activity count of a period is stored in 3 bits (saturating)."""
PASS_BLOCK = 1 << 18
"""People per block of the periodic pass: part of the definition of the results, not a knob."""
PASS_PART = 1 << 12
"""People per task within a block of the pass (speed only: each task follows the regions along
its ids instead of searching them, and keeps its own counts of scores)."""
AGE_BANDS = (18, 30, 45, 60)
"""Upper bounds of the opt-in age bands 0-17, 18-29, 30-44, 45-59 (the last band is 60+)."""


def _identity_default() -> dict[str, float]:
    # Assumption: how completely an occupation's identity and assets are verified on a platform;
    # no source gives the values.
    return {
        "student": 0.3,
        "worker": 0.5,
        "farmer": 0.3,
        "civil_servant": 0.9,
        "retired": 0.5,
        "child": 0.0,
    }


def _credit_penalties_default() -> dict[str, int]:
    # Assumption (penalty units of 31): a missed monthly payment costs about a tenth of the credit
    # history, an unpaid court judgment about a third; clearing the debt restores part of it.
    return {
        "loan_arrears": 3,
        "court_judgment_unpaid": 10,
        "commercial_fraud": 8,
        "loan_repaid": -3,
        "judgment_repaid": -6,
    }


class CommercialScoreParams(MechanismParams):
    """A commercial score: range, dimension weights, data, opt-in and recomputation period."""

    score_min: int = Field(default=350, ge=1, le=30_000, description="Lowest score.")
    score_max: int = Field(default=950, ge=2, le=30_000, description="Highest score.")
    # Default weights 35/25/15/20/5: weights_unofficial in calibration/sesame_credit.csv, "low:
    # content-farm summaries; use only as a labelled assumption" (they were never published).
    credit_history_weight: float = Field(
        default=35,
        ge=0.0,
        le=100.0,
        description="Relative weight of credit history (weights_unofficial, "
        "calibration/sesame_credit.csv, low: content-farm summaries; assumption).",
    )
    fulfilment_weight: float = Field(
        default=25,
        ge=0.0,
        le=100.0,
        description="Relative weight of fulfilment capacity (weights_unofficial; assumption).",
    )
    identity_weight: float = Field(
        default=15,
        ge=0.0,
        le=100.0,
        description="Relative weight of identity characteristics (weights_unofficial; assumption).",
    )
    behaviour_weight: float = Field(
        default=20,
        ge=0.0,
        le=100.0,
        description="Relative weight of behaviour and preferences (weights_unofficial; "
        "assumption).",
    )
    relationships_weight: float = Field(
        default=5,
        ge=0.0,
        le=100.0,
        description="Relative weight of interpersonal relationships, the ties' scores "
        "(weights_unofficial; assumption). 0 switches the dimension off.",
    )
    opt_in_share: float = Field(
        default=260e6 / 1.41e9,
        ge=0.0,
        le=1.0,
        description="Share of all people who opt in once adoption is complete: 260 million users "
        "of 1.41 billion people in July 2017 (seed article; calibration/sesame_credit.csv "
        "users_2017), about 18%. Realised share is slightly lower where the shape below asks for "
        "more than certainty.",
    )
    opt_in_age_factors: list[Annotated[float, Field(ge=0.0, le=100.0)]] = Field(
        default=[0.0, 2.5, 1.8, 0.8, 0.2],
        min_length=5,
        max_length=5,
        description="Relative opt-in propensity by age band 0-17, 18-29, 30-44, 45-59, 60+ "
        "(assumption: adults only, the young far more; no source gives the age profile).",
    )
    opt_in_urban_factor: float = Field(
        default=2.5,
        ge=0.0,
        le=100.0,
        description="Opt-in propensity of urban residents relative to rural ones (assumption).",
    )
    opt_in_online_weight: float = Field(
        default=1.0,
        ge=-1.0,
        le=1.0,
        description="Effect of the online-activity trait on opt-in: +1 doubles it at the top of "
        "the trait and removes it at the bottom (assumption).",
    )
    adoption_days: int = Field(
        default=0,
        ge=0,
        le=60_000,
        description="Days from the mechanism's first day until everyone who will opt in has "
        "(linear ramp; 0: all from the first day). Users join at the periodic passes, so the ramp "
        "advances in steps of period_days and ends up to period_days - 1 days late. Assumption: "
        "no source gives the growth curve.",
    )
    period_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="Days between full recomputations of every user's score (assumption: monthly, "
        "as Sesame scores were reported to update).",
    )
    credit_sources: list[SourceName] = Field(
        default=["bank", "court", "ecommerce"],
        description="Data sources whose records feed the credit history.",
    )
    credit_penalties: dict[ActName, Annotated[int, Field(ge=-PENALTY_MAX, le=PENALTY_MAX)]] = Field(
        default_factory=_credit_penalties_default,
        description="Act name -> credit-history penalty units (of 31) per record; negative "
        "values repair the history (assumption).",
    )
    clean_history: float = Field(
        default=0.6,
        ge=0.0,
        le=1.0,
        description="Credit-history value of a clean record (assumption: a clean but thin file "
        "is not the best possible history; chosen so that the users' mean falls near 650).",
    )
    recovery_days: int = Field(
        default=90,
        ge=1,
        le=60_000,
        description="Days per penalty unit forgiven (assumption: a missed payment fades in about "
        "nine months, an unpaid judgment in about 2.5 years). Units are forgiven on one calendar "
        "for all users, one every this many days from the score's first pass and applied at the "
        "passes, so a record's first unit fades after 1 to this many days (no record's date is "
        "stored).",
    )
    fulfilment_by_income: list[Annotated[float, Field(ge=0.0, le=1.0)]] = Field(
        default=[0.1, 0.25, 0.4, 0.55, 0.75],
        min_length=5,
        max_length=5,
        description="Fulfilment capacity by income quintile, lowest first (assumption).",
    )
    identity_by_occupation: dict[str, Annotated[float, Field(ge=0.0, le=1.0)]] = Field(
        default_factory=_identity_default,
        description="Identity value per occupation (assumption). Keys: " + ", ".join(OCCUPATIONS),
    )
    identity_age_weight: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Share of the identity dimension given by maturity, min(1, (age - 18) / 40) "
        "(assumption).",
    )
    activity_sources: list[SourceName] = Field(
        default=["ecommerce"], description="Sources whose activity records count as behaviour."
    )
    activity_acts: list[ActName] = Field(
        default=["online_purchase"], description="Acts whose records count as activity."
    )
    activity_share: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Share of the behaviour dimension given by recorded activity; the rest is "
        "the online trait (assumption).",
    )
    activity_cap: int = Field(
        default=3,
        ge=1,
        le=ACTIVITY_MAX,
        description="Activity records per period that earn the full activity value (assumption).",
    )
    ties: int = Field(
        default=8,
        ge=0,
        le=64,
        description="Community ties read by the relationship dimension (assumption: 8, as "
        "informants.ties; no source gives the number).",
    )
    no_ties_value: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Relationship value of a user none of whose ties uses the score (assumption: "
        "no information scores as the middle).",
    )
    report_thresholds: list[Annotated[int, Field(ge=1, le=30_000)]] = Field(
        default=[600, 650, 750],
        max_length=8,
        description="Scores whose numbers of users at or above are reported daily (Sesame perk "
        "thresholds, calibration/sesame_credit.csv perk_threshold_600/650/750).",
    )
    licence_refused_on: dt.date | None = Field(
        default=None,
        description="The state refuses the company a licence on this date: from then on readers "
        'acting for the state (reward sectors with reader = "state", state lists and '
        "sanctions) read no score; commercial perks continue (none: the state reads the score "
        "throughout). The PBoC refused the eight pilots in July 2017 (seed article).",
    )

    @field_validator("identity_by_occupation")
    @classmethod
    def _every_occupation(cls, value: dict[str, float]) -> dict[str, float]:
        if set(value) != set(OCCUPATIONS):
            raise ValueError(
                f"give a value for exactly these occupations: {', '.join(OCCUPATIONS)}"
            )
        return value  # each value's bounds are its type's

    @model_validator(mode="after")
    def _range(self) -> CommercialScoreParams:
        if self.score_min >= self.score_max:
            raise ValueError("score_min must be below score_max")
        if sum(self.weights()) <= 0:
            raise ValueError("at least one dimension needs a positive weight")
        return self

    def settings_unused(self) -> dict[str, str]:
        return self.given_but_unused(
            self.activity_share == 0,
            ("activity_cap", "activity_acts", "activity_sources"),
            "activity_share is 0, so recorded activity counts for nothing",
        )

    def weights(self) -> tuple[float, float, float, float, float]:
        """The relative weights in dimension order (credit history first)."""
        return (
            self.credit_history_weight,
            self.fulfilment_weight,
            self.identity_weight,
            self.behaviour_weight,
            self.relationships_weight,
        )


class _Rule(NamedTuple):
    """The scoring rule as numbers a kernel can read."""

    lo: int
    hi: int
    weights: np.ndarray
    """Normalised weights of the five dimensions."""
    clean: float
    fulfilment: np.ndarray
    identity: np.ndarray
    identity_age_weight: float
    activity_share: float
    activity_cap: int
    ties: int
    no_ties: float
    age_table: np.ndarray
    """Who of a household is a child, by its size (``Population.age_table``)."""


class _OptIn(NamedTuple):
    """Who opts in: ``uniform(key, 0, pid, 0) < min(1, scale * propensity(pid)) * ramp``."""

    key: np.uint64
    scale: float
    age_factors: np.ndarray
    urban_factor: float
    online_weight: float
    age_table: np.ndarray
    """Who of a household is a child, by its size (``Population.age_table``)."""


class _Credit(NamedTuple):
    """How records move the credit history: the record's ``credit``."""

    penalties: np.ndarray
    """Penalty units per act (negative: repair)."""
    credit_ok: np.ndarray
    """Per source: whether its records feed the credit history."""
    active: np.ndarray
    """Per act and source: whether a record counts as activity."""
    delta_unit: float
    """Score points per penalty unit."""


class _Timing(NamedTuple):
    """The record's ``timing``: days between passes, per unit forgiven, of adoption; the licence."""

    period: int
    recovery: int
    adoption: int
    licence_refused: int
    """The day from which the state reads no score (-1: never)."""


FIRST, LAST = 0, 1
"""Indices in the record's ``days``: the day of the first pass and of the last (``NO_PASS``)."""
NO_PASS = np.int64(-(2**62))
"""``days[FIRST]`` and ``days[LAST]`` before any pass. Not -1: after a burn-in both are days of
the run's calendar before day 0 (``CommercialScore.take_history``), negative numbers too."""


@kernel(inline="always")
def _propensity(opt, keys, households, pid, urban):
    """How likely ``pid`` opts in, relative to others: by age band, area and online trait.

    Without a branch, so that a pass over everyone is vector code: the band is the number of
    bands' upper bounds at or below the age (the bounds ascend).
    """
    years = age(keys.age, pid, households[pid], opt.age_table)
    band = 0
    for b in range(len(AGE_BANDS)):
        band += years >= AGE_BANDS[b]
    f = opt.age_factors[band]
    f = f * opt.urban_factor if urban else f
    return f * trait_factor(keys.online, pid, opt.online_weight)


def _propensity_sum(opt, keys, households, bounds):
    """The sum over everyone, added in a fixed order (block sums in id order, then their sum).

    A block goes a run of one region at a time (``region_run``), whose propensities are computed
    in a loop of its own, which is vector code, before they are added one by one.
    """
    n = households.size
    n_blocks = (n + PASS_BLOCK - 1) // PASS_BLOCK
    sums = np.zeros(n_blocks)
    for b in prange(n_blocks):
        each = np.empty(REGION_RUN, np.float64)
        total = 0.0
        pos, hi = b * PASS_BLOCK, min(n, (b + 1) * PASS_BLOCK)
        r = region_of(bounds, pos)
        while pos < hi:
            end, next_r = region_run(bounds, r, pos, hi, REGION_RUN)
            urban = r % 2 == 0
            for i in range(end - pos):
                each[i] = _propensity(opt, keys, households, pos + i, urban)
            for i in range(end - pos):
                total += each[i]
            pos, r = end, next_r
        sums[b] = total
    total = 0.0
    for b in range(n_blocks):  # a loop, not sums.sum(): a threaded sum's order varies
        total += sums[b]
    return total


_propensity_sum = both_builds(_propensity_sum)


@kernel(inline="always")
def _joins(opt, keys, households, pid, urban, ramp):
    """Whether ``pid`` has opted in once a share ``ramp`` of adoption is done."""
    p = min(1.0, opt.scale * _propensity(opt, keys, households, pid, urban))
    return uniform(opt.key, 0, pid, 0) < p * ramp


@kernel
def _opted_in(opt, keys, households, bounds, pids, ramp):
    out = np.empty(pids.size, np.bool_)
    for i in range(pids.size):
        urban = region_of(bounds, pids[i]) % 2 == 0
        out[i] = _joins(opt, keys, households, pids[i], urban, ramp)
    return out


@kernel(inline="always")
def _relationships(rule, score, ties, users, cuts, weight, s):
    """Add ``weight`` times each user's relationships to ``s``.

    A user's relationships: the mean normalised score of their kept ties that use the score
    (``rule.no_ties`` where none does).

    ``users[u]``'s ``k``-th community tie is ``ties[k * users.size + u]`` (``regions_ties``).
    """
    n = users.size
    lo, span = rule.lo, rule.hi - rule.lo
    for u in range(n):
        pid = users[u]
        total = 0.0
        counting = 0
        for k in range(rule.ties):
            if not tie_kept(cuts, pid, k):
                continue  # a cut tie's score does not count
            t = ties[k * n + u]
            v = score[t]
            # Without branches (whether a tie uses the score is a coin flip to the processor):
            # adding 0.0 for a tie that does not count leaves the sum as it was, bit for bit.
            counted = np.int64(v > 0) & np.int64(t != pid)
            total += counted * ((v - lo) / span)
            counting += counted
        s[u] += weight * (total / counting if counting else rule.no_ties)


@kernel
def _scores_of(rule, keys, households, bounds, score, cuts, users, was, forgive, ties, out):
    """Into ``out``: the new scores of ``users`` (ascending ids), whose packed bytes were ``was``.

    A user's score is the weighted sum of five dimensions in ``[0, 1]``, added in this order:
    the credit history (``rule.clean`` less the penalty left after ``forgive`` units), the
    fulfilment of their income class, their identity (occupation and maturity), their activity
    (the online trait and the period's records) and their relationships (``_relationships``,
    their ``k``-th community tie being ``ties[k * users.size + u]``); then scaled to
    ``rule.lo .. rule.hi`` and rounded. A dimension of weight 0 is not computed.

    One dimension a loop over the users, each loop short: a loop that computed a user's whole
    score at once, through a helper given the records, spent about 100 ns a user outside its
    arithmetic (114 -> 45 ns a user, one thread, 2026-12-07: a Sesame pass at 10 million
    people).
    """
    n = users.size
    w = rule.weights
    urban = np.empty(n, np.bool_)
    r = region_of(bounds, users[0]) if n else 0
    for u in range(n):  # the users' regions, followed along their ids
        while users[u] >= bounds[r + 1]:
            r += 1
        urban[u] = r % 2 == 0
    s = np.empty(n, np.float64)
    for u in range(n):
        penalty = max(0, (was[u] & PENALTY_MAX) - forgive)
        s[u] = w[0] * rule.clean * (1.0 - penalty / PENALTY_MAX)
    if w[1] > 0.0:
        for u in range(n):
            s[u] += w[1] * rule.fulfilment[income_class(keys.income, users[u], urban[u])]
    if w[2] > 0.0:
        table, aged = rule.age_table, rule.identity_age_weight
        for u in range(n):
            pid = users[u]
            years = age(keys.age, pid, households[pid], table)
            maturity = min(1.0, max(0.0, (years - 18.0) / 40.0))
            occ = rule.identity[occupation(keys.occupation, pid, years, urban[u])]
            s[u] += w[2] * ((1.0 - aged) * occ + aged * maturity)
    if w[3] > 0.0:
        for u in range(n):
            recorded = min(was[u] >> 5, rule.activity_cap) / rule.activity_cap
            online = trait(keys.online, users[u])
            s[u] += w[3] * ((1.0 - rule.activity_share) * online + rule.activity_share * recorded)
    if w[4] > 0.0:
        _relationships(rule, score, ties, users, cuts, w[4], s)
    for u in range(n):
        value = math.floor(rule.lo + (rule.hi - rule.lo) * s[u] + 0.5)
        out[u] = min(max(value, rule.lo), rule.hi)


def _recompute(
    rule,
    opt,
    keys,
    households,
    bounds,
    locality,
    cuts,
    score,
    packed,
    hist,
    check_join,
    ramp,
    forgive,
):
    """The periodic pass: admit new users, forgive penalties, reset activity, rescore users.

    Block by block: every new score of a block is computed from stored scores, then written, so a
    tie's score read inside the block is always its value before the block.
    """
    n = score.size
    related = rule.weights[4] > 0.0 and rule.ties > 0  # the relationship dimension counts
    buf = np.empty(min(n, PASS_BLOCK), np.int16)
    counts = np.zeros(((min(n, PASS_BLOCK) + PASS_PART - 1) // PASS_PART, hist.size), np.int64)
    for start in range(0, n, PASS_BLOCK):
        end = min(n, start + PASS_BLOCK)
        parts = (end - start + PASS_PART - 1) // PASS_PART
        for j in prange(parts):
            first = start + j * PASS_PART
            stop = min(end, first + PASS_PART)
            users = np.empty(stop - first, np.int64)  # the part's users
            was = np.empty(stop - first, np.int64)  # and their packed bytes before the pass
            user = np.empty(stop - first, np.bool_)  # whether each person is (or becomes) one
            n_users = 0
            if check_join:  # who joins, for everyone: a loop of its own, vector code
                r = region_of(bounds, first)  # then followed along the part's ids, not searched
                pos = first
                while pos < stop:  # a run of one region at a time, its area constant
                    run_end, next_r = region_run(bounds, r, pos, stop, stop - pos)
                    urban = r % 2 == 0
                    for pid in range(pos, run_end):
                        joins = _joins(opt, keys, households, pid, urban, ramp)
                        user[pid - first] = (score[pid] > 0) | joins
                    pos, r = run_end, next_r
            else:  # the users are those with a score: no area needed
                for pid in range(first, stop):
                    user[pid - first] = score[pid] > 0
            for pid in range(first, stop):
                b = np.int64(packed[pid])
                packed[pid] = np.uint8(max(0, (b & PENALTY_MAX) - forgive))  # activity: 0 again
                buf[pid - start] = 0
                users[n_users] = pid  # written for everyone, kept for users: no branch
                was[n_users] = b
                n_users += np.int64(user[pid - first])
            ties = np.empty(rule.ties * n_users if related else 0, np.int64)
            if related:
                regions_ties(keys.ties, users[:n_users], rule.ties, bounds, locality, ties, n_users)
            values = np.empty(n_users, np.int64)
            _scores_of(
                rule,
                keys,
                households,
                bounds,
                score,
                cuts,
                users[:n_users],
                was[:n_users],
                forgive,
                ties,
                values,
            )
            for u in range(n_users):
                value = values[u]
                buf[users[u] - start] = value
                counts[j, value - rule.lo] += 1
        for j in prange(parts):  # the block's scores are all computed: write them
            first = start + j * PASS_PART
            for pid in range(first, min(end, first + PASS_PART)):
                score[pid] = buf[pid - start]  # 0 for a non-user, whose score is 0
    hist[:] = 0
    for j in range(counts.shape[0]):  # integer counts: the same sums in any order
        hist += counts[j]


_recompute = both_builds(_recompute)


def _apply_records(
    pids, acts, sources, true, score, packed, penalties, credit_ok, active, delta_unit, lo, hi, hist
):
    """Apply today's records; return [user scores changed, of them on false records].

    The records come ordered by person; each part of ``person_parts`` holds whole people, so
    the parts write disjoint people and count into histograms of their own, added at the end.
    """
    bounds = person_parts(pids, RECORD_PARTS)
    parts = bounds.size - 1
    moved = np.zeros((parts, hist.size), np.int64)
    outs = np.zeros((parts, 2), np.int64)
    for j in prange(parts):
        for i in range(bounds[j], bounds[j + 1]):
            prefetch_ahead(packed, pids, i)
            pid = pids[i]
            b = np.int64(packed[pid])
            if active[acts[i], sources[i]] and (b >> 5) < ACTIVITY_MAX:
                b += 32
            units = record_value(penalties, credit_ok, acts[i], sources[i])  # penalty units
            old_pen = b & PENALTY_MAX
            new_pen = min(max(old_pen + units, 0), PENALTY_MAX)
            b += new_pen - old_pen
            packed[pid] = np.uint8(b)
            if new_pen == old_pen:  # an activity record, say: no score to read
                continue
            old = np.int64(score[pid])
            if old == 0:
                continue
            new = math.floor(old + delta_unit * (old_pen - new_pen) + 0.5)
            new = min(max(new, lo), hi)
            if new != old:
                score[pid] = new
                moved[j, old - lo] -= 1
                moved[j, new - lo] += 1
                outs[j, 0] += 1
                if not true[i]:
                    outs[j, 1] += 1
    out = np.zeros(2, np.int64)
    for j in range(parts):  # integer counts: the same sums in any order
        hist += moved[j]
        out += outs[j]
    return out


_apply_records = both_builds(_apply_records)


CommercialState = compiled_struct(
    "CommercialState",
    (
        "score",
        "packed",
        "rule",
        "opt",
        "keys",
        "households",
        "bounds",
        "locality",
        "cuts",
        "credit",
        "hist",
        "timing",
        "days",
        "ramp",
        "changes",
        "thresholds",
        "threads",
        "today",
    ),
    __name__,
)
"""The score and packed byte per person; the rule and the opt-in (``_Rule``, ``_OptIn``); the
population's keys, households, regions and tie locality; the cut ties (``mechanisms/ties.py``);
the credit rule (``_Credit``); users per
score value; the period, recovery and adoption days (``_Timing``); the first day and the last pass
(``days[FIRST]``, ``days[LAST]``; ``NO_PASS``: none yet, negative: a burn-in's) and the adoption
ramp then; today's credit changes
and those on false records; the reported thresholds; the population's ``run_threads`` (the
periodic pass's build); today's metrics (users, mean or NaN without
users, the two changes, users at each threshold)."""


@kernel
def _new_state(
    score,
    packed,
    rule,
    opt,
    keys,
    households,
    bounds,
    locality,
    cuts,
    credit,
    hist,
    timing,
    thresholds,
    threads,
    width,
):
    return CommercialState(
        score,
        packed,
        rule,
        opt,
        keys,
        households,
        bounds,
        locality,
        cuts,
        credit,
        hist,
        timing,
        np.full(2, NO_PASS, np.int64),
        np.zeros(1, np.float64),
        np.zeros(2, np.int64),
        thresholds,
        threads,
        np.zeros(width, np.float64),
    )


@kernel
def _ramp_at(s, day):
    """Share of eventual users who have opted in by a pass on ``day``.

    The ramp counts from the first pass, which after a burn-in is a day before the run's day 0.
    """
    first, adoption = s.days[FIRST], s.timing.adoption
    if first == NO_PASS or day < first:
        return 0.0
    if adoption == 0:
        return 1.0
    return min(1.0, (day - first + 1) / adoption)


@kernel
def _pass(s, day):
    """The periodic pass on ``day``: new users join, penalties are forgiven, users rescored.

    Forgiven: the units due since the last pass, a burn-in's included (none before any pass).
    """
    if s.days[FIRST] == NO_PASS:
        s.days[FIRST] = day
    ramp = _ramp_at(s, day)
    first, recovery, last = s.days[FIRST], s.timing.recovery, s.days[LAST]
    forgive = 0 if last == NO_PASS else (day - first) // recovery - (last - first) // recovery
    _recompute(
        s.threads,
        s.score.size,
        s.rule,
        s.opt,
        s.keys,
        s.households,
        s.bounds,
        s.locality,
        s.cuts,
        s.score,
        s.packed,
        s.hist,
        ramp > s.ramp[0] or last < 0,  # the run's first pass checks everyone
        ramp,
        forgive,
    )
    s.ramp[0] = ramp
    s.days[LAST] = day


@step_kernel
def _step(day, board, s):
    last = s.days[LAST]
    # The run's first step always passes: no pass yet, or only a burn-in's (a negative day), whose
    # users day 0's pass rescores and whose histogram it rebuilds.
    if last < 0 or day - last >= s.timing.period:
        _pass(s, day)  # scores the periods before today; today's records come next
    pid, act, source, true = records_of(board)
    c = s.credit
    changes = _apply_records(
        s.threads,
        pid.size,
        pid,
        act,
        source,
        true,
        s.score,
        s.packed,
        c.penalties,
        c.credit_ok,
        c.active,
        c.delta_unit,
        s.rule.lo,
        s.rule.hi,
        s.hist,
    )
    s.changes[0], s.changes[1] = changes[0], changes[1]


@kernel
def _at_least(s, threshold):
    """Users whose score is at least ``threshold``."""
    total = 0
    for i in range(min(max(threshold - s.rule.lo, 0), s.hist.size), s.hist.size):
        total += s.hist[i]
    return total


@kernel
def _users_and_mean(s):
    """Users now and their mean score (NaN without users)."""
    users = weighted = 0
    for i in range(s.hist.size):
        users += s.hist[i]
        weighted += s.hist[i] * (s.rule.lo + i)
    return users, np.float64(weighted) / users if users else np.nan  # no users: no mean


@kernel
def _state_reads(s, day):
    """Whether the state may read the score on ``day``: not from the licence's refusal on."""
    refused = s.timing.licence_refused
    return refused < 0 or day < refused


@step_kernel
def _metrics(day, s):
    t = s.today
    t[0], t[1] = _users_and_mean(s)
    t[2], t[3] = s.changes[0], s.changes[1]
    for j in range(s.thresholds.size):
        t[4 + j] = _at_least(s, s.thresholds[j])
    if t.size > 4 + s.thresholds.size:  # with a licence refusal: whether the state reads today
        t[4 + s.thresholds.size] = _state_reads(s, day)


def _scores_at(score, pids):
    """Each of ``pids``' score (0: not a user)."""
    out = np.empty(pids.size, np.int64)
    for i in prange(pids.size):
        out[i] = score[pids[i]]
    return out


@kernel(inline="always")
def _is_user(score):
    """Whether a stored score is a user's: a non-user's is 0, below every range."""
    return score > 0


def _users_at(score, pids):
    """Whether each of ``pids`` is a user (scored)."""
    out = np.empty(pids.size, np.bool_)
    for i in prange(pids.size):
        out[i] = _is_user(score[pids[i]])
    return out


def _users_of(scores):
    """Whether each of a run of stored ``scores`` is a user's (``_users_at`` without a gather)."""
    out = np.empty(scores.size, np.bool_)
    for i in prange(scores.size):
        out[i] = _is_user(scores[i])
    return out


def _clean_at(packed, pids):
    """Whether each of ``pids`` has no penalty units."""
    out = np.empty(pids.size, np.bool_)
    for i in prange(pids.size):
        out[i] = (packed[pids[i]] & PENALTY_MAX) == 0
    return out


# Readers' gathers: threaded for many ids in a big run (callers read them outside any threaded
# loop of their own).
_scores_at, _users_at, _users_of, _clean_at = (
    both_builds(f) for f in (_scores_at, _users_at, _users_of, _clean_at)
)


@kernel
def _state_scores(s, pids, day):
    return _scores_at(s.threads, pids.size, s.score, pids)


@kernel
def _state_rescored(s, day):
    return s.days[LAST] == day


@kernel
def _state_has_score(s, pids):
    return _users_at(s.threads, pids.size, s.score, pids)


@kernel
def _state_scores_between(s, first, stop):
    return s.score[first:stop]  # the scores ``_scores_at`` gathers, where they lie


@kernel
def _state_users_between(s, first, stop):
    return _users_of(s.threads, stop - first, s.score[first:stop])


@kernel
def _state_clean(s, pids):
    return _clean_at(s.threads, pids.size, s.packed, pids)


@kernel
def _state_moving(s):
    """Records that move scores: those with penalty units from a credit source; activity waits."""
    return moving_by_value(s.credit.penalties, s.credit.credit_ok)


@kernel
def _shared(s):
    return s.days, s.ramp, s.changes


compiled_mechanism(CommercialState, _step, _metrics)
compiled_scoring(
    CommercialState,
    _state_scores,
    rescored_kernel=_state_rescored,
    has_score_kernel=_state_has_score,
    clean_kernel=_state_clean,
    state_reads_kernel=_state_reads,
    moving_records_kernel=_state_moving,
)


class CommercialScore(CompiledSteps, CompiledScoring):
    """Base of opt-in commercial scores; subclasses set ``name`` and default parameters.

    ``scores`` returns 0 for people who have not opted in (below every range), so a reward that
    reads the score is never granted to them.
    """

    params: CommercialScoreParams
    carries_history = True
    """Its record (score, penalty and activity per person) is its history, with the days of its
    first and last passes and the ramp then (``history``): day 0's pass rescores the users it
    carries, forgives the penalty units due since the burn-in's last pass, and the adoption ramp
    goes on from the burn-in's first pass."""

    def history(self) -> dict[str, Any]:
        """Besides the per-person record: the first and last passes' days and the ramp then."""
        return {
            "first": int(self._days[FIRST]),
            "last": int(self._days[LAST]),
            "ramp": float(self._ramp[0]),
        }

    def take_history(self, history: dict[str, Any]) -> None:
        """Take the burn-in's passes, their days moved onto the run's calendar (negative days).

        Burn-in day ``b`` is run day ``b - MAX_DAYS`` (``engine/burn_in.py``); a burn-in that
        made no pass (the score starts later) hands over ``NO_PASS``, kept as it is.
        """
        for at, key in ((FIRST, "first"), (LAST, "last")):
            day = history[key]
            self._days[at] = NO_PASS if day == NO_PASS else day - MAX_DAYS
        self._ramp[0] = history["ramp"]

    def counted_records(self) -> np.ndarray | None:
        """Records that move the credit history, and those the monthly pass reads as activity."""
        return self.moving_records() | self.active

    def scores_between(self, first: int, stop: int, day: int) -> np.ndarray:
        """The stored scores themselves (``int16``, 0 for a non-user), a view: no gather."""
        return _state_scores_between(self.state, first, stop)

    def scored_between(self, first: int, stop: int) -> np.ndarray:
        """Whether each of the ids is a user, read along the stored scores."""
        return _state_users_between(self.state, first, stop)

    def declare(self, pop: Population) -> None:
        views = pop.state.add_record(self.name, {"score": np.int16, "packed": np.uint8})
        self.score, self.packed = views["score"], views["packed"]

    def init(self, sim: Simulation) -> None:
        p = self.params
        pop = self.pop = sim.pop
        w = np.asarray(p.weights(), np.float64)
        self.rule = _Rule(
            lo=p.score_min,
            hi=p.score_max,
            weights=w / w.sum(),
            clean=p.clean_history,
            fulfilment=np.asarray(p.fulfilment_by_income, np.float64),
            identity=np.asarray([p.identity_by_occupation[o] for o in OCCUPATIONS], np.float64),
            identity_age_weight=p.identity_age_weight,
            activity_share=p.activity_share,
            activity_cap=p.activity_cap,
            ties=p.ties,
            no_ties=p.no_ties_value,
            age_table=pop.age_table,
        )
        opt = _OptIn(
            key=self.key("opt_in"),
            scale=0.0,
            age_factors=np.asarray(p.opt_in_age_factors, np.float64),
            urban_factor=p.opt_in_urban_factor,
            online_weight=p.opt_in_online_weight,
            age_table=pop.age_table,
        )
        if p.opt_in_share > 0:
            everyone = (opt, pop.keys, pop.households, pop.geography.bounds)
            mean = _propensity_sum(run_threads(pop.n), pop.n, *everyone) / pop.n
            opt = opt._replace(scale=p.opt_in_share / mean if mean > 0 else 0.0)
        self.opt = opt
        self.penalties = np.zeros(len(Act), np.int64)
        for name, units in p.credit_penalties.items():
            self.penalties[act_by_name(name)] = units
        self.credit_ok = np.zeros(len(Source), np.bool_)
        self.credit_ok[[source_by_name(s) for s in p.credit_sources]] = True
        self.active = np.zeros((len(Act), len(Source)), np.bool_)
        for a in p.activity_acts:
            for s in p.activity_sources:
                self.active[act_by_name(a), source_by_name(s)] = True
        # Score points per penalty unit: the credit-history weight times the range per unit.
        self.delta_unit = float(
            self.rule.weights[0] * (p.score_max - p.score_min) * p.clean_history / PENALTY_MAX
        )
        self.hist = np.zeros(p.score_max - p.score_min + 1, np.int64)
        self.thresholds = list(p.report_thresholds)
        credit = _Credit(
            penalties=self.penalties,
            credit_ok=self.credit_ok,
            active=self.active,
            delta_unit=self.delta_unit,
        )
        refused = p.licence_refused_on
        self.licence_refused_day = (
            max(0, (refused - sim.start_date).days) if refused is not None else None
        )
        """The day from which the state reads no score (None: it reads throughout)."""
        timing = _Timing(
            period=p.period_days,
            recovery=p.recovery_days,
            adoption=p.adoption_days,
            licence_refused=-1 if self.licence_refused_day is None else self.licence_refused_day,
        )
        n = self.name
        self.metric_columns = (
            f"{n}_users",
            f"{n}_mean",
            f"{n}_credit_changes",
            f"{n}_false_record_changes",
            *(f"{n}_at_least_{t}" for t in self.thresholds),
            *((f"{n}_read_by_state",) if refused is not None else ()),
        )
        # the mean, and the state's reading as a 0/1 flag: neither a count to scale
        self.float_metrics = frozenset({f"{n}_mean", f"{n}_read_by_state"})
        self.state = _new_state(
            self.score,
            self.packed,
            self.rule,
            opt,
            pop.keys,
            pop.households,
            pop.geography.bounds,
            pop.params.tie_locality,
            tie_cuts(pop),
            credit,
            self.hist,
            timing,
            np.asarray(self.thresholds, np.int64),
            run_threads(pop.n),
            len(self.metric_columns),
        )
        self._days, self._ramp, self.changes = _shared(self.state)
        """The first day and the last pass (``NO_PASS``: none yet; negative: a burn-in's), the
        ramp then, today's changes."""
        self.today = today_of(self.state)

    @property
    def first_day(self) -> int | None:
        """The day of the first pass (None before it; before day 0 after a burn-in)."""
        return None if self._days[FIRST] == NO_PASS else int(self._days[FIRST])

    @property
    def last_pass(self) -> int | None:
        """The day of the last pass (None before the first; before day 0 after a burn-in)."""
        return None if self._days[LAST] == NO_PASS else int(self._days[LAST])

    @property
    def ramp(self) -> float:
        """The adoption ramp at the last pass."""
        return float(self._ramp[0])

    def ramp_at(self, day: int) -> float:
        """Share of eventual users who have opted in by a pass on ``day``."""
        return _ramp_at(self.state, day)

    def recompute(self, day: int) -> None:
        """The periodic pass on ``day``: new users join, penalties are forgiven, users rescored."""
        _pass(self.state, day)

    def clean(self, pids: np.ndarray) -> np.ndarray:
        """Whether each of ``pids`` has no bad record: their credit-history penalty is forgiven.

        An approximation of perks that ask for "no bad record" (Suzhou asked for five years): a
        record counts as bad until its penalty units have recovered (``recovery_days`` each).
        The record's ``clean`` kernel decides.
        """
        return clean_of(self, pids)

    def opted_in(self, pids: np.ndarray) -> np.ndarray:
        """The opt-in rule evaluated afresh for ``pids`` as of the last pass.

        Recomputed from the hashes, not read from the stored scores: for checks and tests.
        """
        pop = self.pop
        pids = np.asarray(pids, np.int64)
        return _opted_in(self.opt, pop.keys, pop.households, pop.geography.bounds, pids, self.ramp)

    @property
    def users(self) -> int:
        """People who use the score now."""
        return int(_users_and_mean(self.state)[0])

    @property
    def mean(self) -> float | None:
        """Mean score of the users (None, a missing value in the metrics, without users)."""
        users, mean = _users_and_mean(self.state)
        return float(mean) if users else None

    def at_least(self, threshold: int) -> int:
        """Users whose score is at least ``threshold``."""
        return int(_at_least(self.state, threshold))

    def summary(self) -> list[str]:
        users, mean = self.users, self.mean
        if mean is None:
            return [f"{self.name}: no users", *self._licence_lines()]
        shares = ", ".join(f">= {t}: {self.at_least(t) / users:.1%}" for t in self.thresholds)
        return [
            f"{self.name}: {users:,} users ({users / self.pop.n:.1%} of people), "
            f"mean score {mean:.0f}; {shares}",
            *self._licence_lines(),
        ]

    def _licence_lines(self) -> list[str]:
        """The licence refusal's line of the summary (none without one)."""
        day = self.licence_refused_day
        if day is None:
            return []
        return [
            f"{self.name}: licence refused on {self.params.licence_refused_on} (day {day:,}): "
            "from then on the state reads no score; commercial perks continue"
        ]


class SesameParams(CommercialScoreParams):
    """Sesame Credit (defaults from calibration/sesame_credit.csv, or assumptions as labelled)."""

    score_min: int = Field(
        default=350,
        ge=1,
        le=30_000,
        description="Lowest score: 350 (calibration/sesame_credit.csv score_min, official).",
    )
    score_max: int = Field(
        default=950,
        ge=2,
        le=30_000,
        description="Highest score: 950 (calibration/sesame_credit.csv score_max, official).",
    )


class SesameCredit(CommercialScore):
    """Ant Financial's Sesame Credit: opt-in, 350-950, five dimensions, perks at thresholds."""

    name = "sesame_credit"
    Params = SesameParams
    description = "Sesame Credit: opt-in 350-950 score of five dimensions incl. relationships"
    params: SesameParams


class TencentParams(CommercialScoreParams):
    """Tencent Credit: its own range, data and opt-in (press-reported or assumptions)."""

    score_min: int = Field(
        default=300,
        ge=1,
        le=30_000,
        description="Lowest score: 300 (press-reported range of Tencent Credit; assumption).",
    )
    score_max: int = Field(
        default=850,
        ge=2,
        le=30_000,
        description="Highest score: 850 (press-reported range of Tencent Credit; assumption).",
    )
    # Tencent Credit was reported (press, 2017-2018) to weigh five dimensions (fulfilment,
    # security/identity, wealth, consumption, social); no weights were published: equal here.
    credit_history_weight: float = Field(
        default=20, ge=0.0, le=100.0, description="Credit history (assumption: equal weights)."
    )
    fulfilment_weight: float = Field(
        default=20, ge=0.0, le=100.0, description="Wealth (assumption: equal weights)."
    )
    identity_weight: float = Field(
        default=20, ge=0.0, le=100.0, description="Security/identity (assumption: equal weights)."
    )
    behaviour_weight: float = Field(
        default=20, ge=0.0, le=100.0, description="Consumption (assumption: equal weights)."
    )
    relationships_weight: float = Field(
        default=20,
        ge=0.0,
        le=100.0,
        description="Social ties' scores (assumption: equal weights). 0 switches it off.",
    )
    opt_in_share: float = Field(
        default=260e6 / 1.41e9,
        ge=0.0,
        le=1.0,
        description="Share of all people who opt in once adoption is complete (assumption: no "
        "user count was published; set to Sesame's 2017 share, seed article).",
    )
    credit_sources: list[SourceName] = Field(
        default=["bank", "court", "social_platform"],
        description="Data sources whose records feed the credit history (WeChat Pay credit "
        "products report through the social platform; assumption).",
    )
    activity_sources: list[SourceName] = Field(
        default=["social_platform"],
        description="Sources whose activity records count as behaviour: WeChat and QQ (seed "
        "design: Tencent's own data).",
    )
    report_thresholds: list[Annotated[int, Field(ge=1, le=30_000)]] = Field(
        default=[550, 600, 650],
        max_length=8,
        description="Scores whose numbers of users at or above are reported daily (assumption: "
        "no perk thresholds were published).",
    )


class TencentCredit(CommercialScore):
    """Tencent Credit: opt-in, 300-850, scored from social-platform data."""

    name = "tencent_credit"
    Params = TencentParams
    description = "Tencent Credit: opt-in 300-850 score from social-platform activity"
    params: TencentParams


class NetworkParams(CommercialScoreParams):
    """A relationship-based credit score: own credit file and the network's scores."""

    score_min: int = Field(
        default=300, ge=1, le=30_000, description="Lowest score (assumption: a US-style range)."
    )
    score_max: int = Field(
        default=850, ge=2, le=30_000, description="Highest score (assumption: US-style range)."
    )
    # Assumption: the person's own file (credit history and income) and the network's average in
    # equal parts, after the rule in Facebook's patent US 9,100,400 (a loan proceeds if the
    # average credit rating of the applicant's social network reaches a minimum); no weights
    # were published.
    credit_history_weight: float = Field(
        default=30, ge=0.0, le=100.0, description="Credit history (assumption)."
    )
    fulfilment_weight: float = Field(
        default=20, ge=0.0, le=100.0, description="Income, fulfilment capacity (assumption)."
    )
    identity_weight: float = Field(
        default=0, ge=0.0, le=100.0, description="Not scored (assumption)."
    )
    behaviour_weight: float = Field(
        default=0, ge=0.0, le=100.0, description="Not scored (assumption)."
    )
    relationships_weight: float = Field(
        default=50,
        ge=0.0,
        le=100.0,
        description="The network's scores: half the score (assumption, after the patent's rule).",
    )
    clean_history: float = Field(
        default=0.8,
        ge=0.0,
        le=1.0,
        description="Credit-history value of a clean record (assumption).",
    )
    opt_in_share: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Share of all people in the network who opt in (assumption: Pew 2016 found "
        "68% of US adults used Facebook; about half of all people, an upper bound for a pilot).",
    )
    opt_in_age_factors: list[Annotated[float, Field(ge=0.0, le=100.0)]] = Field(
        default=[0.0, 1.0, 1.0, 0.9, 0.6],
        min_length=5,
        max_length=5,
        description="Relative opt-in propensity by age band 0-17, 18-29, 30-44, 45-59, 60+ "
        "(assumption: adults, older ones somewhat less).",
    )
    opt_in_urban_factor: float = Field(
        default=1.2,
        ge=0.0,
        le=100.0,
        description="Opt-in propensity of urban residents relative to rural ones (assumption).",
    )
    opt_in_online_weight: float = Field(
        default=0.5,
        ge=-1.0,
        le=1.0,
        description="Effect of the online-activity trait on opt-in (assumption).",
    )
    credit_sources: list[SourceName] = Field(
        default=["bank", "court"], description="Data sources whose records feed the history."
    )
    activity_sources: list[SourceName] = Field(
        default=[], description="Sources whose activity records count as behaviour (none)."
    )
    report_thresholds: list[Annotated[int, Field(ge=1, le=30_000)]] = Field(
        default=[580, 620, 670],
        max_length=8,
        description="Scores whose numbers of users at or above are reported daily (assumption: "
        "common US lending cut-offs).",
    )


class NetworkCredit(CommercialScore):
    """A relationship-based score like Facebook's pilot: your credit and your friends' scores."""

    name = "network_credit"
    Params = NetworkParams
    description = "relationship-based credit score (like Facebook's 2015-2016 pilot)"
    params: NetworkParams
