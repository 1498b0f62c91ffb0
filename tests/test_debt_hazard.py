"""The listed repayment hazard's dated step (``debt.repay_factor_from``), in both directions.

The wait is drawn once, under the hazard before the date and after it (``kernels/hazard.py``):
nothing before the date changes, a factor above 1 raises compliance after it and one below 1
lowers it, a factor of 1 is no step to the bit, and the warm start of a list adds the hazard up
the same way.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from numba import njit

import scslab
from conftest import busy_rongcheng, cli_error_line
from scslab.engine.simulation import Simulation
from scslab.errors import ScenarioError
from scslab.kernels.hazard import (
    NO_STEP,
    SteppedHazards,
    no_step,
    stepped_geometric_days,
    stepped_hazard_sum,
)
from scslab.kernels.rng import geometric_days, stream_key
from scslab.mechanisms.lists.initial import still_listed_shares

DAYS, STEP = 150, 60
"""The busy Rongcheng's run, and the day its listed hazard steps."""


@njit(cache=True)
def _waits(key, day, n, hazard, late, step_day):
    out = np.empty(n, np.int64)
    for pid in range(n):
        out[pid] = stepped_geometric_days(key, day, pid, hazard, late, step_day)
    return out


@njit(cache=True)
def _plain_waits(key, day, n, hazard):
    out = np.empty(n, np.int64)
    for pid in range(n):
        out[pid] = geometric_days(key, day, pid, 0, hazard)
    return out


@njit(cache=True)
def _sum(hazard, late, step_day, first, days):
    return stepped_hazard_sum(hazard, late, step_day, first, days)


def test_no_step_is_the_plain_geometric_wait_to_the_bit():
    key = stream_key(1, "debt", "repay/5")
    plain = _plain_waits(key, 3, 50_000, 0.01)
    assert np.array_equal(_waits(key, 3, 50_000, 0.01, 0.01, 40), plain)  # factor 1
    assert np.array_equal(_waits(key, 3, 50_000, 0.01, 0.05, NO_STEP), plain)
    assert np.array_equal(
        _waits(key, 50, 50_000, 0.05, 0.01, 40), _plain_waits(key, 50, 50_000, 0.01)
    )
    assert _sum(0.01, 0.01, 40, 3.0, 17.0) == 0.01 * 17.0


@pytest.mark.parametrize("late", [0.002, 0.05])
def test_the_stepped_wait_follows_each_hazard_on_its_days(late):
    n, hazard, day, step = 400_000, 0.01, 0, 30
    waits = _waits(stream_key(2, "debt", "repay/5"), day, n, hazard, late, step)
    # before the step, waits are those of the first hazard: identical to the plain draw
    plain = _plain_waits(stream_key(2, "debt", "repay/5"), day, n, hazard)
    early = plain < step
    assert np.array_equal(waits[early], plain[early])
    # the share still waiting after each number of days is prod(1 - h) over them, within
    # sampling error, and the hazard added up is -log of it to first order in h
    for days in (10, 29, 30, 45, 90):
        expected = (1 - hazard) ** min(days, step - 1) * (1 - late) ** max(days - step + 1, 0)
        assert math.isclose(_sum(hazard, late, step, day, days), -math.log(expected), rel_tol=0.03)
        share = np.count_nonzero(waits > days) / n
        assert abs(share - expected) < 5 * math.sqrt(expected * (1 - expected) / n)


def test_the_added_hazard_counts_the_days_on_each_side_of_the_step():
    assert _sum(0.01, 0.03, 10, 0, 20) == pytest.approx(0.01 * 9 + 0.03 * 11)
    assert _sum(0.01, 0.03, 10, 15, 20) == pytest.approx(0.03 * 20)  # all after
    assert _sum(0.01, 0.03, 100, 0, 20) == pytest.approx(0.01 * 20)  # all before
    assert _sum(0.01, 0.03, -500, -400.0, 400.0) == pytest.approx(0.03 * 400)


def _complied(sc):
    return scslab.run(sc).metrics["persons_complied_after_listing"].to_pylist()


def _stepped(factor, day=STEP):
    sc = busy_rongcheng(people=20_000, days=DAYS)
    date = sc.meta.start_date + dt.timedelta(days=day)
    return sc.with_mechanism("debt", repay_factor_from={"date": date, "factor": factor})


def test_a_factor_moves_compliance_after_its_date_and_not_before():
    base = _complied(busy_rongcheng(people=20_000, days=DAYS))
    up, down = _complied(_stepped(4.0)), _complied(_stepped(0.25))
    assert up[:STEP] == base[:STEP] == down[:STEP]  # every day before the step: the same
    assert base[STEP - 1] > 50
    # in the weeks after the step, before the faster payers thin out the list
    after = [c[STEP + 20] - c[STEP - 1] for c in (down, base, up)]
    assert after[0] < 0.5 * after[1] and after[2] > 2.0 * after[1], after
    assert down[-1] < base[-1] < up[-1]


def test_a_factor_of_one_is_no_factor_to_the_bit():
    base = scslab.run(busy_rongcheng(people=20_000, days=DAYS)).metrics
    one = scslab.run(_stepped(1.0)).metrics
    assert base.equals(one)


def test_a_date_before_the_start_steps_the_whole_run():
    from_start = _complied(_stepped(4.0, day=0))
    before_start = _complied(_stepped(4.0, day=-400))
    assert from_start == before_start
    assert from_start[-1] > _complied(busy_rongcheng(people=20_000, days=DAYS))[-1]


