"""`scslab calibrate`: Optuna trials on the sweep engine, the loss and the fit written down."""

from __future__ import annotations

import json
import math
import sys
from contextlib import nullcontext
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import scslab.calibrate as calibrate_module
from scslab.calibrate import CalibrateError, CalibrateTable, loss_of, rows_fitted, run_calibration
from scslab.cli import main
from scslab.sweep import dask_client, load_sweep, run_task

pytest.importorskip("optuna")
pytest.importorskip("distributed")

FILE = """
[sweep]
scenario = "joint_punishment_2016"
people = 5000
until = 2015-06-30
scale = 282_000
seed = 1

[parameters]
"mechanisms.debt.arrears_rate" = { low = 1e-5, high = 3e-4, log = true }

[calibrate]
targets = ["persons_ever_listed", "flight_purchases_blocked"]
trials = 3
batch = 3
sampler = "random"
"""


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return path


def test_rows_fitted_are_cumulative_rows_after_day_0_up_to_the_end(tmp_path):
    sweep = load_sweep(_file(tmp_path, FILE), kind="calibrate")
    table = CalibrateTable.model_validate(sweep.tables["calibrate"])
    rows = rows_fitted(sweep, table, tmp_path)
    # the launch row (day 0) and the 2014-08-03 flow row are left out; flights start in 2017
    assert [(str(r.as_of), r.quantity, r.value) for r in rows] == [
        ("2014-03-10", "persons_ever_listed", 87079.0),
        ("2014-07-23", "persons_ever_listed", 203000.0),
    ]
    assert rows[0].day == 160 and rows[0].name == "persons_ever_listed@2014-03-10"
    model = {rows[0].name: 87079.0 * 1.5, rows[1].name: 203000.0 / 2}
    assert loss_of(rows, model) == pytest.approx(0.25 + 0.25)


