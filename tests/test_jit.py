"""Kernels compile without numba's C wrapper, except the steps and metrics the day plan calls."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import package_kernels
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
