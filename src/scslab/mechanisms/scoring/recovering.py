"""A score that falls with records and recovers with time: +1 per ``recovery_days`` clean days.

Scores are updated lazily: a person stores only the score offset after their last record and the
day of that record, and the current score is computed when needed::

    score(d) = min(cap, cap + offset + (d - last_day) // recovery_days)

The population mean is kept exact without touching every person each day: people still recovering
are counted by ``last_day % recovery_days`` (the day of the month-like cycle on which they gain a
point), and a calendar counts when each will reach the cap. This is the scoring rule of the
benchmark reference model (see ``benchmarks/``).

A score that a programme's end stopped (``Simulation.last_days``) stands as it was on its last day,
as every stopped mechanism's state does: read later, ``d`` is that day, not today, and a level it
had not reached by then it never reaches.

Owns the ``recovering_score`` mechanism: the offsets, the last record days, the mean's
bookkeeping and its calendar. It posts nothing and touches no other mechanism's state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from scslab.catalogue import Act, Points, act_by_name
from scslab.engine.board import records_of
from scslab.engine.mechanism import MechanismParams
from scslab.engine.steps import CompiledSteps, compiled_mechanism
from scslab.kernels.jit import kernel, step_kernel
from scslab.kernels.memory import prefetch_ahead
from scslab.kernels.structs import compiled_struct
from scslab.mechanisms.scoring.compiled import CompiledScoring, compiled_scoring

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation
    from scslab.population import Population


class RecoveringScoreParams(MechanismParams):
    """Cap, points per record and recovery speed."""

    cap: int = Field(
        default=1000,
        ge=0,
        le=30_000,
        description="Starting and highest score (assumption: the reference model's scale).",
    )
    points: Points = Field(
        default={"offence": -50},
        description="Act name -> points per record (assumption: the reference model's).",
    )
    recovery_days: int = Field(
        default=10,
        ge=1,
        le=3650,
        description="Clean days per point regained (assumption: the reference model's).",
    )


@kernel
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


@kernel
def _scores(pids, offset, last, day, period, cap):
    out = np.empty(pids.size, np.int64)
    for i in range(pids.size):
        prefetch_ahead(offset, pids, i)
        pid = pids[i]
        out[i] = cap + min(0, np.int64(offset[pid]) + (day - np.int64(last[pid])) // period)
    return out


@kernel
def _day_reaching(pids, offset, last, day, period, cap, level, stopped):
    """The day each of ``pids`` reaches ``level`` (``day`` if it has), -1 if after ``stopped``.

    A level (at most ``cap``) is reached ``period`` days per point after the last record.
    """
    out = np.empty(pids.size, np.int64)
    for i in range(pids.size):
        prefetch_ahead(offset, pids, i)
        pid = pids[i]
        need = max(level - cap - np.int64(offset[pid]), 0)  # points to regain from offset
        reach = np.int64(last[pid]) + period * need
        out[i] = -1 if reach > stopped else max(reach, day)
    return out


RecoveringState = compiled_struct(
    "RecoveringState",
    (
        "offset",
        "last",
        "points",
        "period",
        "cap",
        "n",
        "ticking",
        "caps",
        "stats",
        "today",
        "last_days",
        "position",
    ),
    __name__,
)
"""Per person the offset and the day of the last record; the catalogue, the recovery period,
the cap and the population; who gains a point on which day of the period, how many reach the
cap on each day, the sum of offsets; today's metric (the mean); ``Simulation.last_days``
(shared: a programme's end lowers it) and this mechanism's entry of it."""


@kernel
def _new_state(offset, last, points, period, cap, n, days, last_days, position):
    return RecoveringState(
        offset,
        last,
        points,
        period,
        cap,
        n,
        np.zeros(period, np.int64),
        np.zeros(days + 1, np.int64),
        np.zeros(1, np.int64),
        np.zeros(1, np.float64),
        last_days,
        position,
    )


@step_kernel
def _step(day, board, s):
    pid, act, _, _ = records_of(board)
    _apply(pid, act, s.points, s.offset, s.last, day, s.period, s.ticking, s.caps, s.stats)


@kernel
def _mean(s):
    """The exact population mean score today."""
    return s.cap + s.stats[0] / s.n


@step_kernel
def _metrics(day, s):
    s.today[0] = _mean(s)


@kernel
def _state_scores(s, pids, day):
    """The scores on ``day``, or on the score's last day if a programme's end stopped it."""
    return _scores(pids, s.offset, s.last, min(day, s.last_days[s.position]), s.period, s.cap)


@kernel
def _state_day_reaching(s, pids, day, level):
    """The day each of ``pids`` reaches ``level`` (``day`` if it has), -1 if never.

    A score stopped by a programme's end reaches a level only if it had by its last day.
    """
    if level > s.cap:
        return np.full(pids.size, -1, np.int64)
    stopped = s.last_days[s.position]
    return _day_reaching(pids, s.offset, s.last, day, s.period, s.cap, level, stopped)


@kernel
def _stats_and_today(s):
    return s.stats, s.today


compiled_mechanism(RecoveringState, _step, _metrics)
compiled_scoring(RecoveringState, _state_scores, _state_day_reaching)


class RecoveringScore(CompiledSteps, CompiledScoring):
    """Falls by the points of each record, regains a point every ``recovery_days`` clean days."""

    name = "recovering_score"
    Params = RecoveringScoreParams
    description = "score that falls with records and recovers with clean days (reference model)"
    params: RecoveringScoreParams
    scores_before_start = True  # everyone holds the cap from day 0

    def declare(self, pop: Population) -> None:
        views = pop.state.add_record(self.name, {"offset": np.int16, "last_day": np.uint16})
        self.offset, self.last = views["offset"], views["last_day"]

    def init(self, sim: Simulation) -> None:
        self.points = np.zeros(len(Act), np.int64)
        for name, pts in self.params.points.items():
            self.points[act_by_name(name)] = pts
        self.period = self.params.recovery_days
        self.n = sim.pop.n
        self.state = _new_state(
            self.offset,
            self.last,
            self.points,
            self.period,
            self.params.cap,
            self.n,
            sim.days,
            sim.last_days,
            sim.plan_position(self.name),
        )
        self.stats, self.today = _stats_and_today(self.state)
        """The sum of offsets (<= 0) and today's metric, shared with the record."""
        self.metric_columns = (f"{self.name}_mean",)
        self.float_metrics = frozenset(self.metric_columns)

    @property
    def mean(self) -> float:
        """Exact population mean score today."""
        return float(_mean(self.state))

    def summary(self) -> list[str]:
        return [f"{self.name}: mean score {self.mean:.2f}"]
