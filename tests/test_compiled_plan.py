"""The compiled day plan gives the Python loop's results, bit for bit, and falls back to it."""

from __future__ import annotations

import datetime as dt

import pytest

import scslab
from scslab.engine import compiled_plan
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


def test_a_scenario_without_compiled_kernels_runs_in_python_or_is_refused_by_name() -> None:
    sc = scslab.load_scenario("integrated_2020").with_overrides(people=3000, days=3)
    assert Simulation(sc).compiled_plan is None
    with pytest.raises(scslab.ScenarioError, match="cannot run compiled: no compiled kernels for"):
        Simulation(sc, compiled=True)


def test_every_kernel_s_disk_cache_is_keyed_by_the_package_sources() -> None:
    from scslab.kernels import cache
    from scslab.kernels.sampling import _walk_block, uniforms

    for kernel in (compiled_plan.run_days, _walk_block, uniforms.threaded, uniforms.one_thread):
        assert isinstance(kernel._cache, cache.SourcesCache)
    digest = cache.sources_digest()
    key = _walk_block._cache._index_key((), _walk_block.targetctx.codegen())
    assert len(digest) == 64 and key[-1] == digest


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
