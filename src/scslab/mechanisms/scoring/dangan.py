"""The dang'an: a lifelong dossier whose records never expire, read by employers.

Seed article: "the dang'an, an existing system of files for each citizen tracking personal
information, data on performance, behaviours and political positions that travel with a person
throughout their life, and ... impact on a person's work and career prospects".

Each person's dossier is one byte: the number of true entries (low four bits) and of false
entries (high four bits), each saturating at 15. Entries come from recorded acts of the kinds the
dossier files, from state sources; nothing ever removes one. Employers read it: job applications
(sampled per person and day) are rejected with a probability that grows with the number of entries,
and a rejection costs the applicant income: the ``income_lost`` flag that ``debt`` reads, set
through ``mechanisms/income_loss`` so that ``debt`` hears of the change.

Owns the dossier byte, the rule that files an entry and the employers' rejection rule, with their
parameters and counts. It posts no record and touches no other mechanism's state: the one effect
beyond its dossiers is the lost income, set through ``income_loss``'s kernels, never by writing
``debt``'s state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numba import prange
from pydantic import Field

from scslab.catalogue import Act, ActName, Source, SourceName, act_by_name, source_by_name
from scslab.engine.board import records_of
from scslab.engine.mechanism import MechanismParams, Scoring
from scslab.engine.steps import CompiledSteps, compiled_mechanism, today_of
from scslab.kernels.compact import rows_coded
from scslab.kernels.jit import kernel, step_kernel
from scslab.kernels.memory import prefetch_ahead
from scslab.kernels.parallel import both_builds, run_threads
from scslab.kernels.rng import uniform
from scslab.kernels.sampling import compiled_bernoulli_ids
from scslab.kernels.structs import compiled_struct
from scslab.mechanisms.ages import of_working_age
from scslab.mechanisms.common import SOME_SOURCES
from scslab.mechanisms.income_loss import income_loss, lose_income
from scslab.mechanisms.scoring.compiled import compiled_scoring
from scslab.population.attributes import age

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation
    from scslab.population import Population


class DanganParams(MechanismParams):
    """What the dossier files and how employers read it."""

    acts: list[ActName] = Field(
        default=[
            "petitioning",
            "online_criticism",
            "party_warning",
            "protest",
            "court_judgment_unpaid",
            "commercial_fraud",
            "tax_evasion",
        ],
        description="Recorded acts filed in the dossier: political positions, behaviour and "
        "performance (seed article); the list is an assumption.",
    )
    sources: list[SourceName] = Field(
        default=["official", "court", "platform", "informant", "tax"],
        description="Sources whose records reach the dossier (assumption: state channels and the "
        "platforms that report to them).",
    )
    _some_sources = SOME_SOURCES
    job_application_rate: float = Field(
        default=0.0003,
        ge=0.0,
        le=1.0,
        description="Job applications per adult aged 18-59 per day (assumption: one every nine "
        "years or so).",
    )
    rejection_per_entry: float = Field(
        default=0.25,
        ge=0.0,
        le=1.0,
        description="Added chance of rejection per dossier entry (assumption).",
    )


@kernel
def _file(pids, acts, sources, true, filed, source_ok, dossier, stats):
    """File records; stats = [people with entries, people with only false entries].

    Only the rows of filed acts are read (``rows_coded``): most of a day's records are of acts
    no dossier files (purchases).
    """
    for i in rows_coded(acts, filed):
        if not source_ok[sources[i]]:
            continue
        pid = pids[i]
        d = np.int64(dossier[pid])
        t, f = d & 15, d >> 4
        before_any = 1 if d != 0 else 0
        before_only_false = 1 if t == 0 and f > 0 else 0
        if true[i]:
            t = min(t + 1, 15)
        else:
            f = min(f + 1, 15)
        dossier[pid] = np.uint8(t | (f << 4))
        stats[0] += 1 - before_any
        stats[1] += (1 if t == 0 and f > 0 else 0) - before_only_false


@kernel(inline="always")
def _entries_of(byte):
    """A dossier's entries from its byte: true ones in the low four bits, false in the high."""
    return (byte & 15) + (byte >> 4)


def _rejected(key, age_key, ages, day, ids, households, dossier, per_entry):
    """0: hired or not of working age; 1: rejected; 2: rejected on false entries alone.

    ``ages``: the population's age table.
    """
    out = np.zeros(ids.size, np.int8)
    for i in prange(ids.size):
        prefetch_ahead(households, ids, i)
        prefetch_ahead(dossier, ids, i)
        pid = ids[i]
        years = age(age_key, pid, households[pid], ages)
        if not of_working_age(years):
            continue
        d = dossier[pid]
        entries = _entries_of(d)
        if entries and uniform(key, day, pid, 0) < min(1.0, per_entry * entries):
            out[i] = 2 if d & 15 == 0 else 1
    return out


_rejected = both_builds(_rejected)


class JobRule(NamedTuple):
    """Job applications and their rejection, by name at both ends."""

    applications_key: np.uint64
    """Stream key of who applies for a job today."""
    rejection_key: np.uint64
    """Stream key of whether an application is rejected."""
    age_key: np.uint64
    """The population's ages (only ages 18-59 apply)."""
    age_table: np.ndarray
    """Who of a household is a child, by its size (``Population.age_table``)."""
    rate: float
    """Applications per person per day."""
    per_entry: float
    """Added chance of rejection per dossier entry."""


