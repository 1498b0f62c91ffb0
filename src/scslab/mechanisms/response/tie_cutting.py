"""Cutting ties: people drop contacts with low scores, and contacts drop people named in public.

Sesame Credit scores "interpersonal relationships (including choice of friends ...)" (seed
article; ``scoring/commercial.py``'s fifth dimension): a low-scoring friend lowers one's score.
This mechanism stores which community ties are cut (``mechanisms/ties.py``: a bit per tie for
each person's first ``ties`` ties, set by whoever's cut it is, never undone) and owns one rule
that cuts them, the **low-score rule**: each day, each stored tie of a user of the score
(``score``) to another user whose score is below ``low_score_below`` is cut with chance
``low_score_rate``. The pairs (person, tie) looked at are a Bernoulli draw over everyone's
stored ties (the work grows with the pairs drawn, not the population); a pair counts only when
both ends use the score (only users see scores, and only a user's score counts relationships:
an assumption).

The other writer is ``public_naming``: with ``from_naming`` the ties that cut contact with a
named person are stored too (``consequences/public_naming.py``). What a cut changes, through the
one rule ``tie_kept``: the tie no longer reports the person's acts (``reporting/informants.py``)
and its score no longer counts in the person's relationships dimension.

Metrics (prefixed by the mechanism's name): ties cut today (``_cut_today``, and by cause
``_cut_today_by_naming``, ``_cut_today_by_low_score``), so far (``_ties_cut``) and as a share
of the stored ties (``_cut_share``); and ``_largest_connected_share``: the largest weakly
connected component of the tie network (everyone's first 8 ties, ``ties.NETWORK_TIES``, less
the cut ones) as a share of
people, a union-find over the regions that could hold the largest component
(``ties.largest_component``) computed on day 0, every ``network_days`` days and on the last day
(missing on other days). Ties stay within a region, so the share is at most the largest
region's share of people.

Without this mechanism nothing is stored and every tie is kept: results are those of a run
without it, bit for bit. Per person it stores ``ties`` bits (one byte of flags at the default 8).

Owns: the low-score rule and the metrics. Must not touch: the scores it reads (through the
scorer's kernels, ``scoring/compiled.py``) and who is named.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numba
import numpy as np
from numba import prange
from pydantic import Field

from scslab.engine.mechanism import MechanismParams, Response
from scslab.engine.steps import CompiledSteps, compiled_mechanism, today_of
from scslab.errors import ScenarioError
from scslab.kernels.jit import kernel, kernel_overload, step_kernel
from scslab.kernels.parallel import both_builds, run_threads
from scslab.kernels.sampling import compiled_bernoulli_ids
from scslab.kernels.structs import compiled_struct
from scslab.mechanisms.scoring.compiled import compiled_scorer, has_score
from scslab.mechanisms.scoring.compiled import scores as scores_of
from scslab.mechanisms.ties import (
    CAUSES,
    LOW_SCORE,
    MAX_STORED,
    NAMING,
    cut_tie,
    declare_tie_cuts,
    largest_component,
    tie_kept,
)
from scslab.population.attributes import community_tie
from scslab.population.geography import region_of

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation
    from scslab.population import Population


class TieCuttingParams(MechanismParams):
    """Which ties can be cut, the low-score rule, and how often the network is measured."""

    ties: int = Field(
        default=8,
        ge=1,
        le=MAX_STORED,
        description="Community ties per person whose cut is stored, one bit each (at most 8: "
        "one byte a person). The default 8 is the number of ties that informants, commercial "
        "scores and public naming read (their own defaults, assumptions); ties past it are never "
        "cut. Assumption.",
    )
    from_naming: bool = Field(
        default=True,
        description="Store the ties that cut contact with a person named in public "
        "(public_naming), so that they stop reporting the person and counting in their score.",
    )
    score: str = Field(
        default="sesame_credit",
        description="The score whose low scorers are cut (the low-score rule reads it through "
        "its compiled kernels); needed only with a low_score_rate above 0.",
    )
    low_score_below: int = Field(
        default=600,
        ge=-30_000,
        le=30_000,
        description="A tie whose score is below this is a low scorer: Sesame's lowest perk "
        "threshold, 600 (calibration/sesame_credit.csv perk_threshold_600); that people cut "
        "ties at it is an assumption.",
    )
    low_score_rate: float = Field(
        default=0.002,
        ge=0.0,
        le=1.0,
        description="Daily chance that a user cuts one stored tie to a user below the line "
        "(assumption: about half of such ties cut within a year, 1 - exp(-0.002 * 365) = 0.52; "
        "no source measures it). 0: no low-score rule.",
    )
    network_days: int = Field(
        default=30,
        ge=0,
        le=3650,
        description="Days between two measurements of the largest connected share, besides day "
        "0 and the last day (0: those two only). Assumption: monthly, as often as Sesame "
        "rescored; each measurement passes over everyone's 8 network ties.",
    )

    def settings_unused(self) -> dict[str, str]:
        return self.given_but_unused(
            self.low_score_rate == 0,
            ("score", "low_score_below"),
            "low_score_rate is 0, so nobody cuts a tie for a low score",
        )


class TieRule(NamedTuple):
    """The low-score rule and the network's cadence, by name at both ends."""

    review_key: np.uint64
    """Stream key of which (person, tie) pairs are looked at today."""
    tie_key: np.uint64
    """The population's community ties."""
    locality: int
    """Mean id distance of a community tie (the population's ``tie_locality``)."""
    below: int
    """A score below this is low."""
    rate: float
    """Daily chance that a user cuts a stored tie to a low-scoring user."""
    network_days: int
    """Days between measurements of the network (0: day 0 and the last day only)."""
    last_day: int
    """The run's last day, when the network is measured too."""
    wave: int
    """Regions measured at a time (the thread count at set-up: speed only, not results)."""


