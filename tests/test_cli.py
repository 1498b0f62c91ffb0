"""The command line: bad input gives one line and exit 2; good input gives a run folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from scslab.catalogue import DATA_SOURCE_NAMES

GOOD = """
[scenario]
name = "mini"
people = 3000
days = 20

[mechanisms.everyday_acts]
[mechanisms.data_sources]
[mechanisms.rongcheng_points]
"""

BAD = {
    "unknown_key": (
        GOOD.replace("days = 20", "days = 20\ncolour = 3"),
        "scenario.colour: unknown key; allowed: name",
    ),
    "unknown_nested_key": (
        GOOD + "\n[mechanisms.debt]\narrears_rat = 0.1\n",
        "mechanisms.debt.arrears_rat: unknown key; allowed: enabled, active_from, type, "
        "arrears_rate",
    ),
    "unknown_mechanism": (
        GOOD + "\n[mechanisms.teleport]\n",
        "mechanisms.teleport: unknown mechanism; allowed:",
    ),
    "wrong_type": (
        GOOD.replace("people = 3000", 'people = "many"'),
        "scenario.people: Input should be a valid integer",
    ),
    "negative_population": (
        GOOD.replace("people = 3000", "people = -10"),
        "scenario.people: Input should be greater than or equal to 1 (got -10)",
    ),
    "probability_above_1": (
        GOOD + "\n[mechanisms.debt]\ncure_share = 1.5\n",
        "mechanisms.debt.cure_share: Input should be less than or equal to 1 (got 1.5)",
    ),
    "unknown_act": (
        GOOD + '\n[mechanisms.informants]\nacts = ["jaywalk"]\n',
        "mechanisms.informants.acts.0: unknown act 'jaywalk'; allowed:",
    ),
    "act_in_another_case": (  # beside jaywalking it would be a second key of one act
        GOOD + "\n[mechanisms.everyday_acts.extra_acts]\nJaywalking = { rate = 0.002 }\n",
        "unknown act 'Jaywalking' (names are lower case: 'jaywalking'); allowed:",
    ),
    "source_in_another_case": (
        GOOD + '\n[mechanisms.evasion]\nsources = ["camera", "Camera"]\n',
        "mechanisms.evasion.sources.1: unknown source 'Camera' (names are lower case:",
    ),
    "grade_named_twice": (
        GOOD
        + "\n[mechanisms.point_system]\npoints = { traffic_offence = -5 }\n"
        + 'grades = [{ name = "A", min_score = 900 }, { name = "A", min_score = -30000 }]\n',
        "grades must have distinct names; 'A' is named twice",
    ),
    "two_mechanisms_write_one_column": (  # a second joint punishment with the default sectors
        GOOD
        + "\n[mechanisms.debt]\n[mechanisms.court_list]\n[mechanisms.joint_punishment]\n"
        + '[mechanisms.tax_blacklist]\ntype = "record_list"\nentry_acts = ["tax_evasion"]\n'
        + '[mechanisms.tax_punishment]\ntype = "joint_punishment"\nlist = "tax_blacklist"\n',
        "mechanisms.tax_punishment: its metric column 'travel_abroad_blocked' would be written "
        "by joint_punishment too (both are joint_punishment mechanisms); name its sectors, acts, "
        "grades or thresholds apart",
    ),
    "unknown_data_source": (
        GOOD + '\n[mechanisms.data_sources.extra_sources.hospital]\nacts = ["jaywalking"]\n'
        "coverage_urban = 0.5\ncoverage_rural = 0.5\n",
        "mechanisms.data_sources.extra_sources.hospital: unknown data source 'hospital'; "
        f"allowed: {', '.join(DATA_SOURCE_NAMES)}; a new source is a member at the end of "
        "catalogue.Source (docs/architecture.md)",
    ),
    "not_toml": ("[scenario\nname = 1", "not valid TOML"),
    # a review of bad input (2026-12-06): each of these crashed, or was taken in silence
    "no_act_drawn": (  # a traceback from the day plan, and a half-written run folder
        GOOD.replace("[mechanisms.everyday_acts]", "[mechanisms.everyday_acts]\nacts = {}"),
        "mechanisms.everyday_acts: acts and extra_acts are both empty, so it would draw no act",
    ),
    "list_reading_no_source": (  # 229 tax records, nobody listed
        GOOD + '\n[mechanisms.tax_list]\ntype = "record_list"\nsources = []\n',
        "mechanisms.tax_list.sources: an empty list names no source; name at least one, or "
        "leave the key out for every source",
    ),
    "a_decimal_point_in_a_whole_number": (  # taken as 1000, where sweep files refuse it
        GOOD.replace("people = 3000", "people = 3000.0"),
        "scenario.people: must be a whole number, without a decimal point (got 3000.0)",
    ),
    "an_empty_name": (GOOD.replace('name = "mini"', 'name = ""'), "scenario.name: String should"),
    "a_scale_beyond_the_world": (  # the audit said 46 billion listed
        GOOD.replace("days = 20", "days = 20\nscale = 10_000_000"),
        "people x scale is 30,000,000,000 real people, more than the 10,000,000,000 of this check",
    ),
    "a_number_for_a_date": (  # read as Unix seconds: 1970-01-01
        GOOD.replace("days = 20", "days = 20\nstart_date = 0"),
        "scenario.start_date: must be a date such as 2014-01-01, not a number (got 0)",
    ),
    "a_date_it_cannot_read": (
        GOOD + "\n[mechanisms.debt]\nactive_from = 20140101\n",
        "mechanisms.debt.active_from: must be a date such as 2014-01-01 (got 20140101)",
    ),
    "unknown_key_in_a_table_of_tables": (  # it said "allowed: see `scslab schema`"
        GOOD + "\n[mechanisms.data_sources.extra_sources.tax]\nacts = ['tax_evasion']\n"
        "coverage_urban = 0.5\ncoverage_rural = 0.5\nzz = 1\n",
        "mechanisms.data_sources.extra_sources.tax.zz: unknown key; allowed: acts, "
        "coverage_urban, coverage_rural, false_rate, false_act, delay_days, active_from",
    ),
    "unknown_key_in_a_list_of_tables": (
        GOOD + "\n[mechanisms.point_system]\npoints = { traffic_offence = -5 }\n"
        'grades = [{ name = "A", min_score = 900, zz = 1 }]\n',
        "mechanisms.point_system.grades.0.zz: unknown key; allowed: name, min_score",
    ),
    "a_mechanism_twice_in_one_programme": (  # it said "in two programmes: rongcheng, rongcheng"
        GOOD + "\n[mechanisms.backlash.programmes.rongcheng]\n"
        'mechanisms = ["rongcheng_points", "rongcheng_points"]\n',
        "'rongcheng_points' is named twice in programme 'rongcheng'",
    ),
}


def _cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "scslab.cli", *args], capture_output=True, text=True, cwd=cwd
    )


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_scenario_gives_one_line_and_exit_2(tmp_path, case):
    text, expected = BAD[case]
    path = tmp_path / "scenario.toml"
    path.write_text(text)
    res = _cli("run", str(path), "--out", str(tmp_path / "run"), "--quiet")
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith(f"scslab: error: {path}: ")
    assert expected in lines[0]
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "run").exists()  # nothing half-written


def test_missing_file_gives_one_line_and_exit_2(tmp_path):
    res = _cli("run", str(tmp_path / "nope.toml"), "--quiet")
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0
    assert "no such file or preset; presets: " in res.stderr and "rongcheng" in res.stderr


@pytest.mark.parametrize("flag", [["--people", "abc"], ["--days", "0"], ["--bogus"]])
def test_bad_flags_give_one_line_and_exit_2(tmp_path, flag):
    res = _cli("run", "rongcheng", "--quiet", "--out", str(tmp_path / "r"), *flag)
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0, res.stderr
    assert res.stderr.startswith("scslab: error: ")


def test_run_writes_complete_run_folder_and_summary(tmp_path):
    path = tmp_path / "mini.toml"
    path.write_text(GOOD)
    res = _cli("run", str(path), "--out", str(tmp_path / "run"), "--quiet", "--seed", "4")
    assert res.returncode == 0, res.stderr
    assert "scslab mini: 3,000 synthetic people, 20 days" in res.stdout
    assert "rongcheng_points: mean" in res.stdout
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["seed"] == 4 and manifest["days_completed"] == 20
    assert manifest["timings"]["init_s"] >= 0 and manifest["timings"]["run_s"] > 0
    assert manifest["scenario"]["mechanisms"]["rongcheng_points"]["points"]["traffic_offence"] == -5
    assert pq.read_table(tmp_path / "run" / "metrics.parquet").num_rows == 20
    # refusing to overwrite a run folder
    again = _cli("run", str(path), "--out", str(tmp_path / "run"), "--quiet")
    assert again.returncode == 2 and "already exists" in again.stderr
    # the plan of a finished run shows time per phase
    plan = _cli("plan", str(tmp_path / "run"))
    assert plan.returncode == 0 and "rongcheng_points" in plan.stdout and "seconds" in plan.stdout


def test_presets_schema_and_plan():
    res = _cli("presets")
    assert res.returncode == 0 and "rongcheng" in res.stdout and "reference" in res.stdout
    schema = json.loads(_cli("schema").stdout)
    mech = schema["$defs"]["Mechanisms"]["properties"]
    assert {"rongcheng_points", "court_list", "travel_bans", "debt"} <= set(mech)
    plan = _cli("plan", "rongcheng")
    assert plan.returncode == 0
    out = plan.stdout
    assert out.index("everyday_acts") < out.index("data_sources") < out.index("court_list")


def test_a_mechanism_naming_the_wrong_kind_gives_one_line_and_no_folder(tmp_path):
    path = tmp_path / "scenario.toml"
    path.write_text(GOOD + '\n[mechanisms.travel_bans]\nlist = "rongcheng_points"\n')
    res = _cli("run", str(path), "--out", str(tmp_path / "run"), "--quiet")
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr
    assert "mechanisms.travel_bans.list: 'rongcheng_points' is not a lists mechanism" in lines[0]
    assert not (tmp_path / "run").exists()
    path.write_text(GOOD + '\n[mechanisms.travel_bans]\nlist = "nope"\n')
    res = _cli("run", str(path), "--out", str(tmp_path / "run"), "--quiet")
    assert (
        res.returncode == 2
        and (
            "'nope': the scenario has no mechanism of that name; add a [mechanisms.nope] table, or "
            "name an enabled one: none\n"
        )
        in res.stderr
    )
    # a name it has, switched off, is "not enabled"; a near miss of one it has is named
    path.write_text(GOOD + "\n[mechanisms.court_list]\nenabled = false\n[mechanisms.travel_bans]\n")
    res = _cli("run", str(path), "--out", str(tmp_path / "run"), "--quiet")
    assert "'court_list' is not enabled; enabled ones: none\n" in res.stderr
    path.write_text(
        GOOD + '\n[mechanisms.court_list]\n[mechanisms.travel_bans]\nlist = "court_lst"\n'
    )
    res = _cli("run", str(path), "--out", str(tmp_path / "run"), "--quiet")
    assert "no mechanism of that name; did you mean 'court_list'? add a" in res.stderr


def test_the_engine_flag_picks_the_loop_and_the_manifest_names_it(tmp_path):
    path = tmp_path / "mini.toml"
    path.write_text(GOOD)
    runs = {}
    for engine in ("compiled", "python"):
        res = _cli("run", str(path), "--out", str(tmp_path / engine), "--quiet", "--engine", engine)
        assert res.returncode == 0, res.stderr
        assert ("compiled day plan" if engine == "compiled" else "Python loop") in res.stdout
        assert json.loads((tmp_path / engine / "manifest.json").read_text())["engine"] == engine
        runs[engine] = pq.read_table(tmp_path / engine / "metrics.parquet")
    assert runs["compiled"].equals(runs["python"])
    # group metrics (an observer in Python) run between compiled stretches of days
    path.write_text(GOOD + "\n[mechanisms.groups]\n")
    res = _cli("run", str(path), "--out", str(tmp_path / "g"), "--quiet", "--engine", "compiled")
    assert res.returncode == 0, res.stderr
    manifest = json.loads((tmp_path / "g" / "manifest.json").read_text())
    assert manifest["engine"] == "compiled" and manifest["observers_in_python"] == ["groups"]
    assert manifest["python_only_mechanisms"] == []
    bad = _cli("run", str(path), "--quiet", "--engine", "gpu")
    assert bad.returncode == 2 and "'gpu' is not one of" in bad.stderr


# --------------------------------------------------------------------------- Ctrl-C, help, folders

SLOW_RUN = """
import sys, time
from scslab.cli import entry
from scslab.engine.simulation import Simulation

