"""Rewarded reporting by "the masses": true reports of acts no source recorded, and false ones.

True reports. For each act of a reportable kind that no source recorded today, each of the
offender's community ties (generated, never stored), and optionally members of the offender's
neighbourhood group (the residents' committee), reports it independently with a probability
scaled by the reporter's opportunism and by the reward on offer; the first report is the one
filed. Malicious reports. Anyone files, at a daily rate scaled the same way, a report of an act
that never happened (``false_act``) against one of their community ties (a rival) or a member of
their neighbourhood group (someone too young for the act is passed over for another,
``mechanisms/ages.py``); a few professional claimants file many, for the reward. Verification
errs both ways: it rejects a true report with one chance and accepts a malicious one with another.
An accepted report is a record (source ``informant``, true or false); a rejected one records
nothing. Rewards are paid per accepted report; each reporter's ``{name}_informed`` bit says who
ever informed. Listings and sanctions that accepted malicious reports caused are counted by the
lists and sanctions (``mechanisms/provenance.py``) and reported here. Model, parameters and
sources: ``docs/reporting.md``. The 2014 planning outline calls for "rewarded reporting systems
for acts of breach of trust" (seed article).

Defaults (no reward, no malicious report, no true report rejected) draw nothing new: results are
those of the true reports alone, bit for bit.

Owns the ``informants`` mechanism, its parameters, its record (counts, rewards, the professional
claimants) and its ``{name}_informed`` bit; it posts records and marks acts recorded. It reads,
and never writes, the tie network's stored cuts (``mechanisms/ties.py``) and the provenance
counts; it touches no list, score or sanction.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from numba import prange
from pydantic import Field

from scslab.catalogue import SOURCE_NAMES, Act, ActName, Source, act_by_name
from scslab.engine.board import acts_of, record_room, records_written, written_in_order
from scslab.engine.mechanism import MechanismParams, RecordKind, Reporting
from scslab.engine.steps import CompiledSteps, compiled_mechanism, today_of
from scslab.kernels.compiled_once import compiled_once
from scslab.kernels.jit import kernel, step_kernel
from scslab.kernels.memory import prefetch_ahead
from scslab.kernels.parallel import both_builds, run_threads
from scslab.kernels.rng import below, uniform
from scslab.kernels.sampling import DAY_ZERO, compiled_bernoulli_ids, compiled_labelled_ids
from scslab.kernels.sorting import stable_order
from scslab.kernels.structs import compiled_struct
from scslab.mechanisms.ages import (
    ActorAges,
    actor_ages,
    is_of_age,
    min_age_by_act,
    of_age,
    old_enough,
)
from scslab.mechanisms.provenance import counts as provenance_counts
from scslab.mechanisms.provenance import provenance
from scslab.mechanisms.ties import cut_bits, tie_cuts, tie_kept
from scslab.population.attributes import (
    GROUP_SIZES,
    NEIGHBOURHOOD,
    community_tie,
    local_group,
    local_group_member,
    trait_factor,
)
from scslab.population.geography import region_of

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation
    from scslab.population import Population


_INFORMANT = np.int16(Source.INFORMANT)
"""The source code of every record an informant makes."""

WATCH = 1 << 20
"""Draw indices of neighbourhood watchers start here, apart from the ties' indices."""


