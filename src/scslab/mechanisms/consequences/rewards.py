"""Rewards: perks granted to people whose score meets a sector's threshold, or who are on a redlist.

Commercial scores reward and do not punish (seed article: Sesame Credit "does not punish those
deemed 'untrustworthy', it does offer rewards for high scores, for instance loans, preferential car
rental terms, VIP airport check-in, visa fast-tracks, as well as more prominent profiles on the
popular dating website Baihe"); Honest Shanghai's "good scores are rewarded" (seed article); and
the state's redlists reward their members as its blacklists punish theirs. Each reward sector is
data: a daily attempt rate and either

- a score (``score``): the scoring mechanism it reads, the threshold, and whether a clean record
  is also required. Attempts are sampled over the whole population with ``bernoulli_ids`` (the cost
  grows with attempts); an attempt is granted when the person is scored and their score meets the
  threshold, so people who have not opted in are never granted. A sector read by the state
  (``reader = "state"``, a city service) grants nothing from the day the state stops reading the
  score (a commercial score's licence refusal, ``scoring/commercial.py``);
- or a list (``list``, a redlist): only members' attempts are drawn, and each is granted with the
  sector's ``chance``, by the rule sanctions use to block a blacklist's members
  (``sectors.attempts_on_list``), so non-members are never granted.

Owns no per-person state. Metrics are cumulative grants per sector (``{sector}_granted``) and, for
a score that may score people from someone else's records (a face misverified at sign-up,
``scoring/points.py``), the grants that the person's own record would not have earned and the
refusals it would have avoided (``{sector}_granted_on_another_record``,
``{sector}_denied_on_another_record``).

The step is a kernel that reads each sector's score (and clean record) through the scorer's
compiled kernels (``scoring/compiled.py``) and each list's flags, in the compiled day plan and in
the Python loop alike; a score without compiled kernels is refused by name when the rewards are set
up. It must not change a score or a list: it only reads them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np
from numba import literal_unroll
from pydantic import Field, field_validator, model_validator

from scslab.engine.mechanism import Consequences, MechanismParams, Scoring
from scslab.engine.steps import CompiledSteps, compiled_mechanism, today_of
from scslab.errors import ScenarioError
from scslab.kernels.compact import joined, kept
from scslab.kernels.jit import kernel, kernel_overload, step_kernel
from scslab.kernels.parallel import run_threads
from scslab.kernels.sampling import compiled_bernoulli_ids
from scslab.kernels.structs import compiled_struct
from scslab.mechanisms.ages import NO_MAX_AGE, ActorAges, actor_ages, old_enough
from scslab.mechanisms.common import column_names
from scslab.mechanisms.consequences.sectors import attempts_on_list
from scslab.mechanisms.lists.base import ListBase
from scslab.mechanisms.scoring.compiled import (
    CompiledScoring,
    clean,
    compiled_scorer,
    has_score,
    keeps_bad_records,
    own_scores,
    state_reads,
)
from scslab.mechanisms.scoring.compiled import scores as scores_of
from scslab.parameter_tables import ParameterTable

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation


class RewardSector(ParameterTable):
    """One reward: who may attempt it, and the score and threshold, or the list, that earn it."""

    attempt_rate: float = Field(ge=0.0, le=1.0, description="Attempts per person per day.")
    score: str | None = Field(
        default="sesame_credit",
        description="The scoring mechanism it reads (none when the sector reads a list; giving a "
        "list without a score means none).",
    )
    threshold: int | None = Field(
        default=None,
        ge=0,
        le=30_000,
        description="Lowest score that earns the reward (score sectors only, where it is needed).",
    )
    clean_record: bool = Field(
        default=False,
        description="Also require no bad record (needs a score with a ``clean`` method, such as "
        "the commercial scores).",
    )
    reader: Literal["commercial", "state"] = Field(
        default="commercial",
        description='Who grants the perk: "state" (a government service, which reads no score '
        'of a commercial scorer from the day its licence is refused) or "commercial" (the '
        "scorer's company or a business, which reads on).",
    )
    list: str | None = Field(
        default=None,
        description="The list (a redlist) whose members earn the reward instead of a score.",
    )
    chance: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description="Chance that a list member's attempt is granted (list sectors only; default "
        "1: every attempt, an assumption).",
    )
    min_age: int = Field(
        default=0,
        ge=0,
        le=90,
        description="The youngest who attempts (default 0: anyone, an assumption; a loan, a "
        "rental, a visa or a dating profile needs 18, full civil capacity, Civil Code art. "
        "17-18).",
    )

    @model_validator(mode="before")
    @classmethod
    def _list_means_no_score(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("list") is not None and "score" not in data:
            return {**data, "score": None}
        return data

    @model_validator(mode="after")
    def _score_or_list(self) -> RewardSector:
        if self.score is None and self.list is None:
            raise ValueError("give a sector a score (with a threshold) or a list; it has neither")
        if self.score is not None and self.list is not None:
            raise ValueError("give a sector either a score or a list, not both")
        if (self.score is not None) != (self.threshold is not None):
            raise ValueError("a score sector needs a threshold, and only a score sector has one")
        if self.list is not None and self.clean_record:
            raise ValueError("clean_record needs a score; a list sector reads membership only")
        if self.list is not None and self.reader == "state":
            raise ValueError(
                'reader = "state" is for score sectors (a score the state may stop reading); a '
                "list sector reads membership only"
            )
        if self.score is not None and self.chance < 1.0:
            raise ValueError("chance is for list sectors; a score sector grants at its threshold")
        return self


def _default_sectors() -> dict[str, RewardSector]:
    # Thresholds: calibration/sesame_credit.csv where a row exists, otherwise assumptions as
    # labelled. Every attempt rate is an assumption (attempts per person per day; everyone
    # attempts, users or not, and only users can qualify).
    return {
        # perk_threshold_600: deposit-free public bikes in Suzhou with no bad record (official):
        # the city government's service, so the state reads the score.
        "shared_bikes": RewardSector(
            attempt_rate=0.01, threshold=600, clean_record=True, reader="state"
        ),
        # perk_threshold_650: deposit-free shared bikes and home rentals (China Daily, press).
        "home_rentals": RewardSector(attempt_rate=0.0003, threshold=650),
        # perk_threshold_750: visa application without bank statements (Canada 2018, press).
        "visa_without_bank_statements": RewardSector(attempt_rate=0.0001, threshold=750),
        # VIP airport check-in (seed article); threshold not in the calibration: assumption 750.
        "vip_check_in": RewardSector(attempt_rate=0.0015, threshold=750),
        # Cheaper loans (seed article); threshold not in the calibration: assumption 650.
        "cheaper_loans": RewardSector(attempt_rate=0.0005, threshold=650),
        # Dating-site prominence on Baihe (seed article); threshold: assumption 700.
        "dating_prominence": RewardSector(attempt_rate=0.0005, threshold=700),
        # Priority in schools and jobs; threshold: assumption 750.
        "school_job_priority": RewardSector(attempt_rate=0.0002, threshold=750),
    }


class RewardsParams(MechanismParams):
    """The reward sectors."""

    sectors: dict[str, RewardSector] = Field(
        default_factory=_default_sectors,
        description="Sector name -> attempt rate, score, threshold, clean record and reader, or "
        "a list and a chance; metric columns are {sector}_granted. Defaults: the thresholds of "
        "shared_bikes (600, with a clean record; Suzhou's public bikes, a state reader), "
        "home_rentals (650) and visa_without_bank_statements (750) from "
        "calibration/sesame_credit.csv (perk_threshold_600/650/750); vip_check_in, cheaper_loans "
        "and dating_prominence are perks of the seed article, their thresholds (750, 650, 700) "
        "assumptions, as is school_job_priority (750); every attempt rate is an assumption.",
    )

    @field_validator("sectors")
    @classmethod
    def _names(cls, value: dict[str, RewardSector]) -> dict[str, RewardSector]:
        return column_names(value, "sector")


class RewardRule(NamedTuple):
    """One reward sector that reads a score, as its kernel reads it."""

    key: np.uint64
    """The attempts' stream key."""
    rate: float
    """Attempts per person per day."""
    threshold: int
    """Lowest score that earns the reward."""
    clean_record: bool
    """Also require no bad record (the scorer's ``clean`` kernel)."""
    by_state: bool
    """Read by the state: nothing is granted on a day the state may not read the score."""
    min_age: int
    """The youngest who attempts (0: anyone)."""
    ages: ActorAges
    """What is read of an attempter's age (``mechanisms/ages.py``)."""
    another_column: int
    """Where in ``today`` the grants on someone else's record go, the refusals next (-1: the
    scorer scores everyone from their own records)."""
    scorer: Any
    """The scorer's record."""


