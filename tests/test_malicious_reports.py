"""Reporting by the masses: rewards, malicious reports and verification that errs both ways.

Switched off (the defaults) nothing changes, bit for bit; switched on, each part moves its metric
the way ``docs/reporting.md`` says, in both directions. Every run is one scenario shape (busy
Rongcheng with a tax blacklist that any source's record can fill and travel bans on that list),
in two record types: without malicious reports (their rule is None, so their kernels are not
compiled) and with them. Otherwise only parameter values change.
"""

from __future__ import annotations

import hashlib
import math
from functools import cache

import numba
import numpy as np
import pyarrow as pa
import pytest
from numba import njit, types

import scslab
from conftest import busy_rongcheng, daily_informant_records
from scslab.engine.simulation import Simulation
from scslab.kernels.traits import trait
from scslab.population.attributes import NEIGHBOURHOOD, community_tie, local_group
from scslab.population.geography import region_of

DAYS = 60

BASE_COMMIT_DIGESTS = {
    "day": "74ddd3b90902",
    "date": "ed7f582aa17f",
    "acts_traffic_offence": "2b0fc0a45a70",
    "acts_prosocial_act": "79a3c06c4506",
    "acts_online_criticism": "ad5c18e11f37",
    "acts_petitioning": "17e6825157f1",
    "debt_new_arrears": "9ca2209b15af",
    "debt_judgments": "f5e4d7898d46",
    "debt_judgments_repaid": "02e7a5bda7b2",
    "observed_true_records": "27d3669b23bd",
    "observed_missed_acts": "fef753d47b2c",
    "observed_false_records": "5fdafdc06f5b",
    "informant_reports": "9fbdf0291eca",
    "rongcheng_points_enrolled": "77e91c7442a4",
    "rongcheng_points_mean": "21cda3deaf1c",
    "rongcheng_points_false_record_changes": "5fdafdc06f5b",
    "rongcheng_points_grade_AAA": "5fdafdc06f5b",
    "rongcheng_points_grade_AA": "839351533aa8",
    "rongcheng_points_grade_A": "c45586f99b6f",
    "rongcheng_points_grade_B": "e2c651195629",
    "rongcheng_points_grade_C": "5fdafdc06f5b",
    "rongcheng_points_grade_D": "5fdafdc06f5b",
    "court_list_size": "b08d731e3f2f",
    "court_list_entries": "67ca3a4e3f11",
    "court_list_exits": "910ffaec5aaa",
    "court_list_persons_ever_listed": "16bdc9927a4e",
    "court_list_household_members_of_listed": "ff71fae36bb6",
    "court_list_innocents_listed": "5fdafdc06f5b",
    "court_list_appeals_filed": "708e2e9f06ca",
    "court_list_appeals_won": "5fdafdc06f5b",
    "court_list_repaired": "5fdafdc06f5b",
    "persons_ever_listed": "16bdc9927a4e",
    "persons_complied_after_listing": "3f587af2ffad",
    "tax_blacklist_size": "5fdafdc06f5b",
    "tax_blacklist_entries": "5fdafdc06f5b",
    "tax_blacklist_exits": "5fdafdc06f5b",
    "tax_blacklist_persons_ever_listed": "5fdafdc06f5b",
    "tax_blacklist_household_members_of_listed": "5fdafdc06f5b",
    "tax_blacklist_innocents_listed": "5fdafdc06f5b",
    "flight_purchases_blocked": "5fdafdc06f5b",
    "train_purchases_blocked": "5fdafdc06f5b",
    "flight_purchases_blocked_innocent": "5fdafdc06f5b",
    "train_purchases_blocked_innocent": "5fdafdc06f5b",
    "acts": "94a685db63b1",
    "records_true": "20ffcb1ba21d",
    "records_false": "5fdafdc06f5b",
    "records_by_camera": "b43a338eed70",
    "records_by_bank": "0f0e7ebbdcba",
    "records_by_court": "6334498d8179",
    "records_by_platform": "494140d38aa0",
    "records_by_official": "5d914a553d87",
    "records_by_informant": "9fbdf0291eca",
    "records_by_bike_sharing": "5fdafdc06f5b",
    "records_by_ecommerce": "5fdafdc06f5b",
    "records_by_social_platform": "5fdafdc06f5b",
    "records_by_tax": "5fdafdc06f5b",
    "records_by_utility": "5fdafdc06f5b",
    "false_records_by_camera": "5fdafdc06f5b",
    "false_records_by_bank": "5fdafdc06f5b",
    "false_records_by_court": "5fdafdc06f5b",
    "false_records_by_platform": "5fdafdc06f5b",
    "false_records_by_official": "5fdafdc06f5b",
    "false_records_by_informant": "5fdafdc06f5b",
    "false_records_by_bike_sharing": "5fdafdc06f5b",
    "false_records_by_ecommerce": "5fdafdc06f5b",
    "false_records_by_social_platform": "5fdafdc06f5b",
    "false_records_by_tax": "5fdafdc06f5b",
    "false_records_by_utility": "5fdafdc06f5b",
}
"""Every metric column of ``_scenario()`` at commit 3de9d9f, before rewards, malicious reports and
verification existed (SHA-256 of the column's values, as in ``benchmarks.digests``). To
regenerate after a deliberate change of another mechanism, run ``_digests(_run())`` on the
commit before this file's. The columns that read income (the debt cycle, the court list, the
records and the points) were regenerated so on 2026-12-06, when income quintiles became
fifths of China (``population/attributes.income_class``), and the columns that read ages (the
debt cycle, which only adults enter, and what it feeds) again the same day, when a household's
head became an adult and 17.95% of people children (``population/attributes.age``), and the
columns that read everyday acts again the same day, when traffic offences became acts of people of
18 or more (``catalogue.MIN_AGE``), and once more that evening, when every act got a minimum age
and reporters one of 14 (the acts, their records, the points and the reports); the rest are
3de9d9f's."""

