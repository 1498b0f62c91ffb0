"""Responses that withdraw some of today's acts before any data source sees them.

People respond to the system by not doing what they would otherwise do: offences deterred
(``deterrence.py``), dissent self-censored (``self_censorship.py``). Both are behaviour
mechanisms that run after the mechanisms that post the acts they weigh (``everyday_acts``) and
withdraw some of them from the board (``engine.board.withdraw_acts``) before the observation
phase reads it. This module owns what they share: that place in the day, checked once, and what
people perceive of the data sources (the chance that an act is recorded, by act and urban or
rural region).

It must not touch the acts' rates (``everyday.py``), the data sources' records or any other
mechanism's state: it reads the data sources' parameters only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from scslab.catalogue import Act
from scslab.engine.compiled_plan import CompiledSteps
from scslab.engine.mechanism import Behaviour
from scslab.errors import ScenarioError
from scslab.mechanisms.observation.sources import DataSources, recording_chance
from scslab.population.geography import region_of

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation


@njit(inline="always", cache=True)
def is_rural(bounds: np.ndarray, pid: int) -> int:
    """1 when ``pid`` lives in a rural region, else 0 (regions alternate urban, rural)."""
    return region_of(bounds, pid) % 2


def perceived_recording(sim: Simulation) -> np.ndarray:
    """``chance[act, rural]`` that the enabled data sources record an act (0 without any).

    Several ``data_sources`` tables miss independently. Sharing dates are ignored: people weigh
    the sources as they will be, not day by day.
    """
    missed = np.ones((len(Act), 2))
    for m in sim.mechanisms.values():
        if isinstance(m, DataSources):
            missed *= 1.0 - recording_chance(m.params.all_sources())
    return 1.0 - missed


class ActWithdrawal(CompiledSteps, Behaviour):
    """A behaviour mechanism that withdraws some of the acts posted before it on the same day."""

    def check_place_in_plan(self, sim: Simulation) -> None:
        """Refuse a scenario in which an act-posting behaviour mechanism comes after this one.

        Acts posted after it would escape it unseen; a scenario lists it after them.

        Raises:
            ScenarioError: a behaviour mechanism other than a withdrawal comes later in the plan.
        """
        names = [row.mechanism for row in sim.plan]
        later = [
            n
            for n in names[names.index(self.name) + 1 :]
            if isinstance(sim.mechanisms[n], Behaviour)
            and not isinstance(sim.mechanisms[n], ActWithdrawal)
        ]
        if later:
            raise ScenarioError(
                f"{sim.scenario.source}: mechanisms.{self.name}: withdraws acts posted before it, "
                f"but {', '.join(later)} comes after it; list [mechanisms.{self.name}] after "
                f"[mechanisms.{later[-1]}]"
            )
