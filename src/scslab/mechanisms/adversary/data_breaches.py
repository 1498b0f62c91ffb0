"""Data breaches: leaks expose people's scores, and employers screen on them outside any appeal.

In 2022 a database of about 1 billion residents' records from the Shanghai police was offered for
sale (calibration/reporting_and_manipulation.csv, shanghai_police_leak_2022); in 2019 SenseNets
left the real-time tracking of over 2.5 million people open (sensenets_leak_2019).

A leak on a date exposes a share of everyone: person ``pid`` is exposed by leak ``j`` when
``uniform(key, 0, pid, j) < share_j``, a pure function of (seed, id), so exposure is recomputed,
never stored. On the leak's day one pass over the population, block by block, reads the exposed
people's scores through the scorer's kernels (``scoring/compiled.py``) and marks those scored
below ``screen_below``: the leaked copy is a snapshot that third parties keep, so a mark stays
whatever the score does later, and no appeal reaches it.

Employers screen on the leaked copy: job applications are drawn each day among the marked
(``kernels/sampling``, the cost grows with applications); an applicant of working age
(``ages.WORKING_AGES``, 18-59) whose employer screens (``screening_share``) is rejected, and
loses income through ``mechanisms/income_loss`` (the flag ``debt`` reads).

Owns one bit per person in the population's flag bytes (leaked below the cut-off). Reads scores
only through the scorer's kernels; changes the lost-income flag only through ``income_loss``.
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numba import prange
from pydantic import Field

from scslab.engine.mechanism import Adversary, MechanismParams
from scslab.engine.steps import CompiledSteps, compiled_mechanism
from scslab.kernels.jit import kernel, step_kernel
from scslab.kernels.parallel import both_builds, run_threads
from scslab.kernels.rng import uniform
from scslab.kernels.sampling import compiled_bernoulli_ids_where
from scslab.kernels.structs import compiled_struct
from scslab.mechanisms.ages import of_working_age
from scslab.mechanisms.income_loss import income_loss, lose_income
from scslab.mechanisms.scoring.compiled import compiled_scorer, has_score
from scslab.mechanisms.scoring.compiled import scores as scores_of
from scslab.parameter_tables import ParameterTable
from scslab.population.attributes import age

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation
    from scslab.population import Population

LEAK_BLOCK = 1 << 16
"""People per block of a leak's pass (a speed choice: the marks are the same)."""


class Leak(ParameterTable):
    """One leak: when, and the share of people whose records it exposes."""

    date: dt.date = Field(description="The day the records leak (before the start: day 0).")
    share: float = Field(ge=0.0, le=1.0, description="Share of people whose records it exposes.")


def _leaks_default() -> list[Leak]:
    # The Shanghai police leak of 2022: about 1 billion residents' records of 1.41 billion people
    # (calibration/reporting_and_manipulation.csv, shanghai_police_leak_2022, press); offered for
    # sale in early July 2022 (the day is an assumption).
    return [Leak(date=dt.date(2022, 7, 1), share=1e9 / 1.41e9)]


class DataBreachesParams(MechanismParams):
    """Leaks, the score they expose, and the employers who screen on it."""

    leaks: list[Leak] = Field(
        default_factory=_leaks_default,
        description="Leak events. Default: the Shanghai police leak, about 1 billion of 1.41 "
        "billion people, July 2022 (calibration/reporting_and_manipulation.csv, "
        "shanghai_police_leak_2022; the day is an assumption).",
    )
    score: str = Field(
        default="sesame_credit",
        description="The scoring mechanism whose scores leak (read through its kernels).",
    )
    screen_below: int = Field(
        default=600,
        ge=-30_000,
        le=30_000,
        description="Employers reject an applicant whose leaked score is below this, on the "
        "scale of score (assumption: Sesame's lowest perk threshold, calibration/sesame_credit.csv "
        "perk_threshold_600; for another score give a cut-off on its own scale).",
    )
    application_rate: float = Field(
        default=0.0003,
        ge=0.0,
        le=1.0,
        description="Job applications per person per day (assumption: as dangan's, one every "
        "nine years or so).",
    )
    screening_share: float = Field(
        default=0.2,
        ge=0.0,
        le=1.0,
        description="Share of employers who buy leaked data and screen on it (assumption).",
    )


