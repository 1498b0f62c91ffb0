"""Who is old enough to commit an act: the one place of ``catalogue.MIN_AGE``'s rule.

A debt's four acts, a traffic offence, tax evasion, commercial fraud and a Party warning need 18
years (``catalogue.MIN_AGE``). Every record that claims one of them is of someone that old: the
acts ``everyday_acts`` draws, the false records of a data source's errors (``data_sources``) and
the targets of malicious reports (``informants``, which draws another target for a child). Each
reads people's ages through an ``ActorAges`` record and asks ``of_age``; none keeps a copy of
the rule. ``debt`` draws its borrowers in a pass over everyone that must stay vector code, so it
reads the borrower's age from ``MIN_AGE`` itself (``BORROWER_MIN_AGE``).

Owns ``ActorAges``, ``actor_ages``, ``min_age_by_act``, ``of_age`` and ``old_enough`` (its
loop is ``of_age``'s rule over many ids, with threads where a run has them). Draws
nothing and holds no state: the ages are ``population.attributes.age``'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from numba import prange

from scslab.catalogue import MIN_AGE, Act
from scslab.kernels.compact import kept
from scslab.kernels.jit import kernel
from scslab.kernels.parallel import both_builds
from scslab.population.attributes import age

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


@kernel
def of_age(ages, pid, min_age):
    """Whether ``pid`` is ``min_age`` or older (always, for a ``min_age`` of 0)."""
    if min_age <= 0:
        return True
    return age(ages.age_key, pid, ages.households[pid], ages.age_table) >= min_age


def _mark_of_age(ids, age_key, households, age_table, min_age, keep):
    for i in prange(ids.size):
        pid = ids[i]
        keep[i] = age(age_key, pid, households[pid], age_table) >= min_age


_mark_of_age = both_builds(_mark_of_age)
"""``keep[i]``: whether ``ids[i]`` is ``min_age`` or older (``of_age``'s rule, over many ids:
the arrays apart, so that a threaded loop takes no record)."""


@kernel
def old_enough(ids, ages, min_age, threads):
    """The people of ``ids`` (in order) of ``min_age`` or older, in order.

    ``threads`` is the run's (``run_threads``): a day's online purchases at China's scale are
    tens of millions of ids.
    """
    if min_age <= 0:
        return ids
    keep = np.empty(ids.size, np.bool_)
    _mark_of_age(
        threads, ids.size, ids, ages.age_key, ages.households, ages.age_table, min_age, keep
    )
    return kept(ids, keep)