def test_calibration_writes_trials_fit_and_chart(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    with dask_client(workers=2) as client:
        monkeypatch.setattr(calibrate_module, "dask_client", lambda *a, **k: nullcontext(client))
        code = main(["calibrate", str(_file(tmp_path, FILE)), "--out", str(out), "--quiet"])
    assert code == 0
    text = capsys.readouterr().out
    assert "scslab calibrate: 3 trials (3 complete)" in text and "[mechanisms.debt]" in text
    fit = json.loads((out / "calibration.json").read_text())
    assert fit["loss"] == "sum over rows of ((model - published) / published) ** 2"
    assert [r["as_of"] for r in fit["rows_fitted"]] == ["2014-03-10", "2014-07-23"]
    trials = pq.read_table(out / "calibration.parquet").to_pylist()
    assert len(trials) == 3 and all(t["state"] == "complete" for t in trials)
    best = min(trials, key=lambda t: t["loss"])
    assert fit["best"]["trial"] == best["trial"] and fit["best"]["loss"] == best["loss"]
    assert fit["best"]["values"] == {
        "mechanisms.debt.arrears_rate": best["mechanisms.debt.arrears_rate"]
    }
    published = {"persons_ever_listed@2014-03-10": 87079, "persons_ever_listed@2014-07-23": 203000}
    recomputed = sum(((best[k] - v) / v) ** 2 for k, v in published.items())
    assert best["loss"] == pytest.approx(recomputed)
    runs = pq.read_table(out / "sweep.parquet").to_pylist()
    assert [r["run_id"] for r in runs] == ["t00000-r000", "t00001-r000", "t00002-r000"]
    assert all(r["status"] == "ok" for r in runs)
    assert (out / "calibration.png").stat().st_size > 1000 and (out / "calibration.svg").exists()
    rows = {p.name: p.stat().st_mtime_ns for p in (out / "rows").iterdir()}
    assert main(["calibrate", str(_file(tmp_path, FILE)), "--out", str(out), "--quiet"]) == 0
    again = "scslab calibrate: 3 trials (3 complete, 3 done before, not run again)"
    assert again in capsys.readouterr().out
    assert {p.name: p.stat().st_mtime_ns for p in (out / "rows").iterdir()} == rows  # none ran
    assert pq.read_table(out / "calibration.parquet").to_pylist() == trials


RESUMED = FILE.replace("batch = 3", "batch = 2\nstartup = 1").replace('"random"', '"tpe"')


@pytest.fixture(scope="module")
def in_process():
    """A Dask client whose one worker is a thread of this process (light on 2 cores)."""
    distributed = pytest.importorskip("distributed")
    with distributed.Client(
        processes=False, n_workers=1, threads_per_worker=1, dashboard_address=":0"
    ) as client:
        yield client


def _trials(folder: Path) -> list[tuple]:
    return [
        (t["trial"], t["mechanisms.debt.arrears_rate"], t["state"], t["loss"])
        for t in pq.read_table(folder / "calibration.parquet").to_pylist()
    ]


def test_a_calibration_resumes_as_if_never_interrupted(tmp_path, monkeypatch, in_process):
    """2 trials, then 4 asked (cut after one run), then resumed: only the missing runs run."""
    ran: list[str] = []
    cut: list[bool] = []
    real_execute = calibrate_module.execute

    def execute(client, tasks, *args, **kwargs):
        tasks = list(tasks)
        if cut and cut.pop():  # an interruption after the batch's first run
            ran.extend(t.run_id for t in tasks[:1])
            yield from real_execute(client, tasks[:1], *args, **kwargs)
            raise KeyboardInterrupt
        ran.extend(t.run_id for t in tasks)
        yield from real_execute(client, tasks, *args, **kwargs)

    monkeypatch.setattr(calibrate_module, "execute", execute)
    out = tmp_path / "out"
    two, four = tmp_path / "two.toml", tmp_path / "four.toml"
    two.write_text(RESUMED.replace("trials = 3", "trials = 2"))
    four.write_text(RESUMED.replace("trials = 3", "trials = 4"))
    run_calibration(two, out, client=in_process)
    assert ran == ["t00000-r000", "t00001-r000"]
    first = _trials(out)
    ran.clear()
    cut.append(True)
    with pytest.raises(KeyboardInterrupt):
        run_calibration(four, out, client=in_process)
    assert ran == ["t00002-r000"] and _trials(out) == first
    assert json.loads((out / "sweep.json").read_text())["status"] == "incomplete"
    ran.clear()
    result = run_calibration(four, out, client=in_process)
    assert ran == ["t00003-r000"]  # t00002's run finished before the cut
    resumed = _trials(out)
    assert len(resumed) == 4 and resumed[:2] == first and result.trials.num_rows == 4
    runs = pq.read_table(out / "sweep.parquet").to_pylist()
    assert [r["run_id"] for r in runs] == [f"t0000{i}-r000" for i in range(4)]
    fit = json.loads((out / "calibration.json").read_text())
    assert fit["status"] == "complete" and fit["trials"] == 4 and fit["trials_resumed"] == 2
    ran.clear()
    run_calibration(four, out, client=None)  # finished: runs nothing, needs no cluster
    assert ran == [] and _trials(out) == resumed
    run_calibration(four, tmp_path / "uninterrupted", client=in_process)
    assert _trials(tmp_path / "uninterrupted") == resumed  # the same trials, the same losses


def test_a_run_that_ends_while_the_cluster_closes_is_in_the_runs_table(tmp_path, monkeypatch):
    """After Ctrl-C, sweep.parquet was written before the local cluster closed: a run in flight
    that ended while it closed was on disk, ok, but "pending" in the table."""
    from conftest import cluster_that_ends_runs_as_it_closes

    in_flight = []
    cluster = cluster_that_ends_runs_as_it_closes(in_flight)

    def execute(client, tasks, *_args, **_kwargs):
        tasks = list(tasks)
        yield run_task(tasks[0])
        in_flight.append(tasks[1])
        raise KeyboardInterrupt

    monkeypatch.setattr(calibrate_module, "dask_client", cluster)
    monkeypatch.setattr(calibrate_module, "execute", execute)
    path, out = tmp_path / "c.toml", tmp_path / "out"
    path.write_text(RESUMED)
    with pytest.raises(KeyboardInterrupt):
        run_calibration(path, out)
    runs = pq.read_table(out / "sweep.parquet").to_pylist()
    assert [(r["run_id"], r["status"]) for r in runs] == [
        ("t00000-r000", "ok"),
        ("t00001-r000", "ok"),
    ]


def test_no_trial_completed_exits_1_with_its_runs_kept(tmp_path, monkeypatch, capsys):
    """Exit status 2 says the input was refused and nothing written; these runs are written."""

    def failing(client, tasks, *args, **kwargs):
        for task in tasks:
            yield run_task(task) | {"status": "failed", "error": "boom"}

    monkeypatch.setattr(calibrate_module, "dask_client", lambda *a, **k: nullcontext(object()))
    monkeypatch.setattr(calibrate_module, "execute", failing)
    text = FILE.replace("trials = 3\nbatch = 3", "trials = 1\nbatch = 1")
    out = tmp_path / "out"
    assert main(["calibrate", str(_file(tmp_path, text)), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no trial completed (first error: t00000-r000: boom)" in err
    assert (out / "sweep.parquet").exists()


def test_a_resume_with_another_file_is_refused(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    sweep = load_sweep(_file(tmp_path, FILE), kind="calibrate")
    table = CalibrateTable.model_validate(sweep.tables["calibrate"])
    digest = calibrate_module.calibration_digest(sweep, table, rows_fitted(sweep, table, tmp_path))
    manifest = {"kind": "calibration", "digest": digest, "status": "incomplete"}
    (out / "sweep.json").write_text(json.dumps(manifest))
    before = sorted((p.name, p.read_bytes()) for p in out.iterdir())
    other = FILE.replace("seed = 1", "seed = 2")
    assert main(["calibrate", str(_file(tmp_path, other)), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds a different calibration" in err, err
    assert sorted((p.name, p.read_bytes()) for p in out.iterdir()) == before
    # the same file, more trials: accepted (stopped here before it starts anything)
    monkeypatch.setattr(calibrate_module, "dask_client", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        main(
            [
                "calibrate",
                str(_file(tmp_path, FILE.replace("trials = 3", "trials = 9"))),
                "--out",
                str(out),
                "--quiet",
            ]
        )


INCOME = "'mechanisms.debt.income_effect'"

BAD = [
    (FILE.replace('"flight_purchases_blocked"', '"flights"'), "'flights' is not a cumulative"),
    (FILE.replace("trials = 3", "trails = 3"), "calibrate.trails: unknown key; allowed: targets"),
    (FILE.replace("trials = 3", "trials = 0"), "calibrate.trials: Input should be greater"),
    (FILE.replace("batch = 3", "batch = 3\ndata = 'nope.csv'"), "nope.csv: no such file"),
    (FILE.replace("trials = 3", "from = 2015-06-01\nuntil = 2015-06-02"), "no row of"),
    (
        FILE.replace("trials = 3", "until = 2018-12-31\ntrials = 3"),
        "calibrate.until: 2018-12-31 is after the run's last day 2015-06-30; the rows after it",
    ),
    (FILE.split("[calibrate]")[0], "calibrate: missing table"),
    (FILE.replace("trials = 3", "startup = 5\ntrials = 3"), "startup is TPE's random first"),
    (
        FILE.replace('"flight_purchases_blocked"]', '"persons_ever_listed"]'),
        "targets: persons_ever_listed named twice",
    ),
    (
        FILE.replace("trials = 3", "from = 2013-01-01\ntrials = 3"),
        "calibrate.from: 2013-01-01 is not after the scenario's start 2013-10-01",
    ),
    (
        FILE.replace("trials = 3", "from = 2015-01-01\nuntil = 2014-01-01\ntrials = 3"),
        "calibrate: from 2015-01-01 is after until 2014-01-01",
    ),
    (
        FILE.replace(
            "[calibrate]",
            "'mechanisms.debt.income_effect' = [[1.0, 1.0, 1.0, 1.0, 1.0]]\n[calibrate]",
        ),
        "Optuna chooses among numbers, strings and booleans",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_calibration_file_exits_2_nothing_written(tmp_path, capsys, text, message):
    out = tmp_path / "out"
    assert main(["calibrate", str(_file(tmp_path, text)), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in " ".join(err.split()), err
    assert not out.exists()


def test_a_target_no_run_writes_is_refused_before_any_trial(tmp_path, capsys):
    (tmp_path / "mine.csv").write_text(
        "as_of,quantity,value,unit,kind\n2014-06-30,persons_ever_lsted,100,persons,cumulative\n"
    )
    text = FILE.replace(
        '["persons_ever_listed", "flight_purchases_blocked"]', '["persons_ever_lsted"]'
    )
    text = text.replace("batch = 3", "batch = 3\ndata = 'mine.csv'")
    out = tmp_path / "out"
    assert main(["calibrate", str(_file(tmp_path, text)), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'persons_ever_lsted' is not a metric column" in err, err
    assert "did you mean 'persons_ever_listed'?" in err and not out.exists()


def test_a_table_without_cumulative_rows_or_with_two_figures_for_one_date(tmp_path):
    """From the bad-input audit: a table whose rows are all flows said "allowed: " and nothing,
    and two figures for one quantity and date (5 and 7) were both fitted, silently. The same
    figure twice (two sources citing it) is fitted once."""
    text = FILE.replace('"flight_purchases_blocked"', '"listed"').replace(
        '"persons_ever_listed", ', ""
    )
    sweep = load_sweep(_file(tmp_path, text + "data = 'mine.csv'\n"), kind="calibrate")
    table = CalibrateTable.model_validate(sweep.tables["calibrate"])
    head = "as_of,quantity,value,kind\n"
    (tmp_path / "mine.csv").write_text(head + "2014-06-30,listed,5,flow\n")
    with pytest.raises(CalibrateError, match=r"'listed' is not a cumulative .* it has none \("):
        rows_fitted(sweep, table, tmp_path)
    twice = "2014-06-30,listed,5,cumulative\n2014-06-30,listed,{},cumulative\n"
    (tmp_path / "mine.csv").write_text(head + twice.format(7))
    with pytest.raises(CalibrateError, match="listed on 2014-06-30 is given twice, 5 and 7; keep"):
        rows_fitted(sweep, table, tmp_path)
    (tmp_path / "mine.csv").write_text(head + twice.format("5.0"))
    assert [(r.quantity, r.value) for r in rows_fitted(sweep, table, tmp_path)] == [("listed", 5)]
    # two figures for a date outside the rows fitted do not matter (the run ends 2015-06-30)
    later = "2016-01-01,listed,8,cumulative\n2016-01-01,listed,9,cumulative\n"
    (tmp_path / "mine.csv").write_text(head + twice.format(5) + later)
    assert [(r.quantity, r.value) for r in rows_fitted(sweep, table, tmp_path)] == [("listed", 5)]


def test_a_refusal_leaves_no_default_folder(tmp_path, capsys, monkeypatch):
    """Without --out, a target no run writes left an empty runs/ (made before the check)."""
    monkeypatch.chdir(tmp_path)
    text = FILE.replace('"flight_purchases_blocked"', '"flights_blocked"')
    (tmp_path / "mine.csv").write_text(
        "as_of,quantity,value,unit,kind\n2014-06-30,flights_blocked,100,persons,cumulative\n"
    )
    text = text.replace("batch = 3", "batch = 3\ndata = 'mine.csv'").replace(
        '"persons_ever_listed", ', ""
    )
    assert main(["calibrate", str(_file(tmp_path, text)), "--quiet"]) == 2
    assert "'flights_blocked' is not a metric column" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml", "mine.csv"]


def test_missing_extra_names_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(CalibrateError, match=r"pip install 'scslab\[calibrate\]'"):
        run_calibration(_file(tmp_path, FILE), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_preset_values_are_written_as_toml():
    """The "In a preset:" lines print each value as TOML (Python's repr wrote True and
    datetime.date(...), which no TOML reader takes)."""
    import datetime as dt
    import tomllib

    from scslab.calibrate import toml_value

    values = {"on": True, "off": False, "date": dt.date(2013, 12, 1), "rate": 2.5e-05}
    values |= {"n": 3, "name": 'a "quoted" word', "big": float("inf")}
    text = "\n".join(f"{k} = {toml_value(v)}" for k, v in values.items())
    assert tomllib.loads(text) == values


def test_preset_lines_are_toml_and_name_the_data_as_found(tmp_path):
    import datetime as dt
    import tomllib

    import pyarrow as pa

    from scslab.calibrate import Calibration, Row, preset_lines

    row = Row(dt.date(2014, 6, 30), "persons_ever_listed", 100.0, 272, "")
    best = {
        "trial": 0,
        "loss": 0.01,
        "values": {"mechanisms.debt.enabled": True, "mechanisms.debt.arrears_rate": 1e-4},
        "model": {row.name: 101.0},
    }
    fit = Calibration(tmp_path, [row], pa.table({"trial": [0]}), best, False, "mine/data.csv")
    lines = preset_lines(fit)
    assert "# fitted to the rows of mine/data.csv:" in lines
    table = tomllib.loads("\n".join(lines))
    assert table["mechanisms"]["debt"] == {"enabled": True, "arrears_rate": 1e-4}


def _in_process(monkeypatch) -> None:
    """Trials run here, one run after another: no Dask cluster (the client is never used)."""
    monkeypatch.setattr(calibrate_module, "dask_client", lambda *a, **k: nullcontext(object()))
    monkeypatch.setattr(
        calibrate_module,
        "execute",
        lambda client, tasks, *a, **k: (run_task(t) for t in tasks),
    )


@pytest.mark.parametrize("name", ["mine.csv", "blacklist_court_defaulters.csv"])
def test_a_local_data_file_is_named_by_its_path_printed_and_recorded(
    tmp_path, capsys, monkeypatch, name
):
    """A CSV beside the calibration file, even one named like a shipped file, is named by its
    path in the printed header and in calibration.json, never as calibration/NAME."""
    _in_process(monkeypatch)
    (tmp_path / name).write_text(
        "as_of,quantity,value,unit,kind\n2014-03-10,persons_ever_listed,87079,persons,cumulative\n"
    )
    text = FILE.replace("people = 5000", "people = 1000").replace("until = 2015-06-30", "")
    text = text.replace('"flight_purchases_blocked"', "").replace("trials = 3", "trials = 1")
    text = text.replace("[sweep]", "[sweep]\nuntil = 2014-03-31")
    text += f"data = '{name}'\n"
    out = tmp_path / "out"
    assert main(["calibrate", str(_file(tmp_path, text)), "--out", str(out), "--quiet"]) == 0
    local = str(tmp_path / name)
    assert f"# fitted to the rows of {local}:" in capsys.readouterr().out
    assert json.loads((out / "calibration.json").read_text())["data"] == local


def test_a_trial_whose_runs_lack_a_fitted_output_fails_and_the_search_goes_on():
    """A run that ends ok without a target's column (a mechanism switched off at that point)
    has a null output: its trial fails, as a failed run's does, rather than crash the search."""
    import datetime as dt

    import optuna

    from scslab.calibrate import Row, _tell

    row = Row(dt.date(2014, 6, 30), "persons_ever_listed", 100.0, 272, "")
    study = optuna.create_study()
    trial = study.ask()
    runs = [{"status": "ok", row.name: None}, {"status": "ok", row.name: 90.0}]
    record = _tell(study, trial, {"x": 1}, runs, [row])
    assert record["state"] == "failed" and "persons_ever_listed" in record["error"]
    assert study.trials[-1].state == optuna.trial.TrialState.FAIL
    record = _tell(study, study.ask(), {"x": 2}, [{"status": "ok", row.name: 90.0}], [row])
    assert record["state"] == "complete" and record["loss"] == pytest.approx(0.01)
    # NaN: the column is there but null on the row's day (a backlash stopped its mechanism);
    # it was a complete trial of loss NaN, which could be the best and could not be resumed
    record = _tell(study, study.ask(), {"x": 3}, [{"status": "ok", row.name: math.nan}], [row])
    assert record["state"] == "failed" and "persons_ever_listed" in record["error"]


def test_the_best_trial_has_a_loss_and_the_chart_skips_days_a_mechanism_did_not_run(tmp_path):
    import datetime as dt

    import pyarrow as pa

    from scslab.calibrate import Row, _best, write_fit_chart

    row = Row(dt.date(2014, 1, 8), "persons_ever_listed", 10.0, 7, "")
    trials = [
        {"trial": 0, "state": "complete", "loss": math.nan, "x": 1, row.name: math.nan},
        {"trial": 1, "state": "complete", "loss": 0.01, "x": 2, row.name: 9.0},
    ]
    assert _best(trials, [row], ["x"])["trial"] == 1  # min() kept trial 0's NaN
    metrics = pa.table({"day": [0, 7, 14], row.quantity: [3.0, 9.0, None]})  # stopped on day 7
    stem = tmp_path / "fit"
    assert write_fit_chart(stem, [row], [metrics], dt.date(2014, 1, 1), "t", "best")  # no crash
    spec = json.loads(stem.with_suffix(".vl.json").read_text())
    model = [d for d in spec["data"]["values"] if d["what"].startswith("model")]
    assert [d["value"] for d in model] == [3.0, 9.0]