DanganState = compiled_struct(
    "DanganState",
    (
        "dossier",
        "filed",
        "source_ok",
        "jobs",
        "income",
        "households",
        "n",
        "threads",
        "stats",
        "rejected_ids",
        "rejected_on_false",
        "today",
    ),
    __name__,
)
"""The dossier byte per person; the acts filed and the sources that count; the job applications
(``JobRule``); the lost-income record (``mechanisms/income_loss``); the households; the population
and its ``run_threads``; people with entries and with only false entries (``stats``); the people
rejected today, in order, and whether each was rejected on false entries alone (the ``backlash``
mechanism reads both as a punishment, and its innocence); today's metrics (those two counts,
rejections, rejections on false entries alone)."""


@kernel
def _new_state(dossier, filed, source_ok, jobs, income, households, n, threads):
    stats, today = np.zeros(2, np.int64), np.zeros(4, np.float64)
    rejected, on_false = np.empty(0, np.int64), np.empty(0, np.bool_)
    return DanganState(
        dossier,
        filed,
        source_ok,
        jobs,
        income,
        households,
        n,
        threads,
        stats,
        rejected,
        on_false,
        today,
    )


@step_kernel
def _step(day, board, s):
    pid, act, source, true = records_of(board)
    _file(pid, act, source, true, s.filed, s.source_ok, s.dossier, s.stats)
    jobs = s.jobs
    ids = compiled_bernoulli_ids(jobs.applications_key, day, s.n, jobs.rate, s.threads)
    how = _rejected(
        s.threads,
        ids.size,
        jobs.rejection_key,
        jobs.age_key,
        jobs.age_table,
        day,
        ids,
        s.households,
        s.dossier,
        jobs.per_entry,
    )
    chosen = how > 0
    rejected, on_false = ids[chosen], how[chosen] == 2
    for i in range(rejected.size):
        lose_income(s.income, rejected[i])
    s.today[2] += rejected.size
    s.today[3] += np.count_nonzero(on_false)
    s.rejected_ids, s.rejected_on_false = rejected, on_false


@step_kernel
def _metrics(day, s):
    s.today[0], s.today[1] = s.stats[0], s.stats[1]


@kernel
def _entries(s, pids, day):
    out = np.empty(pids.size, np.int64)
    for i in range(pids.size):
        out[i] = _entries_of(np.int64(s.dossier[pids[i]]))
    return out


@kernel
def _entries_between(s, first, stop):
    """``_entries`` of the ids ``first`` to ``stop - 1``, as bytes (at most 15 + 15)."""
    dossiers = s.dossier[first:stop]
    out = np.empty(dossiers.size, np.uint8)
    for i in range(dossiers.size):
        out[i] = _entries_of(dossiers[i])
    return out


@kernel
def _stats(s):
    return s.stats


compiled_mechanism(DanganState, _step, _metrics)
compiled_scoring(DanganState, _entries)


class Dangan(CompiledSteps, Scoring):
    """A lifelong dossier of adverse records that employers read."""

    name = "dangan"
    Params = DanganParams
    description = "lifelong dossier: records never expire; employers reject on it"
    params: DanganParams
    carries_history = True

    def declare(self, pop: Population) -> None:
        self.dossier = pop.state.add(self.name, np.uint8, 0)
        self.income = income_loss(pop)

    def history(self) -> dict[str, Any]:
        """Besides the dossiers: the people with entries (rejections count from day 0)."""
        return {"stats": self.stats.copy()}

    def take_history(self, history: dict[str, Any]) -> None:
        np.copyto(self.stats, history["stats"])

    def init(self, sim: Simulation) -> None:
        p = self.params
        sim.check_reads_a_source(f"{self.name}.sources", p.sources)
        filed = np.zeros(len(Act), np.bool_)
        filed[[act_by_name(a) for a in p.acts]] = True
        source_ok = np.zeros(len(Source), np.bool_)
        source_ok[[source_by_name(s) for s in p.sources]] = True
        jobs = JobRule(
            applications_key=self.key("applications"),
            rejection_key=self.key("rejection"),
            age_key=sim.pop.keys.age,
            age_table=sim.pop.age_table,
            rate=p.job_application_rate,
            per_entry=p.rejection_per_entry,
        )
        self.state = _new_state(
            dossier=self.dossier,
            filed=filed,
            source_ok=source_ok,
            jobs=jobs,
            income=self.income,
            households=sim.pop.households,
            n=sim.pop.n,
            threads=run_threads(sim.pop.n),
        )
        self.stats, self.today = _stats(self.state), today_of(self.state)
        """People with entries, with only false entries; today's metrics (shared)."""
        self.filed, self.source_ok = filed, source_ok
        n = self.name
        self.metric_columns = (
            f"{n}_people_with_entries",
            f"{n}_people_with_only_false_entries",
            f"{n}_job_rejections",
            f"{n}_job_rejections_on_false_entries",
        )

    def counted_records(self) -> np.ndarray:
        """Per act and source, whether such a record is filed (the kernel's two tables)."""
        return self.filed[:, None] & self.source_ok[None, :]

    @property
    def rejections(self) -> int:
        """Job applications rejected on the dossier so far."""
        return int(self.today[2])

    @property
    def rejections_innocent(self) -> int:
        """Of them, rejected on false entries alone."""
        return int(self.today[3])

    def scores(self, pids: np.ndarray, day: int) -> np.ndarray:
        return _entries(self.state, np.asarray(pids, np.int64), day)

    def scores_between(self, first: int, stop: int, day: int) -> np.ndarray:
        """The entries of a run of ids, as bytes: read along the dossiers, no gather."""
        return _entries_between(self.state, first, stop)

    def summary(self) -> list[str]:
        return [
            f"{self.name}: {self.stats[0]:,} people have a dossier entry ({self.stats[1]:,} only "
            f"false ones); {self.rejections:,} job applications rejected on it "
            f"({self.rejections_innocent:,} on false entries alone)"
        ]