class InformantsParams(MechanismParams):
    """Who reports what, for which reward, how often falsely, and how reports are checked."""

    acts: list[ActName] = Field(
        default=["traffic_offence", "petitioning", "online_criticism"],
        description="Acts that citizens report (assumption).",
    )
    ties: int = Field(
        default=8,
        ge=0,
        le=64,
        description="Community ties that may report (assumption: 8 close contacts; no source "
        "gives the number).",
    )
    report_prob: float = Field(
        default=0.005,
        ge=0.0,
        le=1.0,
        description="Chance that one tie reports one unrecorded act, without a reward "
        "(assumption).",
    )
    opportunism_weight: float = Field(
        default=1.0,
        ge=-1.0,
        le=1.0,
        description="Effect of the reporter's opportunism on reporting, true and malicious "
        "(assumption).",
    )
    reporter_min_age: int = Field(
        default=14,
        ge=0,
        le=90,
        description="The youngest who reports, truly or maliciously, and the youngest "
        "professional claimant; a younger tie or watcher does not report (assumption: a report "
        "is filed by phone or online in one's own name, and below 14 a child's personal "
        "information online needs a guardian's consent, Cyberspace Administration, Provisions on "
        "the Cyber Protection of Children's Personal Information, 2019, art. 2 and 9). 0: anyone.",
    )
    neighbourhood_watchers: int = Field(
        default=0,
        ge=0,
        le=64,
        description="Members of the offender's neighbourhood group (residents' committee block) "
        "who may also report, each with the same chance as a tie (default 0: none, an assumption).",
    )
    reward_yuan: float = Field(
        default=0.0,
        ge=0.0,
        le=500_000.0,
        description="Reward paid per accepted report, in yuan (default 0: none). Beijing's "
        "state-security tip line pays 10,000 to 500,000 yuan per tip (calibration/"
        "reporting_and_manipulation.csv, beijing_state_security_tip_rewards).",
    )
    reward_reference_yuan: float = Field(
        default=1_000.0,
        ge=1.0,
        le=500_000.0,
        description="The reward that multiplies the chance of reporting by 2 ** reward_elasticity "
        "(assumption: of the order of a week's urban income).",
    )
    reward_elasticity: float = Field(
        default=0.5,
        ge=0.0,
        le=2.0,
        description="Elasticity of reporting in the reward: every chance of reporting (true or "
        "malicious) is multiplied by (1 + reward_yuan / reward_reference_yuan) ** elasticity "
        "(assumption; no source measures it).",
    )
    reject_true: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Chance that verification rejects a true report, which then records nothing "
        "(default 0, an assumption that keeps every true report; the IRS whistleblower office "
        "rejected 83-85% of all claims before examination, calibration/"
        "reporting_and_manipulation.csv, irs_whistleblower_fy2015_closed).",
    )
    malicious_rate: float = Field(
        default=0.0,
        ge=0.0,
        le=0.01,
        description="Malicious reports per person old enough to report (reporter_min_age) per "
        "day, at mean opportunism and no reward: a report of an act that never happened "
        "(default 0: none, an assumption). For scale: "
        "220,000 malicious food complaints in China in 2023 (calibration/"
        "reporting_and_manipulation.csv, china_professional_claimants_2023). A person files at "
        "most one a day: once this times the reward's factor times (1 + |opportunism_weight|) "
        "passes 1, the chance saturates and the mean falls short of this times the factor.",
    )
    rival_share: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Share of malicious reports aimed at one of the reporter's community ties (a "
        "rival); the others name another member of the reporter's neighbourhood group "
        "(assumption).",
    )
    false_act: ActName = Field(
        default="petitioning",
        description="The act a malicious report claims (assumption: petitioning, which Suining's "
        "2010 catalogue punished; tax_evasion for a tax blacklist).",
    )
    claimant_share: float = Field(
        default=0.0,
        ge=0.0,
        le=0.001,
        description="Share of people old enough to report who are professional claimants, filing "
        "malicious reports "
        "for the reward (default 0: none, an assumption). China counted 24,000 profit-seeking "
        "claimants in 2023, about 1.7e-5 of the population and 2.0e-5 of those old enough to "
        "report (reporter_min_age 14), the share of people drawn from (calibration/"
        "reporting_and_manipulation.csv, china_professional_claimants_2023); two individuals "
        "filed 7,000 of the SEC's 18,354 tips in 2023 (sec_tips_fy2023).",
    )
    claimant_reports_per_day: float = Field(
        default=0.0082,
        ge=0.0,
        le=100.0,
        description="Malicious reports a professional claimant files per day, on average, with "
        "no reward: 73,000 claims by 24,000 claimants in 2023 is 3.04 a year (calibration/"
        "reporting_and_manipulation.csv, china_professional_claimants_2023), taken as 3: "
        "3 / 365 = 0.0082.",
    )
    accept_false: float = Field(
        default=0.15,
        ge=0.0,
        le=1.0,
        description="Chance that verification accepts a malicious report, which then records "
        "the claimed act (assumption: as often as any claim passes the IRS whistleblower "
        "office's first screen, 15-17%; calibration/reporting_and_manipulation.csv, "
        "irs_whistleblower_fy2015_closed and fy2016).",
    )

    def settings_unused(self) -> dict[str, str]:
        no_malice = self.malicious_rate == 0 and self.claimant_share == 0
        return (
            self.given_but_unused(
                self.reward_yuan == 0,
                ("reward_reference_yuan", "reward_elasticity"),
                "reward_yuan is 0, so no reward is on offer",
            )
            | self.given_but_unused(
                self.claimant_share == 0, ("claimant_reports_per_day",), "claimant_share is 0"
            )
            | self.given_but_unused(  # a claimant's report picks its target as a malicious one
                no_malice,
                ("rival_share", "false_act", "accept_false"),
                "malicious_rate and claimant_share are 0, so no report is malicious",
            )
        )


