"""Data sources: banks, courts, cameras, platforms and officials turning acts into records.

Each source records some kinds of acts, with a coverage that differs between urban and rural
regions (an act it does not cover is missed), a delay before its records reach the system, a
date from which it shares (a data-sharing agreement), and produces false records at a daily rate
per person (a record of an act that never happened). Sources are tried in file order; an act is
recorded at most once, and not at all if an earlier phase (surveillance) recorded it. What is
missed here may still be reported by informants (the ``reporting`` family).

Evaders (``observation/evaders.py``, shared by an ``evasion`` mechanism when one is enabled) are
seen less: an evaded source covers an evader's act at its coverage times the rule's factor, and
the acts that evasion kept from any record are counted by act in the rule's ``lost``. Without an
evasion mechanism the rule is inactive and every draw and record is as it would be without it.

Owns the ``data_sources`` mechanism: its source tables and the records it posts, and the acts'
``recorded`` flag. Of other state it writes only the evasion rule's ``lost`` counts (the acts
evasion kept from any record); it changes no act and no other mechanism's state.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import numpy as np
from numba import prange
from pydantic import AfterValidator, Field, model_validator

from scslab.catalogue import (
    DATA_SOURCE_NAMES,
    POSTED_BY,
    SOURCE_NAMES,
    Act,
    ActName,
    Source,
    act_by_name,
    min_age_in_words,
    source_by_name,
)
from scslab.engine.board import (
    FALSE_RECORDS,
    TRUE_RECORDS,
    acts_of,
    post_records,
    record_room,
    records_written,
    written_in_order,
)
from scslab.engine.calendar import new_calendar, pop, schedule
from scslab.engine.mechanism import MechanismParams, Observation, RecordKind
from scslab.engine.steps import CompiledSteps, compiled_mechanism, today_of
from scslab.kernels.compiled_once import compiled_once
from scslab.kernels.jit import kernel, step_kernel
from scslab.kernels.parallel import RECORD_PARTS, both_builds, run_threads
from scslab.kernels.rng import uniform
from scslab.kernels.sampling import LabelledDraws, compiled_labelled_ids
from scslab.kernels.structs import compiled_struct
from scslab.mechanisms.ages import actor_ages, min_age_by_act, of_age
from scslab.mechanisms.observation.evaders import EVASION, evaded_coverage, evades, no_evasion
from scslab.parameter_tables import ParameterTable
from scslab.population.geography import regions_of_sorted

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation


class SourceParams(ParameterTable):
    """One data source."""

    acts: list[ActName] = Field(description="Acts this source records.")
    coverage_urban: float = Field(ge=0.0, le=1.0, description="Chance an urban act is recorded.")
    coverage_rural: float = Field(ge=0.0, le=1.0, description="Chance a rural act is recorded.")
    false_rate: float = Field(
        default=0.0,
        ge=0.0,
        le=0.01,
        description="False records per person per day (default 0: none, an assumption); one "
        "claiming an act with a minimum age (" + min_age_in_words() + ") is never of anyone "
        "younger, so the rate is per person old enough.",
    )
    false_act: ActName | None = Field(default=None, description="The act a false record claims.")
    delay_days: int = Field(
        default=0,
        ge=0,
        le=3650,
        description="Days between an act (or a false claim) and its record reaching the system "
        "(default 0: the same day, an assumption).",
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


NEW_SOURCE = "a new source is a member at the end of catalogue.Source (docs/architecture.md)"
"""How a source not yet in the catalogue is added, for the error of an unknown name."""
_POSTED_BY_NAME = {SOURCE_NAMES[s]: mechanism for s, mechanism in POSTED_BY.items()}


def _check_data_source(name: str) -> str:
    """A data source's name: one of ``DATA_SOURCE_NAMES``; the error lists only those.

    A source whose records another mechanism posts (``POSTED_BY``) is refused by name: the harm
    audit would blame a data source's false records on that mechanism's cause.
    """
    owner = _POSTED_BY_NAME.get(name)
    if owner is not None:
        raise ValueError(
            f"{name!r} records are posted by the {owner} mechanism, not by a data source; "
            f"data sources: {', '.join(DATA_SOURCE_NAMES)}"
        )
    if name not in DATA_SOURCE_NAMES:
        case = (
            f" (names are lower case: {name.lower()!r})"
            if name.lower() in DATA_SOURCE_NAMES
            else ""
        )
        raise ValueError(
            f"unknown data source {name!r}{case}; allowed: {', '.join(DATA_SOURCE_NAMES)}; "
            f"{NEW_SOURCE}"
        )
    return name


DataSourceName = Annotated[str, AfterValidator(_check_data_source)]
"""A key of ``sources`` or ``extra_sources``: validated against the data sources' names only."""


