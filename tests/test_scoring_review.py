"""Input checks of the scorers and their readers (a review's findings).

Out-of-range numbers and names that become metric columns are refused in one line when the
scenario is read, not by an OverflowError or a numba typing error in the run.
"""

from __future__ import annotations

import pytest

import scslab


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
