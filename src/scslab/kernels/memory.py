"""Software prefetch for kernels that read per-person state at random.

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
"""

from __future__ import annotations

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
