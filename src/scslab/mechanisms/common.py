"""Small pieces shared by several mechanisms: trait-modulated rates, and names in metric columns.

A *modulated rate* is ``rate * (1 + weight * (2 * trait - 1))`` for one static trait in [0, 1): the
population mean is ``rate`` and the weight (in [-1, 1]) says how strongly, and in which direction,
the trait drives it. ``scslab.kernels.sampling.thinned_ids`` draws today's people with such a rate
at ``candidate_rate`` in time proportional to the number of events.

A name that a mechanism's parameters give and its metric columns carry (a reward sector, a
sanction's sector, a backlash programme) is lower case letters, digits and underscores, a letter
first (``column_names``).

Owns ``TraitName``, ``ModulatedRate`` (its bounds and ``candidate_rate``), the rule of names in
metric columns and the refusal of an empty list of sources (``some_sources``). It holds parameters
only, no kernel, state or mechanism: the draws are ``kernels/sampling.py``'s and the traits
``kernels/traits.py``'s.
"""

from __future__ import annotations

import re
from typing import Literal, TypeVar

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from scslab.parameter_tables import ParameterTable

TraitName = Literal["compliance", "dissent", "boldness", "opportunism", "online"]


class ModulatedRate(ParameterTable):
    """A daily probability per person, modulated by one static trait."""

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


T = TypeVar("T")


def column_names(value: dict[str, T], what: str) -> dict[str, T]:
    """``value``, whose keys go into metric column names, if each is one (a validator's body).

    Raises:
        ValueError: A key that is not lower case letters, digits and underscores, a letter
            first, named as ``what`` ("sector", "programme").
    """
    for name in value:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise ValueError(
                f"{what} name {name!r} must be lower case letters, digits and underscores"
            )
    return value


def some_sources(value: list[str] | None, default: list[str] | None) -> list[str] | None:
    """``value``, a list of data sources to read or evade, unless it is empty (a validator's body).

    An empty list reads nothing, in silence: ``default`` (None: every source) says what leaving
    the key out gives instead.

    Raises:
        ValueError: An empty list, with what to give instead.
    """
    if value is not None and not value:
        instead = "every source" if default is None else f"the default, {', '.join(default)}"
        raise ValueError(
            f"an empty list names no source; name at least one, or leave the key out for {instead}"
        )
    return value


def _some_sources_of(cls: type[BaseModel], value: list[str] | None, info: ValidationInfo):
    field = info.field_name or "sources"
    return some_sources(value, cls.model_fields[field].default)


SOME_SOURCES = field_validator("sources")(_some_sources_of)
"""A parameter model's check of its ``sources`` (``some_sources``), with its own default named:
``_some_sources = SOME_SOURCES`` in the class body."""
