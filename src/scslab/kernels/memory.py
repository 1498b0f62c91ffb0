"""How kernels get at memory: software prefetch of scattered state, and freed memory kept.

An event kernel touches the state of people scattered over a population of up to 1.41 billion:
from about 10 million people up nearly every read misses the caches (about 100 ns), and the
processor cannot guess the next address because the gaps between event ids are random. Asking
for the state of the person ``AHEAD`` events on while working on this one overlaps those misses.
On the score kernel of the reference model this cut the cost per record from about 50 ns to about
13 ns at 10 and 100 million people (benchmarks/README.md, "Where the time goes").

Usage inside a kernel walking events ``ids`` that reads ``state[ids[i]]``::

    for i in range(ids.size):
        prefetch_ahead(state, ids, i)
        ...

Owns ``AHEAD``, the two prefetch intrinsics, the block move (``move_rows``, memmove) and the
allocator setting (``keep_freed_memory``: each simulation asks for it, and it is set at most once
per process). The prefetches and the allocator setting change speed, or when memory goes back to
the system, never a value. It imports nothing of the package and knows no mechanism.
"""

from __future__ import annotations

import ctypes
import sys

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

AHEAD = 16
"""Events between a prefetch and its use: enough to cover a miss, few enough to stay cached.

A tuning choice, not a model number: 16, 32 and 64 measured the same within noise on the reference
model at 10 million people (2026-11-26).
"""


def _prefetch_call(builder, ptr):
    """Emit ``llvm.prefetch`` of ``ptr``: a read (0), kept in all cache levels (3), data (1)."""
    byte_ptr = ir.IntType(8).as_pointer()
    i32 = ir.IntType(32)
    fnty = ir.FunctionType(ir.VoidType(), [byte_ptr, i32, i32, i32])
    fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
    builder.call(fn, [builder.bitcast(ptr, byte_ptr), i32(0), i32(3), i32(1)])


def _is_vector(t) -> bool:
    return isinstance(t, types.Array) and t.ndim == 1


@intrinsic
def prefetch_at(typingctx, state, index):
    """Prefetch ``state[index]`` (``index`` in range); changes no value."""
    if not (_is_vector(state) and isinstance(index, types.Integer)):
        return None
    sig = types.void(state, index)

    def codegen(context, builder, signature, args):
        state_type, index_type = signature.args
        state_view = context.make_array(state_type)(context, builder, args[0])
        target = context.cast(builder, args[1], index_type, types.intp)
        ptr = cgutils.get_item_pointer(
            context, builder, state_type, state_view, [target], wraparound=False
        )
        _prefetch_call(builder, ptr)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def prefetch_ahead(typingctx, state, ids, i):
    """Prefetch ``state[ids[i + AHEAD]]`` when ``i + AHEAD < len(ids)``; changes no value.

    An intrinsic rather than a compiled helper: a helper taking arrays would add reference
    counting on every call, which costs more than the miss it hides.
    """
    if not (_is_vector(state) and _is_vector(ids) and isinstance(ids.dtype, types.Integer)):
        return None
    if not isinstance(i, types.Integer):
        return None
    sig = types.void(state, ids, i)

    def codegen(context, builder, signature, args):
        state_type, ids_type, i_type = signature.args
        state_view = context.make_array(state_type)(context, builder, args[0])
        ids_view = context.make_array(ids_type)(context, builder, args[1])
        index = context.cast(builder, args[2], i_type, types.intp)
        ahead = builder.add(index, context.get_constant(types.intp, AHEAD))
        size = builder.extract_value(ids_view.shape, 0)
        with builder.if_then(builder.icmp_signed("<", ahead, size), likely=True):
            id_ptr = cgutils.get_item_pointer(
                context, builder, ids_type, ids_view, [ahead], wraparound=False
            )
            target = context.cast(builder, builder.load(id_ptr), ids_type.dtype, types.intp)
            ptr = cgutils.get_item_pointer(
                context, builder, state_type, state_view, [target], wraparound=False
            )
            _prefetch_call(builder, ptr)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def move_rows(typingctx, column, src, dst, length):
    """Rows ``src .. src + length - 1`` of a 1-d contiguous ``column`` to ``dst ..``, as memmove.

    The ranges may overlap. Callers give ranges inside the array: nothing is checked. A loop
    moving overlapping rows one at a time is no vector code (the compiler cannot tell which way
    they overlap): a day's records ordered in place moved their rows at about 1.5 ns a row and
    column, and memmove copies a block at memory speed.
    """
    ok_column = isinstance(column, types.Array) and column.ndim == 1 and column.layout == "C"
    counts = (src, dst, length)
    if not (ok_column and all(isinstance(t, types.Integer) for t in counts)):
        return None
    sig = types.void(column, src, dst, length)

    def codegen(context, builder, signature, args):
        column_type = signature.args[0]
        view = context.make_array(column_type)(context, builder, args[0])
        counted = zip(args[1:], signature.args[1:], strict=True)
        at = [context.cast(builder, value, t, types.intp) for value, t in counted]
        from_ptr = builder.gep(view.data, [at[0]])
        to_ptr = builder.gep(view.data, [at[1]])
        itemsize = context.get_abi_sizeof(context.get_data_type(column_type.dtype))
        cgutils.raw_memmove(builder, to_ptr, from_ptr, at[2], itemsize)
        return context.get_dummy_value()

    return sig, codegen


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
KEEP_BELOW = 32 * 2**20
"""Allocations up to this size come from the heap and are reused (glibc's largest threshold)."""
KEEP_FREE = 2**30
"""Freed heap memory kept for reuse before any is given back to the system."""
_kept = False


def keep_freed_memory() -> bool:
    """Ask glibc's allocator to keep freed memory for reuse (once per process; True if set).

    Kernels allocate their temporaries afresh every day (a day's candidates, records in order,
    scores). By default glibc maps allocations above a moving threshold (128 KiB at first) straight
    from the system and unmaps them when freed, so at China's scale every day's temporaries came
    back as fresh memory, which the system hands out one 4 KiB page at a time: 75 MB of them cost
    32 ms, against 8 ms from the heap. With allocations up to ``KEEP_BELOW`` from the heap and up
    to ``KEEP_FREE`` of freed memory kept, a day of the reference model at 1.41 billion people
    went from 600 to 500 ms (2026-12-01); small runs are unchanged. It changes when memory is
    given back, never what is computed. A no-op where glibc's ``mallopt`` is missing.
    """
    global _kept
    if _kept or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    _kept = bool(mallopt(_M_MMAP_THRESHOLD, KEEP_BELOW)) & bool(
        mallopt(_M_TRIM_THRESHOLD, KEEP_FREE)
    )
    return _kept
