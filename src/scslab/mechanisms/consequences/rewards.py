"""Rewards for high scores: perks granted to people whose score meets a sector's threshold.

Commercial scores reward and do not punish (seed article: Sesame Credit "does not punish those
deemed 'untrustworthy', it does offer rewards for high scores, for instance loans, preferential car
rental terms, VIP airport check-in, visa fast-tracks, as well as more prominent profiles on the
popular dating website Baihe"). Each reward sector is data: a daily attempt rate, the scoring
mechanism it reads, the threshold, and whether a clean record is also required. Attempts are
sampled over the whole population with ``bernoulli_ids`` (the cost grows with attempts); an
attempt is granted when the person's score meets the threshold, so people who have not opted in
(score 0) are never granted. Owns no per-person state; metrics are cumulative grants per sector
(``{sector}_granted``).

The step is a kernel that reads each sector's score (and clean record) through the scorer's
compiled kernels (``scoring/compiled.py``), in the compiled day plan and in the Python loop alike;
a score without compiled kernels is refused by name when the rewards are set up.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numba import literal_unroll, njit
from numba.extending import overload
from pydantic import BaseModel, ConfigDict, Field, field_validator

from scslab.engine.compiled_plan import CompiledSteps, compiled_mechanism, today_of
from scslab.engine.mechanism import Consequences, MechanismParams, Scoring
from scslab.kernels.compact import joined, kept
from scslab.kernels.sampling import compiled_bernoulli_ids
from scslab.kernels.structs import compiled_struct
from scslab.mechanisms.scoring.compiled import clean, compiled_scorer, keeps_bad_records
from scslab.mechanisms.scoring.compiled import scores as scores_of

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation


class RewardSector(BaseModel):
    """One reward: who may attempt it, which score it reads, and the threshold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    attempt_rate: float = Field(ge=0.0, le=1.0, description="Attempts per person per day.")
    score: str = Field(default="sesame_credit", description="The scoring mechanism it reads.")
    threshold: int = Field(ge=0, le=30_000, description="Lowest score that earns the reward.")
    clean_record: bool = Field(
        default=False,
        description="Also require no bad record (needs a score with a ``clean`` method, such as "
        "the commercial scores).",
    )


def _default_sectors() -> dict[str, RewardSector]:
    # Thresholds: calibration/sesame_credit.csv where a row exists, otherwise assumptions as
    # labelled. Every attempt rate is an assumption (attempts per person per day; everyone
    # attempts, users or not, and only users can qualify).
    return {
        # perk_threshold_600: deposit-free public bikes in Suzhou with no bad record (official).
        "shared_bikes": RewardSector(attempt_rate=0.01, threshold=600, clean_record=True),
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
        description="Sector name -> attempt rate, score, threshold, clean record; metric columns "
        "are {sector}_granted. Defaults: the thresholds of shared_bikes (600, with a clean "
        "record), home_rentals (650) and visa_without_bank_statements (750) from "
        "calibration/sesame_credit.csv (perk_threshold_600/650/750); vip_check_in, cheaper_loans "
        "and dating_prominence are perks of the seed article, their thresholds (750, 650, 700) "
        "assumptions, as is school_job_priority (750); every attempt rate is an assumption.",
    )

    @field_validator("sectors")
    @classmethod
    def _names(cls, value: dict[str, RewardSector]) -> dict[str, RewardSector]:
        for name in value:
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                raise ValueError(
                    f"sector name {name!r} must be lower case letters, digits and underscores"
                )
        return value


class RewardRule(NamedTuple):
    """One reward sector as its kernel reads it."""

    key: np.uint64
    """The attempts' stream key."""
    rate: float
    """Attempts per person per day."""
    threshold: int
    """Lowest score that earns the reward."""
    clean_record: bool
    """Also require no bad record (the scorer's ``clean`` kernel)."""
    scorer: Any
    """The scorer's record."""


