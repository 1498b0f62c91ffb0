"""The dang'an: a lifelong dossier whose records never expire, read by employers.

Seed article: "the dang'an, an existing system of files for each citizen tracking personal
information, data on performance, behaviours and political positions that travel with a person
throughout their life, and ... impact on a person's work and career prospects".

Each person's dossier is one byte: the number of true entries (low four bits) and of false
entries (high four bits), each saturating at 15. Entries come from recorded acts of the kinds the
dossier files, from state sources; nothing ever removes one. Employers read it: job applications
(sampled per person and day) are rejected with a probability that grows with the number of entries,
and a rejection costs the applicant income (the ``income_lost`` flag that ``debt`` reads).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit, prange
from pydantic import Field

from scslab.catalogue import Act, ActName, Source, SourceName, act_by_name, source_by_name
from scslab.engine.mechanism import MechanismParams, Scoring
from scslab.kernels.parallel import sized_kernel
from scslab.kernels.rng import uniform
from scslab.kernels.sampling import bernoulli_ids
from scslab.mechanisms.consequences.sectors import INCOME_LOST
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


@njit(cache=True)
def _file(pids, acts, sources, true, filed, source_ok, dossier, stats):
    """File records; stats = [people with entries, people with only false entries]."""
    for i in range(pids.size):
        if not (filed[acts[i]] and source_ok[sources[i]]):
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


@sized_kernel("ids")
def _rejected(key, age_key, day, ids, households, dossier, per_entry):
    """0: hired or not of working age; 1: rejected; 2: rejected on false entries alone."""
    out = np.zeros(ids.size, np.int8)
    for i in prange(ids.size):
        pid = ids[i]
        years = age(age_key, pid, households[pid] & 15)
        if years < 18 or years >= 60:
            continue
        d = dossier[pid]
        entries = (d & 15) + (d >> 4)
        if entries and uniform(key, day, pid, 0) < min(1.0, per_entry * entries):
            out[i] = 2 if d & 15 == 0 else 1
    return out


class Dangan(Scoring):
    """A lifelong dossier of adverse records that employers read."""

    name = "dangan"
    Params = DanganParams
    description = "lifelong dossier: records never expire; employers reject on it"
    params: DanganParams

    def declare(self, pop: Population) -> None:
        self.dossier = pop.state.add(self.name, np.uint8, 0)
        self.income_lost = pop.state.shared_flag(INCOME_LOST)

    def init(self, sim: Simulation) -> None:
        p = self.params
        self.filed = np.zeros(len(Act), np.bool_)
        self.filed[[act_by_name(a) for a in p.acts]] = True
        self.source_ok = np.zeros(len(Source), np.bool_)
        self.source_ok[[source_by_name(s) for s in p.sources]] = True
        self.stats = np.zeros(2, np.int64)
        self.rejections = 0
        self.rejections_innocent = 0
        self.pop = sim.pop

    def step(self, sim: Simulation, day: int) -> None:
        rec = sim.board.records
        _file(
            rec["pid"],
            rec["act"],
            rec["source"],
            rec["true"],
            self.filed,
            self.source_ok,
            self.dossier,
            self.stats,
        )
        p, pop = self.params, self.pop
        ids = bernoulli_ids(self.key("applications"), day, pop.n, p.job_application_rate)
        how = _rejected(
            self.key("rejection"),
            pop.keys.age,
            day,
            ids,
            pop.households,
            self.dossier,
            p.rejection_per_entry,
        )
        rejected = ids[how > 0]
        self.rejections += rejected.size
        self.rejections_innocent += int(np.count_nonzero(how == 2))
        self.income_lost.array[rejected] |= self.income_lost.mask

    def scores(self, pids: np.ndarray, day: int) -> np.ndarray:
        d = self.dossier[pids].astype(np.int64)
        return (d & 15) + (d >> 4)

    def metrics(self, day: int) -> dict[str, float | int]:
        n = self.name
        return {
            f"{n}_people_with_entries": int(self.stats[0]),
            f"{n}_people_with_only_false_entries": int(self.stats[1]),
            f"{n}_job_rejections": self.rejections,
            f"{n}_job_rejections_on_false_entries": self.rejections_innocent,
        }

    def summary(self) -> list[str]:
        return [
            f"{self.name}: {self.stats[0]:,} people have a dossier entry ({self.stats[1]:,} only "
            f"false ones); {self.rejections:,} job applications rejected on it "
            f"({self.rejections_innocent:,} on false entries alone)"
        ]
