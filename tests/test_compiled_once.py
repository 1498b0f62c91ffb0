"""Kernels compiled once are called by address from other kernels, also from the disk cache."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numba import njit

from scslab.kernels.compiled_once import SYMBOL_PREFIX, compiled_once, needed_by


@compiled_once
@njit
def _sorted_prefix(values, n):
    if n > values.size:
        raise ValueError("n is larger than the array")
    values[:n].sort()
    return values[:n].sum()


@njit
def _caller(values, n):
    return _sorted_prefix(values, n) + 1


def test_a_caller_calls_the_build_by_address_and_holds_no_copy() -> None:
    values = np.array([5, 3, 1, 4], np.int64)
    assert _caller(values, 3) == 10
    assert values.tolist() == [1, 3, 5, 4]
    ir = _caller.inspect_llvm(_caller.signatures[0])
    symbols = [line for line in ir.splitlines() if SYMBOL_PREFIX in line]
    assert any(line.startswith("declare") for line in symbols), symbols
    assert not any(line.startswith("define") for line in symbols), symbols
    copies = [line for line in ir.splitlines() if line.startswith("define") and "sorted" in line]
    assert copies == []
    (build,) = needed_by(_caller.overloads[_caller.signatures[0]].library)
    assert (build.qualname, build.argtypes) == ("_sorted_prefix", _caller.signatures[0])


def test_python_calls_the_kernel_itself() -> None:
    values = np.array([2, 1], np.int64)
    assert _sorted_prefix(values, 2) == 3
    assert values.tolist() == [1, 2]


def test_an_exception_inside_reaches_the_caller() -> None:
    with pytest.raises(ValueError, match="n is larger than the array"):
        _caller(np.zeros(2, np.int64), 3)


def test_other_argument_types_get_their_own_build() -> None:
    assert _caller(np.array([3.5, 1.0]), 2) == 5.5
    assert len(_sorted_prefix.compiled_once._signatures) >= 2


@njit
def _halved(x):
    return x / 2


@compiled_once
@njit
def _applied(f, x):
    return f(x) + 1


@njit
def _applies(x):
    return _applied(_halved, x)


def test_a_function_argument_gets_a_copy_compiled_into_the_caller() -> None:
    """A function's type names its address, which is no symbol for another process: linked."""
    assert _applies(4.0) == 3.0
    ir = _applies.inspect_llvm(_applies.signatures[0])
    assert SYMBOL_PREFIX not in ir
    assert needed_by(_applies.overloads[_applies.signatures[0]].library) == []


def test_only_positional_parameters_without_defaults() -> None:
    def with_default(values, n=1):
        return n

    with pytest.raises(ValueError, match="positional parameters without defaults only"):
        compiled_once(njit(with_default))


_ACTS_IN_A_NEW_PROCESS = """
import numpy as np
from scslab.engine.board import Board, _acts_for_python
board = Board()
board.post_acts(np.array([5, 2, 7]), 3)
board.post_acts(np.array([1, 3]), 4)
acts = board.acts
print(acts["pid"].tolist(), acts["act"].tolist(), _acts_for_python.stats.cache_hits.most_common(1))
"""


def _in_two_processes(tmp_path: Path, script: str, *args: str) -> list[str]:
    """What ``script`` prints in one new process and then another, sharing a new kernel cache."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"), SCSLAB_COMPILE_HELPERS="0")
    outputs = []
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", script, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        outputs.append(done.stdout.strip())
    return outputs


def test_a_cached_caller_loads_in_a_new_process(tmp_path: Path) -> None:
    """The board's reader of the acts calls ``acts_of`` by address, compiled and then cached.

    The second process loads the reader from the disk cache, so ``acts_of``'s build must have
    been published again before its machine code was linked (without it the process crashes).
    """
    outputs = _in_two_processes(tmp_path, _ACTS_IN_A_NEW_PROCESS)
    expected = "[1, 2, 3, 5, 7] [4, 3, 4, 3, 3]"
    assert outputs[0].startswith(expected) and outputs[0].endswith("[]"), outputs
    assert outputs[1].startswith(expected) and outputs[1].endswith(", 1)]"), outputs


_A_CONTRIBUTORS_KERNEL = """
import numpy as np
from scslab.kernels.jit import kernel
from scslab.kernels.sorting import distinct_sorted


@kernel
def distinct_people(pids):
    return distinct_sorted(pids)
"""

_CALL_IT = """
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from contributed import distinct_people
print(distinct_people(np.array([4, 1, 4, 9], np.int64)).tolist(), distinct_people.stats.cache_hits)
"""


def test_a_cached_kernel_outside_the_package_publishes_what_it_calls(tmp_path: Path) -> None:
    """A contributor's ``@kernel`` in a module of their own, cached, then loaded in a new process.

    It calls a ``compiled_once`` build that no kernel of the package publishes at import. numba's
    plain cache saved no word of it, and the second process crashed on the call; the kernel's
    cache (``PublishingCache``) names the build and publishes it before loading the kernel.
    """
    (tmp_path / "contributed.py").write_text(_A_CONTRIBUTORS_KERNEL)
    outputs = _in_two_processes(tmp_path, _CALL_IT, str(tmp_path))
    assert outputs[0].startswith("[1, 4, 9] Counter()"), outputs  # compiled, saved
    assert outputs[1].startswith("[1, 4, 9] Counter({"), outputs  # loaded from the disk cache
