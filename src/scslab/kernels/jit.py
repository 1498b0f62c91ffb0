"""How a kernel is compiled: cached on disk, and without the C wrapper unless the day plan needs it.

numba compiles three functions for each ``@njit`` function: the function itself, a wrapper that
Python calls, and a wrapper with a C calling convention, which only a call through a pointer
needs (numba's first-class functions). In scslab only the day plan calls kernels through pointers
(``engine/compiled_plan.py``), and only two kernels of each mechanism: its step and its metrics.
The C wrappers of the others were 2.9 MB of the 9.4 MB of IR in the function bodies of
``rongcheng``'s kernels (before LLVM's module passes); leaving them out saves a first run only
about 2% of its compiling, within this machine's noise (the wrappers are simple code), and keeps
every kernel's compile options in one place.

So every kernel is ``@kernel`` (``@kernel(inline="always")``, ``@kernel(error_model="numpy")``...),
and a mechanism's step and metrics are ``@step_kernel``; ``compiled_mechanism`` refuses a step or
metrics kernel compiled without its C wrapper, which the day plan would call at address 0. Both
kernels can be called from Python and from other kernels alike.

Owns the compile options that every kernel shares. Must not hold a kernel itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from numba import njit
from numba.extending import overload

KERNEL_OPTIONS: dict[str, Any] = {"cache": True, "no_cfunc_wrapper": True}
"""numba options of every kernel (``kernel``): cached on disk, no C wrapper."""

OVERLOAD_OPTIONS: dict[str, Any] = {"no_cfunc_wrapper": True}
"""numba options of every typed variant (``kernel_overload``): no C wrapper (numba adds none that
Python calls, and caches them inside their callers)."""


def kernel(func: Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """Compile ``func`` as a kernel: ``@kernel`` or ``@kernel(**numba_options)``.

    The options (``inline``, ``error_model``, ``parallel``...) go to ``numba.njit`` on top of
    ``KERNEL_OPTIONS``. The kernel has no C wrapper, so the day plan cannot call it through a
    pointer: a mechanism's step and metrics are ``step_kernel``.
    """
    jit = njit(**(KERNEL_OPTIONS | options))
    return jit if func is None else jit(func)


def step_kernel(func: Callable[..., Any]) -> Any:
    """Compile a mechanism's step or metrics kernel, which the day plan calls through a pointer.

    Like ``kernel``, but with numba's C wrapper, whose address the day plan calls.
    """
    return njit(**(KERNEL_OPTIONS | {"no_cfunc_wrapper": False}))(func)


def kernel_overload(func: Callable[..., Any], **options: Any) -> Any:
    """``numba.extending.overload(func)`` for kernels: the variant chosen by argument types.

    Its implementations compile without a C wrapper (``OVERLOAD_OPTIONS``); ``options`` (such as
    ``inline="always"``) go to ``overload``.
    """
    return overload(func, jit_options=OVERLOAD_OPTIONS, **options)


def has_c_wrapper(dispatcher: Any) -> bool:
    """Whether a compiled kernel can be called through a pointer (it has numba's C wrapper)."""
    return not dispatcher.targetoptions.get("no_cfunc_wrapper", False)
