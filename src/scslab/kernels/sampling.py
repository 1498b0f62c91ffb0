"""Event sampling whose cost grows with the number of events, not with the population.

``bernoulli_ids`` returns, in increasing order, the people for whom an independent
Bernoulli(p) trial succeeds today. It walks each fixed block of ``BLOCK`` people with geometric
skips (one hash per success instead of one per person) and runs blocks in parallel. Because the
skips of block ``b`` are drawn from ``(key, day, b, k)``, the result does not depend on the thread
count, and adding a person at the end of the population changes at most the last block's tail.

Per-person probabilities below a known maximum are handled by *thinning*: sample candidates at the
maximum rate here, then keep each with probability ``p_i / p_max`` using a per-person draw
(``scslab.mechanisms.common.sample_modulated`` does both steps). Bounded buffers record overflow
and are retried larger, never silently cut.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from scslab.kernels.rng import uniform

BLOCK = 1 << 16
"""People per sampling block: part of the definition of the random streams, not a tuning knob."""


@njit(parallel=True, cache=True)
def _bernoulli_blocks(key, day, n, p, capacity):
    n_blocks = (n + BLOCK - 1) // BLOCK
    out = np.empty(n_blocks * capacity, np.int64)
    counts = np.zeros(n_blocks, np.int64)
    overflow = np.zeros(n_blocks, np.uint8)
    log_q = math.log1p(-p)
    for b in prange(n_blocks):
        start = b * BLOCK
        end = min(n, start + BLOCK)
        pos = start - 1
        k = 0
        c = 0
        while True:
            u = 1.0 - uniform(key, day, b, k)  # in (0, 1]
            k += 1
            skip = math.floor(math.log(u) / log_q) if p < 1.0 else 0.0
            if skip >= end - pos:
                break
            pos += 1 + int(skip)
            if pos >= end:
                break
            if c == capacity:
                overflow[b] = 1
                break
            out[b * capacity + c] = pos
            c += 1
        counts[b] = c
    return out, counts, overflow


@njit(cache=True)
def _compact(out, counts, capacity):
    total = 0
    for b in range(counts.size):
        total += counts[b]
    ids = np.empty(total, np.int64)
    j = 0
    for b in range(counts.size):
        base = b * capacity
        for i in range(counts[b]):
            ids[j] = out[base + i]
            j += 1
    return ids


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
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"probability must be in [0, 1], got {p}")
    if n <= 0 or p == 0.0:
        return np.empty(0, np.int64)
    block = min(BLOCK, n)
    mean = block * p
    capacity = int(mean + 8.0 * math.sqrt(mean) + 32)
    while True:
        out, counts, overflow = _bernoulli_blocks(key, day, n, p, min(capacity, BLOCK))
        if not overflow.any():
            return _compact(out, counts, min(capacity, BLOCK))
        capacity *= 2  # deterministic retry: the draws are the same, only the buffer grows


@njit(parallel=True, cache=True)
def uniforms(key, day, ids, index):
    """One uniform draw per person in ``ids`` from stream ``key`` (draw ``index``)."""
    out = np.empty(ids.size, np.float64)
    for i in prange(ids.size):
        out[i] = uniform(key, day, ids[i], index)
    return out
