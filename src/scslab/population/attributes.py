"""Static attributes as pure functions of (attribute key, person id): computed, never stored.

Each function is a numba kernel that any mechanism may call inside its own kernels. Keys come from
``AttributeKeys`` (derived from the scenario seed), so the same person has the same age, traits and
ties in every scenario that shares a seed. Distributions without a published source are labelled
assumptions in their docstrings. Static traits and the factor by which they scale rates are kernels
of their own (``kernels/traits.py``), since the sampling kernels thin draws by them.

Owns ``AttributeKeys``, the attribute kernels (age, sex, income class, occupation, community
ties, local groups) and their assumed numbers (``CIVIL_SERVANT_SHARE``, ``GROUP_SIZES``). It
stores nothing per person; ``community_ties`` and ``regions_ties`` write only the ``out`` array
they are given. It must not import the catalogue, the engine or a mechanism
(``tests/test_layers.py``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from scslab.kernels.jit import kernel
from scslab.kernels.rng import (
    below,
    below_of,
    draw_bits,
    log_complement_of,
    stream_key,
    subject_bits,
    uniform,
)
from scslab.kernels.traits import trait as trait  # re-exported: every attribute is read here
from scslab.kernels.traits import trait_factor as trait_factor
from scslab.population.census import AGE_BAND_SHARES, MALE_SHARE, URBAN_SHARE_2020
from scslab.population.geography import region_of
from scslab.population.households import position_in_household, size_of_household

# Occupations.
STUDENT, WORKER, FARMER, CIVIL_SERVANT, RETIRED, CHILD = 0, 1, 2, 3, 4, 5
OCCUPATIONS = ("student", "worker", "farmer", "civil_servant", "retired", "child")

CIVIL_SERVANT_SHARE = 0.012
"""Share of urban working-age adults in the civil service.

About 7.2 million civil servants (Ministry of Human Resources, 2016) over about 600 million urban
working-age adults (approximate).
"""

_CHILD = AGE_BAND_SHARES[0]
_OLD_AMONG_GROWN = AGE_BAND_SHARES[2] / (AGE_BAND_SHARES[1] + AGE_BAND_SHARES[2])
HEAD_MIN_AGE = 18
"""A household's first member (its head) is at least this old (assumption: an adult)."""
GROWN_MIN_AGE = 15
"""Everyone but a child is at least this old: children are the census band 0-14 (``age``)."""

_SIZES = np.arange(16)
CHILD_OF_SIZE, GROWN_SCALE = 0, 1
"""Rows of an age table (``age_table``): by household size, the chance that a member other than
the head is a child, and what turns a grown member's draw back into a uniform one."""


def age_table(size_shares: np.ndarray) -> np.ndarray:
    """The age table of a population whose households have sizes 1.. in ``size_shares``.

    A share ``a`` of people live alone (heads all), so each other member of a household of ``s``
    people is a child with probability ``c * s / ((s - 1) * (1 - a))`` (at most 1), ``c`` the
    census share of children: then ``c`` of everyone is a child (see ``age``). The census's
    households give ``a`` = 9.6%, households that all have two or more people ``a`` = 0.
    """
    shares = np.asarray(size_shares, np.float64)
    alone = shares[0] / (shares @ np.arange(1, shares.size + 1))
    others = np.maximum(_SIZES - 1, 1) * max(1.0 - alone, 1e-300)
    child = np.where(_SIZES >= 2, np.minimum(_CHILD * _SIZES / others, 1.0), 0.0)
    grown = np.where(child < 1.0, 1.0 / np.maximum(1.0 - child, 1e-300), 0.0)
    return np.ascontiguousarray(np.stack([child, grown]))


class AttributeKeys(NamedTuple):
    """Stream keys of the static attributes (one per attribute)."""

    age: np.uint64
    sex: np.uint64
    income: np.uint64
    occupation: np.uint64
    compliance: np.uint64
    dissent: np.uint64
    boldness: np.uint64
    opportunism: np.uint64
    online: np.uint64
    ties: np.uint64
    groups: np.uint64

    @classmethod
    def from_seed(cls, seed: int) -> AttributeKeys:
        """Derive every attribute key from the scenario seed."""
        return cls(*(stream_key(seed, "population", f) for f in cls._fields))


