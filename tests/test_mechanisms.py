"""Each mechanism changes outcomes the way its description says, in both directions."""

from __future__ import annotations

import math

import numpy as np
import pytest

import scslab
from conftest import busy_rongcheng, daily_informant_records
from scslab.catalogue import Act, Source
from scslab.engine.mechanism import REGISTRY, Behaviour
from scslab.engine.simulation import Simulation


def _total(table, col):
    return sum(table[col].to_pylist())


def test_everyday_act_rates_match_their_mean_and_follow_the_trait():
    sc = scslab.load_scenario("reference").with_overrides(people=200_000, days=20)
    sim = Simulation(sc)
    pids = []
    for _ in range(20):
        sim.step()
        pids.append(sim.board.acts["pid"])
    pids = np.concatenate(pids)
    n_trials = 200_000 * 20
    expected = 0.0045 * n_trials
    assert abs(pids.size - expected) < 5 * math.sqrt(expected)
    # p = 0.003 (2 - c): the least compliant half offends 0.00525 vs 0.00375 for the most
    from scslab.population.attributes import trait

    c = np.array([trait(sim.pop.keys.compliance, int(p)) for p in pids[:20_000]])
    low, high = np.count_nonzero(c < 0.5), np.count_nonzero(c >= 0.5)
    assert abs(low / (low + high) - 0.00525 / 0.009) < 0.02


def test_a_day_with_more_acts_than_the_board_had_room_for_draws_the_same_acts():
    # 450 acts a day: more than the board's first buffers (256 rows) hold
    sc = scslab.load_scenario("reference").with_overrides(people=100_000, days=3)
    roomy, cramped = Simulation(sc), Simulation(sc)
    cramped.mechanisms["everyday_acts"].room = 1  # every day overflows: grown, drawn again
    for _ in range(3):
        roomy.step()
        cramped.step()
        a, b = roomy.board.acts, cramped.board.acts
        assert a["pid"].size > 256 and np.array_equal(a["pid"], b["pid"])
        assert np.array_equal(a["act"], b["act"])
    assert cramped.mechanisms["everyday_acts"].room > 256
    assert roomy.columns == cramped.columns


def test_data_source_coverage_zero_records_nothing_and_one_records_everything():
    base = busy_rongcheng(people=10_000, days=30).with_mechanism("informants", enabled=False)
    sources = base.mechanisms["data_sources"].model_dump()["sources"]
    blind = {
        k: v | {"coverage_urban": 0.0, "coverage_rural": 0.0, "false_rate": 0.0}
        for k, v in sources.items()
    }
    seeing = {k: v | {"coverage_urban": 1.0, "coverage_rural": 1.0} for k, v in sources.items()}
    a = scslab.run(base.with_mechanism("data_sources", sources=blind)).metrics
    b = scslab.run(base.with_mechanism("data_sources", sources=seeing)).metrics
    assert _total(a, "records_true") == 0 and _total(a, "records_false") == 0
    assert _total(b, "observed_missed_acts") == 0
    assert _total(b, "records_true") == _total(b, "acts")


def test_false_records_lower_scores_of_people_who_did_nothing():
    base = busy_rongcheng(people=10_000, days=40)
    # no backlash: so many innocents listed would end the court list's programme
    base = base.with_mechanism("backlash", enabled=False)
    sources = base.mechanisms["data_sources"].model_dump()["sources"]
    noisy = {k: v | {"false_rate": 1e-3} if v["false_act"] else v for k, v in sources.items()}
    clean = {k: v | {"false_rate": 0.0} for k, v in sources.items()}
    a = scslab.run(base.with_mechanism("data_sources", sources=noisy)).metrics
    b = scslab.run(base.with_mechanism("data_sources", sources=clean)).metrics
    assert _total(a, "rongcheng_points_false_record_changes") > 100
    assert (
        _total(b, "records_false") == 0 and _total(b, "rongcheng_points_false_record_changes") == 0
    )
    # lower, not only changed: with false records' points negated, the noisy run's mean rose
    # above the clean one's and the counts above still held (a review, 2026-12-07)
    assert a["rongcheng_points_mean"][-1].as_py() < b["rongcheng_points_mean"][-1].as_py() - 0.5
    assert a["court_list_innocents_listed"][-1].as_py() > 0
    assert b["court_list_innocents_listed"][-1].as_py() == 0


