"""Travel bans on listed people: blocked flight and high-speed-rail ticket purchases.

The two travel sectors of joint punishment, with the metric names of
``calibration/blacklist_court_defaulters.csv`` (``flight_purchases_blocked``,
``train_purchases_blocked``): cumulative purchase *attempts*, not people.

Owns the ``travel_bans`` parameters (the list, the two attempt rates, the enforcement), its two
sectors and its summary line. The blocking rule and its counts are the shared sector machinery's
(``consequences/sectors.py``); neither sector reaches the family or costs income, and it changes
no list's membership and no score.
"""

from __future__ import annotations

from pydantic import Field

from scslab.engine.mechanism import MechanismParams
from scslab.mechanisms.consequences.sectors import Sector, SectorSanctions


class TravelBansParams(MechanismParams):
    """Purchase rates of listed people and enforcement."""

    list: str = Field(default="court_list", description="The list whose members are banned.")
    flight_attempt_rate: float = Field(
        default=0.0015,
        ge=0.0,
        le=1.0,
        description="Flight purchase attempts per listed person per day: 6.15 million blocked "
        "attempts by 2017-02-14 over roughly 4 billion listed person-days since 2013-10 "
        "(calibration/blacklist_court_defaulters.csv) is 0.0015 (rough; joint_punishment_2016 "
        "fits 0.0017).",
    )
    train_attempt_rate: float = Field(
        default=0.0005,
        ge=0.0,
        le=1.0,
        description="High-speed rail attempts per listed person per day: 2.22 million blocked by "
        "2017-02-14 over the same person-days (calibration/blacklist_court_defaulters.csv) is "
        "0.00056, rounded down to 0.0005 (rough; joint_punishment_2016 fits 0.00061).",
    )
    enforcement: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description="Chance an attempt by a listed person is blocked (assumption: ID-checked "
        "ticketing blocks every attempt).",
    )


class TravelBans(SectorSanctions):
    """Blocked flight and train purchases of people on a list."""

    name = "travel_bans"
    Params = TravelBansParams
    description = "flight and high-speed rail purchase bans on a list's members"
    params: TravelBansParams

    def list_name(self) -> str:
        return self.params.list

    def sectors(self) -> dict[str, Sector]:
        p = self.params
        return {
            "flight_purchases": Sector(
                attempt_rate=p.flight_attempt_rate, enforcement=p.enforcement
            ),
            "train_purchases": Sector(attempt_rate=p.train_attempt_rate, enforcement=p.enforcement),
        }

    def summary(self) -> list[str]:
        f, t = self.blocked["flight_purchases"], self.blocked["train_purchases"]
        return [f"travel bans: {f:,} flight and {t:,} train purchases blocked"]