@kernel(inline="always")
def age(key, pid: int, household: int, table: np.ndarray) -> int:
    """Age in years; ``household`` is ``pid``'s household byte (``population.households``).

    Census 2020 bands (0-14, 15-59, 60+) over everyone, uniform within a band up to 90
    (assumption). A household's first member, its head, is an adult of 18 or more (assumption),
    so each other member of a household of ``s`` people is a child with the chance that the
    population's ``table`` gives (``Population.age_table``, made by ``age_table`` from the
    population's household sizes): a household of ``s`` then holds ``c * s / (1 - a)`` children
    on average, ``c`` the census share of children and ``a`` the share of people who live alone,
    and everyone ``c`` (``tests/test_population.py``), whether households follow the census or
    all have one size (``population.household_size``); people who all live alone hold none.
    Heads and other grown members share the census split of the grown between 15-59 and 60+, so
    that split holds over everyone too.
    """
    position = position_in_household(household)
    size = size_of_household(household)
    u = uniform(key, 0, pid, 0)
    v = uniform(key, 0, pid, 1)
    # Without branches: which band a person falls in is a coin toss to the processor, and a
    # guess missed cost more than the choices below (14.6 -> 10.2 ns an age over sorted ids).
    # Every value is computed and one is chosen, so the ages are the same. Tables, not
    # divisions: ``size`` is at most 15, so both reads are in the table for a head too.
    member = position > 0
    child = table[CHILD_OF_SIZE, size]
    grown = (u - child) * table[GROWN_SCALE, size] if member else u  # uniform among the grown
    adult = (
        HEAD_MIN_AGE + int(v * (60.0 - HEAD_MIN_AGE))
        if position == 0
        else GROWN_MIN_AGE + int(v * (60.0 - GROWN_MIN_AGE))
    )
    older = 60 + int(v * 31.0) if grown < _OLD_AMONG_GROWN else adult
    return _child_age(v) if _is_child(household, u, table) else older


@kernel(inline="always")
def _is_child(household: int, u: float, table: np.ndarray) -> bool:
    """Whether a person of this household byte, whose first age draw is ``u``, is a child."""
    return (position_in_household(household) > 0) & (
        u < table[CHILD_OF_SIZE, size_of_household(household)]
    )


@kernel(inline="always")
def _child_age(v: float) -> int:
    """A child's age from their second age draw ``v``: 0 to ``GROWN_MIN_AGE - 1``."""
    return int(v * float(GROWN_MIN_AGE))


@kernel(inline="always")
def at_least(key, pid: int, household: int, table: np.ndarray, years: int) -> bool:
    """Whether ``age(key, pid, household, table) >= years``, the same answer with less work.

    Up to ``GROWN_MIN_AGE`` years only a child can be younger, so a grown person's age is
    never computed: most minimum ages (6 to 14 for a jaywalker, a shopper online, a cyclist)
    then ask two draws and a comparison.
    """
    if years > GROWN_MIN_AGE:
        return age(key, pid, household, table) >= years
    u = uniform(key, 0, pid, 0)
    v = uniform(key, 0, pid, 1)
    return (not _is_child(household, u, table)) | (_child_age(v) >= years)


@kernel(inline="always")
def is_male(key, pid: int) -> bool:
    """Sex: 51.24% male (census 2020)."""
    return uniform(key, 0, pid, 0) < MALE_SHARE


