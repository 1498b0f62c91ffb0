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
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from scslab.engine.mechanism import Consequences, MechanismParams, Scoring
from scslab.kernels.sampling import bernoulli_ids

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
        "are {sector}_granted.",
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


class Rewards(Consequences):
    """Perks granted at score thresholds: deposit-free bikes and rentals, visas, VIP check-in."""

    name = "rewards"
    Params = RewardsParams
    description = "rewards at score thresholds: deposit-free bikes and rentals, visas, VIP lanes"
    params: RewardsParams

    def init(self, sim: Simulation) -> None:
        self.scorers: dict[str, Scoring] = {}
        for sector, rule in self.params.sectors.items():
            scorer = sim.get(rule.score, Scoring, f"{self.name}.sectors.{sector}.score")
            if rule.clean_record and not hasattr(scorer, "clean"):
                raise TypeError(
                    f"rewards.sectors.{sector}.clean_record: {rule.score!r} keeps no record of "
                    "bad records; use a commercial score or set clean_record = false"
                )
            self.scorers[sector] = scorer
        self.granted = {name: 0 for name in self.params.sectors}
        self.attempts = {name: 0 for name in self.params.sectors}
        self.granted_today: dict[str, np.ndarray] = {}

    @property
    def granted_ids(self) -> np.ndarray:
        """Everyone granted a reward today, sector after sector."""
        parts = list(self.granted_today.values())
        return np.concatenate(parts) if parts else np.empty(0, np.int64)

    def step(self, sim: Simulation, day: int) -> None:
        for name, rule in self.params.sectors.items():
            ids = bernoulli_ids(self.key(f"{name}/attempt"), day, sim.pop.n, rule.attempt_rate)
            scorer = self.scorers[name]
            ok = scorer.scores(ids, day) >= rule.threshold
            if rule.clean_record:
                ok &= scorer.clean(ids)  # type: ignore[attr-defined]
            self.attempts[name] += ids.size
            self.granted[name] += int(np.count_nonzero(ok))
            self.granted_today[name] = ids[ok]

    def metrics(self, day: int) -> dict[str, float | int]:
        return {f"{n}_granted": c for n, c in self.granted.items()}

    def summary(self) -> list[str]:
        text = ", ".join(
            f"{n.replace('_', ' ')} {g:,} of {self.attempts[n]:,}" for n, g in self.granted.items()
        )
        return [f"rewards granted (of attempts): {text}"]
