"""Small pieces shared by several mechanisms: trait-modulated rates and their thinning kernel.

A *modulated rate* is ``rate * (1 + weight * (2 * trait - 1))`` for one static trait in [0, 1): the
population mean is ``rate`` and the weight (in [-1, 1]) says how strongly, and in which direction,
the trait drives it. ``sample_modulated`` draws today's people with such a rate in time
proportional to the number of events.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from scslab.kernels.sampling import thinned_ids
from scslab.population import Population

TraitName = Literal["compliance", "dissent", "boldness", "opportunism", "online"]


class ModulatedRate(BaseModel):
    """A daily probability per person, modulated by one static trait."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rate: float = Field(ge=0.0, le=0.5, description="Mean probability per person per day.")
    trait: TraitName = Field(default="compliance", description="The trait that modulates it.")
    weight: float = Field(
        default=0.0,
        ge=-1.0,
        le=1.0,
        description="Trait effect: +1 doubles the rate at the top of the trait, -1 at the bottom.",
    )


def sample_modulated(
    pop: Population, spec: ModulatedRate, candidate_key: np.uint64, thin_key: np.uint64, day: int
) -> np.ndarray:
    """People for whom the modulated Bernoulli trial succeeds today, in increasing order."""
    top = spec.rate * (1.0 + abs(spec.weight))
    trait_key = getattr(pop.keys, spec.trait)
    return thinned_ids(candidate_key, day, pop.n, min(top, 1.0), thin_key, trait_key, spec.weight)
