"""Everyday acts: traffic offences, prosocial acts, online criticism and petitioning.

Each kind of act has a mean daily rate per person and a trait that modulates it (see
``scslab.mechanisms.common``). The defaults are assumptions unless a source is named: the seed
article names the acts but gives no rates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit
from pydantic import Field

from scslab.catalogue import ACT_NAMES, ActName, act_by_name
from scslab.engine.board import written_in_order
from scslab.engine.mechanism import Behaviour, MechanismParams
from scslab.kernels.sampling import compiled_labelled_ids
from scslab.mechanisms.common import ModulatedRate

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation


def _default_acts() -> dict[str, ModulatedRate]:
    return {
        # Assumption: about one recorded-or-not traffic offence per person every 5-6 years;
        # compliant people offend less.
        "traffic_offence": ModulatedRate(rate=0.0005, trait="compliance", weight=-0.8),
        # Assumption: volunteering, blood donation or bravery about once every 14 years.
        "prosocial_act": ModulatedRate(rate=0.0002, trait="compliance", weight=0.5),
        # Assumption: critical posts about once every 3 years, driven by grievance (dissent).
        "online_criticism": ModulatedRate(rate=0.001, trait="dissent", weight=1.0),
        # About 0.4% of people petition each year (order of magnitude of the 6 million annual
        # letters and visits reported by the State Bureau for Letters and Calls; approximate).
        "petitioning": ModulatedRate(rate=0.000011, trait="dissent", weight=1.0),
    }


class EverydayActsParams(MechanismParams):
    """Rates of everyday acts, one table per act."""

    acts: dict[ActName, ModulatedRate] = Field(
        default_factory=_default_acts,
        description="Act name -> rate. Allowed names: " + ", ".join(ACT_NAMES.values()),
    )
    extra_acts: dict[ActName, ModulatedRate] = Field(
        default_factory=dict,
        description="More acts on top of ``acts`` (added to the defaults without repeating them; "
        "a name in both takes this rate).",
    )

    def all_acts(self) -> dict[str, ModulatedRate]:
        """``acts`` with ``extra_acts`` added."""
        return self.acts | self.extra_acts


@njit(cache=True)
def _draw_acts(day, n, keys, ps, thin_keys, trait_keys, weights, codes, pid, act, recorded, row):
    """Draw today's acts (``labelled_ids``) and write them on the board from ``row`` if they fit.

    Returns how many acts of each kind were drawn, whether they fitted in the buffers (if not,
    nothing is written: the caller makes room and draws again, the same acts), and whether the
    buffers stay ordered by person.
    """
    ids, kinds, counts = compiled_labelled_ids(
        keys, day, n, ps, thin_keys, trait_keys, weights, codes
    )
    if row + ids.size > pid.size:
        return counts, False, False
    for i in range(ids.size):
        pid[row + i], act[row + i], recorded[row + i] = ids[i], kinds[i], False
    return counts, True, written_in_order(pid, row, ids.size)


class EverydayActs(Behaviour):
    """Acts people commit on their own, at trait-modulated daily rates."""

    name = "everyday_acts"
    Params = EverydayActsParams
    description = "traffic offences, prosocial acts, online criticism, petitioning"
    params: EverydayActsParams

    def init(self, sim: Simulation) -> None:
        rates = self.params.all_acts()
        codes = [act_by_name(n) for n in rates]
        self.draws = (
            np.asarray([self.key(f"{n}/candidates") for n in rates], np.uint64),
            np.asarray([spec.candidate_rate for spec in rates.values()], np.float64),
            np.asarray([self.key(f"{n}/thin") for n in rates], np.uint64),
            np.asarray([getattr(sim.pop.keys, spec.trait) for spec in rates.values()], np.uint64),
            np.asarray([spec.weight for spec in rates.values()], np.float64),
            np.asarray(codes, np.int16),
        )
        self.columns = [f"acts_{ACT_NAMES[act]}" for act in codes]
        mean = sim.pop.n * float(self.draws[1].sum())  # candidates a day: at least the acts
        self.room = int(mean + 8.0 * mean**0.5 + 64)
        """Board rows made ready for a day's acts; a day that needs more grows it."""
        self.counts = [0] * len(codes)

    def step(self, sim: Simulation, day: int) -> None:
        board, n = sim.board, sim.pop.n
        counts, fitted, ordered = _draw_acts(day, n, *self.draws, *board.act_room(self.room))
        if not fitted:  # more acts than ever expected: make room and draw the same acts again
            self.room = int(counts.sum())
            counts, fitted, ordered = _draw_acts(day, n, *self.draws, *board.act_room(self.room))
        self.counts = counts.tolist()
        board.acts_written(sum(self.counts), ordered)

    def metrics(self, day: int) -> dict[str, float | int]:
        return dict(zip(self.columns, self.counts, strict=True))
