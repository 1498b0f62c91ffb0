"""Invariants checked day by day against brute-force recounts of the stored state."""

from __future__ import annotations

import numpy as np

import scslab
from scslab.catalogue import act_by_name
from scslab.engine.mechanism import REGISTRY
from scslab.engine.simulation import Simulation
from scslab.mechanisms.lists.base import EVER_LISTED, EXITS, INNOCENTS, REACH, ListBase
from scslab.mechanisms.lists.threshold_list import ThresholdList
from scslab.population.households import household_size, household_start


def _household_reach_brute(flag, households):
    n = households.size
    listed = flag.get()
    reach = 0
    pid = 0
    while pid < n:
        start, size = household_start(households, pid), household_size(households, pid)
        assert start == pid
        k = int(listed[start : start + size].sum())
        reach += size - k if k else 0
        pid += size
    return reach


def test_rongcheng_invariants_hold_every_day(busy):
    sim = Simulation(busy)
    points = sim.get("rongcheng_points")
    court = sim.get("court_list")
    bans = sim.get("travel_bans")
    n = sim.pop.n
    entries = exits = 0
    blocked_seen = 0
    for day in range(busy.meta.days):
        sim.step()
        # population conserved: every person is in exactly one grade
        assert points.counts.sum() == n
        # grade counts equal a brute-force histogram of stored scores
        scores = points.scores(np.arange(n), day)
        brute = np.zeros(len(points.counts), np.int64)
        for g, lo in enumerate(points.mins + points.params.base):
            hi = np.inf if g == 0 else points.mins[g - 1] + points.params.base
            brute[g] = np.count_nonzero((scores >= lo) & (scores < hi))
        np.testing.assert_array_equal(brute, points.counts)
        # list size equals entries minus exits, and the flag agrees
        entries += court.entered.size
        exits += court.exited.size
        assert court.size == entries - exits == court.flag.count()
        # every blocked purchase belongs to a person on the list today
        assert court.flag.get(bans.blocked_ids).all()
        blocked_seen += bans.blocked_ids.size
    assert entries > 50 and exits > 5 and blocked_seen > 20  # the scenario exercises all paths
    assert court.stats[REACH] == _household_reach_brute(court.flag, sim.pop.households)
    assert court.stats[EVER_LISTED] == court.ever.count()
    assert court.stats[INNOCENTS] == court.false_flag.count()


def test_reference_lazy_score_matches_full_recount(reference):
    # recover a point a day so that people leave the list within the run
    reference = reference.with_mechanism("recovering_score", recovery_days=1)
    sim = Simulation(reference)
    score = sim.get("recovering_score")
    lst = sim.get("threshold_list")
    n = sim.pop.n
    everyone = np.arange(n)
    for day in range(reference.meta.days):
        sim.step()
        s = score.scores(everyone, day)
        assert s.max() <= 1000 and s.min() > 0
        # incremental mean equals the brute-force mean of lazily evaluated scores
        assert score.stats[0] == (s - 1000).sum()
        # membership follows the thresholds with hysteresis
        listed = lst.flag.get()
        assert not (listed & (s >= 950)).any()
        assert not (~listed & (s < 900)).any()
    assert lst.stats[EXITS] > 0  # some people recovered and left the list
    assert lst.stats[REACH] == _household_reach_brute(lst.flag, sim.pop.households)


def _lists_world(people: int = 20_000, days: int = 120):
    """Fast debts with one list of each kind: a court list, a record list, a threshold list."""
    from conftest import busy_rongcheng

    data = busy_rongcheng(people=people, days=days).resolved()
    acts = data["mechanisms"]["everyday_acts"]["acts"]
    acts["prosocial_act"] = acts["prosocial_act"] | {"rate": 0.01}  # exits from both new lists
    data["mechanisms"]["offence_list"] = {
        "type": "record_list",
        "entry_acts": ["traffic_offence"],
        "exit_acts": ["prosocial_act"],
    }
    data["mechanisms"]["low_points"] = {
        "type": "threshold_list",
        "score": "rongcheng_points",
        "enter_below": 990,
        "exit_at": 1000,
    }
    return scslab.scenario_from_dict(data)


def test_lists_are_lists():
    """Every kind of list keeps the list contract, and enters people by its own rule.

    Each day: whoever is newly on a list entered it today and whoever is newly off left it;
    size = entries - exits = the flag's count; everyone listed is marked ever listed. Entries
    follow the rule, recounted from the board or the score: a record list's entrants have an
    entry act recorded today, a threshold list's a score below its threshold; its leavers a score
    at or above the exit one.
    """
    sim = Simulation(_lists_world())
    lists = {n: m for n, m in sim.mechanisms.items() if isinstance(m, ListBase)}
    kinds = {type(m) for m in lists.values()}
    registered = {c for c in REGISTRY.values() if issubclass(c, ListBase)}
    assert kinds == registered  # a new kind of list must be added to this test
    points = sim.get("rongcheng_points")
    prev = {n: m.flag.get() for n, m in lists.items()}
    totals = {n: [0, 0] for n in lists}
    for day in range(sim.days):
        sim.step()
        records = sim.board.records
        for name, lst in lists.items():
            now, entered, exited = lst.flag.get(), lst.entered, lst.exited
            assert set(np.flatnonzero(now & ~prev[name])) <= set(entered.tolist())
            assert set(np.flatnonzero(prev[name] & ~now)) <= set(exited.tolist())
            totals[name][0] += entered.size
            totals[name][1] += exited.size
            assert lst.size == totals[name][0] - totals[name][1] == lst.flag.count()
            assert not (now & ~lst.ever.get()).any()
            if isinstance(lst, ThresholdList):
                p = lst.params
                assert (points.scores(entered, day) < p.enter_below).all()
                assert (points.scores(exited, day) >= p.exit_at).all()
            else:
                acts = [act_by_name(a) for a in lst.params.entry_acts]
                recorded = set(records["pid"][np.isin(records["act"], acts)].tolist())
                assert set(entered.tolist()) <= recorded
            prev[name] = now
    for name, (entries, exits) in totals.items():
        assert entries > 20 and exits > 0, name  # the scenario exercises every path
