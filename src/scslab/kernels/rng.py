"""Counter-based randomness: every draw is a pure hash of (stream key, day, subject, index).

This module owns the only source of randomness in scslab. There is no generator state: a draw is
``splitmix64`` applied to the stream key, the day, the subject (usually a person id) and a draw
index. Results are therefore bit-identical whatever the thread count, chunking or machine split,
and two scenarios share common random numbers: a draw changes only where the policy that uses it
changes.

Stream keys are derived in plain Python from ``(seed, mechanism name, stream name)`` by
``stream_key``; kernels receive them as ``uint64`` and must never derive keys themselves.

The draws are plain kernels, each compiled once per argument types and inlined by LLVM into the
loops that call them (``kernels/jit.py``): a loop of draws is still vector code.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
from llvmlite import ir
from numba import types, uint64
from numba.extending import intrinsic

from scslab.kernels.jit import kernel

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


@kernel
def mix64(x: uint64) -> uint64:
    """The splitmix64 finaliser: a bijective avalanche of 64 bits."""
    z = x + _GOLDEN
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@kernel
def subject_bits(key: uint64, day: int, subject: int) -> uint64:
    """The part of ``hash4`` that the draws of one subject on one day share.

    A kernel that makes many draws of each subject hashes this once and each draw from it
    (``draw_bits``): the same bits as ``hash4``, with a third of its work.
    """
    return mix64(mix64(key ^ np.uint64(day)) ^ np.uint64(subject))


@kernel
def draw_bits(subject: uint64, index: int) -> uint64:
    """``hash4``'s bits of draw ``index`` from a subject's ``subject_bits``."""
    return mix64(subject ^ np.uint64(index))


@kernel
def hash4(key: uint64, day: int, subject: int, index: int) -> uint64:
    """Hash a stream key with a day, a subject and a draw index into 64 random bits."""
    return draw_bits(subject_bits(key, day, subject), index)


@kernel
def uniform(key: uint64, day: int, subject: int, index: int) -> float:
    """A uniform double in [0, 1) with 53 random bits."""
    return float_of_bits(hash4(key, day, subject, index) >> _S11) * _INV53


@intrinsic
def _bits_of(typingctx, x):
    """The 64 bits of a float64, as an unsigned integer."""
    if not isinstance(x, types.Float):
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.uint64(types.float64), codegen


@intrinsic
def _float_of(typingctx, bits):
    """The float64 whose 64 bits are ``bits``."""
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.uint64), codegen


_TWO52_BITS = np.uint64(0x4330000000000000)  # the bits of 2**52: its unit in the last place is 1
_TWO52 = 4503599627370496.0
_LOW32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_TWO32 = 4294967296.0


@kernel
def float_of_bits(n: uint64) -> float:
    """``float(n)``, in instructions a vector loop has.

    The processors of AVX2 have no vector conversion of 64-bit integers to floats, so a loop of
    ``float(n)`` converted them one at a time. Each 32-bit half is put in the low bits of 2**52
    and 2**52 subtracted (exact), and the halves are added: the sum is ``n`` rounded once, as
    ``float(n)`` rounds it (tests compare them). A uniform draw over 600,000 ids: 3.4 -> 2.6 ns
    (2026-12-07, one thread).
    """
    high = _float_of((n >> _S32) | _TWO52_BITS) - _TWO52
    low = _float_of((n & _LOW32) | _TWO52_BITS) - _TWO52
    return high * _TWO32 + low


_LN2_HI = 6.93147180369123816490e-01  # ln 2 in 32 significant bits: e * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10  # the rest of ln 2
_SQRT2 = 1.4142135623730951
_C1, _C2, _C3, _C4, _C5 = 2.0 / 3, 2.0 / 5, 2.0 / 7, 2.0 / 9, 2.0 / 11
_C6, _C7, _C8, _C9 = 2.0 / 13, 2.0 / 15, 2.0 / 17, 2.0 / 19
_MANTISSA = np.uint64((1 << 52) - 1)
_ONE_BITS = np.uint64(0x3FF0000000000000)
_TWO53 = np.uint64(1 << 53)


@kernel(error_model="numpy")
def log_fraction(n: uint64) -> float:
    """``log(n / 2**53)`` for an integer ``n`` in [1, 2**53], in plain arithmetic, without libm.

    With ``n = 2**e * f`` (``f`` in [sqrt(1/2), sqrt(2))) the logarithm is ``(e - 53) ln 2 + 2
    atanh(s)``, ``s = (f - 1) / (f + 1)``, whose series to ``s**19`` is exact to about 1e-17 for
    ``|s| < 0.172``. It agrees with libm's ``log`` to within 5e-16 relative (tests), is the same on
    every machine and library, and has no call in it, so a loop of them compiles to vector
    instructions when its kernel is compiled with ``error_model="numpy"`` (no zero-division
    check).
    """
    bits = _bits_of(float_of_bits(n))  # exact: n <= 2**53
    e = np.int64(bits >> np.uint64(52)) - 1023 - 53
    f = _float_of((bits & _MANTISSA) | _ONE_BITS)  # n / 2**(e + 53), in [1, 2)
    high = f > _SQRT2
    f = f * 0.5 if high else f
    e += high
    s = (f - 1.0) / (f + 1.0)
    z = s * s
    series = 2.0 + z * (
        _C1
        + z
        * (_C2 + z * (_C3 + z * (_C4 + z * (_C5 + z * (_C6 + z * (_C7 + z * (_C8 + z * _C9)))))))
    )
    return e * _LN2_HI + (s * series + e * _LN2_LO)


@kernel(error_model="numpy")
def log_complement(key: uint64, day: int, subject: int, index: int) -> float:
    """``log(1 - uniform(key, day, subject, index))`` by ``log_fraction``.

    ``1 - u`` is ``n / 2**53`` for ``n = 2**53 - (hash >> 11)``, in [1, 2**53]. The sampling
    walk's skips in a vector loop: 7.1 -> 2.3 ns a skip (2026-12-01).
    """
    return log_complement_of(hash4(key, day, subject, index))


@kernel(error_model="numpy")
def log_complement_of(bits: uint64) -> float:
    """``log_complement`` of a draw's 64 bits (``hash4``'s or ``draw_bits``')."""
    return log_fraction(_TWO53 - (bits >> _S11))


@kernel
def bernoulli(key: uint64, day: int, subject: int, index: int, p: float) -> bool:
    """True with probability ``p``."""
    return uniform(key, day, subject, index) < p


@kernel
def below(key: uint64, day: int, subject: int, index: int, n: int) -> int:
    """A uniform integer in [0, n) (Lemire's multiply-shift, bias below 2**-32 for n < 2**32)."""
    return below_of(hash4(key, day, subject, index), n)


@kernel
def below_of(bits: uint64, n: int) -> int:
    """``below`` of a draw's 64 bits (``hash4``'s or ``draw_bits``')."""
    return int((bits >> np.uint64(32)) * np.uint64(n) >> np.uint64(32))


@kernel
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
