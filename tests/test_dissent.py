"""Self-censorship and deterrence: the closed forms, the simulated rates, both directions.

Self-censorship follows Daymude, Axelrod and Forrest (2025, arXiv:2509.03731); the tests take
their worked example (beta = 1, nu = 0.2, tau = 0.25). The runs step the Python loop (the same
kernels as the compiled plan, without compiling a day plan per scenario shape) and compare the
acts a scenario keeps with those of the same scenario without the mechanism: the acts drawn are
the same (common random numbers), so the acts kept must be a subset, with the expected share.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest

import scslab
from conftest import busy_rongcheng, cli_error_line
from scslab.catalogue import Act
from scslab.engine.simulation import Simulation
from scslab.errors import ScenarioError
from scslab.kernels.traits import trait
from scslab.mechanisms.behaviour.deterrence import commit_chance
from scslab.mechanisms.behaviour.self_censorship import (
    defiance_threshold,
    expressed_dissent,
    proportional_expression,
    proportional_optimum,
    uniform_expression,
)
from scslab.mechanisms.behaviour.withdrawal import weighed_rows
from scslab.mechanisms.observation.sources import DataSourcesParams, recording_chance

EXAMPLE = {"boldness": 1.0, "surveillance": 0.2, "tolerance": 0.25}
"""The paper's example: beta = 1, nu = 0.2, tau = 0.25."""
EXAMPLE_POLICY = {"surveillance": 0.2, "tolerance": 0.25, "boldness_mean": 1.0}
EVERYONE_EQUALLY_BOLD = {"boldness_spread": 0.0}


# -- the closed forms ----------------------------------------------------------------------------


def test_uniform_punishment_0_6_gives_the_defiance_threshold_0_7115():
    threshold = defiance_threshold(severity=0.6, **EXAMPLE)
    assert round(threshold, 4) == 0.7115
    assert threshold == pytest.approx(0.37 / 0.52, abs=1e-15)
    assert uniform_expression(0.71, severity=0.6, **EXAMPLE) == 0.25  # censored to tau
    assert uniform_expression(0.72, severity=0.6, **EXAMPLE) == 0.72  # defiant
    assert uniform_expression(0.2, severity=0.6, **EXAMPLE) == 0.2  # below tau: all of it


def test_uniform_punishment_2_makes_everyone_above_tau_self_censor_to_tau():
    assert defiance_threshold(severity=2.0, **EXAMPLE) == math.inf  # beta < (1 - nu) psi
    for delta in np.linspace(0.0, 1.0, 101):
        expected = 0.25 if delta > 0.25 else delta
        assert uniform_expression(delta, severity=2.0, **EXAMPLE) == expected


def test_proportional_punishment_1_gives_0_625():
    assert round(proportional_optimum(severity=1.0, **EXAMPLE), 4) == 0.625
    for delta in np.linspace(0.0, 1.0, 101):
        assert proportional_expression(delta, severity=1.0, **EXAMPLE) == min(delta, 0.625)


def test_closed_forms_at_the_edges():
    for form in (uniform_expression, proportional_expression):
        for delta in (0.0, 0.3, 0.9, 1.0):
            assert form(delta, severity=0.0, **EXAMPLE) == delta  # no punishment: all
    # everything seen (nu = 1): proportional punishment is linear, slope beta - psi
    assert proportional_expression(0.9, 1.0, 1.0, 0.25, 0.5) == 0.9
    assert proportional_expression(0.9, 1.0, 1.0, 0.25, 2.0) == 0.25
    # the one switch between the two forms
    assert expressed_dissent(0.9, 1.0, 0.2, 0.25, 1.0, True) == 0.625
    assert expressed_dissent(0.9, 1.0, 0.2, 0.25, 1.0, False) == 0.25  # threshold 2.25 > 1


# -- runs ------------------------------------------------------------------------------------------