TieCuttingState = compiled_struct(
    "TieCuttingState",
    ("cuts", "rule", "scorers", "bounds", "n", "threads", "seen", "today"),
    __name__,
)
"""The cut ties (``ties.TieCuts``, shared with public naming and every reader); the rule
(``TieRule``); the score read, as a tuple of its record (empty without the low-score rule); the
regions; the population and its ``run_threads``; the counts by cause at the last metrics; today's
metrics."""

METRICS = (
    "cut_today",
    "cut_today_by_naming",
    "cut_today_by_low_score",
    "ties_cut",
    "cut_share",
    "largest_connected_share",
)
"""The metric columns, after the mechanism's name and an underscore (see the module docstring)."""


@kernel
def _new_state(cuts, rule, scorers, bounds, n, threads):
    return TieCuttingState(
        cuts,
        rule,
        scorers,
        bounds,
        n,
        threads,
        np.zeros(len(CAUSES), np.int64),
        np.zeros(len(METRICS), np.float64),
    )


def _pair_ties(cuts, bounds, tie_key, locality, owners, ks, user):
    """The tie of each pair (owner, ``k``) that the low-score rule looks at; -1: none.

    None where the owner does not use the score (``user``), the tie is cut already, or the
    owner's region has nobody else.
    """
    ties = np.full(owners.size, -1, np.int64)
    for i in prange(owners.size):
        pid, k = owners[i], ks[i]
        if not user[i] or not tie_kept(cuts, pid, k):
            continue
        reg = region_of(bounds, pid)
        lo, hi = bounds[reg], bounds[reg + 1]
        if hi - lo > 1:
            ties[i] = community_tie(tie_key, pid, k, lo, hi, locality)
    return ties


_pair_ties = both_builds(_pair_ties)


def _cut_low_scorers(day, s, scorers):
    """The low-score rule of ``day`` (nothing without a score)."""


