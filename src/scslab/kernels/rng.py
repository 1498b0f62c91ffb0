"""Counter-based randomness: every draw is a pure hash of (stream key, day, subject, index).

This module owns the only source of randomness in scslab. There is no generator state: a draw is
``splitmix64`` applied to the stream key, the day, the subject (usually a person id) and a draw
index. Results are therefore bit-identical whatever the thread count, chunking or machine split,
and two scenarios share common random numbers: a draw changes only where the policy that uses it
changes.

Stream keys are derived in plain Python from ``(seed, mechanism name, stream name)`` by
``stream_key``; kernels receive them as ``uint64`` and must never derive keys themselves.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
from numba import njit, uint64

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53


def stream_key(seed: int, *names: str | int) -> np.uint64:
    """Return the 64-bit key of a named random stream.

    Args:
        seed: The scenario seed.
        *names: The path of the stream, for example ``("court_list", "flight_attempts")``.

    Returns:
        A key that depends on every part of the path and on nothing else.
    """
    text = "|".join([str(int(seed)), *(str(n) for n in names)])
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


@njit(inline="always", cache=True)
def mix64(x: uint64) -> uint64:
    """The splitmix64 finaliser: a bijective avalanche of 64 bits."""
    z = x + _GOLDEN
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(inline="always", cache=True)
def hash4(key: uint64, day: int, subject: int, index: int) -> uint64:
    """Hash a stream key with a day, a subject and a draw index into 64 random bits."""
    h = mix64(key ^ np.uint64(day))
    h = mix64(h ^ np.uint64(subject))
    return mix64(h ^ np.uint64(index))


@njit(inline="always", cache=True)
def uniform(key: uint64, day: int, subject: int, index: int) -> float:
    """A uniform double in [0, 1) with 53 random bits."""
    return float(hash4(key, day, subject, index) >> _S11) * _INV53


@njit(inline="always", cache=True)
def bernoulli(key: uint64, day: int, subject: int, index: int, p: float) -> bool:
    """True with probability ``p``."""
    return uniform(key, day, subject, index) < p


@njit(inline="always", cache=True)
def below(key: uint64, day: int, subject: int, index: int, n: int) -> int:
    """A uniform integer in [0, n) (Lemire's multiply-shift, bias below 2**-32 for n < 2**32)."""
    return int((hash4(key, day, subject, index) >> np.uint64(32)) * np.uint64(n) >> np.uint64(32))


@njit(inline="always", cache=True)
def geometric_days(key: uint64, day: int, subject: int, index: int, hazard: float) -> int:
    """Days until a daily event of probability ``hazard`` first happens (at least 1)."""
    if hazard >= 1.0:
        return 1
    if hazard <= 0.0:
        return 1 << 40
    u = 1.0 - uniform(key, day, subject, index)
    gap = math.log(u) / math.log1p(-hazard)  # a float: a tiny hazard overflows an integer
    if gap >= 1 << 40:
        return 1 << 40
    return 1 + int(gap)