def test_informants_report_what_sources_missed():
    sc = busy_rongcheng(people=10_000, days=40)
    on = scslab.run(sc.with_mechanism("informants", report_prob=0.05)).metrics
    off = scslab.run(sc.with_mechanism("informants", enabled=False)).metrics
    assert _total(on, "records_by_informant") > 50
    assert _total(off, "records_by_informant") == 0
    assert _total(on, "records_true") - _total(off, "records_true") == _total(
        on, "informant_reports"
    )


def test_any_of_the_ties_reports_at_one_minus_the_chance_that_none_does():
    # The reference model's ties are alike (one draw per act); a tie's opportunism that barely
    # matters takes the draw-per-tie path. Both report a missed act with 1 - (1 - p) ** ties.
    sc = scslab.load_scenario("reference").with_overrides(people=40_000, days=60)
    expected_share = 1.0 - (1.0 - 0.01) ** 8
    for weight in (0.0, 1e-9):
        m = scslab.run(sc.with_mechanism("informants", opportunism_weight=weight)).metrics
        missed, reported = _total(m, "observed_missed_acts"), _total(m, "informant_reports")
        expected = missed * expected_share
        assert missed > 3000
        assert abs(reported - expected) < 4.5 * math.sqrt(expected * (1 - expected_share))


def test_point_catalogue_moves_scores_both_ways():
    sc = busy_rongcheng(people=10_000, days=40)
    harsh = sc.with_mechanism("rongcheng_points", points={"traffic_offence": -200})
    kind = sc.with_mechanism("rongcheng_points", points={"prosocial_act": 200})
    a = scslab.run(harsh).metrics
    b = scslab.run(kind).metrics
    assert a["rongcheng_points_mean"][-1].as_py() < 1000 < b["rongcheng_points_mean"][-1].as_py()
    assert a["rongcheng_points_grade_C"][-1].as_py() > 0
    assert b["rongcheng_points_grade_AAA"][-1].as_py() > 0


def test_listing_raises_repayment():
    sc = busy_rongcheng(people=20_000, days=150)
    weak = scslab.run(sc.with_mechanism("debt", repay_hazard_listed=0.0)).metrics
    strong = scslab.run(sc.with_mechanism("debt", repay_hazard_listed=0.1)).metrics
    assert weak["persons_complied_after_listing"][-1].as_py() == 0
    assert strong["persons_complied_after_listing"][-1].as_py() > 50
    assert strong["court_list_size"][-1].as_py() < weak["court_list_size"][-1].as_py()


def test_debt_cycle_reaches_court_only_after_the_lag():
    sc = busy_rongcheng(people=20_000, days=60).with_mechanism("debt", court_lag_days=30)
    m = scslab.run(sc).metrics
    judgments = m["debt_judgments"].to_pylist()
    assert sum(judgments[:30]) == 0 and sum(judgments[30:]) > 0
    assert m["court_list_size"][29].as_py() <= _total(m, "records_false")


def test_travel_ban_enforcement_both_ways():
    """Enforcement is the chance that a listed person's attempt is blocked: all at 1, none at 0,
    and half at 0.5 (the same attempts: the runs share their draws). A review (2026-12-07)
    found enforcement read as on or off passing this test, which tried 1 and 0 only."""
    sc = busy_rongcheng(people=10_000, days=60)

    def blocked(enforcement: float) -> int:
        m = scslab.run(sc.with_mechanism("travel_bans", enforcement=enforcement)).metrics
        flights, trains = m["flight_purchases_blocked"][-1], m["train_purchases_blocked"][-1]
        assert flights.as_py() > 0 or enforcement == 0.0
        assert trains.as_py() > 0 or enforcement == 0.0
        return flights.as_py() + trains.as_py()

    every = blocked(1.0)
    assert every > 100
    assert blocked(0.0) == 0
    assert abs(blocked(0.5) - 0.5 * every) < 4.0 * math.sqrt(every * 0.25)


def test_ledger_counts_records_by_source():
    # recounted day by day from the board's records, not from the ledger's own tallies
    sim = Simulation(busy_rongcheng(people=10_000, days=30))
    recount = {c: [] for c in ("acts", "records_true", "records_false")}
    by_source = np.zeros((sim.days, len(Source)), np.int64)
    for day in range(sim.days):
        sim.step()
        acts, records = sim.board.acts, sim.board.records
        recount["acts"].append(acts["pid"].size)
        recount["records_true"].append(int(records["true"].sum()))
        recount["records_false"].append(int((~records["true"]).sum()))
        by_source[day] = np.bincount(records["source"], minlength=len(Source))
    for column, values in recount.items():
        assert sim.columns[column] == values, column
    for s in Source:
        assert sim.columns[f"records_by_{s.name.lower()}"] == by_source[:, s].tolist(), s.name
    assert np.count_nonzero(by_source.sum(axis=0)) >= 3  # several sources recorded something
    assert Act.OFFENCE == 0  # codes are stable: they are stored in event logs