def _reports(
    keys,
    rule,
    p,
    day,
    all_pids,
    all_acts,
    recorded,
    reportable,
    bounds,
    n,
    informed,
    cuts,
    rec_pid,
    rec_act,
    rec_source,
    rec_true,
    first_row,
):
    """Report today's unrecorded acts of reportable kinds; record the accepted reports.

    ``keys`` is an ``InformantKeys``, ``rule`` an ``InformantRule``, ``p`` a tie's chance of
    reporting at the reward on offer (``rule.report_prob`` times ``reward_factor``). Each tie
    reports with probability ``p`` (scaled by the tie's opportunism with ``weight``). Where ties
    are alike (``weight == 0``) "one of the ties reports" is a single draw at
    ``1 - (1 - p) ** ties``: the same chance, and with one tie the same draw as the tie's; which
    tie reported first is then one more draw, from a stream of its own. A cut tie
    (``mechanisms/ties.py``, ``cuts``) does not see the act and does not report it: an offender
    with a cut tie has each kept tie draw on its own (the chance of the ties alike, without the
    cut ones; offenders without cuts draw as above). Verification rejects a
    report with ``rule.reject_true`` (a draw of its own stream; none when 0). Sets the reporter's
    ``informed`` bit (a ``FlagBits``); writes a record (person, act, ``INFORMANT``, true) of
    each accepted report, in order, from row ``first_row`` of the board's record buffers
    ``rec_*``, and marks its act recorded. Returns the reports filed, the records written, the
    people who informed for the first time, and whether the records stay ordered by person.
    """
    key, tie_key, opp_key, group_key = keys.report, keys.ties, keys.opportunism, keys.groups
    ties, locality, watchers = rule.ties, rule.locality, rule.watchers
    weight = rule.opportunism_weight
    youngest = rule.reporter_min_age  # a threaded loop takes the ages' arrays, not the record
    age_key, households, age_table = rule.ages.age_key, rule.ages.households, rule.ages.age_table
    any_tie = -math.expm1(ties * math.log1p(-p)) if p < 1.0 else 1.0
    highest = p * (1.0 + abs(weight))  # a report's chance at the top of the opportunism trait
    reporter = np.full(all_pids.size, -1, np.int64)  # who reported each act (-1: nobody)
    for i in prange(all_pids.size):
        prefetch_ahead(cuts.flags, all_pids, i)  # read below: a miss per act, waited on alone
        if recorded[i] or not reportable[all_acts[i]]:
            continue  # recorded by a source, or not an act citizens report
        pid = all_pids[i]
        act = np.int64(all_acts[i])
        r = region_of(bounds, pid)
        lo, hi = bounds[r], bounds[r + 1]
        if hi - lo <= 1:
            continue  # nobody else in the region to report
        if weight == 0.0 and cut_bits(cuts, pid) == 0:  # ties alike: any reports is one draw
            if ties > 0 and uniform(key, day, pid, act * 64) < any_tie:
                first = _first_reporter(keys.reporter, day, pid, act, p, ties, any_tie)
                tie = community_tie(tie_key, pid, first, lo, hi, locality)
                if is_of_age(age_key, households, age_table, tie, youngest):  # not a child
                    reporter[i] = tie
        else:
            for k in range(ties):  # who the tie is matters through their opportunism
                if not tie_kept(cuts, pid, k):
                    continue  # a cut tie no longer sees the offender
                u = uniform(key, day, pid, act * 64 + k)
                if u >= highest:  # not even the most opportunistic tie would: skip finding it
                    continue
                tie = community_tie(tie_key, pid, k, lo, hi, locality)
                if not is_of_age(age_key, households, age_table, tie, youngest):
                    continue  # too young to report
                if u < p * trait_factor(opp_key, tie, weight):  # exactly p at weight 0
                    reporter[i] = tie
                    break
        if reporter[i] >= 0 or watchers == 0:
            continue
        group = local_group(group_key, pid, NEIGHBOURHOOD)
        size = GROUP_SIZES[NEIGHBOURHOOD]
        for k in range(watchers):
            u = uniform(key, day, pid, WATCH + 64 * (act + 1) + k)
            if u >= highest:  # no watcher would, whoever it is: skip finding them
                continue
            member = local_group_member(
                group_key, group, NEIGHBOURHOOD, below(key, day, pid, WATCH + k, size), n
            )
            if member < 0 or member == pid:
                continue
            if not is_of_age(age_key, households, age_table, member, youngest):
                continue
            q = p
            if weight != 0.0:
                q = p * trait_factor(opp_key, member, weight)
            if u < q:
                reporter[i] = member
                break
    k = first_row
    filed = newly_informed = 0
    reject = rule.reject_true
    for i in range(reporter.size):
        if reporter[i] < 0:
            continue
        filed += 1
        newly_informed += _mark_informed(informed, reporter[i])
        pid, act = all_pids[i], all_acts[i]
        if reject > 0.0 and uniform(keys.verify_true, day, pid, act) < reject:
            continue  # verification rejects a true report: nothing recorded
        recorded[i] = True
        rec_pid[k], rec_act[k] = pid, act
        rec_source[k], rec_true[k] = _INFORMANT, True
        k += 1
    return filed, k - first_row, newly_informed, written_in_order(rec_pid, first_row, k - first_row)


