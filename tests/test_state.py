"""The per-person state registry: flags and few-bit counters packed in shared bytes."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from scslab.kernels.bits import counter_increment, counter_value
from scslab.population.state import StateRegistry


@njit(cache=True)
def _increment_times(counter, pid, times):
    last = -1
    for _ in range(times):
        last = counter_increment(counter, pid)
    return last, counter_value(counter, pid)


def test_a_counter_shares_a_byte_with_flags_and_wraps_without_touching_them():
    reg = StateRegistry(n=5)
    a, b = reg.add_flags("a", "b")
    counter = reg.add_counter("generation", 4)
    c = reg.add_flag("c")
    assert counter.array is a.array  # bits 2-5 of the first byte, not a byte of their own
    assert reg.bytes_per_person() == 1.0
    a.array[:] |= a.mask | b.mask
    before = a.array.copy()
    assert _increment_times(counter.bits(), 3, 5) == (5, 5)
    assert counter.get().tolist() == [0, 0, 0, 5, 0]
    assert _increment_times(counter.bits(), 3, 11) == (0, 0)  # 16 in all: wraps to zero
    assert _increment_times(counter.bits(), 3, 17) == (1, 1)
    assert (a.array & ~np.uint8(counter.mask)).tolist() == before.tolist()  # flags untouched
    assert a.get().all() and b.get().all() and not c.get().any()


def test_a_counter_that_does_not_fit_takes_a_new_byte_and_bad_widths_are_refused():
    reg = StateRegistry(n=3)
    reg.add_flags(*"abcdef")
    counter = reg.add_counter("generation", 4)
    assert counter.shift == 0 and reg.bytes_per_person() == 2.0
    (g,) = reg.add_flags("g")
    assert g.array is not counter.array and int(g.mask) == 1 << 6  # the first byte's free bit
    with pytest.raises(ValueError, match="1 to 8 bits"):
        reg.add_counter("wide", 9)
    with pytest.raises(ValueError, match="declared twice"):
        reg.add_counter("generation", 2)


def test_flags_fill_the_bits_an_earlier_group_left_free_before_taking_a_new_byte():
    reg = StateRegistry(n=4)
    reg.add_flags(*"abcde")  # bits 0-4 of the first byte
    generation = reg.add_counter("generation", 4)  # 4 bits do not fit in the 3 left: a new byte
    assert generation.array is not reg.flags["a"].array and generation.shift == 0
    f, g, h = reg.add_flags(*"fgh")  # the first byte's bits 5-7, next to each other
    assert f.array is reg.flags["a"].array and [int(x.mask) for x in (f, g, h)] == [32, 64, 128]
    (i,) = reg.add_flags("i")  # the first byte is full: the second, after the counter
    assert i.array is generation.array and int(i.mask) == 1 << 4
    assert reg.bytes_per_person() == 2.0
    with pytest.raises(ValueError, match="declared twice"):
        reg.add_flag("generation")  # a counter's name is taken too
