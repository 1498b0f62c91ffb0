"""Data sources: banks, courts, cameras, platforms and officials turning acts into records.

Each source records some kinds of acts, with a coverage that differs between urban and rural
regions (an act it does not cover is missed), a delay before its records reach the system, a
date from which it shares (a data-sharing agreement), and produces false records at a daily rate
per person (a record of an act that never happened). Sources are tried in file order; an act is
recorded at most once. What is missed here may still be reported by informants (the ``reporting``
family).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
from numba import prange
from pydantic import BaseModel, ConfigDict, Field, model_validator

from scslab.catalogue import Act, ActName, Source, SourceName, act_by_name, source_by_name
from scslab.engine.board import written_in_order
from scslab.engine.calendar import Calendar
from scslab.engine.mechanism import MechanismParams, Observation
from scslab.kernels.parallel import sized_kernel
from scslab.kernels.rng import uniform
from scslab.kernels.sampling import labelled_ids
from scslab.population.geography import regions_of_sorted

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation


class SourceParams(BaseModel):
    """One data source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    acts: list[ActName] = Field(description="Acts this source records.")
    coverage_urban: float = Field(ge=0.0, le=1.0, description="Chance an urban act is recorded.")
    coverage_rural: float = Field(ge=0.0, le=1.0, description="Chance a rural act is recorded.")
    false_rate: float = Field(
        default=0.0, ge=0.0, le=0.01, description="False records per person per day."
    )
    false_act: ActName | None = Field(default=None, description="The act a false record claims.")
    delay_days: int = Field(
        default=0,
        ge=0,
        le=3650,
        description="Days between an act (or a false claim) and its record reaching the system.",
    )
    active_from: dt.date | None = Field(
        default=None,
        description="Date from which the source records (a data-sharing agreement's start); "
        "default: from day 0.",
    )

    @model_validator(mode="after")
    def _false_act_needed(self) -> SourceParams:
        if self.false_act is None and self.false_rate > 0:
            raise ValueError("false_rate > 0 needs false_act, the act a false record claims")
        return self


def _default_sources() -> dict[str, SourceParams]:
    return {
        # Assumption: the central credit reference sees most formal loans, fewer in the country.
        "bank": SourceParams(
            acts=["loan_arrears", "loan_repaid"],
            coverage_urban=0.95,
            coverage_rural=0.8,
            false_rate=2e-7,
            false_act="loan_arrears",
        ),
        # Assumption: enforcement courts list nearly every judgment debtor they decide on.
        "court": SourceParams(
            acts=["court_judgment_unpaid", "judgment_repaid"],
            coverage_urban=0.98,
            coverage_rural=0.95,
            false_rate=2e-8,
            false_act="court_judgment_unpaid",
        ),
        # Assumption: traffic cameras cover main roads in cities, few rural roads.
        "camera": SourceParams(
            acts=["traffic_offence"],
            coverage_urban=0.6,
            coverage_rural=0.15,
            false_rate=2e-6,
            false_act="traffic_offence",
        ),
        # Assumption: platforms see most criticism posted online.
        "platform": SourceParams(acts=["online_criticism"], coverage_urban=0.7, coverage_rural=0.5),
        # Assumption: neighbourhood and village officials know more in villages.
        "official": SourceParams(
            acts=["prosocial_act", "petitioning"],
            coverage_urban=0.5,
            coverage_rural=0.7,
            false_rate=1e-7,
            false_act="petitioning",
        ),
    }


class DataSourcesParams(MechanismParams):
    """The sources that record acts, in the order they are tried."""

    sources: dict[SourceName, SourceParams] = Field(
        default_factory=_default_sources,
        description="Source name -> parameters. Allowed names: "
        + ", ".join(s.name.lower() for s in Source),
    )
    extra_sources: dict[SourceName, SourceParams] = Field(
        default_factory=dict,
        description="More sources after ``sources`` (added to the defaults without repeating "
        "them; a name in both takes these parameters).",
    )

    def all_sources(self) -> dict[str, SourceParams]:
        """``sources`` with ``extra_sources`` added, in order."""
        return self.sources | self.extra_sources


@sized_kernel("pids")
def _observe(
    key,
    day,
    pids,
    acts,
    recorded,
    bounds,
    order,
    cover,
    out_pid,
    out_act,
    out_source,
    out_true,
    first_row,
):
    """Try the sources on each act (``cover[act, j, rural]`` for source j); mark hits recorded.

    Writes a true record (person, act, source) of each recorded act, in order, from row
    ``first_row`` of the record buffers ``out_*`` (the board's, or scratch arrays), which need
    room for a row per act; returns how many, and whether the buffers stay ordered by person.
    """
    regions = regions_of_sorted(bounds, pids)  # acts come ordered by person
    src = np.full(pids.size, -1, np.int16)
    # Source by source over all acts, and each source's draw even where an earlier one hit or
    # it has no coverage (a draw is its own counter: the first hit is the same): a loop that
    # the processor runs without guessing, about four times faster than trying the sources of
    # one act in turn until one hits.
    for j in range(order.size):
        source = order[j]
        for i in prange(pids.size):
            rural = regions[i] % 2
            hit = (
                uniform(key, day, pids[i], acts[i] * 64 + j) < cover[acts[i], j, rural]
            )  # 0: never
            src[i] = source if hit & (src[i] < 0) else src[i]
    k = first_row
    for i in range(pids.size):  # every row written, the recorded ones counted: no guessing either
        hit = src[i] >= 0
        recorded[i] |= hit
        out_pid[k], out_act[k], out_source[k], out_true[k] = pids[i], acts[i], src[i], True
        k += hit
    return k - first_row, written_in_order(out_pid, first_row, k - first_row)