_reports = both_builds(_reports)


@kernel(inline="always")
def _first_reporter(key, day, pid, act, p, ties, any_tie):
    """Which of ``ties`` alike ties reported first, given that one did (each with chance ``p``).

    Tie ``k`` with chance ``p (1 - p) ** k / any_tie``, ``any_tie = 1 - (1 - p) ** ties``: the
    inverse of that truncated geometric law at one draw of ``key`` (a stream of its own, so that
    no draw of who reports changes).
    """
    if p >= 1.0:
        return 0
    v = uniform(key, day, pid, act)
    return min(ties - 1, int(math.log1p(-v * any_tie) / math.log1p(-p)))


@kernel(inline="always")
def _mark_informed(informed, pid):
    """Set ``pid``'s informed bit; 1 if it was not set yet, else 0."""
    if informed.flags[pid] & informed.mask:
        return 0
    informed.flags[pid] |= informed.mask
    return 1


@kernel
def reward_factor(reward):
    """How the reward on offer multiplies every chance of reporting (``reward``: a ``RewardRule``).

    ``(1 + yuan / reference_yuan) ** elasticity``; exactly 1 without a reward.
    """
    if reward.yuan == 0.0:
        return 1.0
    return (1.0 + reward.yuan / reward.reference_yuan) ** reward.elasticity


_FROM_ZERO_BELOW = 600.0
"""The largest mean whose Poisson draw sums the distribution from 0: ``exp(-mean)`` is a normal
float up to about 708, and below this the draw is the same as it always was. Above it the sum
starts at the mode (``_poisson``)."""


@kernel
def _poisson(u, mean):
    """The Poisson(``mean``) count at the uniform draw ``u`` (inverse of its distribution).

    For a mean up to ``_FROM_ZERO_BELOW``, the terms summed from 0 up; above it, from the
    mode, whose probability is computed in logs, down over 12 standard deviations for the
    distribution up to the mode, then down or up from it: ``exp(-mean)`` is 0 above a mean of
    about 745, which left the sum at 0 and every draw at the loop's guard.
    """
    if mean <= _FROM_ZERO_BELOW:
        k = 0
        term = math.exp(-mean)
        total = term
        while u >= total and k < 50.0 * (mean + 1.0):
            k += 1
            term *= mean / k
            total += term
        return k
    mode = float(math.floor(mean))  # a float: mode**3 of an int64 wraps above 2**21
    # log P(X = mode) = mode log(mean) - mean - log(mode!), with Stirling's series for log(mode!)
    # (exact to double precision from a mode of 600), so that no two large logs cancel
    frac = mean - mode
    at_mode = math.exp(
        mode * math.log1p(frac / mode)
        - frac
        - 0.5 * math.log(2.0 * math.pi * mode)
        - 1.0 / (12.0 * mode)
        + 1.0 / (360.0 * mode**3)
    )
    lowest = max(0.0, mode - 12.0 * math.sqrt(mean))
    below_mode = 0.0  # P(X < mode), from the terms below the mode, largest first
    term, j = at_mode, mode
    while j > lowest:
        term *= j / mean
        j -= 1.0
        below_mode += term
    k, term = mode, at_mode
    if u < below_mode:  # down: the largest k with P(X <= k - 1) <= u
        total = below_mode  # P(X <= k - 1)
        while k > lowest and u < total:
            term *= k / mean
            k -= 1.0
            total -= term
        return int(k)
    total = below_mode + at_mode  # up: P(X <= k)
    while u >= total and k < mean + 12.0 * math.sqrt(mean):
        k += 1.0
        term *= mean / k
        total += term
    return int(k)


