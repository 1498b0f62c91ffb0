"""The walk-through of docs/architecture.md works as written: a new scorer read by a list."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest

import scslab
from scslab.engine.mechanism import REGISTRY

DOC = Path(__file__).resolve().parent.parent / "docs" / "architecture.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


@pytest.fixture
def strikes(tmp_path, monkeypatch):
    module, _ = _python_blocks()
    (tmp_path / "strikes.py").write_text(module)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield importlib.import_module("strikes")
    del REGISTRY["strikes"]
    sys.modules.pop("strikes", None)


def test_the_walkthrough_scorer_runs_compiled_and_its_list_reads_it(strikes, capsys) -> None:
    _, usage = _python_blocks()
    exec(compile(usage, str(DOC), "exec"), {})  # the doc's own code, as a reader would run it
    engine, mean, size = capsys.readouterr().out.split()
    assert engine == "compiled"
    assert float(mean) < 100 and int(size) > 0  # records cost points; low scorers are listed
    sc = scslab.load_scenario("rongcheng").with_overrides(people=20_000, days=90)
    sc = sc.with_mechanism("strikes", points={"traffic_offence": 0})
    sc = sc.with_mechanism(
        "strikes_list", type="threshold_list", score="strikes", enter_below=80, exit_at=90
    )
    result = scslab.run(sc)
    assert result.metrics["strikes_mean"].to_pylist()[-1] == 100.0  # no points: nobody moves
    assert result.metrics["strikes_list_size"].to_pylist()[-1] == 0


def test_a_kernel_cache_index_loads_when_a_record_s_module_is_gone(tmp_path) -> None:
    """A shared kernel (``today_of``) cached for a contributor's record type, then called in a
    process that cannot import that module: the index still loads (its keys are text)."""
    import os
    import subprocess

    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    code = (
        "import sys; sys.path.insert(0, {path!r})\n"
        "import numpy as np; from numba import njit\n"
        "from scslab.engine.steps import today_of\n"
        "from scslab.kernels.structs import compiled_struct\n"
        "R = compiled_struct('Mine', ('today',), __name__)\n"
        "make = njit(lambda x: R(x))\n"
        "assert today_of(make(np.zeros(2)))[0] == 0\n"
    )
    for name in ("first", "later"):  # each from its own folder: the other's module is gone
        folder = tmp_path / name
        folder.mkdir()
        (folder / f"{name}_records.py").write_text(code.format(path=str(folder)))
        run = [sys.executable, "-c", f"import {name}_records"]
        subprocess.run(run, env=env, check=True, cwd=folder)