NEW_COLUMNS = {
    "informant_reports_accepted",
    "informant_false_reports",
    "informant_false_reports_accepted",
    "informant_false_share",
    "informant_rewards_paid_yuan",
    "informant_ever_informed_share",
    "informant_caused_listings",
    "informant_caused_sanctions",
}


def _scenario(**informants: object) -> scslab.Scenario:
    sc = busy_rongcheng(people=10_000, days=DAYS)
    sc = sc.with_mechanism("tax_blacklist", type="record_list", entry_acts=["tax_evasion"])
    sc = sc.with_mechanism("travel_bans", list="tax_blacklist")
    return sc.with_mechanism("informants", false_act="tax_evasion", **informants)


@cache
def _cached_run(informants: tuple[tuple[str, object], ...]) -> pa.Table:
    return scslab.run(_scenario(**dict(informants))).metrics


def _run(**informants: object) -> pa.Table:
    """The metrics of ``_scenario(**informants)`` (each parameter set run once per session)."""
    return _cached_run(tuple(sorted(informants.items())))


def _digests(table: pa.Table) -> dict[str, str]:
    return {
        c: hashlib.sha256(repr(table[c].to_pylist()).encode()).hexdigest()[:12]
        for c in table.column_names
    }


def _total(table: pa.Table, col: str) -> float:
    return sum(table[col].to_pylist())


def _last(table: pa.Table, col: str) -> float:
    return table[col][-1].as_py()


def test_defaults_reproduce_the_results_from_before_bit_for_bit():
    now = _digests(_run())
    changed = sorted(c for c, d in BASE_COMMIT_DIGESTS.items() if now.get(c) != d)
    assert not changed, f"columns that changed from the base commit: {changed}"
    added = set(now) - set(BASE_COMMIT_DIGESTS)
    # mechanisms and sources added since (face recognition, backlash...) add their own columns
    assert {c for c in added if c.startswith("informant")} == NEW_COLUMNS


