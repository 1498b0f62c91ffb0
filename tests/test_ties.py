"""Cut ties: stored only with ``tie_cutting``, read by informants and commercial scores, written
by public naming and the low-score rule; the tie network's largest connected share. Each effect
both ways, the no-op bit for bit, and the union-find against a plain search."""

from __future__ import annotations

import math
import re
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest

import scslab
from conftest import busy_rongcheng
from scslab.audit import harm_audit
from scslab.catalogue import Source
from scslab.engine.simulation import Simulation
from scslab.errors import ScenarioError
from scslab.kernels.rng import below, uniform
from scslab.mechanisms.ties import (
    LOW_SCORE,
    NETWORK_TIES,
    PART_ROOMS,
    TieCuts,
    _largest_in_parts,
    _largest_in_region,
    cut_tie,
    largest_component,
    leaving_room,
)
from scslab.population.attributes import (
    SMALL_LOCALITY,
    community_tie,
    community_ties,
    regions_ties,
)
from scslab.population.geography import region_of


def _edges(sim, cuts, people=None, locality=None):
    """Every kept network tie (pid, tie) of ``people`` (default: the population), from the
    attribute kernel: the first ``NETWORK_TIES`` of each person, of which only the first
    ``cuts.stored`` can be cut; at ``locality`` (default: the population's)."""
    pop = sim.pop
    locality = pop.params.tie_locality if locality is None else locality
    out = []
    for pid in range(pop.n) if people is None else people:
        r = region_of(pop.geography.bounds, pid)
        lo, hi = pop.geography.bounds[r], pop.geography.bounds[r + 1]
        bits = (int(cuts.flags[pid]) >> cuts.shift) if cuts.stored else 0
        for k in range(NETWORK_TIES):
            if k >= cuts.stored or not (bits >> k) & 1:
                tie = community_tie(pop.keys.ties, pid, k, lo, hi, locality)
                out.append((pid, tie))
    return out


def _largest_by_search(n, edges):
    adj = [[] for _ in range(n)]
    for a, b in edges:
        adj[a].append(b)
        adj[b].append(a)
    seen = np.zeros(n, bool)
    best = 0
    for start in range(n):
        if seen[start]:
            continue
        seen[start] = True
        stack, size = [start], 0
        while stack:
            v = stack.pop()
            size += 1
            for w in adj[v]:
                if not seen[w]:
                    seen[w] = True
                    stack.append(w)
        best = max(best, size)
    return best


def _sesame(people=10_000, days=30, **cutting):
    sc = scslab.load_scenario("sesame_credit").with_overrides(people=people, days=days, seed=5)
    sc = sc.with_mechanism("sesame_credit", adoption_days=0)
    return sc.with_mechanism("tie_cutting", **cutting) if cutting else sc


def _in_beijing(sc):
    """The scenario in one province: two regions, so that the network is mostly one region."""
    return replace(sc, population=sc.population.model_copy(update={"provinces": ["Beijing"]}))


def _tie_by_libm(key, pid, k, lo, hi, locality):
    """The tie as first written, with libm's ``log``: the ties every earlier result was made of."""
    span = hi - lo
    if span <= 1:
        return pid
    dist = 1 + int(-math.log(1.0 - uniform(key, 0, pid, 2 * k)) * locality)
    if dist >= span:
        dist = 1 + (dist - 1) % (span - 1)
    at = pid - lo + dist * (2 * below(key, 0, pid, 2 * k + 1, 2) - 1)
    return lo + at + span * (int(at < 0) - int(at >= span))


# Regions of 0, 1, 2, 3 and 40 people, then larger ones: short regions wrap most distances.
_BOUNDS = np.array([0, 0, 1, 3, 6, 46, 3_046, 1_003_046, 1_010_000], np.int64)


