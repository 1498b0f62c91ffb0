"""Deterrence: offences fall with the perceived chance of detection times the penalty.

Becker ("Crime and punishment: an economic approach", Journal of Political Economy 76, 1968)
makes offences a decreasing function of the chance of conviction ``p`` and the punishment ``f``,
through the expected punishment ``p f``. Here each offence that a person would commit today (an
act of a chosen kind drawn by ``everyday_acts``) is committed with probability

    1 / (1 + k p_i f)

and withdrawn otherwise, before any data source sees it: ``f`` is the act's penalty (points lost,
as a number), ``k`` the sensitivity (an assumption: ``k p f = 1`` halves offences), and ``p_i``
the detection the person perceives. ``p`` is the chance that the enabled data sources record the
act in the person's urban or rural region (or a set value), and bolder people perceive less of
it: ``p_i = min(1, p (1 - m (2 b_i - 1)))`` for the boldness trait ``b_i`` and misperception
``m``. The form is an assumption; Becker fixes only its direction. The elasticity of offences
with respect to ``p`` (or ``f``) is ``-k p f / (1 + k p f)``.

Nothing is stored per person (the boldness trait is recomputed from (seed, id)). This module owns
the decision to offend or not; it must not change the acts' rates (``everyday.py``), the records
or any other mechanism's state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import numpy as np
from pydantic import Field

from scslab.catalogue import ACT_NAMES, Act, ActName, act_by_name
from scslab.engine.board import posted_acts
from scslab.engine.mechanism import MechanismParams
from scslab.engine.steps import compiled_mechanism, today_of
from scslab.kernels.jit import kernel, step_kernel
from scslab.kernels.rng import uniform
from scslab.kernels.structs import compiled_struct
from scslab.kernels.traits import trait_factor
from scslab.mechanisms.behaviour.withdrawal import (
    ActWithdrawal,
    perceived_recording,
    weighed_rows,
    withdraw_unkept,
)

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation


class DeterrenceParams(MechanismParams):
    """Penalties, perceived detection and how strongly expected punishment deters."""

    penalties: dict[ActName, Annotated[float, Field(ge=0.0, le=1e6)]] = Field(
        default={"traffic_offence": 5.0, "commercial_fraud": 30.0},
        description="Act name -> penalty f (points lost) of each offence deterred. Defaults "
        "(source: calibration/local_point_systems.csv, Rongcheng: a traffic ticket -5, of low "
        "reliability; multi-level marketing or commercial fraud -30).",
    )
    sensitivity: float = Field(
        default=0.05,
        ge=0.0,
        le=100.0,
        description="k: offences are committed with probability 1 / (1 + k p f) (assumption: an "
        "expected loss of 20 points halves them; the form follows Becker 1968, whose model "
        "fixes only that offences fall with p and f).",
    )
    detection: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="p: the chance of detection, the same for every act and region. Default: for "
        "each act and urban or rural region, the chance that the enabled data sources record it "
        "(source: their coverage, mechanisms.data_sources; the defaults there are assumptions).",
    )
    misperception: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="m: a person perceives p (1 - m (2 b - 1)) for their boldness trait b, so the "
        "boldest see (1 - m) p and the most timid (1 + m) p, at most 1 (assumption).",
    )


DeterrenceState = compiled_struct(
    "DeterrenceState",
    (
        "keep_key",
        "boldness_key",
        "bounds",
        "column",
        "weight",
        "detection",
        "misperception",
        "committed",
        "deterred",
        "today",
    ),
    __name__,
)
"""The key of the keep decisions; the boldness trait's key; the regions; per act code, its place
among the deterred acts (-1: not deterred), ``k f`` and ``p`` by act and rurality; the
misperception; offences committed so far, and deterred so far per act; today's metrics
(offences committed, deterred, then deterred per act)."""

_COMMITTED, _DETERRED, _FIRST_ACT = 0, 1, 2
"""Places of today's metrics in ``today``."""


@kernel
def _new_state(keep_key, boldness_key, bounds, column, weight, detection, misperception, k):
    return DeterrenceState(
        keep_key,
        boldness_key,
        bounds,
        column,
        weight,
        detection,
        misperception,
        np.zeros(1, np.int64),
        np.zeros(k, np.int64),
        np.zeros(_FIRST_ACT + k, np.float64),
    )