def test_malicious_reports_compile_only_where_someone_may_file_one():
    """Off, the record holds no rule and numba drops the malicious-report kernels unseen."""
    from scslab.kernels.structs import fields_of
    from scslab.mechanisms.reporting import informants as module

    def simulation(**informants: object) -> Simulation:
        return Simulation(_scenario(**informants).with_overrides(people=500, days=1))

    for on in ({"malicious_rate": 4e-4}, {"claimant_share": 1e-3}):
        rule = dict(fields_of(simulation(**on).get("informants").state))["malicious"]
        assert (
            isinstance(rule, types.BaseNamedTuple) and rule.instance_class is module.MaliciousRule
        )
    off = simulation()
    state = off.get("informants").state
    rule = dict(fields_of(state))["malicious"]
    assert rule == types.none
    fresh = njit(module._false_reports.dispatcher.py_func)  # typed here, not from the cache
    args = (numba.typeof(state), rule, types.int64, types.float64, numba.typeof(off.board.native))
    fresh.compile(args)
    typed = fresh.overloads[args].fndesc.typemap.values()
    assert not [t for t in typed if isinstance(t, types.Dispatcher)]  # calls no kernel at all


def test_rejected_malicious_reports_change_nothing_but_the_filing_counts():
    off = _run()
    rejected = _run(malicious_rate=4e-4, accept_false=0.0)
    assert _total(rejected, "informant_false_reports") > 100
    assert _total(rejected, "informant_false_reports_accepted") == 0
    assert _total(rejected, "false_records_by_informant") == 0
    assert _last(rejected, "informant_caused_listings") == 0
    filing = {"informant_reports", "informant_false_reports", "informant_false_share"}
    filing |= {"informant_ever_informed_share"}
    for col in off.column_names:
        if col not in filing:
            assert rejected[col].equals(off[col]), col


def test_malicious_reports_list_and_sanction_innocents_more_as_their_rate_rises():
    runs = [_run(), _run(malicious_rate=1e-4, accept_false=1.0)]
    runs.append(_run(malicious_rate=4e-4, accept_false=1.0))
    false_records = [_total(m, "false_records_by_informant") for m in runs]
    caused = [_last(m, "informant_caused_listings") for m in runs]
    innocents = [_last(m, "tax_blacklist_innocents_listed") for m in runs]
    sanctions = [_last(m, "informant_caused_sanctions") for m in runs]
    assert false_records[0] == caused[0] == innocents[0] == sanctions[0] == 0
    assert 0 < false_records[1] < false_records[2]
    assert 0 < caused[1] < caused[2]
    assert 0 < innocents[1] < innocents[2]
    assert sanctions[1] < sanctions[2] and sanctions[2] > 0
    # nobody evades tax here: every entry on the tax blacklist, and every attempt it blocks,
    # rests on an accepted malicious report
    assert caused[2] == _total(runs[2], "tax_blacklist_entries")
    blocked = _last(runs[2], "flight_purchases_blocked_innocent")
    blocked += _last(runs[2], "train_purchases_blocked_innocent")
    assert sanctions[2] == blocked


def test_verification_that_accepts_fewer_malicious_reports_lists_fewer_innocents():
    everything = _run(malicious_rate=4e-4, accept_false=1.0)
    some = _run(malicious_rate=4e-4, accept_false=0.3)
    filed = _total(some, "informant_false_reports")
    assert filed == _total(everything, "informant_false_reports")  # the same reports, checked
    accepted = _total(some, "informant_false_reports_accepted")
    assert abs(accepted - 0.3 * filed) < 4.5 * math.sqrt(filed * 0.3 * 0.7)
    assert _total(some, "false_records_by_informant") == accepted
    assert _last(some, "informant_caused_listings") < _last(everything, "informant_caused_listings")
    assert _last(some, "tax_blacklist_innocents_listed") < _last(
        everything, "tax_blacklist_innocents_listed"
    )


def test_verification_that_rejects_true_reports_records_fewer_of_them():
    off = _run(report_prob=0.1)  # ties who report more often: more reports to check
    none = _run(report_prob=0.1, reject_true=1.0)
    half = _run(report_prob=0.1, reject_true=0.5)
    filed = _total(off, "informant_reports")
    assert filed > 100
    assert _total(none, "informant_reports") == _total(half, "informant_reports") == filed
    assert _total(none, "records_by_informant") == 0
    assert _total(none, "informant_reports_accepted") == 0
    accepted = _total(half, "records_by_informant")
    assert abs(accepted - 0.5 * filed) < 4.5 * math.sqrt(filed * 0.25)
    assert _total(off, "records_by_informant") == filed  # every true report accepted


