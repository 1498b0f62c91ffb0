"""The Supreme People's Court list of judgment defaulters ("laolai"), opened 2013-10-01.

A person enters when a court records a judgment left unpaid and leaves when a court records the
judgment repaid (``persons_complied_after_listing``, as in
``calibration/blacklist_court_defaulters.csv``). The list sees records, not truth: a false court
record lists an innocent person, who is counted among ``innocents_listed`` (appeals come with the
lists of the next issue).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field, field_validator

from scslab.catalogue import Act, act_by_name
from scslab.engine.mechanism import MechanismParams
from scslab.mechanisms.lists.base import ListBase

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation


class CourtListParams(MechanismParams):
    """Which records put people on the list and take them off."""

    entry_acts: list[str] = Field(
        default=["court_judgment_unpaid"], description="Recorded acts that list a person."
    )
    exit_acts: list[str] = Field(
        default=["judgment_repaid"], description="Recorded acts that take a person off the list."
    )

    @field_validator("entry_acts", "exit_acts")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        for name in value:
            act_by_name(name)
        return value


class CourtDefaulterList(ListBase):
    """Entries on recorded unpaid judgments, exits on recorded repayment."""

    name = "court_list"
    Params = CourtListParams
    description = "court judgment-defaulter blacklist: entry on unpaid judgment, exit on repayment"
    params: CourtListParams

    def init(self, sim: Simulation) -> None:
        super().init(sim)
        self.entry = np.zeros(len(Act), np.bool_)
        self.entry[[act_by_name(a) for a in self.params.entry_acts]] = True
        self.exit = np.zeros(len(Act), np.bool_)
        self.exit[[act_by_name(a) for a in self.params.exit_acts]] = True
        self.complied = 0

    def step(self, sim: Simulation, day: int) -> None:
        rec = sim.board.records
        is_entry = self.entry[rec["act"]]
        is_exit = self.exit[rec["act"]] & rec["true"]
        sel = is_entry | is_exit
        self.change(rec["pid"][sel], is_entry[sel], is_entry[sel] & ~rec["true"][sel])
        self.complied += self.exited.size

    def metrics(self, day: int) -> dict[str, float | int]:
        out = super().metrics(day)
        out["persons_ever_listed"] = out[f"{self.name}_persons_ever_listed"]
        out["persons_complied_after_listing"] = self.complied
        return out
