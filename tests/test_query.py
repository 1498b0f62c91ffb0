"""`scslab query`: bad input is one line, a damaged run is skipped by name, nothing is written."""

from __future__ import annotations

import shutil

import pytest

from scslab import api
from scslab.cli import main
from scslab.query import QueryError, query

pytest.importorskip("duckdb")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    api.run("rongcheng", people=1000, days=3, out=root / "a")
    api.run("rongcheng", people=1000, days=4, seed=2, out=root / "b")
    return root


@pytest.mark.parametrize("limit", ["0", "-1"])
def test_a_limit_below_1_is_refused(runs, capsys, limit):
    assert main(["query", "SELECT * FROM runs", "--runs", str(runs), "--limit", limit]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith("scslab: error: Invalid value for '--limit'"), captured.err
    assert main(["query", "SELECT * FROM runs", "--runs", str(runs), "--limit", "1"]) == 0
    assert "(1 more rows" in capsys.readouterr().out


@pytest.mark.parametrize("sql", ["", "   ", " ; ", "/* nothing */"])
def test_empty_sql_is_refused(runs, capsys, sql):
    with pytest.raises(QueryError, match="empty SQL"):
        query(sql, runs)
    assert main(["query", sql, "--runs", str(runs)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("scslab: error: empty SQL") and err.count("\n") == 1, err


def test_a_damaged_table_is_skipped_by_name(runs, tmp_path, capsys):
    root = tmp_path / "runs"
    shutil.copytree(runs, root)
    (root / "b" / "metrics.parquet").write_bytes(b"not parquet at all")
    sql = "SELECT run, count(*) AS days FROM metrics GROUP BY run ORDER BY run"
    with pytest.warns(UserWarning, match=r"b/metrics.parquet: not a readable Parquet file"):
        assert query(sql, root).to_pylist() == [{"run": "a", "days": 3}]
    assert main(["query", "SELECT count(*) AS n FROM runs", "--runs", str(root)]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith(f"scslab: warning: {root / 'b' / 'metrics.parquet'}: not a ")
    assert captured.err.endswith("left out of the view metrics\n")
    assert "2" in captured.out  # both runs are still in the runs view


def test_a_table_no_run_could_give_is_named_as_unreadable(runs, tmp_path, capsys):
    """With every run's metrics damaged, DuckDB said only "Table with name metrics does not
    exist! Did you mean ...": the refusal now says that none could be read."""
    root = tmp_path / "runs"
    shutil.copytree(runs, root)
    for run in ("a", "b"):
        (root / run / "metrics.parquet").write_bytes(b"not parquet at all")
    with (
        pytest.warns(UserWarning, match="not a readable Parquet file"),
        pytest.raises(QueryError, match=r"^query failed: no run's metrics.parquet could be read"),
    ):
        query("SELECT count(*) FROM metrics", root)
    with (  # a table that was never there keeps DuckDB's own words
        pytest.warns(UserWarning, match="not a readable Parquet file"),
        pytest.raises(QueryError, match="Table with name nothing does not exist"),
    ):
        query("SELECT count(*) FROM nothing", root)


def test_sql_that_starts_with_a_dash_is_told_to_come_after_two_dashes(runs, capsys):
    """``scslab query "-- a comment"`` read the SQL as an unknown option, with no way out."""
    assert main(["query", "-1 + 2", "--runs", str(runs)]) == 2
    assert capsys.readouterr().err == (  # click names "-1": the hint quotes the whole value
        "scslab: error: No such option: -1; a value that starts with '-' goes after --, as in: "
        "-- '-1 + 2'\n"
    )
    for value in ("-0.5", "-x y"):
        assert main(["query", value, "--runs", str(runs)]) == 2
        assert f"goes after --, as in: -- '{value}'\n" in capsys.readouterr().err
    assert main(["query", "SELECT 1", "--runs", str(runs), "-z"]) == 2  # a mistyped flag
    assert capsys.readouterr().err == "scslab: error: No such option: -z\n"
    assert main(["query", "--runs", str(runs), "--", "-- comment\nSELECT 41 + 1 AS n"]) == 0
    assert "42" in capsys.readouterr().out


def test_a_damaged_manifest_is_skipped_by_name(runs, tmp_path, capsys):
    root = tmp_path / "runs"
    shutil.copytree(runs, root)
    (root / "b" / "manifest.json").write_text("{bad")
    with pytest.warns(UserWarning, match=r"b/manifest.json: cannot be read \(not valid JSON\)"):
        assert query("SELECT run FROM runs", root).to_pylist() == [{"run": "a"}]
    assert main(["query", "SELECT count(*) AS n FROM runs", "--runs", str(root)]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.endswith("its run is left out\n"), err


def test_csv_of_a_list_column_is_refused_in_one_line(runs, capsys):
    sql = "SELECT [1, 2] AS pair, 3 AS n"
    assert main(["query", sql, "--runs", str(runs), "--format", "csv"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert "--format csv: column pair holds lists or structs" in captured.err
    assert main(["query", sql, "--runs", str(runs), "--format", "json"]) == 0
    assert '"pair": [1, 2]' in capsys.readouterr().out


def test_queries_write_nothing_and_read_only_the_runs(runs, tmp_path):
    metrics = runs / "a" / "metrics.parquet"
    before = metrics.read_bytes()
    target = tmp_path / "x.csv"
    for sql, message in [
        (f"COPY (SELECT * FROM runs) TO '{target}'", "COPY statements are not allowed"),
        (
            f"SELECT 1; COPY (SELECT 42 AS day) TO '{metrics}' (FORMAT parquet, USE_TMP_FILE 0)",
            "COPY statements are not allowed",
        ),
        (f"ATTACH '{tmp_path / 'db.duckdb'}'", "ATTACH statements are not allowed"),
        ("INSTALL httpfs", "^INSTALL statements are not allowed"),  # DuckDB's type: LOAD
        ("checkpoint", "^CHECKPOINT statements are not allowed"),  # DuckDB's type: CALL
        ("WITH t AS (SELECT 1 AS a) INSERT INTO x SELECT * FROM t", "^INSERT statements are not"),
        ("SET enable_external_access = true", "^SET statements are not allowed"),
        (f"SELECT * FROM read_csv('{runs / 'a' / 'manifest.json'}')", "Permission Error"),
    ]:
        with pytest.raises(QueryError, match=message):
            query(sql, runs)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert metrics.read_bytes() == before
    assert query("SELECT count(*) AS n FROM metrics", runs).to_pylist() == [{"n": 7}]
    assert query("DESCRIBE metrics", runs).num_rows > 2
    with pytest.raises(QueryError, match="2 statements; scslab query answers one at a time"):
        query("SELECT 1; SELECT 2", runs)  # it printed the second's answer alone
