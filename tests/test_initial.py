"""Initial conditions: a list that starts from a declared or published state (a warm start)."""

from __future__ import annotations

import datetime as dt
from importlib import resources

import numpy as np
import pytest

import scslab
from conftest import cli_error_line
from scslab.engine.simulation import Simulation
from scslab.errors import ScenarioError
from scslab.mechanisms.lists.initial import InitialListing, figure
from scslab.population.attributes import age, income_class
from scslab.population.geography import region_of

LISTED, EVER = 0.02, 0.03


def _warm(people: int, days: int, **initial) -> scslab.Scenario:
    sc = scslab.load_scenario("rongcheng").with_overrides(people=people, days=days, seed=3)
    declared = {"listed": LISTED, "ever_listed": EVER, "since": 400} | initial
    return sc.with_mechanism("court_list", initial=declared)


def _within(got: float, people: int, share: float, sds: float = 4.0) -> bool:
    return abs(got - people * share) < sds * (people * share * (1 - share)) ** 0.5


@pytest.mark.parametrize("people", [8_000, 20_000])
def test_the_list_starts_at_the_declared_share_whatever_the_people(people):
    m = scslab.run(_warm(people, days=1)).metrics
    size, ever = m["court_list_size"][0].as_py(), m["court_list_persons_ever_listed"][0].as_py()
    assert _within(size, people, LISTED), size
    assert _within(ever, people, EVER), ever
    assert m["court_list_entries"][0].as_py() == 0  # the warm start is not an event of day 0


def test_the_listed_are_poorer_adult_debtors_who_repay_and_the_metrics_move():
    people, days = 20_000, 120  # debts reach the court after 180 days: none of the run's own
    sim = Simulation(_warm(people, days))
    sim.run()
    lst, debt = sim.get("court_list"), sim.get("debt")
    listed = np.flatnonzero(lst.flag.get())
    assert listed.size > 300
    # everyone listed owes an unpaid judgment, or repaid it without the court's source
    # recording it (coverage 0.98 urban, 0.95 rural), and stays listed
    unrecorded = sum(sim.columns["debt_judgments_repaid"]) - sum(sim.columns["court_list_exits"])
    assert 0 <= (~debt.judgment.get()[listed]).sum() <= unrecorded
    assert debt.judgment.get()[listed].mean() > 0.99
    pop = sim.pop
    poor = []
    for pid in range(0, people, 7):  # every 7th person, and every listed one
        poor.append(
            income_class(pop.keys.income, pid, region_of(pop.geography.bounds, pid) % 2 == 0)
        )
    listed_poor = [
        income_class(pop.keys.income, pid, region_of(pop.geography.bounds, pid) % 2 == 0)
        for pid in listed
    ]
    assert all(age(pop.keys.age, pid, pop.households[pid], pop.age_table) >= 18 for pid in listed)
    # drawn as the debt cycle makes debtors: the two lowest quintiles hold about 40% of people
    # and, weighted by arrears and the chance of not having repaid, about two thirds of the listed
    assert np.mean(np.asarray(listed_poor) <= 1) > 0.55 > np.mean(np.asarray(poor) <= 1) + 0.1

    warm = sim.columns
    cold = Simulation(
        scslab.load_scenario("rongcheng").with_overrides(people=people, days=days, seed=3)
    )
    cold.run()
    assert max(cold.columns["court_list_size"]) == 0
    assert sum(cold.columns["debt_judgments_repaid"]) == 0
    assert sum(warm["debt_judgments_repaid"]) > 0  # listed debtors repay and leave
    assert warm["persons_complied_after_listing"][-1] > 0
    assert warm["court_list_size"][-1] < warm["court_list_size"][0]


def test_a_warm_start_of_nobody_changes_nothing():
    sc = scslab.load_scenario("rongcheng").with_overrides(people=5_000, days=40, seed=2)
    off = scslab.run(sc).metrics
    nobody = scslab.run(sc.with_mechanism("court_list", initial={"listed": 0.0})).metrics
    assert off.equals(nobody)


def test_the_published_figures_give_the_2020_list():
    init = InitialListing(
        listed="persons_ever_listed - persons_complied_after_listing",
        ever_listed="persons_ever_listed",
    )
    start = dt.date(2020, 1, 1)
    listed, how = figure(init.listed, init, start, "listed")
    ever, _ = figure(init.ever_listed, init, start, "ever_listed")
    # 13.0M + 1.77M x 366/184 ever listed, 3.51M + 0.29M x 366/92 complied (the preset's comment)
    assert listed * 1_411_778_724 == pytest.approx(16_520_761 - 4_663_696, abs=1)
    assert ever * 1_411_778_724 == pytest.approx(16_520_761, abs=1)
    assert "persons_complied_after_listing@2020-01-01" in how
    row, _ = figure("persons_ever_listed@2018-12-31", init, start, "listed")
    assert row == 13_000_000 / 1_411_778_724


