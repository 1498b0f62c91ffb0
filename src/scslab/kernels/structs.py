"""Mutable records shared by Python and compiled code: the state a kernel keeps between days.

``compiled_struct("DebtState", fields, __name__)`` defines a numba ``StructRef`` type and its
Python proxy class. An instance is passed by reference: a kernel can change its scalars and put a
new (grown) array in a field, and Python and every other kernel holding it see the change. That is
what lets a whole day run in compiled code (``engine/compiled_plan.py``): the board, calendars and
each mechanism's state are such records instead of Python objects.

Each record type is its own numba type, so compiled generic functions (such as ``scores``)
pick a mechanism's implementation by the type of its state, at compile time. The types are
registered under ``NAME`` and ``NAMEType`` in the defining module, so that numba's on-disk cache
can find them again.

A record is built by a compiled constructor of the module that defines it (calling the proxy
class inside a ``@kernel``): building one from Python would compile a constructor in every
new process. For the same reason a field that Python reads is read by a cached compiled getter of
that module (about 2 microseconds a read: for outputs, not hot loops); Python keeps its own
references to the arrays it shares with a record.

Every record, whatever its type, can be read and set whole: ``field_values`` gives all its
fields as a tuple and ``set_field_values`` sets them (compiled once per record type, cached), for
code that must handle any record without knowing it, such as checkpoints
(``engine/checkpoint.py``).

Values that Python builds for a kernel travel by name, never by position: a record's fields, or a
``typing.NamedTuple`` that both ends read by field (``FlagBits`` below; numba compiles ``t.mask``
to the same code as ``t[1]``, and a field that does not exist fails to compile).

Owns ``compiled_struct``, ``FlagBits``, ``CounterBits`` and the access to any record whole
(``field_values``, ``set_field_values``, ``fields_of``, ``record_identity``). It defines no
record of its own: each module defines its records, which ``compiled_struct`` registers in that
module's namespace. Nothing here knows what a field means or which mechanism owns a record.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from numba import types
from numba.experimental import structref
from numba.extending import intrinsic

from scslab.kernels.jit import kernel


def _unliteral_fields(self: types.StructRef, fields: Sequence[tuple[str, types.Type]]):
    """Field types as values, not literals: a record built with 0 holds any integer."""
    return tuple((name, types.unliteral(t)) for name, t in fields)


def compiled_struct(name: str, fields: Sequence[str], module: str) -> type[Any]:
    """A mutable compiled record type with ``fields``, defined in ``module``.

    Returns the Python proxy class ``name``; its numba type class is ``module.NAMEType`` (use it
    with ``isinstance`` in overloads). Field types are fixed by the values the record is built
    with.
    """
    type_class = type(
        f"{name}Type",
        (types.StructRef,),
        {"preprocess_fields": _unliteral_fields, "__module__": module},
    )
    type_class.__qualname__ = f"{name}Type"
    structref.register(type_class)
    proxy = type(name, (structref.StructRefProxy,), {"__module__": module, "__slots__": ()})
    proxy.__qualname__ = name
    proxy.numba_type_class = type_class
    structref.define_proxy(proxy, type_class, list(fields))
    namespace = sys.modules[module].__dict__
    namespace[f"{name}Type"] = type_class
    namespace.setdefault(name, proxy)
    return proxy


class FlagBits(NamedTuple):
    """A per-person flag byte array and the bit that is the flag, by name at both ends."""

    flags: np.ndarray
    """One byte per person (uint8)."""
    mask: np.uint8
    """The flag's bit (0: no flag, nobody has it)."""


class CounterBits(NamedTuple):
    """A small per-person counter packed in bits of a flag byte array, by name at both ends.

    Read and written only through ``kernels/bits.py`` (``counter_value``, ``counter_increment``).
    """

    flags: np.ndarray
    """One byte per person (uint8), shared with flags and other counters; empty: no counter."""
    shift: np.int64
    """The counter's lowest bit."""
    mask: np.int64
    """The counter's bits in place (``(2**width - 1) << shift``)."""


# Every record's fields, read and written at once: for checkpoints (``engine/checkpoint.py``),
# which walk any record field by field without knowing its type. Generic over record types, so a
# new record gets them for free; compiled once per record type and cached on disk like a kernel.


@intrinsic
def _field_values(typingctx, record):
    """All fields of ``record`` as one tuple, in the record's field order (new references)."""
    if not isinstance(record, types.StructRef):
        return None
    field_types = [t for t in record.field_dict.values()]
    tuple_type = types.Tuple(field_types)

    def codegen(context, builder, signature, args):
        [record_type] = signature.args
        data = structref._Utils(context, builder, record_type).get_data_struct(args[0])
        values = []
        for name, t in record_type.field_dict.items():
            value = getattr(data, name)
            context.nrt.incref(builder, t, value)
            values.append(value)
        return context.make_tuple(builder, signature.return_type, values)

    return tuple_type(record), codegen


@intrinsic
def _set_field_values(typingctx, record, values):
    """Set every field of ``record`` from the tuple ``values`` (each cast to its field's type)."""
    if not isinstance(record, types.StructRef) or not isinstance(values, types.BaseTuple):
        return None
    if len(values) != len(record.field_dict):
        return None
    for (_, field_type), value_type in zip(record.field_dict.items(), values.types, strict=True):
        if field_type != value_type and typingctx.can_convert(value_type, field_type) is None:
            return None

    def codegen(context, builder, signature, args):
        record_type, values_type = signature.args
        data = structref._Utils(context, builder, record_type).get_data_struct(args[0])
        for i, (name, field_type) in enumerate(record_type.field_dict.items()):
            value_type = values_type.types[i]
            value = builder.extract_value(args[1], i)
            cast = context.cast(builder, value, value_type, field_type)
            context.nrt.incref(builder, field_type, cast)
            old = getattr(data, name)
            context.nrt.decref(builder, field_type, old)
            setattr(data, name, cast)
        return context.get_dummy_value()

    return types.none(record, values), codegen


@kernel
def field_values(record):
    """Every field of ``record`` as a tuple, in field order (arrays and records by reference)."""
    return _field_values(record)


@kernel
def set_field_values(record, values):
    """Set every field of ``record`` from ``values`` (a tuple in field order; see ``fields_of``)."""
    _set_field_values(record, values)


def fields_of(record: Any) -> tuple[tuple[str, types.Type], ...]:
    """The names and numba types of a record's fields, in order (any ``compiled_struct``)."""
    return tuple(record._type.field_dict.items())


def record_identity(record: Any) -> int:
    """The address of a record's data: two proxies of one record have the same (for sharing)."""
    return int(record._meminfo.data)
