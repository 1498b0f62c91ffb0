"""Shared fixtures: small scenarios that exercise every mechanism quickly."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import scslab
from scslab.scenario import Scenario

os.environ.setdefault("SCSLAB_COMPILE_HELPERS", "0")
"""The suite's workers keep every core busy already: a first run's compile helpers
(``engine/compile_ahead.py``) would only take turns with them. ``test_compile_ahead`` runs them."""


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker per core, and one more.

    Much of the suite's first minutes is compiling kernels into the shared disk cache, one
    process per kernel under a lock (``kernels/cache.py``): a worker that needs a kernel another
    is compiling waits for it, idle. The extra worker keeps every core busy meanwhile.
    """
    return len(os.sched_getaffinity(0)) + 1


def busy_rongcheng(people: int = 20_000, days: int = 120, seed: int = 7) -> Scenario:
    """Rongcheng with fast debts, so that lists fill within a short test run."""
    sc = scslab.load_scenario("rongcheng").with_overrides(people=people, days=days, seed=seed)
    sc = sc.with_mechanism(
        "debt",
        arrears_rate=0.0006,
        court_lag_days=15,
        cure_share=0.5,
        repay_hazard=0.01,
        repay_hazard_listed=0.03,
    )
    sc = sc.with_mechanism("travel_bans", flight_attempt_rate=0.05, train_attempt_rate=0.02)
    return sc.with_mechanism("rongcheng_points", active_from=None)  # score from day 0


@pytest.fixture
def busy() -> Scenario:
    return busy_rongcheng()


@pytest.fixture
def reference() -> Scenario:
    return scslab.load_scenario("reference").with_overrides(people=15_000, days=200, seed=3)


_THREAD_SCRIPT = """
import sys, numba
sys.path.insert(0, {tests!r})
import scslab
from scslab.kernels.parallel import THREADED_RUN_PEOPLE, threads_as_for
from {module} import {factory}
assert numba.get_num_threads() == {threads}
with threads_as_for(THREADED_RUN_PEOPLE):  # the threaded builds, as a big run takes them
    scslab.run({factory}({args}), out={out!r})
"""


def daily_informant_records(sim: Any, true: bool) -> list[tuple[Any, Any]]:
    """Run ``sim`` to its end; each day, who informed that day and the people of the day's
    informant records that are ``true`` (a reported offender) or not (a malicious report's
    target). The informants' "ever informed" bit is cleared before each day to learn the day's
    reporters, so that mechanism's count of people who ever informed is not kept."""
    import numpy as np

    from scslab.catalogue import Source

    informed = sim.mechanisms["informants"].informed
    days = []
    for _ in range(sim.days):
        informed.array[:] &= ~informed.mask
        sim.step()
        r = sim.board.records
        people = r["pid"][(r["source"] == Source.INFORMANT) & (r["true"] == true)]
        days.append((np.flatnonzero(informed.get()), people))
    return days


def cli_error_line(*args: str) -> str:
    """Run ``scslab ARGS`` in a fresh process, as a user would; assert it exits 2 with exactly one
    line on stderr and no traceback, and return that line."""
    res = subprocess.run(
        [sys.executable, "-m", "scslab.cli", *args], capture_output=True, text=True
    )
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    return lines[0]


def metrics_digests_by_threads(tmp_path, module: str, factory: str, args: str) -> list[str]:
    """Run ``module.factory(args)`` with 1 and 2 numba threads in fresh processes; return the
    SHA-256 of each ``metrics.parquet``.

    Each runs as a run of a million people or more would (``threads_as_for``): with the
    threaded builds of its kernels. Below a million a run takes the one-thread builds, whose
    results cannot depend on the number of threads, so the comparison could not fail.
    """
    tests = str(Path(__file__).parent)
    digests = []
    for threads in (1, 2):
        out = tmp_path / f"t{threads}"
        env = dict(os.environ, NUMBA_NUM_THREADS=str(threads))
        script = _THREAD_SCRIPT.format(
            tests=tests, module=module, factory=factory, args=args, threads=threads, out=str(out)
        )
        subprocess.run([sys.executable, "-c", script], env=env, check=True)
        digests.append(hashlib.sha256((out / "metrics.parquet").read_bytes()).hexdigest())
    return digests


def value_paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value in nested tables and lists (tables included): fuzzers' targets."""
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += value_paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += value_paths(v, (*prefix, i))
    return out


KERNEL_LAYERS = ("scslab.kernels", "scslab.population", "scslab.engine", "scslab.mechanisms")
"""The packages whose modules hold kernels (``docs/architecture.md``)."""


def package_kernels() -> tuple[dict[str, Any], set[Any]]:
    """Every kernel of the package by qualified name, and the threaded halves of build pairs.

    The kernels are the numba dispatchers at module level in ``KERNEL_LAYERS``, with both builds
    of each ``both_builds``/``sized_kernel`` pair (their ``threaded`` and ``one_thread``) and the
    dispatcher behind each ``compiled_once`` kernel.
    """
    import importlib
    import pkgutil

    from numba.core.registry import CPUDispatcher

    kernels: dict[str, Any] = {}
    paired: set[Any] = set()
    for info in pkgutil.walk_packages(scslab.__path__, "scslab."):
        if not info.name.startswith(KERNEL_LAYERS):
            continue
        for value in vars(importlib.import_module(info.name)).values():
            build = getattr(value, "threaded", None)
            if isinstance(build, CPUDispatcher) and isinstance(value.one_thread, CPUDispatcher):
                paired.add(build)
                found = [build, value.one_thread]
            else:
                value = getattr(value, "dispatcher", value)  # a compiled_once kernel's
                found = [value] if isinstance(value, CPUDispatcher) else []
            for kernel in found:
                kernels[f"{kernel.py_func.__module__}.{kernel.py_func.__qualname__}"] = kernel
    return kernels, paired


def kernel_sources() -> dict[str, Any]:
    """The syntax tree of each kernel of the package (``package_kernels``) that has a source."""
    import ast
    import inspect
    import textwrap

    trees = {}
    for name, k in package_kernels()[0].items():
        try:
            source = textwrap.dedent(inspect.getsource(k.py_func))
        except OSError:  # made at run time (exec): no source to read
            continue
        trees[name] = ast.parse(source)
    return trees


def credit_rule() -> Any:
    """A commercial score's rule (``commercial._Rule``) for kernel tests: 350-950, 8 ties."""
    import numpy as np

    from scslab.mechanisms.scoring import commercial
    from scslab.population.attributes import OCCUPATIONS, age_table
    from scslab.population.census import HOUSEHOLD_SIZE_SHARES

    return commercial._Rule(
        lo=350,
        hi=950,
        weights=np.full(5, 0.2),
        clean=1.0,
        fulfilment=np.linspace(0.2, 1.0, 5),
        identity=np.linspace(0.3, 0.8, len(OCCUPATIONS)),
        identity_age_weight=0.3,
        activity_share=0.5,
        activity_cap=4,
        ties=8,
        no_ties=0.5,
        age_table=age_table(HOUSEHOLD_SIZE_SHARES),
    )


def cluster_that_ends_runs_as_it_closes(in_flight: list[Any]) -> Any:
    """A stand-in for ``sweep.dask_client``: on closing, it runs the tasks in ``in_flight``.

    As a local cluster does after Ctrl-C: a worker whose run is nearly done writes its row while
    the cluster closes.
    """
    from contextlib import contextmanager

    from scslab.sweep import run_task

    @contextmanager
    def cluster(*_args: Any, **_kwargs: Any) -> Any:
        try:
            yield object()
        finally:
            for task in in_flight:
                run_task(task)

    return cluster
