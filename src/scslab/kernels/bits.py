"""Kernels that read and write a small counter packed in a person's flag byte (``CounterBits``).

Owns the arithmetic of packed counters: a value of ``width`` bits at ``shift`` in a byte that
flags and other counters share. The registry (``population/state.py``) decides where a counter
lives; nothing here allocates or knows any mechanism.
"""

from __future__ import annotations

import numpy as np

from scslab.kernels.jit import kernel
from scslab.kernels.structs import CounterBits


@kernel
def no_counter():
    """The ``CounterBits`` of no counter (an empty byte array): for a record without one."""
    return CounterBits(flags=np.empty(0, np.uint8), shift=np.int64(0), mask=np.int64(0))


@kernel(inline="always")
def counter_value(counter, pid):
    """The value of ``counter`` (a ``CounterBits``) for ``pid``."""
    return (np.int64(counter.flags[pid]) & counter.mask) >> counter.shift


@kernel(inline="always")
def counter_increment(counter, pid):
    """Add one to ``pid``'s ``counter``, wrapping at ``2**width`` to zero; returns the new value.

    The other bits of the byte (flags, other counters) are left as they are.
    """
    byte = np.int64(counter.flags[pid])
    value = ((byte & counter.mask) + (np.int64(1) << counter.shift)) & counter.mask
    counter.flags[pid] = np.uint8((byte & ~counter.mask & 0xFF) | value)
    return value >> counter.shift
