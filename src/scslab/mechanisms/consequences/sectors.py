"""Sector sanctions on a list's members: the shared machinery of travel bans and joint punishment.

In each sector people attempt something (buy a ticket, apply for a job, enrol a child) at a daily
rate. An attempt is blocked, with the sector's enforcement probability, when the person is on the
list or, where the sector extends to the family, when someone in their household is. Attempts are
sampled over the whole population (the cost grows with attempts, not with the list) and are drawn
per person, so the same person makes the same attempts in every scenario that shares a seed. A
listed person's blocked attempt in a sector that costs income marks them as having lost income
(through ``mechanisms/income_loss``), which the ``debt`` mechanism reads (lower ability to repay)
until they leave the list, unless an employer took the income too. A household member blocked for
another's listing loses the attempt (the job, the loan) but is not marked: they never leave the
list, so nothing would give the income back. Blocked attempts of people listed on a false record are
counted by the source of that record too (``mechanisms/provenance.py``).

The rule that picks the attempts acted on (``attempts_on_list``: members' attempts, each with a
probability) serves both senses: a blacklist's sanctions block them here, and a redlist's rewards
grant them (``consequences/rewards.py``, sectors with a ``list``).

Owns ``SectorSanctions``, the sector rules, their kernels and the blocked counts. It changes no
list's membership and no score: it reads the list's flags and households, marks lost income
through ``income_loss`` and adds to the provenance's sanction counts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from numba import prange
from pydantic import Field, model_validator

from scslab.engine.mechanism import Consequences
from scslab.engine.steps import CompiledSteps, compiled_mechanism
from scslab.kernels.compact import joined, kept
from scslab.kernels.compiled_once import compiled_once
from scslab.kernels.jit import kernel, step_kernel
from scslab.kernels.memory import prefetch_ahead
from scslab.kernels.parallel import both_builds, run_threads
from scslab.kernels.rng import uniform
from scslab.kernels.sampling import compiled_bernoulli_ids, compiled_bernoulli_ids_where
from scslab.kernels.sorting import distinct_sorted
from scslab.kernels.structs import compiled_struct
from scslab.mechanisms.ages import NO_MAX_AGE, ActorAges, actor_ages, aged, no_ages
from scslab.mechanisms.income_loss import (
    income_loss,
    lose_income_to_sanction,
    no_income_loss,
    regain_income_from_sanction,
    sanction_cause,
)
from scslab.mechanisms.lists.base import ListBase, exited_on, no_list
from scslab.mechanisms.provenance import count_sanctions
from scslab.parameter_tables import ParameterTable
from scslab.population.households import household_size, household_start

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation
    from scslab.population import Population


class Sector(ParameterTable):
    """One sector of sanctions."""

    attempt_rate: float = Field(ge=0.0, le=1.0, description="Attempts per person per day.")
    enforcement: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description="Chance an attempt by a sanctioned person is blocked (default 1: every "
        "attempt, an assumption).",
    )
    family_extension: bool = Field(
        default=False, description="Also block household members of listed people."
    )
    income_loss: bool = Field(
        default=False,
        description="A listed person's blocked attempt costs them their income, until they "
        "leave the list (unless an employer took it too; a household member blocked for "
        "another's listing keeps theirs).",
    )
    min_age: int = Field(
        default=0,
        ge=0,
        le=120,
        description="The youngest who attempts (default 0: anyone, an assumption).",
    )
    max_age: int = Field(
        default=NO_MAX_AGE,
        ge=0,
        le=NO_MAX_AGE,
        description=f"The oldest who attempts (default {NO_MAX_AGE}, above every age: no "
        "upper age, an assumption).",
    )

    @model_validator(mode="after")
    def _window(self) -> Sector:
        if self.max_age < self.min_age:
            raise ValueError("max_age must be at least min_age")
        return self


class SectorRules(NamedTuple):
    """Every sector's rules, one array element per sector in the order of ``sectors()``.

    Built by name in Python (``SectorSanctions.init``) and read by name in the kernels.
    """

    attempt_keys: np.ndarray
    """Stream key of each sector's attempts (uint64)."""
    attempt_rates: np.ndarray
    """Attempts per person per day (float64)."""
    family: np.ndarray
    """Whether a household member's listing blocks too (bool)."""
    income_loss: np.ndarray
    """Whether a blocked attempt costs the person their income (bool)."""
    enforce_keys: np.ndarray
    """Stream key of each sector's enforcement draw (uint64)."""
    enforcement: np.ndarray
    """Chance that a sanctioned attempt is blocked (float64)."""
    min_ages: np.ndarray
    """The youngest who attempts (int64)."""
    max_ages: np.ndarray
    """The oldest who attempts (int64)."""
    ages: ActorAges
    """What is read of an attempter's age (``mechanisms/ages.py``)."""


