"""Everyday acts: traffic offences, prosocial acts, online criticism and petitioning.

Each kind of act has a mean daily rate per person and a trait that modulates it (see
``scslab.mechanisms.common``). The defaults are assumptions unless a source is named: the seed
article names the acts but gives no rates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from scslab.catalogue import ACT_NAMES, ActName, act_by_name
from scslab.engine.mechanism import Behaviour, MechanismParams
from scslab.kernels.sampling import thinned_ids
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


class EverydayActs(Behaviour):
    """Acts people commit on their own, at trait-modulated daily rates."""

    name = "everyday_acts"
    Params = EverydayActsParams
    description = "traffic offences, prosocial acts, online criticism, petitioning"
    params: EverydayActsParams

    def init(self, sim: Simulation) -> None:
        self.kinds, self.columns = [], []
        for n, spec in self.params.all_acts().items():
            act = act_by_name(n)
            trait_key = getattr(sim.pop.keys, spec.trait)
            key, thin_key = self.key(f"{n}/candidates"), self.key(f"{n}/thin")
            self.kinds.append(
                (np.int16(act), key, spec.candidate_rate, thin_key, trait_key, spec.weight)
            )
            self.columns.append(f"acts_{ACT_NAMES[act]}")
        self.counts = [0] * len(self.kinds)

    def step(self, sim: Simulation, day: int) -> None:
        n, board = sim.pop.n, sim.board
        for i, (act, key, p, thin_key, trait_key, weight) in enumerate(self.kinds):
            ids = thinned_ids(key, day, n, p, thin_key, trait_key, weight)
            self.counts[i] = ids.size
            board.post_acts(ids, act)

    def metrics(self, day: int) -> dict[str, float | int]:
        return dict(zip(self.columns, self.counts, strict=True))
