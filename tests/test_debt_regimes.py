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
from scslab.engine.simulation import Simulation

DAYS = 200


def _owing(result: scslab.RunResult, drawn_before: int) -> tuple[int, int]:
    """Debtors still owing whose repayment wait was drawn before ``drawn_before``, and of them
    listed (``debt_day`` is the day of a debt's latest wait: its judgment, its listing, or a
    change of its regime since)."""
    sim = result.simulation
    debt, court_list = sim.mechanisms["debt"], sim.mechanisms["court_list"]
    owing = debt.judgment.get().astype(bool)
    drawn_day = debt.debt_day.astype(np.int64)
    old = owing & (drawn_day < drawn_before)
    return int(old.sum()), int((old & court_list.flag.get().astype(bool)).sum())


def test_a_debtor_judged_while_still_listed_repays_at_the_listed_hazard():
    # no listing ends by a repayment record (as when the court never records one): debtors who
    # repaid stay listed, and their next judgment finds them on the list
    sc = busy_rongcheng(people=20_000, days=DAYS).with_mechanism(
        "debt", repay_hazard=0.5, repay_hazard_listed=0.5, arrears_rate=0.002
    )
    stays = scslab.run(sc.with_mechanism("court_list", exit_acts=[]))
    old, listed = _owing(stays, DAYS - 20)
    # at 0.5 a day (0.15 for the poorest who lost an income), almost nobody whose wait was drawn
    # 20 days ago still owes; when such debtors' waits were dropped as drawn under another
    # regime, 586 did, all of them listed
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


def _live_waits(debt) -> np.ndarray:
    """Per person, the repayment waits in the calendar that would repay them when they fall due.

    A wait is live if the person still owes, it is of the debt's latest draw (its episode is the
    person's) and of the regime the person is in now (``debt._regime``), as ``debt._due`` checks.
    """
    from scslab.kernels.structs import field_values, fields_of
    from scslab.mechanisms.behaviour import debt as module

    def fields(record):
        return dict(zip((name for name, _ in fields_of(record)), field_values(record), strict=True))

    s = fields(debt.state)
    cal, listing, income = fields(s["calendar"]), fields(s["listing"]), fields(s["income"])
    listed = listing["flags"], listing["mask"]
    owing = debt.judgment.get().astype(bool)
    live = np.zeros(debt.debt_day.size, np.int64)
    for first in cal["head"]:
        e = first
        while e >= 0:
            pid, tag = int(cal["pid"][e]), int(cal["tag"][e])
            kind, episode = tag % module._TAG, tag // module._TAG
            if kind >= module.REPAY_UNLISTED and owing[pid] and debt.debt_day[pid] == episode:
                regime = module._regime(pid, *listed, income["flags"], income["mask"])
                live[pid] += kind == regime
            e = cal["nxt"][e]
    return live


def test_a_debtor_back_in_an_earlier_regime_has_one_wait_not_two():
    # every listing appealed and won 10 days in: the debtor is unlisted again, and the wait drawn
    # on the judgment day, before the listing, was under that regime too; at 1% a day for all,
    # both were live, and such debtors repaid about twice as fast as the unlisted hazard says
    sc = busy_rongcheng(people=20_000, days=120).with_mechanism(
        "debt", repay_hazard=0.01, repay_hazard_listed=0.01, arrears_rate=0.002
    )
    sc = sc.with_mechanism("court_list", appeal_share=1.0, appeal_success_true=1.0, appeal_days=10)
    sim = Simulation(sc)
    for _ in range(80):  # the waits of the 40 days left are in the calendar
        sim.step()
    debt = sim.get("debt")
    assert sim.get("court_list").appeals_won > 100
    live = _live_waits(debt)
    owing = debt.judgment.get().astype(bool)
    assert live.max() == 1, np.bincount(live)  # 2 for 64 debtors before (440 had 1)
    # at 1% a day a third of the waits fall in the 40 days left: the rest, after the run
    assert live[owing].sum() > 0.2 * owing.sum()
