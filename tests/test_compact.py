"""``kernels/compact.py``: compaction gives what numpy's indexing gives, whichever loop runs.

``kept`` has two loops (a branch per element when few are kept, else every element written and
the kept ones counted) and ``rows_coded`` scans in blocks of ``SCAN_BLOCK``; the examples cover
both of ``kept``'s loops and wanted codes at every place in a block, across blocks and at the
end of the array.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from scslab.kernels.compact import SCAN_BLOCK, SPARSE_KEPT, kept, rows_coded

masks = st.lists(st.booleans(), max_size=3 * SCAN_BLOCK + 5).map(lambda v: np.asarray(v, bool))


@settings(max_examples=80, deadline=None)  # the first example may compile the kernels
@given(masks)
def test_kept_is_boolean_indexing(keep: np.ndarray) -> None:
    values = np.arange(keep.size, dtype=np.int64) * 7 - 3
    assert np.array_equal(kept(values, keep), values[keep])
    assert np.array_equal(kept(values.astype(np.int16), keep.astype(np.uint8)), values[keep])


def test_kept_takes_each_loop_and_both_give_the_same() -> None:
    rng = np.random.default_rng(5)
    values = rng.integers(0, 1 << 40, 10_000)
    for share in (0.0, 0.5 / SPARSE_KEPT, 2.0 / SPARSE_KEPT, 0.5, 1.0):  # both sides of the cut
        keep = rng.random(values.size) < share
        out = kept(values, keep)
        assert np.array_equal(out, values[keep])
        assert out.size == np.count_nonzero(keep)


codes = st.lists(st.integers(0, 20), max_size=4 * SCAN_BLOCK + 3).map(
    lambda v: np.asarray(v, np.int16)
)
wanted_codes = st.sets(st.integers(0, 20), max_size=4)


@settings(max_examples=120, deadline=None)
@given(codes, wanted_codes)
def test_rows_coded_are_the_positions_of_wanted_codes(table: np.ndarray, wanted: set[int]) -> None:
    want = np.zeros(21, np.bool_)
    want[list(wanted)] = True
    assert np.array_equal(rows_coded(table, want), np.flatnonzero(want[table]))


def test_rows_coded_finds_a_wanted_code_at_each_end_of_each_block_and_grows() -> None:
    table = np.zeros(10 * SCAN_BLOCK + 1, np.int16)
    wanted_at = [0, SCAN_BLOCK - 1, SCAN_BLOCK, 5 * SCAN_BLOCK + 7, table.size - 1]
    table[wanted_at] = 3
    want = np.zeros(4, np.bool_)
    want[3] = True
    assert rows_coded(table, want).tolist() == wanted_at
    table[:] = 3  # every row wanted: more rows than the first buffer holds
    assert np.array_equal(rows_coded(table, want), np.arange(table.size))
    want[3] = False
    assert rows_coded(table, want).size == 0
