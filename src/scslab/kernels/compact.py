"""Compaction inside kernels: the elements of an array where a mask holds, in order; parts joined.

``kept(values, keep)`` is ``values[keep]`` written as two plain loops (count, then fill). Kernels
use it for their outputs instead of boolean indexing and mask arithmetic: it makes no temporary
arrays, and in a kernel built with threads it runs in the calling thread instead of starting a
parallel region per array expression (``kernels/parallel.py``). ``joined(parts, n)`` is the
concatenation of a list of id arrays (numba's takes a tuple); ``grown(buffer, used, need)`` a
bigger buffer keeping the rows written so far.

Owns these three kernels. Each returns a new array and changes none of its arguments; what the
values mean, and where a grown buffer is kept, is the caller's.
"""

from __future__ import annotations

import numpy as np

from scslab.kernels.jit import kernel


@kernel
def kept(values, keep):
    """The elements of ``values`` where ``keep`` is true (or non-zero), in order."""
    n = 0
    for i in range(keep.size):
        n += keep[i] != 0
    out = np.empty(n, values.dtype)
    k = 0
    for i in range(keep.size):
        if keep[i]:
            out[k] = values[i]
            k += 1
    return out


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
