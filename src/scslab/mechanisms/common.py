"""Small pieces shared by several mechanisms: trait-modulated rates.

A *modulated rate* is ``rate * (1 + weight * (2 * trait - 1))`` for one static trait in [0, 1): the
population mean is ``rate`` and the weight (in [-1, 1]) says how strongly, and in which direction,
the trait drives it. ``scslab.kernels.sampling.thinned_ids`` draws today's people with such a rate
at ``candidate_rate`` in time proportional to the number of events.

Owns ``TraitName`` and ``ModulatedRate`` (its bounds and ``candidate_rate``). It holds
parameters only, no kernel, state or mechanism: the draws are ``kernels/sampling.py``'s and the
traits ``kernels/traits.py``'s.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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
        description="Trait effect: +1 doubles the rate at the top of the trait, -1 at the bottom "
        "(default 0: none, an assumption).",
    )

    @property
    def candidate_rate(self) -> float:
        """The highest rate of anyone, at which candidates are drawn before thinning."""
        return min(1.0, self.rate * (1.0 + abs(self.weight)))
