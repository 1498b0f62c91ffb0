"""Input checks and edge cases of the scorers and their readers (a review's findings).

Out-of-range numbers and names that become metric columns are refused in one line when the
scenario is read, not by an OverflowError or a numba typing error in the run; a point system with
nobody enrolled has no mean; without a ceiling, points reach base + 30,000.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import scslab
from scslab.engine.simulation import Simulation


def _refused(preset: str, mechanism: str, says: str, **change: object) -> None:
    """``change`` to ``mechanism`` of ``preset`` is refused with one line naming ``says``."""
    sc = scslab.load_scenario(preset)
    with pytest.raises(scslab.ScenarioError, match=says) as e:
        sc.with_mechanism(mechanism, **change)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("below", [-(2**70), -30_001, 30_001, 10**30])
def test_a_sanction_threshold_out_of_range_is_refused(below):
    sector = {"attempt_rate": 0.01, "score": "suining_points", "below": below}
    _refused("suining_2010", "score_sanctions", r"sectors\.aid\.below", sectors={"aid": sector})


@pytest.mark.parametrize("min_score", [10**30, 30_001, -30_001])
def test_a_grade_threshold_out_of_range_is_refused(min_score):
    grades = [{"name": "A", "min_score": min_score}, {"name": "D", "min_score": -30_000}]
    _refused("rongcheng", "rongcheng_points", r"grades\.0\.min_score", grades=grades)


def test_a_worst_grade_above_the_lowest_score_is_refused_and_at_it_is_kept():
    """The worst grade takes everyone below the grade above it: a B at 990 counted people at
    950 as B. Its min_score must reach the lowest score (the floor, or base - 30,000)."""
    grades = [{"name": "A", "min_score": 1000}, {"name": "B", "min_score": 990}]
    _refused("rongcheng", "rongcheng_points", r"worst grade, B, has min_score 990", grades=grades)
    grades[1]["min_score"] = -29_000  # base 1,000 - 30,000
    sc = scslab.load_scenario("rongcheng").with_mechanism("rongcheng_points", grades=grades)
    assert sc.mechanisms["rongcheng_points"].grades[1].min_score == -29_000
    # a floor below base - 30,000 is never reached: the check reads the lowest reachable score
    deep = scslab.load_scenario("integrated_2020").with_mechanism("national_credit", floor=-40_000)
    assert deep.mechanisms["national_credit"].floor == -40_000
    zero_b = [grades[0], {"name": "B", "min_score": 0}]
    _refused("rongcheng", "rongcheng_points", r"give it a min_score of -29000", grades=zero_b)
    assert scslab.load_scenario("rongcheng").with_mechanism(
        "rongcheng_points", grades=zero_b, floor=0
    )


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"exit_acts": ["tax_evasion"]}, r"tax_evasion is in both entry_acts and exit_acts"),
        ({"entry_acts": []}, r"x\.entry_acts: List should have at least 1"),
    ],
)
def test_a_record_list_that_could_never_list_or_never_release_is_refused(change, says):
    """An act in both lists always listed (an entry wins), so its exit was dead; no entry act
    listed nobody ever. Both were accepted."""
    _refused("rongcheng", "x", says, type="record_list", **change)


@pytest.mark.parametrize("threshold", [2**63, 30_001, 0, -5])
def test_a_reported_threshold_out_of_range_is_refused(threshold):
    says = r"report_thresholds\.1"
    _refused("sesame_credit", "sesame_credit", says, report_thresholds=[600, threshold])


@pytest.mark.parametrize("field", ["enter_below", "exit_at"])
@pytest.mark.parametrize("value", [10**30, 30_001, -30_001])
def test_a_list_threshold_out_of_range_is_refused(field, value):
    _refused("reference", "threshold_list", f"threshold_list\\.{field}", **{field: value})


@pytest.mark.parametrize("base", [-500, 2**40, 30_001])
def test_the_bureau_score_s_base_keeps_the_bounds_of_every_point_system(base):
    sc = scslab.load_scenario("financial_only")
    with pytest.raises(scslab.ScenarioError, match=r"financial_score\.base") as e:
        sc.with_mechanism("financial_score", base=base, floor=None, ceiling=None)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("name", ["bad name!", "1st", "", "a-b"])
def test_a_sanction_sector_name_that_is_no_column_name_is_refused(name):
    sector = {"attempt_rate": 0.01, "score": "suining_points", "below": 600}
    _refused("suining_2010", "score_sanctions", "sector name", sectors={name: sector})


SECTOR = {"attempt_rate": 0.01}


@pytest.mark.parametrize("field", ["sectors", "extra_sectors"])
@pytest.mark.parametrize("name", ["School Fees!", "", "a-b"])
def test_a_joint_punishment_sector_name_that_is_no_column_name_is_refused(field, name):
    _refused("integrated_2020", "joint_punishment", "sector name", **{field: {name: SECTOR}})
    # the other direction: a name that makes a column is taken
    sc = scslab.load_scenario("integrated_2020").with_mechanism(
        "joint_punishment", **{field: {"school_fees_2": SECTOR}}
    )
    assert "school_fees_2" in sc.mechanisms["joint_punishment"].extra_sectors | (
        sc.mechanisms["joint_punishment"].sectors
    )


@pytest.mark.parametrize("name", ["very good", "A+", "", "_a"])
def test_a_grade_name_that_is_no_column_name_is_refused(name):
    grades = [{"name": name, "min_score": 900}, {"name": "D", "min_score": -30_000}]
    _refused("rongcheng", "rongcheng_points", "grade name", grades=grades)


def test_column_names_that_were_allowed_still_are():
    """Upper-case grades (AAA..D) name columns already; lower-case sectors with digits too."""
    sc = scslab.load_scenario("suining_2010").with_overrides(people=2_000, days=3)
    sector = {"attempt_rate": 0.01, "score": "suining_points", "below": 600}
    sc = sc.with_mechanism("score_sanctions", sectors={"aid_2": sector})
    grades = [{"name": "AAA", "min_score": 1000}, {"name": "very_bad", "min_score": -30_000}]
    sc = sc.with_mechanism("suining_points", grades=grades)
    columns = scslab.run(sc).metrics.column_names
    assert {"score_sanctions_aid_2_refused", "suining_points_grade_AAA"} <= set(columns)
    assert "suining_points_grade_very_bad" in columns


def test_a_point_system_with_nobody_enrolled_has_no_mean():
    sc = scslab.load_scenario("honest_shanghai_2016").with_overrides(people=5_000, days=30)
    sim = Simulation(sc.with_mechanism("honest_shanghai", enrolment=0.0))
    sim.run()
    assert sim.columns["honest_shanghai_enrolled"] == [0] * 30
    assert sim.columns["honest_shanghai_mean"] == [None] * 30  # NaN: a missing value
    assert sim.get("honest_shanghai").summary() == ["honest_shanghai: nobody enrolled"]


def test_without_a_ceiling_points_reach_base_plus_30000():
    """Offsets are int16 and saturate at +-30,000 from the base: 55,000 for a base of 25,000.

    They stopped at 30,000 (an offset of 5,000) before, while the validator allowed base + 30,000.
    """
    sc = scslab.load_scenario("rongcheng").with_overrides(people=5_000, days=60)
    rates = sc.mechanisms["everyday_acts"].model_dump()["acts"]
    for act in ("prosocial_act", "traffic_offence"):  # often enough to reach both limits
        rates[act] = rates[act] | {"rate": 0.05}
    sc = sc.with_mechanism("everyday_acts", acts=rates).with_mechanism(
        "rongcheng_points",
        active_from=None,
        base=25_000,
        points={"prosocial_act": 10_000, "traffic_offence": -10_000},
    )
    sim = Simulation(sc)
    sim.run()
    points = sim.get("rongcheng_points")
    scores = points.scores(np.arange(sim.pop.n), sim.days)
    # reached, not only not passed (a review: limits of +-10,000 passed the bounds alone)
    assert scores.max() == 55_000 and scores.min() == -5_000
    # a ceiling still caps them
    capped = Simulation(sc.with_mechanism("rongcheng_points", ceiling=32_000))
    capped.run()
    scores = capped.get("rongcheng_points").scores(np.arange(capped.pop.n), capped.days)
    assert scores.max() == 32_000


def test_a_reader_that_starts_before_a_point_system_does_is_refused():
    """Before its active_from everyone enrolled would read as holding the base score."""
    sc = scslab.load_scenario("rongcheng").with_overrides(people=2_000, days=2)  # points: 2014
    perk = {"attempt_rate": 0.01, "score": "rongcheng_points", "threshold": 1000}
    early = sc.with_mechanism("rewards", sectors={"perk": perk})
    with pytest.raises(scslab.ScenarioError, match=r"rewards starts on 2013-10-01, before") as e:
        Simulation(early)
    assert "\n" not in str(e.value) and "active_from of 2014-01-01 or later" in str(e.value)
    # the other direction: from the points' own first day it reads them
    assert Simulation(early.with_mechanism("rewards", active_from="2014-01-01"))
    # a commercial score has no users before its first pass: read from any day
    sesame = scslab.load_scenario("pboc_pilots_2015").with_overrides(people=2_000, days=2)
    assert Simulation(sesame)  # its rewards start on day 0, Sesame on 2015-01-28


def test_a_backlash_learns_a_point_system_s_scores_from_its_first_day_only():
    """Read before the points start, everyone's base would be a score learned (line 1001)."""
    sc = scslab.load_scenario("rongcheng").with_overrides(people=5_000, days=100)
    programmes = {k: v.model_dump() for k, v in sc.mechanisms["backlash"].programmes.items()}
    programmes["rongcheng"]["low_scores"] = {"rongcheng_points": 1001}
    sim = Simulation(sc.with_mechanism("backlash", programmes=programmes))  # not refused
    sim.run()
    punished = sim.columns["rongcheng_punished"]
    first = (dt.date(2014, 1, 1) - sc.meta.start_date).days  # the points' active_from
    assert punished[first - 1] == 0 < punished[-1]
    assert sim.columns["court_list_approval"][0] is not None  # the backlash runs from day 0


def test_a_leak_of_a_point_system_s_scores_is_refused_only_before_it_starts():
    sc = scslab.load_scenario("rongcheng").with_overrides(people=2_000, days=200)
    leak = {"score": "rongcheng_points", "screen_below": 900}
    after = sc.with_mechanism("data_breaches", **leak, leaks=[{"date": "2014-02-01", "share": 0.5}])
    assert Simulation(after)  # read on 2014-02-01, after the points start on 2014-01-01
    before = after.with_mechanism("data_breaches", leaks=[{"date": "2013-11-01", "share": 0.5}])
    with pytest.raises(scslab.ScenarioError, match=r"data_breaches starts on 2013-11-01, before"):
        Simulation(before)
