"""How a kernel is compiled: cached on disk, and without numba's C wrapper.

numba compiles three functions for each ``@njit`` function: the function itself, a wrapper that
Python calls, and a wrapper with a C calling convention, which only numba's first-class functions
call. scslab calls kernels through pointers with numba's own calling convention instead (the day
plan and ``compiled_once``), so no kernel needs the C wrapper: the wrappers were 2.9 MB of the
9.4 MB of IR in the function bodies of ``rongcheng``'s kernels (before LLVM's module passes).

So every kernel is ``@kernel`` (``@kernel(inline="always")``, ``@kernel(error_model="numpy")``...),
and a mechanism's step and metrics are ``@step_kernel``, the same compile options under a name
that says what the day plan calls. Both can be called from Python and from other kernels alike.

Two things no kernel uses, because numba compiles a formatted error message for each, and with it
its string machinery (``str`` of an integer, concatenation...), about 1.4 s of a first run in
every process that compiles one: a slice assignment from an array (``a[i:j] = b``, whose message
names both shapes; a slice set to a constant is fine) and a reduction along an axis
(``a.sum(axis=0)``, whose message names the axis). A kernel copies and adds with a loop instead;
``tests/test_jit.py`` reads every kernel's source for them. ``rongcheng``'s first run (``scslab
run rongcheng --people 200000 --days 365`` on an empty cache, with its helper), three runs each,
alternating: 30.3-32.9 s of wall time against 32.6-35.2 s with six such kernels, and 48.1-53.0 s
of processor time against 51.9-56.8 (2026-12-05).

A kernel that another kernel calls with a constant (``uniform(key, 0, pid, 0)``) is compiled for
the constant's type, not its value (``Kernel``): numba compiles a build per literal value, which
made ``rng.hash4`` eight builds in ``rongcheng``'s first run where two types were used.

Small helpers called in hot loops (the draws of ``kernels/rng.py``, the traits) are plain
kernels, not ``inline="always"``: LLVM inlines them into their callers all the same (the same
machine code, the same speed), while numba's own inlining ran the helper's front end again at
each of some 340 call sites, about 4 s of a first run. A helper that takes arrays or records
keeps ``inline="always"`` (a call would count references); the remaining ones cost a first run of
``rongcheng`` about half a second.

Owns the compile options that every kernel shares. Must not hold a kernel itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from numba import config, types
from numba.core.registry import CPUDispatcher
from numba.extending import overload

from scslab.kernels.cache import publish_called_builds

KERNEL_OPTIONS: dict[str, Any] = {"cache": True, "no_cfunc_wrapper": True}
"""numba options of every kernel (``kernel``): cached on disk, no C wrapper."""

OVERLOAD_OPTIONS: dict[str, Any] = {"no_cfunc_wrapper": True}
"""numba options of every typed variant (``kernel_overload``): no C wrapper (numba adds none that
Python calls, and caches them inside their callers)."""


class Kernel(CPUDispatcher):
    """numba's dispatcher, but a kernel calling a kernel compiles it for the arguments' types.

    numba compiles a kernel called with a constant (``uniform(key, 0, pid, 0)``) for that
    constant's literal type, and again for every other constant: ``rng.hash4`` was compiled
    eight times for ``rongcheng``, two of them for its argument types. Here a call compiles the
    build for the types alone, and any constant is an argument like any other. So a kernel that
    asks for a literal (``numba.literally``) runs from Python but not from another kernel, which
    fails to compile with numba's "Cannot request literal type"; no kernel of the package asks.
    """

    def get_call_template(self, args: Any, kws: Any) -> Any:
        """The call template of a call from a kernel, compiled for the types of ``args``."""
        args = tuple(types.unliteral(a) for a in args)
        kws = {name: types.unliteral(a) for name, a in kws.items()}
        return super().get_call_template(args, kws)


def _jit(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``numba.njit(**options)``, building a ``Kernel``."""
    options = {"nopython": True} | options
    cache = options.pop("cache", False)

    def build(func: Callable[..., Any]) -> Any:
        if config.DISABLE_JIT:
            return func
        dispatcher = Kernel(py_func=func, locals={}, targetoptions=options)
        if cache:
            dispatcher.enable_caching()
        return dispatcher

    return build


def kernel(func: Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """Compile ``func`` as a kernel: ``@kernel`` or ``@kernel(**numba_options)``.

    The options (``inline``, ``error_model``, ``parallel``...) go to ``numba.njit`` on top of
    ``KERNEL_OPTIONS``. A kernel of a module outside the package (a contributor's mechanism) is
    cached with the ``compiled_once`` builds it calls (``kernels/cache.PublishingCache``), so that
    it loads in a new process; the package's own are keyed by their code once imported.
    """
    jit = _jit(**(KERNEL_OPTIONS | options))
    if func is None:
        return lambda later: publish_called_builds(jit(later))
    return publish_called_builds(jit(func))


def step_kernel(func: Callable[..., Any]) -> Any:
    """Compile a mechanism's step or metrics kernel, which the day plan calls by address.

    A ``kernel``: the plan calls it with numba's own calling convention (``call_at`` in
    ``kernels/compiled_once.py``), which every kernel has.
    """
    return kernel(func)


def kernel_overload(func: Callable[..., Any], **options: Any) -> Any:
    """``numba.extending.overload(func)`` for kernels: the variant chosen by argument types.

    Its implementations compile without a C wrapper (``OVERLOAD_OPTIONS``); ``options`` (such as
    ``inline="always"``) go to ``overload``.
    """
    return overload(func, jit_options=OVERLOAD_OPTIONS, **options)


def has_c_wrapper(dispatcher: Any) -> bool:
    """Whether a compiled kernel has numba's C wrapper (no kernel of scslab needs one)."""
    return not dispatcher.targetoptions.get("no_cfunc_wrapper", False)
