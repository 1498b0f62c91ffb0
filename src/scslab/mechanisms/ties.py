"""Cut ties: which community ties are cut, the one rule every reader of ties asks, the network.

Community ties are generated, never stored (``population.attributes.community_tie``): the
``k``-th tie of ``pid`` is a person ``pid`` knows. A cut is stored by the person whose tie it is:
bit ``k`` of ``pid``'s cut bits says that ``pid``'s ``k``-th tie is cut, whoever cut it (``pid``
cutting a low scorer, or the tie cutting contact with ``pid`` once ``pid`` was named in public).
A cut tie is no relationship any more, both ways, for everything that reads ties through
``tie_kept``:

- informants: the tie no longer sees ``pid``'s acts, so it does not report them
  (``reporting/informants.py``);
- a commercial score's relationships dimension: the tie's score no longer counts in ``pid``'s
  (``scoring/commercial.py``);
- the tie network (``largest_component``): the edge ``pid`` -> tie is gone.

Only the first ``stored`` ties of each person (at most 8, one bit each, sharing one byte of the
state registry's flags) can be cut; ties from ``stored`` on are never cut. Cuts are never undone.
The store exists only when the ``tie_cutting`` mechanism (``response/tie_cutting.py``) declares
it; otherwise every reader gets ``no_cuts``, whose ``stored`` is 0, and ``tie_kept`` is always
true: results are those of a run without it, bit for bit.

Owns: the ``TieCuts`` record, its kernels (``cut_bits``, ``tie_kept``, ``cut_tie``), the store's
declaration and look-up, and the union-find over the tie network. Does not own who cuts: public
naming (``consequences/public_naming.py``) and the low-score rule (``response/tie_cutting.py``)
decide that and call ``cut_tie``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from numba import prange

from scslab.errors import ScenarioError
from scslab.kernels.compiled_once import compiled_once
from scslab.kernels.jit import kernel
from scslab.kernels.parallel import both_builds
from scslab.kernels.sorting import stable_order
from scslab.population.attributes import community_ties

if TYPE_CHECKING:
    from scslab.population import Population

TIE_CUTS = "tie_cuts"
"""Name under which the population shares the store (``pop.state.shared``)."""

MAX_STORED = 8
"""At most this many ties a person can be cut: one bit each, in one byte of flags."""

NETWORK_TIES = MAX_STORED
"""Ties a person has in the measured network (``largest_component``), whatever ``stored`` is:
a scenario that stores fewer cuts (to save bits) measures the same network, cut less."""

TIE_CHUNK = 1 << 12
"""People whose network ties are drawn at once (``community_ties``; speed only)."""

NAMING, LOW_SCORE = range(2)
"""Causes of a cut (indices of ``TieCuts.counts``): a public naming, a low score."""
CAUSES = ("naming", "low_score")


class TieCuts(NamedTuple):
    """Which ties are cut, by name at both ends."""

    flags: np.ndarray
    """One byte per person (uint8) holding the cut bits (empty: nothing stored)."""
    shift: int
    """The bit of tie 0 in that byte; tie ``k`` is bit ``shift + k``."""
    stored: int
    """Ties per person whose cut is stored (0: none; every tie is kept)."""
    counts: np.ndarray
    """Ties cut so far, by cause (``NAMING``, ``LOW_SCORE``; int64)."""


def no_cuts() -> TieCuts:
    """The record of a run without stored cuts: every tie is kept."""
    return TieCuts(
        flags=np.zeros(0, np.uint8), shift=0, stored=0, counts=np.zeros(len(CAUSES), np.int64)
    )


@kernel(inline="always")
def cut_bits(cuts, pid):
    """The cut bits of ``pid`` (bit ``k``: tie ``k`` is cut); 0 without a store."""
    if cuts.stored == 0:
        return 0
    return (np.int64(cuts.flags[pid]) >> cuts.shift) & ((1 << cuts.stored) - 1)


@kernel(inline="always")
def tie_kept(cuts, pid, k):
    """Whether ``pid``'s ``k``-th community tie is kept (not cut): the rule every reader asks."""
    return k >= cuts.stored or (cut_bits(cuts, pid) >> k) & 1 == 0


@kernel(inline="always")
def cut_tie(cuts, pid, k, cause):
    """Cut ``pid``'s ``k``-th tie for ``cause``; 1 if it was kept until now, else 0.

    A tie past the stored ones is not cut (0). Not for threads writing the same person's byte.
    """
    if k >= cuts.stored:
        return 0
    bit = np.uint8(1 << (cuts.shift + k))
    if cuts.flags[pid] & bit:
        return 0
    cuts.flags[pid] |= bit
    cuts.counts[cause] += 1
    return 1


