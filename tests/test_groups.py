"""Metrics by group: counts add up, grades match the point system, and disparate impact shows."""

from __future__ import annotations

import math
from collections import defaultdict

import numba
import numpy as np
import pytest

import scslab
from conftest import busy_rongcheng
from scslab.engine.mechanism import Scoring
from scslab.kernels.parallel import THREADED_RUN_PEOPLE, threads_as_for
from scslab.mechanisms.metrics import groups as groups_module
from scslab.mechanisms.metrics.groups import GROUP_KINDS
from scslab.population.attributes import age, income_class, is_male, occupation
from scslab.population.geography import region_of

PEOPLE, DAYS, EVERY = 20_000, 120, 30


def _with_groups(sc, every_days=EVERY):
    data = sc.resolved()
    data["mechanisms"]["groups"] = {"every_days": every_days}
    return scslab.scenario_from_dict(data)


def _sources(sc, **changes):
    sources = sc.mechanisms["data_sources"].model_dump()["sources"]
    return {k: v | changes for k, v in sources.items()}


def _scenario():
    sc = busy_rongcheng(people=PEOPLE, days=DAYS)
    # False court records, so that some listed people are innocent.
    sources = sc.mechanisms["data_sources"].model_dump()["sources"]
    sources["court"] = sources["court"] | {"false_rate": 2e-5}
    return _with_groups(sc.with_mechanism("data_sources", sources=sources))


@pytest.fixture(scope="module")
def base():
    return scslab.run(_scenario())


def _by(rows, *keys):
    out = defaultdict(list)
    for r in rows:
        out[tuple(r[k] for k in keys)].append(r)
    return out


def test_passes_run_every_period_and_on_the_last_day(base):
    days = sorted(set(base.tables["groups"]["day"].to_pylist()))
    assert days == [0, 30, 60, 90, DAYS - 1]


def test_group_counts_sum_to_the_population_for_every_kind(base):
    rows = base.tables["groups"].to_pylist()
    cells = _by(rows, "day", "group_kind", "system")
    assert {k[1] for k in cells} == set(GROUP_KINDS)
    for (_, kind, _), part in cells.items():
        assert [r["group"] for r in part] == list(GROUP_KINDS[kind])
        assert sum(r["people"] for r in part) == PEOPLE


def test_listed_counts_per_group_sum_to_the_list_size(base):
    m = base.metrics
    rows = [r for r in base.tables["groups"].to_pylist() if r["system"] == "court_list"]
    final_innocents = 0
    for (day, _), part in _by(rows, "day", "group_kind").items():
        assert sum(r["listed"] for r in part) == m["court_list_size"][day].as_py()
        innocents = sum(r["innocents_listed"] for r in part)
        assert innocents == m["court_list_innocents_listed"][day].as_py()
        assert all(r["mean_score"] is None for r in part)
        final_innocents = innocents if day == DAYS - 1 else final_innocents
    assert m["court_list_size"][DAYS - 1].as_py() > 100
    assert final_innocents > 0


def test_grade_counts_and_means_match_the_point_system(base):
    m = base.metrics
    scored = [r for r in base.tables["groups"].to_pylist() if r["system"] == "rongcheng_points"]
    for (day, _), part in _by(scored, "day", "group_kind").items():
        assert [r["scored"] for r in part] == [r["people"] for r in part]  # everyone is scored
        total = sum(r["mean_score"] * r["people"] for r in part)
        assert total / PEOPLE == pytest.approx(m["rongcheng_points_mean"][day].as_py(), abs=1e-9)
    grades = base.tables["group_grades"].to_pylist()
    names = base.simulation.get("rongcheng_points").grade_names
    seen = 0
    for (day, _, grade), part in _by(grades, "day", "group_kind", "grade").items():
        assert sum(r["count"] for r in part) == m[f"rongcheng_points_grade_{grade}"][day].as_py()
        assert part[0]["grade_rank"] == names.index(grade)
        seen += 1
    assert seen == 5 * len(GROUP_KINDS) * len(names)
    assert m["rongcheng_points_grade_B"][DAYS - 1].as_py() > 0  # some people left the base grade


