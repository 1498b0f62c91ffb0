"""`scslab compare` (common random numbers, paired intervals) and `scslab query` (DuckDB)."""

from __future__ import annotations

import json
import sys
from importlib import resources

import numpy as np
import pytest

from scslab import api
from scslab.cli import main
from scslab.compare import compare, t_quantile
from scslab.errors import ScenarioError
from scslab.query import EXTRA_HINT, QueryError, query
from scslab.scenario import load_scenario

SMALL = {"people": 8_000, "days": 60}


@pytest.mark.parametrize(
    ("df", "expected"), [(1, 12.7062), (2, 4.3027), (3, 3.1824), (5, 2.5706), (30, 2.0423)]
)
def test_t_quantile_matches_tables(df, expected):
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=1e-4)


def test_same_scenario_twice_differs_nowhere():
    """Common random numbers: the same policy on the same seeds gives the same runs."""
    result = compare("rongcheng", "rongcheng", replications=2, **SMALL)
    assert result.table.num_rows > 0
    assert result.changed().num_rows == 0
    assert not result.only_in_a and not result.only_in_b
    lines = result.lines()
    assert lines[-1] == "  no metric the two share differs: the change has no effect here"
    assert not any(line.lstrip().startswith("metric ") for line in lines)  # no empty table
    assert any(line.lstrip().startswith("metric ") for line in result.lines(show_all=True))


def test_dropping_informants_removes_their_records_only():
    # enough reports a day for three replications' interval: about one a day at 50,000 people
    # (8,000 gave 0.14, its interval -0.33 to 0.06, once acts and reporters had minimum ages)
    sized = {**SMALL, "people": 50_000}
    result = compare("rongcheng", "rongcheng", replications=3, drop_b=["informants"], **sized)
    rows = {(r["metric"], r["statistic"]): r for r in result.table.to_pylist()}
    informant = rows[("records_by_informant", "mean_per_day")]
    assert informant["a_mean"] > 0 and informant["b_mean"] == 0
    assert informant["diff_high"] < 0  # the interval excludes no change
    assert rows[("acts", "mean_per_day")]["changed"] is False  # same acts: same draws
    assert "informant_reports" in result.only_in_a and result.only_in_b == []
    assert all(c.startswith("informant") for c in result.only_in_a)
    assert result.b == "rongcheng without informants"


def test_paired_means_are_over_the_days_both_arms_have():
    from scslab.compare import _paired_statistics

    nan = float("nan")
    a, b = _paired_statistics(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, nan, nan]))
    assert a[0] == b[0] == 1.5  # not A's 2.5 over four days against B's 1.5 over two
    assert a[1] == 4.0 and np.isnan(b[1])  # the last day as it is


def test_a_value_on_some_day_in_one_arm_only_is_a_change(monkeypatch):
    """Both statistics NaN in both arms (A never has a value, B only before its last day), yet B
    measured something: compare() marks its mean changed (the last day is null in both)."""
    from types import SimpleNamespace

    import pyarrow as pa

    from scslab import compare as compare_module

    nan = float("nan")
    tables = {
        "A": pa.table({"day": [0, 1, 2], "ratio": [nan, nan, nan], "same": [1, 2, 3]}),
        "B": pa.table({"day": [0, 1, 2], "ratio": [0.8, 0.85, nan], "same": [1, 2, 3]}),
    }
    monkeypatch.setattr(
        compare_module,
        "_run_arm",
        lambda sc, seed, arm, dropped: SimpleNamespace(metrics=tables[arm]),
    )
    result = compare("rongcheng", "rongcheng", people=2_000, days=3, replications=1)
    changed = {(r["metric"], r["statistic"]) for r in result.changed().to_pylist()}
    assert changed == {("ratio", "mean_per_day")}  # no common day; the last is null in both


def test_a_programme_stopped_in_one_arm_shows_as_changed():
    """Suining's backlash ends its programme in B only: the stopped mechanisms' last-day values
    are null in B and count as changed; before, NaN differences read as no change."""
    result = compare(
        "suining_2010", "suining_2010", drop_a="backlash", replications=2, people=5_000, days=250
    )
    rows = {(r["metric"], r["statistic"]): r for r in result.table.to_pylist()}
    for metric in ("suining_points_grade_C", "score_sanctions_licences_refused"):
        final = rows[(metric, "final")]
        assert final["changed"] and np.isnan(final["b_mean"]) and not np.isnan(final["a_mean"])
        assert (metric, "final") in {
            (r["metric"], r["statistic"]) for r in result.changed().to_pylist()
        }
    # the same mechanisms before the end, over the same days: no difference
    assert not rows[("score_sanctions_licences_refused", "mean_per_day")]["changed"]


