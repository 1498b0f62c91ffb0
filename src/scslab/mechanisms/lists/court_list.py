"""The Supreme People's Court list of judgment defaulters ("laolai"), opened 2013-10-01.

A person enters when a court records a judgment left unpaid and leaves when a court records the
judgment repaid (``persons_complied_after_listing``, as in
``calibration/blacklist_court_defaulters.csv``), when an objection succeeds, or, if a term is set,
when the listing term ends. Each exit counts once, by how it happened: an objection won or a term
ended on the day of a repayment takes the person off first (``lists/base.apply_day``), so
``persons_complied_after_listing`` counts those who left by repaying, and the exits are the
appeals won, the listings expired and the people who complied. The list sees records, not
truth: a false court record lists an innocent person, counted among ``innocents_listed``.

Owns the court list's entry and exit rule (which records list and which delist) and its
parameters; the membership, appeals, terms and metrics are the shared list machinery's
(``lists/base.py``). It posts nothing and touches no score, sanction or debt: the debt mechanism
and the sanctions read its flags.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from scslab.catalogue import ActName
from scslab.engine.steps import compiled_mechanism
from scslab.kernels.jit import kernel, step_kernel
from scslab.kernels.structs import compiled_struct
from scslab.mechanisms.lists.base import (
    EVER_LISTED,
    list_metrics,
    list_record_fields,
    scheduled_exits_so_far,
)
from scslab.mechanisms.lists.record_list import (
    RECORD_LIST_OWN,
    RecordList,
    RecordListParams,
    record_list_day,
)

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation


class CourtListParams(RecordListParams):
    """The court list's rules."""

    entry_acts: list[ActName] = Field(
        default=["court_judgment_unpaid"],
        min_length=1,
        description="Recorded acts that list a person.",
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


CourtListFields = list_record_fields("CourtListFields", (*RECORD_LIST_OWN, "complied"), __name__)
"""A record list's fields and how many listed people left it by repaying (``complied[0]``): by
its exit records, not by an appeal or a term that ended the listing the same day."""

CourtListState = compiled_struct("CourtListState", CourtListFields._fields, __name__)


@kernel
def _new_state(fields):
    return CourtListState(*fields)


@step_kernel
def _step(day, board, s):
    scheduled = scheduled_exits_so_far(s)
    record_list_day(day, board, s)
    # who left by the list's own exit rule (its exit records: a repayment), counted as the day's
    # exits less those an appeal or a term made; a repayment on the day of one of those does not
    # count, as that exit took the person off (``apply_day``)
    s.complied[0] += s.exited.size - (scheduled_exits_so_far(s) - scheduled)


@step_kernel
def _metrics(day, s):
    j = list_metrics(day, s)
    s.today[j] = s.stats[EVER_LISTED]  # persons_ever_listed, the calibration figure's name
    s.today[j + 1] = s.complied[0]


@kernel
def _complied(s):
    return s.complied


compiled_mechanism(CourtListState, _step, _metrics)


class CourtDefaulterList(RecordList):
    """Entries on recorded unpaid judgments; exits on repayment, successful objection or term."""

    name = "court_list"
    Params = CourtListParams
    description = "court judgment-defaulter blacklist: entry on unpaid judgment, exit on repayment"
    params: CourtListParams

    def init(self, sim: Simulation) -> None:
        super().init(sim)
        self.complied = _complied(self.state)
        """Listed people who left the list by repaying, so far (``complied[0]``)."""

    def init_columns(self) -> tuple[str, ...]:
        return (*super().init_columns(), "persons_ever_listed", "persons_complied_after_listing")

    def record_state(self, fields: tuple) -> object:
        return _new_state(CourtListFields(**fields._asdict(), complied=np.zeros(1, np.int64)))
