"""Event sampling whose cost grows with the number of events, not with the population.

``bernoulli_ids`` returns, in increasing order, the people for whom an independent
Bernoulli(p) trial succeeds today. It walks each fixed block of ``BLOCK`` people with geometric
skips (one hash per success instead of one per person) and runs blocks in parallel. Because the
skips of block ``b`` are drawn from ``(key, day, b, k)``, the result does not depend on the thread
count, and adding a person at the end of the population changes at most the last block's tail.

Per-person probabilities below a known maximum are handled by *thinning*: sample candidates at the
maximum rate here, then keep each with probability ``p_i / p_max`` using a per-person draw
(``thinned_ids`` does both in the same compiled pass). Bounded buffers record overflow and are
retried larger, never silently cut.

Owns the block walk and ``BLOCK`` (part of the streams' definition: another value gives other
draws), thinning, the labelled draws and their merge. It reads only the flags it is handed and
writes only its outputs and, in ``merge_labelled_runs``, the caller's arrays from ``at`` on. It
knows no mechanism and imports nothing above the kernels (``tests/test_layers.py``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import prange

from scslab.kernels.compact import grown
from scslab.kernels.compiled_once import compiled_once
from scslab.kernels.jit import kernel
from scslab.kernels.memory import prefetch_at
from scslab.kernels.parallel import (
    RECORD_PARTS,
    both_builds,
    run_threads,
    sized_kernel,
    threads_or_one,
)
from scslab.kernels.rng import log_complement, uniform
from scslab.kernels.traits import trait_factor

BLOCK = 1 << 16
"""People per sampling block: part of the definition of the random streams, not a tuning knob."""

_EVERYONE = (np.zeros(0, np.uint8), np.uint8(0))
"""``where`` of a draw that keeps every success: no flags, mask 0 (for Python callers)."""

DAY_ZERO = np.int64(0)
"""Day 0 as a value, for draws made once at set-up by compiled code.

numba compiles a kernel once more for each literal constant it is called with (``0``, ``True``),
and the draw kernels are among the largest; a numpy scalar is a value of its type, never a
literal. The kernels here start their counters the same way (``np.int64(0)``).
"""


@kernel(inline="always")
def _everyone():
    """``_EVERYONE`` for compiled callers.

    A global array is a read-only constant in compiled code: another type, and so another build
    of every draw kernel.
    """
    return np.zeros(0, np.uint8), np.uint8(0)


WALK_CHUNK = 32
"""Most draws a block walk computes ahead of using them (a speed choice: the ids are the same).

