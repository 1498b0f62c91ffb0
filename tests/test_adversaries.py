"""Adversaries (``mechanisms/adversary/``): idle or off they change nothing, bit for bit; on, each
moves its metrics the way its description says, in both directions.

Most runs share two plan shapes (Sesame Credit alone, and with the four adversaries), so that the
compiled day plan is compiled twice for the whole file; parameters change values, not shapes.
"""

from __future__ import annotations

import math

import numpy as np

import scslab
from conftest import metrics_digests_by_threads
from scslab.catalogue import Source
from scslab.engine.simulation import Simulation
from scslab.population.attributes import trait
from scslab.scenario import Scenario

SESAME_SOURCES = {
    "credit_sources": ["bank", "court", "ecommerce", "black_market", "collusion"],
    "activity_sources": ["ecommerce", "black_market", "collusion"],
}
"""Sesame reads bought and traded records as its own data (faked purchases and repayments)."""

IDLE = {
    "black_market": {"purchase_rate": 0.0},
    "collusion": {"ring_share": 0.0},
    "data_breaches": {"leaks": []},
    "evasion": {"share": 0.0},
}
"""Each adversary present but with nothing to do."""


def sesame(people: int = 20_000, days: int = 90, seed: int = 5) -> Scenario:
    """Sesame Credit with every user from day 0, reading bought and traded records."""
    sc = scslab.load_scenario("sesame_credit").with_overrides(people=people, days=days, seed=seed)
    return sc.with_mechanism("sesame_credit", adoption_days=0, **SESAME_SOURCES)


def adversaries(sc: Scenario, **changes: dict) -> Scenario:
    """``sc`` with the four adversaries, idle unless ``changes`` gives a mechanism parameters."""
    for name, idle in IDLE.items():
        sc = sc.with_mechanism(name, **changes.get(name, idle))
    return sc


def columns(sc: Scenario) -> dict[str, list]:
    return scslab.run(sc).metrics.to_pydict()


def total(m: dict[str, list], col: str) -> int:
    return sum(v or 0 for v in m[col])


def test_idle_or_switched_off_adversaries_change_nothing_bit_for_bit():
    base = columns(sesame())
    idle = columns(adversaries(sesame()))
    off = sesame()
    for name in IDLE:
        off = off.with_mechanism(name, enabled=False, **IDLE[name])
    assert columns(off) == base
    shared = set(base) & set(idle)
    assert shared == set(base)  # the adversaries only add columns
    assert {c: idle[c] for c in shared} == base
    assert total(idle, "black_market_purchases_total") == 0
    assert total(idle, "collusion_ring_members") == 0
    assert total(idle, "data_breaches_people_exposed") == 0
    assert total(idle, "evasion_evaders") == 0


def test_python_loop_and_compiled_plan_agree_with_every_adversary_on():
    sc = adversaries(
        sesame(days=60),
        black_market={"purchase_rate": 2e-3},
        collusion={"ring_share": 0.2},
        data_breaches={"leaks": [{"date": "2015-02-10", "share": 0.5}], "screen_below": 700},
        evasion={"share": 0.3},
    )
    compiled = columns(sc)
    sim = Simulation(sc, compiled=False)
    sim.run()
    python = {c: v for c, v in sim.columns.items() if c in compiled}
    assert python == compiled
    for col in (
        "black_market_purchases_total",
        "collusion_traded_records_total",
        "data_breaches_people_exposed",
        "evasion_records_forgone",
    ):
        assert total(compiled, col) > 0, col


# Black market


def test_a_higher_price_means_fewer_buyers():
    cheap, dear = (
        columns(adversaries(sesame(), black_market={"purchase_rate": 2e-3, "price_yuan": price}))
        for price in (400.0, 4000.0)
    )
    bought_cheap = cheap["black_market_purchases_total"][-1]
    bought_dear = dear["black_market_purchases_total"][-1]
    assert bought_cheap > 2 * bought_dear > 0