@pytest.mark.parametrize("locality", [1, 7, 500, 40_000, SMALL_LOCALITY, SMALL_LOCALITY + 1])
def test_ties_drawn_at_once_are_the_ties_drawn_one_by_one(locality):
    """``community_ties`` and ``regions_ties`` give ``community_tie``'s ties, which are the ties
    of libm's ``log``, in every kind of region, wrapped or not, both directions."""
    key = np.uint64(0x5EED)
    pids = np.unique(np.r_[np.arange(0, 3_100), np.arange(1_002_900, 1_003_300), 1_009_999])
    ties = 8
    out = np.full(ties * pids.size, -1, np.int64)
    regions_ties(key, pids, ties, _BOUNDS, locality, out, pids.size)
    wrapped = 0
    for i, pid in enumerate(pids):
        r = region_of(_BOUNDS, int(pid))
        lo, hi = int(_BOUNDS[r]), int(_BOUNDS[r + 1])
        for k in range(ties):
            one = community_tie(key, int(pid), k, lo, hi, locality)
            assert one == _tie_by_libm(key, int(pid), k, lo, hi, locality)
            assert out[k * pids.size + i] == one
            assert lo <= one < hi and (one != pid or hi - lo == 1)
            dist = 1 + int(-math.log(1.0 - uniform(key, 0, int(pid), 2 * k)) * locality)
            wrapped += 1 < hi - lo <= dist  # a distance the kernels wrap
    run = np.arange(6, 46)  # one region's run, by the one-region kernel
    one_region = np.empty(4 * run.size, np.int64)
    community_ties(key, run, 4, 6, 46, locality, one_region, run.size)
    expected = [community_tie(key, int(p), k, 6, 46, locality) for k in range(4) for p in run]
    np.testing.assert_array_equal(one_region, expected)
    assert wrapped > 0  # the rare branch ran


def _cut_some(cuts, n, share, rng):
    """A share of people lose a random stored tie (a small share), or all of them (a large)."""
    for pid in np.flatnonzero(rng.random(n) < share):
        for k in range(cuts.stored) if share > 0.5 else [int(rng.integers(cuts.stored))]:
            cut_tie(cuts, int(pid), k, LOW_SCORE)


@pytest.mark.parametrize("ties", [3, 8])
def test_largest_component_equals_a_plain_search_with_and_without_cuts(ties):
    """The network is everyone's first 8 ties whatever ``ties`` stores; only stored ones cut."""
    sim = Simulation(_in_beijing(_sesame(people=3_000, days=1, ties=ties, low_score_rate=0.0)))
    tc = sim.get("tie_cutting")
    cuts, bounds = tc.cuts, sim.pop.geography.bounds
    rng = np.random.default_rng(1)
    for share in (0.0, 0.3, 0.9):  # a share of people lose a random tie, then all of theirs
        _cut_some(cuts, sim.pop.n, share, rng)
        expected = _largest_by_search(sim.pop.n, _edges(sim, cuts))
        locality = sim.pop.params.tie_locality
        for wave in (1, 2, 64):  # regions at a time: speed only
            network = (cuts, sim.pop.keys.ties, bounds, locality, wave)
            assert largest_component(*network, None) == expected  # both builds: parallel tests
    uncut = cuts._replace(flags=np.zeros_like(cuts.flags))
    if ties == 8:  # every network tie of 90% cut: the network falls apart
        assert expected < _largest_by_search(sim.pop.n, _edges(sim, uncut))
    else:  # 5 of 8 ties left to everyone: still joined, as largest as with every tie
        assert expected == _largest_by_search(sim.pop.n, _edges(sim, uncut))
    assert cuts.counts[LOW_SCORE] == sum(bin(int(b)).count("1") for b in cuts.flags)