class BreachRule(NamedTuple):
    """Leaks and screening, by name at both ends."""

    exposure_key: np.uint64
    """Stream key of who a leak exposes (draw index: the leak's place)."""
    leak_days: np.ndarray
    """Day of each leak (int64, sorted; before the first day: 0)."""
    shares: np.ndarray
    """Share each leak exposes (float64)."""
    screen_below: int
    application_key: np.uint64
    """Stream key of today's job applications."""
    screening_key: np.uint64
    """Stream key of whether the employer screens."""
    age_key: np.uint64
    """The population's ages (only ages 18-59 apply)."""
    age_table: np.ndarray
    """Who of a household is a child, by its size (``Population.age_table``)."""
    application_rate: float
    screening_share: float


BreachesState = compiled_struct(
    "BreachesState",
    (
        "rule",
        "leaked_low",
        "scorer",
        "income",
        "households",
        "n",
        "threads",
        "done",
        "totals",
        "today",
    ),
    __name__,
)
"""The rule (``BreachRule``); the leaked-below-the-cut-off bit (``FlagBits``); the scorer's record;
the lost-income record (``mechanisms/income_loss``); the households; the population and its
``run_threads``; leaks done; people exposed, marked and rejected so far (``totals``); today's
metrics (those three)."""


@kernel
def _new_state(rule, leaked_low, scorer, income, households, n, threads, today):
    done, totals = np.zeros(1, np.int64), np.zeros(3, np.int64)
    return BreachesState(
        rule, leaked_low, scorer, income, households, n, threads, done, totals, today
    )


def _exposed_in(rule, j, start, end, fresh):
    """People of ``[start, end)`` that leak ``j`` exposes; ``fresh``: not exposed before."""
    out = np.zeros(end - start, np.bool_)
    for i in prange(end - start):
        pid = start + i
        if uniform(rule.exposure_key, 0, pid, j) < rule.shares[j]:
            out[i] = True
            earlier = False
            for e in range(j):
                earlier |= uniform(rule.exposure_key, 0, pid, e) < rule.shares[e]
            fresh[i] = not earlier
    return out


_exposed_in = both_builds(_exposed_in)


@kernel
def _leak(s, j, day):
    """Leak ``j`` on ``day``: count the newly exposed, mark the exposed scored below the cut."""
    rule, bits = s.rule, s.leaked_low
    fresh = np.zeros(min(LEAK_BLOCK, s.n), np.bool_)
    for start in range(0, s.n, LEAK_BLOCK):
        end = min(s.n, start + LEAK_BLOCK)
        fresh[:] = False
        exposed = _exposed_in(s.threads, end - start, rule, j, start, end, fresh)
        m = 0
        for i in range(end - start):
            m += exposed[i]
            s.totals[0] += fresh[i]
        ids = np.empty(m, np.int64)
        k = 0
        for i in range(end - start):
            if exposed[i]:
                ids[k] = start + i
                k += 1
        scored = has_score(s.scorer, ids)
        values = scores_of(s.scorer, ids, day)
        for i in range(m):
            pid = ids[i]
            if scored[i] and values[i] < rule.screen_below and not bits.flags[pid] & bits.mask:
                bits.flags[pid] |= bits.mask
                s.totals[1] += 1


@step_kernel
def _step(day, board, s):
    rule = s.rule
    while s.done[0] < rule.leak_days.size and rule.leak_days[s.done[0]] <= day:
        _leak(s, s.done[0], day)
        s.done[0] += 1
    if s.totals[1]:  # applications reach employers only from the marked
        bits = s.leaked_low
        ids = compiled_bernoulli_ids_where(
            rule.application_key, day, s.n, rule.application_rate, bits.flags, bits.mask, s.threads
        )
        for i in range(ids.size):
            pid = ids[i]
            years = age(rule.age_key, pid, s.households[pid], rule.age_table)
            if (
                of_working_age(years)
                and uniform(rule.screening_key, day, pid, 0) < rule.screening_share
            ):
                lose_income(s.income, pid)
                s.totals[2] += 1
    for k in range(3):
        s.today[k] = s.totals[k]