@kernel(inline="always")
def _target(keys, rule, rival_share, day, reporter, j, bounds, n):
    """Whom the ``j``-th malicious report of ``reporter`` today names; -1: nobody.

    With ``rival_share`` one of the reporter's community ties (a rival), else (and where there
    are no ties) another member of the reporter's neighbourhood group, each uniformly.
    """
    if rule.ties > 0 and uniform(keys.target, day, reporter, 3 * j) < rival_share:
        r = region_of(bounds, reporter)
        lo, hi = bounds[r], bounds[r + 1]
        if hi - lo <= 1:
            return -1
        k = below(keys.target, day, reporter, 3 * j + 1, rule.ties)
        return community_tie(keys.ties, reporter, k, lo, hi, rule.locality)
    group = local_group(keys.groups, reporter, NEIGHBOURHOOD)
    k = below(keys.target, day, reporter, 3 * j + 2, GROUP_SIZES[NEIGHBOURHOOD] - 1)
    member = local_group_member(keys.groups, group, NEIGHBOURHOOD, k, n)
    if member >= reporter:  # the members after the reporter: skip the reporter
        member = local_group_member(keys.groups, group, NEIGHBOURHOOD, k + 1, n)
    return member


@kernel
def _malicious_reporters(s, m, day, factor):
    """Today's malicious reports: (reporter, report index) pairs, by reporter.

    Anyone files one at ``m.rate`` (``MaliciousRule``) times ``factor`` (the reward's), scaled
    by their opportunism (a thinned draw: the cost grows with reports, not people); each
    professional claimant files a Poisson number at ``m.claimant_reports`` times ``factor``,
    with report indices from 1.
    """
    keys, weight = s.keys, s.rule.opportunism_weight
    rate = min(1.0, m.rate * factor * (1.0 + abs(weight)))
    anyone, _, _ = compiled_labelled_ids(
        np.array([keys.malicious], np.uint64),
        day,
        s.n,
        np.array([rate]),
        np.array([keys.malicious_thin], np.uint64),
        np.array([keys.opportunism], np.uint64),
        np.array([weight]),
        np.zeros(1, np.int16),
        s.threads,
    )
    anyone = old_enough(anyone, s.rule.ages, s.rule.reporter_min_age, s.threads)
    mean = m.claimant_reports * factor
    claims = np.zeros(s.claimants.size, np.int64)
    for c in range(s.claimants.size):
        claims[c] = _poisson(uniform(keys.claimant_days, day, s.claimants[c], 0), mean)
    total = anyone.size + claims.sum()
    reporters = np.empty(total, np.int64)
    index = np.empty(total, np.int64)
    for i in range(anyone.size):  # a loop: see kernels/jit.py on slice assignment
        reporters[i] = anyone[i]
    index[: anyone.size] = 0
    k = anyone.size
    for c in range(s.claimants.size):
        for j in range(claims[c]):
            reporters[k], index[k] = s.claimants[c], 1 + j
            k += 1
    order = stable_order(reporters)
    return reporters[order], index[order]


RETARGETS = 16
"""Targets drawn again, at most, when one is too young for the act a report claims (a child
named for tax evasion): a report then names someone else, so that a claimant files its number
of reports a day; after that many (a chance of about 0.18 ** 17) it is not filed."""

RETARGET_STRIDE = 1 << 40
"""Report index offset of the draws of a target drawn again (report indices stay far below)."""


