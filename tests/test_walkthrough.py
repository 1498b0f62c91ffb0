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
