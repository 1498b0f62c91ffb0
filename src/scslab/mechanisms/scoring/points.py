"""Municipal point systems: a base score, a catalogue of points per recorded act, and grades.

A point system adds the catalogue's points for every record it receives, true or false (it cannot
tell them apart), and keeps the number of people in each grade up to date event by event, so that
grade counts cost nothing on days without records. The Rongcheng catalogue comes from
``calibration/local_point_systems.csv`` (official translation of the Rongcheng standard where
available); values not found there are labelled assumptions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from scslab.catalogue import Act, act_by_name
from scslab.engine.mechanism import MechanismParams, Scoring

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation
    from scslab.population import Population

OFFSET_LIMIT = 30_000
"""Scores are stored as an int16 offset from the base and saturate at +-30,000."""


class Grade(BaseModel):
    """A grade and the lowest score that earns it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    min_score: int


class PointSystemParams(MechanismParams):
    """A point catalogue and grade thresholds."""

    base: int = Field(default=1000, ge=0, le=30_000, description="Starting score of everyone.")
    points: dict[str, int] = Field(description="Act name -> points per record.")
    grades: list[Grade] = Field(description="Grades from best to worst with their lowest score.")

    @field_validator("points")
    @classmethod
    def _known(cls, value: dict[str, int]) -> dict[str, int]:
        for name, pts in value.items():
            act_by_name(name)
            if abs(pts) > 10_000:
                raise ValueError(f"points for {name} must be within +-10000, got {pts}")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> PointSystemParams:
        mins = [g.min_score for g in self.grades]
        if not self.grades or mins != sorted(mins, reverse=True):
            raise ValueError("grades must list best first with strictly falling min_score")
        if len(set(mins)) != len(mins):
            raise ValueError("grades must have distinct min_score values")
        return self


def rongcheng_points() -> dict[str, int]:
    """Rongcheng catalogue entries for the acts scslab simulates (calibration CSV)."""
    return {
        "traffic_offence": -5,  # traffic_ticket: press summary (Foreign Policy 2018), low
        "loan_arrears": -10,  # bank_arrears_per_monthly_cycle: official translation
        "court_judgment_unpaid": -30,  # sued_and_liable_for_debt: official translation
        "prosocial_act": 30,  # heroic_act: press summary (Foreign Policy 2018), low
    }


def rongcheng_grades() -> list[Grade]:
    """Rongcheng grades AAA..D.

    AAA >= 1050 (nearby Huantai county, press); the other cut-offs
    (AA 1030, A 960, B 850, C 600) follow press summaries of the Rongcheng measures: assumption.
    """
    return [
        Grade(name="AAA", min_score=1050),
        Grade(name="AA", min_score=1030),
        Grade(name="A", min_score=960),
        Grade(name="B", min_score=850),
        Grade(name="C", min_score=600),
        Grade(name="D", min_score=-30_000),
    ]


class RongchengParams(PointSystemParams):
    """Rongcheng's point system (defaults from calibration/local_point_systems.csv)."""

    points: dict[str, int] = Field(
        default_factory=rongcheng_points, description="Act name -> points per record."
    )
    grades: list[Grade] = Field(
        default_factory=rongcheng_grades,
        description="Grades from best to worst with their lowest score.",
    )


@njit(cache=True)
def _apply(pids, acts, true, offset, points, grade_of_offset_min, counts, stats):
    """Add points per record; keep grade counts; stats = [sum delta, false-record deltas]."""
    for i in range(pids.size):
        pts = points[acts[i]]
        if pts == 0:
            continue
        pid = pids[i]
        old = np.int64(offset[pid])
        new = min(max(old + pts, -OFFSET_LIMIT), OFFSET_LIMIT)
        g_old = _grade(grade_of_offset_min, old)
        g_new = _grade(grade_of_offset_min, new)
        counts[g_old] -= 1
        counts[g_new] += 1
        offset[pid] = new
        stats[0] += new - old
        if not true[i]:
            stats[1] += 1


@njit(inline="always", cache=True)
def _grade(mins, off):
    for g in range(mins.size):
        if off >= mins[g]:
            return g
    return mins.size - 1


class PointSystem(Scoring):
    """Base of point systems; subclasses set ``name`` and default parameters."""

    params: PointSystemParams

    def declare(self, pop: Population) -> None:
        self.offset = pop.state.add(f"{self.name}_offset", np.int16, 0)

    def init(self, sim: Simulation) -> None:
        p = self.params
        self.points = np.zeros(len(Act), np.int64)
        for name, pts in p.points.items():
            self.points[act_by_name(name)] = pts
        self.grade_names = [g.name for g in p.grades]
        self.mins = np.asarray([g.min_score - p.base for g in p.grades], np.int64)
        self.mins[-1] = min(self.mins[-1], -OFFSET_LIMIT)
        self.counts = np.zeros(len(p.grades), np.int64)
        self.counts[_grade(self.mins, 0)] = sim.pop.n
        self.stats = np.zeros(2, np.int64)  # sum of offsets, records from false claims
        self.n = sim.pop.n

    def step(self, sim: Simulation, day: int) -> None:
        rec = sim.board.records
        self.false_today = int(self.stats[1])
        _apply(
            rec["pid"],
            rec["act"].astype(np.int64),
            rec["true"],
            self.offset,
            self.points,
            self.mins,
            self.counts,
            self.stats,
        )
        self.false_today = int(self.stats[1]) - self.false_today

    def scores(self, pids: np.ndarray, day: int) -> np.ndarray:
        return self.params.base + self.offset[pids].astype(np.int64)

    def metrics(self, day: int) -> dict[str, float | int]:
        out: dict[str, float | int] = {
            f"{self.name}_mean": self.params.base + float(self.stats[0]) / self.n,
            f"{self.name}_false_record_changes": self.false_today,
        }
        for g, c in zip(self.grade_names, self.counts, strict=True):
            out[f"{self.name}_grade_{g}"] = int(c)
        return out

    def summary(self) -> list[str]:
        shares = ", ".join(
            f"{g} {c / self.n:.1%}" for g, c in zip(self.grade_names, self.counts, strict=True)
        )
        return [f"{self.name}: mean {self.params.base + self.stats[0] / self.n:.1f}; {shares}"]


class Rongcheng(PointSystem):
    """Rongcheng's credit points: 1000 base, a catalogue of deductions and additions, AAA..D."""

    name = "rongcheng_points"
    Params = RongchengParams
    description = "Rongcheng point catalogue (1000 base) and grades AAA..D"