class ListRewardRule(NamedTuple):
    """One reward sector that reads a list's membership, as its kernel reads it."""

    key: np.uint64
    """The attempts' stream key."""
    rate: float
    """Attempts per person per day (only members' attempts are drawn)."""
    grant_key: np.uint64
    """The stream key of each attempt's grant draw."""
    chance: float
    """Chance that a member's attempt is granted."""
    flags: np.ndarray
    """The list's flag byte per person."""
    mask: np.uint8
    """The list's bit."""
    false_mask: np.uint8
    """The bit of people listed on a false record."""
    min_age: int
    """The youngest who attempts (0: anyone)."""
    ages: ActorAges
    """What is read of an attempter's age (``mechanisms/ages.py``)."""


NO_HOUSEHOLDS = np.empty(0, np.uint8)
"""The households a list sector passes to ``attempts_on_list``: none (no family extension)."""


RewardsState = compiled_struct(
    "RewardsState",
    (
        "sectors",
        "n",
        "threads",
        "attempts",
        "granted_ids",
        "granted_now",
        "on_another_record",
        "today",
    ),
    __name__,
)
"""A ``RewardRule`` or ``ListRewardRule`` per sector; the population and its ``run_threads``;
attempts so far per sector (a list sector's: its members'); who was granted a reward today, sector
after sector, and how many in each sector; per sector the grants and refusals so far on someone
else's record (rows ``GRANTED``, ``DENIED``); today's metrics (grants so far per sector, then the
two counts of each sector that has them)."""