step = Simulation.step

def slow_step(self):
    time.sleep(0.1)
    step(self)

Simulation.step = slow_step
sys.argv = ["scslab", *sys.argv[1:]]
entry()
"""


def _sigint_as_at_a_terminal() -> None:
    """In a child before it runs: SIGINT's default action, whatever the parent had."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("sent", ["SIGINT", "SIGTERM"])
def test_ctrl_c_during_a_run_says_so_and_exits_130(tmp_path, sent):
    """A real SIGINT: one line naming the incomplete run folder and how to resume it. SIGTERM
    (a batch scheduler's time limit) the same: it killed the process where it stood, and a
    sweep's folder said "running" for ever. Its status is 143 (128 + SIGTERM), as shells and
    schedulers read it, where Ctrl-C's is 130."""
    import signal
    import time

    path = tmp_path / "mini.toml"
    path.write_text(GOOD)
    run = tmp_path / "run"
    argv = [str(path), "--out", str(run), "--quiet", "--engine", "python"]
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_RUN, "run", *argv, "--checkpoint-every", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as at a terminal: a suite started in the background (``.ci/run &``, nohup)
        # ignores SIGINT, the run would inherit that and Python would keep ignoring it
        preexec_fn=_sigint_as_at_a_terminal,
    )
    deadline = time.monotonic() + 120
    while not (run / "checkpoint.scslab").exists() and proc.poll() is None:
        assert time.monotonic() < deadline, "the run wrote no checkpoint"
        time.sleep(0.05)
    proc.send_signal(getattr(signal, sent))
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == {"SIGINT": 130, "SIGTERM": 143}[sent], err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"scslab: interrupted; the run folder {run} is marked incomplete"), err
    assert f"scslab resume {run}" in err
    assert json.loads((run / "manifest.json").read_text())["status"] == "incomplete"