def test_metrics_carry_the_latest_pass_forward(base):
    m = base.metrics
    col = "court_list_listing_ratio_rural_urban"
    ratio = m[col].to_pylist()
    assert math.isnan(ratio[0])  # nobody is listed yet: a zero denominator gives NaN
    assert ratio[30:60] == [ratio[30]] * 30 and ratio[90:119] == [ratio[90]] * 29
    rows = [r for r in base.tables["groups"].to_pylist() if r["system"] == "court_list"]
    area = {r["group"]: r for r in rows if r["day"] == DAYS - 1 and r["group_kind"] == "area"}
    expected = (area["rural"]["listed"] / area["rural"]["people"]) / (
        area["urban"]["listed"] / area["urban"]["people"]
    )
    assert ratio[-1] == pytest.approx(expected)
    assert m["court_list_listing_ratio_q1_q5"][DAYS - 1].as_py() > 1  # debts fall on the poor
    assert not math.isnan(m["rongcheng_points_mean_gap_rural_urban"][0].as_py())


def test_same_seed_gives_identical_tables_for_any_thread_count_and_block(base, monkeypatch):
    """One thread and small blocks; then the threaded builds, as a big run takes them (at
    20,000 people a run takes the one-thread builds, so setting one thread alone changed
    nothing: a review found a miscount in the threaded pass passing this test)."""
    monkeypatch.setattr(groups_module, "BLOCK", 1024)  # 20 blocks in 5 chunks instead of 1
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        again = scslab.run(_scenario())
    finally:
        numba.set_num_threads(threads)
    assert again.tables["groups"].equals(base.tables["groups"])
    assert again.tables["group_grades"].equals(base.tables["group_grades"])
    with threads_as_for(THREADED_RUN_PEOPLE):
        threaded = scslab.run(_scenario())
    assert threaded.tables["groups"].equals(base.tables["groups"])
    assert threaded.tables["group_grades"].equals(base.tables["group_grades"])


def test_several_scores_and_lists_count_alike_in_chunks_of_any_size(monkeypatch):
    """Three scores and five lists share the pass's row buffers: a second, shorter chunk
    (leftover columns of the first in the buffers) gives the tables of one chunk."""
    sc = scslab.load_scenario("integrated_2020").with_overrides(people=20_000, days=31)
    one_chunk = scslab.run(sc)
    monkeypatch.setattr(groups_module, "BLOCK", 1024)  # 4 chunks of 4,096, one of 3,616
    again = scslab.run(sc)
    assert again.tables["groups"].equals(one_chunk.tables["groups"])
    assert again.tables["group_grades"].equals(one_chunk.tables["group_grades"])
    rows = one_chunk.tables["groups"].to_pylist()
    assert len({r["system"] for r in rows if r["family"] == "scoring"}) == 3
    assert len({r["system"] for r in rows if r["family"] == "lists"}) >= 2


@pytest.mark.parametrize(("blind", "seen"), [("urban", "rural"), ("rural", "urban")])
def test_coverage_in_one_area_only_lists_people_of_that_area(blind, seen):
    sc = busy_rongcheng(people=10_000, days=90).with_mechanism("informants", enabled=False)
    col = "court_list_listing_ratio_rural_urban"

    def run(blind_coverage):
        cover = {f"coverage_{blind}": blind_coverage, f"coverage_{seen}": 1.0}
        sources = _sources(sc, false_rate=0.0, **cover)
        r = scslab.run(_with_groups(sc.with_mechanism("data_sources", sources=sources)))
        rows = r.tables["groups"].to_pylist()
        area = {
            (x["day"], x["group"]): x["listed"]
            for x in rows
            if x["system"] == "court_list" and x["group_kind"] == "area"
        }
        return area, r.metrics[col][-1].as_py(), r.summary()

    # No data source sees the blind area (and none makes false records): nobody there is listed.
    area, ratio, summary = run(0.0)
    assert all(n == 0 for (_, group), n in area.items() if group == blind)
    assert area[(89, seen)] > 20
    if blind == "urban":  # the urban listing rate is 0: the widest gap, not nothing to compare
        assert ratio == math.inf
        assert "court_list listing rate rural/urban inf (nobody urban listed)" in summary
    else:
        assert ratio == 0.0
        assert "court_list listing rate rural/urban 0.00" in summary
    # Sources that see the blind area a little: its listing rate is lower, in both directions.
    area, ratio, _ = run(0.05)
    assert area[(89, blind)] > 0
    assert ratio > 1 if blind == "urban" else ratio < 1