def test_local_groups_are_runs_of_neighbouring_ids():
    from scslab.population import Population, PopulationParams
    from scslab.population.attributes import (
        GROUP_SIZES,
        NEIGHBOURHOOD,
        WORK,
        local_group,
        local_group_member,
    )

    pop = Population(10_000, 3, PopulationParams())
    key = pop.keys.groups
    for kind in (WORK, NEIGHBOURHOOD):
        groups = np.array([local_group(key, p, kind) for p in range(10_000)])
        assert np.all(np.diff(groups) >= 0)  # contiguous runs
        sizes = np.bincount(groups - groups.min())
        assert sizes[1:-1].min() == sizes[1:-1].max() == GROUP_SIZES[kind]
        g = groups[5_000]
        members = [local_group_member(key, g, kind, k, 10_000) for k in range(GROUP_SIZES[kind])]
        assert 5_000 in members
        assert all(local_group(key, m, kind) == g for m in members)


def test_neighbourhood_watchers_add_reports():
    sc = busy_rongcheng(people=10_000, days=40)
    none = scslab.run(sc).metrics
    watched = scslab.run(sc.with_mechanism("informants", neighbourhood_watchers=20)).metrics
    assert _total(watched, "informant_reports") > 1.5 * _total(none, "informant_reports")
    assert _total(watched, "acts") == _total(none, "acts")


def test_neighbourhood_watchers_report_from_the_offenders_group_and_only_when_on():
    """Without ties, only watchers can report: none when they are off, and each reporter of a
    day is a member of a reported offender's neighbourhood group (the informed bit, cleared
    before each day, holds the day's reporters; a true informant record names the offender)."""
    from scslab.population.attributes import NEIGHBOURHOOD, local_group

    def reports(watchers: int) -> tuple[Simulation, list]:
        params = {"ties": 0, "neighbourhood_watchers": watchers, "report_prob": 0.05}
        sim = Simulation(
            busy_rongcheng(people=10_000, days=40).with_mechanism("informants", **params)
        )
        return sim, daily_informant_records(sim, true=True)

    off, days = reports(0)
    assert sum(off.columns["informant_reports"]) == 0
    assert all(reporters.size == offenders.size == 0 for reporters, offenders in days)
    on, days = reports(20)
    key = on.pop.keys.groups
    reported = sum(on.columns["informant_reports"])
    assert reported > 100
    assert sum(offenders.size for _, offenders in days) == reported  # all accepted
    for reporters, offenders in days:
        assert reporters.size <= offenders.size
        groups = {local_group(key, int(o), NEIGHBOURHOOD) for o in offenders}
        for reporter in reporters.tolist():
            assert local_group(key, reporter, NEIGHBOURHOOD) in groups


def test_an_act_with_a_minimum_age_is_never_committed_by_anyone_younger():
    """Children under 6 were on a tax blacklist, and babies jaywalked, misused shared bikes and
    bought online at adults' rates: everyday acts had no age. Every act but the reference
    model's generic offence now has its ``catalogue.MIN_AGE``, at the rate of those old enough;
    the offence is still anyone's, children included."""
    from scslab.catalogue import MIN_AGE, act_by_name
    from scslab.engine.board import acts_of
    from scslab.population.attributes import age

    drawn = [a for a in Act if a not in (Act.WANTED_SIGHTING,)]
    acts = {a.name.lower(): {"rate": 0.05} for a in drawn}
    sc = scslab.scenario_from_dict(
        {
            "scenario": {"name": "ages", "people": 40_000, "days": 1},
            "mechanisms": {"everyday_acts": {"acts": acts}},
        },
        "test",
    )
    sim = Simulation(sc, compiled=False)
    sim.step()
    pid, act, _ = acts_of(sim.board.native)
    pop = sim.pop
    years = np.array([age(pop.keys.age, p, pop.households[p], pop.age_table) for p in pid])
    everyone = np.array(
        [age(pop.keys.age, p, pop.households[p], pop.age_table) for p in range(pop.n)]
    )
    assert set(MIN_AGE) == set(drawn) - {Act.OFFENCE}  # every act but the generic offence
    for name in acts:
        code = act_by_name(name)
        youngest = MIN_AGE.get(code, 0)
        mine = act == code
        old_enough = int((everyone >= youngest).sum())
        expected = 0.05 * old_enough
        assert abs(mine.sum() - expected) < 4 * math.sqrt(expected), name  # their rate
        assert years[mine].min() >= youngest, name
        if youngest:  # and people just that old do commit it
            assert (years[mine] < youngest + 5).any(), name
    minors = float((years[act == Act.OFFENCE] < 6).mean())
    assert abs(minors - float((everyone < 6).mean())) < 0.02  # no minimum: anyone


