"""The notebook API: tables as frames, the report's charts without a folder, a progress bar."""

from __future__ import annotations

import sys

import pyarrow as pa
import pytest

import scslab
from scslab.notebook import MissingExtraError, progress_bar
from scslab.report import charts, charts_of

SMALL = {"people": 5_000, "days": 100}  # the points start on day 92, so their mean is drawn


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("notebook") / "run"
    return scslab.run("rongcheng", **SMALL, seed=2, out=out, progress=True)


def test_tables_as_pandas(result):
    df = result.to_pandas()
    assert len(df) == SMALL["days"] and list(df.columns) == result.metrics.column_names
    audit = result.to_pandas("harm_audit")
    assert list(audit.columns) == ["section", "item", "value", "note"]
    assert len(audit) == len(result.harm_audit())
    assert result.table("harm_audit") is result.tables["harm_audit"]
    with pytest.raises(KeyError, match=r"this run has: metrics, .*harm_audit"):
        result.table("no_such_table")


def test_charts_need_no_folder_and_match_the_report(result):
    built = result.charts()
    assert {"lists", "innocents_listed", "mean_scores"} <= set(built)
    from_folder = charts(result.run_dir)
    assert set(built) == set(from_folder)
    for name, chart in built.items():
        assert chart.to_dict() == from_folder[name].to_dict(), name
    assert charts_of(result.metrics).keys() <= built.keys()  # the audit and groups are optional


def test_missing_libraries_name_the_extra(result, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    monkeypatch.setitem(sys.modules, "polars", None)
    monkeypatch.setitem(sys.modules, "altair", None)
    with pytest.raises(
        MissingExtraError, match=r"to_pandas\(\) needs pandas: pip install 'scslab\[notebook\]'"
    ):
        result.to_pandas()
    with pytest.raises(MissingExtraError, match=r"to_polars\(\) needs polars: pip install polars$"):
        result.to_polars()
    with pytest.raises(MissingExtraError, match=r"charts\(\) needs altair: .*scslab\[notebook\]"):
        result.charts()


def test_progress_bar_counts_days(capsys):
    seen = []
    with progress_bar(10, "demo") as (on_day, on_compile):
        on_compile(1)
        for day in (3, 7, 10):
            on_day(day)
            seen.append(day)
    err = capsys.readouterr().err
    assert "demo" in err and "10/10" in err
    assert seen == [3, 7, 10]


def test_progress_bar_without_tqdm_uses_rich(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with progress_bar(5, "demo") as (on_day, on_compile):
        on_compile(2)
        on_day(5)


def test_comparison_to_pandas():
    from scslab.compare import Comparison

    table = pa.table(
        {
            "metric": ["a", "b"],
            "statistic": ["final", "final"],
            "diff_mean": [0.0, 1.0],
            "changed": [False, True],
        }
    )
    comparison = Comparison("A", "B", [1], table, [], [])
    assert list(comparison.to_pandas(changed_only=True)["metric"]) == ["b"]
    assert len(comparison.to_pandas()) == 2


def test_a_progress_bar_calls_the_caller_s_callbacks_too():
    """``progress=True`` dropped a caller's ``on_day`` and let one that is no function pass."""
    seen: list[int] = []
    scslab.run("rongcheng", people=1_000, days=5, progress=True, on_day=seen.append)
    assert seen and seen[-1] == 5
    with pytest.raises(TypeError, match=r"^on_day: a function called with a count"):
        scslab.run("rongcheng", people=1_000, days=5, progress=True, on_day=5)