compiled_mechanism(BreachesState, _step)


class DataBreaches(CompiledSteps, Adversary):
    """Leaks that expose scores to employers, who screen on them outside any appeal."""

    name = "data_breaches"
    Params = DataBreachesParams
    description = "data breaches: leaked scores screened by employers, outside any appeal"
    params: DataBreachesParams

    def declare(self, pop: Population) -> None:
        self.leaked_low_flag = pop.state.add_flag(f"{self.name}_leaked_low")
        self.income = income_loss(pop)

    def init(self, sim: Simulation) -> None:
        p, pop = self.params, sim.pop
        self.sim = sim
        leaks = sorted(p.leaks, key=lambda leak: leak.date)
        self.leak_dates = [leak.date for leak in leaks]
        self.last_date = sim.start_date + dt.timedelta(days=sim.days - 1)
        """The run's last day: a leak after it exposes nobody (the summary says so)."""
        self.rule = BreachRule(
            exposure_key=self.key("exposure"),
            leak_days=np.asarray(
                [max(0, (leak.date - sim.start_date).days) for leak in leaks], np.int64
            ),
            shares=np.asarray([leak.share for leak in leaks], np.float64),
            screen_below=p.screen_below,
            application_key=self.key("applications"),
            screening_key=self.key("screening"),
            age_key=pop.keys.age,
            age_table=pop.age_table,
            application_rate=p.application_rate,
            screening_share=p.screening_share,
        )
        self.today = np.zeros(3, np.float64)
        n = self.name
        self.metric_columns = (
            f"{n}_people_exposed",
            f"{n}_exposed_below_cutoff",
            f"{n}_screening_rejections",
        )

    @cached_property
    def state(self) -> Any:
        """The record, built on first use, once every mechanism has set up.

        The scorer's record does not exist yet in this mechanism's ``init``: scoring comes after
        the adversaries, in the day and in the set-up.
        """
        sim, pop = self.sim, self.sim.pop
        first_leak = int(self.rule.leak_days[0]) if self.rule.leak_days.size else sim.days
        first_leak = max(first_leak, sim.first_day_of(self.name))  # a leak is read when it steps
        self.scorer = compiled_scorer(
            sim, self.params.score, self.name, f"{self.name}.score", reads_from=first_leak
        )
        leaked_low = self.leaked_low_flag.bits()
        return _new_state(
            self.rule,
            leaked_low,
            self.scorer.state,
            self.income,
            pop.households,
            pop.n,
            run_threads(pop.n),
            self.today,
        )

    def summary(self) -> list[str]:
        """What the leaks exposed; or why nothing was (no leak, or none before the run's end).

        The default leak (2022-07-01) falls after the end of every preset but ``dangan``
        (2014-2023): such a run says so rather than a bare "0 people exposed".
        """
        if not self.leak_dates:
            return [f"{self.name}: no leak in the scenario, nobody exposed"]
        if self.leak_dates[0] > self.last_date:
            return [
                f"{self.name}: no leak falls within the run (the first, on "
                f"{self.leak_dates[0].isoformat()}, is after its last day, "
                f"{self.last_date.isoformat()}): nobody exposed"
            ]
        exposed, low, rejected = (int(v) for v in self.today.tolist())
        line = (
            f"{self.name}: {exposed:,} people exposed, {low:,} of them leaked below "
            f"{self.params.screen_below}; {rejected:,} job applications rejected on the leak"
        )
        later = sum(date > self.last_date for date in self.leak_dates)
        if later:
            line += f" ({later} later leak{'s' if later > 1 else ''} after the run's last day)"
        return [line]
