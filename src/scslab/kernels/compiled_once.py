"""Kernels compiled once and called by address, instead of compiled again into every caller.

numba copies the code of every kernel a kernel calls into the caller's own module, then
optimises it and turns it into machine code again there, caller by caller, and again in the
caller's callers. For a small helper that is what makes it fast (LLVM inlines it). For a large
kernel that many kernels call a few times a day, such as the board's ``acts_of`` (which orders the
day's acts), it is only compile time: a first run compiled the board's ordering code into every
reader of the acts.

A kernel decorated ``@compiled_once`` (above ``@kernel``) is compiled once per signature, and
each build is published under a name of its own (``llvmlite.binding.add_symbol``):

- called from Python, it is the kernel;
- called from a kernel, it compiles to a call to the published build, with numba's own calling
  convention (an exception raised inside still reaches the caller): the caller holds a call, not
  a copy.

A caller's machine code names the build's symbol, not its address. The disk cache
(``kernels/cache.py``) saves with each caller the builds it calls (``needed_by``), and publishes
them again (``publish_again``) before it loads the caller in a new process.

For large kernels called a few times a day: a call by address cannot be inlined, which costs a few
nanoseconds a call and the optimisations that inlining allows. Positional parameters only.

Owns the call by address and the registry of published builds. Must not hold a kernel of a
mechanism, nor import the cache (the cache imports this).
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib
import inspect
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import llvmlite.binding as llvm
from numba import types
from numba.core import cgutils
from numba.core.extending import _Intrinsic  # public: numba.extending.intrinsic, a decorator
from numba.extending import intrinsic

SYMBOL_PREFIX = "scslab.compiled_once."
"""Every published build's symbol starts with this."""


class Build(NamedTuple):
    """One published build: which kernel (by module and name) and for which argument types."""

    module: str
    qualname: str
    argtypes: tuple[types.Type, ...]


_KERNELS: dict[tuple[str, str], CompiledOnce] = {}
"""Every ``@compiled_once`` kernel imported in this process, by module and qualified name."""

_PUBLISHED: dict[str, Build] = {}
"""Every build published in this process, by symbol."""


def _forwarding(name: str, params: str, callee: Any) -> Callable[..., Any]:
    """``def name(params): return callee(params)``, with the parameters spelled out.

    numba types a call of an intrinsic by its definition's parameters, and cannot fold a call's
    arguments into ``*args``: the typer names them.
    """
    namespace = {"callee": callee}
    exec(f"def {name}({params}):\n    return callee({params})\n", namespace)
    return namespace[name]


class _Call(_Intrinsic):
    """An intrinsic (the call is emitted into the caller's own code) that Python can call too."""

    def __init__(self, name: str, typer: Callable[..., Any], dispatcher: Any) -> None:
        super().__init__(name, typer)
        self.dispatcher = dispatcher
        """The kernel (Python calls it; the cache keys it like every module-level kernel)."""

    def __call__(self, *args: Any) -> Any:
        return self.dispatcher(*args)


class CompiledOnce:
    """A kernel whose callers call its builds by address (see the module's docstring)."""

    def __init__(self, dispatcher: Any) -> None:
        py_func = dispatcher.py_func
        parameters = inspect.signature(py_func).parameters.values()
        if any(
            p.kind is not p.POSITIONAL_OR_KEYWORD or p.default is not p.empty for p in parameters
        ):
            raise ValueError(f"{py_func.__qualname__}: positional parameters without defaults only")
        self.dispatcher = dispatcher
        self.module, self.qualname = py_func.__module__, py_func.__qualname__
        self.params = ", ".join(p.name for p in parameters)
        self._signatures: dict[tuple[types.Type, ...], Any] = {}

    def symbol(self, argtypes: tuple[types.Type, ...]) -> str:
        """The name under which the build for ``argtypes`` is published."""
        digest = hashlib.sha256(repr(argtypes).encode()).hexdigest()[:16]
        return f"{SYMBOL_PREFIX}{self.module}.{self.qualname}.{digest}"

    def publish(self, argtypes: tuple[types.Type, ...]) -> Any:
        """Compile (or load) the build for ``argtypes`` and publish it; returns its signature."""
        signature = self._signatures.get(argtypes)
        if signature is None:
            built = _built(self.dispatcher, argtypes)
            address = _address(built)
            symbol = self.symbol(argtypes)
            llvm.add_symbol(symbol, address)
            _PUBLISHED[symbol] = Build(
                module=self.module, qualname=self.qualname, argtypes=argtypes
            )
            signature = self._signatures[argtypes] = built.signature.return_type(*argtypes)
        return signature

    def typer(self, typingctx: Any, *args: types.Type) -> tuple[Any, Any]:
        """The intrinsic's typing: the signature, and the code of a call of the build."""
        argtypes = tuple(types.unliteral(a) for a in args)
        if " at 0x" in repr(argtypes):  # a function or object argument: no stable symbol
            built = _built(self.dispatcher, argtypes)
            return built.signature.return_type(*argtypes), self._linked_call(built)
        signature = self.publish(argtypes)
        return signature, self._call_by_symbol(self.symbol(argtypes), signature)

    @staticmethod
    def _call_by_symbol(symbol: str, signature: Any) -> Callable[..., Any]:
        def codegen(context: Any, builder: Any, sig: Any, values: Any) -> Any:
            fnty = context.call_conv.get_function_type(signature.return_type, signature.args)
            function = cgutils.get_or_insert_function(builder.module, fnty, symbol)
            return _called(context, builder, function, signature, values)

        return codegen

    @staticmethod
    def _linked_call(built: Any) -> Callable[..., Any]:
        def codegen(context: Any, builder: Any, sig: Any, values: Any) -> Any:
            context.add_linking_libs([built.library])  # a copy, as for any kernel call
            function = context.declare_function(builder.module, built.fndesc)
            return _called(context, builder, function, built.signature, values)

        return codegen