def _scenario(people: int = 50_000, days: int = 20, **mechanisms: dict[str, Any]):
    """Everyday acts at high rates (dissent and offences), the default data sources, a ledger."""
    acts = {
        "online_criticism": {"rate": 0.02, "trait": "dissent", "weight": 1.0},
        "petitioning": {"rate": 0.005, "trait": "dissent", "weight": 1.0},
        "traffic_offence": {"rate": 0.02, "trait": "compliance", "weight": -0.8},
    }
    return scslab.scenario_from_dict(
        {
            "scenario": {"name": "dissent", "people": people, "days": days, "seed": 11},
            "population": {"provinces": ["Shandong"]},
            "mechanisms": {"everyday_acts": {"acts": acts}, "data_sources": {}}
            | mechanisms
            | {"ledger": {}},
        }
    )


def _run(sc) -> tuple[Simulation, np.ndarray, np.ndarray]:
    """The run in the Python loop, and every day's acts as keys ``(day, pid, act)`` and acts."""
    sim = Simulation(sc, compiled=False)
    keys, kinds = [], []
    for day in range(sc.meta.days):
        sim.step()
        acts = sim.board.acts
        keys.append((day * sim.pop.n + acts["pid"]) * 64 + acts["act"])
        kinds.append(acts["act"].copy())
    return sim, np.concatenate(keys), np.concatenate(kinds)


