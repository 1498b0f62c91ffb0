"""Compaction inside kernels: the elements of an array where a mask holds, in order; parts joined.

``kept(values, keep)`` is ``values[keep]`` written as two plain loops (count, then fill). Kernels
use it for their outputs instead of boolean indexing and mask arithmetic: it makes no temporary
arrays, and in a kernel built with threads it runs in the calling thread instead of starting a
parallel region per array expression (``kernels/parallel.py``). ``joined(parts, n)`` is the
concatenation of a list of id arrays (numba's takes a tuple); ``grown(buffer, used, need)`` a
bigger buffer keeping the rows written so far. ``rows_coded(codes, wanted)`` is
``np.flatnonzero(wanted[codes])`` for codes that are rarely wanted (a day's records that a list
or a dossier reads, among the purchases it does not).

Owns these four kernels. Each returns a new array and changes none of its arguments; what the
values mean, and where a grown buffer is kept, is the caller's.
"""

from __future__ import annotations

import numpy as np

from scslab.kernels.jit import kernel

SPARSE_KEPT = 32
"""``kept`` branches on each element when at most one in 32 is kept (a speed choice: the same
values either way). Measured on 300,000 ids (2026-12-07, one thread): with a branch 2.4 ns an
element at 82% kept, 4.6 at 50%, 1.3 at 10% and 0.7 at 1%; writing every element 0.7-1.2 at
each share."""

SCAN_BLOCK = 64
"""Codes ``rows_coded`` counts at a time before it looks for the wanted ones (a speed choice)."""


@kernel
def kept(values, keep):
    """The elements of ``values`` where ``keep`` is true (or non-zero), in order.

    When more than one in ``SPARSE_KEPT`` is kept, every element is written and the kept ones
    counted (the next write goes over one that is not): which is kept is a coin toss to the
    processor, and a branch per element costs more than a write. The array has one row more
    than it returns, for the write after the last kept element.
    """
    n = 0
    for i in range(keep.size):
        n += keep[i] != 0
    out = np.empty(n + 1, values.dtype)
    k = 0
    if SPARSE_KEPT * n < keep.size:  # few kept: a branch nearly never taken
        for i in range(keep.size):
            if keep[i]:
                out[k] = values[i]
                k += 1
    else:
        for i in range(keep.size):
            out[k] = values[i]
            k += keep[i] != 0
    return out[:n]


@kernel
def joined(parts, n):
    """The ``n`` ids of ``parts`` (a list of ``int64`` arrays) one after another."""
    out = np.empty(n, np.int64)
    k = 0
    for part in parts:
        for pid in part:
            out[k] = pid
            k += 1
    return out


@kernel
def grown(buffer, used, need):
    """A buffer of at least ``need`` rows (at least twice as many) holding ``buffer[:used]``."""
    out = np.empty(max(need, 2 * buffer.size), buffer.dtype)
    for i in range(used):
        out[i] = buffer[i]
    return out


@kernel
def rows_coded(codes, wanted):
    """The positions ``i``, ascending, of the ``codes`` (small codes, never negative) wanted.

    ``wanted[c]`` (bool or 0/1) says whether code ``c`` is. The codes are counted in blocks of
    ``SCAN_BLOCK`` by a loop without branches, which the processor runs as vector code, and only
    a block with a wanted code is looked at again, where each position is written and counted
    only if wanted. For a table where few rows are wanted: 160,000 records of which 0.2% are,
    5.2 -> 0.7 ns a record for a list's day (``lists/record_list._changes``, 2026-12-07, one
    thread; with blocks of 16, 32 and 128 the scan alone took 1.2, 1.1 and 1.3 ns against 1.1
    for 64, before the positions were written without a branch).
    """
    out = np.empty(SCAN_BLOCK + 1, np.int64)
    k = 0
    for first in range(0, codes.size, SCAN_BLOCK):
        last = min(codes.size, first + SCAN_BLOCK)
        hits = 0
        for i in range(first, last):
            hits += wanted[np.uint16(codes[i])]  # a code: no negative index to wrap around
        if hits == 0:
            continue
        if k + hits >= out.size:  # room for the block's rows and the write after the last
            out = grown(out, k, k + hits + 1)
        for i in range(first, last):
            out[k] = i
            k += wanted[np.uint16(codes[i])] != 0
    return out[:k]
