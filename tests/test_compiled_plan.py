"""The compiled day plan gives the Python loop's results, bit for bit, and falls back to it.

Both loops run the same kernels: a mechanism's Python ``step`` calls its registered kernel, and a
reader of scores reads them through the scorer's kernels, so there is no Python copy of a rule to
compare with; a scorer without kernels (a prototype) runs alone in the Python loop or is refused,
by name, by a reader that needs its kernels.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator

import numba
import numpy as np
import pytest

import scslab
from scslab.engine import compiled_plan, steps
from scslab.engine.mechanism import REGISTRY, Behaviour, Scoring
from scslab.engine.simulation import Simulation
from scslab.kernels.cache import SourcesCache

PROTOTYPE = "prototype_score"


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
    fast, slow = _run(sc, True), _run(sc, False)
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
    assert set(blocked[:30]) == {None} and None not in blocked[30:]  # null until it runs
    assert blocked[30] >= 0 < blocked[-1]


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


@pytest.fixture
def prototype_score() -> Iterator[str]:
    """A scoring system written in Python only (no compiled kernels), registered for one test."""

    class PrototypeScore(Scoring):
        name = PROTOTYPE
        description = "a Python-only score: everyone at 1000 minus 10 per record"

        def init(self, sim: Simulation) -> None:
            self.score = np.full(sim.pop.n, 1000, np.int64)

        def step(self, sim: Simulation, day: int) -> None:
            np.subtract.at(self.score, sim.board.records["pid"], 10)

        def scores(self, pids: np.ndarray, day: int) -> np.ndarray:
            return self.score[pids]

    try:
        yield PROTOTYPE
    finally:
        REGISTRY.pop(PrototypeScore.name, None)


def test_a_python_only_score_runs_alone_in_the_python_loop(prototype_score: str) -> None:
    sc = _reference(days=30, **{prototype_score: {}})
    sim = _run(sc, None)
    assert sim.compiled_plan is None  # it has no kernels: the Python loop, said by the plan
    assert sim.get(prototype_score).scores(np.arange(sim.pop.n), 30).min() < 1000
    with pytest.raises(scslab.ScenarioError, match=f"no compiled kernels for {prototype_score}"):
        Simulation(sc, compiled=True)


@pytest.mark.parametrize(
    ("reader", "params"),
    [
        ("threshold_list", {"score": PROTOTYPE}),
        (
            "score_sanctions",
            {"sectors": {"aid": {"attempt_rate": 0.1, "score": PROTOTYPE, "below": 1}}},
        ),
        (
            "rewards",
            {"sectors": {"bikes": {"attempt_rate": 0.1, "score": PROTOTYPE, "threshold": 1}}},
        ),
    ],
)
def test_a_reader_of_compiled_scores_refuses_a_python_only_score_by_name(
    prototype_score: str, reader: str, params: dict
) -> None:
    sc = _reference(days=5, **{prototype_score: {}}).with_mechanism(reader, **params)
    message = f"{reader} reads scores from compiled code, but '{prototype_score}' has no compiled"
    with pytest.raises(scslab.ScenarioError, match=message) as refused:
        Simulation(sc)
    assert "\n" not in str(refused.value)  # one line


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
    from scslab.kernels import cache, package_code
    from scslab.kernels.sampling import _walk_block, uniforms

    for kernel in (compiled_plan.run_days, _walk_block, uniforms.threaded, uniforms.one_thread):
        assert isinstance(kernel._cache, cache.SourcesCache)
    # a kernel's stamp covers its module and every module it imports, not the modules above
    deps = package_code.dependencies("scslab.kernels.sampling")
    assert {"scslab.kernels.rng", "scslab.kernels.sampling"} <= deps
    assert not any(m.startswith(("scslab.mechanisms", "scslab.engine")) for m in deps)
    assert _walk_block._cache._cache_file._source_stamp == package_code.code_digest(
        "scslab.kernels.sampling"
    )
    # the day plan takes addresses, not records: its key names the board, and no mechanism
    plan = Simulation(_reference(days=1), compiled=True).compiled_plan
    assert plan is not None
    sig = plan.signature()
    key = compiled_plan.run_days._cache._index_key(sig, compiled_plan.run_days.targetctx.codegen())
    assert isinstance(key, str)  # text: an index never needs a record's module to load
    assert "scslab.mechanisms" not in key
    board = package_code.code_digest("scslab.engine.board")
    assert repr(("scslab.engine.board", board)) in key


def test_one_build_of_the_day_plan_runs_every_combination_of_mechanisms() -> None:
    """``run_days`` takes arrays of addresses: every preset's plan has the same argument types."""
    signatures = {
        Simulation(
            scslab.load_scenario(name).with_overrides(people=2000, days=1), compiled=True
        ).compiled_plan.signature()
        for name in ("reference", "rongcheng", "integrated_2020")
    }
    assert len(signatures) == 1


