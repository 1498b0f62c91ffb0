"""Households as contiguous id ranges, stored in one byte per person.

The byte packs the household size (high 4 bits) and the person's position in it (low 4 bits), so
``start = pid - position`` and every member is ``start .. start + size - 1``. Households never
cross a sampling block boundary, which keeps family effects inside the block that owns them.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from scslab.kernels.jit import kernel
from scslab.kernels.parallel import both_builds, run_threads
from scslab.kernels.rng import uniform
from scslab.kernels.sampling import BLOCK

MAX_HOUSEHOLD = 15


def _generated_households(key, n, size_cdf):
    """Draw household sizes block by block from ``size_cdf`` (sizes 1..len(size_cdf))."""
    packed = np.empty(n, np.uint8)
    n_blocks = (n + BLOCK - 1) // BLOCK
    for b in prange(n_blocks):
        pos = b * BLOCK
        end = min(n, pos + BLOCK)
        k = 0
        while pos < end:
            u = uniform(key, 0, b, k)
            k += 1
            size = np.searchsorted(size_cdf, u, side="right") + 1
            size = min(size, end - pos)
            for j in range(size):
                packed[pos + j] = np.uint8((size << 4) | j)
            pos += size
    return packed


_generated_households = both_builds(_generated_households)


def generate_households(key: np.uint64, n: int, size_cdf: np.ndarray) -> np.ndarray:
    """Draw household sizes block by block from ``size_cdf`` (sizes 1..len(size_cdf)).

    With threads in a run of many people (``kernels.parallel.run_threads``); the same households.
    """
    return _generated_households(run_threads(n), n, key, n, size_cdf)


@kernel(inline="always")
def position_in_household(byte: int) -> int:
    """A person's position in their household (0: its first member), from their byte."""
    return byte & 15


@kernel(inline="always")
def size_of_household(byte: int) -> int:
    """The number of people in a person's household, from their byte."""
    return byte >> 4


@kernel(inline="always")
def household_start(packed: np.ndarray, pid: int) -> int:
    """First member of ``pid``'s household."""
    return pid - position_in_household(packed[pid])


@kernel(inline="always")
def household_size(packed: np.ndarray, pid: int) -> int:
    """Number of people in ``pid``'s household."""
    return size_of_household(packed[pid])


def size_cdf(shares: np.ndarray) -> np.ndarray:
    """Cumulative distribution of household sizes from shares of sizes 1..k."""
    shares = np.asarray(shares, dtype=np.float64)
    if shares.size > MAX_HOUSEHOLD:
        raise ValueError(f"households larger than {MAX_HOUSEHOLD} are not supported")
    cdf = np.cumsum(shares / shares.sum())
    cdf[-1] = 1.0
    return cdf