@kernel(inline="always")
def _root(parent, i):
    """The root of ``i``'s component (a negative entry: a root, minus its size).

    Path halving: each entry on the way is pointed at its grandparent, in one pass.
    """
    while parent[i] >= 0:
        up = parent[i]
        if parent[up] < 0:
            return up
        parent[i] = parent[up]
        i = parent[up]
    return i


@kernel
def _join_part(cuts, tie_key, lo, hi, locality, parent, first, stop, leaving, room):
    """Join the kept network ties of people ``lo + first .. lo + stop - 1`` of region ``[lo, hi)``.

    ``parent`` is the region's union-find (an entry per person, from ``lo``). A tie to someone
    of the part is joined; one to someone outside it is written to ``leaving`` as the pair
    (person, tie), region-relative, while ``room`` pairs fit. Returns how many ties left the
    part (more than ``room``: not all were kept). The part's entries are the only ones read or
    written, so parts of one region can be joined in parallel; a whole region has no tie that
    leaves it.
    """
    ties = np.empty(NETWORK_TIES * TIE_CHUNK, np.int64)
    left = 0
    for c in range(first, stop, TIE_CHUNK):
        size = min(stop - c, TIE_CHUNK)
        pids = np.arange(lo + c, lo + c + size)
        community_ties(tie_key, pids, NETWORK_TIES, lo, hi, locality, ties, TIE_CHUNK)
        for i in range(c, c + size):
            pid = lo + i
            a = _root(parent, i)  # stays the root of i's component: a union keeps the larger
            for k in range(NETWORK_TIES):
                if not tie_kept(cuts, pid, k):
                    continue
                t = ties[k * TIE_CHUNK + i - c] - lo
                if t < first or t >= stop:  # joined once every part is
                    if left < room:
                        leaving[2 * left], leaving[2 * left + 1] = i, t
                    left += 1
                    continue
                a = _union(parent, a, _root(parent, t))
    return left


@kernel(inline="always")
def _union(parent, a, b):
    """Join the components of roots ``a`` and ``b``; the larger's root is the new root."""
    if a == b:
        return a
    if parent[a] > parent[b]:  # a the larger (more negative size)
        a, b = b, a
    parent[a] += parent[b]
    parent[b] = a
    return a


@kernel
def _largest_root(parent):
    """The size of the largest component of a union-find (a root holds minus its size)."""
    best = 0
    for i in range(parent.size):
        if parent[i] < 0:
            best = max(best, -parent[i])
    return best


@kernel
def _largest_in_region(cuts, tie_key, lo, hi, locality):
    """The largest weakly connected component of the kept ties of people ``[lo, hi)``."""
    m = hi - lo
    if m <= 1:
        return m
    parent = np.full(m, -1, np.int32)
    _join_part(cuts, tie_key, lo, hi, locality, parent, 0, m, np.empty(0, np.int32), 0)
    return _largest_root(parent)


def _largest_in_parts(cuts, tie_key, lo, hi, locality, parts, room):
    """``_largest_in_region`` with the region cut into ``parts`` runs of ids joined in parallel.

    Each part joins the ties inside it (``_join_part``) and keeps those that leave it, at most
    ``room`` pairs a part; those are joined afterwards, in one thread. Ties are local (a mean id
    distance of ``locality``), so few leave a part: about ``NETWORK_TIES * locality / 2`` at
    each of its two ends. Where a part had more than ``room``, the region is measured again in
    one thread (``_largest_in_region``). The components are the network's, whatever the order of
    the joins, so the largest is the same number either way.
    """
    m = hi - lo
    parent = np.full(m, -1, np.int32)
    leaving = np.empty((parts, 2 * room), np.int32)
    left = np.zeros(parts, np.int64)
    for j in prange(parts):
        first, stop = j * m // parts, (j + 1) * m // parts
        left[j] = _join_part(cuts, tie_key, lo, hi, locality, parent, first, stop, leaving[j], room)
    if left.max() > room:
        return _largest_in_region(cuts, tie_key, lo, hi, locality)
    for j in range(parts):
        for e in range(left[j]):
            _union(parent, _root(parent, leaving[j, 2 * e]), _root(parent, leaving[j, 2 * e + 1]))
    return _largest_root(parent)


_largest_in_parts = both_builds(_largest_in_parts)


def _largest_of_regions(cuts, tie_key, bounds, locality, regions):
    """The largest component of each of ``regions``, in parallel."""
    out = np.zeros(regions.size, np.int64)
    for j in prange(regions.size):
        r = regions[j]
        out[j] = _largest_in_region(cuts, tie_key, bounds[r], bounds[r + 1], locality)
    return out


