"""Sanctions that follow from a low score or grade itself, such as Suining's political vetting.

Suining 2010 graded residents A to D, and grade D "fails political vetting; excluded from licences
and aid" (calibration/local_point_systems.csv). Each sector is data: a daily attempt rate, the
scoring mechanism it reads and the score below which an attempt is refused. Only people the system
scores can be refused (an opt-in system cannot refuse those who never signed up). Rongcheng's 2021
reform went the other way ("a low score is never itself the ground for a sanction", same file):
leave this mechanism out to model it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from scslab.engine.mechanism import Consequences, MechanismParams, Scoring
from scslab.kernels.sampling import bernoulli_ids

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation


class ScoreSector(BaseModel):
    """One sector refused below a score."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    attempt_rate: float = Field(ge=0.0, le=1.0, description="Attempts per person per day.")
    score: str = Field(default="suining_points", description="The scoring mechanism it reads.")
    below: int = Field(description="Attempts by people scoring below this are refused.")


def _suining_sectors() -> dict[str, ScoreSector]:
    # Grade D (below 600 under the assumed cut-offs) fails vetting and loses licences and aid
    # (calibration/local_point_systems.csv); every attempt rate is an assumption.
    return {
        "political_vetting": ScoreSector(attempt_rate=0.0002, below=600),
        "licences": ScoreSector(attempt_rate=0.0003, below=600),
        "aid": ScoreSector(attempt_rate=0.0005, below=600),
    }


class ScoreSanctionsParams(MechanismParams):
    """The sectors refused to low scorers."""

    sectors: dict[str, ScoreSector] = Field(
        default_factory=_suining_sectors,
        description="Sector name -> attempt rate, score, threshold; metric columns are "
        "{mechanism}_{sector}_refused.",
    )


class ScoreSanctions(Consequences):
    """Refuses people below a score in each sector (Suining's grade D)."""

    name = "score_sanctions"
    Params = ScoreSanctionsParams
    description = "sanctions on a low score itself: vetting, licences, aid (Suining grade D)"
    params: ScoreSanctionsParams

    def init(self, sim: Simulation) -> None:
        self.scorers: dict[str, Scoring] = {}
        for sector, rule in self.params.sectors.items():
            self.scorers[sector] = sim.get(
                rule.score, Scoring, f"{self.name}.sectors.{sector}.score"
            )
        self.refused = {name: 0 for name in self.params.sectors}
        self.refused_ids = np.empty(0, np.int64)

    def step(self, sim: Simulation, day: int) -> None:
        parts = []
        for name, rule in self.params.sectors.items():
            ids = bernoulli_ids(self.key(f"{name}/attempt"), day, sim.pop.n, rule.attempt_rate)
            scorer = self.scorers[name]
            low = (scorer.scores(ids, day) < rule.below) & scorer.has_score(ids)
            self.refused[name] += int(np.count_nonzero(low))
            parts.append(ids[low])
        self.refused_ids = np.concatenate(parts) if parts else np.empty(0, np.int64)

    def metrics(self, day: int) -> dict[str, float | int]:
        return {f"{self.name}_{n}_refused": c for n, c in self.refused.items()}

    def summary(self) -> list[str]:
        text = ", ".join(f"{n.replace('_', ' ')} {c:,}" for n, c in self.refused.items())
        return [f"{self.name}: refused {text}"]