def test_no_mechanism_s_kernels_are_keyed_by_the_plan_s_code() -> None:
    """Mechanisms register with ``engine/steps``; an edit of the plan recompiles only the plan."""
    from scslab.kernels import package_code

    mechanism_modules = {k.py_func.__module__ for ks in steps.KERNELS.values() for k in ks}
    assert len(mechanism_modules) > 20
    for module in mechanism_modules:
        deps = package_code.dependencies(module)
        assert "scslab.engine.steps" in deps or module == "scslab.engine.steps", module
        assert "scslab.engine.compiled_plan" not in deps, module


def test_a_docstring_or_comment_edit_keeps_the_code_digest_and_a_code_edit_changes_it() -> None:
    import ast

    from scslab.kernels import package_code

    def digest(source: str) -> str:
        return package_code.syntax_digest(ast.parse(source))

    base = 'def f(x):\n    """Doc."""\n    return x + 1\n'
    moved = '\n\n# a comment\ndef f(x):\n    """Other doc,\n    longer."""\n    return x + 1  # c\n'
    assert digest(base) == digest(moved)
    assert digest(base) != digest(base.replace("x + 1", "x + 2"))
    # the text after a constant or a field is a docstring too: editing it recompiled all
    constant = 'X = 1\n"""What X is."""\nclass R:\n    a: int\n    """Field a."""\n'
    edited = 'X = 1\n"""What X is, said otherwise."""\nclass R:\n    a: int\n    """A."""\n'
    assert digest(constant) == digest(edited) == digest("X = 1\nclass R:\n    a: int\n")
    assert digest(constant) != digest(constant.replace("X = 1", "X = 2"))
    assert digest("if c:\n    'text'\nelse:\n    y = 1\n") == digest(
        "if c:\n    pass\nelse:\n    y = 1\n"
    )
    tree = ast.parse(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import scslab.api\n"
        "from scslab.kernels import rng\nfrom . import board\n"
    )
    found = package_code.runtime_imports(tree, "scslab.engine.simulation", False)
    assert found == {"scslab.kernels", "scslab.kernels.rng", "scslab.engine", "scslab.engine.board"}


def test_score_sanctions_refuse_alike_in_the_compiled_plan_and_the_python_loop() -> None:
    sc = scslab.load_scenario("suining_2010").with_overrides(people=20_000, days=200, seed=2)
    sc = sc.with_mechanism("backlash", enabled=False)  # would end the programme (test_backlash)
    aid = {"attempt_rate": 0.01, "below": 1000}  # anyone who lost a point is refused
    sc = sc.with_mechanism("score_sanctions", sectors={"aid": aid, "licences": aid})
    compiled, python = _run(sc, True), _run(sc, False)
    assert compiled.compiled_plan is not None and python.compiled_plan is None
    assert python.columns == compiled.columns
    assert compiled.columns["score_sanctions_aid_refused"][-1] > 0
    refused = python.get("score_sanctions").refused_ids  # the last day's, read from the record
    scorer = python.get("suining_points")
    assert (scorer.scores(refused, python.days - 1) < 1000).all()