@kernel(inline="always")
def income_class(key, pid: int, urban: bool) -> int:
    """Income quintile of the national distribution, 0 (lowest) to 4 (highest).

    A person's income rank within their own setting is ``u``, uniform; their income on a common
    scale is ``x = sqrt(u)`` in an urban region and ``u**2`` in a rural one (assumption, after
    urban disposable income being about 2.6 times rural, NBS 2020: these shapes give a mean ratio
    of 2.0 and a median ratio of 2.8), so urban incomes lie higher. The quintile is ``x``'s place
    in the national mixture of the two, ``F(x) = p x**2 + (1 - p) sqrt(x)`` with ``p`` the
    national urban share: a fifth of China's people in each quintile, urban residents about 1.5
    quintiles above rural ones on average (mean quintile 2.5 against 1.1). A scenario of one
    province has the quintiles of the nation, not its own.
    """
    u = uniform(key, 0, pid, 0)
    p = URBAN_SHARE_2020
    rank = p * u + (1.0 - p) * math.sqrt(math.sqrt(u)) if urban else p * u**4 + (1.0 - p) * u
    return min(4, int(rank * 5.0))


@kernel(inline="always")
def occupation(key, pid: int, years: int, urban: bool) -> int:
    """Occupation from age and place.

    Children under 6, students 6-21, retired from 60,
    civil servants among urban adults, farmers among rural adults (assumption: 70% of rural
    working-age adults farm).
    """
    # Without branches on the age, as in ``age``: the draw is made for everyone and used for the
    # working-age only, so the occupations are the same.
    u = uniform(key, 0, pid, 0)
    working = (
        (CIVIL_SERVANT if u < CIVIL_SERVANT_SHARE else WORKER)
        if urban
        else (FARMER if u < 0.7 else WORKER)
    )
    later = RETIRED if years >= 60 else working
    young = CHILD if years < 6 else STUDENT
    return young if years < 22 else later


SMALL_LOCALITY = 2**31 // 37
"""Localities up to this have every tie distance below 2**31 (the longest is ``53 ln 2`` = 36.74
times the locality): a tie kernel then takes a distance's whole part as a 32-bit integer, which
vector instructions convert (this processor's have no conversion to 64 bits), and gets the same
number."""


@kernel(inline="always", error_model="numpy")
def _tie_step_of(subject, k: int, locality: int, small: bool) -> int:
    """The id step from a person to their ``k``-th tie before wrapping: a signed distance.

    ``subject`` is the person's ``subject_bits`` of the ties' key on day 0. The distance is
    geometric with mean ``locality`` (``log_complement`` is ``log(1 - u)``, written without libm
    so that a loop of them vectorises), the direction a coin flip. It agrees with libm's ``log``
    to 5e-16 relative, so a distance can differ from libm's only where it lands that close to a
    whole number: about one tie in 10**12 at the default locality (none in the tests, which
    compare with libm's), and the ties are the same on every machine. ``small``: the locality is
    at most ``SMALL_LOCALITY`` (the same distance, converted faster).
    """
    length = -log_complement_of(draw_bits(subject, 2 * k)) * locality
    dist = 1 + (np.int64(np.int32(length)) if small else int(length))
    up = below_of(draw_bits(subject, 2 * k + 1), 2)  # 0: the tie is below in ids, 1: above
    return dist * (2 * up - 1)


@kernel(inline="always")
def _wrapped_step(step: int, span: int) -> int:
    """``step`` with its distance wrapped into 1 .. ``span`` - 1.

    Only for a distance of ``span`` or more (rare in a big region): each caller tests it once.
    """
    wrapped = 1 + (abs(step) - 1) % (span - 1)
    return wrapped if step > 0 else -wrapped


@kernel(inline="always")
def _tie_at(pid: int, lo: int, span: int, step: int) -> int:
    """The id ``step`` (wrapped) away from ``pid`` in the region ``[lo, lo + span)``."""
    at = pid - lo + step  # in (-span, 2 * span): one correction wraps it
    # Without branches: the direction is a coin flip that the processor cannot guess. The same
    # ties as two modulos, without their divisions.
    return lo + at + span * (np.int64(at < 0) - np.int64(at >= span))


