"""Adversaries (``mechanisms/adversary/``): idle or off they change nothing, bit for bit; on, each
moves its metrics the way its description says, in both directions.

Most runs share two scenario shapes (Sesame Credit alone, and with the four adversaries), so that
the kernels are compiled for few record types; parameters change values, not shapes. A run left
to choose its engine takes the compiled day plan once that is compiled and the Python loop before:
the test that compares the two engines forces each and checks the manifest says which ran.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

import scslab
from conftest import metrics_digests_by_threads
from scslab.catalogue import DATA_SOURCE_NAMES, Act, Source
from scslab.engine.simulation import Simulation
from scslab.mechanisms.adversary.fraud import FRAUD_DETECTED
from scslab.population.attributes import age, income_class, trait
from scslab.population.geography import region_of
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
    # the engine is forced on both sides: left to choose ("auto"), a run whose plan is not
    # compiled yet takes the Python loop, and this would compare the loop with itself
    plan = scslab.run(sc, compiled=True)
    loop = scslab.run(sc, compiled=False)
    assert plan.manifest["engine"] == "compiled"
    assert loop.manifest["engine"] == "python"
    compiled = plan.metrics.to_pydict()
    python = loop.metrics.to_pydict()
    assert set(python) == set(compiled)
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


def _with_and_without(
    source: Source, **adversary: dict
) -> tuple[Simulation, Simulation, np.ndarray]:
    """Sesame for 100 days with ``adversary`` at work and without it, both run; and the people
    who got a record from ``source`` (the adversary's beneficiaries), in order."""
    sc = sesame(days=100)
    on = Simulation(adversaries(sc, **adversary))
    off = Simulation(adversaries(sc))
    off.run()
    got = []
    for _ in range(on.days):
        on.step()
        records = on.board.records
        got.append(records["pid"][records["source"] == source])
    return on, off, np.unique(np.concatenate(got))


def test_buyers_are_opportunists_and_their_scores_rise():
    market = {"purchase_rate": 2e-3, "detection_rate": 0.0}
    on, off, buyers = _with_and_without(Source.BLACK_MARKET, black_market=market)
    assert buyers.size > 100
    opportunism = np.array([trait(on.pop.keys.opportunism, int(p)) for p in buyers])
    assert opportunism.mean() > 0.6  # weight 1: 2/3 on average among buyers
    day = on.days - 1  # buyers of the last weeks have gained less, or nothing yet
    gain = on.mechanisms["sesame_credit"].scores(buyers, day) - off.mechanisms[
        "sesame_credit"
    ].scores(buyers, day)
    assert gain.mean() > 10  # the behaviour dimension: fake purchases count as activity
    assert (gain >= 0).mean() > 0.95


def test_a_market_whose_boosts_its_score_would_not_count_is_refused():
    # Sesame as shipped reads no black_market record: a boost would change no score
    plain = scslab.load_scenario("sesame_credit").with_overrides(people=2_000, days=2)
    market = {"purchase_rate": 2e-3}
    with pytest.raises(
        scslab.ScenarioError, match=r"black_market\.score: 'sesame_credit' counts no"
    ) as e:
        Simulation(adversaries(plain, black_market=market))
    assert "\n" not in str(e.value)
    assert Simulation(adversaries(plain))  # an idle market (a baseline) sells nothing: accepted
    # read as activity alone, the boosts' purchases count (at the monthly pass): accepted
    activity = plain.with_mechanism("sesame_credit", activity_sources=["ecommerce", "black_market"])
    assert Simulation(adversaries(activity, black_market=market))
    with pytest.raises(scslab.ScenarioError, match=r"boost_records: a boost holds no record"):
        adversaries(plain, black_market={"boost_records": {"online_purchase": 0}})
    with pytest.raises(scslab.ScenarioError, match=r"by_quintile\.0: Input should be greater"):
        adversaries(plain, black_market={"income_yuan_by_quintile": [-1.0, 1.0, 2.0, 3.0, 4.0]})


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


def test_each_detection_posts_one_penalty_record_on_the_buyer_and_none_without_detection():
    """The penalty (``penalty_act`` from ``penalty_source``: commercial fraud from e-commerce) is
    one true record per detection, on the detected buyer, the day of the detection.

    In this scenario e-commerce records online purchases only, and the collusion rings are idle:
    a commercial-fraud record from e-commerce is a black-market penalty.
    """

    def penalties(detection_rate: float) -> tuple[Simulation, list[np.ndarray]]:
        market = {"purchase_rate": 2e-3, "detection_rate": detection_rate}
        sim = Simulation(adversaries(sesame(days=60), black_market=market))
        posted = []
        for _ in range(sim.days):
            sim.step()
            r = sim.board.records
            penalty = (r["source"] == Source.ECOMMERCE) & (r["act"] == Act.COMMERCIAL_FRAUD)
            assert r["true"][penalty].all()
            posted.append(r["pid"][penalty])
        return sim, posted

    sim, posted = penalties(0.05)
    per_day = [p.size for p in posted]
    assert per_day == sim.columns["black_market_detected"]
    assert sum(per_day) > 20
    # a detection is a purchase's: a buyer who bought twice before the first is penalised twice
    penalised = np.unique(np.concatenate(posted))
    detected = sim.pop.state.flags[FRAUD_DETECTED].get()
    assert np.array_equal(np.flatnonzero(detected), penalised)  # the penalised are the detected
    sim, posted = penalties(0.0)
    assert sim.columns["black_market_purchases_total"][-1] > 100
    assert sum(p.size for p in posted) == 0
    assert sim.pop.state.flags[FRAUD_DETECTED].count() == 0


def _buyers_by_quintile(income: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Purchases by the buyer's income quintile, and the scored people by quintile.

    Each boost is one record delivered the day after the purchase and nothing is detected, so
    the black-market records of a day are the purchases of the day before. Quintiles are the
    population's own (``income_class`` of the region's urban flag, as the market reads them).
    """
    market = {
        "purchase_rate": 0.01,
        "detection_rate": 0.0,
        "income_yuan_by_quintile": income,
        "boost_records": {"online_purchase": 1},
        "boost_days": 1,
    }
    sim = Simulation(adversaries(sesame(days=60), black_market=market))
    bought = []
    for _ in range(sim.days):
        sim.step()
        r = sim.board.records
        bought.append(r["pid"][r["source"] == Source.BLACK_MARKET])
    pop = sim.pop
    bounds = pop.geography.bounds

    def quintile(pid: int) -> int:
        return income_class(pop.keys.income, pid, region_of(bounds, pid) % 2 == 0)

    buyers = np.concatenate(bought)
    assert buyers.size == sum(sim.columns["black_market_purchases"][:-1])
    scored = np.flatnonzero(sim.mechanisms["sesame_credit"].has_score(np.arange(pop.n)))
    by_buyers = np.bincount([quintile(int(p)) for p in buyers], minlength=5)
    by_scored = np.bincount([quintile(int(p)) for p in scored], minlength=5)
    return by_buyers, by_scored


def test_who_buys_follows_what_each_income_quintile_can_afford():
    # affordability min(1, budget_share * income / price): 0.02 * income / 400
    everyone = [1e6] * 5  # every quintile can afford a boost
    poorest_cannot = [0.0, 10_000.0, 1e6, 1e6, 1e6]  # 0, then 0.5, then 1
    for income, afford in ((everyone, [1.0] * 5), (poorest_cannot, [0.0, 0.5, 1.0, 1.0, 1.0])):
        bought, scored = _buyers_by_quintile(income)
        assert bought.sum() > 1000
        weights = np.asarray(afford) * scored
        expected = bought.sum() * weights / weights.sum()
        for q in range(5):
            assert abs(bought[q] - expected[q]) <= 4.5 * math.sqrt(expected[q] + 1), (q, bought)
        if afford[0] == 0.0:
            assert bought[0] == 0  # nobody of the lowest quintile buys
        else:
            assert bought[0] > 0.1 * bought.sum()  # its share of the scored: it buys


@pytest.mark.parametrize(
    ("adversary", "params", "source"),
    [
        ("black_market", {"purchase_rate": 2e-3, "detection_rate": 0.0}, Source.BLACK_MARKET),
        (
            "collusion",
            {"ring_share": 0.2, "trade_rate": 0.05, "detection_prob": 0.0},
            Source.COLLUSION,
        ),
    ],
)
def test_with_no_opportunism_weight_buyers_and_members_are_like_anyone(adversary, params, source):
    """The other direction of the two tests of opportunists (weight 1: a mean above 0.6): at
    weight 0 the trait plays no part, and its mean is a uniform's (a review, 2026-12-07)."""
    sim = Simulation(
        adversaries(sesame(days=100), **{adversary: params | {"opportunism_weight": 0.0}})
    )
    got = []
    for _ in range(sim.days):
        sim.step()
        records = sim.board.records
        got.append(records["pid"][records["source"] == source])
    ids = np.unique(np.concatenate(got))
    assert ids.size > 100
    opportunism = np.array([trait(sim.pop.keys.opportunism, int(p)) for p in ids])
    assert abs(opportunism.mean() - 0.5) < 4.5 * math.sqrt(1 / 12 / ids.size)


# Collusion rings


def test_ring_members_are_opportunists_and_their_traded_records_raise_their_scores():
    rings = {"ring_share": 0.2, "trade_rate": 0.05, "detection_prob": 0.0}
    on, off, members = _with_and_without(Source.COLLUSION, collusion=rings)
    assert members.size > 500
    opportunism = np.array([trait(on.pop.keys.opportunism, int(p)) for p in members])
    assert opportunism.mean() > 0.6  # weight 1: 2/3 on average among members
    day = on.days - 1
    sesame_on, sesame_off = on.mechanisms["sesame_credit"], off.mechanisms["sesame_credit"]
    users = members[sesame_on.has_score(members)]
    gain = sesame_on.scores(users, day) - sesame_off.scores(users, day)
    assert users.size > 100 and gain.mean() > 5 and (gain >= 0).mean() > 0.95
    # outside the rings a user gains only through a tie's score (the relationship dimension)
    others = np.setdiff1d(np.flatnonzero(sesame_on.has_score(np.arange(on.pop.n))), members)
    spill = sesame_on.scores(others, day) - sesame_off.scores(others, day)
    assert 0 <= spill.mean() < gain.mean() / 5, (spill.mean(), gain.mean())


def _ages_of(sim: Simulation, pids: np.ndarray) -> np.ndarray:
    pop = sim.pop
    return np.array([age(pop.keys.age, int(p), pop.households[p], pop.age_table) for p in pids])


@pytest.mark.parametrize(
    ("ring", "youngest"),
    [
        ({}, 18),  # commercial fraud, the default penalty: 18 (no child is a fraudster)
        ({"acts": ["online_purchase"], "penalty_act": "online_purchase"}, 14),
    ],
)
def test_ring_members_are_old_enough_for_every_record_the_ring_posts(ring, youngest):
    """A ring was any work team of 40 ids: 17% of traded records went to children under 14,
    and toddlers got fraud penalties (a domain review, 2026-12-06)."""
    rings = {"ring_share": 0.3, "trade_rate": 0.05, "detection_prob": 0.05, **ring}
    on, _, members = _with_and_without(Source.COLLUSION, collusion=rings)
    ages = _ages_of(on, members)
    assert members.size > 300 and ages.min() >= youngest
    assert (ages < youngest + 4).sum() > 0  # the youngest allowed do join
    penalised = np.flatnonzero(on.pop.state.flags[FRAUD_DETECTED].get())
    assert penalised.size > 10 and _ages_of(on, penalised).min() >= youngest


def test_the_summary_says_when_no_scorer_counts_the_rings_trades():
    rings = {"collusion": {"ring_share": 0.2}}
    read = scslab.run(adversaries(sesame(days=5), **rings)).summary()
    plain = scslab.load_scenario("sesame_credit").with_overrides(people=20_000, days=5)
    unread = scslab.run(adversaries(plain, **rings)).summary()
    warning = "no scorer of this run counts a record of online_purchase, prosocial_act"
    assert warning not in read and warning in unread


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


def test_employers_screen_on_the_leaked_mark_whatever_the_score_does_later():
    """The leaked copy is a snapshot: raising the score after the leak stops no rejection.

    Both runs leak on day 1, before Sesame's first rescoring since day 0 (about day 30), so the
    leak reads the same scores and marks the same people. In one, the marked then buy boosts
    (the black market, a busy one) and their scores rise past the cut-off at the next rescoring;
    the applications and the employers' screening are draws of their own, so the rejections are
    the same, day by day. Without a leak nobody is marked or rejected.
    """

    def run(market: dict, leaks: list) -> scslab.RunResult:
        breaches = {
            "leaks": leaks,
            "screen_below": 640,
            "screening_share": 1.0,
            "application_rate": 0.01,
        }
        sc = adversaries(sesame(days=60), black_market=market, data_breaches=breaches)
        return scslab.run(sc)

    def marked_at_or_above_cut(r: scslab.RunResult) -> tuple[np.ndarray, float]:
        sim = r.simulation
        marked = np.flatnonzero(sim.pop.state.flags["data_breaches_leaked_low"].get())
        now = sim.mechanisms["sesame_credit"].scores(marked, sim.days - 1)
        return marked, float((now >= 640).mean())

    leak = [{"date": "2015-01-29", "share": 1.0}]  # day 1
    boosting = {"purchase_rate": 0.05, "detection_rate": 0.0}
    plain, boosted = run(IDLE["black_market"], leak), run(boosting, leak)
    marked, risen_plain = marked_at_or_above_cut(plain)
    marked_boosted, risen_boosted = marked_at_or_above_cut(boosted)
    assert np.array_equal(marked, marked_boosted) and marked.size > 1000
    assert risen_boosted > risen_plain + 0.2  # many of the marked now score above the cut-off
    rejections = plain.metrics["data_breaches_screening_rejections"].to_pylist()
    assert rejections[-1] > 500
    assert boosted.metrics["data_breaches_screening_rejections"].to_pylist() == rejections
    assert rejections[-1] - rejections[35] > 100  # rejections go on after the rescoring
    unleaked = run(boosting, []).metrics.to_pydict()
    assert total(unleaked, "data_breaches_screening_rejections") == 0
    assert total(unleaked, "data_breaches_exposed_below_cutoff") == 0


def test_the_summary_says_when_no_leak_falls_within_the_run():
    default = scslab.run(adversaries(sesame(days=30), data_breaches={}))  # the 2022 leak
    (line,) = default.simulation.mechanisms["data_breaches"].summary()
    assert "no leak falls within the run" in line and "2022-07-01" in line
    assert "2015-02-26" in line  # the run's last day
    assert default.metrics["data_breaches_people_exposed"][-1].as_py() == 0
    leaked = {"leaks": [{"date": "2015-02-10", "share": 0.5}, {"date": "2022-07-01", "share": 1.0}]}
    within = scslab.run(adversaries(sesame(days=30), data_breaches=leaked))
    (line,) = within.simulation.mechanisms["data_breaches"].summary()
    assert "no leak falls within the run" not in line
    exposed = within.metrics["data_breaches_people_exposed"][-1].as_py()
    assert f"{exposed:,} people exposed" in line and exposed > 0
    assert "1 later leak after the run's last day" in line
    idle = scslab.run(adversaries(sesame(days=30)))  # leaks = []
    assert idle.simulation.mechanisms["data_breaches"].summary() == [
        "data_breaches: no leak in the scenario, nobody exposed"
    ]


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
        adversaries(
            sesame(), evasion={"share": 1.0, "weight": 0.0, "coverage_factor": 0.0, "min_age": 0}
        )
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


@pytest.mark.parametrize("source", ["informant", "black_market", "collusion"])
def test_evading_what_no_evader_can_avoid_is_refused(source):
    with pytest.raises(scslab.ScenarioError, match=rf"'{source}' is no source an evader") as e:
        adversaries(sesame(), evasion={"sources": ["camera", source]})
    assert "\n" not in str(e.value) and "face_recognition" in str(e.value)
    # the other direction: every source that sees people may be evaded
    assert adversaries(sesame(), evasion={"sources": ["camera", "face_recognition", "bank"]})


@pytest.mark.parametrize("source", ["informant", "face_recognition", "black_market", "collusion"])
def test_a_data_source_named_for_another_mechanism_s_records_is_refused(source):
    """Its data errors would be blamed on malicious reports, false matches or bought records."""
    params = {"acts": ["jaywalking"], "coverage_urban": 0.5, "coverage_rural": 0.5}
    for field in ("sources", "extra_sources"):
        with pytest.raises(scslab.ScenarioError, match=rf"'{source}' records are posted by") as e:
            sesame().with_mechanism("data_sources", **{field: {source: params}})
        assert "\n" not in str(e.value) and "camera" in str(e.value)
    assert sesame().with_mechanism("data_sources", extra_sources={"tax": params})


def test_an_unknown_data_source_lists_only_the_data_sources():
    """Not the sources other mechanisms post (refused as data sources), and no ``[key]``."""
    allowed = ", ".join(DATA_SOURCE_NAMES)
    params = {"acts": ["jaywalking"], "coverage_urban": 0.5, "coverage_rural": 0.5}
    for field in ("sources", "extra_sources"):
        with pytest.raises(scslab.ScenarioError) as e:
            sesame().with_mechanism("data_sources", **{field: {"hospital": params}})
        message = str(e.value)
        where = f"mechanisms.data_sources.{field}.hospital: "
        assert f"{where}unknown data source 'hospital'; allowed: {allowed}; a new source" in message
        assert "catalogue.Source (docs/architecture.md)" in message
        for posted in ("informant", "face_recognition", "black_market", "collusion"):
            assert posted not in message
        assert "[key]" not in message and "\n" not in message


@pytest.mark.parametrize("youngest", [14, 0])
def test_evaders_are_old_enough_to_choose_to(youngest):
    """Infants were counted among evaders, avoiding cameras and platforms (a domain review)."""
    from scslab.mechanisms.observation.evaders import EVASION, evades

    sim = Simulation(adversaries(sesame(days=3), evasion={"share": 0.2, "min_age": youngest}))
    ids = np.array([p for p in range(sim.pop.n) if evades(sim.pop.state.shared[EVASION], p)])
    ages = _ages_of(sim, ids)
    assert ids.size == sim.mechanisms["evasion"].evaders > 2_000
    assert ages.min() >= youngest and (ages < 14).any() == (youngest < 14)


@pytest.mark.parametrize(
    ("weight", "low", "high"), [(1.0, 0.6, 1.0), (0.0, 0.45, 0.55), (-1.0, 0.0, 0.4)]
)
def test_evaders_dissent_as_the_trait_weight_says(weight, low, high):
    """The trait drives evasion both ways: the grieved evade more at weight 1, less at -1, and
    no more than anyone at 0 (a review, 2026-12-07: no test read an evader's trait)."""
    from scslab.kernels.traits import trait
    from scslab.mechanisms.observation.evaders import EVASION, evades

    evasion = {"share": 0.2, "weight": weight, "min_age": 0}
    sim = Simulation(adversaries(sesame(days=3), evasion=evasion))
    rule = sim.pop.state.shared[EVASION]
    ids = [p for p in range(sim.pop.n) if evades(rule, p)]
    assert len(ids) > 2_000
    dissent = np.mean([trait(sim.pop.keys.dissent, p) for p in ids])
    assert low < dissent < high


def test_nobody_evades_before_evasion_starts():
    sc = sesame()
    start = sc.meta.start_date + dt.timedelta(days=30)
    m = columns(adversaries(sc, evasion={"share": 0.5, "active_from": start.isoformat()}))
    evaders = m["evasion_evaders"]
    assert evaders[:30] == [None] * 30 and min(evaders[30:]) == max(evaders[30:]) > 5_000
    assert m["evasion_records_forgone"][:30] == [None] * 30  # not running yet: null
    assert total({"f": m["evasion_records_forgone"][30:]}, "f") > 0


# The whole 2020 system


def integrated_with_busy_adversaries() -> Scenario:
    """``integrated_2020`` (20,000 people, 60 days) with the four adversaries at work."""
    sc = scslab.load_scenario("integrated_2020").with_overrides(people=20_000, days=60)
    sc = sc.with_mechanism("sesame_credit", **SESAME_SOURCES)
    return adversaries(
        sc,
        black_market={"purchase_rate": 1e-3},
        collusion={"ring_share": 0.1},
        data_breaches={"leaks": [{"date": "2020-01-15", "share": 0.7}]},
        evasion={"share": 0.2},
    )


def test_integrated_2020_with_every_adversary_stays_compiled_within_12_bytes():
    sc = integrated_with_busy_adversaries()
    r = scslab.run(sc, compiled=True)
    assert r.manifest["engine"] == "compiled"
    assert r.manifest["bytes_per_person"] <= 12
    m = r.metrics.to_pydict()
    assert total(m, "evasion_acts_hidden") > 0  # camera offences hidden
    assert total(m, "records_by_black_market") > 0
    assert total(m, "records_by_collusion") > 0
    assert m["data_breaches_people_exposed"][-1] > 0.6 * 20_000
    assert m["tie_cutting_ties_cut"][-1] > 0  # its one stored tie a person fits in the 12 bytes


def test_integrated_2020_with_every_adversary_and_response_stays_compiled_within_12_bytes():
    """Issue 13's whole system: the four adversaries, deterrence, self-censorship, cut ties and a
    backlash, all on at once: in the compiled plan, in the 12 bytes (all 24 flag bits)."""
    sc = integrated_with_busy_adversaries()
    for response in ("deterrence", "self_censorship", "backlash"):
        sc = sc.with_mechanism(response)
    r = scslab.run(sc, compiled=True)
    assert r.manifest["engine"] == "compiled" and r.manifest["python_only_mechanisms"] == []
    assert r.manifest["bytes_per_person"] <= 12
    m = r.metrics.to_pydict()
    assert m["self_censorship_chilling_ratio_cumulative"][-1] < 1  # dissent chilled
    assert total(m, "deterrence_offences_deterred") > 0
    assert m["programme_punished"][-1] > 0 and 0 < m["programme_approval"][-1] < 1
    assert total(m, "records_by_black_market") > 0 and m["tie_cutting_ties_cut"][-1] > 0


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


def test_a_dossier_that_files_the_trades_counts_them():
    plain = scslab.load_scenario("sesame_credit").with_overrides(people=20_000, days=5)
    sc = plain.with_mechanism("collusion", ring_share=0.2, acts=["commercial_fraud"])
    warning = "no scorer of this run counts a record of commercial_fraud"
    assert warning in scslab.run(sc).summary()
    filed = sc.with_mechanism("dangan", acts=["commercial_fraud"], sources=["collusion"])
    assert warning not in scslab.run(filed).summary()