def test_counts_are_in_real_population_units_and_ratios_do_not_scale():
    sc = _with_groups(busy_rongcheng(people=5_000, days=40), every_days=20)
    one = scslab.run(sc)
    five = scslab.run(sc.with_overrides(scale=5))
    a, b = one.tables["groups"], five.tables["groups"]
    for col in ("people", "scored", "listed", "innocents_listed"):
        assert [x * 5 if x is not None else None for x in a[col].to_pylist()] == b[col].to_pylist()
    assert [5 * x for x in one.tables["group_grades"]["count"].to_pylist()] == five.tables[
        "group_grades"
    ]["count"].to_pylist()
    col = "court_list_listing_ratio_rural_urban"
    a, b = one.metrics[col].to_numpy(), five.metrics[col].to_numpy()
    assert np.array_equal(a, b, equal_nan=True) and not np.isnan(a[-1])


def test_any_scoring_system_and_list_through_the_generic_path(reference):
    # The reference model: a recovering score (read through ``scores``) and a threshold list.
    r = scslab.run(_with_groups(reference.with_overrides(days=120), every_days=50))
    m, rows = r.metrics, r.tables["groups"].to_pylist()
    assert r.tables["group_grades"].num_rows == 0  # a plain score has no grades
    by = _by(rows, "day", "group_kind", "system")
    assert {d for d, _, _ in by} == {0, 50, 100, 119}
    for (day, _, system), part in by.items():
        if system == "recovering_score":
            total = sum(x["mean_score"] * x["people"] for x in part) / reference.meta.people
            assert total == pytest.approx(m["recovering_score_mean"][day].as_py(), abs=1e-9)
        else:
            assert sum(x["listed"] for x in part) == m["threshold_list_size"][day].as_py()
    assert m["threshold_list_size"][119].as_py() > 0


def _counts_as_the_generic_reader_counts(g, day, monkeypatch):
    """A pass's totals on ``day`` with the fast readers, checked against the generic reader's."""
    fast = g.count(day)
    monkeypatch.setattr(groups_module, "FAST_PATHS", False)
    slow = g.count(day)
    for part in ("people", "scored", "sums", "grades", "listed"):
        for kind in GROUP_KINDS:
            assert np.array_equal(fast[part][kind], slow[part][kind]), (part, kind)
    return fast


def test_fast_point_system_reader_equals_the_generic_scores(monkeypatch):
    sc = busy_rongcheng(people=8_000, days=40)
    sc = sc.with_mechanism("recovering_score", points={"traffic_offence": -50})
    sc = sc.with_mechanism("financial_score").with_mechanism("honest_shanghai")  # opt-in
    sim = scslab.run(_with_groups(sc)).simulation
    g = sim.get("groups")
    names = [type(m).__name__ for m in g.scorers]
    assert names == ["Rongcheng", "RecoveringScore", "FinancialOnly", "HonestShanghai"]
    fast = _counts_as_the_generic_reader_counts(g, 39, monkeypatch)
    assert fast["grades"]["area"][0].sum() == 8_000  # Rongcheng: grade x (urban, rural)
    assert fast["sums"]["area"][1].sum() < 1000 * 8_000  # the recovering score moved
    assert 0 < fast["scored"]["area"][3].sum() < 8_000  # few opted in to Honest Shanghai


def test_opt_in_systems_count_and_average_only_the_people_they_score():
    sc = scslab.load_scenario("honest_shanghai_2016").with_overrides(people=20_000, days=60)
    sc = sc.with_mechanism("sesame_credit", adoption_days=30)  # a commercial score beside it
    r = scslab.run(_with_groups(sc))
    m, rows = r.metrics, r.tables["groups"].to_pylist()
    users = {"honest_shanghai": "honest_shanghai_enrolled", "sesame_credit": "sesame_credit_users"}
    for (day, _, system), part in _by(rows, "day", "group_kind", "system").items():
        if system not in users:
            continue
        scored = sum(x["scored"] for x in part)
        assert scored == m[users[system]][day].as_py() > 0
        assert scored < sum(x["people"] for x in part)  # not everyone opted in
        mean = sum(x["mean_score"] * x["scored"] for x in part if x["scored"]) / scored
        assert mean == pytest.approx(m[f"{system}_mean"][day].as_py(), abs=1e-9)
    grades = r.tables["group_grades"].to_pylist()
    for (day, _, grade), part in _by(grades, "day", "group_kind", "grade").items():
        assert sum(x["count"] for x in part) == m[f"honest_shanghai_grade_{grade}"][day].as_py()


