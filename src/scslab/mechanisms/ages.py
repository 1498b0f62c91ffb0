"""Who is old enough to commit an act: the one place of ``catalogue.MIN_AGE``'s rule.

Every act but the reference model's generic offence has a minimum age (``catalogue.MIN_AGE``).
Every record that claims one is of someone that old: the acts ``everyday_acts`` draws, the false
records of a data source's errors (``data_sources``) and the targets of malicious reports
(``informants``, which draws another target for a child). Reporters, sign-ups, the face
gallery and the attempts of sanction and reward sectors have ages too. Each reads people's ages
through an ``ActorAges`` record and asks ``of_age`` (or, in a threaded loop that cannot take a
record, ``is_of_age`` on its arrays, and ``aged`` for many ids); none keeps a copy of the rule.
``debt`` draws its borrowers in a pass over everyone that must stay vector code, so it reads the
borrower's age from ``MIN_AGE`` itself (``BORROWER_MIN_AGE``).

Owns ``ActorAges``, ``actor_ages``, ``min_age_by_act``, ``of_age``, ``is_of_age``, ``old_enough``,
``aged`` (an age window, which sector sanctions read: its loop is ``of_age``'s rule over many
ids, with threads where a run has them), ``WORKING_AGES`` (with ``of_working_age``) and
``ID_CARD_AGE``.
Draws nothing and holds no state: the ages are ``population.attributes.age``'s, and a minimum
alone is asked of ``population.attributes.at_least`` (the same answers, with fewer ages computed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from numba import prange

from scslab.catalogue import MIN_AGE, Act
from scslab.kernels.compact import kept
from scslab.kernels.jit import kernel
from scslab.kernels.parallel import both_builds
from scslab.population.attributes import age, at_least

if TYPE_CHECKING:
    from scslab.population import Population


class ActorAges(NamedTuple):
    """What a kernel reads of people's ages, by name at both ends."""

    age_key: np.uint64
    """The population's ages."""
    households: np.ndarray
    """The households' byte per person."""
    age_table: np.ndarray
    """Who of a household is a child, by its size (``Population.age_table``)."""


def actor_ages(pop: Population) -> ActorAges:
    """The ``ActorAges`` of a population."""
    return ActorAges(age_key=pop.keys.age, households=pop.households, age_table=pop.age_table)


def min_age_by_act() -> np.ndarray:
    """``catalogue.MIN_AGE`` as an array by act code (0: any age), for kernels."""
    out = np.zeros(len(Act), np.int64)
    for act, years in MIN_AGE.items():
        out[act] = years
    return out


@kernel(inline="always")
def is_of_age(age_key, households, age_table, pid, min_age):
    """Whether ``pid`` is ``min_age`` or older (always, for a ``min_age`` of 0).

    ``of_age`` on the ages' arrays, for a threaded loop, which takes no record.
    """
    return min_age <= 0 or at_least(age_key, pid, households[pid], age_table, min_age)


@kernel
def of_age(ages, pid, min_age):
    """Whether ``pid`` is ``min_age`` or older (always, for a ``min_age`` of 0)."""
    return is_of_age(ages.age_key, ages.households, ages.age_table, pid, min_age)


NO_MAX_AGE = 255
"""An age window's upper end that nobody reaches (the oldest person is 90)."""


ID_CARD_AGE = 16
"""From this age a resident identity card, and with it a photo in the national gallery, is
compulsory (Resident Identity Card Law, art. 2); younger children's optional cards are left out
(assumption). Face searches against the gallery and sign-ups by ID number read it."""


class AgeWindow(NamedTuple):
    """The youngest and the oldest of a window of ages, both included."""

    youngest: int
    oldest: int


WORKING_AGES = AgeWindow(youngest=18, oldest=59)
"""Who applies for a job (assumption: adults below the retirement age of 60 for men, Labour
Law's 16 raised to full civil capacity): the dang'an's employers, the leaked scores' and joint
punishment's job sectors read it."""
_WORKING_YOUNGEST, _WORKING_OLDEST = WORKING_AGES.youngest, WORKING_AGES.oldest


@kernel(inline="always")
def of_working_age(years):
    """Whether ``years`` is within ``WORKING_AGES``."""
    return (years >= _WORKING_YOUNGEST) & (years <= _WORKING_OLDEST)


def no_ages() -> ActorAges:
    """The ages of a reader that reads none (an empty sanction, a list's reward sector)."""
    return ActorAges(
        age_key=np.uint64(0),
        households=np.empty(0, np.uint8),
        age_table=np.empty((0, 0), np.float64),
    )


def _mark_of_age(ids, age_key, households, age_table, min_age, max_age, keep):
    if max_age >= NO_MAX_AGE:  # a minimum only: ``at_least`` computes fewer ages
        for i in prange(ids.size):
            pid = ids[i]
            keep[i] = at_least(age_key, pid, households[pid], age_table, min_age)
        return
    for i in prange(ids.size):
        pid = ids[i]
        years = age(age_key, pid, households[pid], age_table)
        keep[i] = (years >= min_age) & (years <= max_age)


_mark_of_age = both_builds(_mark_of_age)
"""``keep[i]``: whether ``ids[i]`` is ``min_age`` to ``max_age`` years old (``of_age``'s rule,
over many ids: the arrays apart, so that a threaded loop takes no record)."""


@kernel
def old_enough(ids, ages, min_age, threads):
    """The people of ``ids`` (in order) of ``min_age`` or older, in order.

    ``threads`` is the run's (``run_threads``): a day's online purchases at China's scale are
    tens of millions of ids.
    """
    return aged(ids, ages, min_age, NO_MAX_AGE, threads)


@kernel
def aged(ids, ages, min_age, max_age, threads):
    """The people of ``ids`` (in order) aged ``min_age`` to ``max_age``, in order.

    ``threads`` is the run's (``run_threads``); a window of every age returns ``ids`` itself.
    """
    if min_age <= 0 and max_age >= NO_MAX_AGE:
        return ids
    keep = np.empty(ids.size, np.bool_)
    a = ages
    _mark_of_age(
        threads, ids.size, ids, a.age_key, a.households, a.age_table, min_age, max_age, keep
    )
    return kept(ids, keep)