@kernel(inline="always")
def community_tie(key, pid: int, k: int, lo: int, hi: int, locality: int) -> int:
    """The ``k``-th community tie of ``pid``: another person of the same region ``[lo, hi)``.

    The tie is at a distance in ids that is geometric with mean ``locality``. Ties are directed
    (who ``pid`` knows) and are regenerated, never stored. ``community_ties`` gives the same ties
    for a run of people at once.
    """
    span = hi - lo
    if span <= 1:
        return pid
    step = _tie_step_of(subject_bits(key, 0, pid), k, locality, False)
    if abs(step) >= span:
        step = _wrapped_step(step, span)
    return _tie_at(pid, lo, span, step)


@kernel(error_model="numpy")
def community_ties(key, pids, ties: int, lo: int, hi: int, locality: int, out, stride: int) -> None:
    """``out[k * stride + i] = community_tie(key, pids[i], k, lo, hi, locality)`` for ``k < ties``.

    Every person of ``pids`` is in the region ``[lo, hi)``. The same ties as ``community_tie``,
    faster: each person's share of the hashing is done once for all their ties
    (``rng.subject_bits``), the draws are loops without branches or calls, which compile to
    vector instructions, a distance is converted as a 32-bit integer where that gives the same
    number (``SMALL_LOCALITY``), and only the rare long distances are wrapped one at a time.
    1,800,000 people's 8 ties: 12.6 -> 9.5 ns a tie (2026-12-07, one thread). Not inlined: its
    loops need its own error model (no division check), whatever its caller's.
    """
    span = hi - lo
    n = pids.size
    if span <= 1:
        for k in range(ties):
            row = out[k * stride : k * stride + n]
            for i in range(n):  # a loop: see kernels/jit.py on slice assignment
                row[i] = pids[i]
        return
    subjects = np.empty(n, np.uint64)
    for i in range(n):
        subjects[i] = subject_bits(key, 0, pids[i])
    small = locality <= SMALL_LOCALITY
    for k in range(ties):
        row = out[k * stride : k * stride + n]
        for i in range(n):
            row[i] = _tie_step_of(subjects[i], k, locality, small)
        for i in range(n):
            if abs(row[i]) >= span:
                row[i] = _wrapped_step(row[i], span)
        for i in range(n):
            row[i] = _tie_at(pids[i], lo, span, row[i])


@kernel
def regions_ties(key, pids, ties: int, bounds, locality: int, out, stride: int) -> None:
    """``out[k * stride + i]``: the ``k``-th community tie of ``pids[i]``, for ``k < ties``.

    ``pids`` ascend, in any regions (``bounds``: the regions' first ids); each region's run of
    them is drawn at once by ``community_ties``.
    """
    n = pids.size
    a = 0
    r = region_of(bounds, pids[0]) if n else 0
    while a < n:
        while pids[a] >= bounds[r + 1]:
            r += 1
        b = a + 1
        while b < n and pids[b] < bounds[r + 1]:
            b += 1
        community_ties(key, pids[a:b], ties, bounds[r], bounds[r + 1], locality, out[a:], stride)
        a = b


WORK, SCHOOL, NEIGHBOURHOOD = 0, 1, 2
GROUP_KINDS = ("work", "school", "neighbourhood")
GROUP_SIZES = (40, 30, 250)
"""People per local group: a workplace team (40), a school class (30), a neighbourhood residents'
committee's block (250). All assumptions; the committees themselves serve thousands.
"""


@kernel(inline="always")
def _group_shift(key, kind: int, size: int) -> int:
    return below(key, 0, kind, 0, size)


@kernel(inline="always")
def local_group(key, pid: int, kind: int) -> int:
    """The local group of ``pid`` of a kind (work, school, neighbourhood).

    Groups are runs of consecutive ids cut at a per-kind offset, so members are neighbours in id
    (and region) and nothing is stored.
    """
    size = GROUP_SIZES[kind]
    return (pid + _group_shift(key, kind, size)) // size


@kernel(inline="always")
def local_group_member(key, group: int, kind: int, k: int, n: int) -> int:
    """The ``k``-th member (0-based) of a local group, or -1 past the group or the population."""
    size = GROUP_SIZES[kind]
    pid = group * size - _group_shift(key, kind, size) + k
    return pid if 0 <= pid < n and k < size else -1