def test_a_system_s_groups_are_null_on_the_days_it_does_not_run():
    """Rongcheng's points start on day 92 (2014-01-01): before, the groups read everyone at the
    base score, 1,000 points in grade A, as if earned. Now the points' rows and columns are null
    until the first pass on a day it runs, as its own metric columns are; the court list, which
    runs from day 0, is counted from day 0. Both engines alike."""
    sc = scslab.load_scenario("rongcheng").with_overrides(people=5_000, days=100)
    sc = _with_groups(sc)  # passes on days 0, 30, 60, 90 and 99
    runs = [scslab.run(sc, compiled=c) for c in (True, False)]
    for r in runs:
        rows = r.tables["groups"].to_pylist()
        points = [x for x in rows if x["system"] == "rongcheng_points"]
        before = [x for x in points if x["day"] < 92]
        assert before and all(x["scored"] is None and x["mean_score"] is None for x in before)
        after = [x for x in points if x["day"] == 99]
        assert after and all(x["scored"] is not None for x in after)
        assert sum(x["scored"] for x in after if x["group_kind"] == "area") == 5_000
        court = [x for x in rows if x["system"] == "court_list" and x["day"] == 0]
        assert court and all(x["listed"] is not None for x in court)
        grades = [g for g in r.tables["group_grades"].to_pylist() if g["day"] < 92]
        assert grades and {g["count"] for g in grades} == {None}
        gap = r.metrics["rongcheng_points_mean_gap_rural_urban"].to_pylist()
        assert all(math.isnan(v) for v in gap[:99]) and not math.isnan(gap[99])
        mean = r.metrics["rongcheng_points_mean"].to_pylist()
        assert set(mean[:92]) == {None} and None not in mean[92:]
    assert runs[0].tables["groups"].equals(runs[1].tables["groups"])


def test_a_ratio_is_not_carried_past_the_day_its_list_stopped():
    """The court list's programme ends on day 39; the pass of day 30 found a finite rural/urban
    ratio, and it was carried to the next pass while the list's own columns were null."""
    sc = busy_rongcheng(people=PEOPLE, days=60)
    programmes = {k: v.model_dump() for k, v in sc.mechanisms["backlash"].programmes.items()}
    programmes["court_list"] |= {"approval_at_start": 0.45, "patience_days": 40}
    sc = _with_groups(sc.with_mechanism("backlash", programmes=programmes), every_days=30)
    for compiled in (True, False):
        m = scslab.run(sc, compiled=compiled).metrics
        ratio = m["court_list_listing_ratio_rural_urban"].to_pylist()
        assert not math.isnan(ratio[39]) and all(math.isnan(v) for v in ratio[40:])
        assert set(m["court_list_size"].to_pylist()[40:]) == {None}


def test_a_ratio_is_inf_where_only_the_first_group_has_anyone_listed():
    """(listed share) / (listed share) of two groups: the second group's 0 is the widest gap."""
    ratio, text = groups_module._ratio, groups_module._ratio_text
    assert ratio(3, 100, 0, 200) == math.inf
    assert ratio(0, 100, 2, 200) == 0.0
    assert ratio(3, 100, 3, 200) == 2.0
    assert math.isnan(ratio(0, 100, 0, 200))  # nobody listed in either: nothing to compare
    assert math.isnan(ratio(3, 0, 1, 200)) and math.isnan(ratio(3, 100, 0, 0))  # an empty group
    assert text(math.inf, "in q5") == "inf (nobody in q5 listed)"
    assert text(math.nan, "urban") == "none (nobody listed in either group)"
    assert text(0.0, "urban") == "0.00"


def _integrated_with_every_kind_of_scorer():
    """``integrated_2020`` (a point system, Sesame, the dang'an) with Tencent's score beside.

    The tax office errs more often, so that dossiers hold false entries beside true ones.
    """
    sc = scslab.load_scenario("integrated_2020").with_overrides(people=20_000, days=150)
    tax = sc.mechanisms["data_sources"].all_sources()["tax"].model_dump()
    sc = sc.with_mechanism("data_sources", extra_sources={"tax": tax | {"false_rate": 1e-4}})
    return scslab.run(_with_groups(sc.with_mechanism("tencent_credit"))).simulation


