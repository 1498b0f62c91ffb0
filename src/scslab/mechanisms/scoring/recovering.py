"""A score that falls with records and recovers with time: +1 per ``recovery_days`` clean days.

Scores are updated lazily: a person stores only the score offset after their last record and the
day of that record, and the current score is computed when needed::

    score(d) = min(cap, cap + offset + (d - last_day) // recovery_days)

The population mean is kept exact without touching every person each day: people still recovering
are counted by ``last_day % recovery_days`` (the day of the month-like cycle on which they gain a
point), and a calendar counts when each will reach the cap. This is the scoring rule of the
benchmark reference model (see ``benchmarks/``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit
from pydantic import Field

from scslab.catalogue import Act, Points, act_by_name
from scslab.engine.mechanism import MechanismParams, Scoring
from scslab.kernels.memory import prefetch_ahead

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation
    from scslab.population import Population


class RecoveringScoreParams(MechanismParams):
    """Cap, points per record and recovery speed."""

    cap: int = Field(default=1000, ge=0, le=30_000, description="Starting and highest score.")
    points: Points = Field(
        default={"offence": -50}, description="Act name -> points per record (reference model)."
    )
    recovery_days: int = Field(
        default=10, ge=1, le=3650, description="Clean days per point regained (reference model)."
    )


@njit(cache=True)
def _apply(pids, acts, points, offset, last, day, period, ticking, caps, stats):
    """Start the day (who gains a point today, who reached the cap), then apply its records."""
    r = day % period
    stats[0] += ticking[r]
    if day < caps.size:
        ticking[r] -= caps[day]
    for i in range(pids.size):
        prefetch_ahead(offset, pids, i)
        pts = points[acts[i]]
        if pts == 0:
            continue
        pid = pids[i]
        t = np.int64(last[pid])
        off = np.int64(offset[pid])
        cur = min(0, off + (day - t) // period)
        if cur < 0:
            ticking[t % period] -= 1
            c = t + period * (-off)
            if c < caps.size:
                caps[c] -= 1
        new = max(min(0, cur + pts), -30_000)
        if new < 0:
            ticking[day % period] += 1
            c = day + period * (-new)
            if c < caps.size:
                caps[c] += 1
        stats[0] += new - cur
        offset[pid] = new
        last[pid] = day


@njit(cache=True)
def _scores(pids, offset, last, day, period, cap):
    out = np.empty(pids.size, np.int64)
    for i in range(pids.size):
        prefetch_ahead(offset, pids, i)
        pid = pids[i]
        out[i] = cap + min(0, np.int64(offset[pid]) + (day - np.int64(last[pid])) // period)
    return out


@njit(cache=True)
def _day_reaching(pids, offset, last, day, period, cap, level):
    out = np.empty(pids.size, np.int64)
    for i in range(pids.size):
        prefetch_ahead(offset, pids, i)
        pid = pids[i]
        need = max(level - cap - np.int64(offset[pid]), 0)  # points to regain from offset
        out[i] = max(np.int64(last[pid]) + period * need, day)
    return out


class RecoveringScore(Scoring):
    """Falls by the points of each record, regains a point every ``recovery_days`` clean days."""

    name = "recovering_score"
    Params = RecoveringScoreParams
    description = "score that falls with records and recovers with clean days (reference model)"
    params: RecoveringScoreParams

    def declare(self, pop: Population) -> None:
        views = pop.state.add_record(self.name, {"offset": np.int16, "last_day": np.uint16})
        self.offset, self.last = views["offset"], views["last_day"]

    def init(self, sim: Simulation) -> None:
        self.points = np.zeros(len(Act), np.int64)
        for name, pts in self.params.points.items():
            self.points[act_by_name(name)] = pts
        self.period = self.params.recovery_days
        self.ticking = np.zeros(self.period, np.int64)
        self.caps = np.zeros(sim.days + 1, np.int64)
        self.stats = np.zeros(1, np.int64)  # sum of offsets (<= 0)
        self.n = sim.pop.n
        self.column = f"{self.name}_mean"

    def step(self, sim: Simulation, day: int) -> None:
        rec = sim.board.records
        _apply(
            rec["pid"],
            rec["act"],
            self.points,
            self.offset,
            self.last,
            day,
            self.period,
            self.ticking,
            self.caps,
            self.stats,
        )

    def scores(self, pids: np.ndarray, day: int) -> np.ndarray:
        pids = np.asarray(pids, np.int64)
        return _scores(pids, self.offset, self.last, day, self.period, self.params.cap)

    def day_reaching(self, pids: np.ndarray, day: int, level: int) -> np.ndarray:
        cap = self.params.cap
        if level > cap:
            return np.full(pids.size, -1, np.int64)
        pids = np.asarray(pids, np.int64)
        return _day_reaching(pids, self.offset, self.last, day, self.period, cap, level)

    @property
    def mean(self) -> float:
        """Exact population mean score today."""
        return self.params.cap + float(self.stats[0]) / self.n

    def metrics(self, day: int) -> dict[str, float | int]:
        return {self.column: self.mean}

    def summary(self) -> list[str]:
        return [f"{self.name}: mean score {self.mean:.2f}"]