def test_buyers_are_opportunists_and_their_scores_rise():
    sc = sesame(days=100)
    market = {"purchase_rate": 2e-3, "detection_rate": 0.0}
    on = Simulation(adversaries(sc, black_market=market))
    off = Simulation(adversaries(sc))
    off.run()
    delivered = []
    for _ in range(on.days):
        on.step()
        records = on.board.records
        delivered.append(records["pid"][records["source"] == Source.BLACK_MARKET])
    buyers = np.unique(np.concatenate(delivered))
    assert buyers.size > 100
    opportunism = np.array([trait(on.pop.keys.opportunism, int(p)) for p in buyers])
    assert opportunism.mean() > 0.6  # weight 1: 2/3 on average among buyers
    day = on.days - 1  # buyers of the last weeks have gained less, or nothing yet
    gain = on.mechanisms["sesame_credit"].scores(buyers, day) - off.mechanisms[
        "sesame_credit"
    ].scores(buyers, day)
    assert gain.mean() > 10  # the behaviour dimension: fake purchases count as activity
    assert (gain >= 0).mean() > 0.95


def test_higher_detection_detects_more_and_delivers_fewer_records():
    runs = [
        columns(adversaries(sesame(), black_market={"purchase_rate": 2e-3, "detection_rate": rate}))
        for rate in (0.0, 0.05, 1.0)
    ]
    detected = [m["black_market_detected_total"][-1] for m in runs]
    delivered = [total(m, "black_market_records_delivered") for m in runs]
    assert detected[0] == 0 < detected[1] < detected[2]
    assert delivered[0] > delivered[1] > delivered[2] == 0  # detected the day after: nothing
    for m, d in zip(runs, delivered, strict=True):
        assert total(m, "false_records_by_black_market") == d  # the ledger attributes them
    certain = runs[2]  # every buyer detected the next day (but the last day's buyers)
    last = certain["black_market_purchases"][-1]
    assert certain["black_market_detected_total"][-1] == (
        certain["black_market_purchases_total"][-1] - last
    )


# Collusion rings


def test_collusion_trades_rise_with_the_rate_and_detection_stops_them():
    def run(**ring):
        return columns(adversaries(sesame(), collusion={"ring_share": 0.2, **ring}))

    slow, fast = run(trade_rate=0.01), run(trade_rate=0.05)
    caught = run(trade_rate=0.05, detection_prob=1.0)
    assert slow["collusion_ring_members"][0] == fast["collusion_ring_members"][0] > 500
    assert 0 < total(slow, "collusion_traded_records") < total(fast, "collusion_traded_records")
    assert total(fast, "collusion_traded_records") == total(fast, "records_by_collusion")
    assert total(caught, "collusion_traded_records") == 0
    assert (
        caught["collusion_expelled_total"][-1] == 2 * caught["collusion_detected_trades_total"][-1]
    )
    assert caught["collusion_expelled_total"][-1] > 0
    # detected members get a penalty: fraud records that Sesame reads as credit damage
    assert total(caught, "sesame_credit_credit_changes") > total(
        fast, "sesame_credit_credit_changes"
    )


# Data breaches


def test_a_leak_exposes_its_share_and_employers_reject_on_it():
    def run(share, screening=0.2, below=700):
        leak = [{"date": "2015-02-10", "share": share}]
        return columns(
            adversaries(
                sesame(),
                data_breaches={"leaks": leak, "screening_share": screening, "screen_below": below},
            )
        )

    none, half = run(0.0), run(0.5)
    assert total(none, "data_breaches_people_exposed") == 0
    assert none["data_breaches_screening_rejections"][-1] == 0
    exposed = half["data_breaches_people_exposed"][-1]
    assert abs(exposed - 10_000) < 5 * math.sqrt(5_000)
    assert half["data_breaches_screening_rejections"][-1] > 0
    assert run(0.5, screening=0.0)["data_breaches_screening_rejections"][-1] == 0
    everyone = run(1.0, below=10_000)  # every user's leaked score is below the cut
    leak_day = 13  # 2015-02-10, from 2015-01-28
    assert (
        everyone["data_breaches_exposed_below_cutoff"][-1]
        == (everyone["sesame_credit_users"][leak_day])
    )
    assert (
        everyone["data_breaches_screening_rejections"][-1]
        > half["data_breaches_screening_rejections"][-1]
    )


