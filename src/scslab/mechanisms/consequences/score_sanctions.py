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
from numba import literal_unroll, njit
from pydantic import BaseModel, ConfigDict, Field

from scslab.engine.compiled_plan import CompiledSteps, compiled_mechanism, today_of
from scslab.engine.mechanism import Consequences, MechanismParams, Scoring
from scslab.kernels.compact import joined, kept
from scslab.kernels.sampling import bernoulli_ids, compiled_bernoulli_ids
from scslab.kernels.structs import compiled_struct
from scslab.mechanisms.scoring.compiled import has_score, reads_compiled
from scslab.mechanisms.scoring.compiled import scores as scores_of

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
        "{mechanism}_{sector}_refused. Defaults: political vetting, licences and aid, refused to "
        "Suining's grade D (calibration/local_point_systems.csv), below 600 under the assumed "
        "grade cut-offs; every attempt rate is an assumption.",
    )


ScoreSanctionsState = compiled_struct(
    "ScoreSanctionsState", ("sectors", "n", "refused_ids", "today"), __name__
)
"""Per sector (attempt key, attempt rate, threshold, the scorer's record); the population; whose
attempts were refused today (sector by sector); the refused attempts so far, per sector
(``today``)."""


@njit(cache=True)
def _new_state(sectors, n):
    empty = np.empty(0, np.int64)
    return ScoreSanctionsState(sectors, n, empty, np.zeros(len(sectors), np.float64))


@njit(cache=True)
def _step(day, board, s):
    parts = [np.empty(0, np.int64)]
    total = 0
    j = 0
    for sector in literal_unroll(s.sectors):
        key, rate, below, scorer = sector
        ids = compiled_bernoulli_ids(key, day, s.n, rate)
        sc, scored = scores_of(scorer, ids, day), has_score(scorer, ids)
        low = np.empty(ids.size, np.bool_)
        for i in range(ids.size):
            low[i] = sc[i] < below and scored[i]
        refused = kept(ids, low)
        parts.append(refused)
        total += refused.size
        s.today[j] += refused.size
        j += 1  # noqa: SIM113 (enumerate cannot unroll a tuple of records)
    s.refused_ids = joined(parts, total)


@njit(cache=True)
def _refused_ids(s):
    return s.refused_ids


compiled_mechanism(ScoreSanctionsState, _step)


class ScoreSanctions(CompiledSteps, Consequences):
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
        self.metric_columns = tuple(f"{self.name}_{n}_refused" for n in self.params.sectors)
        self.n = sim.pop.n
        self.compiled = bool(self.scorers) and all(map(reads_compiled, self.scorers.values()))
        """Whether every scorer's scores can be read from compiled code (else: steps in Python)."""
        sectors = (
            tuple(
                (
                    self.key(f"{name}/attempt"),
                    rule.attempt_rate,
                    rule.below,
                    self.scorers[name].state,
                )
                for name, rule in self.params.sectors.items()
            )
            if self.compiled
            else ()
        )
        self.state = _new_state(sectors, self.n) if self.compiled else None
        self.today = today_of(self.state) if self.compiled else np.zeros(len(self.scorers))
        self._refused = np.empty(0, np.int64)

    def compiled_state(self) -> object | None:
        return self.state

    def step(self, sim: Simulation, day: int) -> None:
        if self.compiled:
            CompiledSteps.step(self, sim, day)
            return
        parts = [np.empty(0, np.int64)]
        for j, (name, rule) in enumerate(self.params.sectors.items()):
            ids = bernoulli_ids(self.key(f"{name}/attempt"), day, self.n, rule.attempt_rate)
            scorer = self.scorers[name]
            low = (scorer.scores(ids, day) < rule.below) & scorer.has_score(ids)
            self.today[j] += int(np.count_nonzero(low))
            parts.append(ids[low])
        self._refused = np.concatenate(parts)

    @property
    def refused_ids(self) -> np.ndarray:
        """Whose attempts were refused today (sector by sector)."""
        return _refused_ids(self.state) if self.compiled else self._refused

    def metrics(self, day: int) -> dict[str, float | int]:
        return dict(zip(self.metric_columns, map(int, self.today.tolist()), strict=True))

    @property
    def refused(self) -> dict[str, int]:
        """Refused attempts so far, by sector."""
        return dict(zip(self.params.sectors, map(int, self.today.tolist()), strict=True))

    def summary(self) -> list[str]:
        text = ", ".join(f"{n.replace('_', ' ')} {c:,}" for n, c in self.refused.items())
        return [f"{self.name}: refused {text}"]
