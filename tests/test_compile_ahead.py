"""Helpers that compile a first run's daily kernels on other cores (``engine/compile_ahead.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import scslab
import scslab.engine.simulation as simulation
from scslab.engine import compile_ahead
from scslab.engine.compile_ahead import HELPERS_ENV, helper_order, helpers_wanted
from scslab.errors import ScenarioError


@pytest.mark.parametrize("count", [1, 2, 3, 9, 18])
@pytest.mark.parametrize("helpers", [1, 2, 3])
def test_each_helper_takes_every_kernel_from_its_own_start(count: int, helpers: int) -> None:
    starts = set()
    for helper in range(helpers):
        order = helper_order(count, helper, helpers)
        assert sorted(order) == list(range(count))
        if count > 1:  # backwards, round to the end
            assert order[1] == (order[0] - 1) % count
        starts.add(order[0])
    assert helper_order(count, 0, helpers)[0] == count - 1
    if count > helpers:  # each where nobody else starts (this process starts at 0)
        assert len(starts) == helpers and 0 not in starts


def test_helpers_wanted_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HELPERS_ENV, "2")
    assert helpers_wanted() == 2
    monkeypatch.setenv(HELPERS_ENV, "0")
    assert helpers_wanted() == 0
    monkeypatch.delenv(HELPERS_ENV)
    cores = len(os.sched_getaffinity(0))
    assert helpers_wanted() == max(0, min(cores - 1, compile_ahead.MAX_HELPERS))
    for bad in ("two", "-1", "1.5"):
        monkeypatch.setenv(HELPERS_ENV, bad)
        with pytest.raises(ScenarioError, match=f"{HELPERS_ENV}=.*whole number"):
            helpers_wanted()


def test_a_simulation_offers_every_daily_kernel_in_plan_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    offered: list[list] = []
    monkeypatch.setattr(simulation, "start_helpers", lambda kernels: offered.append(kernels))
    sc = scslab.load_scenario("rongcheng").with_overrides(people=2_000, days=2)
    sim = scslab.Simulation(sc, compiled=False)
    assert len(offered) == 1
    kernels = offered[0]
    states = [m.state for m in sim.mechanisms.values()]
    assert len(kernels) == 2 * len(states)  # a step and a metrics kernel each
    for (step, step_args), (metrics, metrics_args), state in zip(
        kernels[::2], kernels[1::2], states, strict=True
    ):
        assert step_args[2] == metrics_args[1] == step.typeof_pyval(state)
        assert step.py_func.__name__ != metrics.py_func.__name__


_HELPER_FILLS_THE_CACHE = """
import sys, time
from numba.core import event
import numpy as np
from scslab.engine import compile_ahead
from scslab.engine.compile_ahead import is_missing, start_helpers
from scslab.kernels import compact

from numba import types
ids = types.Array(types.int64, 1, "C")
flags = types.Array(types.bool_, 1, "C")
jobs = [
    (compact.kept, (ids, flags)),
    (compact.grown, (ids, types.int64, types.int64)),
    (compact.kept, (types.Array(types.float64, 1, "C"), flags)),
]
assert all(is_missing(k, a) for k, a in jobs)
assert start_helpers(jobs[:2]) == 0  # fewer than MIN_MISSING: not worth a helper
assert start_helpers(jobs) == {helpers}
for process in compile_ahead._RUNNING:
    assert process.wait(timeout=300) == 0
if {helpers} == 0:
    assert all(is_missing(k, a) for k, a in jobs)
    raise SystemExit(0)
assert not any(is_missing(k, a) for k, a in jobs)  # in the cache, saved by the helper
compiled = []
class Compiles(event.Listener):
    def on_start(self, ev): compiled.append(ev.data["dispatcher"].py_func.__name__)
    def on_end(self, ev): pass
event.register("numba:compile", Compiles())
out = compact.kept(np.arange(5), np.array([1, 0, 1, 0, 1], np.bool_))
assert out.tolist() == [0, 2, 4] and compiled == [], compiled  # loaded, not compiled here
"""


@pytest.mark.parametrize("helpers", [0, 1])
def test_a_helper_fills_the_cache_that_this_process_loads(tmp_path, helpers: int) -> None:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), HELPERS_ENV: str(helpers)}
    script = textwrap.dedent(_HELPER_FILLS_THE_CACHE.format(helpers=helpers))
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