@compiled_once
@kernel
def _false_reports(s, m, day, factor, board):
    """File today's malicious reports (rule ``m``, the record's ``malicious``); post the accepted.

    Each names a target (``_target``) and claims ``m.false_act``; verification accepts it with
    ``m.accept`` (a draw of its own stream). Returns the reports filed, the records posted and
    the people who informed for the first time. ``m`` is None in a scenario where nobody may
    report maliciously: numba then drops the rest of this kernel before typing it, so none of
    the kernels below it is compiled.
    """
    if m is None:
        return 0, 0, 0
    if m.rate == 0.0 and s.claimants.size == 0:
        return 0, 0, 0
    reporters, index = _malicious_reporters(s, m, day, factor)
    row = record_room(board, reporters.size)
    k = row
    filed = newly_informed = 0
    for i in range(reporters.size):
        reporter, j = reporters[i], index[i]
        target = _target(s.keys, s.rule, m.rival_share, day, reporter, j, s.bounds, s.n)
        for attempt in range(1, RETARGETS + 1):  # too young for the act: someone else
            if target < 0 or of_age(s.rule.ages, target, m.min_age):
                break
            again = j + attempt * RETARGET_STRIDE  # draws of their own, never a report's
            target = _target(s.keys, s.rule, m.rival_share, day, reporter, again, s.bounds, s.n)
        if target < 0 or target == reporter or not of_age(s.rule.ages, target, m.min_age):
            continue  # nobody to name
        filed += 1
        newly_informed += _mark_informed(s.informed, reporter)
        if not uniform(s.keys.verify_false, day, reporter, j) < m.accept:
            continue  # verification sees through it
        board.rec_pid[k], board.rec_act[k] = target, m.false_act
        board.rec_source[k], board.rec_true[k] = _INFORMANT, False
        k += 1
    records_written(board, k - row, written_in_order(board.rec_pid, row, k - row))
    return filed, k - row, newly_informed


class InformantKeys(NamedTuple):
    """The stream keys the report kernels read, by name at both ends."""

    report: np.uint64
    """This mechanism's report draws."""
    ties: np.uint64
    """The population's community ties."""
    opportunism: np.uint64
    """The population's opportunism trait."""
    groups: np.uint64
    """The population's local groups (neighbourhood watchers, targets)."""
    reporter: np.uint64
    """Which of alike ties reported an act."""
    verify_true: np.uint64
    """Verification of true reports."""
    verify_false: np.uint64
    """Verification of malicious reports."""
    malicious: np.uint64
    """Who files a malicious report today."""
    malicious_thin: np.uint64
    """The opportunism thinning of that draw."""
    claimants: np.uint64
    """Who is a professional claimant (drawn once)."""
    claimant_days: np.uint64
    """How many reports a claimant files today."""
    target: np.uint64
    """Whom a malicious report names."""


class InformantRule(NamedTuple):
    """Who may report true acts and how likely, by name at both ends."""

    ties: int
    """Community ties that may report."""
    locality: int
    """Mean id distance of a community tie (the population's ``tie_locality``)."""
    report_prob: float
    """A tie's chance of reporting an unrecorded act, without a reward."""
    opportunism_weight: float
    """How a reporter's opportunism trait scales their chance of reporting."""
    watchers: int
    """Neighbourhood members who may report too."""
    reject_true: float
    """Chance that verification rejects a true report."""
    reporter_min_age: int
    """The youngest who reports (0: anyone)."""
    ages: ActorAges
    """What is read of a reporter's age (``mechanisms/ages.py``)."""


class RewardRule(NamedTuple):
    """The reward on offer and how it moves reporting, by name at both ends."""

    yuan: float
    """Paid per accepted report."""
    reference_yuan: float
    """The reward that multiplies reporting by ``2 ** elasticity``."""
    elasticity: float
    """Elasticity of reporting in the reward."""


class MaliciousRule(NamedTuple):
    """Malicious reports and their verification, by name at both ends."""

    rate: float
    """Malicious reports per person per day at mean opportunism, without a reward."""
    claimant_reports: float
    """Malicious reports per professional claimant per day, without a reward."""
    rival_share: float
    """Share aimed at a community tie (else a neighbourhood group member)."""
    false_act: np.int16
    """The act a malicious report claims."""
    accept: float
    """Chance that verification accepts one."""
    min_age: int
    """The youngest a target may be: the act's ``catalogue.MIN_AGE`` (0: any age; the ages are
    ``InformantRule.ages``)."""


