"""The compiled day plan gives the Python loop's results, bit for bit, and falls back to it."""

from __future__ import annotations

import datetime as dt

import numba
import numpy as np
import pytest

import scslab
from scslab.engine import compiled_plan
from scslab.engine.mechanism import REGISTRY, Behaviour
from scslab.engine.simulation import Simulation
from scslab.mechanisms.lists import threshold_list


def _reference(days: int = 120, **mechanisms: dict) -> scslab.Scenario:
    sc = scslab.load_scenario("reference").with_overrides(people=20_000, days=days, seed=5)
    for name, params in mechanisms.items():
        sc = sc.with_mechanism(name, **params)
    return sc


def _run(sc: scslab.Scenario, compiled: bool | None) -> Simulation:
    sim = Simulation(sc, compiled=compiled)
    sim.run()
    return sim


def test_the_reference_model_runs_compiled_with_the_python_loop_s_results() -> None:
    sc = _reference()
    fast, slow = _run(sc, None), _run(sc, False)
    assert fast.compiled_plan is not None and slow.compiled_plan is None
    assert fast.columns == slow.columns
    assert fast.columns["threshold_list_size"][-1] > 0  # the run did something to compare
    assert all(row.seconds > 0 for row in fast.plan)  # phases are timed inside the plan
    assert fast.board.records["pid"].tolist() == slow.board.records["pid"].tolist()


def test_a_mechanism_switched_on_later_steps_from_its_date_in_the_compiled_plan() -> None:
    start = _reference().meta.start_date
    sc = _reference(days=60, travel_bans={"active_from": start + dt.timedelta(days=30)})
    fast, slow = _run(sc, True), _run(sc, False)
    assert fast.columns == slow.columns
    blocked = fast.columns["flight_purchases_blocked"]
    assert blocked[29] == 0 < blocked[-1]


def test_days_run_one_by_one_or_in_chunks_give_the_same_results() -> None:
    sc = _reference(days=50)
    once = _run(sc, True)
    stepped = Simulation(sc)
    for _ in range(sc.meta.days):
        stepped.step()
    seen: list[int] = []
    chunked = Simulation(sc)
    chunked.run(on_day=seen.append)
    assert stepped.columns == once.columns == chunked.columns
    assert seen == sorted(seen) and seen[-1] == 50 and len(seen) > 1


def test_the_python_decisions_of_a_threshold_list_match_its_compiled_step(monkeypatch) -> None:
    sc = _reference(days=90)
    compiled = _run(sc, None)
    monkeypatch.setattr(threshold_list, "reads_compiled", lambda scorer: False)
    python = _run(sc, None)  # the list decides in Python: the whole plan is not compiled
    assert python.compiled_plan is None
    assert python.columns == compiled.columns


@pytest.fixture
def prototype():
    """A Python-only mechanism, as a contributor's prototype would start: no kernels."""

    class Prototype(Behaviour):
        name = "test_python_prototype"
        description = "a prototype with no compiled kernels"

        def step(self, sim: Simulation, day: int) -> None:
            self.days = getattr(self, "days", 0) + 1

    yield Prototype
    del REGISTRY[Prototype.name]


def test_a_python_only_mechanism_runs_in_python_says_so_or_is_refused_by_name(prototype) -> None:
    sc = scslab.load_scenario("rongcheng").with_overrides(people=3000, days=3)
    sc = sc.with_mechanism("test_python_prototype")
    assert Simulation(sc).compiled_plan is None
    with pytest.raises(scslab.ScenarioError, match="no compiled kernels for test_python_prototype"):
        Simulation(sc, compiled=True)
    result = scslab.run(sc)
    assert result.manifest["engine"] == "python"
    assert result.manifest["python_only_mechanisms"] == ["test_python_prototype"]
    assert "Python-only mechanisms" in result.summary()
    assert result.simulation.mechanisms["test_python_prototype"].days == 3
    plain = scslab.run(scslab.load_scenario("rongcheng").with_overrides(people=3000, days=3))
    assert plain.manifest["python_only_mechanisms"] == []
    assert "Python-only" not in plain.summary()


def test_integrated_2020_runs_compiled_with_groups_between_stretches_as_in_python() -> None:
    sc = scslab.load_scenario("integrated_2020").with_overrides(people=6000, days=75, seed=5)
    sc = sc.with_mechanism("groups", every_days=20)
    compiled = _run(sc, True)
    python = _run(sc, False)
    assert compiled.observers == ["groups"]
    assert python.columns.keys() == compiled.columns.keys()
    for name, column in python.columns.items():
        assert repr(column) == repr(compiled.columns[name]), name  # NaN == NaN by its repr
    groups_c = compiled.mechanisms["groups"]
    groups_p = python.mechanisms["groups"]
    assert groups_c.passes == groups_p.passes == 5  # days 0, 20, 40, 60 and the last day
    assert groups_c.tables()["groups"].equals(groups_p.tables()["groups"])