@kernel(inline="always")
def commit_chance(weight: float, detection: float, perception: float) -> float:
    """``1 / (1 + k f p_i)`` with ``weight = k f`` and ``p_i = min(1, detection * perception)``."""
    return 1.0 / (1.0 + weight * min(1.0, detection * perception))


@kernel(error_model="numpy")
def _decide(day, pid, act, weight, detection, keep_key, boldness_key, misperception, kept):
    """Whether each offence (person, act, ``k f``, ``p``) is committed: kept with its chance.

    One keep draw per person, act and day; bolder people perceive less. A loop over arrays
    read in order and without branches to guess: vector code.
    """
    for k in range(pid.size):
        p = pid[k]
        chance = commit_chance(
            weight[k], detection[k], trait_factor(boldness_key, p, -misperception)
        )
        kept[k] = (chance >= 1.0) | (uniform(keep_key, day, p, act[k]) < chance)


@step_kernel
def _step(day, board, s):
    posted_pid, posted_act = posted_acts(board)
    rows, pid, act, detection = weighed_rows(
        posted_pid, posted_act, s.column, s.bounds, s.detection
    )
    weight = np.empty(rows.size, np.float64)
    for k in range(rows.size):
        weight[k] = s.weight[act[k]]
    kept = np.empty(rows.size, np.bool_)
    _decide(day, pid, act, weight, detection, s.keep_key, s.boldness_key, s.misperception, kept)
    deterred = np.zeros(s.deterred.size, np.int64)
    for k in range(rows.size):
        deterred[s.column[act[k]]] += not kept[k]
    withdraw_unkept(board, posted_pid.size, rows, kept)
    committed = rows.size - deterred.sum()
    s.committed[0] += committed
    s.deterred += deterred
    s.today[_COMMITTED] = committed
    s.today[_DETERRED] = deterred.sum()
    for j in range(deterred.size):
        s.today[_FIRST_ACT + j] = deterred[j]


@kernel
def _totals(s):
    return s.committed, s.deterred


compiled_mechanism(DeterrenceState, _step)


class Deterrence(ActWithdrawal):
    """Offences deterred by their expected punishment (Becker 1968)."""

    name = "deterrence"
    Params = DeterrenceParams
    description = "offences deterred by perceived detection times penalty"
    params: DeterrenceParams
    acts_field = "penalties"

    def init(self, sim: Simulation) -> None:
        p = self.params
        self.check_withdrawn_acts(sim)  # first: no place in the plan would make them right
        self.check_place_in_plan(sim)
        self.acts = [act_by_name(a) for a in self.weighed_acts()]
        column = np.full(len(Act), -1, np.int64)
        weight = np.zeros(len(Act))
        for j, (a, penalty) in enumerate(zip(self.acts, p.penalties.values(), strict=True)):
            column[a] = j
            weight[a] = p.sensitivity * penalty
        if p.detection is None:
            detection = perceived_recording(sim)
        else:
            detection = np.full((len(Act), 2), p.detection)
        self.state = _new_state(
            keep_key=self.key("keep"),
            boldness_key=sim.pop.keys.boldness,
            bounds=sim.pop.geography.bounds,
            column=column,
            weight=weight,
            detection=detection,
            misperception=p.misperception,
            k=len(self.acts),
        )
        self.today = today_of(self.state)
        n = self.name
        self.metric_columns = (
            f"{n}_offences_committed",
            f"{n}_offences_deterred",
            *(f"{n}_deterred_{ACT_NAMES[a]}" for a in self.acts),
        )

    def summary(self) -> list[str]:
        committed, by_act = (x.tolist() for x in _totals(self.state))
        deterred = sum(by_act)
        share = deterred / max(deterred + committed[0], 1)
        kinds = ", ".join(f"{ACT_NAMES[a]} {d:,}" for a, d in zip(self.acts, by_act, strict=True))
        return [
            f"{self.name}: {deterred:,} offences deterred, {share:.1%} of those people would "
            f"have committed ({kinds or 'no act chosen'})"
        ]
