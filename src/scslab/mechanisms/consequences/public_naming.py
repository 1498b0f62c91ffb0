"""Public opinion supervision: disclosing and naming listed people, and what it costs them.

Seed article, quoting the 2014 planning outline: "strengthen disclosure and exposure of
trust-breaking acts ... shape moral condemnation". Each day a listed person who has not been named
yet is named with a daily probability (court websites, billboards, cinema screens, "deadbeat maps"
in messaging apps). Naming costs ties: each of the person's community ties cuts contact with a
probability. Ties are generated, not stored, so a cut is counted, not removed from the graph; the
cumulative count is the social cost this mechanism measures, with the share of it borne by people
listed on a false record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import prange
from pydantic import Field

from scslab.engine.mechanism import Consequences, MechanismParams
from scslab.kernels.parallel import sized_kernel
from scslab.kernels.rng import uniform
from scslab.kernels.sampling import bernoulli_ids
from scslab.mechanisms.lists.base import ListBase

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation
    from scslab.population import Population


class PublicNamingParams(MechanismParams):
    """Who is named, how fast, and what it costs."""

    list: str = Field(default="court_list", description="The list whose members are named.")
    naming_rate: float = Field(
        default=0.01,
        ge=0.0,
        le=1.0,
        description="Daily chance that a listed person not yet named is named (assumption: most "
        "within a few months of listing).",
    )
    ties: int = Field(default=8, ge=0, le=64, description="Community ties exposed to the naming.")
    tie_cut_prob: float = Field(
        default=0.1,
        ge=0.0,
        le=1.0,
        description="Chance that one tie cuts contact after a naming (assumption).",
    )


@sized_kernel("ids")
def _ties_cut(key, day, ids, ties, p):
    out = np.zeros(ids.size, np.int64)
    for i in prange(ids.size):
        for k in range(ties):
            if uniform(key, day, ids[i], k) < p:
                out[i] += 1
    return out


class PublicNaming(Consequences):
    """Names listed people publicly; counts the ties they lose."""

    name = "public_naming"
    Params = PublicNamingParams
    description = "public naming of listed people and the ties it costs them"
    params: PublicNamingParams

    def declare(self, pop: Population) -> None:
        self.named = pop.state.add_flag(f"{self.name}_named")

    def init(self, sim: Simulation) -> None:
        self.list = sim.get(self.params.list, ListBase, f"{self.name}.list")
        self.n = sim.pop.n
        self.count = 0
        self.count_innocent = 0
        self.ties_cut = 0
        self.ties_cut_innocent = 0

    def step(self, sim: Simulation, day: int) -> None:
        p = self.params
        ids = bernoulli_ids(self.key("naming"), day, self.n, p.naming_rate)
        ids = ids[self.list.flag.get(ids) & ~self.named.get(ids)]
        self.named.array[ids] |= self.named.mask
        false = self.list.false_flag.get(ids)
        cut = _ties_cut(self.key("ties"), day, ids, p.ties, p.tie_cut_prob)
        self.count += ids.size
        self.count_innocent += int(false.sum())
        self.ties_cut += int(cut.sum())
        self.ties_cut_innocent += int(cut[false].sum())

    def metrics(self, day: int) -> dict[str, float | int]:
        n = self.name
        return {
            f"{n}_people_named": self.count,
            f"{n}_innocents_named": self.count_innocent,
            f"{n}_ties_cut": self.ties_cut,
            f"{n}_ties_cut_innocents": self.ties_cut_innocent,
        }

    def summary(self) -> list[str]:
        return [
            f"{self.name}: {self.count:,} people named ({self.count_innocent:,} listed on a false "
            f"record); {self.ties_cut:,} ties cut"
        ]