class DataSourcesParams(MechanismParams):
    """The sources that record acts, in the order they are tried."""

    sources: dict[DataSourceName, SourceParams] = Field(
        default_factory=_default_sources,
        description=f"Source name -> parameters. Allowed names: {', '.join(DATA_SOURCE_NAMES)} "
        f"({NEW_SOURCE}). Defaults: bank, court, camera, platform and official; every coverage "
        "and false rate in them is an assumption (no source publishes them).",
    )
    extra_sources: dict[DataSourceName, SourceParams] = Field(
        default={},
        description="More sources after ``sources`` (added to the defaults without repeating "
        "them; a name in both takes these parameters).",
    )

    def all_sources(self) -> dict[str, SourceParams]:
        """``sources`` with ``extra_sources`` added, in order."""
        return self.sources | self.extra_sources


def coverage_by_act(sources: dict[str, SourceParams]) -> np.ndarray:
    """``cover[act, j, rural]``: the chance that source ``j`` (in order) records an act."""
    cover = np.zeros((len(Act), len(sources), 2))
    for j, s in enumerate(sources.values()):
        for a in s.acts:
            cover[act_by_name(a), j] = (s.coverage_urban, s.coverage_rural)
    return cover


def recording_chance(sources: dict[str, SourceParams]) -> np.ndarray:
    """``chance[act, rural]``: the chance that some source records an act, once all share.

    Sources are tried in turn and each misses independently: ``1 - prod(1 - coverage)``. What
    people who weigh being seen may perceive (``behaviour/deterrence.py``,
    ``behaviour/self_censorship.py``); informants and sharing dates are left out.
    """
    return 1.0 - np.prod(1.0 - coverage_by_act(sources), axis=1)


ACT_BY_ACT_PAYS = 2
"""Draw act by act, only the sources that cover each act's kind, when that makes at most
``1 / ACT_BY_ACT_PAYS`` of the draws of every source on every act (a speed choice: the records
are the same either way). Source by source, a loop over all acts is vector code, about twice as
fast a draw; a day whose sources cover every kind of act saves nothing by going act by act."""


@kernel
def _covering(cover):
    """Per act kind, the places in ``order`` of the sources that cover it at all, in order.

    ``places[covering[a]:covering[a + 1]]`` for kind ``a`` (``cover[a, j, rural]`` above 0 in
    either rurality).
    """
    kinds, n_sources = cover.shape[0], cover.shape[1]
    covering = np.zeros(kinds + 1, np.int64)
    places = np.empty(kinds * n_sources, np.int64)
    m = 0
    for a in range(kinds):
        for j in range(n_sources):
            if cover[a, j, 0] > 0.0 or cover[a, j, 1] > 0.0:
                places[m] = j
                m += 1
        covering[a + 1] = m
    return covering, places[:m]


@kernel
def _covered_draws(acts, covering):
    """Draws that only the sources covering each act's kind make (``_covering``'s ``covering``)."""
    draws = 0
    for i in range(acts.size):
        draws += covering[acts[i] + 1] - covering[acts[i]]
    return draws


@kernel(inline="always")
def _new_record(source, recorded):
    """1 for an act a source saw (``source`` at least 0) that no earlier phase recorded, else 0.

    An act seen by an earlier phase (surveillance) makes no record here.
    """
    return np.int64(source >= 0) * (1 - np.int64(recorded))