def _pid_of(keys: np.ndarray, n: int) -> np.ndarray:
    return (keys // 64) % n


def _total(sim: Simulation, column: str) -> int:
    return sum(sim.columns[column])


@pytest.fixture(scope="module")
def without():
    """The acts of ``_scenario()``: what people would do."""
    return _run(_scenario())


@pytest.mark.parametrize(
    ("punishment", "severity"), [("uniform", 0.6), ("uniform", 2.0), ("proportional", 1.0)]
)
def test_simulated_expression_per_band_of_desired_dissent_follows_the_closed_form(
    without, punishment, severity
):
    policy = EXAMPLE_POLICY | EVERYONE_EQUALLY_BOLD
    sc = _scenario(
        self_censorship={
            "acts": ["online_criticism"],
            "punishment": punishment,
            "severity": severity,
            **policy,
        }
    )
    sim, kept_keys, _ = _run(sc)
    _, keys, kinds = without
    desired = keys[kinds == Act.ONLINE_CRITICISM]
    assert np.isin(kept_keys, keys).all()  # nothing new: only acts withdrawn
    kept = np.isin(desired, kept_keys)
    key = sim.pop.keys.dissent
    delta = np.array([trait(key, int(p)) for p in _pid_of(desired, sim.pop.n)])
    share = np.array(
        [
            expressed_dissent(d, 1.0, 0.2, 0.25, severity, punishment == "proportional")
            for d in delta
        ]
    ) / np.maximum(delta, 1e-300)
    assert desired.size > 15_000
    bands = np.minimum((delta * 10).astype(np.int64), 9)
    for band in range(10):
        inside = bands == band
        expected = share[inside].sum()
        sd = math.sqrt((share[inside] * (1.0 - share[inside])).sum())
        assert abs(kept[inside].sum() - expected) <= 4.5 * sd + 1e-9, (band, expected)
    assert _total(sim, "self_censorship_desired") == desired.size
    assert _total(sim, "self_censorship_expressed") == kept.sum()
    ratio = sim.columns["self_censorship_chilling_ratio_cumulative"][-1]
    assert ratio == pytest.approx(kept.sum() / desired.size, rel=1e-12)


def _dissent_run(**policy: Any) -> tuple[Simulation, np.ndarray]:
    sim, keys, _ = _run(_scenario(days=10, self_censorship=policy))
    return sim, keys


def _ratio(sim: Simulation) -> float:
    return sim.columns["self_censorship_chilling_ratio_cumulative"][-1]


@pytest.mark.parametrize(
    ("low", "high"),
    [
        ({"surveillance": 0.1}, {"surveillance": 0.6}),
        ({"severity": 0.3}, {"severity": 0.9}),
        (
            {"severity": 0.3, "punishment": "proportional"},
            {"severity": 0.9, "punishment": "proportional"},
        ),
    ],
)
def test_more_surveillance_or_severity_chills_more_dissent(low, high):
    mild, mild_keys = _dissent_run(**low)
    harsh, harsh_keys = _dissent_run(**high)
    assert _ratio(harsh) < _ratio(mild) - 0.05
    assert np.isin(harsh_keys, mild_keys).all()  # the same draws: the harsh keep fewer
    assert _total(harsh, "self_censorship_expressed_petitioning") < _total(
        mild, "self_censorship_expressed_petitioning"
    )


def test_bolder_people_express_more_dissent():
    timid, timid_keys = _dissent_run(boldness_mean=0.5)
    bold, bold_keys = _dissent_run(boldness_mean=2.0)
    assert _ratio(bold) > _ratio(timid) + 0.05
    assert np.isin(timid_keys, bold_keys).all()


def test_default_surveillance_is_the_data_sources_recording_chance():
    chance = recording_chance(DataSourcesParams().all_sources())
    assert chance[Act.ONLINE_CRITICISM].tolist() == pytest.approx([0.7, 0.5])  # platforms
    assert chance[Act.PETITIONING].tolist() == pytest.approx([0.5, 0.7])  # officials
    assert chance[Act.TRAFFIC_OFFENCE].tolist() == pytest.approx([0.6, 0.15])  # cameras
    two = DataSourcesParams(
        sources={
            "camera": {"acts": ["jaywalking"], "coverage_urban": 0.5, "coverage_rural": 0.0},
            "official": {"acts": ["jaywalking"], "coverage_urban": 0.5, "coverage_rural": 0.2},
        }
    )
    assert recording_chance(two.all_sources())[Act.JAYWALKING].tolist() == pytest.approx(
        [0.75, 0.2]
    )


def test_self_censorship_by_default_fears_what_the_data_sources_record():
    """Without a ``surveillance`` of its own, the chance that dissent is seen is the data
    sources' recording chance: more coverage of online criticism and petitioning, less of it
    expressed. Given a ``surveillance``, coverage changes nothing. (A review, 2026-12-07: the
    test above checks ``recording_chance`` alone; a constant in its place passed every test.)"""

    def platform(coverage: float) -> dict[str, Any]:
        seen = {"acts": ["online_criticism", "petitioning"], "coverage_urban": coverage}
        return {"sources": {"platform": seen | {"coverage_rural": coverage}}}

    def ratio(coverage: float, **policy: Any) -> float:
        sc = _scenario(days=10, self_censorship={"severity": 0.9, **policy})
        return _ratio(_run(sc.with_mechanism("data_sources", **platform(coverage)))[0])

    assert ratio(1.0) < ratio(0.0) - 0.03
    assert ratio(1.0, surveillance=0.3) == ratio(0.0, surveillance=0.3)


def test_weighed_rows_find_each_person_s_region_in_any_order():
    bounds = np.asarray([0, 10, 20, 30, 40])  # urban, rural, urban, rural
    pid = np.asarray([35, 5, 15, 12, 38, 2, 21, 19])
    act = np.asarray([6, 6, 1, 6, 6, 6, 6, 6], np.int16)
    column = np.full(len(Act), -1)
    column[6] = 0  # only online criticism is weighed
    table = np.zeros((len(Act), 2))
    table[6] = (0.7, 0.5)  # urban, rural
    rows, pids, acts, values = weighed_rows(pid, act, column, bounds, table)
    assert rows.tolist() == [0, 1, 3, 4, 5, 6, 7]
    assert pids.tolist() == [35, 5, 12, 38, 2, 21, 19] and set(acts.tolist()) == {6}
    assert values.tolist() == [0.5, 0.7, 0.5, 0.5, 0.7, 0.7, 0.5]


# -- deterrence ----------------------------------------------------------------------------------


def _deterrence_run(**params: Any) -> tuple[Simulation, np.ndarray]:
    sim, keys, _ = _run(_scenario(days=10, deterrence=params))
    return sim, keys


def test_deterred_offences_follow_one_over_one_plus_k_p_f(without):
    sim, kept_keys = _deterrence_run(
        penalties={"traffic_offence": 10.0}, sensitivity=0.1, detection=0.5, misperception=0.0
    )
    _, keys, kinds = without
    days = keys // 64 // sim.pop.n
    offences = keys[(kinds == Act.TRAFFIC_OFFENCE) & (days < 10)]
    p = commit_chance(1.0, 0.5, 1.0)  # k f = 1, p = 0.5: 1 / 1.5
    assert p == pytest.approx(2.0 / 3.0)
    committed = np.isin(offences, kept_keys).sum()
    sd = math.sqrt(offences.size * p * (1 - p))
    assert abs(committed - offences.size * p) <= 4.5 * sd
    assert _total(sim, "deterrence_offences_committed") == committed
    assert _total(sim, "deterrence_offences_deterred") == offences.size - committed


def test_bolder_people_perceive_less_detection_and_are_deterred_less(without):
    # p_i = p (1 - m (2 b_i - 1)): with m = 0.8 the boldest see 0.2 p, the most timid 1.8 p
    sim, kept_keys = _deterrence_run(
        penalties={"traffic_offence": 10.0}, sensitivity=0.1, detection=0.5, misperception=0.8
    )
    _, keys, kinds = without
    offences = keys[(kinds == Act.TRAFFIC_OFFENCE) & (keys // 64 // sim.pop.n < 10)]
    boldness = np.array(
        [trait(sim.pop.keys.boldness, int(p)) for p in _pid_of(offences, sim.pop.n)]
    )
    committed = np.isin(offences, kept_keys)
    chance = np.array([commit_chance(1.0, 0.5, 1.0 - 0.8 * (2.0 * b - 1.0)) for b in boldness])
    bold = boldness > 0.5
    for group in (bold, ~bold):  # each half commits what its perceived detection gives
        sd = math.sqrt((chance[group] * (1 - chance[group])).sum())
        assert abs(committed[group].sum() - chance[group].sum()) <= 4.5 * sd
    assert committed[bold].mean() > committed[~bold].mean() + 0.05
    # without misperception both halves are deterred alike (test above: one chance for all)


@pytest.mark.parametrize(
    ("low", "high"),
    [
        ({"penalties": {"traffic_offence": 2.0}}, {"penalties": {"traffic_offence": 20.0}}),
        ({"detection": 0.1}, {"detection": 0.9}),
    ],
)
def test_a_higher_penalty_or_detection_deters_more_offences(low, high):
    mild, mild_keys = _deterrence_run(**low)
    harsh, harsh_keys = _deterrence_run(**high)
    assert _total(harsh, "deterrence_offences_deterred") > 2 * _total(
        mild, "deterrence_offences_deterred"
    )
    assert np.isin(harsh_keys, mild_keys).all()
    assert _total(harsh, "acts") < _total(mild, "acts")


def test_data_sources_coverage_is_the_detection_people_perceive():
    def cameras(coverage: float) -> dict[str, Any]:
        camera = {"acts": ["traffic_offence"], "coverage_urban": coverage}
        return {"sources": {"camera": camera | {"coverage_rural": coverage}}}

    runs = []
    for coverage in (0.1, 0.9):
        sc = _scenario(days=10, deterrence={}).with_mechanism("data_sources", **cameras(coverage))
        runs.append(_run(sc)[0])
    seen_less, seen_more = runs
    assert _total(seen_more, "deterrence_offences_deterred") > 2 * _total(
        seen_less, "deterrence_offences_deterred"
    )


# -- switched off, or on without effect: nothing changes --------------------------------------


def _columns(sc) -> dict[str, list]:
    sim = Simulation(sc, compiled=False)
    sim.run()
    return sim.columns


def test_switched_off_or_without_effect_changes_nothing_bit_for_bit():
    base = busy_rongcheng(people=10_000, days=40)
    reference = _columns(base)
    without_effect = {
        "self_censorship": [{"severity": 0.0}, {"tolerance": 1.0}],  # nobody censors
        "deterrence": [{"penalties": {"traffic_offence": 0.0}}, {"detection": 0.0}],
    }
    for name, variants in without_effect.items():
        assert _columns(base.with_mechanism(name, enabled=False)) == reference
        for params in variants:
            on = _columns(base.with_mechanism(name, **params))
            new = [c for c in on if c not in reference]
            assert new and all(c.startswith(name) for c in new)
            assert {c: v for c, v in on.items() if c in reference} == reference, params
            assert [c for c in on if c in reference] == list(reference)  # in the same order
    assert sum(on["deterrence_offences_deterred"]) == 0


def test_both_switched_on_move_the_acts_and_run_compiled_as_in_python():
    sc = (
        busy_rongcheng(people=10_000, days=40)
        .with_mechanism("self_censorship", severity=2.0)
        .with_mechanism("deterrence", sensitivity=1.0)
    )
    fast, slow = Simulation(sc, compiled=True), Simulation(sc, compiled=False)
    fast.run()
    slow.run()
    assert fast.columns == slow.columns
    assert sum(fast.columns["self_censorship_desired"]) > sum(
        fast.columns["self_censorship_expressed"]
    )
    assert sum(fast.columns["deterrence_offences_deterred"]) > 0
    assert any("chilling ratio" in line for line in fast.summary_lines())
    assert any("offences deterred" in line for line in fast.summary_lines())


def test_a_withdrawal_listed_before_the_acts_it_weighs_is_refused(tmp_path):
    sc = scslab.scenario_from_dict(
        {
            "scenario": {"name": "misordered", "people": 1_000, "days": 1},
            "mechanisms": {"self_censorship": {}, "everyday_acts": {}},
        }
    )
    with pytest.raises(ScenarioError, match=re.escape("list [mechanisms.self_censorship] after")):
        Simulation(sc, compiled=False)
    # from the command line: one line, exit 2, naming only the later mechanism that posts an act
    # it weighs (debt, after it too, posts none of them) and the acts that would escape it
    path = tmp_path / "misordered.toml"
    path.write_text(
        '[scenario]\nname = "misordered"\npeople = 1000\ndays = 1\n'
        "[mechanisms.deterrence]\n[mechanisms.everyday_acts]\n"
        '[mechanisms.debt]\nlisting_list = ""\n[mechanisms.data_sources]\n'
    )
    line = cli_error_line("run", str(path), "--out", str(tmp_path / "run"), "--quiet")
    assert line.endswith(
        "mechanisms.deterrence: withdraws acts posted before it, but everyday_acts "
        "(traffic_offence) comes after it; list [mechanisms.deterrence] after "
        "[mechanisms.everyday_acts]"
    )
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("response", "params"),
    [("deterrence", {"sensitivity": 1.0}), ("self_censorship", {"severity": 2.0})],
)
def test_a_later_behaviour_posting_none_of_the_acts_weighed_changes_nothing(response, params):
    """Debt posts only its own acts, which no response may weigh: listed after a response it
    hides nothing from it (it used to be refused), and the run is the one with debt listed
    first, column for column."""
    debt = {"listing_list": "", "arrears_rate": 0.003}
    first = _columns(_scenario(people=5_000, days=30, debt=debt, **{response: params}))
    after = _columns(_scenario(people=5_000, days=30, **{response: params}, debt=debt))
    assert after == first
    if response == "deterrence":
        withdrawn = sum(first["deterrence_offences_deterred"])
    else:
        withdrawn = sum(first["self_censorship_desired"]) - sum(first["self_censorship_expressed"])
    assert withdrawn > 0 and sum(first["debt_new_arrears"]) > 0


@pytest.mark.parametrize("response", ["deterrence", "self_censorship"])
def test_an_act_another_mechanism_keeps_state_about_is_not_withdrawn(response):
    # deterring loan arrears would hide a debt that the debt mechanism still schedules and counts
    field, acts = (
        ("penalties", {"loan_arrears": 10.0})
        if response == "deterrence"
        else (
            "acts",
            ["online_criticism", "loan_arrears"],
        )
    )
    sc = scslab.load_scenario("rongcheng").with_overrides(people=1_000, days=1)
    with pytest.raises(ScenarioError, match=rf"{response}\.{field}: loan_arrears: debt keeps") as e:
        Simulation(sc.with_mechanism(response, **{field: acts}))
    assert "\n" not in str(e.value)
    everyday = {"traffic_offence": 10.0} if response == "deterrence" else ["online_criticism"]
    assert Simulation(sc.with_mechanism(response, **{field: everyday}))


def test_an_act_another_mechanism_keeps_state_about_is_not_posted_as_an_everyday_act():
    # a judgment posted with no debt behind it: listed for good, 474 in 20,000 people in 120 days
    sc = scslab.load_scenario("rongcheng").with_overrides(people=1_000, days=1)
    judgment = {"court_judgment_unpaid": {"rate": 2e-4}}
    with pytest.raises(
        ScenarioError, match=r"everyday_acts\.extra_acts: court_judgment_unpaid: debt keeps"
    ) as e:
        Simulation(sc.with_mechanism("everyday_acts", extra_acts=judgment))
    assert "\n" not in str(e.value)
    # the other direction: without the debt cycle nobody counts them, and they may be drawn
    mechanisms = {"everyday_acts": {"extra_acts": judgment}, "data_sources": {}}
    alone = {
        "scenario": {"name": "judgments", "people": 1_000, "days": 1},
        "mechanisms": mechanisms,
    }
    assert Simulation(scslab.scenario_from_dict(alone))


def test_a_negative_penalty_is_refused():
    # 1 / (1 + k p f) with f < 0 is no chance: -40 "deterred" 40%, -1000 everyone
    sc = scslab.load_scenario("rongcheng").with_overrides(people=1_000, days=1)
    with pytest.raises(ScenarioError, match=r"penalties\.traffic_offence: .*greater than or equal"):
        sc.with_mechanism("deterrence", penalties={"traffic_offence": -40.0})


@pytest.mark.parametrize(
    ("acts", "change", "says"),
    [
        (["traffic_offence"], {}, r"traffic_offence is drawn by everyday_acts on trait compliance"),
        (
            ["online_criticism"],
            {"weight": 0.5},
            r"online_criticism .* on trait dissent at weight 0\.5",
        ),
    ],
)
def test_an_act_not_drawn_as_desired_dissent_is_refused(acts, change, says):
    """The closed forms read the acts drawn as desired dissent: a traffic offence (drawn on
    compliance) or criticism at half weight was thinned as if it were, with no word."""
    sc = _scenario(people=2_000, days=2)
    if change:
        drawn = sc.mechanisms["everyday_acts"].model_dump()["acts"]
        drawn["online_criticism"] |= change
        sc = sc.with_mechanism("everyday_acts", acts=drawn)
    with pytest.raises(ScenarioError, match=says) as e:
        Simulation(sc.with_mechanism("self_censorship", acts=acts))
    assert "\n" not in str(e.value)
    assert Simulation(sc.with_mechanism("self_censorship", acts=["petitioning"]))  # as drawn