def test_a_reward_raises_reports_and_is_paid_per_accepted_report():
    off = _run()
    rewarded = _run(reward_yuan=10_000.0)  # factor (1 + 10) ** 0.5, about 3.3
    assert _total(rewarded, "informant_reports") > 1.5 * _total(off, "informant_reports")
    accepted = _total(rewarded, "informant_reports_accepted")
    assert _last(rewarded, "informant_rewards_paid_yuan") == 10_000.0 * accepted
    assert _last(off, "informant_rewards_paid_yuan") == 0.0
    assert _last(rewarded, "informant_ever_informed_share") > _last(
        off, "informant_ever_informed_share"
    )
    # the reward moves malicious reports too
    unpaid = _total(_run(malicious_rate=1e-4, accept_false=1.0), "informant_false_reports")
    paid = _run(malicious_rate=1e-4, accept_false=1.0, reward_yuan=10_000.0)
    assert _total(paid, "informant_false_reports") > 2 * unpaid


def test_yuan_paid_are_scaled_like_the_reports_they_pay_for():
    """With ``scale`` K the yuan paid are K times the simulated ones, as the accepted reports are;
    shares are not scaled. The summary says which of its lines are in which units."""
    sc = _scenario(reward_yuan=100.0)
    one = _run(reward_yuan=100.0)
    result = scslab.run(sc.with_overrides(scale=100))
    ten = result.metrics
    assert _total(ten, "informant_reports_accepted") == 100 * _total(
        one, "informant_reports_accepted"
    )
    paid = _last(one, "informant_rewards_paid_yuan")
    assert paid > 0 and _last(ten, "informant_rewards_paid_yuan") == 100 * paid
    assert _last(ten, "informant_false_share") == _last(one, "informant_false_share")
    text = result.summary()
    assert "Harm audit (real-population units: x 100):" in text
    assert "the counts under What happened are simulated" in text


def test_a_few_professional_claimants_file_most_malicious_reports():
    params = {"claimant_share": 1e-3, "claimant_reports_per_day": 2.0, "accept_false": 1.0}
    sim = Simulation(_scenario(**params))
    claimants = sim.mechanisms["informants"].claimants.size
    assert 0 < claimants < 30  # about ten in 10,000
    for _ in range(DAYS):
        sim.step()
    false = sum(sim.columns["informant_false_reports"])
    expected = claimants * 2.0 * DAYS  # a Poisson number a day, two on average
    assert abs(false - expected) < 4.5 * math.sqrt(expected)
    informed = sim.columns["informant_ever_informed_share"][-1] * 10_000
    informed_without = _last(_run(), "informant_ever_informed_share") * 10_000
    # many reports, few reporters: the claimants, each counted among those who informed (not
    # only at most them: claimants never counted passed, a review found)
    assert claimants // 2 < round(informed - informed_without) <= claimants
    assert sim.columns["informant_false_share"][-1] > 0.5
    assert sim.columns["informant_caused_listings"][-1] > 0


@pytest.mark.parametrize("mean", [3.0, 599.0, 601.0, 746.0, 5_010.0, 1e6, 4_194_304.5])
def test_a_claimant_s_day_of_reports_is_the_poisson_quantile_at_any_mean(mean):
    """Above a mean of about 745, exp(-mean) is 0: each draw was the loop's guard, 50 (mean + 1)."""
    from scipy.stats import poisson

    from scslab.mechanisms.reporting.informants import _poisson

    u = np.random.default_rng(7).random(500)
    drawn = np.array([_poisson(x, mean) for x in u])
    assert (drawn == poisson.ppf(u, mean)).all()
    assert drawn.std() > 0.5 * math.sqrt(mean)  # not one count whatever the draw