@pytest.mark.parametrize(
    ("false_act", "children_too"),
    [("traffic_offence", False), ("court_judgment_unpaid", False), ("offence", True)],
)
def test_no_false_record_claims_an_act_of_someone_too_young_for_it(false_act, children_too):
    """A data error and a malicious report claimed traffic offences and unpaid court judgments
    of toddlers; of an act with no minimum age (the generic offence) they still name anyone. A
    report passes a child over for someone else, so as many are filed either way."""
    from scslab.population.attributes import age

    sc = scslab.scenario_from_dict(
        {
            "scenario": {"name": "ages", "people": 20_000, "days": 5},
            "mechanisms": {
                "everyday_acts": {"acts": {"jaywalking": {"rate": 0.001}}},
                "data_sources": {
                    "sources": {
                        "camera": {
                            "acts": ["jaywalking"],
                            "coverage_urban": 0.5,
                            "coverage_rural": 0.5,
                            "false_rate": 0.01,
                            "false_act": false_act,
                        }
                    }
                },
                "informants": {"malicious_rate": 0.01, "false_act": false_act, "accept_false": 1.0},
            },
        },
        "test",
    )
    sim = Simulation(sc, compiled=False)
    pop = sim.pop
    named = {Source.CAMERA: [], Source.INFORMANT: []}
    for _ in range(sc.meta.days):
        sim.step()
        r = sim.board.records
        for source, people in named.items():
            people += list(r["pid"][(r["source"] == source) & ~r["true"]])
    for source, people in named.items():
        years = np.array([age(pop.keys.age, p, pop.households[p], pop.age_table) for p in people])
        assert years.size > 400, source
        minors = float((years < 18).mean())
        if children_too:
            assert 0.12 < minors < 0.24, (source, minors)  # about their share of people
        else:
            assert minors == 0.0, (source, minors)
    filed = sum(sim.columns["informant_false_reports"])
    years = [age(pop.keys.age, p, pop.households[p], pop.age_table) for p in range(pop.n)]
    expected = 0.01 * sum(y >= 14 for y in years) * sc.meta.days  # reporters are 14 or older
    assert abs(filed - expected) < 4 * math.sqrt(expected)


def test_a_mechanism_name_registered_twice_names_both_classes():
    first = REGISTRY["debt"]
    with pytest.raises(TypeError) as e:

        class Debt(Behaviour):
            name = "debt"

    assert str(e.value).startswith(
        f"mechanism name 'debt' is used twice: by {first.__module__}.{first.__qualname__} and "
        f"by {__name__}.test_a_mechanism_name_registered_twice_names_both_classes.<locals>.Debt"
    )
    assert REGISTRY["debt"] is first


@pytest.mark.parametrize("weight", [0.0, 1.0])  # ties alike (one draw), or each tie on its own
def test_reporters_are_old_enough_unless_anyone_may_report(weight):
    """Babies informed on their neighbours and were paid for it: reporters had no age. Now a
    tie, a watcher or a malicious reporter younger than ``reporter_min_age`` (14) reports
    nothing; at 0 children report in their share of people again."""
    from scslab.population.attributes import age

    def reporters(youngest):
        sc = scslab.scenario_from_dict(
            {
                "scenario": {"name": "reporters", "people": 20_000, "days": 20},
                "mechanisms": {
                    "everyday_acts": {"acts": {"offence": {"rate": 0.02}}},
                    "informants": {
                        "acts": ["offence"],
                        "report_prob": 0.05,
                        "opportunism_weight": weight,
                        "neighbourhood_watchers": 2,
                        "malicious_rate": 0.002,
                        "false_act": "offence",
                        "reporter_min_age": youngest,
                    },
                },
            },
            "test",
        )
        sim = Simulation(sc)
        sim.run()
        pop = sim.pop
        informed = np.flatnonzero(sim.get("informants").informed.get())
        years = np.array([age(pop.keys.age, p, pop.households[p], pop.age_table) for p in informed])
        everyone = [age(pop.keys.age, p, pop.households[p], pop.age_table) for p in range(pop.n)]
        return years, float(np.mean(np.array(everyone) < 14))

    years, _ = reporters(14)
    assert years.size > 1_000 and years.min() >= 14
    years, children = reporters(0)
    assert abs(float((years < 14).mean()) - children) < 0.03  # anyone: children in their share


