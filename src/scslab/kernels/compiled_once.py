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

import hashlib
import importlib
import inspect
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import llvmlite.binding as llvm
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from scslab.kernels.jit import kernel_overload

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

    numba compiles neither a ``*args`` overload nor a ``*args`` intrinsic into a call, so the
    functions that forward a kernel's arguments name them.
    """
    namespace = {"callee": callee}
    exec(f"def {name}({params}):\n    return callee({params})\n", namespace)
    return namespace[name]


def _call_by_symbol(symbol: str, signature: Any, params: str) -> Any:
    """An intrinsic of ``params`` that calls the build published as ``symbol``."""

    def codegen(context: Any, builder: Any, sig: Any, values: Any) -> Any:
        callconv = context.call_conv
        fnty = callconv.get_function_type(signature.return_type, signature.args)
        function = cgutils.get_or_insert_function(builder.module, fnty, symbol)
        status, result = callconv.call_function(
            builder, function, signature.return_type, signature.args, values
        )
        with cgutils.if_unlikely(builder, status.is_error):
            callconv.return_status_propagate(builder, status)
        return result

    typer = _forwarding("call", f"typingctx, {params}", lambda *_: (signature, codegen))
    return intrinsic(typer)


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
        self._calls: dict[tuple[types.Type, ...], Callable[..., Any]] = {}

    def symbol(self, argtypes: tuple[types.Type, ...]) -> str:
        """The name under which the build for ``argtypes`` is published."""
        digest = hashlib.sha256(repr(argtypes).encode()).hexdigest()[:16]
        return f"{SYMBOL_PREFIX}{self.module}.{self.qualname}.{digest}"

    def publish(self, argtypes: tuple[types.Type, ...]) -> Callable[..., Any]:
        """Compile (or load) the build for ``argtypes`` and publish it; returns its caller."""
        call = self._calls.get(argtypes)
        if call is None:
            self.dispatcher.compile(argtypes)
            built = self.dispatcher.overloads[argtypes]
            address = built.library.get_pointer_to_function(built.fndesc.llvm_func_name)
            if not address:
                raise RuntimeError(f"{self.qualname}: no machine code for {argtypes}")
            symbol = self.symbol(argtypes)
            llvm.add_symbol(symbol, address)
            _PUBLISHED[symbol] = Build(
                module=self.module, qualname=self.qualname, argtypes=argtypes
            )
            signature = built.signature.return_type(*argtypes)
            call = _forwarding(
                "by_address", self.params, _call_by_symbol(symbol, signature, self.params)
            )
            self._calls[argtypes] = call
        return call


def compiled_once(dispatcher: Any) -> Callable[..., Any]:
    """Decorator (above ``@kernel``): callers call ``dispatcher``'s builds by address.

    Returns the function to call instead of ``dispatcher``, from Python or from kernels.
    """
    once = CompiledOnce(dispatcher)
    _KERNELS[once.module, once.qualname] = once
    call = _forwarding(dispatcher.py_func.__name__, once.params, dispatcher)
    linked = _forwarding("linked", once.params, dispatcher)
    call.__qualname__, call.__module__ = once.qualname, once.module
    call.__doc__ = dispatcher.py_func.__doc__
    call.dispatcher = dispatcher  # type: ignore[attr-defined]  (for the cache's keying)
    call.compiled_once = once  # type: ignore[attr-defined]

    def typed(*args):  # no annotations: numba compares them with the implementation's
        argtypes = tuple(types.unliteral(a) for a in args)
        if " at 0x" in repr(argtypes):  # a function or object argument: no stable symbol
            return linked
        return once.publish(argtypes)

    kernel_overload(call)(_forwarding("typed", once.params, typed))
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
