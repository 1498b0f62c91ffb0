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

from scslab.catalogue import Act
from scslab.engine.board import withdraw_acts
from scslab.engine.mechanism import Behaviour
from scslab.engine.steps import CompiledSteps
from scslab.errors import ScenarioError
from scslab.kernels.jit import kernel
from scslab.mechanisms.observation.sources import DataSources, recording_chance
from scslab.population.geography import region_of

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation


@kernel
def weighed_rows(pid, act, column, bounds, table):
    """The posted acts a response weighs (``column[act] >= 0``), gathered for its decisions.

    Returns their rows, persons, acts and ``table[act, rural]`` (rural: 1 where the person lives
    in a rural region; regions alternate urban, rural), as arrays of their own: the decisions
    then run as vector code (``_decide`` in each response), which reading through ``rows`` or
    looking up ``table`` in the loop would prevent. The regions come from a walk for rows in
    person order and a search where the order breaks (posted rows need not be ordered).
    """
    rows = np.empty(pid.size, np.int64)
    pids = np.empty(pid.size, np.int64)
    acts = np.empty(pid.size, np.int64)
    values = np.empty(pid.size, np.float64)
    m = 0
    r = 0
    for i in range(pid.size):
        code = act[i]
        if column[code] >= 0:
            p = pid[i]
            if p < bounds[r] or p >= bounds[r + 1]:
                r = region_of(bounds, p)
            rows[m], pids[m], acts[m], values[m] = i, p, code, table[code, r % 2]
            m += 1
    return rows[:m], pids[:m], acts[:m], values[:m]


@kernel
def withdraw_unkept(board, n: int, rows: np.ndarray, kept: np.ndarray) -> None:
    """Withdraw the acts at ``rows`` whose ``kept`` is false, of ``n`` posted."""
    if kept.all():
        return
    keep = np.ones(n, np.bool_)
    for k in range(rows.size):
        keep[rows[k]] = kept[k]
    withdraw_acts(board, keep)


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

    acts_field = "acts"
    """The parameter that names the acts it weighs (a list of act names, or a table by act)."""

    def weighed_acts(self) -> list[str]:
        """The acts it weighs, and may withdraw, in the order its ``acts_field`` names them."""
        return list(dict.fromkeys(getattr(self.params, self.acts_field)))

    def acts_posted(self) -> tuple[str, ...]:
        """None: it only withdraws acts."""
        return ()

    def check_withdrawn_acts(self, sim: Simulation) -> None:
        """Refuse withdrawing an act that another mechanism keeps state about.

        Withdrawing a debt's ``loan_arrears`` would hide the record of a debt that the debt
        mechanism still counts and schedules; only acts without state (everyday acts) may go.

        Raises:
            ScenarioError: one of its acts is in an enabled mechanism's ``acts_with_state``.
        """
        self.check_acts_without_state(sim, self.acts_field, self.weighed_acts(), "withdrawing")

    def check_place_in_plan(self, sim: Simulation) -> None:
        """Refuse a scenario in which a behaviour mechanism posting an act it weighs comes later.

        Those acts would escape it unseen; a scenario lists it after that mechanism. A later
        mechanism that posts none of them (``Behaviour.acts_posted``) may stay where it is.

        Raises:
            ScenarioError: a later behaviour mechanism may post one of its acts.
        """
        weighed = self.weighed_acts()
        names = [row.mechanism for row in sim.plan]
        later: dict[str, list[str]] = {}
        for n in names[names.index(self.name) + 1 :]:
            m = sim.mechanisms[n]
            posts = m.acts_posted() if isinstance(m, Behaviour) else ()
            if escaping := [a for a in weighed if a in posts]:
                later[n] = escaping
        if later:
            which = ", ".join(f"{n} ({', '.join(acts)})" for n, acts in later.items())
            raise ScenarioError(
                f"{sim.scenario.source}: mechanisms.{self.name}: withdraws acts posted before it, "
                f"but {which} {'come' if len(later) > 1 else 'comes'} after it; list "
                f"[mechanisms.{self.name}] after [mechanisms.{list(later)[-1]}]"
            )
