"""The burn-in (``engine/burn_in.py``): every score starts from the days before the start date."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import scslab
from conftest import cli_error_line
from scslab import ScenarioError
from scslab.api import summary_lines
from scslab.engine.footprint import memory_needed
from scslab.engine.simulation import Simulation
from scslab.mechanisms.scoring.points import _grade
from scslab.population.state import StateRegistry


def _sim(preset: str, people: int, days: int, burn_in: int) -> Simulation:
    sc = scslab.load_scenario(preset).with_overrides(people=people, days=days, burn_in_days=burn_in)
    return Simulation(sc, compiled=False)


def _run(preset: str, people: int, days: int, burn_in: int) -> Simulation:
    sim = _sim(preset, people, days, burn_in)
    sim.run()
    return sim


def test_sesame_starts_from_its_history_and_without_a_cold_start():
    """black_market_2017 carries Sesame's records since its opening (2015-01-28).

    Without the burn-in, day 0's pass scores every user with no activity and no penalty, and the
    mean climbs over the first month as activity is recorded; with it, day 0 already has the
    spread that the scoring rules make: penalties carried, activity counted, the top band filled.
    """
    cold = _run("black_market_2017", 20_000, 61, burn_in=0)
    warm = _run("black_market_2017", 20_000, 61, burn_in=704)
    assert scslab.load_scenario("black_market_2017").meta.burn_in_days == 704
    c, w = cold.columns, warm.columns
    assert c["sesame_credit_at_least_750"][0] == 0 < w["sesame_credit_at_least_750"][0]
    cold_gap = c["sesame_credit_mean"][60] - c["sesame_credit_mean"][0]
    warm_gap = abs(w["sesame_credit_mean"][60] - w["sesame_credit_mean"][0])
    assert cold_gap > 10 and warm_gap < 0.6 * cold_gap
    # by day 60 both are in the steady state: the burn-in changed the start, not the model
    assert abs(w["sesame_credit_mean"][60] - c["sesame_credit_mean"][60]) < 1.5


def test_the_same_people_opt_in_with_and_without_a_burn_in():
    """Draws made once per person (who opts in) are the run's own; only daily draws differ."""
    cold = _sim("black_market_2017", 5_000, 5, burn_in=0)
    warm = _sim("black_market_2017", 5_000, 5, burn_in=300)
    cold.run()
    warm.run()
    users = [s.mechanisms["sesame_credit"].score > 0 for s in (cold, warm)]
    assert users[0].sum() > 500
    assert np.array_equal(users[0], users[1])


def test_the_burn_in_is_not_a_replay_of_the_run_and_its_counts_agree():
    """Point deductions of the burn-in and of the run fall on different people-days.

    Numbered from 0, the burn-in's daily draws would be the run's: the same people would lose
    points in both. And every count the scorer keeps matches the state it took over.
    """
    sim = _sim("integrated_2020", 10_000, 60, burn_in=60)
    points = sim.mechanisms["national_credit"]
    before = points.offset.astype(np.int64)
    grades = np.bincount([_grade(points.mins, o) for o in before], minlength=points.counts.size)
    assert np.array_equal(points.counts, grades)
    assert points.stats[0] == before.sum() < 0
    dangan = sim.mechanisms["dangan"]
    assert dangan.stats[0] == np.count_nonzero(dangan.dossier) > 0
    sim.run()
    gained = points.offset.astype(np.int64) - before
    lost_before, lost_after = before < 0, gained < 0
    assert lost_before.sum() > 1_000 and lost_after.sum() > 1_000
    assert (lost_before & lost_after).sum() < 0.5 * min(lost_before.sum(), lost_after.sum())


def test_lists_start_from_their_warm_start_and_scores_from_the_burn_in():
    """The court list on day 0 is the published warm start either way; the score is not."""
    cold = _run("integrated_2020", 10_000, 1, burn_in=0)
    warm = _run("integrated_2020", 10_000, 1, burn_in=60)
    for column in ("court_list_size", "court_list_persons_ever_listed"):
        assert cold.columns[column] == warm.columns[column]
    assert warm.columns["national_credit_mean"][0] < cold.columns["national_credit_mean"][0] - 0.5
    assert warm.burn_in_s > 0 and cold.burn_in_s == 0


def test_the_run_adopts_the_scorers_arrays_and_needs_no_more_memory(monkeypatch):
    """The burn-in's state is freed before the run's is allocated: the scorers' arrays are
    the burn-in's own (none copied), every other array is new, and the estimate is the same."""
    handed: dict[str, np.ndarray] = {}
    adopt = StateRegistry.adopt
    monkeypatch.setattr(
        StateRegistry, "adopt", lambda self, arrays: (handed.update(arrays), adopt(self, arrays))
    )
    sim = _sim("integrated_2020", 5_000, 5, burn_in=30)
    assert set(handed) == {"sesame_credit", "national_credit_offset", "dangan"}
    for name, array in handed.items():
        assert sim.pop.state.arrays[name] is array
    assert not sim.pop.state.adopted
    assert sim.pop.state.arrays["debt_day"] is not None
    sc = scslab.load_scenario("integrated_2020").with_overrides(people=10**9)
    assert memory_needed(sc.with_overrides(burn_in_days=365)) == memory_needed(sc)


