"""Helpers that compile a first run's daily kernels on other cores (``engine/compile_ahead.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from typing import ClassVar

import pytest
from numba.core.typing.typeof import Purpose, typeof

import scslab
import scslab.engine.simulation as simulation
from scslab.engine import compile_ahead
from scslab.engine.compile_ahead import HELPERS_ENV, helpers_wanted
from scslab.engine.compiled_plan import run_days
from scslab.engine.steps import KERNELS, state_made_at_init
from scslab.errors import ScenarioError
from scslab.kernels.compiled_once import address_of, record_address


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


class _Recorder(compile_ahead.CompileHelpers):
    offers: ClassVar[list[list]] = []

    def offer(self, kernels) -> None:
        _Recorder.offers.append(list(kernels))


def test_each_mechanism_offers_its_daily_kernels_as_the_plan_calls_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(simulation, "CompileHelpers", _Recorder)
    _Recorder.offers = []
    sc = scslab.load_scenario("rongcheng").with_overrides(people=2_000, days=2)
    in_python = scslab.Simulation(sc, compiled=False)  # the Python loop: no plan to offer
    assert len(_Recorder.offers) == len(in_python.mechanisms)
    _Recorder.offers = []
    auto = scslab.Simulation(sc)  # the engine ours to pick: the plan is offered too, so that a
    assert _Recorder.offers.pop()[0][0] is run_days  # first run's helpers compile it (0.3 s)
    assert len(_Recorder.offers) == len(auto.mechanisms)
    _Recorder.offers = []
    sim = scslab.Simulation(sc, compiled=True)
    signature = sim.compiled_plan.signature()
    assert _Recorder.offers.pop() == [(run_days, signature)]  # the plan's entry, offered last
    assert len(_Recorder.offers) == len(sim.mechanisms)  # one offer a mechanism
    lazy = [i for i, m in enumerate(sim.mechanisms.values()) if not state_made_at_init(m)]
    assert lazy == [1]  # debt's record holds the list's: offered once every mechanism is ready
    order = [i for i in range(len(sim.mechanisms)) if i not in lazy] + lazy
    plan = sim.compiled_plan.plan
    for offer, i in zip(_Recorder.offers, order, strict=True):
        state = sim.compiled_plan.states[i]
        (step, step_args), (metrics, metrics_args) = offer
        registered = KERNELS[type(state)]
        assert (step, metrics) == (registered.step, registered.metrics)
        assert step_args[2] == metrics_args[1] == typeof(state, Purpose.argument)  # its record
        assert step_args in step.overloads and metrics_args in metrics.overloads
        # the builds for those types are the code the plan calls, on the record it holds
        assert address_of(step, step_args) == plan.steps[i]
        assert address_of(metrics, metrics_args) == plan.metrics[i]
        assert record_address(state) == plan.records[i]


_HELPER_FILLS_THE_CACHE = """
from numba import types
from numba.core import event
import numpy as np
from scslab.engine import compile_ahead
from scslab.engine.compile_ahead import CompileHelpers, is_missing
from scslab.kernels import compact

ids = types.Array(types.int64, 1, "C")
flags = types.Array(types.bool_, 1, "C")
jobs = [
    (compact.kept, (ids, flags)),
    (compact.grown, (ids, types.int64, types.int64)),
    (compact.kept, (types.Array(types.float64, 1, "C"), flags)),
]
assert all(is_missing(k, a) for k, a in jobs)
helpers = CompileHelpers()
helpers.offer(jobs)
assert helpers.sent == ({helpers} and len(jobs))
processes = list(compile_ahead._RUNNING)
assert len(processes) == {helpers}
for process in processes:  # every job sent: the helper compiles them all, then exits
    process.stdin.close()
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
helpers.finish()  # loads what is missing here, compiles nothing
assert compiled == [] and all(a in k.overloads for k, a in jobs), compiled
assert compact.kept(np.arange(5), np.array([1, 0, 1, 0, 1], np.bool_)).tolist() == [0, 2, 4]
assert compile_ahead._RUNNING == []
"""


@pytest.mark.parametrize("helpers", [0, 1])
def test_a_helper_fills_the_cache_that_this_process_loads(tmp_path, helpers: int) -> None:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), HELPERS_ENV: str(helpers)}
    script = textwrap.dedent(_HELPER_FILLS_THE_CACHE.format(helpers=helpers))
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
