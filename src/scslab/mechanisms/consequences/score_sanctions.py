"""Sanctions that follow from a low score or grade itself, such as Suining's political vetting.

Suining 2010 graded residents A to D, and grade D "fails political vetting; excluded from licences
and aid" (calibration/local_point_systems.csv). Each sector is data: a daily attempt rate, the
scoring mechanism it reads and the score below which an attempt is refused. Only people the system
scores can be refused (an opt-in system cannot refuse those who never signed up). Rongcheng's 2021
reform went the other way ("a low score is never itself the ground for a sanction", same file):
leave this mechanism out to model it. The sanctions are the state's: on a day the state may not
read a sector's score (a commercial score whose licence was refused,
``scoring/compiled.state_reads``) that sector refuses nobody.

The step is a kernel that reads each sector's score through the scorer's compiled kernels
(``scoring/compiled.py``), in the compiled day plan and in the Python loop alike; a score without
compiled kernels is refused by name when the sanctions are set up.

Owns the ``score_sanctions`` mechanism: its sectors (``ScoreSector``), today's refused ids and
the refused counts per sector. It reads scores only through the scorer's kernels and writes
none; it posts nothing and changes no list, income or other mechanism's state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numba import literal_unroll
from pydantic import Field, field_validator

from scslab.engine.mechanism import Consequences, MechanismParams, Scoring
from scslab.engine.steps import CompiledSteps, compiled_mechanism, today_of
from scslab.kernels.compact import joined, kept
from scslab.kernels.jit import kernel, kernel_overload, step_kernel
from scslab.kernels.parallel import run_threads
from scslab.kernels.sampling import compiled_bernoulli_ids
from scslab.kernels.structs import compiled_struct
from scslab.mechanisms.common import column_names
from scslab.mechanisms.scoring.compiled import (
    compiled_scorer,
    has_score,
    own_scores,
    state_reads,
)
from scslab.mechanisms.scoring.compiled import scores as scores_of
from scslab.parameter_tables import ParameterTable

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation


class ScoreSector(ParameterTable):
    """One sector refused below a score."""

    attempt_rate: float = Field(ge=0.0, le=1.0, description="Attempts per person per day.")
    score: str = Field(default="suining_points", description="The scoring mechanism it reads.")
    below: int = Field(
        ge=-30_000, le=30_000, description="Attempts by people scoring below this are refused."
    )


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

    @field_validator("sectors")
    @classmethod
    def _names(cls, value: dict[str, ScoreSector]) -> dict[str, ScoreSector]:
        return column_names(value, "sector")


class ScoreSectorRule(NamedTuple):
    """One sector as its kernel reads it."""

    key: np.uint64
    """The attempts' stream key."""
    rate: float
    """Attempts per person per day."""
    below: int
    """Attempts by people scoring below this are refused."""
    scorer: Any
    """The scorer's record."""
    another_column: int
    """Where in ``today`` this sector counts the refusals made on someone else's records (a
    user misverified at sign-up, scored from another's: ``own_scores`` would not have refused
    them); -1 for a scorer that scores everyone from their own."""


ScoreSanctionsState = compiled_struct(
    "ScoreSanctionsState", ("sectors", "n", "threads", "refused_ids", "today"), __name__
)
"""A ``ScoreSectorRule`` per sector; the population and its ``run_threads``; whose attempts were
refused today (sector by sector); the refused attempts so far, per sector (``today``)."""


@kernel
def _new_state(sectors, n, threads, width):
    empty = np.empty(0, np.int64)
    return ScoreSanctionsState(sectors, n, threads, empty, np.zeros(width, np.float64))


def _refuse(day, s, sectors):
    """Each sector's attempts today, refused below its score (``sectors``: ``s.sectors``)."""


@kernel_overload(_refuse)
def _refuse_impl(day, s, sectors):
    if len(sectors) == 0:  # no sectors: nothing to unroll, nobody refused
        return lambda day, s, sectors: None

    def impl(day, s, sectors):
        parts = [np.empty(0, np.int64)]
        total = 0
        j = 0
        for sector in literal_unroll(sectors):
            ids = compiled_bernoulli_ids(sector.key, day, s.n, sector.rate, s.threads)
            low = np.zeros(ids.size, np.bool_)
            if state_reads(sector.scorer, day):  # else the state reads no score: none refused
                sc, scored = scores_of(sector.scorer, ids, day), has_score(sector.scorer, ids)
                for i in range(ids.size):
                    low[i] = sc[i] < sector.below and scored[i]
            if sector.another_column >= 0 and ids.size:
                own = own_scores(sector.scorer, ids, day)
                for i in range(ids.size):  # refused, though their own score would pass
                    if low[i] and own[i] >= sector.below:
                        s.today[sector.another_column] += 1.0
            refused = kept(ids, low)
            parts.append(refused)
            total += refused.size
            s.today[j] += refused.size
            j += 1  # noqa: SIM113 (enumerate cannot unroll a tuple of records)
        s.refused_ids = joined(parts, total)

    return impl


@step_kernel
def _step(day, board, s):
    _refuse(day, s, s.sectors)


@kernel
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
        self.scorers: dict[str, Scoring] = {
            sector: compiled_scorer(
                sim, rule.score, self.name, f"{self.name}.sectors.{sector}.score"
            )
            for sector, rule in self.params.sectors.items()
        }
        names = list(self.params.sectors)
        self.on_another_record = [n for n in names if self.scorers[n].misidentifies()]
        """Sectors whose score may come from someone else's records: they count what it did."""
        another = {n: len(names) + i for i, n in enumerate(self.on_another_record)}
        self.metric_columns = (
            *(f"{self.name}_{n}_refused" for n in names),
            *(f"{self.name}_{n}_refused_on_another_record" for n in self.on_another_record),
        )
        self.n = sim.pop.n
        sectors = tuple(
            ScoreSectorRule(
                key=self.key(f"{name}/attempt"),
                rate=rule.attempt_rate,
                below=rule.below,
                scorer=self.scorers[name].state,
                another_column=another.get(name, -1),
            )
            for name, rule in self.params.sectors.items()
        )
        width = len(self.metric_columns)
        self.state = _new_state(sectors, self.n, run_threads(self.n), width)
        self.today = today_of(self.state)

    @property
    def refused_ids(self) -> np.ndarray:
        """Whose attempts were refused today (sector by sector)."""
        return _refused_ids(self.state)

    def metrics(self, day: int) -> dict[str, float | int]:
        return dict(zip(self.metric_columns, map(int, self.today.tolist()), strict=True))

    @property
    def refused(self) -> dict[str, int]:
        """Refused attempts so far, by sector."""
        counts = map(int, self.today.tolist()[: len(self.params.sectors)])
        return dict(zip(self.params.sectors, counts, strict=True))

    @property
    def refused_on_another_record(self) -> dict[str, int]:
        """Of them, those of misverified users whose own score would have passed, by sector."""
        counts = map(int, self.today.tolist()[len(self.params.sectors) :])
        return dict(zip(self.on_another_record, counts, strict=True))

    def summary(self) -> list[str]:
        text = ", ".join(f"{n.replace('_', ' ')} {c:,}" for n, c in self.refused.items())
        another = self.refused_on_another_record
        if another:
            wrong = ", ".join(f"{n.replace('_', ' ')} {c:,}" for n, c in another.items())
            text += f" (on another's records, of misverified users: {wrong})"
        return [f"{self.name}: refused {text}"]