BLOCKED, OF_FAMILY, INNOCENT = 0, 1, 2
"""Rows of ``SanctionsState.counts``: blocked attempts, of them household members', innocents'."""


def _blocked(ids, flags, mask, false_flags, false_mask, households, family, key, day, enforcement):
    """Of today's attempts ``ids``: (blocked ids, how many of household members, how many falsely).

    "Of household members": blocked because someone in their household is listed; "falsely": the
    person is listed on a false record. An attempt is sanctioned when the person is listed
    (``flags & mask``) or, with ``family``, someone in their household is; a sanctioned attempt
    is blocked with probability ``enforcement`` (draw ``(key, day, person, 0)``).
    """
    how = np.zeros(ids.size, np.int8)  # 1: listed, 2: a listed person's household member
    for i in prange(ids.size):
        prefetch_ahead(flags, ids, i)
        pid = ids[i]
        if flags[pid] & mask:
            how[i] = 1
        elif family:
            start = household_start(households, pid)
            for j in range(start, start + household_size(households, pid)):
                if flags[j] & mask:
                    how[i] = 2
                    break
        if how[i] and enforcement < 1.0 and not uniform(key, day, pid, 0) < enforcement:
            how[i] = 0
    blocked = kept(ids, how)
    of_family = innocent = 0
    for i in range(how.size):
        of_family += how[i] == 2
    for pid in blocked:
        innocent += (false_flags[pid] & false_mask) != 0
    return blocked, of_family, innocent


_blocked = both_builds(_blocked)


@compiled_once
@kernel
def attempts_on_list(
    attempt_key,
    n,
    rate,
    flags,
    mask,
    false_flags,
    false_mask,
    households,
    family,
    key,
    day,
    p,
    threads,
    ages,
    min_age,
    max_age,
):
    """Draw today's attempts (rate ``rate`` over ``n`` people) and pick those acted on.

    Returns (ids acted on, attempts drawn, of household members, on a false record): see
    ``_blocked``, whose "blocked" reads "granted" for a reward. Without ``family`` only members'
    attempts are drawn (and counted). One compiled call per sector and day; ``p`` is the
    probability that an attempt of a member (or a member's household) is acted on; ``threads``
    is the run's (``run_threads``). Only people aged ``min_age`` to ``max_age`` attempt
    (``ages.aged``; the draw is over everyone, so each keeps the attempts of every scenario).
    """
    if family:  # a household member's listing counts: every attempt is looked at
        ids = compiled_bernoulli_ids(attempt_key, day, n, rate, threads)
    else:  # only listed people's attempts can be acted on: the draw keeps only theirs
        ids = compiled_bernoulli_ids_where(attempt_key, day, n, rate, flags, mask, threads)
    ids = aged(ids, ages, min_age, max_age, threads)
    args = (ids, flags, mask, false_flags, false_mask, households, family, key, day, p)
    acted, of_family, innocent = _blocked(threads, ids.size, *args)
    return acted, ids.size, of_family, innocent


SanctionsState = compiled_struct(
    "SanctionsState",
    (
        "listing",
        "households",
        "sectors",
        "n",
        "threads",
        "counts",
        "income",
        "income_cause",
        "blocked_ids",
        "newly_income_lost",
        "today",
    ),
    __name__,
)
"""The list's record; the households; the sectors' rules (``SectorRules``); the population and its
``run_threads``; per sector the blocked attempts so far, of them household members', and innocents'
(``counts``, rows ``BLOCKED``, ``OF_FAMILY``, ``INNOCENT``); the lost-income record
(``mechanisms/income_loss``; mask 0: no sector costs income) and this mechanism's cause bit in
it; today's blocked ids and people newly without income; today's metrics."""