def test_a_count_taken_back_past_its_first_row_is_none_not_below_zero():
    init = InitialListing(
        listed="persons_ever_listed - persons_complied_after_listing",
        ever_listed="persons_ever_listed",
    )
    # The compliers' first rows are 580,000 (2016-12-31) and 2,460,000 (2018-06-10): their line
    # is below zero before 2016-07-22 and was added to the listed, above the ever listed.
    early, late = dt.date(2016, 2, 29), dt.date(2016, 12, 30)
    listed, how = figure(init.listed, init, early, "listed")
    ever, _ = figure(init.ever_listed, init, early, "ever_listed")
    assert listed == ever > 0  # nobody had complied yet
    assert (
        "persons_complied_after_listing@2016-02-29, line through its two nearest rows, below "
        "zero there: none = 0" in how
    )
    listed, how = figure(init.listed, init, late, "listed")
    ever, _ = figure(init.ever_listed, init, late, "ever_listed")
    complied = 580_000 - 1_880_000 * 1 / 526  # the same line, a day before its first row
    assert (ever - listed) * 1_411_778_724 == pytest.approx(complied, abs=1)
    assert "below zero" not in how


def test_integrated_2020_starts_in_2016_with_the_list_the_figures_give():
    sc = scslab.load_scenario("integrated_2020")
    sc = sc.with_overrides(people=20_000, days=2, start_date="2016-02-29")
    warm = scslab.run(sc).manifest["set_up"]["court_list"]["warm_start"]
    assert warm["listed"] == warm["ever_listed"] > 0
    assert warm["listed_share"] == pytest.approx(4_284_987 / 1_411_778_724, rel=1e-6)


def test_ever_listed_below_listed_on_the_start_date_says_how_each_was_worked_out():
    crossed = {"listed": "persons_ever_listed", "ever_listed": "persons_complied_after_listing"}
    sc = _warm(2_000, 2, since=400, **crossed)
    with pytest.raises(ScenarioError) as err:
        Simulation(sc)
    message = str(err.value)
    assert "mechanisms.court_list.initial: ever_listed (" in message
    assert ": persons_complied_after_listing@2013-10-01, line through its two nearest rows" in (
        message
    )
    assert "is below listed (" in message and "on the start date 2013-10-01" in message


def test_integrated_2020_starts_with_the_court_list_of_2020_in_the_compiled_plan():
    people = 20_000
    result = scslab.run("integrated_2020", people=people, days=2, compiled=True)
    assert result.manifest["engine"] == "compiled"
    m = result.metrics
    assert _within(m["court_list_size"][0].as_py(), people, 11_857_065 / 1_411_778_724)
    ever = m["court_list_persons_ever_listed"][0].as_py()
    assert _within(ever, people, 16_520_761 / 1_411_778_724)
    assert "court_list: warm start: " in result.summary()
    warm = result.manifest["set_up"]["court_list"]["warm_start"]
    # the day's own judgments (arrears drawn before the start) enter on top of the warm start
    day_0 = m["court_list_entries"][0].as_py() - m["court_list_exits"][0].as_py()
    assert warm["listed"] == m["court_list_size"][0].as_py() - day_0
    assert warm["listed_share"] == pytest.approx(11_857_065 / 1_411_778_724, rel=1e-6)
    assert "persons_ever_listed" in warm["listed_from"]  # the arithmetic, not in the summary
    assert "persons_ever_listed@" not in result.summary()
    assert result.manifest["set_up"].keys() == {"court_list", "debt"}
    assert result.manifest["set_up"]["debt"]["in_arrears_at_start"] > 0  # the pipeline too


BAD = {
    "share_above_1": ("listed = 1.5", "listed must be a share of people in [0, 1]"),
    "unknown_row": (
        'listed = "persons_ever_listed@2019-01-01"',
        "no row persons_ever_listed@2019-01-01; its rows: 2013-10-01",
    ),
    "no_such_day": (
        'listed = "persons_ever_listed@2018-12-32"',
        "listed: 'persons_ever_listed@2018-12-32': 2018-12-32 is no date (day is out of range "
        "for month); its rows: 2013-10-01",
    ),
    "unknown_quantity": ('listed = "people_listed"', "no quantity 'people_listed'; there are"),
    "ever_below_listed": ("listed = 0.02\never_listed = 0.01", "ever_listed must be at least"),
    "not_a_series": (
        'listed = "false_match_rate"\ndata = "face_recognition.csv"',
        "face_recognition.csv is not a series of dated figures",
    ),
    "figures_over_the_population": (
        'listed = "persons_ever_listed"\npopulation = 1000',
        "mechanisms.court_list.initial.listed: 16520.8 is not a share in [0, 1]",
    ),
}