def test_scores_between_are_the_scores_of_those_ids_for_every_scorer():
    sim = _integrated_with_every_kind_of_scorer()
    scorers = [m for m in sim.mechanisms.values() if isinstance(m, Scoring)]
    own = {m.name for m in scorers if type(m).scores_between is not Scoring.scores_between}
    assert own == {"sesame_credit", "tencent_credit", "dangan"}
    n, day = sim.pop.n, 149
    for m in scorers:
        for first, stop in ((0, n), (4_321, 17_000), (n - 1, n), (5, 5)):
            ids = np.arange(first, stop, dtype=np.int64)
            assert np.array_equal(m.scores_between(first, stop, day), m.scores(ids, day)), m.name
            scored = m.scored_between(first, stop)
            expected = np.asarray(m.has_score(ids), np.bool_)
            if scored is None:
                assert expected.all(), m.name
            else:
                assert np.array_equal(np.asarray(scored, np.bool_), expected), m.name
    sesame = sim.get("sesame_credit").scores(np.arange(n), day)
    assert 0 < np.count_nonzero(sesame) < n and np.unique(sesame).size > 10  # users, varied
    dossiers = sim.get("dangan").dossier
    assert np.count_nonzero(dossiers & 15) > 0 and np.count_nonzero(dossiers >> 4) > 0


def test_reading_scorers_a_run_of_ids_at_a_time_counts_what_reading_every_id_counts(
    monkeypatch,
):
    g = _integrated_with_every_kind_of_scorer().get("groups")
    assert [m.name for m in g.scorers] == [
        "national_credit",
        "sesame_credit",
        "dangan",
        "tencent_credit",
    ]
    fast = _counts_as_the_generic_reader_counts(g, 149, monkeypatch)
    assert 0 < fast["scored"]["area"][1].sum() < 20_000  # Sesame scores its users only
    assert fast["sums"]["area"][2].sum() > 0  # dossiers have entries


@numba.njit
def _cells_one_by_one(geo, ids):
    """Each id's cell from the attribute kernels, a person at a time (area x income x age band
    x sex x occupation, in ``GROUP_KINDS`` order)."""
    out = np.empty(ids.size, np.int64)
    for i in range(ids.size):
        pid = ids[i]
        rural = region_of(geo.bounds, pid) % 2
        urban = rural == 0
        years = age(geo.age, pid, geo.households[pid], geo.age_table)
        band = np.int64(years >= 18) + np.int64(years >= 35) + np.int64(years >= 60)
        cell = (rural * 5 + income_class(geo.income, pid, urban)) * 4 + band
        cell = cell * 2 + (0 if is_male(geo.sex, pid) else 1)
        out[i] = cell * 6 + occupation(geo.occupation, pid, years, urban)
    return out


def test_a_pass_gives_each_person_the_cell_of_their_own_attributes():
    """A pass computes its people's cells one attribute a loop (``_cells_of``): they are the
    cells that ``age``, ``income_class``, ``is_male`` and ``occupation`` give a person at a
    time, for everyone (people per cell) and for scattered hits in two blocks crossing
    regions, in both builds."""
    sc = scslab.load_scenario("rongcheng").with_overrides(people=60_000, days=1)
    pop = scslab.Simulation(sc).pop
    geo = groups_module.CellKeys.of(pop)
    everyone = _cells_one_by_one(geo, np.arange(pop.n, dtype=np.int64))
    assert np.unique(everyone).size > 100  # many cells, both areas
    expected = np.bincount(everyone, minlength=groups_module.N_CELLS)
    first, rng = 1_234, np.random.default_rng(5)
    block = (pop.n - first + 1) // 2
    found = np.zeros(2 * block, np.int32)
    counts = np.zeros(2, np.int64)
    for b in range(2):
        lo, hi = b * block, min(pop.n - first, (b + 1) * block)
        picked = np.sort(rng.choice(np.arange(lo, hi), (hi - lo) // 3, replace=False))
        found[lo : lo + picked.size], counts[b] = picked, picked.size
    for build in ("one_thread", "threaded"):
        people = getattr(groups_module._cell_people, build)(0, pop.n, groups_module.BLOCK, geo)
        np.testing.assert_array_equal(people.sum(axis=0), expected)
        cells = getattr(groups_module._cells_at, build)(first, found, counts, block, geo)
        for b in range(2):
            at = slice(b * block, b * block + counts[b])
            np.testing.assert_array_equal(cells[at], everyone[first + found[at]])