@kernel
def _new_state(listing, households, sectors, n, threads, income, income_cause, width):
    empty = np.empty(0, np.int64)
    counts = np.zeros((3, sectors.attempt_rates.size), np.int64)
    today = np.zeros(width, np.float64)
    return SanctionsState(
        listing, households, sectors, n, threads, counts, income, income_cause, empty, empty, today
    )


@kernel
def no_sanctions():
    """The record of no sanctions (for a reader whose sanctions are optional): nobody blocked."""
    keys, rates, flags = np.empty(0, np.uint64), np.empty(0, np.float64), np.empty(0, np.bool_)
    sectors = SectorRules(
        attempt_keys=keys,
        attempt_rates=rates,
        family=flags,
        income_loss=flags,
        enforce_keys=keys,
        enforcement=rates,
        min_ages=np.empty(0, np.int64),
        max_ages=np.empty(0, np.int64),
        ages=no_ages(),
    )
    nobody = np.empty(0, np.uint8)
    return _new_state(no_list(), nobody, sectors, 0, None, no_income_loss(nobody), np.int16(0), 0)


@step_kernel
def _step(day, board, s):
    lst = s.listing
    rules = s.sectors
    rates, family = rules.attempt_rates, rules.family
    parts = [np.empty(0, np.int64)]
    lost = [np.empty(0, np.int64)]
    n_blocked = n_lost = 0
    for k in range(rates.size):
        if rates[k] == 0.0:  # a sector nobody attempts blocks nobody
            continue
        ids, _, of_family, innocent = attempts_on_list(
            rules.attempt_keys[k],
            s.n,
            rates[k],
            lst.flags,
            lst.mask,
            lst.flags,
            lst.false_mask,  # listed on a false record: no true offence
            s.households,
            family[k],
            rules.enforce_keys[k],
            day,
            rules.enforcement[k],
            s.threads,
            rules.ages,
            rules.min_ages[k],
            rules.max_ages[k],
        )
        s.counts[BLOCKED, k] += ids.size
        s.counts[OF_FAMILY, k] += of_family
        s.counts[INNOCENT, k] += innocent
        if innocent:  # by the source of the false record each is listed on
            count_sanctions(lst.provenance, lst.false_sources, ids, lst.flags, lst.false_mask)
        parts.append(ids)
        n_blocked += ids.size
        if rules.income_loss[k]:  # the listed: a household member's would never come back
            members = kept(ids, (lst.flags[ids] & lst.mask) != 0)
            lost.append(members)
            n_lost += members.size
    # the one sector's ids without a copy
    s.blocked_ids = parts[-1] if len(parts) == 2 else joined(parts, n_blocked)
    if s.income.mask:
        for pid in exited_on(lst, day):  # income comes back with leaving the list (today)
            regain_income_from_sanction(s.income, pid, s.income_cause)
        lost_ids = distinct_sorted(joined(lost, n_lost))
        newly = np.empty(lost_ids.size, np.bool_)
        for i in range(lost_ids.size):
            newly[i] = lose_income_to_sanction(s.income, lost_ids[i], s.income_cause)
        s.newly_income_lost = kept(lost_ids, newly)


@step_kernel
def _metrics(day, s):
    """Today's metrics: blocked attempts, then innocents' blocked attempts, per sector so far.

    Then household members' blocked attempts per family sector, and people newly without income
    where a sector costs income.
    """
    family = s.sectors.family
    k, t = family.size, s.today
    j = 0
    for row in (BLOCKED, INNOCENT):
        for sector in range(k):
            t[j] = s.counts[row, sector]
            j += 1
    for sector in range(k):
        if family[sector]:
            t[j] = s.counts[OF_FAMILY, sector]
            j += 1
    if s.income.mask:
        t[j] = s.newly_income_lost.size


