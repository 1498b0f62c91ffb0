"""`scslab sweep`: validated sweep files, designs, a Dask run per run, one table, retries."""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
from contextlib import nullcontext
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import scslab.api as api_module
import scslab.sweep as sweep_module
from scslab.cli import main
from scslab.errors import ScenarioError
from scslab.sweep import (
    NoWorkers,
    SweepError,
    dask_client,
    design_points,
    execute,
    load_sweep,
    make_tasks,
    replication_seeds,
    run_sweep,
    run_task,
    sweep_from_dict,
)

pytest.importorskip("distributed")

HEAD = """
[sweep]
scenario = "rongcheng"
people = 5000
days = 60
"""


def _file(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


BAD = [
    ("[sweep]\nscenario = 'rongcheng'\npeple = 5\n", "sweep.peple: unknown key; allowed: scenario"),
    (HEAD + "[sweeps]\n", "sweeps: unknown table; allowed: sweep, parameters"),
    (HEAD + "replications = true\n", "sweep.replications: Input should be a valid integer"),
    (HEAD + "replications = 0\n", "sweep.replications: Input should be greater than or equal"),
    (HEAD + "design = 'latin'\n", "sweep.design: Input should be 'grid', 'random' or 'sobol'"),
    (
        HEAD + "[parameters]\n'mechanisms.informants.report_prob' = [true]\n",
        'report_prob"[0]: True is a boolean; mechanisms.informants.report_prob takes a number',
    ),
    (
        HEAD + "[parameters]\n'mechanisms.informants.enabled' = [1]\n",
        'enabled"[0]: 1 is a number; mechanisms.informants.enabled takes a boolean',
    ),
    (
        HEAD + "[parameters]\n'mechanisms.informant.report_prob' = [0.1]\n",
        "unknown key 'informant' in mechanisms; allowed: everyday_acts, debt",
    ),
    (
        HEAD + "[parameters]\n'mechanisms.informants.report_probability' = [0.1]\n",
        "unknown key 'report_probability' in mechanisms.informants; allowed: enabled, active_from",
    ),
    (
        HEAD + "[parameters]\n'informants.report_prob' = [0.1]\n",
        "unknown key 'informants' in the scenario; allowed: scenario, population, mechanisms",
    ),
    (
        HEAD + "[parameters]\n'mechanisms.informants.report_prob' = [0.1, 2.0]\n",
        'report_prob"[1]: Input should be less than or equal to 1 (got 2.0)',
    ),
    (
        HEAD + "[parameters]\n'mechanisms.informants.report_prob' = {low = 0.1, high = 0.2}\n",
        "a range needs design = random or sobol",
    ),
    (
        HEAD + "design = 'random'\nn = 4\n[parameters]\n"
        "'mechanisms.informants.report_prob' = {low = 0.3, high = 0.2}\n",
        "low 0.3 must be below high 0.2",
    ),
    (
        HEAD + "design = 'random'\nn = 4\n[parameters]\n"
        "'mechanisms.informants.report_prob' = {low = 0.1, hi = 0.2}\n",
        'report_prob".hi: unknown key; allowed: low, high, log',
    ),
    (
        HEAD + "design = 'sobol'\nn = 6\n[parameters]\n"
        "'mechanisms.informants.report_prob' = {low = 0.1, high = 0.2}\n",
        "sweep.n: a Sobol design needs a power of 2 (got 6; try 4 or 8)",
    ),
    (
        HEAD + "design = 'random'\n[parameters]\n'mechanisms.informants.ties' = [1, 2]\n",
        "sweep.n: a random design needs n",
    ),
    (HEAD + "outputs = ['acts:median']\n", "is not COLUMN or COLUMN:STATISTIC; statistics: final"),
    (
        HEAD + "replications = 2\n[parameters]\n'scenario.seed' = [1, 2]\n",
        "the seed is swept, so replications must be 1",
    ),
    (
        HEAD.replace("rongcheng", "nowhere"),
        "sweep.scenario: 'nowhere' is no preset and no file beside the sweep file; presets: ",
    ),
    ("[sweep\n", "not valid TOML"),
    # taken in silence before (a bad-input review, 2026-12-06)
    (
        HEAD + "[parameters]\n'mechanisms.informants.report_prob' = [0.01, 0.01]\n",
        'report_prob"[1]: 0.01 is in the list already; give each once',
    ),
    (
        HEAD + "[parameters]\n'scenario.people' = [1000, 2000]\n",
        'scenario.people": swept, and set in [sweep] too (people = 5000); keep one of them',
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_sweep_file_is_one_line_exit_2_nothing_written(tmp_path, capsys, text, message):
    path = _file(tmp_path, text)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("scslab: error: ") and err.count("\n") == 1, err
    assert message in " ".join(err.split()), err
    assert not out.exists()


def test_bad_flags_and_folders_exit_2(tmp_path, capsys):
    path = _file(tmp_path, HEAD + "[parameters]\n'mechanisms.informants.ties' = [1]\n")
    assert main(["sweep", str(tmp_path / "missing.toml"), "--quiet"]) == 2
    assert "no such sweep file" in capsys.readouterr().err
    assert main(["sweep", str(path), "--out", str(tmp_path / "o"), "--workers", "0"]) == 2
    assert "--workers: 0 is out of range" in capsys.readouterr().err
    beside = ["--workers", "1", "--scheduler", "tcp://127.0.0.1:1"]  # it dropped --workers
    assert main(["sweep", str(path), "--out", str(tmp_path / "o"), *beside]) == 2
    assert "an existing --scheduler keeps its own" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    assert main(["sweep", str(path), "--out", str(other), "--quiet"]) == 2
    assert "is not a sweep folder" in capsys.readouterr().err
    assert sorted(p.name for p in other.iterdir()) == ["keep.txt"]


def test_missing_extra_names_it(tmp_path, monkeypatch):
    sweep = load_sweep(_file(tmp_path, HEAD + "[parameters]\n'mechanisms.informants.ties' = [1]\n"))
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(SweepError, match=r"pip install 'scslab\[sweep\]'"):
        run_sweep(sweep, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_designs_are_deterministic_and_in_range(tmp_path):
    pytest.importorskip("scipy")
    params = {
        "mechanisms.informants.report_prob": {"low": 0.001, "high": 0.1, "log": True},
        "mechanisms.informants.ties": {"low": 1, "high": 16},
        "mechanisms.debt.enabled": [True, False],
    }
    head = {"scenario": "rongcheng", "people": 1000, "days": 10, "seed": 5}
    grid = sweep_from_dict(
        {
            "sweep": head,
            "parameters": {
                "mechanisms.informants.ties": [1, 2, 3],
                **{"mechanisms.debt.enabled": [True, False]},
            },
        },
        "g",
    )
    assert len(design_points(grid)) == 6
    for design in ("random", "sobol"):
        sweep = sweep_from_dict(
            {"sweep": {**head, "design": design, "n": 16}, "parameters": params}, design
        )
        points = design_points(sweep)
        assert points == design_points(sweep) and len(points) == 16
        assert all(0.001 <= p["mechanisms.informants.report_prob"] <= 0.1 for p in points)
        assert all(isinstance(p["mechanisms.informants.ties"], int) for p in points)
        assert {p["mechanisms.debt.enabled"] for p in points} == {True, False}
    seeds = replication_seeds(5, 3)
    assert len(set(seeds)) == 3 and seeds == replication_seeds(5, 3)


def test_a_failing_run_is_a_row_with_its_error(tmp_path):
    text = HEAD + "outputs = ['acts:sum']\n[parameters]\n"
    text += "'mechanisms.travel_bans.list' = ['court_list', 'no_such_list']\n"
    sweep = load_sweep(_file(tmp_path, text))
    tasks = make_tasks(sweep, tmp_path / "out", design_points(sweep))
    ok, failed = run_task(tasks[0]), run_task(tasks[1])  # in this process: no cluster needed
    assert ok["status"] == "ok" and ok["acts:sum"] > 0 and ok["error"] is None
    assert failed["status"] == "failed" and "no_such_list" in failed["error"]
    assert failed["acts:sum"] is None
    assert (tmp_path / "out/runs/p00001-r000/traceback.txt").exists()
    row = json.loads((tmp_path / "out/rows/p00001-r000.json").read_text())
    assert row["status"] == "failed"
    assert run_task(tasks[0]) == ok  # done before: the row is returned, nothing runs again


WORKERS_BACK_S = 180
"""Seconds a test waits for the cluster's workers (a run killed its worker just before): a CI
run on a loaded machine once waited for ever on a cluster that had none."""


@pytest.fixture(scope="module")
def client():
    # Compile the kernels of this module's scenarios here first, into the on-disk cache: the
    # cluster's worker processes then load them instead of each compiling them cold at once.
    import scslab

    for preset in ("rongcheng", "integrated_2020"):
        scslab.run(scslab.load_scenario(preset).with_overrides(people=2_000, days=2))
    with dask_client(workers=2) as c:
        yield c


GRID = (
    HEAD
    + """replications = 2
seed = 3
outputs = ["records_by_informant:sum", "acts:sum"]

[parameters]
"mechanisms.informants.report_prob" = [0.005, 0.05]
"""
)


def test_grid_sweep_on_dask_and_resume(tmp_path, client, monkeypatch):
    sweep = load_sweep(_file(tmp_path, GRID))
    seen = []
    result = run_sweep(sweep, tmp_path / "out", client=client, on_row=lambda *a: seen.append(a))
    table = result.table.to_pylist()
    assert [r["run_id"] for r in table] == [
        "p00000-r000",
        "p00000-r001",
        "p00001-r000",
        "p00001-r001",
    ]
    assert all(r["status"] == "ok" for r in table) and len(seen) == 4
    by = {(r["point"], r["replication"]): r for r in table}
    for rep in (0, 1):  # common seeds: the same acts at both points, more reports at the higher
        assert by[0, rep]["seed"] == by[1, rep]["seed"]
        assert by[0, rep]["acts:sum"] == by[1, rep]["acts:sum"]
        assert by[1, rep]["records_by_informant:sum"] > by[0, rep]["records_by_informant:sum"]
    assert pq.read_table(tmp_path / "out/sweep.parquet").num_rows == 4
    for r in table:
        manifest = json.loads((tmp_path / "out" / r["run_dir"] / "manifest.json").read_text())
        assert manifest["status"] == "complete" and manifest["seed"] == r["seed"]
    again = run_sweep(sweep, tmp_path / "out", client=client)
    assert again.skipped == 4 and again.ran == 0 and again.table.equals(result.table)
    # every run done: no cluster is started (it took 6 s), and the sweep keeps its start time
    first = json.loads((tmp_path / "out/sweep.json").read_text())
    manifest = json.loads((tmp_path / "out/sweep.json").read_text()) | {"started": "2000-01-01"}
    (tmp_path / "out/sweep.json").write_text(json.dumps(manifest))
    started = []
    monkeypatch.setattr(sweep_module, "dask_client", lambda *a: started.append(a))
    done = run_sweep(sweep, tmp_path / "out", workers=1)
    assert done.ran == 0 and started == [] and first["status"] == "complete"
    assert json.loads((tmp_path / "out/sweep.json").read_text())["started"] == "2000-01-01"
    changed = load_sweep(_file(tmp_path, GRID.replace("0.05]", "0.06]")))
    with pytest.raises(SweepError, match="holds a different sweep"):
        run_sweep(changed, tmp_path / "out", client=client)


def test_a_resume_runs_again_a_run_whose_row_or_folder_is_not_whole(tmp_path, monkeypatch):
    """A row file cut down to its status, or whose run folder is gone, was skipped as done,
    its outputs null in the table; such a run now runs again, and only it."""
    _in_process(monkeypatch)
    text = SMALL + "outputs = ['acts:sum']\n[parameters]\n'scenario.seed' = [1, 2, 3]\n"
    sweep = load_sweep(_file(tmp_path, text))
    out = tmp_path / "out"
    first = run_sweep(sweep, out, client=object())
    assert first.ran == 3
    cut = out / "rows" / "p00000-r000.json"
    cut.write_text(json.dumps({"run_id": "p00000-r000", "status": "ok"}))
    shutil.rmtree(out / "runs" / "p00001-r000")
    again = run_sweep(sweep, out, client=object())
    assert (again.skipped, again.ran) == (1, 2)
    same = [c for c in first.table.column_names if c != "seconds"]  # the runs' own times
    assert again.table.select(same).equals(first.table.select(same))
    assert None not in again.table.column("acts:sum").to_pylist()


def killing_run(task):
    """Kill this worker once for points 0 and 2, every time for point 3; then run as usual."""
    marker = Path(task.folder) / f"killed-{task.run_id}"
    if task.point == 3 or (task.point in (0, 2) and not marker.exists()):
        marker.write_text("x")
        partial = Path(task.folder) / "runs" / f".{task.run_id}.partial-dead"
        partial.mkdir(parents=True, exist_ok=True)  # what a run killed mid-way leaves
        (partial / "manifest.json").write_text("{}")
        os._exit(1)
    return run_task(task)


def test_killed_worker_run_is_retried_once_never_duplicated(tmp_path, client):
    text = HEAD + "outputs = ['acts:sum']\n[parameters]\n"
    sweep = load_sweep(_file(tmp_path, text + "'mechanisms.informants.ties' = [4, 8, 12]\n"))
    result = run_sweep(sweep, tmp_path / "out", client=client, fn=killing_run)
    rows = result.table.to_pylist()
    assert [r["run_id"] for r in rows] == ["p00000-r000", "p00001-r000", "p00002-r000"]
    assert all(r["status"] == "ok" for r in rows), rows
    assert (tmp_path / "out/killed-p00000-r000").exists()  # it was killed, and ran again
    assert (tmp_path / "out/killed-p00002-r000").exists()
    runs = sorted(p.name for p in (tmp_path / "out/runs").iterdir())
    assert runs == ["p00000-r000", "p00001-r000", "p00002-r000"]  # once each, no partials
    assert len(list((tmp_path / "out/rows").iterdir())) == 3
    # a run that kills every worker it lands on is tried twice, then recorded as failed
    sweep = load_sweep(_file(tmp_path, text + "'mechanisms.informants.ties' = [1, 2, 3, 4]\n"))
    tasks = make_tasks(sweep, tmp_path / "out2", design_points(sweep))
    (tmp_path / "out2").mkdir()
    (row,) = list(execute(client, tasks[3:], killing_run))
    assert row["status"] == "failed" and "KilledWorker" in row["error"], row
    assert json.loads((tmp_path / "out2/rows/p00003-r000.json").read_text()) == row
    # the killed workers' nannies start new ones: the module's next tests need them
    client.wait_for_workers(2, timeout=WORKERS_BACK_S)


def test_cli_sweep_prints_counts(tmp_path, capsys, monkeypatch, client):
    client.wait_for_workers(1, timeout=WORKERS_BACK_S)  # fails, rather than waits for ever
    path = _file(tmp_path, HEAD + "outputs = ['acts']\n[parameters]\n'scenario.seed' = [1, 2]\n")
    monkeypatch.setattr(sweep_module, "dask_client", lambda *a, **k: nullcontext(client))
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "2 runs: 2 ok" in text and "sweep.parquet" in text
    assert pq.read_table(out / "sweep.parquet").column("seed").to_pylist() == [1, 2]


@pytest.fixture
def workerless_client():
    """A client on a cluster with no worker at all (what a batch cluster whose jobs ended is)."""
    import distributed

    with (
        distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def test_a_cluster_without_workers_stops_the_sweep_resumably(tmp_path, workerless_client):
    path = _file(tmp_path, HEAD + "outputs = ['acts']\n[parameters]\n'scenario.seed' = [1, 2]\n")
    out = tmp_path / "out"
    with pytest.raises(NoWorkers, match=r"no worker for 1\.5 s; 2 runs had not finished"):
        run_sweep(load_sweep(path), out, client=workerless_client, no_workers_s=1.5)
    manifest = json.loads((out / "sweep.json").read_text())
    assert manifest["status"] == "incomplete" and manifest["counts"] == {"pending": 2}
    assert pq.read_table(out / "sweep.parquet").column("status").to_pylist() == ["pending"] * 2


def test_cli_stops_with_status_1_when_the_cluster_has_no_worker(
    tmp_path, capsys, monkeypatch, workerless_client
):
    path = _file(tmp_path, HEAD + "outputs = ['acts']\n[parameters]\n'scenario.seed' = [1]\n")
    monkeypatch.setattr(sweep_module, "dask_client", lambda *a, **k: nullcontext(workerless_client))
    out = tmp_path / "out"
    argv = ["sweep", str(path), "--out", str(out), "--quiet", "--no-workers-timeout", "1"]
    assert main(argv) == 1
    message = capsys.readouterr().err
    assert "no worker for 1 s; 1 run had not finished" in message
    assert f"--out {out} resumes" in message
    assert len(message.strip().splitlines()) == 1, message


@pytest.mark.parametrize("seconds", ["0", "-5", "nan"])
def test_cli_refuses_a_wait_for_workers_that_is_not_positive(tmp_path, capsys, seconds):
    path = _file(tmp_path, HEAD + "outputs = ['acts']\n[parameters]\n'scenario.seed' = [1]\n")
    out = tmp_path / "out"
    argv = ["sweep", str(path), "--out", str(out), "--quiet", "--no-workers-timeout", seconds]
    assert main(argv) == 2
    assert "--no-workers-timeout" in capsys.readouterr().err
    assert not out.exists()


def test_run_until_a_later_date(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["run", "joint_punishment_2016", "--people", "2000", "--quiet", "--out", str(out)]
    assert main([*argv, "--until", "2014-01-31"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["days"] == 123  # 2013-10-01 through 2014-01-31
    capsys.readouterr()
    assert main([*argv[:-2], "--until", "2014-13-01"]) == 2
    assert "--until: '2014-13-01' is not a date" in capsys.readouterr().err
    assert main([*argv[:-2], "--until", "2014-01-31", "--days", "3"]) == 2
    assert "give --days or --until, not both" in capsys.readouterr().err
    assert main([*argv[:-2], "--until", "2013-09-30"]) == 2
    assert "is before the scenario's start date 2013-10-01" in capsys.readouterr().err


def test_documented_slurm_cluster_writes_the_job_script():
    pytest.importorskip("dask_jobqueue")
    docs = (Path(__file__).parents[1] / "docs" / "sweeps.md").read_text()
    code = docs.split("```python\n")[1].split("```")[0]
    assert code.startswith("# cluster.py")
    code = "\n".join(line for line in code.splitlines() if "cluster.scale" not in line)
    namespace: dict = {}
    exec(code.replace('":8787"', '":0"'), namespace)  # builds the cluster; submits no job
    cluster = namespace["cluster"]
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert "#SBATCH -A myproject" in script and "export NUMBA_NUM_THREADS=1" in script
    assert "--nthreads 1" in script and "--nworkers 16" in script


INTEGRATED = """
[sweep]
scenario = "integrated_2020"
people = 20000
replications = 4
seed = 11
outputs = ["records_by_informant:sum", "acts_online_purchase:sum", "court_list_size:final"]

[parameters]
"mechanisms.informants.report_prob" = [0.002, 0.01, 0.05]
"mechanisms.informants.ties" = [2, 8, 16]
"""


def test_a_sweep_of_the_2020_system_runs_on_the_local_cluster(tmp_path, client):
    """2 parameters x 3 values x 4 replications of integrated_2020 at 20,000 people, a year each."""
    sweep = load_sweep(_file(tmp_path, INTEGRATED))
    rows = run_sweep(sweep, tmp_path / "out", client=client).table.to_pylist()
    assert len(rows) == 36 and all(r["status"] == "ok" for r in rows), rows
    by = {(r["point"], r["replication"]): r for r in rows}
    points = sorted({r["point"] for r in rows})
    assert len(points) == 9
    for rep in range(4):  # common seeds: the same everyday acts at every point (all acts would
        # include a debt's repayment, which a listing on an informant's record can delay: one in
        # one replication here); more reporting, more records
        reports = [by[p, rep]["records_by_informant:sum"] for p in points]
        assert len({by[p, rep]["acts_online_purchase:sum"] for p in points}) == 1
        assert reports[0] < reports[4] < reports[8], reports  # (0.002, 2) < (0.01, 8) < (0.05, 16)
    assert max(r["court_list_size:final"] for r in rows) > 0


# --------------------------------------------------------------------------- checked before running

SMALL = """
[sweep]
scenario = "rongcheng"
people = 1000
days = 5
"""


def _in_process(monkeypatch):
    """Sweeps run here, one run after another: no Dask cluster (the client is never used)."""
    monkeypatch.setattr(sweep_module, "dask_client", lambda *a, **k: nullcontext(object()))
    monkeypatch.setattr(
        sweep_module, "execute", lambda client, tasks, fn=run_task, *_: (fn(t) for t in tasks)
    )


def test_workers_are_capped_at_a_few_per_core(tmp_path, capsys):
    from scslab.sweep import max_workers

    top = max_workers()
    assert top == sweep_module.WORKERS_PER_CORE * len(os.sched_getaffinity(0))
    path = _file(tmp_path, SMALL + "[parameters]\n'mechanisms.informants.ties' = [1]\n")
    for bad in (top + 1, 1000):
        argv = ["sweep", str(path), "--out", str(tmp_path / "o"), "--workers", str(bad)]
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err == f"scslab: error: --workers: {bad} is out of range; allowed: 1 to {top} " + (
            f"({sweep_module.WORKERS_PER_CORE} per core of this machine)\n"
        )
        assert not (tmp_path / "o").exists()
    with (
        pytest.raises(SweepError, match="--workers: 1000 is out of range"),
        dask_client(workers=1000),
    ):
        pass


def test_an_unknown_output_is_refused_before_anything_runs(tmp_path, capsys, monkeypatch):
    _in_process(monkeypatch)
    ran = []
    monkeypatch.setattr(sweep_module, "run_task", lambda task: ran.append(task))
    text = SMALL + "outputs = ['acts:sum', 'court_list_sise:final']\n[parameters]\n"
    path = _file(tmp_path, text + "'scenario.seed' = [1, 2]\n")
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(
        f"scslab: error: {path}: sweep.outputs: 'court_list_sise:final': 'court_list_sise' is "
        "not a metric column of rongcheng (did you mean 'court_list_size'?); its columns: "
    ), err
    assert "acts, " in err and "records_by_informant" in err
    assert not ran and not out.exists()


def test_an_output_a_swept_parameter_turns_on_is_accepted(tmp_path):
    from scslab.sweep import check_outputs

    (tmp_path / "mini.toml").write_text(
        '[scenario]\nname = "mini"\npeople = 1000\ndays = 5\n[mechanisms.everyday_acts]\n'
        "[mechanisms.data_sources]\n[mechanisms.rongcheng_points]\n"
        "[mechanisms.debt]\nenabled = false\n"
    )
    head = "[sweep]\nscenario = 'mini.toml'\noutputs = ['debt_judgments:sum']\n[parameters]\n"
    check_outputs(load_sweep(_file(tmp_path, head + "'mechanisms.debt.enabled' = [false, true]\n")))
    with pytest.raises(SweepError, match="'debt_judgments' is not a metric column of mini"):
        check_outputs(load_sweep(_file(tmp_path, head + "'mechanisms.debt.enabled' = [false]\n")))


def test_a_sweep_with_a_failed_run_exits_1(tmp_path, capsys, monkeypatch):
    _in_process(monkeypatch)

    real_run = sweep_module.run

    def run_failing_seed_2(sc, **kwargs):  # a run that fails as it runs (out of memory, say)
        if sc.meta.seed == 2 and kwargs.get("out") is not None:
            raise MemoryError("no memory left")
        return real_run(sc, **kwargs)

    monkeypatch.setattr(sweep_module, "run", run_failing_seed_2)
    text = SMALL + "outputs = ['acts:sum']\nreplications = 1\n[parameters]\n"
    text += "'scenario.seed' = [1, 2]\n"
    out = tmp_path / "out"
    assert main(["sweep", str(_file(tmp_path, text)), "--out", str(out), "--quiet"]) == 1
    captured = capsys.readouterr()
    assert "2 runs: 1 failed, 1 ok" in captured.out
    assert captured.err == (
        "scslab: error: 1 of 2 runs failed (their errors are above and in sweep.parquet); the "
        "same command again reruns them\n"
    )
    assert pq.read_table(out / "sweep.parquet").column("status").to_pylist() == ["ok", "failed"]


@pytest.mark.parametrize(
    ("parameter", "reason"),
    [
        (
            "'mechanisms.court_list.enabled' = [true, false]",
            "mechanisms.travel_bans.list: 'court_list' is not enabled; enabled ones: none",
        ),
        (
            "'mechanisms.travel_bans.list' = ['court_list', 'no_such_list']",
            "mechanisms.travel_bans.list: 'no_such_list': the scenario has no mechanism of that "
            "name; add a [mechanisms.no_such_list] table, or name an enabled one: court_list",
        ),
    ],
)
def test_a_point_whose_mechanisms_do_not_fit_is_refused_before_anything_runs(
    tmp_path, capsys, monkeypatch, parameter, reason
):
    """Each value passes the scenario's validation, but at point 1 the travel bans read a list
    that is not there: that point failed as a run, after the sweep had started and written its
    folder; it is now one line and exit 2, with nothing run or written."""
    _in_process(monkeypatch)
    ran = []
    monkeypatch.setattr(sweep_module, "run_task", lambda task: ran.append(task))
    path = _file(tmp_path, SMALL + "[parameters]\n" + parameter + "\n")
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    name, _, values = parameter.partition(" = [")
    value = values.split(", ")[1].rstrip("]").replace("'", '"')
    assert err == (
        f'scslab: error: {path}: sweep point 1 (parameters."{name.strip(chr(39))}" = {value}) '
        f"cannot run: {reason}\n"
    )
    assert not ran and not out.exists()


def test_a_date_written_as_toml_s_date_or_as_text_is_checked_alike(tmp_path):
    """A TOML date (``2014-01-01``) is a date as ``"2014-01-01"`` is: one out of the calendar
    was said to be of the wrong kind ("datetime.date(9999, 12, 30) is a value; ... takes a
    string"), where the quoted one gave the calendar's reason."""
    text = SMALL + "[parameters]\n'scenario.start_date' = [2014-01-01, {}]\n"
    assert load_sweep(_file(tmp_path, text.format("2015-01-01"))).parameters
    refused = []
    for last in ("9999-12-30", '"9999-12-30"'):
        with pytest.raises(SweepError) as caught:
            load_sweep(_file(tmp_path, text.format(last)))
        refused.append(str(caught.value))
    assert refused[0] == refused[1] and "start_date must lie in 0001-01-01..9999-12-" in refused[0]


def test_a_refused_point_with_a_date_among_its_values_is_named_in_one_line(tmp_path, capsys):
    """A TOML date among a refused point's values raised "Object of type date is not JSON
    serializable" (a traceback, exit 1) where the refusal was being written."""
    text = SMALL + "[parameters]\n'mechanisms.court_list.enabled' = [true, false]\n"
    path = _file(tmp_path, text + "'scenario.start_date' = [2014-01-01]\n")
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "sweep point 1 (" in err, err
    assert 'parameters."scenario.start_date" = "2014-01-01")' in err, err


def test_a_point_refused_by_few_people_is_set_up_again_at_its_own(tmp_path, monkeypatch):
    """The check sets a point up at ``CHECK_PEOPLE`` people, and again at its own before it
    refuses it: a refusal that depends on who is there must not refuse a point that runs."""
    from scslab.sweep import check_points_set_up

    sizes = []
    real_simulation = api_module.Simulation

    def simulation(sc, **kwargs):
        sizes.append(sc.meta.people)
        if sc.meta.people < 1000:
            raise ScenarioError(f"{sc.source}: too few people")
        return real_simulation(sc, **kwargs)

    monkeypatch.setattr(api_module, "Simulation", simulation)
    sweep = load_sweep(_file(tmp_path, SMALL + "[parameters]\n'scenario.seed' = [1, 2]\n"))
    tasks = make_tasks(sweep, tmp_path / "out", design_points(sweep))
    check_points_set_up(sweep, tasks)
    assert sizes == [500, 1000, 500, 1000]  # each point once, small then at its own size
    # a point too big to set up here is refused with the reason found small, not the memory's
    sizes.clear()
    monkeypatch.setattr(
        api_module,
        "check_fits",
        lambda sc: (_ for _ in ()).throw(ScenarioError("too big to set up")),
    )
    with pytest.raises(SweepError, match=r"point 0 .*: too few people$"):
        check_points_set_up(sweep, tasks)
    assert sizes == [500]


def test_the_point_check_reports_its_progress_point_by_point(tmp_path, monkeypatch):
    """The check takes minutes for a design of many thousands of points: it says how far it is
    after each point, once per point whatever the replications, and stops at a refused one."""
    from scslab.sweep import check_points_set_up

    checked = []
    text = SMALL + "replications = 2\n[parameters]\n'mechanisms.informants.ties' = [1, 2, 3]\n"
    sweep = load_sweep(_file(tmp_path, text))
    tasks = make_tasks(sweep, tmp_path / "out", design_points(sweep))
    assert len(tasks) == 6
    check_points_set_up(sweep, tasks, on_check=lambda *a: checked.append(a))
    assert checked == [(1, 3), (2, 3), (3, 3)]

    real_simulation = api_module.Simulation

    def second_refused(sc, **kwargs):
        if sc.mechanisms["informants"].ties == 2:
            raise ScenarioError(f"{sc.source}: two ties refused")
        return real_simulation(sc, **kwargs)

    monkeypatch.setattr(api_module, "Simulation", second_refused)
    checked.clear()
    with pytest.raises(SweepError, match=r"point 1 .* two ties refused"):
        check_points_set_up(sweep, tasks, on_check=lambda *a: checked.append(a))
    assert checked == [(1, 3)]


def test_a_sweep_shows_its_point_check_then_its_runs(tmp_path, monkeypatch):
    """``run_sweep`` hands the check's progress on before any run; the command's bar counts
    points while it checks and runs after."""
    from scslab.cli import progress_bar

    _in_process(monkeypatch)
    events = []

    def run(task):
        events.append("run")
        return run_task(task)

    sweep = load_sweep(_file(tmp_path, SMALL + "[parameters]\n'scenario.seed' = [1, 2]\n"))
    result = run_sweep(
        sweep, tmp_path / "out", client=object(), fn=run, on_check=lambda *a: events.append(a)
    )
    assert events == [(1, 2), (2, 2), "run", "run"] and result.ran == 2

    bar = progress_bar("runs", quiet=True)
    task = bar.add_task("sweep", total=None)
    assert bar.tasks[0].fields["unit"] == "runs"
    bar.update(task, completed=1, total=2, description="checking", unit="points")
    assert (bar.tasks[0].fields["unit"], bar.tasks[0].completed) == ("points", 1)


@pytest.mark.parametrize("command", ["sweep", "sensitivity"])
def test_the_commands_bar_counts_points_while_it_checks(tmp_path, monkeypatch, command):
    """The sweep and sensitivity commands hand ``on_check`` on, and their bar then counts
    points checked, then runs."""
    import scslab.cli as cli
    import scslab.sensitivity as sensitivity_module

    bars = []
    real_bar = cli.progress_bar
    monkeypatch.setattr(cli, "progress_bar", lambda *a: bars.append(real_bar(*a)) or bars[-1])
    seen = []

    def fake(*args, on_check, on_row, **kwargs):
        on_check(1, 3)
        seen.append((bars[0].tasks[0].fields["unit"], bars[0].tasks[0].completed))
        on_row(1, 4, {"status": "ok"})
        seen.append((bars[0].tasks[0].fields["unit"], bars[0].tasks[0].completed))
        raise ScenarioError("stopped here")

    monkeypatch.setattr(sweep_module, "run_sweep", fake)
    monkeypatch.setattr(sensitivity_module, "run_sensitivity", fake)
    text = SMALL + "[parameters]\n'scenario.seed' = [1, 2]\n"
    if command == "sensitivity":
        text = SMALL + "[parameters]\n'mechanisms.informants.report_prob' = { low = 0.1, "
        text += "high = 0.2 }\n[sensitivity]\nmethod = 'morris'\nn = 1\noutputs = ['acts:sum']\n"
    path = _file(tmp_path, text)
    assert main([command, str(path), "--out", str(tmp_path / "out")]) == 2
    assert seen == [("points", 1), ("runs", 1)]
    assert "{task.fields[unit]}" in [getattr(c, "text_format", "") for c in bars[0].columns]


def test_a_field_of_two_kinds_sweeps_either(tmp_path):
    # gallery_size is a number of images or "wanted": a sweep may compare the two
    (tmp_path / "watch.toml").write_text(
        '[scenario]\nname = "watch"\npeople = 2000\ndays = 5\n'
        '[mechanisms.everyday_acts]\n[mechanisms.face_recognition]\nmode = "watchlist"\n'
    )
    text = "[sweep]\nscenario = 'watch.toml'\n[parameters]\n"
    ok = load_sweep(
        _file(tmp_path, text + "'mechanisms.face_recognition.gallery_size' = [1000, 'wanted']\n")
    )
    assert [p.values for p in ok.parameters] == [(1000, "wanted")]
    with pytest.raises(SweepError, match=r"'many' is a string; .*gallery_size takes a number"):
        load_sweep(
            _file(tmp_path, text + "'mechanisms.face_recognition.gallery_size' = [1000, 'many']\n")
        )


def test_a_resumed_tables_parameters_keep_their_type(tmp_path):
    """A date parameter is a date in the table whether its run finished now or before (its row
    file keeps it as text); a field taking a number or a word is a text column, not a crash."""
    from scslab.sweep import _column, _row, table_of

    text = (
        HEAD
        + "outputs = ['acts']\n[parameters]\n'scenario.start_date' = [2014-01-01, 2014-02-01]\n"
    )
    sweep = load_sweep(_file(tmp_path, text))
    tasks = make_tasks(sweep, tmp_path / "out", design_points(sweep))
    fresh = _row(tasks[0], "ok", None, 1.0)
    stored = json.loads(json.dumps(_row(tasks[1], "ok", None, 1.0), default=str))
    table = table_of(tasks, {tasks[0].run_id: fresh, tasks[1].run_id: stored})
    column = table.column("scenario.start_date")
    assert str(column.type) == "date32[day]" and column.to_pylist()[1].isoformat() == "2014-02-01"
    assert _column([1_000_000, "wanted", None]).to_pylist() == ["1000000", "wanted", None]


def test_booleans_among_numbers_make_a_number_column_in_any_order():
    """``[True, 1]`` was text ("True", "1") while ``[2.5, True]`` was a float column."""
    from scslab.sweep import _column

    for values, kind, expected in [
        ([True, 1, None], "int64", [1, 1, None]),
        ([2, False], "int64", [2, 0]),
        ([True, 2.5], "double", [1.0, 2.5]),
        ([2.5, True], "double", [2.5, 1.0]),
        ([True, False, None], "bool", [True, False, None]),
    ]:
        column = _column(values)
        assert (str(column.type), column.to_pylist()) == (kind, expected), values


def test_an_output_some_points_lack_is_null_there_not_a_failed_run(tmp_path, monkeypatch):
    _in_process(monkeypatch)
    text = (
        HEAD
        + "outputs = ['informant_reports:sum', 'acts:sum']\n[parameters]\n"
        + "'mechanisms.informants.enabled' = [true, false]\n"
    )
    result = run_sweep(load_sweep(_file(tmp_path, text)), tmp_path / "out")
    rows = result.table.to_pylist()
    assert [r["status"] for r in rows] == ["ok", "ok"]
    assert rows[0]["informant_reports:sum"] > 0 and rows[1]["informant_reports:sum"] is None
    assert rows[1]["acts:sum"] == rows[0]["acts:sum"] > 0


def test_a_sweep_folder_of_another_scslab_version_is_refused(tmp_path, monkeypatch):
    _in_process(monkeypatch)
    path = _file(tmp_path, HEAD + "outputs = ['acts']\n[parameters]\n'scenario.seed' = [1]\n")
    run_sweep(load_sweep(path), tmp_path / "out")
    monkeypatch.setattr(sweep_module, "__version__", "9.9.9")
    with pytest.raises(SweepError, match=r"holds a different sweep .*scslab version"):
        run_sweep(load_sweep(path), tmp_path / "out")


def test_an_output_day_before_the_first_is_refused():
    import pyarrow as pa

    from scslab.sweep import Output

    with pytest.raises(SweepError, match="day -3 is before the run's first"):
        Output("acts", "at", day=-3).of(pa.table({"acts": [1, 2, 3, 4]}))


def test_an_output_s_final_value_is_its_last_day_that_ran():
    """Null before a mechanism's active_from and after a backlash stopped it: ``final`` read the
    last day as it was, NaN, which a sensitivity analysis read as an index of 0."""
    import pyarrow as pa

    from scslab.sweep import Output, parse_output

    metrics = pa.table({"size": [None, 2.0, 5.0, None, None]})
    assert parse_output("size", "outputs").of(metrics) == 5.0
    assert parse_output("size:mean", "outputs").of(metrics) == 3.5
    assert math.isnan(parse_output("size", "outputs").of(pa.table({"size": [None, None]})))
    never = Output("size", "cumsum_at", day=1).of(pa.table({"size": [None, None, 3.0]}))
    assert math.isnan(never)  # it read 0: a sum over days it never ran
    assert Output("size", "cumsum_at", day=2).of(pa.table({"size": [None, 1.0, 3.0]})) == 4.0


@pytest.mark.parametrize(
    ("value", "where", "fraction"),
    [
        ("[2, 2.5]", '"mechanisms.informants.ties"[1]', "2.5"),
        ("{ low = 2.5, high = 8 }", '"mechanisms.informants.ties".low', "2.5"),
        ("{ low = 2, high = 8.5 }", '"mechanisms.informants.ties".high', "8.5"),
        # a whole number with a decimal point: a list's was refused by the scenario's rule and a
        # range's taken (a review, 2026-12-07); one rule for both now
        ("[2, 8.0]", '"mechanisms.informants.ties"[1]', "8.0"),
        ("{ low = 4.0, high = 8 }", '"mechanisms.informants.ties".low', "4.0"),
    ],
)
def test_an_integer_parameter_refuses_a_fraction_the_file_gives(
    tmp_path, capsys, value, where, fraction
):
    """One line naming the value and the parameter (a list's was pydantic's wording)."""
    text = (
        SMALL + f"design = 'random'\nn = 2\n[parameters]\n'mechanisms.informants.ties' = {value}\n"
    )
    out = tmp_path / "out"
    assert main(["sweep", str(_file(tmp_path, text)), "--out", str(out), "--quiet"]) == 2
    assert capsys.readouterr().err == (
        f"scslab: error: {tmp_path / 's.toml'}: parameters.{where}: must be a whole number, "
        f"without a decimal point (got {fraction}); mechanisms.informants.ties takes integers\n"
    )
    assert not out.exists()


def test_a_value_drawn_for_an_integer_parameter_is_rounded_half_up():
    """A draw halfway between two integers goes up (``round`` took 2.5 to 2 and 4.5 to 4)."""
    from scslab.sweep import Parameter, Range, round_half_up

    assert [round_half_up(x) for x in (2.5, 3.5, 4.5, 2.49, -2.5, 3.0)] == [3, 4, 5, 2, -2, 3]
    ties = Parameter("mechanisms.informants.ties", None, Range(low=2, high=3), integer=True)
    assert [ties.at(u) for u in (0.0, 0.49, 0.5, 0.99)] == [2, 2, 3, 3]


LIST = "[parameters]\n'mechanisms.informants.report_prob' = [0.01, 0.02]\n"
RANGE = "[parameters]\n'mechanisms.informants.report_prob' = { low = 0.01, high = 0.02 }\n"


@pytest.mark.parametrize(
    ("command", "text", "message"),
    [
        ("sweep", SMALL + "outputs = ['no_column']\n" + LIST, "'no_column' is not a metric"),
        ("sweep", SMALL + "design = 'sobol'\nn = 3\n" + RANGE, "a Sobol design needs a power"),
        (
            "sensitivity",
            SMALL + RANGE + "[sensitivity]\nmethod = 'morris'\nn = 2\noutputs = ['no_column']\n",
            "'no_column' is not a metric",
        ),
    ],
)
def test_a_refusal_leaves_no_default_folder_not_even_runs(
    tmp_path, capsys, monkeypatch, command, text, message
):
    """Without --out, refused input once left an empty runs/ behind (the default folder was
    made before run_sweep checked the design and the outputs); it is now made after them."""
    pytest.importorskip("scipy" if command == "sweep" else "SALib")
    _in_process(monkeypatch)
    monkeypatch.chdir(tmp_path)
    assert main([command, str(_file(tmp_path, text)), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


def test_a_default_folder_is_made_once_the_input_is_checked(tmp_path, capsys, monkeypatch):
    _in_process(monkeypatch)
    monkeypatch.chdir(tmp_path)
    text = SMALL + "outputs = ['acts:sum']\n[parameters]\n'scenario.seed' = [1, 2]\n"
    assert main(["sweep", str(_file(tmp_path, text)), "--quiet"]) == 0
    (folder,) = (tmp_path / "runs").iterdir()
    assert folder.name.startswith("sweep-s-") and f"Results: {Path('runs') / folder.name}/" in (
        capsys.readouterr().out
    )
    rows = pq.read_table(folder / "sweep.parquet").to_pylist()
    assert [r["status"] for r in rows] == ["ok", "ok"]
    assert sorted(p.name for p in (folder / "runs").iterdir()) == ["p00000-r000", "p00001-r000"]


def test_ctrl_c_prints_one_line_and_the_folder_resumes(tmp_path):
    """Ctrl-C as a terminal sends it, to every process of the command (the cluster's workers
    too): one line, no worker's traceback (two were printed before it), a resumable folder."""
    import signal
    import subprocess
    import time

    text = HEAD.replace("days = 60", "days = 2000") + "replications = 200\n"
    path = _file(tmp_path, text + "[parameters]\n'mechanisms.informants.ties' = [4]\n")
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "scslab.cli", "sweep", str(path), "--out", str(out)]
    proc = subprocess.Popen(
        [*argv, "--workers", "1", "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as in a terminal
    )
    deadline = time.monotonic() + 120
    while not any((out / "rows").glob("*.json")) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err == (
        f"scslab: interrupted; the sweep folder {out} keeps the runs that finished; the same "
        f"command with --out {out} resumes it\n"
    )
    manifest = json.loads((out / "sweep.json").read_text())
    assert manifest["status"] == "incomplete" and manifest["counts"]["pending"] > 0
    sweep = load_sweep(path)
    assert sweep_module.prepare(sweep, out, design_points(sweep))[2]  # resumes


def test_a_run_that_ends_while_the_cluster_closes_is_in_the_table(tmp_path, monkeypatch):
    """After Ctrl-C the table was written before the local cluster closed: a run in flight that
    ended while it closed was on disk, ok, but "pending" in sweep.parquet and sweep.json."""
    from conftest import cluster_that_ends_runs_as_it_closes

    in_flight = []
    cluster = cluster_that_ends_runs_as_it_closes(in_flight)

    def execute(client, tasks, fn=run_task, *_):
        yield fn(tasks[0])
        in_flight.append(tasks[1])
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep_module, "dask_client", cluster)
    monkeypatch.setattr(sweep_module, "execute", execute)
    path = _file(tmp_path, SMALL + "[parameters]\n'mechanisms.informants.ties' = [1, 2, 3]\n")
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(load_sweep(path), out, workers=1)
    statuses = [r["status"] for r in pq.read_table(out / "sweep.parquet").to_pylist()]
    assert statuses == ["ok", "ok", "pending"]
    manifest = json.loads((out / "sweep.json").read_text())
    assert manifest["status"] == "incomplete" and manifest["counts"] == {"ok": 2, "pending": 1}
