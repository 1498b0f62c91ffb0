"""Which repayment regime a judgment debtor repays under, whenever the debt began.

A debtor repays at the hazard of their regime (unlisted, listed, listed without an income), and a
wait drawn under another regime is dropped when it falls due (``debt._regime``). So every debtor
must have a wait under the regime they are in: one judged while still on the list, and one the
list's warm start holds when the debt cycle starts after day 0.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import scslab
from conftest import busy_rongcheng

DAYS = 200


def _owing(result: scslab.RunResult, judged_before: int) -> tuple[int, int]:
    """Debtors judged in the run before ``judged_before`` and still owing, and of them listed."""
    sim = result.simulation
    debt, court_list = sim.mechanisms["debt"], sim.mechanisms["court_list"]
    owing = debt.judgment.get().astype(bool)
    judged_day = debt.debt_day.astype(np.int64)
    old = owing & (judged_day < judged_before)
    return int(old.sum()), int((old & court_list.flag.get().astype(bool)).sum())


def test_a_debtor_judged_while_still_listed_repays_at_the_listed_hazard():
    # no listing ends by a repayment record (as when the court never records one): debtors who
    # repaid stay listed, and their next judgment finds them on the list
    sc = busy_rongcheng(people=20_000, days=DAYS).with_mechanism(
        "debt", repay_hazard=0.5, repay_hazard_listed=0.5, arrears_rate=0.002
    )
    stays = scslab.run(sc.with_mechanism("court_list", exit_acts=[]))
    old, listed = _owing(stays, DAYS - 20)
    # at 0.5 a day (0.15 for the poorest who lost an income), almost nobody judged 20 days ago
    # still owes; when such debtors' waits were dropped as drawn under another regime, 586 did,
    # all of them listed
    assert old <= 5, (old, listed)
    usual = scslab.run(sc)  # and the same with listings that end on repayment
    assert _owing(usual, DAYS - 20)[0] <= 5


def _exits(result: scslab.RunResult, first: int) -> int:
    return int(np.nansum(result.metrics["court_list_exits"].to_numpy()[first:]))


def test_warm_started_debtors_repay_when_the_cycle_starts_after_day_0():
    sc = scslab.load_scenario("integrated_2020").with_overrides(people=20_000, days=120, seed=5)
    sc = sc.with_mechanism("debt", repay_hazard_listed=0.01)
    start = sc.meta.start_date
    later = sc.with_mechanism("debt", active_from=start + dt.timedelta(days=10))
    from_day_0, from_day_10 = scslab.run(sc), scslab.run(later)
    # about 150 listed on day 0 at 0.01 a day: most repay within the run, either way
    a, b = _exits(from_day_0, 10), _exits(from_day_10, 10)
    assert a > 60 and b > 0.6 * a, (a, b)
    assert _exits(from_day_10, 0) == _exits(from_day_10, 10)  # nobody repays before the cycle


def test_a_list_a_backlash_stopped_raises_no_repayment_after_its_last_day():
    # the court list's programme is abandoned on day 59; its last day's entries stay in its
    # record, and were read again every day: their hazard stacked until all had repaid
    sc = busy_rongcheng(people=40_000, days=DAYS).with_mechanism(
        "debt", repay_hazard=0.001, repay_hazard_listed=0.002
    )
    programmes = {
        "rongcheng": {"mechanisms": ["rongcheng_points"]},
        "court_list": {
            "mechanisms": ["court_list", "travel_bans"],
            "abandon_below": 0.99,
            "patience_days": 60,
        },
    }
    result = scslab.run(sc.with_mechanism("backlash", programmes=programmes))
    assert any("court_list by backlash" in line for line in result.summary().splitlines())
    sim = result.simulation
    court_list, debt = sim.mechanisms["court_list"], sim.mechanisms["debt"]
    last_entries = np.asarray(court_list.entered)
    owing = debt.judgment.get().astype(bool)
    listed = np.nonzero(court_list.flag.get())[0]
    others = np.setdiff1d(listed, last_entries)
    assert last_entries.size >= 10 and others.size > 300
    # at 0.002 a day most still owe, the last entries as much as those listed before them
    assert owing[others].mean() > 0.6
    assert owing[last_entries].mean() > 0.5, (owing[last_entries].sum(), last_entries.size)


def test_only_the_listed_lose_an_income_to_a_sector_that_reaches_families():
    # a household member blocked for another's listing never leaves the list: an income lost
    # there would never come back (1,542 never listed had lost theirs)
    sector = {"attempt_rate": 0.05, "enforcement": 1.0, "family_extension": True}
    sc = busy_rongcheng(people=20_000, days=150)
    sc = sc.with_mechanism(
        "joint_punishment", sectors={"jobs_family": {**sector, "income_loss": True}}
    )
    result = scslab.run(sc)
    sim = result.simulation
    lost = sim.pop.state.shared_flag("income_lost").get().astype(bool)
    court_list = sim.mechanisms["court_list"]
    listed = court_list.flag.get().astype(bool)
    ever = court_list.ever.get().astype(bool)
    assert (lost & listed).sum() > 100  # the listed lose it
    assert (lost & ~ever).sum() == 0  # household members never listed do not
    family = result.metrics["jobs_family_blocked_family"].to_numpy()[-1]
    assert family > 100  # though their attempts are blocked


def test_an_arrears_chance_above_1_is_refused_in_one_line():
    """arrears_rate 0.1 with a lowest quintile at 20 times it: the candidates' draw was capped at
    1 and everyone thinned by the cap, so the other quintiles drew about 0.05 a day, not 0.1."""
    sc = scslab.load_scenario("rongcheng")
    at_most_1 = {"arrears_rate": 0.05, "income_effect": [20, 1, 1, 1, 1], "compliance_weight": 0}
    assert sc.with_mechanism("debt", **at_most_1).mechanisms["debt"].arrears_rate == 0.05
    with pytest.raises(scslab.ScenarioError, match=r"mechanisms\.debt: .* is 2, a daily") as e:
        sc.with_mechanism("debt", **(at_most_1 | {"arrears_rate": 0.1}))
    assert "\n" not in str(e.value)