_largest_of_regions = both_builds(_largest_of_regions)


@kernel
def leaving_room(locality):
    """Ties a part of a region keeps room for that leave it (``_largest_in_parts``).

    About ``NETWORK_TIES * locality / 2`` leave at each of a part's two ends, and their count
    hardly varies (a sum of many coin flips): four times that, and a little more for small parts.
    """
    return 4 * NETWORK_TIES * locality + 1024


PART_ROOMS = 8
"""A region is measured in parallel parts where each part holds at least this many times the
ties that may leave it (``leaving_room``): the ties joined afterwards, in one thread, are then
a few percent of the part's, and their room a few percent of its memory. A speed choice only."""


@compiled_once
@kernel
def largest_component(cuts, tie_key, bounds, locality, wave, threads):
    """People in the largest weakly connected component of the tie network.

    The network: everyone's first ``NETWORK_TIES`` community ties, less the cut ones (only the
    first ``cuts.stored`` can be cut). Ties stay
    within a region, so do components: a union-find per region (an ``int32`` per person of the
    region, freed after it). Regions go largest first, and a region no larger than the largest
    component found so far is skipped (it cannot hold a larger one): with few cuts only the
    largest region is measured. A region large enough (``PART_ROOMS``) is measured alone, cut
    into ``wave`` parts joined in parallel (``_largest_in_parts``); smaller ones ``wave`` at a
    time in parallel. ``wave`` is the thread count: speed only, the result does not depend on
    it. Work: one tie generated and two finds per network tie of each region measured.
    ``threads``: the run's (``run_threads``); a wave of fewer than ``PARALLEL_MIN_ITEMS`` people,
    or any wave of a small run, takes one thread.
    """
    sizes = bounds[1:] - bounds[:-1]
    order = stable_order(-sizes)
    wave = max(1, wave)
    room = leaving_room(locality)
    best = 0
    i = 0
    while i < order.size and sizes[order[i]] > best:  # a smaller region cannot hold a larger one
        r = order[i]
        if wave > 1 and sizes[r] // wave >= PART_ROOMS * room:  # one region, in parts
            largest = _largest_in_parts(
                threads, sizes[r], cuts, tie_key, bounds[r], bounds[r + 1], locality, wave, room
            )
            best = max(best, largest)
            i += 1
            continue
        regions = order[i : i + wave]
        regions = regions[sizes[regions] > best]
        people = sizes[regions].sum()
        largest = _largest_of_regions(threads, people, cuts, tie_key, bounds, locality, regions)
        best = max(best, largest.max())
        i += wave
    return best


@dataclass
class TieCutStore:
    """The population's store and who writes to it (shared under ``TIE_CUTS``)."""

    cuts: TieCuts
    from_naming: bool
    """Whether public naming's cuts are stored."""
    owner: str
    """The mechanism table that declared the store (for the error on a second one)."""


def declare_tie_cuts(pop: Population, stored: int, from_naming: bool, owner: str) -> TieCuts:
    """Declare the cut bits of the first ``stored`` ties (once per population, in ``declare``).

    ``stored`` flags sharing one byte (``StateRegistry.add_flags``): ``stored`` bits a person.
    ``owner`` is the declaring mechanism's table name.

    Raises:
        ScenarioError: a store is declared already (two ``tie_cutting`` tables; one line that
            names both).
    """
    if not 1 <= stored <= MAX_STORED:
        raise ValueError(f"stored ties must be 1 to {MAX_STORED}, got {stored}")
    first = pop.state.shared.get(TIE_CUTS)
    if isinstance(first, TieCutStore):
        raise ScenarioError(
            f"mechanisms.{owner}: a scenario stores cut ties once, and mechanisms.{first.owner} "
            "does already; keep one tie_cutting table"
        )
    flags = pop.state.add_flags(*(f"tie_cut_{k}" for k in range(stored)))
    shift = int(flags[0].mask).bit_length() - 1
    counts = np.zeros(len(CAUSES), np.int64)
    cuts = TieCuts(flags=flags[0].array, shift=shift, stored=stored, counts=counts)
    pop.state.shared[TIE_CUTS] = TieCutStore(cuts, from_naming, owner)
    return cuts


def tie_cuts(pop: Population, writer: str = "") -> TieCuts:
    """The population's cut ties for a reader, or for ``writer`` (``"naming"``) if it may write.

    ``no_cuts()`` where nothing is stored, or where ``writer`` is public naming and its cuts are
    not stored: then nothing changes.
    """
    store = pop.state.shared.get(TIE_CUTS)
    if not isinstance(store, TieCutStore) or (writer == "naming" and not store.from_naming):
        return no_cuts()
    return store.cuts
