"""Travel bans on listed people: blocked flight and high-speed-rail ticket purchases.

Every person attempts purchases at a daily rate; an attempt by a listed person is blocked with the
enforcement probability. Attempts are sampled over the whole population (cost grows with the
attempts, not with the list) and filtered by the list flag, so the same person makes the same
attempts in every scenario that shares a seed. Counts are cumulative purchase *attempts*, as in
``calibration/blacklist_court_defaulters.csv`` (they count attempts, not people).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from scslab.engine.mechanism import Consequences, MechanismParams
from scslab.kernels.sampling import bernoulli_ids, uniforms
from scslab.mechanisms.lists.base import ListBase

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation


class TravelBansParams(MechanismParams):
    """Purchase rates of listed people and enforcement."""

    list: str = Field(default="court_list", description="The list whose members are banned.")
    flight_attempt_rate: float = Field(
        default=0.0015,
        ge=0.0,
        le=1.0,
        description="Flight purchase attempts per listed person per day: 6.15 million blocked "
        "attempts by 2017-02-14 over roughly 4 billion listed person-days since 2013-10 "
        "(calibration/blacklist_court_defaulters.csv), rough.",
    )
    train_attempt_rate: float = Field(
        default=0.0005,
        ge=0.0,
        le=1.0,
        description="High-speed rail attempts per listed person per day: 2.22 million blocked by "
        "2017-02-14 over the same person-days, rough.",
    )
    enforcement: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description="Chance an attempt by a listed person is blocked (assumption: ID-checked "
        "ticketing blocks every attempt).",
    )


class TravelBans(Consequences):
    """Blocked flight and train purchases of people on a list."""

    name = "travel_bans"
    Params = TravelBansParams
    description = "flight and high-speed rail purchase bans on a list's members"
    params: TravelBansParams

    def init(self, sim: Simulation) -> None:
        lst = sim.get(self.params.list)
        if not isinstance(lst, ListBase):
            raise TypeError(f"travel_bans.list must name a list, {self.params.list!r} is not one")
        self.flag = lst.flag
        self.flights = 0
        self.trains = 0
        self.blocked_ids = np.empty(0, np.int64)

    def _blocked(self, mode: str, rate: float, sim: Simulation, day: int) -> np.ndarray:
        ids = bernoulli_ids(self.key(f"{mode}/attempt"), day, sim.pop.n, rate)
        ids = ids[self.flag.get(ids)]
        if self.params.enforcement < 1.0:
            ids = ids[uniforms(self.key(f"{mode}/enforce"), day, ids, 0) < self.params.enforcement]
        return ids

    def step(self, sim: Simulation, day: int) -> None:
        p = self.params
        flights = self._blocked("flight", p.flight_attempt_rate, sim, day)
        trains = self._blocked("train", p.train_attempt_rate, sim, day)
        self.flights += flights.size
        self.trains += trains.size
        self.blocked_ids = np.concatenate([flights, trains])

    def metrics(self, day: int) -> dict[str, float | int]:
        return {"flight_purchases_blocked": self.flights, "train_purchases_blocked": self.trains}

    def summary(self) -> list[str]:
        return [f"travel bans: {self.flights:,} flight and {self.trains:,} train purchases blocked"]