def test_two_leaks_expose_their_union():
    leaks = [{"date": "2015-02-01", "share": 0.3}, {"date": "2015-03-01", "share": 0.4}]
    m = columns(adversaries(sesame(days=60), data_breaches={"leaks": leaks}))
    expected = 20_000 * (1 - 0.7 * 0.6)
    assert abs(m["data_breaches_people_exposed"][-1] - expected) < 5 * math.sqrt(expected)
    assert m["data_breaches_people_exposed"][10] < 0.35 * 20_000  # only the first by then


# Evasion


def test_evasion_lowers_evaders_records_and_costs_them_their_good_records():
    base = columns(adversaries(sesame()))
    partly = columns(adversaries(sesame(), evasion={"share": 0.5, "coverage_factor": 0.3}))
    fully = columns(
        adversaries(sesame(), evasion={"share": 1.0, "weight": 0.0, "coverage_factor": 0.0})
    )
    seen = [total(m, "records_by_ecommerce") for m in (base, partly, fully)]
    assert seen[0] > seen[1] > seen[2] == 0
    # the same draws: every purchase e-commerce saw is now a record forgone
    assert total(fully, "evasion_records_forgone") == seen[0]
    assert total(partly, "evasion_records_forgone") == seen[0] - seen[1]
    assert fully["evasion_evaders"][0] == 20_000
    assert total(base, "evasion_records_forgone") == 0
    # the cost: without recorded purchases the behaviour dimension falls
    assert fully["sesame_credit_mean"][-1] < base["sesame_credit_mean"][-1] - 10


# The whole 2020 system


def test_integrated_2020_with_every_adversary_stays_compiled_within_12_bytes():
    sc = scslab.load_scenario("integrated_2020").with_overrides(people=20_000, days=60)
    sc = sc.with_mechanism("sesame_credit", **SESAME_SOURCES)
    sc = adversaries(
        sc,
        black_market={"purchase_rate": 1e-3},
        collusion={"ring_share": 0.1},
        data_breaches={"leaks": [{"date": "2020-01-15", "share": 0.7}]},
        evasion={"share": 0.2},
    )
    r = scslab.run(sc, compiled=True)
    assert r.manifest["engine"] == "compiled"
    assert r.manifest["bytes_per_person"] <= 12
    m = r.metrics.to_pydict()
    assert total(m, "evasion_acts_hidden") > 0  # camera offences hidden
    assert total(m, "records_by_black_market") > 0
    assert total(m, "records_by_collusion") > 0
    assert m["data_breaches_people_exposed"][-1] > 0.6 * 20_000
    assert m["tie_cutting_ties_cut"][-1] > 0  # its one stored tie a person fits in the 12 bytes


def test_adversaries_give_the_same_results_with_one_or_two_threads(tmp_path):
    args = "people=20_000, days=40"
    digests = metrics_digests_by_threads(tmp_path, "test_adversaries", "busy_adversaries", args)
    assert digests[0] == digests[1]


def busy_adversaries(people: int = 20_000, days: int = 40) -> Scenario:
    """Sesame with the four adversaries busy (for the thread-count check)."""
    return adversaries(
        sesame(people=people, days=days),
        black_market={"purchase_rate": 2e-3, "detection_rate": 0.05},
        collusion={"ring_share": 0.2},
        data_breaches={"leaks": [{"date": "2015-02-10", "share": 0.5}], "screen_below": 700},
        evasion={"share": 0.3},
    )
