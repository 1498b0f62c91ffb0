"""The systems of the seed beyond the engine's first world: each proves its effect both ways."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import scslab
from conftest import busy_rongcheng
from scslab.engine.simulation import Simulation
from scslab.population.households import household_size, household_start


def _busy_joint(people=20_000, days=150, **sector_changes):
    sc = busy_rongcheng(people=people, days=days)
    sectors = {
        "childrens_schools": {"attempt_rate": 0.02, "enforcement": 1.0, "family_extension": True},
        "other_jobs": {"attempt_rate": 0.02, "enforcement": 1.0, "income_loss": True},
    }
    for name, change in sector_changes.items():
        sectors[name] = sectors[name] | change
    data = sc.resolved()
    data["mechanisms"]["joint_punishment"] = {"list": "court_list", "sectors": sectors}
    return scslab.scenario_from_dict(data)


def test_family_extension_reaches_household_members_only_when_switched_on():
    on = Simulation(_busy_joint())
    off = Simulation(_busy_joint(childrens_schools={"family_extension": False}))
    for sim in (on, off):
        family_blocked = 0
        for _ in range(sim.days):
            sim.step()
            jp = sim.get("joint_punishment")
            flag = sim.get("court_list").flag
            ids = jp.blocked_ids
            listed = flag.get(ids)
            # everyone blocked is listed or shares a household with someone listed
            hh = sim.pop.households
            for pid in ids[~listed]:
                start = household_start(hh, pid)
                assert flag.get(np.arange(start, start + household_size(hh, pid))).any()
            family_blocked += int((~listed).sum())
        sim.family_blocked = family_blocked
    assert on.family_blocked > 10
    assert off.family_blocked == 0
    assert on.get("joint_punishment").blocked_family["childrens_schools"] == on.family_blocked


def test_lost_income_slows_repayment():
    base = _busy_joint(people=30_000, days=200)
    harsh = scslab.run(base.with_mechanism("debt", income_loss_repay_factor=0.0)).metrics
    mild = scslab.run(base.with_mechanism("debt", income_loss_repay_factor=1.0)).metrics
    assert sum(harsh["joint_punishment_income_lost_new"].to_pylist()) > 20
    complied_harsh = harsh["persons_complied_after_listing"][-1].as_py()
    complied_mild = mild["persons_complied_after_listing"][-1].as_py()
    assert complied_harsh < complied_mild
    # no sector costs income: nobody loses it
    none = scslab.run(_busy_joint(people=30_000, days=200, other_jobs={"income_loss": False}))
    assert "joint_punishment_income_lost_new" not in none.metrics.column_names


def test_suining_deducts_petitioning_and_rongcheng_does_not():
    sc = busy_rongcheng(people=20_000, days=60)
    acts = sc.mechanisms["everyday_acts"].model_dump()["acts"]
    acts = {"petitioning": acts["petitioning"] | {"rate": 0.01}}
    data = sc.resolved()
    data["mechanisms"] = {
        "everyday_acts": {"acts": acts},
        "data_sources": data["mechanisms"]["data_sources"],
        "suining_points": {},
        "rongcheng_points": {},
    }
    m = scslab.run(scslab.scenario_from_dict(data)).metrics
    assert m["suining_points_mean"][-1].as_py() < 995
    assert m["rongcheng_points_mean"][-1].as_py() == 1000
    assert m["suining_points_grade_B"][-1].as_py() > 0


def test_financial_score_ignores_non_financial_records_and_stays_in_range():
    sc = busy_rongcheng(people=20_000, days=120)
    data = sc.resolved()
    data["mechanisms"]["financial_score"] = {}
    sim = Simulation(scslab.scenario_from_dict(data))
    sim.run()
    fin = sim.get("financial_score")
    s = fin.scores(np.arange(sim.pop.n), sim.days)
    assert s.min() >= 300 and s.max() <= 850
    assert fin.counts.sum() == sim.pop.n
    # a camera-only world moves the Rongcheng score but never the financial one
    data["mechanisms"]["everyday_acts"] = {
        "acts": {"traffic_offence": {"rate": 0.01, "trait": "compliance", "weight": 0.0}}
    }
    data["mechanisms"].pop("debt")
    m = scslab.run(scslab.scenario_from_dict(data)).metrics
    assert m["rongcheng_points_mean"][-1].as_py() < 1000
    assert set(m["financial_score_mean"].to_pylist()) == {720.0}


def test_a_mechanism_waits_for_its_active_from_date():
    sc = _busy_joint(days=120)
    start = sc.meta.start_date
    late = sc.with_mechanism("joint_punishment", active_from=start + dt.timedelta(days=60))
    m = scslab.run(late).metrics
    assert sum(m["childrens_schools_blocked"].to_pylist()[:60]) == 0
    assert m["childrens_schools_blocked"][-1].as_py() > 0


@pytest.mark.parametrize("preset", scslab.preset_names())
def test_every_preset_runs_at_50000_people_for_a_year(preset):
    r = scslab.run(preset, people=50_000, days=365)
    assert r.manifest["status"] == "complete"
    assert r.metrics.num_rows == 365
    assert r.manifest["bytes_per_person"] <= 12
    assert r.summary().count("\n") < 40  # fits on one screen