SCENARIO = """
[scenario]
name = "warm"
people = 2000
days = 5
start_date = "2020-01-01"

[mechanisms.everyday_acts]
[mechanisms.debt]
[mechanisms.data_sources]
[mechanisms.court_list]

[mechanisms.court_list.initial]
"""


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_initial_values_give_one_line_and_exit_2(tmp_path, case):
    text, expected = BAD[case]
    path = tmp_path / "warm.toml"
    path.write_text(SCENARIO + text + "\n")
    if case != "figures_over_the_population":  # that one depends on the start date: at run start
        with pytest.raises(ScenarioError, match=r"mechanisms\.court_list\.initial"):
            scslab.load_scenario(str(path))
    line = cli_error_line("run", str(path), "--quiet", "--out", str(tmp_path / "r"))
    assert line.startswith(f"scslab: error: {path}: mechanisms.court_list.initial")
    assert expected in line, line


def test_a_list_without_a_model_of_its_people_starts_with_anyone():
    people, share = 20_000, 0.01
    sc = scslab.load_scenario("integrated_2020").with_overrides(people=people, days=1)
    sc = sc.with_mechanism("tax_blacklist", initial={"listed": share, "since": 30, "like": ""})
    sc = sc.with_mechanism("court_list", initial=None)  # nobody owes a judgment on day 0
    sim = Simulation(sc)
    sim.run()
    listed = np.flatnonzero(sim.get("tax_blacklist").flag.get())
    assert _within(listed.size, people, share)
    pop = sim.pop
    minors = sum(age(pop.keys.age, pid, pop.households[pid], pop.age_table) < 18 for pid in listed)
    assert minors > 0  # anyone: not drawn as debtors (who are adults)
    assert not sim.get("debt").judgment.get()[listed].any()  # nor made to owe


def test_a_warm_start_is_refused_for_a_list_that_opens_after_the_start_date(tmp_path):
    """A warm start is the list on the start date. A list that opens later held its warm start's
    members from day 0 while it waited, and the travel bans and joint punishment enforced them
    before the list existed (10 people punished in 5 days at 6,000 people, counted by the
    backlash too). The same list opening on the start date keeps its warm start."""
    sc = scslab.load_scenario("integrated_2020").with_overrides(people=6_000, days=5)
    on_time = scslab.run(sc.with_mechanism("court_list", active_from="2020-01-01"))
    assert on_time.metrics["court_list_size"][0].as_py() > 0
    late = sc.with_mechanism("court_list", active_from="2020-01-03")
    with pytest.raises(ScenarioError, match=r"mechanisms\.court_list\.initial: .*2020-01-03"):
        scslab.run(late)
    preset = resources.files("scslab.data.presets") / "integrated_2020.toml"
    text = preset.read_text().replace(
        "[mechanisms.court_list]\n", '[mechanisms.court_list]\nactive_from = "2020-01-03"\n', 1
    )
    path, out = tmp_path / "late.toml", tmp_path / "run"
    path.write_text(text)
    line = cli_error_line("run", str(path), "--people", "6000", "--days", "5", "--out", str(out))
    assert "court_list opens on 2020-01-03 (its active_from)" in line, line
    assert not out.exists()  # nothing half-written


def test_appeals_filed_count_those_still_pending_on_day_0_not_those_decided_before():
    """Everyone appeals, a decision takes 30 days, and the warm start's entries spread over 400
    days: about 30/400 of them are pending on day 0. The counter held every warm-start appeal
    (decided before day 0 too, which cannot be won in the run), so won/filed read low."""
    sc = _warm(20_000, days=1).with_mechanism("court_list", appeal_share=1.0, appeal_days=30)
    m = scslab.run(sc).metrics
    filed, ever = m["court_list_appeals_filed"][0].as_py(), m["court_list_persons_ever_listed"][0]
    entries = m["court_list_entries"][0].as_py()
    pending = filed - entries  # day 0's entries all appeal too
    assert _within(pending, int(EVER * 20_000), 30 / 400, sds=5), (pending, ever)


def test_a_warm_start_older_than_the_list_s_term_is_refused():
    """A term ends every listing within repair_days. Entries drawn over years before the start
    kept listings the term could not have ended before day 0 (they stayed for the whole run:
    176 -> 171 listed in 60 days with a 30-day term and 3 entries)."""
    sc = scslab.load_scenario("integrated_2020").with_overrides(people=6_000, days=3)
    with pytest.raises(ScenarioError, match=r"initial\.since: entries spread over .* 30 or fewer"):
        scslab.run(sc.with_mechanism("court_list", repair_days=30))
    within = _warm(6_000, days=40, since=30).with_mechanism("court_list", repair_days=30)
    size = scslab.run(within).metrics["court_list_size"].to_pylist()
    assert size[0] > 50 and size[-1] < size[0] / 2  # the warm start's terms end in the run