def _observe(
    key,
    day,
    pids,
    acts,
    recorded,
    bounds,
    order,
    cover,
    evasion,
    evading_today,
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
    With ``evading_today``, an evader's act (``evasion``, a ``CoverageEvasion``) is covered by
    source j at ``cover * evasion.factor[order[j]]``, from the same draw, and each act recorded
    at full coverage but not at the evader's is counted in ``evasion.lost`` by act.
    """
    regions = regions_of_sorted(bounds, pids)  # acts come ordered by person
    n = pids.size
    src = np.full(n, -1, np.int16)
    evading = np.zeros(n if evading_today else 0)  # 1.0 for an evader's act
    full = np.full(evading.size, -1, np.int16)  # an evaded source that would record it at full
    for i in prange(evading.size):
        evading[i] = evades(evasion, pids[i])
    # A source without coverage could never record an act (a draw below 0), and each draw is
    # its own counter, so the first hit is the one a draw of every source would find: each act
    # may be tried by only the sources that cover its kind.
    covering, places = _covering(cover)
    if order.size > 1 and _covered_draws(acts, covering) * ACT_BY_ACT_PAYS <= n * order.size:
        # Most draws would be for nothing (with one source, going act by act saves none).
        # Act by act, each covering source in order, each drawing even after a hit: whether a
        # source records an act is a coin toss, so a hit is kept by a choice of values, not a
        # branch, and the loop has nothing to guess but the act's kind.
        for i in prange(n):
            a = acts[i]
            rural = regions[i] % 2
            hit_at = np.int16(-1)
            full_at = np.int16(-1)
            for q in range(covering[a], covering[a + 1]):
                j = places[q]
                source = order[j]
                u = uniform(key, day, pids[i], a * 64 + j)
                c = cover[a, j, rural]
                if evading_today:
                    factor = evasion.factor[source]
                    if factor != 1.0:  # an evader's coverage times the factor
                        full_at = source if (u < c) & (full_at < 0) else full_at
                        c = evaded_coverage(c, evading[i], factor)
                hit_at = source if (u < c) & (hit_at < 0) else hit_at
            src[i] = hit_at
            if evading_today:
                full[i] = full_at
    else:
        # Source by source over all acts, and each source's draw even where an earlier one hit
        # or it has no coverage (the first hit is the same): a loop that the processor runs
        # without guessing, about four times faster than trying the sources of one act in turn
        # until one hits, and vector code.
        for j in range(order.size):
            source = order[j]
            factor = evasion.factor[source]
            if not evading_today or factor == 1.0:  # no evader's coverage changes
                for i in prange(n):
                    rural = regions[i] % 2
                    hit = (
                        uniform(key, day, pids[i], acts[i] * 64 + j) < cover[acts[i], j, rural]
                    )  # 0: never
                    src[i] = source if hit & (src[i] < 0) else src[i]
                continue
            for i in prange(n):  # the same draws; an evader's coverage times the factor
                rural = regions[i] % 2
                u = uniform(key, day, pids[i], acts[i] * 64 + j)
                c = cover[acts[i], j, rural]
                hit = u < evaded_coverage(c, evading[i], factor)
                src[i] = source if hit & (src[i] < 0) else src[i]
                full[i] = source if (u < c) & (full[i] < 0) else full[i]
    for i in range(full.size):  # acts that evasion alone kept from every source
        evasion.lost[acts[i]] += full[i] >= 0 and src[i] < 0 and not recorded[i]
    # The records, in parts in parallel: each part's hits are counted, then written from where
    # the parts before it end.
    hits = np.zeros(RECORD_PARTS, np.int64)
    for p in prange(RECORD_PARTS):
        lo, hi = n * p // RECORD_PARTS, n * (p + 1) // RECORD_PARTS
        part_src, part_recorded = src[lo:hi], recorded[lo:hi]  # slices: a vector loop
        c = 0
        for i in range(hi - lo):
            c += _new_record(part_src[i], part_recorded[i])
        hits[p] = c
    starts = np.empty(RECORD_PARTS, np.int64)
    k = first_row
    for p in range(RECORD_PARTS):
        starts[p] = k
        k += hits[p]
    for p in prange(RECORD_PARTS):
        lo, hi = n * p // RECORD_PARTS, n * (p + 1) // RECORD_PARTS
        at, end = starts[p], starts[p] + hits[p]
        for i in range(lo, hi):  # every row written, the hits counted: no guessing
            hit = _new_record(src[i], recorded[i])
            recorded[i] |= hit != 0
            if at < end:  # past the part's last hit: the next part's rows
                out_pid[at], out_act[at] = pids[i], acts[i]
                out_source[at], out_true[at] = src[i], True
            at += hit
    return k - first_row, written_in_order(out_pid, first_row, k - first_row)


_observe = both_builds(_observe, error_model="numpy")

SourcesState = compiled_struct(
    "SourcesState",
    (
        "detect_key",
        "bounds",
        "order",
        "cover",
        "first_day",
        "all_active_day",
        "delay",
        "any_delay",
        "pending",
        "false_draws",
        "false_act",
        "false_sources",
        "false_min_age",
        "ages",
        "evasion",
        "n",
        "threads",
        "today",
    ),
    __name__,
)
"""The detection key and the regions; the sources' codes in order, their coverage by act, source and
rurality, and the day each starts; the day all have started; each source's delay (by code) and
whether any delays; the calendar of delayed records; the false-record draws (a ``LabelledDraws``,
labelled by source code), the act each source's false records claim and the sources making them
(their places in ``order``), the youngest age that act allows by source code
(``mechanisms/ages.py``: a data error claims no traffic offence of a child) and what is read of
ages; who evades (a ``CoverageEvasion``, ``observation/evaders.py``); the population and its
``run_threads``; today's true, missed and false counts."""


@kernel
def _new_state(
    detect_key,
    bounds,
    order,
    cover,
    first_day,
    delay,
    false_draws,
    false_act,
    false_src,
    false_min_age,
    ages,
    evasion,
    n,
    threads,
    days,
):
    return SourcesState(
        detect_key,
        bounds,
        order,
        cover,
        first_day,
        first_day.max() if first_day.size else 0,
        delay,
        delay.any(),
        new_calendar(days),
        false_draws,
        false_act,
        false_src,
        false_min_age,
        ages,
        evasion,
        n,
        threads,
        np.zeros(3, np.float64),
    )


@compiled_once
@kernel
def _post(board, s, day, pids, acts, sources, true):
    """Post records now, or schedule those of delayed sources."""
    if not s.any_delay:
        post_records(board, pids, acts, sources, true)
        return
    d = s.delay[sources]
    now = d == 0
    post_records(board, pids[now], acts[now], sources[now], true)
    if not now.all():
        late = ~now
        tag = (sources[late].astype(np.int64) * 64 + acts[late]) * 2 + np.int64(true)
        schedule(s.pending, day + d[late], pids[late], tag, 0)


@step_kernel
def _step(day, board, s):
    if s.any_delay:
        due, tags = pop(s.pending, day)
        if due.size:
            post_records(board, due, (tags // 2) % 64, tags // 128, (tags % 2) == 1)
    pid, act, recorded = acts_of(board)
    seen_before = np.count_nonzero(recorded)  # by an earlier phase (surveillance): not missed
    cover = s.cover
    if day < s.all_active_day:  # sources whose agreement has not started see nothing
        cover = cover.copy()
        for j in range(s.first_day.size):
            if s.first_day[j] > day:
                cover[:, j, :] = 0.0
    n_acts = pid.size
    if s.any_delay:  # into scratch arrays first: some records wait on the calendar
        out = (
            np.empty(n_acts, np.int64),
            np.empty(n_acts, np.int16),
            np.empty(n_acts, np.int16),
            np.empty(n_acts, np.bool_),
            0,
        )
    else:  # straight onto the board
        row = record_room(board, n_acts)
        out = (board.rec_pid, board.rec_act, board.rec_source, board.rec_true, row)
    evasion = s.evasion
    evading_today = evasion.active and day >= evasion.first_day[0]
    if evasion.active:
        evasion.lost[:] = 0
    args = (s.detect_key, day, pid, act, recorded, s.bounds, s.order, cover, evasion, evading_today)
    hits, ordered = _observe(s.threads, n_acts, *args, *out)
    if s.any_delay:
        _post(board, s, day, out[0][:hits], out[1][:hits], out[2][:hits], TRUE_RECORDS)
    else:
        records_written(board, hits, ordered)
    n_false = 0
    draws = s.false_draws
    rates = draws.rates
    if draws.keys.size:  # some source makes false records
        if day < s.all_active_day:  # none before a source's agreement starts
            rates = rates.copy()
            for k in range(rates.size):
                if s.first_day[s.false_sources[k]] > day:
                    rates[k] = 0.0
        ids, sources, _ = compiled_labelled_ids(
            draws.keys,
            day,
            s.n,
            rates,
            draws.thin_keys,
            draws.trait_keys,
            draws.weights,
            draws.labels,
            s.threads,
        )
        keep = np.empty(ids.size, np.bool_)  # nobody too young for the act it claims
        for i in range(ids.size):
            keep[i] = of_age(s.ages, ids[i], s.false_min_age[sources[i]])
        ids, sources = ids[keep], sources[keep]
        n_false = ids.size
        if n_false:
            _post(board, s, day, ids, s.false_act[sources], sources, FALSE_RECORDS)
    s.today[0] = hits
    s.today[1] = n_acts - hits - seen_before
    s.today[2] = n_false


compiled_mechanism(SourcesState, _step)


class DataSources(CompiledSteps, Observation):
    """Turn today's acts into records, with coverage, misses and false records."""

    name = "data_sources"
    Params = DataSourcesParams
    description = "banks, courts, cameras, platforms, officials: coverage and false records"
    params: DataSourcesParams

    def records_posted(self, acts_drawn: set[str] | None = None) -> list[RecordKind]:
        """Each source's true records of its acts that are drawn, then its false records' act."""
        kinds = []
        for name, source in self.params.all_sources().items():
            seen = [a for a in source.acts if acts_drawn is None or a in acts_drawn]
            false = [source.false_act] if source.false_rate > 0 and source.false_act else []
            kinds += [RecordKind(source=name, act=a) for a in dict.fromkeys([*seen, *false])]
        return kinds

    def _note_idle_sources(self, sim: Simulation) -> None:
        """Note a source the scenario gives that can record nothing (``Simulation.note_idle``).

        A source given in ``extra_sources``, or in ``sources`` other than the defaults, can not when
        none of its acts is posted by an enabled mechanism and it makes no false records
        (``records_posted``). A default source may (most scenarios draw few of its acts).
        """
        p = self.params
        given = {"extra_sources": p.extra_sources}
        if p.moved("sources"):
            given = {"sources": p.sources} | given
        recording = {kind.source for kind in self.records_posted(sim.acts_posted())}
        for field, sources in given.items():
            for name, source in sources.items():
                if name not in recording:
                    sim.note_idle(
                        f"{self.name}.{field}.{name}",
                        f"records {', '.join(source.acts)}, which no enabled mechanism draws, "
                        "and makes no false records, so it records nothing",
                    )

    def init(self, sim: Simulation) -> None:
        self._note_idle_sources(sim)
        items = list(self.params.all_sources().items())
        order = np.asarray([source_by_name(n) for n, _ in items], np.int64)
        cover = coverage_by_act(self.params.all_sources())
        false = [(j, n, s) for j, (n, s) in enumerate(items) if s.false_rate > 0 and s.false_act]
        # one labelled draw per source with false records; the label is the source's code
        false_draws = LabelledDraws(
            keys=np.asarray([self.key(f"false/{n}") for _, n, _ in false], np.uint64),
            rates=np.asarray([s.false_rate for _, _, s in false], np.float64),
            thin_keys=np.zeros(len(false), np.uint64),  # weight 0: no thinning, no trait
            trait_keys=np.zeros(len(false), np.uint64),
            weights=np.zeros(len(false), np.float64),
            labels=np.asarray([source_by_name(n) for _, n, _ in false], np.int16),
        )
        false_act = np.zeros(len(Source), np.int16)  # the act a source's false record claims
        for _, n, s in false:
            false_act[source_by_name(n)] = act_by_name(s.false_act)
        false_min_age = min_age_by_act()[false_act]  # by source code: its false act's minimum
        start = sim.start_date
        first_day = np.asarray(
            [max(0, (s.active_from - start).days) if s.active_from else 0 for _, s in items],
            np.int64,
        )
        delay = np.zeros(len(Source), np.int64)
        for n, s in items:
            delay[source_by_name(n)] = s.delay_days
        self.state = _new_state(
            detect_key=self.key("detect"),
            bounds=sim.pop.geography.bounds,
            order=order,
            cover=cover,
            first_day=first_day,
            delay=delay,
            false_draws=false_draws,
            false_act=false_act,
            false_src=np.asarray([j for j, _, _ in false], np.int64),
            false_min_age=false_min_age,
            ages=actor_ages(sim.pop),
            evasion=sim.pop.state.shared.get(EVASION) or no_evasion(),
            n=sim.pop.n,
            threads=run_threads(sim.pop.n),
            days=sim.days,
        )
        self.today = today_of(self.state)
        self.metric_columns = (
            "observed_true_records",
            "observed_missed_acts",
            "observed_false_records",
        )