GRANTED, DENIED = 0, 1
"""Rows of ``RewardsState.on_another_record``."""


@kernel
def _new_state(sectors, n, threads, width):
    k = len(sectors)
    empty = np.empty(0, np.int64)
    return RewardsState(
        sectors,
        n,
        threads,
        np.zeros(k, np.int64),
        empty,
        np.zeros(k, np.int64),
        np.zeros((2, k), np.int64),
        np.zeros(width, np.float64),
    )


def _sector_grants(day, s, j, sector):
    """Sector ``j``'s attempts today and who is granted: (granted ids, attempts)."""


@kernel_overload(_sector_grants)
def _sector_grants_impl(day, s, j, sector):
    if getattr(sector, "instance_class", None) is ListRewardRule:

        def from_list(day, s, j, sector):
            granted, attempts, _, _ = attempts_on_list(
                sector.key,
                s.n,
                sector.rate,
                sector.flags,
                sector.mask,
                sector.flags,
                sector.false_mask,
                NO_HOUSEHOLDS,
                False,
                sector.grant_key,
                day,
                sector.chance,
                s.threads,
                sector.ages,
                sector.min_age,
                NO_MAX_AGE,
            )
            return granted, attempts

        return from_list

    def from_score(day, s, j, sector):
        ids = compiled_bernoulli_ids(sector.key, day, s.n, sector.rate, s.threads)
        ids = old_enough(ids, sector.ages, sector.min_age, s.threads)
        ok = np.zeros(ids.size, np.bool_)
        if sector.by_state and not state_reads(sector.scorer, day):
            return kept(ids, ok), ids.size  # the state reads no score: nobody is granted
        # Granted: scored, at or above the threshold and, if asked, with a clean record. Each
        # check reads only the people who passed the ones before (fewer reads, the same ok).
        high = np.flatnonzero(scores_of(sector.scorer, ids, day) >= sector.threshold)
        scored_high = has_score(sector.scorer, ids[high])
        for i in range(high.size):
            ok[high[i]] = scored_high[i]
        if sector.clean_record:
            passed = np.flatnonzero(ok)
            no_bad = clean(sector.scorer, ids[passed])
            for i in range(passed.size):
                ok[passed[i]] = no_bad[i]
        if sector.another_column >= 0:  # what someone else's record changed, both ways
            scored = has_score(sector.scorer, ids)
            own = own_scores(sector.scorer, ids, day)
            for i in range(ids.size):
                own_ok = scored[i] and own[i] >= sector.threshold
                s.on_another_record[GRANTED, j] += ok[i] and not own_ok
                s.on_another_record[DENIED, j] += own_ok and not ok[i]
            s.today[sector.another_column] = s.on_another_record[GRANTED, j]
            s.today[sector.another_column + 1] = s.on_another_record[DENIED, j]
        return kept(ids, ok), ids.size

    return from_score


