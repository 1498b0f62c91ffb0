"""The engine's daily metric columns: nulls where a mechanism reports nothing, one owner each."""

from __future__ import annotations

import pytest

import scslab
from scslab.engine.mechanism import Metrics
from scslab.engine.simulation import Simulation


class _Irregular(Metrics):
    """Reports ``a`` daily, ``b`` on even days, ``c`` from day 3; the key order changes too."""

    name = "test_irregular_metrics"
    description = "test: columns that come and go"

    def step(self, sim: Simulation, day: int) -> None:
        pass

    def metrics(self, day: int) -> dict[str, float | int | None]:
        out: dict[str, float | int | None] = {}
        if day >= 3:
            out["c"] = 100 + day
        if day % 2 == 0:
            out["b"] = 10 + day
        out["a"] = day
        return dict(reversed(out.items())) if day % 3 == 0 else out


class _Squatter(Metrics):
    """Writes the column ``a`` that ``_Irregular`` owns, from day 2."""

    name = "test_squatter_metrics"
    description = "test: a column written by two mechanisms"

    def step(self, sim: Simulation, day: int) -> None:
        pass

    def metrics(self, day: int) -> dict[str, float | int | None]:
        return {"a": -1} if day >= 2 else {}


def _simulation(*names: str) -> Simulation:
    data = {
        "scenario": {"name": "metrics", "people": 300, "days": 7},
        "mechanisms": {name: {} for name in names},
    }
    return Simulation(scslab.scenario_from_dict(data))


def test_columns_hold_each_day_s_value_and_null_where_none_was_reported() -> None:
    sim = _simulation("test_irregular_metrics")
    sim.run()
    assert sim.columns["a"] == list(range(7))
    assert sim.columns["b"] == [10, None, 12, None, 14, None, 16]
    assert sim.columns["c"] == [None, None, None, 103, 104, 105, 106]
    assert sim.columns["day"] == list(range(7))


def test_a_column_written_by_two_mechanisms_is_refused_by_name() -> None:
    sim = _simulation("test_irregular_metrics", "test_squatter_metrics")
    sim.step()
    sim.step()
    with pytest.raises(RuntimeError, match="'a' is written by both"):
        sim.step()


def test_each_day_s_date_is_its_calendar_date_and_no_day_runs_past_the_last() -> None:
    sim = _simulation("test_irregular_metrics")
    sim.run()
    with pytest.raises(RuntimeError, match="days are done"):  # its numbers would be no run's
        sim.step()
    assert sim.columns["date"] == [sim.date_of(d).isoformat() for d in range(sim.days)]
    assert sim.columns["date"][0] == sim.start_date.isoformat()