def test_both_engines_give_the_same_run_after_a_burn_in():
    sc = scslab.load_scenario("black_market_2017").with_overrides(people=5_000, days=40)
    loop, plan = Simulation(sc, compiled=False), Simulation(sc, compiled=True)
    loop.run()
    plan.run()
    assert loop.columns == plan.columns


def test_the_summary_and_manifest_name_the_burn_in(tmp_path):
    result = scslab.run("black_market_2017", people=3_000, days=10, out=tmp_path / "run")
    assert result.manifest["scenario"]["scenario"]["burn_in_days"] == 704
    assert result.manifest["timings"]["burn_in_s"] > 0
    lines = "\n".join(summary_lines(result))
    assert "burn-in of 704 days (2015-01-28 to 2016-12-31" in lines


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("reference", "--burn-in", "10"), "recovering_score"),
        (("rongcheng", "--days", "59900", "--burn-in", "365"), "days + burn_in_days"),
    ],
)
def test_a_burn_in_that_cannot_run_is_refused_in_one_line(tmp_path, args, says):
    out = tmp_path / "run"
    line = cli_error_line("run", *args, "--people", "1000", "--out", str(out))
    assert says in line
    assert not out.exists()


@pytest.mark.parametrize("value", [-1, True, 1.5, 60_001])
def test_a_burn_in_that_is_not_a_number_of_days_is_refused(value):
    with pytest.raises(ScenarioError, match="burn_in_days"):
        scslab.load_scenario("rongcheng").with_overrides(burn_in_days=value)


@pytest.mark.parametrize("override", [{"people": True}, {"days": True}, {"burn_in_days": True}])
def test_api_overrides_take_no_boolean_for_a_number(override):
    """``scslab.run("rongcheng", people=True)`` ran one person before: overrides are strict too."""
    with pytest.raises(ScenarioError, match="must be a number, not a boolean"):
        scslab.run("rongcheng", **override)


def test_the_adoption_ramp_goes_on_across_a_burn_in():
    """Sesame's users join along a ramp from its first pass, which a burn-in moves before day 0.

    The ramp counted from the run's day 0 again before: 300 days of burn-in, then the users of
    the burn-in's day 0 for the run's whole first month (1154 at 20,000 people, against 1272 and
    more on the same calendar days without a burn-in).
    """
    warm = _run("sesame_credit", 5_000, 61, burn_in=300)
    cold = _run("sesame_credit", 5_000, 361, burn_in=0)
    w, c = warm.columns["sesame_credit_users"], cold.columns["sesame_credit_users"]
    assert w[60] > w[0] > 0
    for day in (0, 30, 60):  # the same calendar day: the same share of the ramp, the same users
        assert w[day] == c[300 + day]
    sesame = warm.mechanisms["sesame_credit"]
    assert (sesame.first_day, sesame.last_pass) == (-300, 60)


def test_day_0_forgives_the_penalties_due_since_the_burn_ins_last_pass():
    """The burn-in's passes are days of the run's calendar: -180, -150, .., -30 (period 30).

    A unit is forgiven every 90 days from the first pass (``recovery_days``): on days -90 and 0.
    Day 0's is due after the burn-in's last pass, so day 0's pass forgives it: one unit from
    everyone with a penalty (none before: the run counted from its own day 0).
    """
    sim = _sim("sesame_credit", 5_000, 1, burn_in=180)
    sesame = sim.mechanisms["sesame_credit"]
    penalty = sesame.packed.astype(np.int64) & 31
    assert np.count_nonzero(penalty) > 10
    sesame.recompute(0)
    assert np.array_equal(sesame.packed.astype(np.int64) & 31, np.maximum(penalty - 1, 0))
    assert (sesame.first_day, sesame.last_pass) == (-180, 0)


def test_a_mechanism_steps_first_on_its_active_from_or_the_first_day_simulated():
    # a burn-in simulates from MAX_DAYS - N: a mechanism that starts "on day 0" starts there
    sc = scslab.load_scenario("rongcheng").with_overrides(people=2_000, days=200)
    points_from = (dt.date(2014, 1, 1) - sc.meta.start_date).days  # its active_from
    run = Simulation(sc)
    assert run.first_day_of("debt") == 0 and run.first_day_of("rongcheng_points") == points_from
    later = Simulation(sc, from_day=100)
    assert later.first_day_of("debt") == 100 and later.first_day_of("rongcheng_points") == 100
    assert later.mechanisms["debt"].first_day == 100  # its arrears before it land there