def _built(dispatcher: Any, argtypes: tuple[types.Type, ...]) -> Any:
    """``dispatcher``'s build for ``argtypes``, compiled or loaded from the cache if need be."""
    dispatcher.compile(argtypes)
    return dispatcher.overloads[argtypes]


def _address(built: Any) -> int:
    """The address of a build's code (numba's calling convention)."""
    address = built.library.get_pointer_to_function(built.fndesc.llvm_func_name)
    if not address:
        raise RuntimeError(f"{built.fndesc.qualname}: no machine code for {built.signature}")
    return address


def address_of(dispatcher: Any, argtypes: tuple[types.Type, ...]) -> int:
    """Compile (or load) ``dispatcher`` for ``argtypes``; the address of that build's code.

    For ``call_at``, in this process only: the address means nothing in another one.
    """
    return _address(_built(dispatcher, argtypes))


def _call_at_typer(typingctx: Any, address: types.Type, *args: types.Type) -> Any:
    if not isinstance(address, types.Integer):
        return None
    argtypes = tuple(types.unliteral(a) for a in args)

    def codegen(context: Any, builder: Any, sig: Any, values: Any) -> Any:
        callee = types.none(*argtypes)
        fnty = context.call_conv.get_function_type(types.none, argtypes)
        function = builder.inttoptr(values[0], fnty.as_pointer())
        return _called(context, builder, function, callee, values[1:])

    return types.none(types.intp, *argtypes), codegen


_MEMINFO_AT = 16
"""Where numba's ``_MemInfo`` Python object keeps its ``NRT_MemInfo`` pointer (after the object
header), and where that struct keeps the data pointer (after its count, destructor and info)."""
_DATA_AT = 24


def record_address(record: Any) -> int:
    """The address of a compiled record's memory info: what a kernel taking it receives.

    ``call_at`` may pass it, as ``as_voidptr(address)``, where the kernel takes the record: numba
    passes a record as this one pointer. The caller keeps the record alive. Checked against what
    numba reports of the same memory info, so a change of numba's layout fails here, by name.
    """
    meminfo = record._meminfo
    address = ctypes.c_void_p.from_address(id(meminfo) + _MEMINFO_AT).value or 0
    if not address or ctypes.c_void_p.from_address(address + _DATA_AT).value != meminfo.data:
        raise RuntimeError(
            f"numba's memory info layout is not the one this numba release had: cannot pass "
            f"{type(record).__name__} by address"
        )
    return address


@intrinsic
def as_voidptr(typingctx: Any, address: types.Type) -> Any:
    """The pointer at ``address`` (an integer), for ``call_at`` or ``numba.carray``."""
    if not isinstance(address, types.Integer):
        return None

    def codegen(context: Any, builder: Any, sig: Any, values: Any) -> Any:
        return builder.inttoptr(values[0], context.get_value_type(types.voidptr))

    return types.voidptr(address), codegen


def call_at(arity: int) -> Any:
    """An intrinsic ``call(address, *arguments)``: call the kernel at ``address`` (``address_of``).

    The kernel must return nothing; an exception it raises becomes the caller's. ``arity`` is the
    count of its arguments (numba types an intrinsic's call by named parameters).
    """
    params = ", ".join(f"a{i}" for i in range(arity))
    typer = _forwarding("call_at", f"typingctx, address, {params}", _call_at_typer)
    call = _Intrinsic(f"call_at_{arity}", typer)
    call._register()
    return call


def _called(context: Any, builder: Any, function: Any, signature: Any, values: Any) -> Any:
    """Call ``function`` with numba's calling convention; its exception becomes the caller's."""
    callconv = context.call_conv
    status, result = callconv.call_function(
        builder, function, signature.return_type, signature.args, values
    )
    with cgutils.if_unlikely(builder, status.is_error):
        callconv.return_status_propagate(builder, status)
    return result


def compiled_once(dispatcher: Any) -> Callable[..., Any]:
    """Decorator (above ``@kernel``): callers call ``dispatcher``'s builds by address.

    Returns the function to call instead of ``dispatcher``, from Python or from kernels.
    """
    once = CompiledOnce(dispatcher)
    _KERNELS[once.module, once.qualname] = once
    typer = _forwarding("typer", f"typingctx, {once.params}", once.typer)
    call = _Call(dispatcher.py_func.__name__, typer, dispatcher)
    call._register()
    call.__qualname__, call.__module__ = once.qualname, once.module
    call.__doc__ = dispatcher.py_func.__doc__
    call.compiled_once = once
    return call


def needed_by(library: Any) -> list[Build]:
    """The published builds that a compiled ``library`` (a numba code library) calls."""
    module = getattr(library, "_final_module", None)
    if module is None:
        return []
    declared = (f.name for f in module.functions if f.is_declaration)
    return [_PUBLISHED[name] for name in declared if name.startswith(SYMBOL_PREFIX)]


def publish_again(builds: Iterable[Build]) -> None:
    """Publish ``builds`` in this process (before loading a caller that calls them)."""
    for build in builds:
        once = _KERNELS.get((build.module, build.qualname))
        if once is None:
            importlib.import_module(build.module)
            once = _KERNELS[build.module, build.qualname]
        once.publish(tuple(build.argtypes))
