"""Software prefetch (``kernels/memory.py``): a hint that never changes a value or faults."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit
from numba.core.errors import TypingError

from scslab.kernels.memory import AHEAD, prefetch_ahead


@njit
def _gather_sum(state, ids):
    total = 0
    for i in range(ids.size):
        prefetch_ahead(state, ids, i)
        total += state[ids[i]]
    return total


@njit
def _prefetch_2d(state, ids):
    prefetch_ahead(state, ids, 0)


@pytest.mark.parametrize("count", [0, 1, AHEAD, AHEAD + 1, 5000])
@pytest.mark.parametrize("id_type", [np.int64, np.int32, np.uint32])
def test_a_kernel_with_prefetch_reads_what_it_would_without(count: int, id_type: type) -> None:
    rng = np.random.default_rng(count)
    state = rng.integers(-1000, 1000, 100_000).astype(np.int16)
    ids = np.sort(rng.choice(state.size, count, replace=False)).astype(id_type)
    assert _gather_sum(state, ids) == int(state[ids].astype(np.int64).sum())


def test_prefetch_reads_fields_of_a_record_array() -> None:
    records = np.zeros(1000, np.dtype([("offset", np.int16), ("last_day", np.uint16)]))
    records["offset"] = np.arange(1000) % 7
    ids = np.arange(0, 1000, 3)
    assert _gather_sum(records["offset"], ids) == int(records["offset"][ids].sum())


def test_the_last_ids_prefetch_nothing_beyond_the_end() -> None:
    state = np.arange(10, dtype=np.int64)
    ids = np.asarray([9, 9, 9], np.int64)  # i + AHEAD is past the end for every i
    assert _gather_sum(state, ids) == 27


def test_only_vectors_are_prefetched() -> None:
    with pytest.raises(TypingError):
        _prefetch_2d(np.zeros((3, 3)), np.arange(3))
