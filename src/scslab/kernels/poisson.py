"""Poisson processes along an id range: the points, in order, at a cost that grows with them.

``poisson_points`` draws the points of a Poisson process of a given rate per person over a range
of ``length`` people: the gaps between points are exponential (one hash and one logarithm each),
so a range of a billion people at a rate of one in a million costs about a thousand draws, not a
billion. A person may get several points (the count per person is Poisson, not Bernoulli): what a
rate of events per person a day needs when the rate can exceed one, such as false alerts of face
recognition at several camera sightings a person a day.

Gap ``k`` of a process is drawn from ``(key, day, stream, k)`` (``stream`` tells apart the
processes of one key, such as one per region), so the points are the same whatever the thread
count or machine. This module owns the walk only; it knows no person, region or mechanism.
"""

from __future__ import annotations

import math

import numpy as np

from scslab.kernels.compact import grown
from scslab.kernels.jit import kernel
from scslab.kernels.rng import log_complement

GAPS_AHEAD = 32
"""Most gaps computed ahead of using them (a speed choice: the points are the same).

The gaps are independent of each other, so they are computed in a vector loop of their own
before the walk adds them up, as ``sampling.WALK_CHUNK`` does for the Bernoulli walk; a process
expecting few points computes fewer ahead.
"""


@kernel(error_model="numpy")
def _gaps(key, day, stream, k, mean_gap, gaps, m):
    """Gaps ``k .. k + m - 1`` of the process (exponential, mean ``mean_gap``) into ``gaps``.

    Compiled without zero-division checks, so that the loop is vector code.
    """
    for j in range(m):
        gaps[j] = -log_complement(key, day, stream, k + j) * mean_gap


@kernel
def room_for(mean):
    """Rows for a draw expecting ``mean`` points: more than a day will nearly ever need."""
    return int(mean + 8.0 * math.sqrt(mean) + 32)


@kernel
def poisson_points(key, day, stream, length, rate, out, used):
    """Points of a Poisson process of ``rate`` per person over ``length`` people, appended.

    Writes the floor of each point's position (a person's offset in ``[0, length)``, in
    increasing order, repeated where a person gets several points) into ``out`` from row
    ``used``, growing ``out`` when it is full. Returns ``(out, used)``: the buffer (the same or a
    bigger one) and its rows now used. ``rate`` 0 or ``length`` 0 draws nothing.
    """
    if not (rate > 0.0 and length > 0.0):
        return out, used
    mean_gap = 1.0 / rate
    ahead = max(1, min(GAPS_AHEAD, int(length * rate) + 1))
    gaps = np.empty(ahead, np.float64)
    position = 0.0
    k = 0
    while True:
        _gaps(key, day, stream, k, mean_gap, gaps, ahead)
        k += ahead
        for j in range(ahead):
            position += gaps[j]
            if position >= length:
                return out, used
            if used == out.size:
                out = grown(out, used, used + 1)
            out[used] = np.int64(position)
            used += 1