RewardsState = compiled_struct(
    "RewardsState", ("sectors", "n", "attempts", "granted_ids", "granted_now", "today"), __name__
)
"""A ``RewardRule`` per sector; the population; attempts so far per sector; who was granted a
reward today, sector after sector, and how many in each sector; grants so far per sector
(``today``)."""


@njit(cache=True)
def _new_state(sectors, n):
    k = len(sectors)
    empty = np.empty(0, np.int64)
    return RewardsState(
        sectors, n, np.zeros(k, np.int64), empty, np.zeros(k, np.int64), np.zeros(k, np.float64)
    )


def _grant(day, s, sectors):
    """Each sector's attempts today, granted at its threshold (``sectors``: ``s.sectors``)."""


@overload(_grant)
def _grant_impl(day, s, sectors):
    if len(sectors) == 0:  # no sectors: nothing to unroll, nobody granted
        return lambda day, s, sectors: None

    def impl(day, s, sectors):
        parts = [np.empty(0, np.int64)]
        total = 0
        j = 0
        for sector in literal_unroll(sectors):
            ids = compiled_bernoulli_ids(sector.key, day, s.n, sector.rate)
            ok = np.empty(ids.size, np.bool_)
            sc = scores_of(sector.scorer, ids, day)
            for i in range(ids.size):
                ok[i] = sc[i] >= sector.threshold
            if sector.clean_record:
                no_bad = clean(sector.scorer, ids)
                for i in range(ids.size):
                    ok[i] = ok[i] and no_bad[i]
            granted = kept(ids, ok)
            parts.append(granted)
            total += granted.size
            s.attempts[j] += ids.size
            s.granted_now[j] = granted.size
            s.today[j] += granted.size
            j += 1  # noqa: SIM113 (enumerate cannot unroll a tuple of records)
        s.granted_ids = joined(parts, total)

    return impl


@njit(cache=True)
def _step(day, board, s):
    _grant(day, s, s.sectors)


@njit(cache=True)
def _shared(s):
    return s.attempts, s.granted_now


@njit(cache=True)
def _granted_ids(s):
    return s.granted_ids


compiled_mechanism(RewardsState, _step)


class Rewards(CompiledSteps, Consequences):
    """Perks granted at score thresholds: deposit-free bikes and rentals, visas, VIP check-in."""

    name = "rewards"
    Params = RewardsParams
    description = "rewards at score thresholds: deposit-free bikes and rentals, visas, VIP lanes"
    params: RewardsParams

    def init(self, sim: Simulation) -> None:
        self.scorers: dict[str, Scoring] = {}
        for sector, rule in self.params.sectors.items():
            key = f"{self.name}.sectors.{sector}.score"
            scorer = compiled_scorer(sim, rule.score, self.name, key)
            if rule.clean_record and not keeps_bad_records(scorer):
                raise TypeError(
                    f"rewards.sectors.{sector}.clean_record: {rule.score!r} keeps no record of "
                    "bad records; use a commercial score or set clean_record = false"
                )
            self.scorers[sector] = scorer
        self.metric_columns = tuple(f"{n}_granted" for n in self.params.sectors)
        self.n = sim.pop.n
        sectors = tuple(
            RewardRule(
                key=self.key(f"{name}/attempt"),
                rate=rule.attempt_rate,
                threshold=rule.threshold,
                clean_record=rule.clean_record,
                scorer=self.scorers[name].state,
            )
            for name, rule in self.params.sectors.items()
        )
        self.state = _new_state(sectors, self.n)
        self.today = today_of(self.state)
        self._attempts, self._granted_now = _shared(self.state)

    @property
    def granted(self) -> dict[str, int]:
        """Grants so far, by sector."""
        return dict(zip(self.params.sectors, map(int, self.today.tolist()), strict=True))

    @property
    def attempts(self) -> dict[str, int]:
        """Attempts so far, by sector."""
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

    def summary(self) -> list[str]:
        attempts = self.attempts
        text = ", ".join(
            f"{n.replace('_', ' ')} {g:,} of {attempts[n]:,}" for n, g in self.granted.items()
        )
        return [f"rewards granted (of attempts): {text}"]
