"""Census constants and the province table that shape synthetic populations.

Owns the numbers only (with their sources); the generators that use them live in
``geography``, ``households`` and ``attributes``. See ``scslab/data/SOURCES.md``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources

import numpy as np

HOUSEHOLD_SIZE_SHARES = np.array(
    [0.254, 0.297, 0.209, 0.132, 0.062, 0.046 / 3, 0.046 / 3, 0.046 / 3]
)
"""Share of households of 1..8 persons: census 2020 (NBS yearbook table 5-1, rounded); the 6+ share
is spread evenly over 6, 7 and 8 (assumption). Mean about 2.63."""

AGE_BAND_SHARES = (0.1795, 0.6335, 0.1870)
"""Shares aged 0-14, 15-59 and 60+: census 2020, communiqué No. 5."""

MALE_SHARE = 0.5124
"""Share of men: census 2020, communiqué No. 4."""

URBAN_SHARE_2020 = 0.6389
"""Share of residents living in urban areas: census 2020, communiqué No. 7 (63.89%). The packaged
provinces' shares weighted by their populations give 0.638 (``tests/test_population.py``)."""

CHINA_POPULATION_2020 = 1_411_778_724
"""Census 2020 national total, including 2,000,000 active service members (communiqué No. 3)."""


@dataclass(frozen=True)
class Province:
    """One row of the packaged province table."""

    name: str
    population: int
    urban_share: float


def provinces() -> tuple[Province, ...]:
    """The 31 mainland provinces with their 2020 population and urban share."""
    text = resources.files("scslab.data").joinpath("provinces.csv").read_text()
    rows = csv.DictReader(text.splitlines())
    return tuple(
        Province(r["province"], int(r["population_2020"]), float(r["urban_share_2020"]))
        for r in rows
    )


def province_names() -> list[str]:
    """Names accepted by ``population.provinces`` in a scenario."""
    return [p.name for p in provinces()]
