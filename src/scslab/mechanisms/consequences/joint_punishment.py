"""Joint punishment: sanctions across sectors for people on a list, and for their families.

The State Council General Office's 2016 document "Warning and Punishment Mechanisms for Persons
Subject to Enforcement for Trust-Breaking" lists the areas (seed article): travel (flights, rail,
abroad), internet speed, restaurants, nightclubs and hotels, loans and rentals, social security,
civil service and other jobs, founding social organisations, and children's schools, the one that
reaches family members. Flights and rail are left to ``travel_bans`` (in force since the list
opened), so both can run together. Each sector is a table of rules; the daily attempt rates are
assumptions (no source gives how often debtors try each), to be fitted where the calibration
figures allow.

Owns the ``joint_punishment`` parameters: the list it reads and the default sectors of the 2016
document. The blocking rule, its counts and what a blocked attempt costs (lost income, the
provenance's sanction counts) are the shared sector machinery's (``consequences/sectors.py``);
it changes no list's membership and no score.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from scslab.engine.mechanism import MechanismParams
from scslab.mechanisms.ages import WORKING_AGES
from scslab.mechanisms.common import column_names
from scslab.mechanisms.consequences.sectors import Sector, SectorSanctions


def _default_sectors() -> dict[str, Sector]:
    # Every attempt rate and enforcement below is an assumption (attempts per person per day).
    # Flights and high-speed rail are the separate `travel_bans` mechanism: the court's own
    # restrictions on high consumption, in force before the 2016 document. Who attempts: jobs,
    # people of working age (ages.WORKING_AGES, 18-59; the civil service recruits 18 to 35:
    # Civil Servant Law art. 13 and the national recruitment notices); a loan, a rental or an
    # organisation, adults of full civil capacity (Civil Code art. 17-18); a school place, a
    # child of 6 to 17 (Compulsory Education Law art. 11: school from 6), whose listed parent
    # blocks it through family extension; everything else, anyone.
    working = WORKING_AGES
    return {
        "travel_abroad": Sector(attempt_rate=0.00005),
        "internet_speed": Sector(attempt_rate=1 / 30, enforcement=0.5),  # monthly bill
        "restaurants_nightclubs": Sector(attempt_rate=0.005, enforcement=0.3),
        "hotels": Sector(attempt_rate=0.001, enforcement=0.8),
        "loans": Sector(attempt_rate=0.0005, enforcement=0.9, min_age=18),
        "rentals": Sector(attempt_rate=0.0003, enforcement=0.5, min_age=18),
        "social_security": Sector(attempt_rate=0.0005, enforcement=0.5),
        "civil_service_jobs": Sector(
            attempt_rate=0.0001, enforcement=1.0, income_loss=True, min_age=18, max_age=35
        ),
        "other_jobs": Sector(
            attempt_rate=0.0005,
            enforcement=0.3,
            income_loss=True,
            min_age=working.youngest,
            max_age=working.oldest,
        ),
        "founding_organisations": Sector(attempt_rate=0.00001, enforcement=1.0, min_age=18),
        "childrens_schools": Sector(
            attempt_rate=0.0003, enforcement=0.8, family_extension=True, min_age=6, max_age=17
        ),
    }


class JointPunishmentParams(MechanismParams):
    """Which list is punished, and the rules of each sector."""

    list: str = Field(default="court_list", description="The list whose members are sanctioned.")
    sectors: dict[str, Sector] = Field(
        default_factory=_default_sectors,
        description="Sector name -> attempt rate, enforcement, family extension, income loss, "
        "who attempts (min_age, max_age). Defaults: the sectors of the State Council's 2016 "
        "document (seed article), flights and rail left to travel_bans; every attempt rate and "
        "enforcement is an assumption; jobs are attempted at working age (18-59, an assumption; "
        "the civil service 18-35: Civil Servant Law art. 13 and the national recruitment "
        "notices), a loan, a rental or an organisation from 18 (Civil Code art. 17-18), a "
        "school place by a child of 6-17 (Compulsory Education Law art. 11). "
        "Setting it replaces them all; extra_sectors adds to them.",
    )
    extra_sectors: dict[str, Sector] = Field(
        default={},
        description="More sectors after ``sectors`` (added to the defaults without repeating "
        "them; a name in both takes these rules).",
    )

    @field_validator("sectors", "extra_sectors")
    @classmethod
    def _names(cls, value: dict[str, Sector]) -> dict[str, Sector]:
        return column_names(value, "sector")


class JointPunishment(SectorSanctions):
    """Sanctions in every sector of the 2016 document, with optional family extension."""

    name = "joint_punishment"
    Params = JointPunishmentParams
    description = "2016 joint punishment: sanctions per sector, family extension, lost income"
    params: JointPunishmentParams

    def list_name(self) -> str:
        return self.params.list

    def sectors(self) -> dict[str, Sector]:
        return self.params.sectors | self.params.extra_sectors
