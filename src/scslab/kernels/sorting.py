"""Sorting inside kernels, compiled once: stable orders, sorted copies and distinct values.

numba's sorts (``np.argsort(kind="mergesort")``, ``np.sort``, ``np.unique``) are library code that
every kernel calling one would compile again into its own module, and that each process of a
first run (the run and its compile helper, ``engine/compile_ahead.py``) would compile for itself:
they are not cached on their own. Here each is a ``@compiled_once`` kernel: compiled once per
argument type, saved in the kernel cache, and called by address. A call costs a few nanoseconds
more than the inlined sort, and these are called a few times a day, never per event.

Owns these three wrappers, and ``descents``, which tells whether keys are in order already (a
count, not a sort). Must not hold a rule of any mechanism: the ordering a mechanism needs (by
person, then by posting) is the caller's.
"""

from __future__ import annotations

import numpy as np

from scslab.kernels.compiled_once import compiled_once
from scslab.kernels.jit import kernel


@compiled_once
@kernel
def stable_order(keys):
    """The positions of ``keys`` in ascending order, equal keys in their order (a mergesort)."""
    return np.argsort(keys, kind="mergesort")


@compiled_once
@kernel
def sorted_copy(values):
    """A copy of ``values`` in ascending order."""
    return np.sort(values)


@compiled_once
@kernel
def distinct_sorted(values):
    """The distinct values of ``values``, in ascending order (``np.unique``)."""
    return np.unique(values)


@kernel
def descents(keys):
    """How many of ``keys`` are below the one before them: 0 when they ascend (ties allowed).

    Counted over slices that start where the loop does, without a branch: vector code (a loop
    from an offset, with a branch or without one, ran a key at a time: 1.13 -> 0.14 ns a key,
    2026-12-07).
    """
    later, earlier = keys[1:], keys[:-1]
    count = 0
    for i in range(later.size):
        count += later[i] < earlier[i]
    return count
