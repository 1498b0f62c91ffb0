"""A list driven by records: some recorded acts put people on it, others take them off.

The generic shape of the state's sector blacklists and redlists: a tax blacklist enters on
recorded tax evasion, a redlist of honest taxpayers or volunteers enters on good records and ends
after a term. Several can run at once as instances (``[mechanisms.tax_blacklist]`` with
``type = "record_list"``). The list sees records, not truth: a false record lists an innocent
person, counted among ``innocents_listed`` until an appeal or the term ends the listing, and
noted with the source of that record (``mechanisms/provenance.py``).

Owns its entry and exit tables (by act) and the sources it reads; the membership, appeals, terms
and metrics are the shared list machinery's (``lists/base.py``). It posts nothing and touches no
other mechanism's state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field, model_validator

from scslab.catalogue import Act, ActName, SourceName, act_by_name, source_by_name
from scslab.catalogue import Source as SourceCode
from scslab.engine.board import records_of
from scslab.engine.steps import CompiledSteps, compiled_mechanism
from scslab.kernels.compact import kept, rows_coded
from scslab.kernels.compiled_once import compiled_once
from scslab.kernels.jit import kernel, step_kernel
from scslab.kernels.structs import compiled_struct
from scslab.mechanisms.common import SOME_SOURCES
from scslab.mechanisms.lists.base import (
    ListBase,
    ListParams,
    apply_day,
    list_fields,
    list_metrics,
    list_record_fields,
)
from scslab.mechanisms.lists.initial import InitialListing, WarmStart, start_listed
from scslab.mechanisms.provenance import NOT_FALSE

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation


@compiled_once
@kernel
def _changes(pid, act, source, true, entry, exit, source_ok):
    """Records that list or delist: (person ids, enter (else leave), false record's source).

    A record counts when its source counts; entry acts list, true exit acts delist. The third
    column is the source of an entering false record, else ``NOT_FALSE`` (its provenance).
    Only the rows of an entry or exit act are read (``rows_coded``): a day's records are mostly
    purchases, which no list reads.
    """
    rows = rows_coded(act, entry | exit)
    keep = np.empty(rows.size, np.bool_)
    enter = np.empty(rows.size, np.bool_)
    false_source = np.empty(rows.size, np.int16)
    for r in range(rows.size):
        i = rows[r]
        ok = source_ok[source[i]]
        enter[r] = entry[act[i]] and ok
        keep[r] = enter[r] or (exit[act[i]] and true[i] and ok)
        false_source[r] = source[i] if enter[r] and not true[i] else NOT_FALSE
    return kept(pid[rows], keep), kept(enter, keep), kept(false_source, keep)


RECORD_LIST_OWN = ("entry", "exit", "source_ok")
"""A record list's own fields: the acts that list and delist, and the sources that count."""

RecordListFields = list_record_fields("RecordListFields", RECORD_LIST_OWN, __name__)
"""A list's fields (``ListFields``), then ``RECORD_LIST_OWN``."""

RecordListState = compiled_struct("RecordListState", RecordListFields._fields, __name__)


@kernel
def _new_state(fields):
    return RecordListState(*fields)


@step_kernel
def record_list_day(day, board, s):
    """Today's changes from today's records, applied (``lists/base.apply_day``)."""
    pid, act, source, true = records_of(board)
    pids, enter, false_source = _changes(pid, act, source, true, s.entry, s.exit, s.source_ok)
    apply_day(day, s, pids, enter, false_source)


@step_kernel
def _metrics(day, s):
    list_metrics(day, s)


compiled_mechanism(RecordListState, record_list_day, _metrics)


class RecordListParams(ListParams):
    """Which records put people on the list and take them off, and from which sources."""

    entry_acts: list[ActName] = Field(
        default=["tax_evasion"], min_length=1, description="Recorded acts that list a person."
    )
    exit_acts: list[ActName] = Field(
        default=[], description="Recorded (true) acts that take a person off the list."
    )
    sources: list[SourceName] | None = Field(
        default=None, description="Data sources whose records count (none: all)."
    )
    _some_sources = SOME_SOURCES
    initial: InitialListing | None = Field(
        default=None,
        description="Who is on the list on the start date and since when (a warm start, "
        "docs/initial_conditions.md), for a list that opens on the start date (no later "
        "active_from); none: the list starts empty.",
    )

    @model_validator(mode="after")
    def _acts_apart(self) -> RecordListParams:
        both = sorted(set(self.entry_acts) & set(self.exit_acts))
        if both:
            raise ValueError(
                f"{', '.join(both)} is in both entry_acts and exit_acts: a record of it would "
                "always list (an entry wins); keep each act in one of them"
            )
        return self


class RecordList(CompiledSteps, ListBase):
    """A blacklist or redlist entered and left on recorded acts."""

    name = "record_list"
    Params = RecordListParams
    description = "sector blacklist or redlist: entry and exit on recorded acts, appeals, terms"
    params: RecordListParams
    warm: WarmStart | None = None
    """What the warm start did (``initial``), if there is one."""

    def init(self, sim: Simulation) -> None:
        p = self.params
        if not sim.check_reads_a_source(f"{self.name}.sources", p.sources):
            where = f"{self.name}.entry_acts"
            sim.check_records_reach(where, p.entry_acts, p.sources, "no record puts anyone on it")
        super().init(sim)
        if self.params.initial is not None:
            self.warm = start_listed(self, sim)

    def summary(self) -> list[str]:
        lines = super().summary()
        return [*lines, self.warm.line(self.name)] if self.warm is not None else lines

    def left_on_their_own(self) -> str:
        acts = self.params.exit_acts
        if not acts:
            return "none can: the list has no exit acts"
        return f"a recorded {' or '.join(acts)}"

    def set_up(self) -> dict[str, Any]:
        return self.warm.notes() if self.warm is not None else {}

    def new_state(self, sim: Simulation) -> object:
        entry = np.zeros(len(Act), np.bool_)
        entry[[act_by_name(a) for a in self.params.entry_acts]] = True
        exit = np.zeros(len(Act), np.bool_)
        exit[[act_by_name(a) for a in self.params.exit_acts]] = True
        source_ok = np.ones(len(SourceCode), np.bool_)
        if self.params.sources is not None:
            source_ok[:] = False
            source_ok[[source_by_name(s) for s in self.params.sources]] = True
        fields = list_fields(self, sim)._asdict()
        return self.record_state(
            RecordListFields(**fields, entry=entry, exit=exit, source_ok=source_ok)
        )

    def record_state(self, fields: tuple) -> object:
        """The list's record from its ``RecordListFields`` (a subclass may add its own)."""
        return _new_state(fields)