def test_claimants_at_a_mean_above_745_a_day_file_about_that_many():
    params = {"claimant_share": 1e-3, "claimant_reports_per_day": 70.0, "accept_false": 1.0}
    params |= {"reward_yuan": 10_000.0, "reward_elasticity": 1.0}  # x 11: 770 a claimant a day
    sc = _scenario(**params).with_overrides(days=3)
    sim = Simulation(sc)
    sim.run()
    factor = 1.0 + 10_000.0 / sc.mechanisms["informants"].reward_reference_yuan
    claimants = sim.mechanisms["informants"].claimants.size
    expected = claimants * 70.0 * factor
    assert factor == pytest.approx(11.0) and expected > 745 * claimants
    for day in sim.columns["informant_false_reports"]:  # 38,550 a claimant a day before
        assert abs(day - expected) < 4.5 * math.sqrt(expected)


def _informed_opportunism(**informants: object) -> tuple[float, float, int]:
    """Mean opportunism of the people who ever informed, of everyone, and how many informed."""
    sim = Simulation(_scenario(**informants).with_overrides(people=15_000))
    sim.run()
    key = sim.pop.keys.opportunism
    everyone = np.array([trait(key, p) for p in range(sim.pop.n)])
    informed = sim.mechanisms["informants"].informed.get()
    return float(everyone[informed].mean()), float(everyone.mean()), int(informed.sum())


def test_informants_are_more_opportunistic_than_everyone_only_where_opportunism_weighs():
    # true reports (ties of offenders) and malicious reports (anyone), each alone
    for kind in ({"report_prob": 0.3}, {"report_prob": 0.0, "malicious_rate": 1e-3}):
        weighed, everyone, informed = _informed_opportunism(opportunism_weight=1.0, **kind)
        assert informed > 300, kind
        assert weighed > everyone + 0.1, kind  # 2/3 on average at weight 1, against 1/2
        alike, everyone, informed = _informed_opportunism(opportunism_weight=0.0, **kind)
        assert informed > 300, kind
        assert abs(alike - everyone) < 4.5 * 0.29 / math.sqrt(informed), kind


def _daily_malicious_reports(**informants: object) -> tuple[Simulation, list]:
    """Each day's reporters and the targets of that day's malicious reports, all accepted.

    Nobody reports a true act (``report_prob`` 0), so the informed bit, cleared before each day,
    holds the day's malicious reporters; every report is accepted, so its target is the person
    of an informant's false record.
    """
    params = {"report_prob": 0.0, "malicious_rate": 4e-4, "accept_false": 1.0, **informants}
    sim = Simulation(_scenario(**params))
    return sim, daily_informant_records(sim, true=False)


def _ties_of(sim: Simulation, pid: int, ties: int) -> set[int]:
    """``pid``'s first ``ties`` community ties, by the population's own rule."""
    pop = sim.pop
    bounds = pop.geography.bounds
    r = region_of(bounds, pid)
    lo, hi = int(bounds[r]), int(bounds[r + 1])
    locality = pop.params.tie_locality
    return {community_tie(pop.keys.ties, pid, k, lo, hi, locality) for k in range(ties)}


def _neighbours(sim: Simulation, pid: int) -> int:
    return local_group(sim.pop.keys.groups, pid, NEIGHBOURHOOD)


def test_malicious_reports_name_a_rival_tie_or_a_neighbour_as_rival_share_says():
    ties = 8  # the default
    for rival_share in (1.0, 0.0):
        sim, days = _daily_malicious_reports(rival_share=rival_share)
        reports = tie_targets = group_targets = 0
        for reporters, targets in days:
            rivals = set().union(*(_ties_of(sim, int(r), ties) for r in reporters))
            groups = {_neighbours(sim, int(r)) for r in reporters}
            for t in targets.tolist():
                assert t not in reporters  # nobody names themself
                reports += 1
                tie_targets += t in rivals
                group_targets += _neighbours(sim, t) in groups
        assert reports > 150, rival_share
        if rival_share == 1.0:
            assert tie_targets == reports  # every target is a tie of a reporter of the day
            assert group_targets < 0.7 * reports  # ties reach beyond the neighbourhood group
        else:
            assert group_targets == reports  # every target is a neighbour of a reporter
            assert tie_targets < 0.1 * reports  # 8 ties among 250 neighbours, at most
