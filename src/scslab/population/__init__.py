"""Synthetic populations: people as a struct of arrays, most attributes computed from hashes.

A ``Population`` stores only what cannot be recomputed: the household byte per person and the
per-person state that mechanisms declare. Region, age, sex, income, occupation, traits and ties are
pure functions of (seed, person id) in ``attributes`` and ``geography``.

Owns ``PopulationParams`` and ``Population``: the region table, the household byte per person,
the attribute keys and the empty state registry, all built from the seed. It draws nothing after
set-up, and of the package it imports only the kernels and its own modules
(``tests/test_layers.py``); the state that mechanisms declare, and what they write in it, are
theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from pydantic import Field, field_validator

from scslab.kernels.rng import stream_key
from scslab.parameter_tables import ParameterTable
from scslab.population.attributes import AttributeKeys, age_table
from scslab.population.census import HOUSEHOLD_SIZE_SHARES, province_names, provinces
from scslab.population.geography import Geography, build_geography
from scslab.population.households import generate_households, size_cdf
from scslab.population.state import Flag, StateRegistry

__all__ = ["Flag", "Population", "PopulationParams", "StateRegistry"]


class PopulationParams(ParameterTable):
    """How the synthetic population is drawn."""

    CHANGE_HINT: ClassVar[str] = (
        "set it in the scenario file's [population] table, or make a changed copy with "
        "dataclasses.replace(sc, population=PopulationParams(..., {name}=...))"
    )

    provinces: list[str] | None = Field(
        default=None,
        description="Provinces to populate, in proportion to their 2020 census population "
        "(default: all 31).",
    )
    household_size: int | None = Field(
        default=None,
        ge=1,
        le=15,
        description="A fixed household size; default: the census 2020 size distribution.",
    )
    tie_locality: int = Field(
        default=500,
        ge=1,
        le=2_000_000_000,  # China's people, rounded up: a distance within any region
        description="Mean id distance of a community tie within a region (assumption: ties stay "
        "within a town-sized neighbourhood of ids).",
    )

    @field_validator("provinces")
    @classmethod
    def _known_provinces(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        known = province_names()
        unknown = [v for v in value if v not in known]
        if unknown:
            raise ValueError(f"unknown province {unknown[0]!r}; allowed: {', '.join(known)}")
        if not value:
            raise ValueError("give at least one province, or leave the key out for all 31")
        return value


@dataclass
class Population:
    """N synthetic people: households, regions, attribute keys and the state registry."""

    n: int
    seed: int
    params: PopulationParams
    geography: Geography = field(init=False)
    households: np.ndarray = field(init=False)
    age_table: np.ndarray = field(init=False)
    """By household size, who of a household is a child (``attributes.age`` reads it)."""
    keys: AttributeKeys = field(init=False)
    state: StateRegistry = field(init=False)

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"population must be at least 1 person, got {self.n}")
        if self.n >= 2**31:
            raise ValueError(f"population must be below 2**31 people, got {self.n}")
        chosen = provinces()
        if self.params.provinces is not None:
            wanted = set(self.params.provinces)
            chosen = tuple(p for p in chosen if p.name in wanted)
        self.geography = build_geography(self.n, chosen)
        if self.params.household_size is None:
            shares = HOUSEHOLD_SIZE_SHARES
        else:
            shares = np.zeros(self.params.household_size)
            shares[-1] = 1.0
        cdf = size_cdf(shares)
        self.households = generate_households(stream_key(self.seed, "households"), self.n, cdf)
        self.age_table = age_table(shares)
        self.keys = AttributeKeys.from_seed(self.seed)
        self.state = StateRegistry(self.n)

    def bytes_per_person(self) -> float:
        """Stored bytes per person: the household byte plus every declared state variable."""
        return self.households.itemsize + self.state.bytes_per_person()

    def layout(self) -> list[tuple[str, str, int]]:
        """(name, dtype, bytes per person) of everything stored per person."""
        return [("household", "uint8", 1), *self.state.layout()]