@pytest.mark.parametrize("parts", [2, 3, 7])
def test_a_region_joined_in_parallel_parts_has_the_same_largest_component(parts):
    """Each part joins the ties inside it, the ties that leave a part are joined afterwards; a
    part out of room for them measures the region again in one thread. Every way gives the
    plain search's largest component, with few cuts and with the network fallen apart."""
    sim = Simulation(_in_beijing(_sesame(people=3_000, days=1, low_score_rate=0.0)))
    cuts, key, bounds = sim.get("tie_cutting").cuts, sim.pop.keys.ties, sim.pop.geography.bounds
    r = int(np.argmax(np.diff(bounds)))
    lo, hi = int(bounds[r]), int(bounds[r + 1])
    found = []
    for share in (0.3, 0.9):
        _cut_some(cuts, sim.pop.n, share, np.random.default_rng(parts))
        for locality in (3, 40):
            expected = _largest_by_search(hi, _edges(sim, cuts, range(lo, hi), locality))
            found.append(expected)
            assert _largest_in_region(cuts, key, lo, hi, locality) == expected
            for room in (leaving_room(locality), 0):  # 0: every part out of room
                for threads in (None, True):
                    args = (cuts, key, lo, hi, locality, parts, room)
                    assert _largest_in_parts(threads, 10**6, *args) == expected
    assert found[0] > found[2] > 1  # the network fell apart: a different largest component


def test_a_region_of_many_parts_worth_is_measured_in_parts_with_the_same_result():
    """Regions of 20,000 people at locality 1: each region is cut into parts where ``wave`` is
    2 (``PART_ROOMS`` parts' worth of room each); the result is the plain search's and the
    same for any wave."""
    sc = _in_beijing(_sesame(people=40_000, days=1, low_score_rate=0.0))
    sc = replace(sc, population=sc.population.model_copy(update={"tie_locality": 1}))
    sim = Simulation(sc)
    cuts, bounds = sim.get("tie_cutting").cuts, sim.pop.geography.bounds
    assert np.diff(bounds).max() // 2 >= PART_ROOMS * leaving_room(1)  # measured in parts
    _cut_some(cuts, sim.pop.n, 0.3, np.random.default_rng(1))
    expected = _largest_by_search(sim.pop.n, _edges(sim, cuts))
    for wave in (1, 2, 3):
        for threads in (None, True):
            network = (cuts, sim.pop.keys.ties, bounds, 1, wave)
            assert largest_component(*network, threads) == expected


def test_ties_stored_but_never_cut_change_nothing():
    """tie_cutting on, with no rule that cuts: every other column as without it, bit for bit."""
    sc = busy_rongcheng(people=15_000, days=90)
    sc = sc.with_mechanism("public_naming", naming_rate=0.2, tie_cut_prob=0.5)
    sc = sc.with_mechanism("sesame_credit", adoption_days=0)
    off = scslab.run(sc).metrics
    quiet = sc.with_mechanism("tie_cutting", from_naming=False, low_score_rate=0.0)
    on = scslab.run(quiet).metrics
    assert on["public_naming_ties_cut"][-1].as_py() > 0  # naming drew cuts; none were stored
    assert on["tie_cutting_ties_cut"][-1].as_py() == 0
    for col in off.column_names:
        assert on[col].to_pylist() == off[col].to_pylist(), col
    stored = scslab.run(sc.with_mechanism("tie_cutting", low_score_rate=0.0)).metrics
    assert stored["tie_cutting_ties_cut"][-1].as_py() > 0  # the same draws, now stored
    assert stored["sesame_credit_mean"].to_pylist() != off["sesame_credit_mean"].to_pylist()


@pytest.mark.parametrize("stored", [True, False])
def test_ties_that_cut_a_named_person_stop_reporting_them(stored):
    """Every tie reports every unrecorded act, every tie of a named person cuts contact: with the
    cuts stored nobody reports a named person's acts, without them their ties still do."""
    sc = busy_rongcheng(people=15_000, days=90)
    sc = sc.with_mechanism("public_naming", naming_rate=0.3, tie_cut_prob=1.0)
    sc = sc.with_mechanism("informants", report_prob=1.0)
    sc = sc.with_mechanism("tie_cutting", from_naming=stored, low_score_rate=0.0)
    sim = Simulation(sc)
    named = sim.get("public_naming").named
    on_named = on_others = 0
    for _ in range(sim.days):
        before = named.get()
        sim.step()
        rec = sim.board.records
        by_informant = rec["pid"][rec["source"] == Source.INFORMANT]
        on_named += int(before[by_informant].sum())
        on_others += int((~before[by_informant]).sum())
    assert named.count() > 50 and on_others > 500
    if stored:
        assert on_named == 0
    else:
        assert on_named > 0