The skips of a walk are independent of each other, so they are computed in chunks and then
applied, and a thinned walk decides a chunk's candidates in a loop of its own: independent work
in a row, which the processor overlaps, instead of one long chain of dependent steps per
candidate. Measured on one block at rate 0.006 (2026-11-27): 9.3 -> 7.3 ns per candidate, and
17.7 -> 8.8 thinned. A walk expecting few candidates computes fewer ahead (a rare event's walk
would otherwise pay for 32 skips to find none).
"""


@kernel(error_model="numpy")
def _skips(key, day, b, k, log_q, gaps, m):
    """The next ``m`` skips of block ``b``'s walk from draw ``k``, as floats, into ``gaps``.

    Skip ``k + j`` is ``log(1 - u) / log(1 - p)`` for ``u = uniform(key, day, b, k + j)``; its
    floor is the number of people passed over. Compiled apart, without zero-division checks, so
    that the loop is vector code (``rng.log_complement``).
    """
    for j in range(m):
        gaps[j] = log_complement(key, day, b, k + j) / log_q


@kernel(error_model="numpy")
def _thinned(thin_key, trait_key, day, weight, cand, m, keep):
    """Whether each of the first ``m`` candidates is kept by the trait (see ``_walk_block``).

    Compiled apart so that the loop is vector code, like ``_skips``.
    """
    top = 1.0 + abs(weight)
    for j in range(m):
        pid = cand[j]
        keep[j] = uniform(thin_key, day, pid, 0) * top < trait_factor(trait_key, pid, weight)


@kernel
def _walk_block(
    key, day, b, n, p, thin_key, trait_key, weight, where, out, base, capacity, gaps, cand, keep
):
    """Walk block ``b`` by geometric skips, writing kept ids at ``out[base:]``; -1 on overflow.

    Skip ``k`` is drawn from ``(key, day, b, k)``, and a candidate ``pos`` is kept when
    ``uniform(thin_key, day, pos, 0) * (1 + |weight|) < trait_factor(trait_key, pos, weight)``
    and, with ``where = (flags, mask)`` and a mask other than 0, when ``flags[pos] & mask``.
    ``gaps``, ``cand`` and ``keep`` are scratch arrays of ``WALK_CHUNK`` entries.
    """
    flags, mask = where
    start = b * BLOCK
    end = min(n, start + BLOCK)
    log_q = math.log1p(-p) if p < 1.0 else -1.0
    chunk = max(1, min(WALK_CHUNK, int(BLOCK * p) + 1))
    pos = start - 1
    k = np.int64(0)  # values, not literals: see DAY_ZERO
    c = np.int64(0)
    if p >= 1.0:
        gaps[:] = 0.0  # everyone: no skips
    while True:
        if p < 1.0:  # the next skips: independent draws (>= 0; their floors are the skips)
            _skips(key, day, b, k, log_q, gaps, chunk)
        k += chunk
        m = np.int64(0)
        done = False
        for j in range(chunk):
            # compared as a float: a tiny p makes the gap too large for an integer
            if gaps[j] >= end - pos:
                done = True
                break
            pos += 1 + int(gaps[j])
            if pos >= end:
                done = True
                break
            cand[m] = pos
            m += 1
        if mask:  # the flags of the chunk's candidates are on their way while they are thinned
            for j in range(m):
                prefetch_at(flags, cand[j])
        if weight == 0.0:
            for j in range(m):
                keep[j] = True
        else:
            _thinned(thin_key, trait_key, day, weight, cand, m, keep)
        if mask:
            for j in range(m):
                keep[j] &= (flags[cand[j]] & mask) != 0
        for j in range(m):
            if c == capacity:
                return -1
            out[base + c] = cand[j]  # written always, kept by counting it: no branch
            c += keep[j]
        if done:
            return c


@kernel
def _room(mean):
    """Rows for a draw expecting ``mean`` candidates: more than a day will nearly ever need."""
    return int(mean + 8.0 * math.sqrt(mean) + 32)


@kernel
def _scratch():
    """Scratch arrays of one walk (``_walk_block``'s last three arguments)."""
    return (
        np.empty(WALK_CHUNK, np.float64),
        np.empty(WALK_CHUNK, np.int64),
        np.empty(WALK_CHUNK, np.bool_),
    )


BATCH_BLOCKS = 256
"""Blocks a threaded draw walks at a time (a speed choice: the ids are the same).

Each batch's blocks write into one small buffer reused batch after batch, and their ids are then
copied to the draw's array: no per-draw buffer for every block at once (at China's scale 100-150
MB a draw, fresh memory every day that the system hands out a page at a time), and one parallel
region per 256 blocks (16.8 million people).
"""


@kernel(parallel=True)
def _walk_batch(key, day, first, n, p, thin_key, trait_key, weight, where, out, capacity, counts):
    """Blocks ``first, first + 1, ...`` (``counts.size`` of them) in parallel.

    Block ``first + i`` writes into ``out[i * capacity:]`` and its count, or -1 on overflow,
    into ``counts[i]``.
    """
    for i in prange(counts.size):
        gaps, cand, keep = _scratch()
        counts[i] = _walk_block(
            key,
            day,
            first + i,
            n,
            p,
            thin_key,
            trait_key,
            weight,
            where,
            out,
            i * capacity,
            capacity,
            gaps,
            cand,
            keep,
        )


@kernel(parallel=True)
def _gather_batch(out, capacity, counts, ids, at):
    """Copy each block's ids from ``out`` to ``ids`` from ``at``, in block order, in parallel."""
    starts = np.empty(counts.size, np.int64)
    for i in range(counts.size):
        starts[i] = at
        at += counts[i]
    for i in prange(counts.size):
        for j in range(counts[i]):
            ids[starts[i] + j] = out[i * capacity + j]
    return at


@kernel
def _walked_in_batches(key, day, n, p, thin_key, trait_key, weight, where):
    """All blocks of a draw, ``BATCH_BLOCKS`` at a time in parallel, into the draw's array.

    The draw's array has room for every candidate; only the part written is ever touched.
    """
    n_blocks = (n + BLOCK - 1) // BLOCK
    mean = min(BLOCK, n) * p
    capacity = min(BLOCK, _room(mean))
    ids = np.empty(_room(n * p), np.int64)
    batch = min(BATCH_BLOCKS, n_blocks)
    out = np.empty(batch * capacity, np.int64)
    counts = np.empty(batch, np.int64)
    c = first = 0
    while first < n_blocks:
        k = min(batch, n_blocks - first)
        _walk_batch(
            key, day, first, n, p, thin_key, trait_key, weight, where, out, capacity, counts[:k]
        )
        if counts[:k].min() < 0:  # a block overflowed: the same draws into bigger room
            capacity = min(BLOCK, 2 * capacity)
            out = np.empty(batch * capacity, np.int64)
            continue
        got = counts[:k].sum()
        if c + got > ids.size:  # more than the room for every candidate: cannot happen, but grow
            ids = grown(ids, c, c + got)
        c = _gather_batch(out, capacity, counts[:k], ids, c)
        first += k
    return ids[:c]


@kernel
def _walked_in_one_thread(key, day, n, p, thin_key, trait_key, weight, where):
    """All blocks of a draw in order, in one thread, straight into the draw's array.

    The same ids as the threaded walk, without its per-block buffers and their gathering: an
    array with room for the expected candidates, doubled (and the block walked again: the same
    draws) when a day needs more.
    """
    out = np.empty(_room(n * p), np.int64)
    gaps, cand, keep = _scratch()
    c = b = np.int64(0)  # values, not literals: see DAY_ZERO
    while b * BLOCK < n:
        got = _walk_block(
            key,
            day,
            b,
            n,
            p,
            thin_key,
            trait_key,
            weight,
            where,
            out,
            c,
            out.size - c,
            gaps,
            cand,
            keep,
        )
        if got < 0:  # full: double the array, keep what earlier blocks wrote
            out = grown(out, c, out.size + 1)
            continue
        c += got
        b += 1
    return out[:c]


SERIAL_CANDIDATES = 2000.0
"""Below this many expected candidates a draw runs in one thread (the same ids either way).

A thinned draw counts each candidate twice (it hashes twice as much per candidate). A tuning
choice from measurements with the vector-code skips (2026-12-01, 2 cores): one thread walks a
candidate in about 5 ns plain and 7.4 ns thinned, two threads in half that plus about 4 us to
start; so threads pay from about 1,600 plain and 1,100 thinned candidates. At 100,000 people a
thinned draw of 600 candidates took 9.7 us in two threads and 5.4 in one; at 1,000,000 a plain
draw of 10,000 took 31.5 us in two and 50.8 in one.
"""


_walked = threads_or_one(_walked_in_batches, _walked_in_one_thread)
"""A draw's blocks in batches with threads, or in one thread (``kernels/parallel.py``)."""


@compiled_once
@kernel
def _sample_blocks(key, day, n, p, thin_key, trait_key, weight, where, threads):
    """Bernoulli(p) successes in ``[0, n)``, each kept with ``trait_factor / (1 + |weight|)``.

    One compiled call does the whole draw, in one thread or in batches of blocks in parallel
    into bounded per-block buffers, retried with larger buffers when one overflows (the draws are
    the same, only the buffer grows). ``weight == 0`` keeps every success (no thinning draw);
    ``where = (flags, mask)`` keeps only successes whose flag is set (mask 0: all). ``threads``
    is the run's (``run_threads``): None draws in one thread whatever the draw's size.
    """
    many = n * p * (1.0 if weight == 0.0 else 2.0) >= SERIAL_CANDIDATES
    return _walked(threads, many, key, day, n, p, thin_key, trait_key, weight, where)


_NO_KEY = np.uint64(0)


@compiled_once
@kernel
def compiled_bernoulli_ids(key, day, n, p, threads):
    """``bernoulli_ids`` for compiled callers (``p`` must be in [0, 1]: it is not checked).

    ``threads`` is the run's (``run_threads``), as every compiled draw's last argument.
    """
    if n <= 0 or p == 0.0:
        return np.empty(0, np.int64)
    return _sample_blocks(key, day, n, p, _NO_KEY, _NO_KEY, 0.0, _everyone(), threads)


@kernel
def compiled_bernoulli_ids_where(key, day, n, p, flags, mask, threads):
    """``compiled_bernoulli_ids`` of those whose ``flags & mask`` is set, in the same walk.

    The same ids as ``ids[(flags[ids] & mask) != 0]`` of the whole draw, without writing out
    and reading back every success: at 1.41 billion people a day's flight attempts are 14
    million successes of which the listed make 6%.
    """
    if n <= 0 or p == 0.0:
        return np.empty(0, np.int64)
    return _sample_blocks(key, day, n, p, _NO_KEY, _NO_KEY, 0.0, (flags, mask), threads)


def bernoulli_ids(key: np.uint64, day: int, n: int, p: float) -> np.ndarray:
    """Ids in ``[0, n)`` whose Bernoulli(``p``) trial on ``day`` succeeds, in increasing order.

    Args:
        key: The stream key (see ``scslab.kernels.rng.stream_key``).
        day: The simulated day.
        n: The number of people.
        p: The success probability, in [0, 1].

    Returns:
        An ``int64`` array of person ids.
    """
    return thinned_ids(key, day, n, p, _NO_KEY, _NO_KEY, 0.0)


def thinned_ids(
    key: np.uint64,
    day: int,
    n: int,
    p: float,
    thin_key: np.uint64,
    trait_key: np.uint64,
    weight: float,
) -> np.ndarray:
    """``bernoulli_ids`` at ``p``, each success kept with ``trait_factor / (1 + |weight|)``.

    With ``p = rate * (1 + |weight|)`` this draws a trait-modulated rate (see
    ``scslab.kernels.traits.trait_factor``): the keep draw is ``(thin_key, day, id, 0)``.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"probability must be in [0, 1], got {p}")
    if n <= 0 or p == 0.0:
        return np.empty(0, np.int64)
    return _sample_blocks(key, day, n, p, thin_key, trait_key, weight, _EVERYONE, run_threads(n))


class LabelledDraws(NamedTuple):
    """The arguments of several labelled draws, one array element per draw, by name at both ends.

    Mechanisms keep one in their record and pass its fields by name to ``compiled_labelled_ids``.
    """

    keys: np.ndarray
    """Stream key of each draw's candidates (uint64)."""
    rates: np.ndarray
    """Each draw's candidate probability (float64; see ``thinned_ids``)."""
    thin_keys: np.ndarray
    """Stream key of each draw's keep decision (uint64)."""
    trait_keys: np.ndarray
    """Key of the trait that thins each draw (uint64)."""
    weights: np.ndarray
    """Each draw's trait weight (float64; 0 keeps every candidate)."""
    labels: np.ndarray
    """The label of each draw's ids (an act or source code, int16)."""


_RUN_END = np.iinfo(np.int64).max
"""Read past the end of a run that ``_merge_step`` merges: above any entry."""


@kernel(inline="always")
def _key(run, i, as_key):
    """Entry ``i`` of ``run`` as a merge key; past the run's end, ``_RUN_END``.

    ``as_key`` is ``(shift, tag)``: the key is ``run[i] << shift | tag`` (``(0, 0)``: keys).
    """
    return (run[i] << as_key[0]) | as_key[1] if i < run.size else _RUN_END


@kernel(inline="always")
def _merge_step(a, a_key, b, b_key, i, j):
    """One step of merging two ascending runs: the smaller head, and the heads after the step.

    The runs are read as ``_key``. No branch to guess; a run that has ended reads as
    ``_RUN_END``.
    """
    x = _key(a, i, a_key)
    y = _key(b, j, b_key)
    take = x < y
    return (x if take else y), i + take, j + 1 - take


@compiled_once
@kernel
def labelled_runs(keys, day, n, ps, thin_keys, trait_keys, weights, threads):
    """Each draw of ``compiled_labelled_ids``, its ids ascending: (a list of runs, their sizes)."""
    runs = []
    counts = np.zeros(keys.size, np.int64)
    for j in range(keys.size):
        if not 0.0 <= ps[j] <= 1.0:
            raise ValueError("probability must be in [0, 1]")
        if n > 0 and ps[j] > 0.0:
            runs.append(
                _sample_blocks(
                    keys[j],
                    day,
                    n,
                    ps[j],
                    thin_keys[j],
                    trait_keys[j],
                    weights[j],
                    _everyone(),
                    threads,
                )
            )
        else:
            runs.append(np.empty(0, np.int64))
        counts[j] = runs[j].size
    return runs, counts


@kernel(inline="always")
def _co_rank(a, a_key, b, b_key, k):
    """How many of the first ``k`` entries of ``a`` and ``b`` merged (``_merge_step``) are a's.

    The merge path's split (Odeh, Green, Mwassi, Shmueli and Birk, "Merge path", 2012): a binary
    search for the ``i`` with ``a[:i]`` and ``b[:k - i]`` first, so that a part of the merge can
    start at its ``k`` without the steps before it.
    """
    lo, hi = max(0, k - b.size), min(k, a.size)
    while lo < hi:
        i = (lo + hi) // 2
        if _key(a, i, a_key) < _key(b, k - i - 1, b_key):  # a[i] is among the first k
            lo = i + 1
        else:
            hi = i
    return lo


def _merged(a, a_key, b, b_key, keys, last, shift, labels, ids, label, at):
    """Two ascending runs (read as ``_key``) merged, in ``RECORD_PARTS`` equal parts.

    Each part starts at its ``_co_rank``: the same entries as one merge from the start, whatever
    the threads. Written as keys into ``keys``, or, for the ``last`` merge, as ids and labels
    from ``ids[at]`` and ``label[at]`` (a key's id is ``key >> shift``, its label
    ``labels[key & (2**shift - 1)]``).
    """
    total = a.size + b.size
    draw_bits = (1 << shift) - 1
    for p in prange(RECORD_PARTS):
        start, stop = total * p // RECORD_PARTS, total * (p + 1) // RECORD_PARTS
        i = _co_rank(a, a_key, b, b_key, start)
        j = start - i
        if last:
            for k in range(start, stop):
                key, i, j = _merge_step(a, a_key, b, b_key, i, j)
                ids[at + k], label[at + k] = key >> shift, labels[key & draw_bits]
        else:
            for k in range(start, stop):
                keys[k], i, j = _merge_step(a, a_key, b, b_key, i, j)


_merged = both_builds(_merged)


@compiled_once
@kernel
def merge_labelled_runs(runs, labels, ids, label, at, threads):
    """Write the runs of ``labelled_runs`` ordered by person, and for one person by draw.

    Into ``ids[at:]`` and ``label[at:]`` (the label ``labels[j]`` of each id's draw), which must
    have room for every id. Draw ``j``'s ids are read as the keys ``(id << shift) | j`` (ids are
    below 2**31, draws below 2**shift), and the two shortest runs are merged into a run of keys
    until two are left, so most ids move a few times and the longest run once, read as keys and
    never rewritten; the last merge writes ids and labels straight into the caller's arrays (a
    day's acts: the board's buffers, not fresh memory every day). Every merge runs in threads
    where ``threads`` (``run_threads``) allows: at China's scale a day's acts are 50 million.
    """
    if len(runs) == 1:  # one draw: already in person order
        run = runs[0]
        for i in range(run.size):
            ids[at + i], label[at + i] = run[i], labels[0]
        return
    shift = 0
    while (1 << shift) < len(runs):
        shift += 1
    as_key = [(np.int64(shift), np.int64(j)) for j in range(len(runs))]  # (shift, tag) of each
    while len(runs) > 2:
        a = b = -1
        for r in range(len(runs)):
            if a < 0 or runs[r].size < runs[a].size:
                a, b = r, a
            elif b < 0 or runs[r].size < runs[b].size:
                b = r
        merged = np.empty(runs[a].size + runs[b].size, np.int64)
        two = (runs[a], as_key[a], runs[b], as_key[b])
        _merged(threads, merged.size, *two, merged, False, shift, labels, ids, label, at)
        runs.pop(max(a, b))
        as_key.pop(max(a, b))
        runs[min(a, b)] = merged
        as_key[min(a, b)] = (np.int64(0), np.int64(0))  # keys already
    two = (runs[0], as_key[0], runs[1], as_key[1])
    no_keys = np.empty(0, np.int64)  # the last merge writes ids and labels instead
    total = runs[0].size + runs[1].size
    _merged(threads, total, *two, no_keys, True, shift, labels, ids, label, at)


@compiled_once
@kernel
def compiled_labelled_ids(keys, day, n, ps, thin_keys, trait_keys, weights, labels, threads):
    """``labelled_ids`` for compiled callers; ``threads`` is the run's (``run_threads``)."""
    runs, counts = labelled_runs(keys, day, n, ps, thin_keys, trait_keys, weights, threads)
    total = counts.sum()
    ids, label = np.empty(total, np.int64), np.empty(total, labels.dtype)
    merge_labelled_runs(runs, labels, ids, label, 0, threads)
    return ids, label, counts


def labelled_ids(
    keys: np.ndarray,
    day: int,
    n: int,
    ps: np.ndarray,
    thin_keys: np.ndarray,
    trait_keys: np.ndarray,
    weights: np.ndarray,
    labels: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Several ``thinned_ids`` draws in one call, merged in person order.

    Draw ``j`` uses ``keys[j]``, ``ps[j]``, ``thin_keys[j]``, ``trait_keys[j]`` and ``weights[j]``
    exactly as ``thinned_ids`` would (the same ids). Returns the ids ordered by person and, for
    one person, by draw; the label ``labels[j]`` of the draw each id came from; and the number
    of ids per draw.

    Raises:
        ValueError: a probability outside [0, 1].
    """
    threads = run_threads(n)
    return compiled_labelled_ids(keys, day, n, ps, thin_keys, trait_keys, weights, labels, threads)


@sized_kernel("ids")
def uniforms(key, day, ids, index):
    """One uniform draw per person in ``ids`` from stream ``key`` (draw ``index``)."""
    out = np.empty(ids.size, np.float64)
    for i in prange(ids.size):
        out[i] = uniform(key, day, ids[i], index)
    return out