def test_the_warm_start_adds_the_stepped_hazard_up():
    days, counts = np.asarray([-1000.0, 0.0]), np.asarray([0.0, 1.0])
    h = np.asarray([0.001, 0.002])
    plain = still_listed_shares(no_step(h), days, counts)
    late = still_listed_shares(no_step(3 * h), days, counts)
    assert np.all(late < plain)
    always = SteppedHazards(before=h, after=3 * h, step_day=-2000)
    never = SteppedHazards(before=h, after=3 * h, step_day=10)
    halfway = SteppedHazards(before=h, after=3 * h, step_day=-500)
    assert np.array_equal(still_listed_shares(always, days, counts), late)
    assert np.array_equal(still_listed_shares(never, days, counts), plain)
    mid = still_listed_shares(halfway, days, counts)
    assert np.all((late < mid) & (mid < plain))


def test_the_debt_cycle_hands_the_warm_start_its_step():
    sc = scslab.load_scenario("integrated_2020").with_overrides(people=2_000, days=1)
    sc = sc.with_mechanism("debt", repay_factor_from={"date": "2016-09-25", "factor": 2.5})
    debt = Simulation(sc).get("debt")
    step = debt.listed_repayment()
    assert step.step_day == (dt.date(2016, 9, 25) - dt.date(2020, 1, 1)).days
    assert np.allclose(step.after, 2.5 * step.before)
    assert np.allclose(
        step.before, debt.params.repay_hazard_listed * np.asarray([0.6, 0.8, 1.0, 1.2, 1.4])
    )


def test_the_warm_start_draws_its_listed_under_the_debt_s_step():
    """Who is still listed on the start date depends on how fast the listed repaid since they
    entered: a step dated before the start changes the warm start, and a factor of 1 is no
    step at all. (A review, 2026-12-07: the test above reads ``listed_repayment`` only; a warm
    start that dropped the step passed every test.)"""
    sc = scslab.load_scenario("integrated_2020").with_overrides(people=20_000, days=1, seed=3)

    def warm_start(factor: float | None) -> np.ndarray:
        step = None if factor is None else {"date": "2016-09-25", "factor": factor}
        sim = Simulation(sc.with_mechanism("debt", repay_factor_from=step), burn_in=False)
        return sim.get("court_list").flag.get().copy()

    none = warm_start(None)
    assert none.sum() > 100
    assert np.array_equal(warm_start(1.0), none)
    assert not np.array_equal(warm_start(8.8), none)


BAD = {
    "factor_zero": ("factor = 0", "repay_factor_from.factor"),
    "factor_large": ("factor = 1000", "repay_factor_from.factor"),
    "factor_text": ('factor = "fast"', "repay_factor_from.factor"),
    "no_date": (None, "repay_factor_from.date"),
    "bad_date": ('date = "2016-13-01"', "repay_factor_from.date"),
    "unknown_key": ("from = 2016-09-25", "repay_factor_from.from"),
}

SCENARIO = """
[scenario]
name = "stepped"
people = 2000
days = 5
start_date = "2016-01-01"

[mechanisms.everyday_acts]
[mechanisms.data_sources]
[mechanisms.court_list]
[mechanisms.debt.repay_factor_from]
"""


def _file(tmp_path, case):
    line, _ = BAD[case]
    lines = {"date": "date = 2016-09-25", "factor": "factor = 2.0"}
    if line is None:
        del lines["date"]
    else:
        lines[line.split(" = ")[0]] = line
    path = tmp_path / f"{case}.toml"
    path.write_text(SCENARIO + "\n".join(lines.values()) + "\n")
    return path


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_steps_are_refused_with_the_key(tmp_path, case):
    with pytest.raises(ScenarioError, match=BAD[case][1].replace(".", r"\.")) as err:
        scslab.load_scenario(str(_file(tmp_path, case)))
    assert "mechanisms.debt" in str(err.value) and "\n" not in str(err.value).strip()


def test_a_bad_step_gives_one_line_and_exit_2(tmp_path):
    path = _file(tmp_path, "factor_zero")
    line = cli_error_line("run", str(path), "--quiet", "--out", str(tmp_path / "r"))
    assert line.startswith(f"scslab: error: {path}: mechanisms.debt.repay_factor_from.factor")
    assert not (tmp_path / "r").exists()


def test_a_listing_list_the_run_lacks_does_nothing_and_the_summary_says_so():
    # dropped as compare's drops do (its table removed), misspelled, or never there: the debt
    # cycle runs without a list, as with none named, and its summary names the list it lacks
    base = scslab.load_scenario("state_outline_2014").with_overrides(people=2_000, days=20)
    named = base.with_mechanism("debt", listing_list="tax_blacklist")
    without = scslab.run(base.with_mechanism("debt", listing_list="")).summary()
    assert "listing_list" not in without
    for sc in (
        named.without_mechanism("tax_blacklist"),
        base.with_mechanism("debt", listing_list="tax_blacklst"),
    ):
        result = scslab.run(sc)
        assert "is not in this run (switched off, dropped or misspelled)" in result.summary()
    reads = scslab.run(named).summary()  # a list it has: no such line
    assert "is not in this run" not in reads
    # the debt's own columns do not depend on whether a missing list was named
    a = scslab.run(base.with_mechanism("debt", listing_list="tax_blacklst")).metrics
    b = scslab.run(base.with_mechanism("debt", listing_list="")).metrics
    assert a.to_pydict() == b.to_pydict()