def test_dropping_a_programme_member_drops_it_from_the_backlash_programme():
    """rongcheng's backlash follows the court list and travel bans as one programme: dropping the
    bans leaves the programme the list (it was refused, naming the bans); dropping the only
    member of a programme drops the programme; a drop that would leave no programme is refused
    at set-up, naming the member."""
    sc = load_scenario("rongcheng")
    programmes = sc.without_mechanism("travel_bans").mechanisms["backlash"].programmes
    assert programmes["court_list"].mechanisms == ["court_list"]
    assert programmes["rongcheng"].mechanisms == ["rongcheng_points", "informants"]
    points = sc.without_mechanism("rongcheng_points").mechanisms["backlash"].programmes
    assert points["rongcheng"].mechanisms == ["informants"]
    neither = sc.without_mechanism("rongcheng_points").without_mechanism("informants")
    assert set(neither.mechanisms["backlash"].programmes) == {"court_list"}
    result = compare("rongcheng", "rongcheng", drop_b="travel_bans", replications=1, **SMALL)
    assert "flight_purchases_blocked" in result.only_in_a
    alone = sc.with_mechanism("backlash", programmes={"bans": {"mechanisms": ["travel_bans"]}})
    with pytest.raises(ScenarioError, match="'travel_bans' is not an enabled mechanism"):
        api.run(alone.without_mechanism("travel_bans").with_overrides(people=2_000, days=2))


def test_compare_refuses_bad_input():
    with pytest.raises(ScenarioError, match="not in this scenario; it has"):
        compare("rongcheng", "rongcheng", drop_b=["no_such_thing"], **SMALL)
    with pytest.raises(ScenarioError, match="replications"):
        compare("rongcheng", "rongcheng", replications=0, **SMALL)
    with pytest.raises(ScenarioError, match="same days"):
        compare("rongcheng", "sesame_credit", people=1000)