def test_commercial_scores_and_rewards_grant_alike_in_the_compiled_plan_and_the_python_loop() -> (
    None
):
    sc = scslab.load_scenario("pboc_pilots_2015").with_overrides(people=20_000, days=120, seed=4)
    compiled, python = _run(sc, True), _run(sc, False)
    assert compiled.compiled_plan is not None and python.compiled_plan is None
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


@pytest.mark.parametrize("reader", ["score_sanctions", "rewards"])
def test_sanctions_or_rewards_without_sectors_run_in_either_loop(reader: str) -> None:
    sc = scslab.load_scenario("suining_2010").with_overrides(people=2000, days=5)
    sc = sc.with_mechanism(reader, sectors={})
    compiled, python = _run(sc, True), _run(sc, False)
    assert compiled.columns == python.columns


def test_a_run_that_may_pick_takes_the_plan_once_its_kernels_are_compiled(
    tmp_path, monkeypatch
) -> None:
    """``compiled=None``: the plan if every daily kernel is compiled (here or on disk), else the
    loop; ``run_days``, one build for every plan, is compiled then if it must be."""
    sc = _reference(days=30)
    ready = _run(sc, True)  # every kernel compiled (or loaded) in this process

    # run_days compiled nowhere, in memory or on disk: the run compiles it and takes the plan
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(compiled_plan.run_days, "overloads", {})
    monkeypatch.setattr(
        compiled_plan.run_days, "_cache", SourcesCache(compiled_plan.run_days.py_func)
    )
    fresh = _run(sc, None)
    assert fresh.compiled_plan is not None and not fresh.plan_not_compiled
    assert len(compiled_plan.run_days.overloads) == 1
    assert fresh.columns == ready.columns

    # a daily kernel compiled nowhere: the loop, which compiles it as it goes, and it says so
    monkeypatch.setattr(compiled_plan, "built_or_cached", lambda kernel, args: False)
    loop = _run(sc, None)
    assert loop.compiled_plan is None and loop.plan_not_compiled
    assert loop.columns == ready.columns


