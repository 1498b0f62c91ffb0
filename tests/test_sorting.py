"""``kernels/sorting.py``: the sorts every kernel shares, compiled once, and the only sorts there.

Each wrapper gives what numpy gives; and no other kernel calls numba's sorts itself, which would
compile them again into its own module and in each process of a first run.
"""

from __future__ import annotations

import ast

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import kernel_sources
from scslab.kernels.jit import kernel
from scslab.kernels.sorting import descents, distinct_sorted, sorted_copy, stable_order

SORTS = frozenset({"argsort", "sort", "unique"})
"""numpy's sorting functions, which only ``kernels/sorting.py`` calls in a kernel."""

small_ints = st.lists(st.integers(-5, 5), max_size=60).map(lambda v: np.asarray(v, np.int64))


@settings(max_examples=60, deadline=None)  # the first example may compile the wrappers
@given(small_ints)
def test_each_wrapper_gives_what_numpy_gives(values: np.ndarray) -> None:
    assert np.array_equal(stable_order(values), np.argsort(values, kind="stable"))
    assert np.array_equal(sorted_copy(values), np.sort(values))
    assert np.array_equal(distinct_sorted(values), np.unique(values))


@settings(max_examples=60, deadline=None)
@given(small_ints)
def test_descents_count_the_keys_below_the_one_before(values: np.ndarray) -> None:
    assert descents(values) == np.count_nonzero(np.diff(values) < 0)


def test_equal_keys_keep_their_order_from_a_kernel_too() -> None:
    @kernel
    def order_of(keys):
        return stable_order(keys)

    keys = np.array([3, 1, 3, 1, 2], np.int64)
    assert order_of(keys).tolist() == [1, 3, 4, 0, 2]  # each 1, then each 3, in their order
    assert order_of(keys[::-1].copy()).tolist() == [1, 3, 0, 2, 4]


def _sorts_called(tree: ast.AST) -> list[str]:
    return [
        ast.unparse(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in SORTS
    ]


def test_the_rule_finds_numpys_sorts() -> None:
    source = (
        "a = np.argsort(k, kind='mergesort')\nb = np.unique(x)\nc = x.sort()\nd = stable_order(k)"
    )
    assert _sorts_called(ast.parse(source)) == [
        "np.argsort(k, kind='mergesort')",
        "np.unique(x)",
        "x.sort()",
    ]


def test_no_other_kernel_sorts_on_its_own() -> None:
    found = {
        name: _sorts_called(tree)
        for name, tree in kernel_sources().items()
        if not name.startswith("scslab.kernels.sorting.")
    }
    assert {name: calls for name, calls in found.items() if calls} == {}
