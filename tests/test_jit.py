"""Kernels compile without numba's C wrapper, except the steps and metrics the day plan calls."""

from __future__ import annotations

import ast

import numpy as np
import pytest

from conftest import kernel_sources, package_kernels
from scslab.engine.steps import KERNELS, compiled_mechanism
from scslab.kernels.jit import has_c_wrapper, kernel, step_kernel


def test_no_kernel_compiles_the_c_wrapper() -> None:
    """Pointers are called with numba's own calling convention: no kernel needs the C wrapper."""
    kernels, _ = package_kernels()
    registered = {k for pair in KERNELS.values() for k in pair}
    assert len(kernels) > 300  # the walk found the package's kernels
    assert registered <= set(kernels.values())
    assert sorted(name for name, k in kernels.items() if has_c_wrapper(k)) == []


def test_a_step_that_is_not_a_compiled_kernel_is_refused_at_registration() -> None:
    """``compiled_mechanism`` refuses a Python function (the plan calls compiled code only)."""

    def step(day, board, state):
        pass

    class Refused:
        pass

    class Accepted:
        pass

    with pytest.raises(TypeError, match=r"step.* is not a compiled kernel"):
        compiled_mechanism(Refused, step)
    assert Refused not in KERNELS
    try:
        compiled_mechanism(Accepted, step_kernel(step))
        assert KERNELS[Accepted].step.py_func is step
    finally:
        KERNELS.pop(Accepted, None)


def test_a_kernel_runs_from_python_and_from_another_kernel() -> None:
    """Without the C wrapper a kernel keeps the one that Python calls."""

    @kernel
    def doubled(x):
        return 2 * x

    @kernel
    def plus_one_doubled(x):
        return doubled(x) + 1

    values = np.arange(3.0)
    assert not has_c_wrapper(doubled)
    assert np.array_equal(doubled(values), [0.0, 2.0, 4.0])
    assert np.array_equal(plus_one_doubled(values), [1.0, 3.0, 5.0])


def test_a_kernel_called_with_constants_is_compiled_once_for_their_types() -> None:
    """Calls with 0, 1 and 2 share one build of the callee (numba's ``njit`` makes three)."""
    from numba import njit

    def add(x, k):
        return x + k

    def callers(plus):
        def with_constants(x):
            return plus(x, 0) + plus(x, 1) + plus(x, 2)

        return with_constants

    ours, numbas = kernel(add), njit(add)
    assert kernel(callers(ours))(1) == njit(callers(numbas))(1) == 6
    assert [str(s) for s in ours.signatures] == ["(int64, int64)"]
    assert len(numbas.signatures) == 3  # one per constant: what the rule prevents


def test_a_kernel_that_asks_for_a_literal_runs_from_python_only() -> None:
    """``numba.literally`` in a kernel called by a kernel fails to compile, by name."""
    from numba import literally
    from numba.core.errors import TypingError

    @kernel
    def add_literal(x, k):
        return x + literally(k)

    @kernel
    def caller(x):
        return add_literal(x, 3)

    assert add_literal(1, 2) == 3
    with pytest.raises(TypingError, match="Cannot request literal type"):
        caller(1)


def test_every_kernel_and_overload_takes_its_options_from_jit_py() -> None:
    """Compile options live in ``kernels/jit.py``: no other module calls numba's decorators."""
    import re
    from pathlib import Path

    import scslab

    root = Path(scslab.__file__).parent
    direct = re.compile(
        r"^\s*@?(njit|jit|overload)\(|^from numba(\.extending)? import .*\b(njit|overload)\b"
    )
    offenders = [
        f"{path.relative_to(root)}:{number}"
        for path in sorted(root.rglob("*.py"))
        if path != root / "kernels" / "jit.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if direct.search(line)
    ]
    assert not offenders, offenders


REDUCTIONS = frozenset({"sum", "prod", "max", "min", "mean", "argmax", "argmin", "cumsum", "all"})
"""Array methods that take an axis as their first argument."""


def _has_slice(index: ast.expr) -> bool:
    return isinstance(index, ast.Slice) or (
        isinstance(index, ast.Tuple) and any(isinstance(e, ast.Slice) for e in index.elts)
    )


def _builds_strings(tree: ast.AST) -> list[str]:
    """Slice assignments from a non-constant and reductions along an axis (``kernels/jit.py``)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and not isinstance(node.value, ast.Constant):
            if any(isinstance(t, ast.Subscript) and _has_slice(t.slice) for t in node.targets):
                found.append(ast.unparse(node))
        elif isinstance(node, ast.Call):
            method = node.func.attr if isinstance(node.func, ast.Attribute) else ""
            on_numpy = isinstance(node.func, ast.Attribute) and ast.unparse(node.func.value) == "np"
            positional_axis = len(node.args) > (1 if on_numpy else 0)
            if any(k.arg == "axis" for k in node.keywords) or (
                method in REDUCTIONS and positional_axis
            ):
                found.append(ast.unparse(node))
    return found


def test_the_rule_finds_what_builds_strings() -> None:
    """Both directions: each form is found, and the forms that compile no string are not."""
    found = _builds_strings(
        ast.parse(
            "a[:n] = b\n"
            "a[i, :] = b[j]\n"
            "t = x.sum(axis=0)\n"
            "t = np.sum(x, 0)\n"
            "t = x.max(1)\n"
            "a[:n] = 0\n"
            "a[i] = b[i]\n"
            "t = x.sum()\n"
            "t = np.sum(x)\n"
        )
    )
    assert found == ["a[:n] = b", "a[i, :] = b[j]", "x.sum(axis=0)", "np.sum(x, 0)", "x.max(1)"]


def test_no_kernel_compiles_numbas_string_machinery() -> None:
    """No kernel assigns an array to a slice or reduces along an axis (``kernels/jit.py``)."""
    found = {name: _builds_strings(tree) for name, tree in kernel_sources().items()}
    assert {name: calls for name, calls in found.items() if calls} == {}
