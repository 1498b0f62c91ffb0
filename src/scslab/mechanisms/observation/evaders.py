"""Who evades the data sources, and by how much: the rule the sources' observe kernel applies.

Evasion ("creative resistance": routes without cameras, cash instead of platforms) lowers the
coverage of the people who practise it. Who evades is a pure function of (seed, person): a person
evades when old enough (``min_age``) and
``uniform(key, 0, pid, 0) < share * trait_factor(trait_key, pid, weight)``, so nothing is stored.
An evader's act is recorded by an evaded source with the source's coverage times
``factor[source]`` (1 for a source not evaded).

Owns the ``CoverageEvasion`` record, the ``evades`` kernel (and ``evaders_in``, which counts
what it decides by region), ``evaded_coverage`` (a source's coverage of an evader's act or
another's) and the name under which an evasion mechanism shares its rule with the data sources
and the cameras (``pop.state.shared[EVASION]``, made in its ``declare``), plus
``no_evasion``, the rule of a scenario without one. The data sources (``observation/sources.py``)
read the rule and write ``lost``, the acts evasion kept from being recorded today, by act; the
evasion mechanism (``adversary/evasion.py``) reads that. Face recognition
(``surveillance/face_recognition.py``) reads the rule's factor for its own source code: an
evader shows the cameras that share of their faces, and counts what that kept from them itself.
This module posts nothing and must not import any of them.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import prange

from scslab.catalogue import Act, Source
from scslab.kernels.jit import kernel
from scslab.kernels.parallel import both_builds, run_threads
from scslab.kernels.rng import uniform
from scslab.kernels.traits import trait_factor
from scslab.mechanisms.ages import is_of_age, no_ages

EVASION = "coverage_evasion"
"""The key of the shared ``CoverageEvasion`` in ``pop.state.shared``."""


class CoverageEvasion(NamedTuple):
    """Who evades which sources and how much, by name at both ends."""

    active: bool
    """False: nobody evades (the sources record as they would without this rule, bit for bit)."""
    key: np.uint64
    """Stream key of who evades."""
    trait_key: np.uint64
    """The trait that drives evasion (a population attribute key)."""
    share: float
    """Mean share of people who evade."""
    weight: float
    """How the trait scales the share (``kernels/traits.trait_factor``)."""
    factor: np.ndarray
    """Per source code: the multiplier of an evader's coverage (float64; 1: not evaded)."""
    first_day: np.ndarray
    """``[0]``: the first day on which evaders evade (int64; set when the mechanism starts)."""
    lost: np.ndarray
    """Per act code: today's acts that a source would have recorded but for evasion (int64)."""
    age_key: np.uint64
    households: np.ndarray
    age_table: np.ndarray
    """What it reads of ages (an ``ages.ActorAges``'s fields, apart: a threaded loop takes no
    named tuple inside a named tuple): nobody younger than ``min_age`` evades."""
    min_age: int
    """The youngest evader's age (0: any)."""


def no_evasion() -> CoverageEvasion:
    """The rule of a scenario in which nobody evades."""
    return CoverageEvasion(
        active=False,
        key=np.uint64(0),
        trait_key=np.uint64(0),
        share=0.0,
        weight=0.0,
        factor=np.ones(len(Source), np.float64),
        first_day=np.zeros(1, np.int64),
        lost=np.zeros(len(Act), np.int64),
        **no_ages()._asdict(),
        min_age=0,
    )


@kernel(inline="always")
def evades(ev, pid):
    """Whether ``pid`` evades under the rule ``ev`` (a ``CoverageEvasion``): drawn, and of age.

    Two hashes, then the age (a household's byte and a hash) only for a drawn person: at the
    default share 95% of acts skip it, with the same answers. `integrated_2020` with every
    adversary and response, 2,000,000 people x 120 days, three runs each (2026-12-07): the data
    sources' phase 0.221-0.226 -> 0.185-0.189 s, face recognition's 0.086-0.087 -> 0.092-0.094,
    the run 1.93-1.95 -> 1.91 s; the metrics the same bit for bit.
    """
    drawn = uniform(ev.key, 0, pid, 0) < ev.share * trait_factor(ev.trait_key, pid, ev.weight)
    return drawn and is_of_age(ev.age_key, ev.households, ev.age_table, pid, ev.min_age)


@kernel(inline="always")
def evaded_coverage(coverage, evader, factor):
    """A source's coverage of an act: times ``factor`` for an evader's (``evader`` 1.0), else as is.

    Arithmetic, not a choice, so that a loop over many acts stays vector code: exactly
    ``coverage * factor`` for an evader's act and ``coverage * 1`` for another's.
    """
    return coverage * (evader * factor + (1.0 - evader))


def _evaders_in(ev, bounds):
    out = np.zeros(bounds.size - 1, np.int64)
    for r in range(bounds.size - 1):
        total = 0
        for pid in prange(bounds[r], bounds[r + 1]):
            total += evades(ev, pid)
        out[r] = total
    return out


_evaders_in = both_builds(_evaders_in)


def evaders_in(ev: CoverageEvasion, bounds: np.ndarray) -> np.ndarray:
    """How many people of each region (``[bounds[r], bounds[r + 1])``) evade under ``ev``.

    One pass over everyone (set-up work, never daily), threaded from a million people.
    """
    people = int(bounds[-1] - bounds[0])
    return _evaders_in(run_threads(people), people, ev, bounds)
