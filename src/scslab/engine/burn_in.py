"""The burn-in: the days before ``start_date`` that give every score its history.

A programme that was running before a scenario's start date (Sesame Credit in 2020) has scores
spread by what it recorded before then: penalties not yet forgiven, points lost, dossier entries.
With ``[scenario] burn_in_days = N`` the engine runs, before day 0, a second simulation of the
same people (the population is shared, not rebuilt) over the ``N`` days before ``start_date``,
with:

- only the mechanisms of ``BURN_IN_FAMILIES``, the ones that make records and scores: what people
  do, what is seen and reported, and how it is scored. Lists, sanctions, responses and metrics
  are left out: they start on ``start_date`` as before, lists with their own ``initial`` warm
  start from the published figures (``mechanisms/lists/initial.py``);
- the scenario's seed, so that everything drawn once per person (who opts in, who is enrolled,
  who is covered, who evades) is the same as in the run, but day numbers of their own: its days
  are numbered ``MAX_DAYS - N .. MAX_DAYS - 1`` (from ``BurnInMeta.first_day``), so that no
  daily draw of the burn-in is one of the run's days 0 .. ``days - 1`` (``days +
  burn_in_days`` is at most ``MAX_DAYS``). Numbered from 0, the burn-in would replay the run's
  first days, act for act;
- no metrics rows: ``metrics.parquet`` starts on ``start_date`` as always.

The per-person arrays that each scorer declared in the burn-in outlive it: the run's scorers
adopt them when they declare theirs (``StateRegistry.adopt``), so the burn-in's state is freed
before the run's is allocated, and a run with a burn-in needs no more memory than one without.
After ``init`` each scorer takes what else it keeps (``Scoring.take_history``: counts kept from
those arrays). Only scores carry over: a debt drawn in the burn-in, or a job lost to the dossier
there, is not in the run (the scorer's history is its records, not their other consequences).
A scorer that cannot take a history (``Scoring.carries_history`` false) is refused with one line.

Owns the burn-in scenario and the hand-over; it runs no mechanism rule itself and imports no
concrete mechanism (``Simulation`` builds and runs the twin).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scslab.engine.mechanism import FAMILIES, MechanismParams, Scoring, mechanism_class
from scslab.errors import ScenarioError

if TYPE_CHECKING:
    from scslab.engine.simulation import ScenarioLike
    from scslab.population import PopulationParams
    from scslab.population.state import StateRegistry

BURN_IN_FAMILIES: tuple[str, ...] = FAMILIES[: FAMILIES.index("scoring") + 1]
"""The families that run in the burn-in, the first of the day up to scoring: everything that
makes a record or a score (behaviour, surveillance, observation, reporting, adversary, scoring)."""

MAX_DAYS = 60_000
"""Days of a run and its burn-in together (``scenario.MAX_DAYS``: days are stored as uint16)."""


@dataclass(frozen=True)
class BurnInMeta:
    """The burn-in's ``[scenario]`` table.

    Its days 0 .. ``days - 1`` end on the day before the scenario's start date; only the last
    ``burn_in_days`` of the scenario run, from ``first_day``.
    """

    people: int
    days: int
    seed: int
    start_date: dt.date
    scale: int
    first_day: int
    """The number of the first day that runs: ``days`` minus the scenario's ``burn_in_days``."""
    burn_in_days: int = 0
    """A burn-in has none of its own."""


@dataclass(frozen=True)
class BurnInScenario:
    """The scenario that the burn-in runs (``ScenarioLike``)."""

    meta: BurnInMeta
    population: PopulationParams
    mechanisms: Mapping[str, MechanismParams]
    source: str
    left_out: frozenset[str]
    """The run's mechanisms that the burn-in does not run (lists, sanctions, responses...)."""

    def resolved(self) -> dict[str, Any]:
        """Not a run of its own: nothing is written for it."""
        return {}


def burns_in(name: str, params: MechanismParams) -> bool:
    """Whether the mechanism of table ``name`` runs in the burn-in (by its family)."""
    return mechanism_class(name, params).family in BURN_IN_FAMILIES


def burn_in_scenario(scenario: ScenarioLike) -> BurnInScenario:
    """The burn-in of ``scenario``: its score-making mechanisms over its ``burn_in_days``.

    Raises:
        ScenarioError: A scorer of the scenario cannot take a history (one line).
    """
    meta = scenario.meta
    for name, params in scenario.mechanisms.items():
        cls = mechanism_class(name, params)
        if issubclass(cls, Scoring) and not cls.carries_history:
            kind = "" if name == cls.name else f" ({cls.name})"
            raise ScenarioError(
                f"{scenario.source}: scenario.burn_in_days: {name}{kind} cannot start from a "
                "burn-in (it carries no history); set burn_in_days = 0 or remove it"
            )
    return BurnInScenario(
        meta=BurnInMeta(
            people=meta.people,
            days=MAX_DAYS,
            seed=meta.seed,
            start_date=meta.start_date - dt.timedelta(days=MAX_DAYS),
            scale=meta.scale,
            first_day=MAX_DAYS - meta.burn_in_days,
        ),
        population=scenario.population,
        mechanisms={n: p for n, p in scenario.mechanisms.items() if burns_in(n, p)},
        source=f"{scenario.source} (burn-in)",
        left_out=frozenset(n for n, p in scenario.mechanisms.items() if not burns_in(n, p)),
    )


def hand_over(
    mechanisms: Mapping[str, object], histories: Mapping[str, dict[str, Any]], state: StateRegistry
) -> None:
    """After ``init``: each scorer takes its ``history``; every array handed over was adopted."""
    for name, history in histories.items():
        scorer = mechanisms[name]
        assert isinstance(scorer, Scoring)  # the same table builds the same class
        scorer.take_history(history)
    if state.adopted:
        raise RuntimeError(f"burn-in arrays nobody declared: {', '.join(state.adopted)}")