FILED, ACCEPTED, FALSE_FILED, FALSE_ACCEPTED, INFORMED = range(5)
"""Indices of ``InformantsState.counts`` (so far) and ``.daily`` (today; not ``INFORMED``):
reports filed, reports accepted, malicious reports filed and accepted, people who ever informed."""

METRIC_COLUMNS = (
    "informant_reports",
    "informant_reports_accepted",
    "informant_false_reports",
    "informant_false_reports_accepted",
    "informant_false_share",
    "informant_rewards_paid_yuan",
    "informant_ever_informed_share",
    "informant_caused_listings",
    "informant_caused_sanctions",
)
"""The metric columns (see ``docs/reporting.md``): today's reports filed, accepted, malicious
filed and accepted; the share of reports filed so far that were malicious (NaN before the first);
yuan paid so far; the share of people who ever filed a report; list entries on an accepted
malicious report so far, and blocked attempts of people so listed so far
(``mechanisms/provenance.py``)."""

FLOAT_METRICS = frozenset(METRIC_COLUMNS[4:7])
"""The columns that are not counts."""

InformantsState = compiled_struct(
    "InformantsState",
    (
        "keys",
        "reportable",
        "bounds",
        "rule",
        "reward",
        "malicious",
        "claimants",
        "informed",
        "provenance",
        "cuts",
        "n",
        "threads",
        "counts",
        "daily",
        "today",
    ),
    __name__,
)
"""The keys (``InformantKeys``); the reportable acts; the regions; the rules (``InformantRule``,
``RewardRule``, and ``MaliciousRule`` or None where nobody may report maliciously); the
professional claimants' ids; the informed bit (``FlagBits``); the population's provenance record
(``mechanisms/provenance.py``); the cut ties (``mechanisms/ties.py``); the population and its
``run_threads``; the counters so far and today (``FILED`` ...); today's metrics."""


@kernel
def _new_state(
    keys, reportable, bounds, rule, reward, malicious, claimant_share, flag, prov, cuts, n, threads
):
    claimants = compiled_bernoulli_ids(keys.claimants, DAY_ZERO, n, claimant_share, threads)
    claimants = old_enough(claimants, rule.ages, rule.reporter_min_age, threads)
    return InformantsState(
        keys,
        reportable,
        bounds,
        rule,
        reward,
        malicious,
        claimants,
        flag,
        prov,
        cuts,
        n,
        threads,
        np.zeros(5, np.int64),
        np.zeros(4, np.int64),
        np.zeros(len(METRIC_COLUMNS), np.float64),
    )


@step_kernel
def _step(day, board, s):
    pid, act, recorded = acts_of(board)
    factor = reward_factor(s.reward)
    p = min(1.0, s.rule.report_prob * factor)
    row = record_room(board, pid.size)
    out = (board.rec_pid, board.rec_act, board.rec_source, board.rec_true, row)
    args = (
        s.keys,
        s.rule,
        p,
        day,
        pid,
        act,
        recorded,
        s.reportable,
        s.bounds,
        s.n,
        s.informed,
        s.cuts,
    )
    filed, accepted, informed, ordered = _reports(s.threads, pid.size, *args, *out)
    records_written(board, accepted, ordered)
    false_filed, false_accepted, false_informed = _false_reports(s, s.malicious, day, factor, board)
    s.daily[FILED] = filed + false_filed
    s.daily[ACCEPTED] = accepted + false_accepted
    s.daily[FALSE_FILED] = false_filed
    s.daily[FALSE_ACCEPTED] = false_accepted
    for j in range(s.daily.size):
        s.counts[j] += s.daily[j]
    s.counts[INFORMED] += informed + false_informed


@step_kernel
def _metrics(day, s):
    t, c = s.today, s.counts
    for j in range(s.daily.size):
        t[j] = s.daily[j]
    t[4] = c[FALSE_FILED] / c[FILED] if c[FILED] else np.nan
    t[5] = c[ACCEPTED] * s.reward.yuan
    t[6] = c[INFORMED] / s.n
    t[7] = s.provenance.listings[_INFORMANT]
    t[8] = s.provenance.sanctions[_INFORMANT]


@kernel
def _shared(s):
    return s.counts, s.claimants