def test_a_shape_compiled_by_another_process_is_found_on_disk() -> None:
    """The plan compiled here is found by a fresh process (from the cache), which takes it."""
    _run(_reference(days=30), True)
    code = (
        "import scslab\n"
        "sc = scslab.load_scenario('reference').with_overrides(people=20_000, days=30, seed=5)\n"
        "r = scslab.run(sc)\n"
        "print(r.manifest['engine'], r.manifest['plan_not_compiled'])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["compiled", "False"]


def test_the_summary_says_when_the_plan_was_not_compiled_yet(monkeypatch) -> None:
    monkeypatch.setattr(compiled_plan.CompiledPlan, "kernels_compiled", lambda self: False)
    result = scslab.run(_reference(days=10))
    assert result.manifest["engine"] == "python" and result.manifest["plan_not_compiled"]
    assert "are not compiled yet, so the Python loop ran" in result.summary()


def test_the_plan_calls_the_kernels_it_is_given_not_copies_compiled_into_it(monkeypatch) -> None:
    """``run_days`` takes each kernel as a pointer: a plan compiled already runs another kernel.

    A plan that embedded its kernels' code would keep running the kernels it was compiled with.
    """
    from numba import njit

    from scslab.mechanisms.lists.threshold_list import ThresholdState

    sc = _reference(days=5)
    before = _run(sc, True)  # this shape's plan, compiled or loaded
    assert set(before.columns["threshold_list_size"]) != {7}

    @njit
    def sevens(day, state):
        state.today[:] = 7.0

    registered = steps.KERNELS[ThresholdState]
    monkeypatch.setitem(steps.KERNELS, ThresholdState, registered._replace(metrics=sevens))
    after = _run(sc, True)
    assert after.compiled_plan.signature() == before.compiled_plan.signature()  # the same plan
    assert after.columns["threshold_list_size"] == [7] * 5


def test_a_step_or_metrics_kernel_that_returns_a_value_is_refused_by_name(monkeypatch) -> None:
    from numba import njit

    from scslab.mechanisms.lists.threshold_list import ThresholdState

    @njit
    def counting_metrics(day, state):
        return day  # a value the plan's pointer type has no room for

    registered = steps.KERNELS[ThresholdState]
    monkeypatch.setitem(
        steps.KERNELS, ThresholdState, registered._replace(metrics=counting_metrics)
    )
    with pytest.raises(TypeError, match=r"counting_metrics returns int64: a step or metrics"):
        Simulation(_reference(days=5), compiled=True)
    monkeypatch.setitem(steps.KERNELS, ThresholdState, registered)
    assert Simulation(_reference(days=5), compiled=True).compiled_plan is not None


def test_an_exception_raised_in_a_kernel_reaches_python_through_the_plan(monkeypatch) -> None:
    """The plan calls each kernel by address with numba's calling convention: errors propagate."""
    from numba import njit

    from scslab.mechanisms.lists.threshold_list import ThresholdState

    @njit
    def failing_metrics(day, state):
        if day == 3:
            raise ValueError("metrics failed on day 3")

    registered = steps.KERNELS[ThresholdState]
    monkeypatch.setitem(steps.KERNELS, ThresholdState, registered._replace(metrics=failing_metrics))
    sim = Simulation(_reference(days=5), compiled=True)
    with pytest.raises(ValueError, match="metrics failed on day 3"):
        sim.run()
    assert sim.day < 5


def test_late_starters_report_the_same_nulls_in_both_loops() -> None:
    """Before its first day a mechanism reports null and its metrics are not asked for, in both
    loops. The Python loop asked for them and threw them away, so a metrics kernel that keeps
    state (tie cutting's) counted cuts from before it started in one loop only (day 20: 1
    against 0); an observer (the group metrics) wrote NaN in the compiled plan, null in the
    Python loop."""
    sc = scslab.load_scenario("integrated_2020").with_overrides(people=5_000, days=40, seed=5)
    start = sc.meta.start_date
    sc = sc.with_mechanism("tie_cutting", active_from=start + dt.timedelta(days=20))
    sc = sc.with_mechanism("groups", every_days=7, active_from=start + dt.timedelta(days=10))
    fast, slow = _run(sc, True), _run(sc, False)
    assert fast.compiled_plan is not None and slow.compiled_plan is None
    assert list(fast.columns) == list(slow.columns)
    differ = [c for c in fast.columns if repr(fast.columns[c]) != repr(slow.columns[c])]
    assert differ == []
    for column in ("tie_cutting_cut_today", "court_list_listing_ratio_q1_q5"):
        first = 20 if column.startswith("tie") else 10
        assert set(fast.columns[column][:first]) == {None}, column


def test_a_contributor_s_kernel_is_stamped_with_the_package_code_it_imports(monkeypatch) -> None:
    """A kernel outside the package (here, in this test module) was cached under its file's time
    stamp alone, so after an edit of the package (the draws of kernels/rng.py) it loaded the
    machine code of the old draws, inlined into it. Its stamp now holds the code digest of the
    package modules its module imports too."""
    from scslab.kernels import cache, package_code
    from scslab.kernels.jit import kernel
    from scslab.kernels.rng import uniform

    @kernel
    def draw(key, pid):
        return uniform(key, 0, pid, 0)

    assert draw(np.uint64(7), 3) == uniform(np.uint64(7), 0, 3, 0)
    assert isinstance(draw._cache, cache.PublishingCache)
    stamp = draw._cache._cache_file._source_stamp
    assert stamp[1] == package_code.code_digest(__name__)
    monkeypatch.setattr(cache, "code_digest", lambda module: "the package changed")
    assert cache.PublishingCache(draw.py_func)._cache_file._source_stamp != stamp


_CONTRIBUTOR = {
    "contrib_a.py": "from scslab.kernels.jit import kernel\nfrom contrib_b import helper_b\n\n\n"
    "@kernel\ndef run(x):\n    return helper_b(x)\n",
    "contrib_b.py": "from scslab.kernels.jit import kernel\nfrom contrib_c import helper_c\n\n\n"
    "@kernel\ndef helper_b(x):\n    return helper_c(x) + 0\n",
    "contrib_c.py": "from scslab.kernels.jit import kernel\n\n\n"
    "@kernel\ndef helper_c(x):\n    return x * 2\n",
}

_CONTRIBUTOR_RUN = """
import json, contrib_a
got = contrib_a.run(3)
print(json.dumps([int(got), sum(contrib_a.run._cache_hits.values())]))
"""


def test_a_contributor_s_kernel_is_stamped_with_the_modules_of_their_own_it_imports(
    tmp_path,
) -> None:
    """A contributor's kernel (``contrib_a.run``) calls one of another module of theirs, which
    calls one of a third. Only the package's modules were in its stamp, so after an edit of
    either other module a new process loaded the old machine code from the cache: ``run(3)``
    stayed 6 where 9, then 10, was right. Now their own modules count, one hop or two, and a
    docstring added to one recompiles nothing."""
    modules = tmp_path / "modules"
    modules.mkdir()
    for name, text in _CONTRIBUTOR.items():
        (modules / name).write_text(text)
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(modules), os.environ.get("PYTHONPATH", "")]),
        NUMBA_CACHE_DIR=str(tmp_path / "cache"),
        PYTHONDONTWRITEBYTECODE="1",  # an edit of the same size in the same second
    )

    def run() -> list[int]:  # run(3) in a new process, and whether it came from the cache
        done = subprocess.run(
            [sys.executable, "-c", _CONTRIBUTOR_RUN],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(done.stdout.strip().splitlines()[-1])

    def edit(name: str, old: str, new: str) -> None:
        path = modules / name
        path.write_text(path.read_text().replace(old, new))

    assert run() == [6, 0]  # compiled
    assert run() == [6, 1]  # loaded
    edit("contrib_c.py", "x * 2", "x * 3")  # two hops away
    assert run() == [9, 0]
    edit("contrib_b.py", "+ 0", "+ 1")  # one hop away
    assert run() == [10, 0]
    edit("contrib_c.py", "def helper_c(x):\n", 'def helper_c(x):\n    """Three times."""\n')
    assert run() == [10, 1]


def test_a_kernel_s_key_names_every_module_whose_records_its_arguments_hold() -> None:
    """An optional record, or a typed list or dict of records, named no module in the key: a
    change to the code of a module found only there would not have changed the key."""
    import numba
    from numba import types

    from scslab.kernels.cache import record_modules

    sim = Simulation(_reference(days=1))
    listed = numba.typeof(sim.get("threshold_list").state)
    direct = record_modules(listed)
    assert {"scslab.mechanisms.lists.threshold_list"} < direct  # and its scorer's, its board's
    assert record_modules(types.Optional(listed)) == direct
    assert record_modules(types.ListType(listed)) == direct
    assert record_modules(types.DictType(types.int64, listed)) == direct
    both = types.Tuple((numba.typeof(sim.get("recovering_score").state), listed))
    assert record_modules(both) >= direct


def test_a_module_whose_source_cannot_be_read_still_gets_a_stamp(monkeypatch, tmp_path) -> None:
    """A contributor's kernel in a module imported from a zip: its ``__file__`` is no file, and
    reading it to stamp the kernel raised NotADirectoryError when the kernel was defined."""
    import types as pytypes

    from scslab.kernels import package_code

    module = pytypes.ModuleType("zipped_mechanism")
    module.__file__ = str(tmp_path / "lab.zip" / "zipped_mechanism.py")
    monkeypatch.setitem(sys.modules, "zipped_mechanism", module)
    assert len(package_code.code_digest("zipped_mechanism")) == 64