def test_ctrl_c_anywhere_else_exits_130(monkeypatch, capsys):
    import scslab.cli as cli

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "preset_names", interrupted)
    assert cli.main(["presets"]) == 130  # Typer returns 130 rather than raising
    assert capsys.readouterr().err == "scslab: interrupted\n"


@pytest.mark.parametrize(
    ("command", "tables"),
    [
        ("sweep", ["[sweep]", "[parameters]"]),
        ("sensitivity", ["[sensitivity]"]),
        ("calibrate", ["[calibrate]"]),
    ],
)
def test_help_shows_the_table_names(command, tables, capsys):
    from scslab.cli import main

    assert main([command, "--help"]) == 0
    text = capsys.readouterr().out
    for table in tables:
        assert table in text, text


def test_default_run_folders_never_collide(tmp_path, monkeypatch, capsys):
    """Runs started in the same second get their own folders: NAME-TIME-sSEED, then -2, -3."""
    import datetime as dt
    import types
    from concurrent.futures import ThreadPoolExecutor

    import scslab.cli as cli

    class Frozen(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return cls(2026, 1, 2, 3, 4, 5)

    frozen = types.SimpleNamespace(date=dt.date, timedelta=dt.timedelta, datetime=Frozen)
    monkeypatch.setattr(cli, "dt", frozen)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mini.toml").write_text(GOOD)
    for _ in range(2):
        assert cli.main(["run", "mini.toml", "--days", "2", "--seed", "7", "--quiet"]) == 0
    capsys.readouterr()
    made = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert made == ["mini-20260102-030405-s7", "mini-20260102-030405-s7-2"]
    for name in made:
        manifest = json.loads((tmp_path / "runs" / name / "manifest.json").read_text())
        assert manifest["status"] == "complete"
    # claimed atomically: threads asking at once each get a folder of their own
    base = tmp_path / "par" / "x"
    with ThreadPoolExecutor(8) as pool:
        folders = list(pool.map(lambda _: cli.new_folder(base), range(8)))
    assert len(set(folders)) == 8 and all(f.is_dir() for f in folders)
    # a run refused once its folder is made leaves no empty folder behind
    (tmp_path / "bad.toml").write_text(GOOD + '\n[mechanisms.travel_bans]\nlist = "nope"\n')
    assert cli.main(["run", "bad.toml", "--seed", "7", "--quiet"]) == 2
    assert "'nope': the scenario has no mechanism of that name" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == made


def test_flag_errors_name_the_flag(capsys):
    from scslab.cli import main

    for argv, expected in [
        (["--people", "0"], "--people: Input should be greater than or equal to 1 (got 0)"),
        (["--burn-in", "-1"], "--burn-in: Input should be greater than or equal to 0"),
        (["--until", "9999-12-31"], "--until: 9999-12-31 makes 2,916,918 days; Input should"),
    ]:
        assert main(["run", "rongcheng", "--quiet", *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"scslab: error: {expected}") and err.count("\n") == 1, err


def test_a_chart_left_out_for_a_missing_library_says_which_extra_draws_it():
    from scslab.cli import _chart_files

    assert _chart_files("calibration", True) == ", calibration.png, calibration.svg"
    missing = _chart_files("sensitivity", False)
    assert "no chart" in missing and "pip install 'scslab[report]'" in missing


def test_plan_refuses_a_scenario_file_a_run_would_refuse(tmp_path, capsys):
    """From the bad-input audit: ``scslab plan`` printed the plan of a file whose travel bans
    read a list that is not there (exit 0), and ``run`` then refused it. Now plan sets the file
    up small and refuses it in the run's words; ``--no-check`` prints the plan alone."""
    from scslab.cli import main

    path = tmp_path / "bans.toml"
    bans = '\n[mechanisms.court_list]\n[mechanisms.travel_bans]\nlist = "court_lst"\n'
    path.write_text(GOOD + bans)
    assert main(["plan", str(path)]) == 2
    got = capsys.readouterr()
    assert got.out == "" and got.err.count("\n") == 1
    assert "mechanisms.travel_bans.list: 'court_lst': the scenario has no mechanism" in got.err
    assert main(["run", str(path), "--out", str(tmp_path / "run"), "--quiet"]) == 2
    assert capsys.readouterr().err == got.err  # the same refusal as the run's
    assert main(["plan", str(path), "--no-check"]) == 0
    assert "travel_bans" in capsys.readouterr().out
    path.write_text(path.read_text().replace("court_lst", "court_list"))
    assert main(["plan", str(path)]) == 0
    got = capsys.readouterr()
    assert "travel_bans" in got.out and got.err == ""
    assert list(tmp_path.iterdir()) == [path]  # a check writes nothing


def test_plan_of_a_damaged_run_folder_is_one_line(tmp_path, capsys):
    from scslab.cli import main

    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text('{"status": "complete"}')
    assert main(["plan", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a run's manifest (no scenario, timings, plan)" in err
    # a folder that is no run at all: said as such, for plan and for sweep
    assert main(["plan", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a folder without a run's manifest.json; give a run" in err
    assert main(["sweep", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a folder; give the sweep's .toml file" in err


@pytest.mark.parametrize(
    ("plan", "timings", "reason"),
    [
        ([{"order": 1}], {}, "KeyError: 'mechanism'"),
        ([], [], "AttributeError: 'list' object has no attribute 'get'"),
        (
            [{"order": 1, "family": "f", "mechanism": "m"}],
            {"phases_s": {"m": "slow"}},
            "ValueError: could not convert string to float: 'slow'",
        ),
    ],
)
def test_plan_of_a_manifest_of_the_wrong_shape_is_one_line(tmp_path, capsys, plan, timings, reason):
    """A manifest with a run's keys but a plan or timings of another shape gave a traceback."""
    from scslab.cli import main

    run = tmp_path / "run"
    run.mkdir()
    manifest = {"status": "complete", "scenario": {}, "timings": timings, "plan": plan}
    (run / "manifest.json").write_text(json.dumps(manifest))
    assert main(["plan", str(run)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"scslab: error: {run / 'manifest.json'}: not a run's manifest (its plan or timings "
        f"cannot be read: {reason})\n"
    )


def test_plan_of_a_preset_s_name_is_the_preset_whatever_the_folder_holds(
    tmp_path, monkeypatch, capsys
):
    """``scslab run rongcheng`` takes the preset beside a folder named rongcheng; plan refused."""
    from scslab.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "rongcheng").mkdir()
    assert main(["plan", "rongcheng"]) == 0
    assert "daily plan of rongcheng" in capsys.readouterr().out
    assert main(["plan", "./rongcheng"]) == 2  # the folder, by its path
    assert "a folder without a run's manifest.json" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "folder"),
    [
        ("../../escape", "escape"),
        ("/tmp/abs", "tmp-abs"),
        ("two\\lines", "two-lines"),  # a line break is refused (test_api_input.py)
        ("-", ""),  # nothing left of it: "scenario"
        ("n" * 300, "n" * 100),  # a file name has at most 255 bytes
    ],
)
def test_a_default_run_folder_stays_under_runs_whatever_the_name(
    tmp_path, monkeypatch, capsys, name, folder
):
    from scslab.cli import main

    monkeypatch.chdir(tmp_path)
    text = GOOD.replace('name = "mini"', f"name = {json.dumps(name)}")
    assert text != GOOD
    (tmp_path / "named.toml").write_text(text)
    assert main(["run", "named.toml", "--days", "2", "--quiet"]) == 0
    (made,) = (tmp_path / "runs").iterdir()
    assert made.name.startswith(f"{folder or 'scenario'}-") and made.parent == tmp_path / "runs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["named.toml", "runs"]


def test_an_empty_out_is_refused_not_taken_as_the_current_folder(tmp_path, monkeypatch, capsys):
    """``--out ""`` wrote the run into the current folder (``Path("")`` is ``.``)."""
    import scslab
    from scslab.cli import main
    from scslab.results import RunDirError

    monkeypatch.chdir(tmp_path)
    for argv in (
        ["run", "rongcheng", "--people", "1000", "--days", "5", "--out", ""],
        ["compare", "rongcheng", "rongcheng", "--out", " "],
        ["sweep", "s.toml", "--out", ""],
        ["sensitivity", "s.toml", "--out", ""],
        ["calibrate", "s.toml", "--out", ""],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert (
            err.endswith("'--out': an empty path; give a folder's path\n") and err.count("\n") == 1
        ), (argv, err)
    with pytest.raises(RunDirError, match=r"^out: an empty path; give a folder's path$"):
        scslab.run("rongcheng", people=1000, days=5, out="")
    assert list(tmp_path.iterdir()) == []


_OUT_FILES = {
    "sweep": "[sweep]\nscenario = 'reference'\npeople = 1000\ndays = 3\n"
    "[parameters]\n'mechanisms.informants.report_prob' = [0.1, 0.2]\n",
    "sensitivity": "[sweep]\nscenario = 'reference'\npeople = 1000\ndays = 3\n"
    "[parameters]\n'mechanisms.informants.report_prob' = { low = 0.1, high = 0.2 }\n"
    "[sensitivity]\nmethod = 'morris'\nn = 1\noutputs = ['informant_reports:sum']\n",
    "calibrate": "[sweep]\nscenario = 'joint_punishment_2016'\npeople = 1000\n"
    "until = 2014-08-30\nscale = 282_000\n"
    "[parameters]\n'mechanisms.debt.arrears_rate' = { low = 1e-5, high = 3e-4 }\n"
    "[calibrate]\ntargets = ['persons_ever_listed']\ntrials = 2\nbatch = 1\n",
}


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
@pytest.mark.parametrize("out", ["/proc/scslab-out", "loop", "dangling", "dangling/sub"])
@pytest.mark.parametrize("command", ["run", "compare", "sweep", "sensitivity", "calibrate"])
def test_an_out_folder_that_cannot_be_made_is_refused_before_anything_runs(
    tmp_path, monkeypatch, capsys, command, out
):
    """``/proc`` takes no folder, and a symbolic link to nothing or in a loop is no folder:
    sweeps, sensitivity analyses and calibrations raised a traceback (exit 1) where they made
    their folder, and ``compare`` refused only after running every replication."""
    import scslab.compare as compare_module
    from scslab.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "loop").symlink_to("loop2")
    (tmp_path / "loop2").symlink_to("loop")
    (tmp_path / "dangling").symlink_to("nowhere")
    before = sorted(p.name for p in tmp_path.iterdir())
    ran = []
    monkeypatch.setattr(compare_module, "_run_arm", lambda *a, **k: ran.append(a))
    if command in _OUT_FILES:
        (tmp_path / "f.toml").write_text(_OUT_FILES[command])
        before.append("f.toml")
        argv = [command, "f.toml", "--workers", "1"]
    elif command == "compare":
        argv = ["compare", "reference", "reference", "--people", "1000", "--days", "2"]
    else:
        argv = ["run", "reference", "--people", "1000", "--days", "2"]
    assert main([*argv, "--out", out, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"scslab: error: {out}: "), err
    assert ("cannot be created" if out.startswith("/") else "symbolic link to nothing") in err
    if out == "dangling/sub":
        assert "dangling/sub: is under dangling, which is a symbolic link to nothing" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(before)
    assert not ran


def test_an_input_file_past_the_bound_is_refused_unread(tmp_path, monkeypatch, capsys):
    """``scslab run /dev/zero`` read until the out-of-memory killer ended it (20 GB): a scenario,
    sweep file or calibration table longer than ``MAX_INPUT_BYTES`` is refused in one line (exit
    2 from the command), and one of exactly that length is read as before."""
    import scslab.input_files as input_files
    from scslab.calibrate import CalibrateError, read_data
    from scslab.cli import main
    from scslab.scenario import ScenarioError, load_scenario
    from scslab.sweep import SweepError, load_sweep

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(input_files, "MAX_INPUT_BYTES", 4096)

    def padded(name: str, text: str, extra: int) -> Path:
        path = tmp_path / name
        filler = "#" if name.endswith(".toml") else "\n"  # a comment; blank lines
        path.write_text(text + filler * (4096 - len(text) + extra))
        return path

    scenario = "[scenario]\nname = 'padded'\n"
    assert load_scenario(padded("s.toml", scenario, 0)).meta.name == "padded"
    with pytest.raises(ScenarioError, match=r"s\.toml: more than 4,096 bytes, not a scenario"):
        load_scenario(padded("s.toml", scenario, 1))
    sweep = "[sweep]\nscenario = 'reference'\n[parameters]\n'scenario.seed' = [1, 2]\n"
    assert load_sweep(padded("w.toml", sweep, 0)).parameters
    with pytest.raises(SweepError, match=r"w\.toml: more than 4,096 bytes, not a sweep file"):
        load_sweep(padded("w.toml", sweep, 1))
    csv = "as_of,quantity,value\n2014-03-10,persons_ever_listed,87079\n"
    assert read_data("d.csv", padded("d.csv", csv, 0).parent, "c.toml")[0]
    with pytest.raises(CalibrateError, match=r"d\.csv: more than 4,096 bytes, not a calib"):
        read_data("d.csv", padded("d.csv", csv, 1).parent, "c.toml")

    assert main(["run", "s.toml", "--out", "out", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "scslab: error: s.toml: more than 4,096 bytes, not a scenario file (one is a few "
        "kilobytes); give the path of the file\n"
    )
    assert not (tmp_path / "out").exists()


def test_version_and_no_command(capsys):
    """``scslab --version`` says the version; ``scslab`` alone lists the commands (stdout) and
    says why it exits 2 in one line (it said ``scslab: error:`` and nothing more)."""
    from scslab import __version__
    from scslab.cli import main

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"scslab {__version__}\n"
    assert main([]) == 2
    got = capsys.readouterr()
    assert "presets" in got.out
    assert got.err == "scslab: error: no command given; see scslab --help\n"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("argv", [["schema"], ["presets"], ["--version"]])
def test_a_write_to_a_full_device_is_one_line_and_status_1(argv):
    """A full disk is not the input's fault (status 1, not 2), and not a bug: a 40-50 line
    traceback before, from the command's write or from Python's flush as it exits."""
    with open("/dev/full", "w") as full:
        ran = subprocess.run(
            [sys.executable, "-m", "scslab", *argv], stdout=full, stderr=subprocess.PIPE, text=True
        )
    assert (ran.returncode, ran.stderr) == (
        1,
        "scslab: error: cannot write: No space left on device\n",
    )


def test_a_refused_set_up_leaves_no_runs_folder_it_made(tmp_path, monkeypatch, capsys):
    """A refusal in the set-up removed the empty default run folder but left ``runs/``."""
    from scslab.cli import main

    monkeypatch.chdir(tmp_path)
    scenario = tmp_path / "m.toml"
    scenario.write_text('[scenario]\nname = "m"\n[mechanisms.travel_bans]\n')
    argv = ["run", "m.toml", "--people", "1000", "--days", "5"]
    assert main(argv) == 2
    assert "'court_list': the scenario has no mechanism of that name" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [scenario]
    (tmp_path / "runs").mkdir()  # one the user made stays, empty or not
    assert main(argv) == 2
    assert list((tmp_path / "runs").iterdir()) == []


def test_a_path_too_long_for_the_file_system_is_one_line_and_exit_2(tmp_path, monkeypatch):
    """It was an OSError's traceback, exit 1, from every command that takes a path."""
    monkeypatch.chdir(tmp_path)
    long = "a" * 300
    for args in (
        ["run", "reference", "--days", "2", "--out", long, "--quiet"],
        ["report", long],
        ["query", "select 1", "--runs", long],
        ["run", f"{long}.toml"],
        ["plan", long],
    ):
        res = _cli(*args, cwd=tmp_path)
        assert res.returncode == 2, (args, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and "file name too long" in lines[0], (args, res.stderr)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("threads", ["0", "-2", "abc", "1.5", ""])
def test_unusable_thread_count_gives_one_line_and_exit_2(threads):
    """numba cannot start with NUMBA_NUM_THREADS below 1 (its import raised a traceback from
    deep inside numba) and ignores one that is not a whole number (taking every core): both are
    one line naming the variable, from the script, from ``python -m`` (the package or its
    ``cli``) and from ``import``."""
    env = {**os.environ, "NUMBA_NUM_THREADS": threads}
    expected = (
        f"NUMBA_NUM_THREADS={threads or repr(threads)}: the number of threads must be a whole "
        "number of at least 1; unset it to use every core"
    )
    script = Path(sys.executable).parent / "scslab"
    for argv in (
        [str(script), "presets"],
        [sys.executable, "-m", "scslab.cli", "presets"],
        [sys.executable, "-m", "scslab", "presets"],
    ):
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
        assert (proc.returncode, proc.stderr, proc.stdout) == (
            2,
            f"scslab: error: {expected}\n",
            "",
        )
    imported = subprocess.run(
        [sys.executable, "-c", "import scslab"], env=env, capture_output=True, text=True
    )
    assert imported.returncode == 1
    assert imported.stderr.rstrip().endswith(f"EnvironmentSettingError: {expected}")
    hidden = subprocess.run(  # an optional dependency's usual check does not hide it
        [sys.executable, "-c", "try:\n import scslab\nexcept ImportError:\n print('absent')"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert hidden.returncode == 1 and hidden.stdout == "" and expected in hidden.stderr


def test_a_usable_thread_count_starts():
    env = {**os.environ, "NUMBA_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "scslab.cli", "presets"], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0 and "rongcheng" in proc.stdout, proc.stderr


def test_python_dash_m_scslab_is_the_command():
    """``python -m scslab`` runs the command, bad input included: exit 2 and one line."""
    ran = subprocess.run(
        [sys.executable, "-m", "scslab", "presets"], capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0 and "rongcheng" in ran.stdout, ran.stderr
    refused = subprocess.run(
        [sys.executable, "-m", "scslab", "run", "no_such_preset"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2 and refused.stdout == "", refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "no_such_preset" in refused.stderr


@pytest.mark.parametrize(
    ("argv", "orig_argv", "command"),
    [
        (["/venv/bin/scslab", "run"], ["python", "/venv/bin/scslab", "run"], True),
        ([r"C:\venv\Scripts\scslab.exe"], [r"C:\venv\Scripts\scslab.exe"], True),
        (["/usr/bin/scslab-script.py"], ["python", "/usr/bin/scslab-script.py"], True),
        (["-m"], ["python", "-m", "scslab", "run"], True),
        (["-m"], ["python", "-X", "dev", "-mscslab.cli", "run"], True),
        (["-m"], ["python", "-m", "pytest", "-m", "scslab"], False),
        (["study.py", "-m", "scslab"], ["python", "study.py", "-m", "scslab"], False),
        (["/home/me/scslab_study.py"], ["python", "/home/me/scslab_study.py"], False),
        (["-c"], ["python", "-c", "import scslab"], False),
        ([], [], False),
    ],
)
def test_which_processes_are_the_command(argv, orig_argv, command):
    """The environment check answers the command with one line and exit 2, anything else
    (a study that imports scslab) with an exception it can catch."""
    from scslab.environment import _is_command_line

    assert _is_command_line(argv, orig_argv) is command


def test_a_sigterm_a_parent_ignores_stays_ignored(monkeypatch):
    """A parent that ignores SIGTERM (``nohup``-like launchers) chose so: the command keeps it."""
    import signal

    import scslab.cli as cli

    seen = []
    monkeypatch.setattr(
        cli, "preset_names", lambda: seen.append(signal.getsignal(signal.SIGTERM)) or []
    )
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        cli.main(["presets"])
        assert seen == [signal.SIG_IGN] and signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, previous)