compiled_mechanism(InformantsState, _step, _metrics)


class Informants(CompiledSteps, Reporting):
    """Ties and neighbours report acts that data sources missed; some report acts never done."""

    name = "informants"
    Params = InformantsParams
    description = "rewarded reporting: true reports of unrecorded acts, malicious ones, rewards"
    params: InformantsParams

    def records_posted(self, acts_drawn: set[str] | None = None) -> list[RecordKind]:
        """Reports of the watched acts that are drawn, and the act malicious reports claim."""
        p, source = self.params, SOURCE_NAMES[Source.INFORMANT]
        seen = [a for a in p.acts if acts_drawn is None or a in acts_drawn]
        malice = [p.false_act] if p.malicious_rate > 0 or p.claimant_share > 0 else []
        return [RecordKind(source=source, act=a) for a in dict.fromkeys([*seen, *malice])]

    def declare(self, pop: Population) -> None:
        self.informed = pop.state.add_flag(f"{self.name}_informed")
        self.provenance = provenance(pop)

    def init(self, sim: Simulation) -> None:
        p, pop = self.params, sim.pop
        self.reportable = np.zeros(len(Act), np.bool_)
        self.reportable[[act_by_name(a) for a in p.acts]] = True
        keys = InformantKeys(
            report=self.key("report"),
            ties=pop.keys.ties,
            opportunism=pop.keys.opportunism,
            groups=pop.keys.groups,
            reporter=self.key("reporter"),
            verify_true=self.key("verify_true"),
            verify_false=self.key("verify_false"),
            malicious=self.key("malicious"),
            malicious_thin=self.key("malicious_thin"),
            claimants=self.key("claimants"),
            claimant_days=self.key("claimant_days"),
            target=self.key("target"),
        )
        rule = InformantRule(
            ties=p.ties,
            locality=pop.params.tie_locality,
            report_prob=p.report_prob,
            opportunism_weight=p.opportunism_weight,
            watchers=p.neighbourhood_watchers,
            reject_true=p.reject_true,
            reporter_min_age=p.reporter_min_age,
            ages=actor_ages(pop),
        )
        reward = RewardRule(
            yuan=p.reward_yuan,
            reference_yuan=p.reward_reference_yuan,
            elasticity=p.reward_elasticity,
        )
        malicious = (
            MaliciousRule(
                rate=p.malicious_rate,
                claimant_reports=p.claimant_reports_per_day,
                rival_share=p.rival_share,
                false_act=np.int16(act_by_name(p.false_act)),
                accept=p.accept_false,
                min_age=int(min_age_by_act()[act_by_name(p.false_act)]),
            )
            if self.reports_maliciously()
            else None  # no malicious report can be filed: its kernels are not compiled
        )
        self.state = _new_state(
            keys,
            self.reportable,
            pop.geography.bounds,
            rule,
            reward,
            malicious,
            p.claimant_share,
            self.informed.bits(),
            self.provenance,
            tie_cuts(pop),
            pop.n,
            run_threads(pop.n),
        )
        self.today = today_of(self.state)
        self.counts, self.claimants = _shared(self.state)
        """Reports so far (``FILED`` ...), shared with the record; the professional claimants."""
        self.metric_columns = METRIC_COLUMNS
        self.float_metrics = FLOAT_METRICS

    def reports_maliciously(self) -> bool:
        """Whether anyone may file a malicious report (a rate, or professional claimants)."""
        return self.params.malicious_rate > 0.0 or self.params.claimant_share > 0.0

    def summary(self) -> list[str]:
        c = self.counts
        listings, sanctions = provenance_counts(self.provenance)
        filed, false = int(c[FILED]), int(c[FALSE_FILED])
        line = (
            f"{self.name}: {filed:,} reports filed ({false / max(filed, 1):.1%} malicious), "
            f"{int(c[ACCEPTED]):,} accepted ({int(c[FALSE_ACCEPTED]):,} malicious); "
            f"{int(c[INFORMED]):,} people informed"
        )
        if self.params.reward_yuan:
            line += f"; {int(c[ACCEPTED]) * self.params.reward_yuan:,.0f} yuan paid"
        if false:
            line += (
                f"; malicious reports listed people {int(listings[Source.INFORMANT]):,} times "
                f"and blocked {int(sanctions[Source.INFORMANT]):,} attempts"
            )
        return [line]