def test_cut_ties_leave_the_relationships_dimension():
    sim = Simulation(_sesame(days=1, low_score_rate=0.0))
    sim.step()  # day 0: the first pass admits the users
    s, cuts = sim.get("sesame_credit"), sim.get("tie_cutting").cuts
    users = np.flatnonzero(s.score > 0)
    s.recompute(0)  # the period's activity is reset: the passes below differ only in the ties
    s.score[users] = s.params.score_max
    s.recompute(0)
    kept = s.score[users].astype(np.int64)
    half = users[: users.size // 2]
    for pid in half:
        for k in range(cuts.stored):
            cut_tie(cuts, int(pid), k, LOW_SCORE)
    s.score[users] = s.params.score_max
    s.recompute(0)
    cut = s.score[users].astype(np.int64)
    # ties at the top count 1; cut ones leave the "no ties" value 0.5: - half the dimension
    w = s.params.relationships_weight / sum(s.params.weights())
    drop = w * 0.5 * (s.params.score_max - s.params.score_min)
    moved = cut < kept
    assert moved[: half.size].mean() > 0.5 and not moved[half.size :].any()
    assert np.abs(kept[moved] - cut[moved] - drop).max() <= 1


def test_low_score_cuts_rise_and_the_network_falls_with_the_rate():
    """Everyone scored, everyone below the line: more cutting, fewer ties, a smaller network."""
    last = {}
    for rate in (0.0, 0.05, 0.5):
        sc = _sesame(low_score_rate=rate, low_score_below=951, network_days=10)
        sc = sc.with_overrides(people=8_000)
        sc = sc.with_mechanism(
            "sesame_credit", opt_in_share=1.0, opt_in_age_factors=[1, 1, 1, 1, 1]
        )
        sc = _in_beijing(sc)
        r = scslab.run(sc, compiled=True)
        assert r.manifest["engine"] == "compiled"
        m = {c: r.metrics[c].to_pylist() for c in r.metrics.column_names}
        share = m["tie_cutting_largest_connected_share"]
        assert [d for d, v in enumerate(share) if v is not None] == [0, 10, 20, 29]
        assert sum(m["tie_cutting_cut_today"]) == m["tie_cutting_ties_cut"][-1]
        assert m["tie_cutting_cut_today_by_naming"] == [0] * 30
        last[rate] = (m["tie_cutting_ties_cut"][-1], share[-1])
        items = {h.item: h.value for h in harm_audit(r.metrics)}
        largest = "tie_cutting: largest connected share of the tie network (last measured)"
        assert items[largest] == share[-1]
    (c0, s0), (c1, s1), (c2, s2) = last[0.0], last[0.05], last[0.5]
    assert c0 == 0 < c1 < c2
    assert s0 > s1 > s2


def test_users_who_drop_low_scorers_score_higher():
    off = scslab.run(_sesame(days=90)).metrics
    on = scslab.run(_sesame(days=90, low_score_rate=0.05)).metrics
    assert on["tie_cutting_ties_cut"][-1].as_py() > 100
    assert on["sesame_credit_mean"][-1].as_py() > off["sesame_credit_mean"][-1].as_py()
    assert on["sesame_credit_mean"][0].as_py() == off["sesame_credit_mean"][0].as_py()


def test_cut_bits_are_the_registry_flags():
    sim = Simulation(_sesame(people=2_000, days=1, ties=4, low_score_rate=0.0))
    cuts: TieCuts = sim.get("tie_cutting").cuts
    flags = [sim.pop.state.flags[f"tie_cut_{k}"] for k in range(4)]
    assert cuts.stored == 4 and all(f.array is cuts.flags for f in flags)
    assert cut_tie(cuts, 7, 2, LOW_SCORE) == 1 and cut_tie(cuts, 7, 2, LOW_SCORE) == 0
    assert cut_tie(cuts, 7, 4, LOW_SCORE) == 0  # past the stored ties: never cut
    assert [f.get()[7] for f in flags] == [False, False, True, False]
    assert sum(f.count() for f in flags) == 1 == cuts.counts[LOW_SCORE]


def test_the_low_score_rule_needs_its_score():
    sc = busy_rongcheng(people=2_000, days=1).with_mechanism("tie_cutting")
    with pytest.raises(ScenarioError, match="low_score_rate = 0"):
        Simulation(sc)
    Simulation(sc.with_mechanism("tie_cutting", low_score_rate=0.0))  # naming's cuts only


def test_tie_cutting_runs_alike_in_the_compiled_plan_and_the_python_loop():
    sc = busy_rongcheng(people=8_000, days=40)
    sc = sc.with_mechanism("public_naming", naming_rate=0.3, tie_cut_prob=0.5)
    sc = sc.with_mechanism("sesame_credit", adoption_days=0)
    sc = sc.with_mechanism("tie_cutting", low_score_rate=0.05, network_days=7)
    runs = []
    for compiled in (True, False):
        sim = Simulation(sc, compiled=compiled)
        sim.run()
        runs.append(sim)
    compiled, python = runs
    assert compiled.compiled_plan is not None and python.compiled_plan is None
    cut = python.columns["tie_cutting_cut_today"]
    assert sum(python.columns["tie_cutting_cut_today_by_naming"]) > 0 and sum(cut) > 100
    assert python.columns == compiled.columns


@pytest.mark.parametrize("compiled", [True, False])
def test_the_network_measure_counts_in_its_mechanism_s_phase_time(compiled):
    """A mechanism's daily metrics are part of its phase: the union-find of the largest connected
    share (tie cutting's metrics, not its step) shows in ``tie_cutting``'s row, in both loops,
    not in time no row owns. The step does nothing here (no low-score rule, no naming).

    Measured against the measure itself, timed alone on the same network under the same load:
    38 more measures (40 against 2: day 0 and the last day) add at least half their own time to
    the row. (A ratio of the two rows depends on how fast the measure is against the rest of a
    day, which changes with every speed-up.)"""
    seconds = {}
    for network_days in (0, 1):
        sc = _sesame(people=200_000, days=40, low_score_rate=0.0, network_days=network_days)
        sim = Simulation(sc, compiled=compiled)
        sim.run()
        assert (sim.compiled_plan is not None) == compiled
        seconds[network_days] = next(r.seconds for r in sim.plan if r.mechanism == "tie_cutting")
    pop = sim.pop
    network = (sim.get("tie_cutting").cuts, pop.keys.ties, pop.geography.bounds)
    one = math.inf
    for _ in range(5):
        start = time.perf_counter()
        largest_component(*network, pop.params.tie_locality, 2, None)
        one = min(one, time.perf_counter() - start)
    assert seconds[1] - seconds[0] > 0.5 * 38 * one, (seconds, one)


TWO_TABLES = """
[scenario]
name = "two_cuts"
people = 2000
days = 5

[mechanisms.everyday_acts]
[mechanisms.data_sources]
[mechanisms.sesame_credit]
[mechanisms.tie_cutting]
[mechanisms.more_cuts]
type = "tie_cutting"
ties = 4
"""

TWO_TABLES_REFUSED = (
    "mechanisms.more_cuts: a scenario stores cut ties once, and mechanisms.tie_cutting does "
    "already; keep one tie_cutting table"
)


def test_two_tie_cutting_tables_are_refused_in_one_line_by_the_api_and_the_cli(tmp_path):
    path = tmp_path / "two.toml"
    path.write_text(TWO_TABLES)
    sc = scslab.load_scenario(str(path))
    with pytest.raises(ScenarioError, match=re.escape(f"{path}: {TWO_TABLES_REFUSED}")):
        scslab.run(sc)
    with pytest.raises(ScenarioError, match=re.escape(TWO_TABLES_REFUSED)):
        Simulation(sc)
    res = subprocess.run(
        [sys.executable, "-m", "scslab.cli", "run", str(path), "--out", str(tmp_path / "run")],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2, res.stderr
    assert res.stderr.strip().splitlines() == [f"scslab: error: {path}: {TWO_TABLES_REFUSED}"]
    assert not (tmp_path / "run").exists()