def _grant(day, s, sectors):
    """Each sector's attempts today, granted (``sectors``: ``s.sectors``)."""


@kernel_overload(_grant)
def _grant_impl(day, s, sectors):
    if len(sectors) == 0:  # no sectors: nothing to unroll, nobody granted
        return lambda day, s, sectors: None

    def impl(day, s, sectors):
        parts = [np.empty(0, np.int64)]
        total = 0
        j = 0
        for sector in literal_unroll(sectors):
            granted, attempts = _sector_grants(day, s, j, sector)
            parts.append(granted)
            total += granted.size
            s.attempts[j] += attempts
            s.granted_now[j] = granted.size
            s.today[j] += granted.size
            j += 1  # noqa: SIM113 (enumerate cannot unroll a tuple of records)
        s.granted_ids = joined(parts, total)

    return impl


@step_kernel
def _step(day, board, s):
    _grant(day, s, s.sectors)


@kernel
def _shared(s):
    return s.attempts, s.granted_now, s.on_another_record


@kernel
def _granted_ids(s):
    return s.granted_ids


compiled_mechanism(RewardsState, _step)


class Rewards(CompiledSteps, Consequences):
    """Perks granted at score thresholds or to a redlist's members: bikes, rentals, visas, VIP."""

    name = "rewards"
    Params = RewardsParams
    description = "rewards at score thresholds or on redlists: deposit-free rentals, visas, VIP"
    params: RewardsParams

    def init(self, sim: Simulation) -> None:
        self._ages = actor_ages(sim.pop)  # who is old enough to attempt (a sector's min_age)
        self.scorers: dict[str, Scoring] = {}
        self.lists: dict[str, ListBase] = {}
        for sector, rule in self.params.sectors.items():
            if rule.list is not None:
                key = f"{self.name}.sectors.{sector}.list"
                self.lists[sector] = sim.get(rule.list, ListBase, key)
                continue
            key = f"{self.name}.sectors.{sector}.score"
            scorer = compiled_scorer(sim, rule.score, self.name, key)
            if rule.clean_record and not keeps_bad_records(scorer):
                raise ScenarioError(
                    f"{sim.scenario.source}: mechanisms.{self.name}.sectors.{sector}.clean_record:"
                    f" {rule.score!r} keeps no record of bad records; use a commercial score or "
                    "set clean_record = false"
                )
            self.scorers[sector] = scorer
        names = list(self.params.sectors)
        self.sectors_on_another_record = [
            n
            for n in names
            if isinstance(self.scorers.get(n), CompiledScoring) and self.scorers[n].misidentifies()
        ]
        """Sectors whose score may come from someone else's records: they count what it did."""
        another = {n: len(names) + 2 * i for i, n in enumerate(self.sectors_on_another_record)}
        self.metric_columns = (
            *(f"{n}_granted" for n in names),
            *(
                f"{n}_{what}_on_another_record"
                for n in self.sectors_on_another_record
                for what in ("granted", "denied")
            ),
        )
        self.n = sim.pop.n
        sectors = tuple(
            self._list_rule(name, rule, self.lists[name])
            if rule.list is not None
            else self._score_rule(name, rule, another.get(name, -1))
            for name, rule in self.params.sectors.items()
        )
        self.state = _new_state(sectors, self.n, run_threads(self.n), len(self.metric_columns))
        self.today = today_of(self.state)
        self._attempts, self._granted_now, self._on_another = _shared(self.state)

    def _score_rule(self, name: str, rule: RewardSector, another_column: int) -> RewardRule:
        """The kernel's rule of sector ``name``, which reads a score."""
        return RewardRule(
            key=self.key(f"{name}/attempt"),
            rate=rule.attempt_rate,
            threshold=rule.threshold,
            clean_record=rule.clean_record,
            by_state=rule.reader == "state",
            another_column=another_column,
            scorer=self.scorers[name].state,
            min_age=rule.min_age,
            ages=self._ages,
        )

    def _list_rule(self, name: str, rule: RewardSector, lst: ListBase) -> ListRewardRule:
        """The kernel's rule of sector ``name``, which rewards the members of ``lst``."""
        return ListRewardRule(
            key=self.key(f"{name}/attempt"),
            rate=rule.attempt_rate,
            grant_key=self.key(f"{name}/grant"),
            chance=rule.chance,
            flags=lst.flag.array,
            mask=lst.flag.mask,
            false_mask=lst.false_flag.mask,
            min_age=rule.min_age,
            ages=self._ages,
        )

    @property
    def granted(self) -> dict[str, int]:
        """Grants so far, by sector."""
        k = len(self.params.sectors)
        return dict(zip(self.params.sectors, map(int, self.today[:k].tolist()), strict=True))

    @property
    def granted_on_another_record(self) -> dict[str, int]:
        """Grants so far that the person's own record would not have earned, by sector."""
        return dict(zip(self.params.sectors, map(int, self._on_another[GRANTED]), strict=True))

    @property
    def denied_on_another_record(self) -> dict[str, int]:
        """Refusals so far that the person's own record would have avoided, by sector."""
        return dict(zip(self.params.sectors, map(int, self._on_another[DENIED]), strict=True))

    @property
    def attempts(self) -> dict[str, int]:
        """Attempts so far, by sector (a list sector's: its members' attempts)."""
        return dict(zip(self.params.sectors, map(int, self._attempts.tolist()), strict=True))

    @property
    def granted_ids(self) -> np.ndarray:
        """Everyone granted a reward today, sector after sector."""
        return _granted_ids(self.state)

    @property
    def granted_today(self) -> dict[str, np.ndarray]:
        """Who was granted each sector's reward today."""
        ends = np.cumsum(self._granted_now)
        return dict(zip(self.params.sectors, np.split(self.granted_ids, ends[:-1]), strict=True))

    def metrics(self, day: int) -> dict[str, float | int]:
        return dict(zip(self.metric_columns, map(int, self.today.tolist()), strict=True))

    def _of_attempts(self) -> str:
        """Whose attempts the summary's counts are, by the kinds of sectors there are."""
        kinds = {rule.list is None for rule in self.params.sectors.values()}
        anyone = "attempts by anyone, scored or not (only people with a score can qualify)"
        if kinds == {True}:
            return f"of {anyone}"
        if kinds == {False}:
            return "of attempts by members of the sector's list"
        return (
            "of attempts (a score sector's by anyone, scored or not; a list sector's by members "
            "of its list)"
        )

    def summary(self) -> list[str]:
        """One line of grants of attempts per sector, saying whose attempts they are.

        A score sector draws its attempts over everyone, scored or not (a non-user, a child), so
        most of its refusals are of people without a score; a list sector draws only its members'.
        """
        attempts = self.attempts
        text = ", ".join(
            f"{n.replace('_', ' ')} {g:,} of {attempts[n]:,}" for n, g in self.granted.items()
        )
        lines = [f"{self.name} granted, {self._of_attempts()}: {text}"]
        if self.sectors_on_another_record:
            granted, denied = self.granted_on_another_record, self.denied_on_another_record
            text = ", ".join(
                f"{n.replace('_', ' ')} {granted[n]:,} granted and {denied[n]:,} denied"
                for n in self.sectors_on_another_record
            )
            lines.append(f"{self.name} on someone else's record: {text}")
        return lines
