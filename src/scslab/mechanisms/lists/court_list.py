"""The Supreme People's Court list of judgment defaulters ("laolai"), opened 2013-10-01.

A person enters when a court records a judgment left unpaid and leaves when a court records the
judgment repaid (``persons_complied_after_listing``, as in
``calibration/blacklist_court_defaulters.csv``), when an objection succeeds, or, if a term is set,
when the listing term ends. The list sees records, not truth: a false court record lists an
innocent person, counted among ``innocents_listed``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from scslab.catalogue import ActName
from scslab.mechanisms.lists.record_list import RecordList, RecordListParams

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation


class CourtListParams(RecordListParams):
    """The court list's rules."""

    entry_acts: list[ActName] = Field(
        default=["court_judgment_unpaid"], description="Recorded acts that list a person."
    )
    exit_acts: list[ActName] = Field(
        default=["judgment_repaid"], description="Recorded acts that take a person off the list."
    )
    appeal_share: float = Field(
        default=0.05,
        ge=0.0,
        le=1.0,
        description="Share of new entries that file a correction request (assumption).",
    )


class CourtDefaulterList(RecordList):
    """Entries on recorded unpaid judgments; exits on repayment, successful objection or term."""

    name = "court_list"
    Params = CourtListParams
    description = "court judgment-defaulter blacklist: entry on unpaid judgment, exit on repayment"
    params: CourtListParams

    def init(self, sim: Simulation) -> None:
        super().init(sim)
        self.complied = 0

    def after_change(self, sim: Simulation, day: int) -> None:
        if self.exited.size == 0:
            return
        rec = sim.board.records
        repaid = rec["pid"][self.exit[rec["act"]] & rec["true"]]
        self.complied += int(np.isin(self.exited, repaid).sum())

    def metrics(self, day: int) -> dict[str, float | int]:
        out = super().metrics(day)
        out["persons_ever_listed"] = out[f"{self.name}_persons_ever_listed"]
        out["persons_complied_after_listing"] = self.complied
        return out