@kernel
def _blocked_ids(s):
    return s.blocked_ids


@kernel
def _newly_income_lost(s):
    return s.newly_income_lost


@kernel
def _shared(s):
    return s.counts, s.today


compiled_mechanism(SanctionsState, _step, _metrics)


class SectorSanctions(CompiledSteps, Consequences):
    """Base of sanction mechanisms: subclasses say which list and which sectors."""

    def list_name(self) -> str:
        """The list whose members are sanctioned."""
        raise NotImplementedError

    def sectors(self) -> dict[str, Sector]:
        """Sector name -> rules; metric columns are ``{name}_blocked``."""
        raise NotImplementedError

    def declare(self, pop: Population) -> None:
        if any(s.income_loss for s in self.sectors().values()):
            self.income = income_loss(pop)
            self.income_cause = sanction_cause(pop, self.name)
        else:
            self.income, self.income_cause = None, np.int16(0)

    def init(self, sim: Simulation) -> None:
        lst = sim.get(self.list_name(), ListBase, f"{self.name}.list")
        self.list = lst
        self.flag = lst.flag
        self.rules = self.sectors()
        names, rules = list(self.rules), list(self.rules.values())
        sectors = SectorRules(
            attempt_keys=np.asarray([self.key(f"{n}/attempt") for n in names], np.uint64),
            attempt_rates=np.asarray([r.attempt_rate for r in rules], np.float64),
            family=np.asarray([r.family_extension for r in rules], np.bool_),
            income_loss=np.asarray([r.income_loss for r in rules], np.bool_),
            enforce_keys=np.asarray([self.key(f"{n}/enforce") for n in names], np.uint64),
            enforcement=np.asarray([r.enforcement for r in rules], np.float64),
            min_ages=np.asarray([r.min_age for r in rules], np.int64),
            max_ages=np.asarray([r.max_age for r in rules], np.int64),
            ages=actor_ages(sim.pop),
        )
        family = [n for n, r in self.rules.items() if r.family_extension]
        self.metric_columns = (
            *(f"{n}_blocked" for n in names),
            *(f"{n}_blocked_innocent" for n in names),
            *(f"{n}_blocked_family" for n in family),
        )
        income = self.income
        if income is not None:
            self.metric_columns += (f"{self.name}_income_lost_new",)
        self.state = _new_state(
            listing=lst.state,
            households=sim.pop.households,
            sectors=sectors,
            n=sim.pop.n,
            threads=run_threads(sim.pop.n),
            income=income if income is not None else no_income_loss(np.empty(0, np.uint8)),
            income_cause=self.income_cause,
            width=len(self.metric_columns),
        )
        self.counts, self.today = _shared(self.state)
        """Blocked attempts, of household members, of innocents (rows) per sector: shared."""

    def _by_sector(self, row: int) -> dict[str, int]:
        return dict(zip(self.rules, map(int, self.counts[row]), strict=True))

    @property
    def blocked(self) -> dict[str, int]:
        """Blocked attempts so far, by sector."""
        return self._by_sector(BLOCKED)

    @property
    def blocked_family(self) -> dict[str, int]:
        """Blocked attempts of listed people's household members so far, by sector."""
        return self._by_sector(OF_FAMILY)

    @property
    def blocked_innocent(self) -> dict[str, int]:
        """Blocked attempts of people listed on a false record so far, by sector."""
        return self._by_sector(INNOCENT)

    @property
    def blocked_ids(self) -> np.ndarray:
        """Whose attempts were blocked today (sector by sector)."""
        return _blocked_ids(self.state)

    @property
    def newly_income_lost(self) -> np.ndarray:
        """Who lost their income today (in order)."""
        return _newly_income_lost(self.state)

    def summary(self) -> list[str]:
        top = sorted(self.blocked.items(), key=lambda kv: -kv[1])
        text = ", ".join(f"{n.replace('_', ' ')} {c:,}" for n, c in top)
        fam = sum(self.blocked_family.values())
        extra = f" ({fam:,} of them household members)" if fam else ""
        return [f"{self.name}: blocked {text}{extra}"]
