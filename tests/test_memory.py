"""``kernels/memory.py``: prefetch, a hint that never changes a value or faults; block moves."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit
from numba.core.errors import TypingError

from scslab.kernels.memory import AHEAD, move_rows, prefetch_ahead


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


@njit
def _moved(column, src, dst, length):
    move_rows(column, src, dst, length)


@pytest.mark.parametrize("dtype", [np.int64, np.int16, np.bool_])
@pytest.mark.parametrize(
    ("src", "dst", "length"),
    [(2, 5, 20), (5, 2, 20), (0, 1, 39), (1, 0, 39), (3, 30, 5), (7, 7, 10), (4, 9, 0)],
)
def test_a_block_moves_as_numpy_copies_it_whichever_way_it_overlaps(dtype, src, dst, length):
    column = (np.arange(40) % 3 == 0) if dtype is np.bool_ else np.arange(40, dtype=dtype) * 3
    expected = column.copy()
    expected[dst : dst + length] = column[src : src + length].copy()
    _moved(column, src, dst, length)
    assert np.array_equal(column, expected)


def test_a_block_move_refuses_a_column_it_cannot_address_as_one_block():
    with pytest.raises(TypingError):
        _moved(np.zeros((4, 4)), 0, 1, 2)
    with pytest.raises(TypingError):
        _moved(np.arange(10)[::2], 0, 1, 2)
