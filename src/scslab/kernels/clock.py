"""The processor's cycle counter, read inside kernels to time compiled phases of a day.

``cycle_counter()`` is LLVM's ``readcyclecounter`` (the time-stamp counter on x86): a few
nanoseconds to read, so the compiled day plan can time every mechanism's step without leaving
compiled code. Cycles are turned into seconds by comparing the cycles of a whole run with its wall
time (``cycles_now`` reads the counter from Python).

Owns the two readers of the counter. It turns no cycles into seconds itself (the compiled day
plan does, ``engine/compiled_plan.py``) and knows no mechanism or phase.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from scslab.kernels.jit import kernel


@intrinsic
def cycle_counter(typingctx):
    """The cycle counter now (``uint64``; 0 on a processor without one)."""
    sig = types.uint64()

    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.IntType(64), [])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.readcyclecounter")
        return builder.call(fn, [])

    return sig, codegen


@kernel
def cycles_now():
    """The cycle counter now, read from Python."""
    return cycle_counter()