@kernel_overload(_cut_low_scorers)
def _cut_low_scorers_impl(day, s, scorers):
    if len(scorers) == 0:
        return lambda day, s, scorers: 0

    def impl(day, s, scorers):
        scorer = scorers[0]
        r, stored = s.rule, s.cuts.stored
        pairs = compiled_bernoulli_ids(r.review_key, day, s.n * stored, r.rate, s.threads)
        owners, ks = pairs // stored, pairs % stored
        args = (s.cuts, s.bounds, r.tie_key, r.locality, owners, ks, has_score(scorer, owners))
        ties = _pair_ties(s.threads, pairs.size, *args)
        looked = ties[ties >= 0]
        scored, score = has_score(scorer, looked), scores_of(scorer, looked, day)
        cut = j = 0
        for i in range(pairs.size):
            if ties[i] < 0:
                continue
            if scored[j] and score[j] < r.below:
                cut += cut_tie(s.cuts, owners[i], ks[i], LOW_SCORE)
            j += 1
        return cut

    return impl


@step_kernel
def _step(day, board, s):
    if s.rule.rate > 0.0:
        _cut_low_scorers(day, s, s.scorers)


@kernel
def _network_day(rule, day):
    """Whether the network is measured on ``day``."""
    if day == 0 or day == rule.last_day:
        return True
    return rule.network_days > 0 and day % rule.network_days == 0


@step_kernel
def _metrics(day, s):
    c, t = s.cuts.counts, s.today
    naming, low = c[NAMING] - s.seen[NAMING], c[LOW_SCORE] - s.seen[LOW_SCORE]
    for cause in range(c.size):  # a loop: see kernels/jit.py on slice assignment
        s.seen[cause] = c[cause]
    t[0], t[1], t[2] = naming + low, naming, low
    t[3] = c.sum()
    t[4] = c.sum() / (s.n * s.cuts.stored)
    t[5] = np.nan  # not measured today: a missing value
    if _network_day(s.rule, day):
        r = s.rule
        largest = largest_component(s.cuts, r.tie_key, s.bounds, r.locality, r.wave, s.threads)
        t[5] = largest / s.n


compiled_mechanism(TieCuttingState, _step, _metrics)


class TieCutting(CompiledSteps, Response):
    """Stores cut ties; users cut low scorers; measures the tie network."""

    name = "tie_cutting"
    Params = TieCuttingParams
    description = "cut ties: low scorers dropped, named people shunned; the tie network's share"
    params: TieCuttingParams

    def declare(self, pop: Population) -> None:
        p = self.params
        self.cuts = declare_tie_cuts(pop, p.ties, p.from_naming, self.name)

    def init(self, sim: Simulation) -> None:
        p, pop = self.params, sim.pop
        scorers: tuple = ()
        if p.low_score_rate > 0.0:
            if p.score not in sim.mechanisms:
                raise ScenarioError(
                    f"{sim.scenario.source}: mechanisms.{self.name}.score: {p.score!r} is not "
                    "enabled; enable it, name another score, or set low_score_rate = 0 (no "
                    "low-score rule)"
                )
            scorer = compiled_scorer(sim, p.score, self.name, f"{self.name}.score")
            scorers = (scorer.state,)
        rule = TieRule(
            review_key=self.key("review"),
            tie_key=pop.keys.ties,
            locality=pop.params.tie_locality,
            below=p.low_score_below,
            rate=p.low_score_rate,
            network_days=p.network_days,
            last_day=sim.days - 1,
            wave=numba.get_num_threads(),
        )
        self.rule, self.bounds = rule, pop.geography.bounds
        self.state = _new_state(self.cuts, rule, scorers, self.bounds, pop.n, run_threads(pop.n))
        self.today = today_of(self.state)
        self.metric_columns = tuple(f"{self.name}_{m}" for m in METRICS)
        self.float_metrics = frozenset(self.metric_columns[4:])

    def largest_connected_share(self) -> float:
        """The largest connected share of the tie network now (a full pass: for checks)."""
        rule, bounds = self.rule, self.bounds
        network = (self.cuts, rule.tie_key, bounds, rule.locality, rule.wave)
        return largest_component(*network, run_threads(int(bounds[-1]))) / bounds[-1]

    def summary(self) -> list[str]:
        counts = self.cuts.counts
        total = int(counts.sum())
        stored = self.params.ties * int(self.bounds[-1])
        return [
            f"{self.name}: {total:,} ties cut ({total / stored:.2%} of stored ties; "
            f"{int(counts[NAMING]):,} after a naming, {int(counts[LOW_SCORE]):,} low scorers)"
        ]