def test_every_kernel_s_disk_cache_is_keyed_by_the_code_it_depends_on() -> None:
    from scslab.kernels import cache
    from scslab.kernels.sampling import _walk_block, uniforms

    for kernel in (compiled_plan.run_days, _walk_block, uniforms.threaded, uniforms.one_thread):
        assert isinstance(kernel._cache, cache.SourcesCache)
    # a kernel's stamp covers its module and every module it imports, not the modules above
    deps = cache.dependencies("scslab.kernels.sampling")
    assert {"scslab.kernels.rng", "scslab.kernels.sampling"} <= deps
    assert not any(m.startswith(("scslab.mechanisms", "scslab.engine")) for m in deps)
    assert _walk_block._cache._cache_file._source_stamp == cache.code_digest(
        "scslab.kernels.sampling"
    )
    # the day plan's key names the modules of the records it runs (their kernels are inlined)
    sim = Simulation(_reference(days=1))
    plan = sim.compiled_plan
    assert plan is not None
    table = np.empty((0, plan.width))
    args = (0, 0, sim.board.native, plan.states, plan.first_days, plan.cycles, table, plan.offsets)
    sig = tuple(numba.typeof(a) for a in args)
    key = compiled_plan.run_days._cache._index_key(sig, compiled_plan.run_days.targetctx.codegen())
    assert isinstance(key, str)  # text: an index never needs a record's module to load
    assert "scslab.mechanisms.lists.threshold_list" in key
    assert repr(("scslab.engine.board", cache.code_digest("scslab.engine.board"))) in key


def test_a_docstring_or_comment_edit_keeps_the_code_digest_and_a_code_edit_changes_it() -> None:
    import ast

    from scslab.kernels import cache

    def digest(source: str) -> str:
        return ast.dump(cache._without_docstrings(ast.parse(source)))

    base = 'def f(x):\n    """Doc."""\n    return x + 1\n'
    moved = '\n\n# a comment\ndef f(x):\n    """Other doc,\n    longer."""\n    return x + 1  # c\n'
    assert digest(base) == digest(moved)
    assert digest(base) != digest(base.replace("x + 1", "x + 2"))
    tree = ast.parse(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import scslab.api\n"
        "from scslab.kernels import rng\nfrom . import board\n"
    )
    found = cache.runtime_imports(tree, "scslab.engine.simulation", False)
    assert found == {"scslab.kernels", "scslab.kernels.rng", "scslab.engine", "scslab.engine.board"}


def test_score_sanctions_refuse_alike_in_the_compiled_plan_and_in_python(monkeypatch) -> None:
    from scslab.mechanisms.consequences import score_sanctions

    sc = scslab.load_scenario("suining_2010").with_overrides(people=20_000, days=200, seed=2)
    aid = {"attempt_rate": 0.01, "below": 1000}  # anyone who lost a point is refused
    sc = sc.with_mechanism("score_sanctions", sectors={"aid": aid, "licences": aid})
    compiled = _run(sc, True)
    monkeypatch.setattr(score_sanctions, "reads_compiled", lambda scorer: False)
    python = _run(sc, None)
    assert python.compiled_plan is None
    assert python.columns == compiled.columns
    assert compiled.columns["score_sanctions_aid_refused"][-1] > 0


def test_commercial_scores_and_rewards_run_compiled_with_the_python_results(monkeypatch) -> None:
    from scslab.mechanisms.consequences import rewards

    sc = scslab.load_scenario("pboc_pilots_2015").with_overrides(people=20_000, days=120, seed=4)
    compiled = _run(sc, True)
    monkeypatch.setattr(rewards, "reads_compiled", lambda scorer: False)
    python = _run(sc, None)  # the rewards decide in Python: the whole plan is not compiled
    assert python.compiled_plan is None
    assert python.columns == compiled.columns
    assert compiled.columns["shared_bikes_granted"][-1] > 0


def test_compile_events_report_each_kernel_numba_compiles_and_nothing_after() -> None:
    from numba import njit

    from scslab.api import compile_events

    counts: list[int] = []

    @njit
    def fresh(x):
        return x + 1

    with compile_events(counts.append):
        fresh(1)
        fresh(2)  # compiled already: not reported again
    fresh(1.5)  # outside the block: not reported
    assert counts == [1]