def test_a_sector_is_attempted_only_at_its_ages():
    """Blocked school enrolments were mostly of people with no child of school age (babies,
    people of 65 or more living alone), and civil-service jobs went to applicants of 75. A
    school place is now attempted by a child of 6-17, whose listed parent blocks it, a civil
    service job at 18-35 and other jobs at working age; widened to every age, the blocked are
    of every age again."""
    from scslab.population.attributes import age

    def blocked_ages(**windows):
        sectors = {
            "childrens_schools": {
                "attempt_rate": 0.02,
                "family_extension": True,
                **windows.get("schools", {"min_age": 6, "max_age": 17}),
            },
            "other_jobs": {
                "attempt_rate": 0.02,
                "income_loss": True,
                **windows.get("jobs", {"min_age": 18, "max_age": 59}),
            },
        }
        sc = scslab.load_scenario("integrated_2020").with_overrides(people=20_000, days=20)
        sc = sc.with_mechanism("court_list", initial={"listed": 0.05, "since": 30, "like": ""})
        sc = sc.with_mechanism("joint_punishment", sectors=sectors, active_from=None)
        sim = Simulation(sc, compiled=False)
        jp, pop, years = sim.get("joint_punishment"), sim.pop, []
        for _ in range(sim.days):
            sim.step()
            years += [
                age(pop.keys.age, p, pop.households[p], pop.age_table) for p in jp.blocked_ids
            ]
        blocked = {k: int(v) for k, v in jp.blocked.items()}
        return np.array(years), blocked

    years, blocked = blocked_ages()
    assert blocked["childrens_schools"] > 100 and blocked["other_jobs"] > 100
    assert years.min() >= 6 and years.max() <= 59
    everyone = {"min_age": 0, "max_age": 255}
    years, _ = blocked_ages(schools=everyone, jobs=everyone)
    assert years.min() < 6 and years.max() > 59


def test_nobody_younger_than_its_sign_up_age_is_enrolled_in_an_opt_in_score():
    """Honest Shanghai enrolled babies "by ID card and face" (195 of 2,330 users under 6) and
    gave them rewards. Signing up now takes 16 years (an ID card); at 0 children sign up in
    their share of people again, the misverified among them."""
    from scslab.population.attributes import age

    def users(youngest):
        sc = scslab.load_scenario("honest_shanghai_2016").with_overrides(people=20_000, days=1)
        sc = sc.with_mechanism("honest_shanghai", enrolment_min_age=youngest, misverification=0.05)
        sim = Simulation(sc)
        scorer, pop = sim.get("honest_shanghai"), sim.pop
        everyone = np.arange(pop.n)
        enrolled = everyone[scorer.has_score(everyone)]
        years = np.array([age(pop.keys.age, p, pop.households[p], pop.age_table) for p in enrolled])
        return years, scorer.n

    years, n = users(16)
    assert years.size == n > 500 and years.min() >= 16
    years, n = users(0)
    assert years.size == n and float((years < 16).mean()) > 0.1


def test_a_misverified_sign_up_is_matched_to_someone_in_the_id_card_gallery():
    """The face search at sign-up matched users to babies, whose records then scored them; the
    gallery is of ID-card photos, so the person matched is 16 or older (``ages.ID_CARD_AGE``),
    whatever the user's own age."""
    from scslab.population.attributes import age

    sc = scslab.load_scenario("honest_shanghai_2016").with_overrides(people=20_000, days=1)
    sc = sc.with_mechanism(
        "honest_shanghai", enrolment=0.5, enrolment_min_age=0, misverification=0.3
    )
    sim = Simulation(sc)
    hs, pop = sim.get("honest_shanghai"), sim.pop

    def years(ids):
        return np.array([age(pop.keys.age, p, pop.households[p], pop.age_table) for p in ids])

    assert hs.misverified.users.size > 500
    assert years(hs.misverified.by_matched).min() >= 16
    assert years(hs.misverified.users).min() < 16  # users of any age here: only the gallery's