def test_cli_compare_prints_and_writes(tmp_path, capsys):
    out = tmp_path / "cmp"
    argv = ["compare", "rongcheng", "rongcheng", "--drop-b", "informants", "--quiet"]
    argv += ["--people", "5000", "--days", "30", "--replications", "2", "--out", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "B = rongcheng without informants" in text and "records_by_informant" in text
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "comparison" and manifest["seeds"] == [1, 2]
    assert (out / "comparison.parquet").exists()
    assert main([*argv[:-2], "--out", str(out)]) == 2  # a folder with files is refused
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already exists" in err
    assert main(["compare", "rongcheng", "rongcheng", "--people", "0", "--quiet"]) == 2
    err = capsys.readouterr().err  # the flag, as run names it (it said scenario.people)
    assert err.count("\n") == 1 and "scslab: error: --people: " in err


def test_cli_compare_bad_mechanism_exits_2(capsys):
    code = main(["compare", "rongcheng", "rongcheng", "--drop-a", "nope", "--quiet"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("scslab: error:") and "nope" in err and "informants" in err


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    api.run("rongcheng", people=4000, days=20, out=root / "a")
    api.run("rongcheng", people=4000, days=25, seed=2, out=root / "nested" / "b")
    (root / "stray").mkdir()
    (root / "stray" / "manifest.json").write_text("{not json")  # skipped by name, not fatal
    return root


STRAY = "ignore:.*stray/manifest.json"
"""The stray manifest's warning, which ``test_query_sees_every_run`` checks."""


@pytest.mark.filterwarnings(STRAY)
def test_query_sees_every_run(runs):
    sql = "SELECT run, count(*) AS days FROM metrics GROUP BY run ORDER BY run"
    with pytest.warns(UserWarning, match=r"stray/manifest.json: cannot be read"):
        table = query(sql, runs)
    assert table.to_pylist() == [{"run": "a", "days": 20}, {"run": "nested/b", "days": 25}]
    meta = query("SELECT run, scenario, seed, status FROM runs ORDER BY run", runs).to_pylist()
    assert meta[1] == {"run": "nested/b", "scenario": "rongcheng", "seed": 2, "status": "complete"}


@pytest.mark.filterwarnings(STRAY)
def test_query_joins_runs_and_metrics(runs):
    table = query(
        "SELECT r.seed, max(m.day) AS last FROM metrics m JOIN runs r USING (run) "
        "GROUP BY r.seed ORDER BY r.seed",
        runs,
    )
    assert table.to_pylist() == [{"seed": 1, "last": 19}, {"seed": 2, "last": 24}]


@pytest.mark.filterwarnings(STRAY)
def test_query_errors_are_one_line(runs, tmp_path, monkeypatch):
    with pytest.raises(QueryError, match=r"query failed: .*views: harm_audit, metrics, runs\)"):
        query("SELECT nope FROM metrics", runs)
    with pytest.raises(QueryError, match="no run folders"):
        query("SELECT 1", tmp_path)
    with pytest.raises(QueryError, match="not a folder"):
        query("SELECT 1", tmp_path / "missing")
    monkeypatch.setitem(sys.modules, "duckdb", None)  # the extra is not installed
    with pytest.raises(QueryError, match=r"pip install 'scslab\[query\]'"):
        query("SELECT 1", runs)
    assert "scslab[query]" in EXTRA_HINT


def test_cli_query_formats(runs, capsys):
    assert main(["query", "SELECT count(*) AS n FROM runs", "--runs", str(runs)]) == 0
    assert "│ 2 │" in capsys.readouterr().out
    sql = "SELECT run, max(day) AS d FROM metrics GROUP BY run ORDER BY run"
    assert main(["query", sql, "--runs", str(runs), "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == ['"run","d"', '"a",19', '"nested/b",24']
    assert main(["query", sql, "--runs", str(runs), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0] == {"run": "a", "d": 19}
    nan = "SELECT 'nan'::DOUBLE AS r, 1.5::DOUBLE AS x, [1.0, 'inf'::DOUBLE] AS l"
    assert main(["query", nan, "--runs", str(runs), "--format", "json"]) == 0
    out = capsys.readouterr().out  # strict JSON: NaN and infinities are null, not NaN
    assert json.loads(out, parse_constant=pytest.fail) == [{"r": None, "x": 1.5, "l": [1.0, None]}]
    assert main(["query", "SELEC 1", "--runs", str(runs)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "query failed" in err


def test_a_sweeps_partial_run_folder_is_not_a_run(tmp_path):
    from scslab.query import run_folders

    api.run("rongcheng", people=2_000, days=3, out=tmp_path / "runs" / "p00000-r000")
    partial = tmp_path / "runs" / ".p00001-r000.partial-1a2b3c4d"
    api.run("rongcheng", people=2_000, days=2, out=partial)  # what a killed worker leaves
    assert [p.name for p in run_folders(tmp_path / "runs")] == ["p00000-r000"]


def test_arms_of_different_sizes_are_refused_and_people_sets_both(tmp_path):
    """B - A of arms at 2,000 and 4,000 people read the size as the policy's effect."""
    bigger = tmp_path / "bigger.toml"
    preset = resources.files("scslab.data.presets") / "rongcheng.toml"
    bigger.write_text(preset.read_text().replace("people = 100_000", "people = 4_000", 1))
    with pytest.raises(ScenarioError, match=r"A has 2,000 people and B 4,000: .*\(set --people\)"):
        compare(
            load_scenario("rongcheng").with_overrides(people=2_000),
            str(bigger),
            days=3,
            replications=1,
        )
    result = compare("rongcheng", str(bigger), people=2_000, days=3, replications=1)
    assert result.changed().num_rows == 0  # the same scenario at one size: nothing changed


def test_arms_at_different_scales_are_refused_and_scale_sets_both():
    with pytest.raises(ScenarioError, match=r"A's scale is 1 and B's 7,050 .*\(set --scale\)"):
        compare("rongcheng", "joint_punishment_2016", people=2_000, days=10, replications=1)
    result = compare(
        "rongcheng", "joint_punishment_2016", people=2_000, days=10, replications=1, scale=100
    )
    assert result.table.num_rows > 0


def test_seeds_past_the_largest_are_refused_before_any_run(monkeypatch, capsys):
    """The last replication's seed was refused after the first replication had run, naming the
    preset's scenario.seed rather than the flags given."""
    import scslab.compare as compare_module
    from scslab.scenario import MAX_SEED

    def no_run(*args, **kwargs):
        raise AssertionError("a run started")

    monkeypatch.setattr(compare_module, "_run_arm", no_run)
    with pytest.raises(ScenarioError, match=f"seed \\+ replications - 1 <= {MAX_SEED}"):
        compare("rongcheng", "rongcheng", people=1000, days=5, seed=MAX_SEED, replications=2)
    argv = ["compare", "rongcheng", "rongcheng", "--people", "1000", "--days", "5"]
    assert main([*argv, "--seed", str(MAX_SEED - 2), "--replications", "4"]) == 2
    assert capsys.readouterr().err == (
        f"scslab: error: seed: {MAX_SEED - 2} with 4 replications runs seeds up to "
        f"{MAX_SEED + 1}; allowed: seed + replications - 1 <= {MAX_SEED}\n"
    )
    with pytest.raises(AssertionError, match="a run started"):  # the largest seed itself runs
        compare("rongcheng", "rongcheng", people=1000, days=5, seed=MAX_SEED - 1, replications=2)