class DataSources(Observation):
    """Turn today's acts into records, with coverage, misses and false records."""

    name = "data_sources"
    Params = DataSourcesParams
    description = "banks, courts, cameras, platforms, officials: coverage and false records"
    params: DataSourcesParams

    def init(self, sim: Simulation) -> None:
        items = list(self.params.all_sources().items())
        self.order = np.asarray([source_by_name(n) for n, _ in items], np.int64)
        self.cover = np.zeros((len(Act), len(items), 2))
        for j, (_, s) in enumerate(items):
            for a in s.acts:
                self.cover[act_by_name(a), j] = (s.coverage_urban, s.coverage_rural)
        false = [(j, n, s) for j, (n, s) in enumerate(items) if s.false_rate > 0 and s.false_act]
        # one labelled draw per source with false records; the label is the source's code
        self.false_draws = (
            np.asarray([self.key(f"false/{n}") for _, n, _ in false], np.uint64),
            np.asarray([s.false_rate for _, _, s in false], np.float64),
            np.zeros(len(false), np.uint64),
            np.zeros(len(false), np.uint64),
            np.zeros(len(false), np.float64),
            np.asarray([source_by_name(n) for _, n, _ in false], np.int16),
        )
        self.false_act = np.zeros(len(Source), np.int16)  # the act a source's false record claims
        for _, n, s in false:
            self.false_act[source_by_name(n)] = act_by_name(s.false_act)
        self.false_sources = [j for j, _, _ in false]
        self.detect_key = self.key("detect")
        start = sim.start_date
        self.first_day = np.asarray(
            [max(0, (s.active_from - start).days) if s.active_from else 0 for _, s in items]
        )
        self.delay = np.zeros(len(Source), np.int64)
        for n, s in items:
            self.delay[source_by_name(n)] = s.delay_days
        self.all_active_day = int(self.first_day.max()) if items else 0
        self.any_delay = bool(self.delay.any())
        self.pending = Calendar(sim.days)
        self.today: dict[str, int] = {}

    def _post(self, sim: Simulation, day: int, pids, acts, sources, true: bool) -> None:
        """Post records now, or schedule those of delayed sources."""
        if not self.any_delay:
            sim.board.post_records(pids, acts, sources, true)
            return
        d = self.delay[sources]
        now = d == 0
        sim.board.post_records(pids[now], acts[now], sources[now], true)
        if not now.all():
            late = ~now
            tag = (sources[late].astype(np.int64) * 64 + acts[late]) * 2 + int(true)
            self.pending.schedule(day + d[late], pids[late], tag)

    def step(self, sim: Simulation, day: int) -> None:
        if self.any_delay:
            pids, tags = self.pending.pop(day)
            if pids.size:
                sim.board.post_records(pids, (tags // 2) % 64, tags // 128, (tags % 2) == 1)
        acts = sim.board.acts
        cover = self.cover
        if day < self.all_active_day:  # sources whose agreement has not started see nothing
            cover = cover.copy()
            cover[:, self.first_day > day, :] = 0.0
        board, n_acts = sim.board, acts["pid"].size
        if self.any_delay:  # into scratch arrays first: some records wait on the calendar
            room = (np.empty(n_acts, np.int64), np.empty(n_acts, np.int16))
            room = (*room, np.empty(n_acts, np.int16), np.empty(n_acts, np.bool_), 0)
        else:  # straight onto the board
            room = board.record_room(n_acts)
        hits, ordered = _observe(
            self.detect_key,
            day,
            acts["pid"],
            acts["act"],
            acts["recorded"],
            sim.pop.geography.bounds,
            self.order,
            cover,
            *room,
        )
        if self.any_delay:
            self._post(sim, day, room[0][:hits], room[1][:hits], room[2][:hits], True)
        else:
            board.records_written(hits, ordered)
        n_false = 0
        keys, rates, no_keys, no_traits, no_weights, codes = self.false_draws
        if keys.size:  # some source makes false records
            if day < self.all_active_day:  # none before a source's agreement starts
                rates = np.where(self.first_day[self.false_sources] > day, 0.0, rates)
            ids, sources, _ = labelled_ids(
                keys, day, sim.pop.n, rates, no_keys, no_traits, no_weights, codes
            )
            n_false = ids.size
            if n_false:
                self._post(sim, day, ids, self.false_act[sources], sources, False)
        self.today = {
            "observed_true_records": hits,
            "observed_missed_acts": n_acts - hits,
            "observed_false_records": n_false,
        }

    def metrics(self, day: int) -> dict[str, float | int]:
        return self.today
