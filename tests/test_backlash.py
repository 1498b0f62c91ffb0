"""Approval and backlash (issue 13): the threshold cascade, approval moved by what people live
through, and a programme abandoned once too few approve of it, in both loops alike.

The cascade is Granovetter's (1978): the two examples from his paper call the kernel the
``backlash`` mechanism calls. Scenario tests run small towns (20,000 people) for a few months.
"""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

import scslab
from conftest import busy_rongcheng, cli_error_line
from scslab.engine.simulation import Simulation
from scslab.kernels.cascade import cascade, cascade_of_thresholds
from scslab.mechanisms.response.backlash import (
    BINS,
    INNOCENTS,
    PUNISHED,
    WITNESSES,
    _approval,
    _bin_of,
    _punish,
    threshold_bin,
)
from scslab.scenario import Scenario

PEOPLE = 20_000


def _rongcheng(days: int = 120, **backlash: object) -> Scenario:
    """Rongcheng with its two programmes (its points; the court list and its travel bans)."""
    sc = busy_rongcheng(people=PEOPLE, days=days)
    return sc.with_mechanism("backlash", **backlash) if backlash else sc


def _programmes(sc: Scenario, name: str, **changes: object) -> dict:
    """The backlash's programmes with one of them changed, as ``with_mechanism`` takes them."""
    programmes = {k: v.model_dump() for k, v in sc.mechanisms["backlash"].programmes.items()}
    programmes[name] |= changes
    return programmes


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mechanisms": []}, r"programmes\.points\.mechanisms: List should have at least 1"),
        ({"mechanisms": ["court_list"]}, r"'court_list' is in two programmes"),
    ],
)
def test_a_programme_of_nothing_or_a_mechanism_in_two_is_refused(change, message):
    sc = _rongcheng(days=1)
    name = next(iter(sc.mechanisms["backlash"].programmes))
    with pytest.raises(scslab.ScenarioError, match=message.replace("points", name)) as e:
        sc.with_mechanism("backlash", programmes=_programmes(sc, name, **change))
    assert "\n" not in str(e.value)


def test_a_default_programme_with_no_member_is_refused_in_one_line(tmp_path) -> None:
    toml = tmp_path / "b.toml"
    toml.write_text(
        '[scenario]\nname = "b"\npeople = 2000\ndays = 5\n'
        "[mechanisms.everyday_acts]\n[mechanisms.backlash]\n"
    )
    line = cli_error_line("run", str(toml), "--out", str(tmp_path / "out"))
    assert "mechanisms.backlash: no programme is named and no" in line
    assert not (tmp_path / "out").exists()
    # the other direction: one mechanism of those families makes the default programme
    toml.write_text(toml.read_text() + "[mechanisms.debt]\n[mechanisms.court_list]\n")
    assert list(Simulation(scslab.load_scenario(toml)).get("backlash").programmes) == ["programme"]


def _run(sc: Scenario, compiled: bool | None = None) -> Simulation:
    sim = Simulation(sc, compiled=compiled)
    sim.run()
    return sim


# -- the cascade --------------------------------------------------------------------------------


def test_granovetter_100_people_with_thresholds_0_to_99_all_join() -> None:
    assert cascade_of_thresholds(np.arange(100)) == 100


def test_granovetter_the_person_with_threshold_1_moved_to_2_leaves_exactly_one_joined() -> None:
    thresholds = np.arange(100)
    thresholds[1] = 2
    assert cascade_of_thresholds(thresholds) == 1


def test_the_one_pass_cascade_is_the_fixed_point_of_rounds_from_nobody() -> None:
    rng = np.random.default_rng(13)
    for _ in range(300):
        counts = rng.integers(0, 6, int(rng.integers(1, 60)))
        unit = float(rng.uniform(0.1, 4.0))
        joined = 0
        while True:  # Granovetter's rounds: everyone whose threshold is reached joins
            reached = int(sum(counts[k] for k in range(counts.size) if k * unit <= joined))
            if reached == joined:
                break
            joined = reached
        assert cascade(counts, unit) == joined


def test_a_threshold_bin_grows_with_the_margin_of_approval() -> None:
    cut, persuasion = 0.2, 0.24
    bins = [threshold_bin(x, cut, persuasion) for x in np.linspace(0.0, 1.0, 401)]
    assert bins == sorted(bins)
    assert bins[0] == 0 and bins[-1] == BINS  # against it alone; never joins
    assert threshold_bin(cut + persuasion / 2, cut, persuasion) == BINS // 2


# -- approval moves with what people experience --------------------------------------------------


def test_day_0_approval_is_the_calibrated_share_and_without_punishment_it_stays() -> None:
    m = _run(_rongcheng(days=60)).columns
    for programme in ("rongcheng", "court_list"):
        assert m[f"{programme}_approval"][0] == pytest.approx(0.8, abs=0.015)  # kostka_2019
    # Rongcheng's points punish nobody by themselves: its approval never moves
    assert set(m["rongcheng_approval"]) == {m["rongcheng_approval"][0]}
    assert m["rongcheng_punished"][-1] == 0


def test_approval_falls_as_the_court_list_punishes_more_innocents() -> None:
    sc = _rongcheng()
    court = sc.mechanisms["data_sources"].all_sources()["court"].model_dump()
    innocent = sc.with_mechanism(
        "data_sources", extra_sources={"court": court | {"false_rate": 3e-5}}
    )
    base, more = _run(sc).columns, _run(innocent).columns
    assert more["court_list_innocents_listed"][-1] > base["court_list_innocents_listed"][-1]
    assert more["court_list_punished"][-1] > base["court_list_punished"][-1] > 0
    assert more["court_list_witnesses"][-1] >= base["court_list_witnesses"][-1]
    assert more["court_list_approval"][-1] < base["court_list_approval"][-1] < 0.8
    # the other direction: a programme nobody saw punish keeps its approval (rongcheng_points)
    assert more["rongcheng_approval"] == base["rongcheng_approval"]
    # innocence is read from the list's records: the same people punished, the innocent term
    # lowers approval where innocents were punished and nowhere else
    unmoved = _run(innocent.with_mechanism("backlash", innocent_drop=0.0)).columns
    assert more["court_list_punishments_of_innocents"][-1] > 0
    assert base["court_list_punishments_of_innocents"][-1] == 0
    for column in ("court_list_punished", "court_list_punishments_of_innocents", "court_list_size"):
        assert more[column] == unmoved[column], column
    assert more["court_list_approval"][-1] < unmoved["court_list_approval"][-1]
    base_unmoved = _run(sc.with_mechanism("backlash", innocent_drop=0.0)).columns
    assert base_unmoved["court_list_approval"] == base["court_list_approval"]


def _punished_alike(
    innocent: bool, innocent_drop: float, public: bool = True
) -> tuple[float, list[int]]:
    """The court list's approval and counts once the same 60 people have been punished.

    ``innocent``: each punishment rests on a false record. The people are spread over the town,
    one in each of 60 neighbourhoods; each punishment is public, as the court list's are.
    """
    sim = Simulation(_rongcheng(days=1, innocent_drop=innocent_drop))
    backlash = sim.get("backlash")
    p = list(backlash.programmes).index("court_list")
    for k in range(60):
        _punish(backlash.state, p, k * (PEOPLE // 60), innocent, public)
    return _approval(backlash.state, p), backlash.counts[p].tolist()


def test_an_innocent_punished_lowers_approval_more_than_a_guilty_one_at_equal_counts() -> None:
    guilty, guilty_counts = _punished_alike(False, 0.0)
    innocent, innocent_counts = _punished_alike(True, 0.0)
    assert guilty_counts[PUNISHED] == innocent_counts[PUNISHED] == 60
    assert guilty_counts[WITNESSES] == innocent_counts[WITNESSES] > 60 * 200
    assert guilty_counts[INNOCENTS] == 0 and innocent_counts[INNOCENTS] == 60
    assert innocent == guilty < 0.8  # the innocent term off: innocence changes nothing
    worse, _ = _punished_alike(True, 0.12)
    same, _ = _punished_alike(False, 0.12)
    assert same == guilty  # the term never touches a guilty punishment
    assert worse < guilty - 0.05  # innocents punished, seen by 60 neighbourhoods
    # a private programme: a guilty punishment is seen at home, an innocent's by the neighbourhood
    _, hidden = _punished_alike(False, 0.12, public=False)
    _, talked_of = _punished_alike(True, 0.12, public=False)
    _, unheard = _punished_alike(True, 0.0, public=False)
    assert hidden[WITNESSES] == unheard[WITNESSES] < 60 * 10  # households
    assert talked_of[WITNESSES] > 60 * 200  # 60 neighbourhoods of 250


def test_public_naming_is_a_punishment_the_whole_neighbourhood_sees() -> None:
    sc = _rongcheng(days=90).with_mechanism("public_naming", naming_rate=0.05)
    # private programmes: only a naming is seen beyond the household
    programmes = _programmes(sc, "court_list", public=False)
    programmes["naming"] = {"mechanisms": ["public_naming"], "public": False}
    # innocence off: word of an innocent listed would reach the court list's neighbourhoods too
    sc = sc.with_mechanism("backlash", programmes=programmes, innocent_drop=0.0)
    court = sc.mechanisms["data_sources"].all_sources()["court"].model_dump()
    sc = sc.with_mechanism("data_sources", extra_sources={"court": court | {"false_rate": 3e-5}})
    compiled, python = _run(sc, True), _run(sc, False)
    assert compiled.compiled_plan is not None and compiled.columns == python.columns
    named = compiled.columns
    unnamed = _run(sc.with_mechanism("public_naming", naming_rate=0.0)).columns
    # innocence read through the naming's list: those named while listed on a false record
    assert (
        0
        < named["naming_punishments_of_innocents"][-1]
        == named["public_naming_innocents_named"][-1]
    )
    punished, seen = named["naming_punished"][-1], named["naming_witnesses"][-1]
    assert punished == named["public_naming_people_named"][-1] > 0
    assert seen > 50 * punished  # neighbourhoods of 250 people
    assert named["court_list_witnesses"][-1] < 5 * named["court_list_punished"][-1]  # households
    assert named["naming_approval"][-1] < named["naming_approval"][0]
    # the other direction: nobody named, nobody moved
    assert unnamed["naming_punished"][-1] == unnamed["naming_witnesses"][-1] == 0
    assert set(unnamed["naming_approval"]) == {named["naming_approval"][0]}


def test_a_dossier_s_job_rejections_punish_and_those_on_false_entries_alone_are_innocent() -> None:
    sc = _rongcheng(days=90).with_mechanism(
        "dangan", job_application_rate=0.02, acts=["court_judgment_unpaid"], sources=["court"]
    )
    court = sc.mechanisms["data_sources"].all_sources()["court"].model_dump()
    sc = sc.with_mechanism("data_sources", extra_sources={"court": court | {"false_rate": 1e-4}})
    programmes = _programmes(sc, "court_list")
    programmes["dossier"] = {"mechanisms": ["dangan"], "public": False}
    sc = sc.with_mechanism("backlash", programmes=programmes)
    compiled, python = _run(sc, True), _run(sc, False)
    assert compiled.compiled_plan is not None and compiled.columns == python.columns
    m = compiled.columns
    rejected, on_false = (
        m["dangan_job_rejections"][-1],
        m["dangan_job_rejections_on_false_entries"][-1],
    )
    assert 0 < m["dossier_punished"][-1] <= rejected  # people rejected at least once
    assert 0 < m["dossier_punishments_of_innocents"][-1] <= on_false
    assert m["dossier_approval"][-1] < m["dossier_approval"][0]
    assert not any("dangan neither" in line for line in compiled.get("backlash").summary())
    # the other direction: a dossier that rejects nobody moves nobody
    idle = _run(sc.with_mechanism("dangan", rejection_per_entry=0.0)).columns  # nobody rejected
    assert idle["dangan_job_rejections"][-1] == 0 == idle["dossier_punished"][-1]
    assert set(idle["dossier_approval"]) == {m["dossier_approval"][0]}


def test_a_member_that_moves_nobody_is_named_in_the_summary_until_it_has_a_low_score_line() -> None:
    sc = _rongcheng(days=60)
    inert = "backlash: rongcheng: rongcheng_points, informants neither punish nor reward anyone"
    assert any(line.startswith(inert) for line in _run(sc).get("backlash").summary())
    lined = sc.with_mechanism(
        "backlash", programmes=_programmes(sc, "rongcheng", low_scores={"rongcheng_points": 1000})
    )
    sim = _run(lined)
    summary = sim.get("backlash").summary()
    assert not any("rongcheng_points" in line and "neither" in line for line in summary)
    still = "backlash: rongcheng: informants neither punishes nor rewards anyone"
    assert any(line.startswith(still) for line in summary)  # the reports punish nobody
    assert sim.columns["rongcheng_punished"][-1] > 0
    assert sim.columns["rongcheng_approval"][-1] < sim.columns["rongcheng_approval"][0]


def test_approval_rises_with_rewards_received_and_stays_without_them() -> None:
    sc = scslab.load_scenario("sesame_credit").with_overrides(people=PEOPLE, days=200)
    refused = _run(sc).columns  # the preset: perks refused below 600 too
    sc = sc.with_mechanism("backlash", programmes=_programmes(sc, "sesame", low_scores={}))
    rewarded = _run(sc).columns
    unmoved = _run(sc.with_mechanism("backlash", reward_lift=0.0)).columns
    assert rewarded["sesame_rewarded"][-1] == unmoved["sesame_rewarded"][-1] > 0
    assert rewarded["sesame_approval"][-1] > rewarded["sesame_approval"][0]
    assert set(unmoved["sesame_approval"]) == {rewarded["sesame_approval"][0]}
    # a score below Sesame's lowest perk line, learned, pulls the other way
    assert refused["sesame_punished"][-1] > 0 == rewarded["sesame_punished"][-1]
    assert refused["sesame_rewarded"] == rewarded["sesame_rewarded"]
    assert refused["sesame_approval"][-1] < rewarded["sesame_approval"][-1]


# -- switched off, on, and abandonment --------------------------------------------------------


def test_switched_off_it_changes_nothing_and_switched_on_it_only_reads() -> None:
    sc = _rongcheng(days=90)
    on = _run(sc)
    off = _run(sc.with_mechanism("backlash", enabled=False))
    assert "backlash" not in off.mechanisms and "backlash" in on.column_owner.values()
    others = {c: v for c, v in on.columns.items() if on.column_owner.get(c) != "backlash"}
    assert others == off.columns  # bit for bit: the backlash reads and never ends a programme here
    assert on.pop.bytes_per_person() == off.pop.bytes_per_person()  # its bits fill free bits


def test_an_abandoned_programme_stops_from_the_next_day_in_both_loops_alike() -> None:
    sc = _rongcheng(days=60)
    # a court list approved by 45% from the start: below 50% for 10 days, it ends on day 9
    sc = sc.with_mechanism(
        "backlash",
        programmes=_programmes(sc, "court_list", approval_at_start=0.45, patience_days=10),
    )
    compiled, python = _run(sc, True), _run(sc, False)
    assert compiled.compiled_plan is not None and python.compiled_plan is None
    assert compiled.columns == python.columns
    m = compiled.columns
    for column in ("court_list_size", "court_list_entries", "flight_purchases_blocked"):
        assert None not in m[column][:10] and set(m[column][10:]) == {None}, column
    assert m["court_list_approval"][9] < 0.5 and set(m["court_list_approval"][10:]) == {None}
    assert None not in m["rongcheng_approval"] + m["rongcheng_points_mean"]  # runs on
    assert compiled.last_days.tolist() == python.last_days.tolist()
    ended = [(e.programme, e.day, e.cause, e.mechanisms) for e in compiled.endings()]
    assert ended == [("court_list", 9, "backlash", ("court_list", "travel_bans"))]


def test_a_sanction_outside_an_abandoned_programme_stops_with_the_list_it_enforces() -> None:
    """The court list's programme ends on day 39 and its list stands still. Travel bans in a
    programme of their own, or in none, enforced that frozen list to the end of the run (at
    20,000 people: 176 listed, flights blocked 112 -> 522 over days 40-89); now they stop with
    it. Ending the bans' programme alone stops nothing else: the list runs on."""
    sc = _rongcheng(days=90)
    court = {"mechanisms": ["court_list"], "approval_at_start": 0.45, "patience_days": 40}
    apart = _programmes(sc, "court_list", **court) | {"bans": {"mechanisms": ["travel_bans"]}}
    alone = _programmes(sc, "court_list", **court)
    for programmes in (apart, alone):
        scenario = sc.with_mechanism("backlash", programmes=programmes)
        compiled, python = _run(scenario, True), _run(scenario, False)
        assert compiled.columns == python.columns
        m = compiled.columns
        for column in ("court_list_size", "flight_purchases_blocked"):
            assert None not in m[column][:40] and set(m[column][40:]) == {None}, column
        assert m["flight_purchases_blocked"][39] > 0 and m["court_list_size"][39] > 0
        ended = [(e.programme, e.day, e.mechanisms) for e in compiled.endings()]
        assert ended == [("court_list", 39, ("court_list", "travel_bans"))]
        line = "backlash: court_list: travel_bans acts on its lists or scores from outside it"
        assert any(line in x for x in compiled.summary_lines()), compiled.summary_lines()
    # the other direction: the bans' programme ends, the list it reads does not
    bans = {"mechanisms": ["travel_bans"], "approval_at_start": 0.45, "patience_days": 40}
    programmes = _programmes(sc, "court_list", mechanisms=["court_list"]) | {"bans": bans}
    m = _run(sc.with_mechanism("backlash", programmes=programmes)).columns
    assert set(m["flight_purchases_blocked"][40:]) == {None}
    assert None not in m["court_list_size"] and m["court_list_size"][-1] > m["court_list_size"][39]


def test_the_manifest_and_the_summary_say_which_programme_ended_when_and_why() -> None:
    sc = _rongcheng(days=30)
    sc = sc.with_mechanism(
        "backlash", programmes=_programmes(sc, "court_list", approval_at_start=0.3, patience_days=5)
    )
    result = scslab.run(sc)
    assert result.manifest["ended"] == [
        {
            "programme": "court_list",
            "day": 4,
            "date": "2013-10-05",
            "cause": "backlash",
            "mechanisms": ["court_list", "travel_bans"],
        }
    ]
    assert "ended: court_list by backlash on 2013-10-05 (day 4)" in result.summary()
    assert scslab.run(_rongcheng(days=5)).manifest["ended"] == []


def test_integrated_2020_with_a_backlash_stays_compiled_and_in_its_bytes_per_person() -> None:
    sc = scslab.load_scenario("integrated_2020").with_overrides(people=6000, days=40, seed=5)
    without = Simulation(sc)
    sim = Simulation(sc.with_mechanism("backlash"), compiled=True)  # one programme: everything
    assert sim.compiled_plan is not None and sim.observers == ["groups"]
    assert sim.pop.bytes_per_person() == without.pop.bytes_per_person()  # bits in free bits
    sim.run()
    assert sim.columns["programme_punished"][-1] > 0 and sim.columns["programme_rewarded"][-1] > 0


def test_a_warm_started_list_s_members_are_no_punishment_the_programme_saw() -> None:
    """The warm start's members were listed before the run: the programme sees its entries only
    (it once counted the whole list as punished on day 0). A list that opens later has no warm
    start (``tests/test_initial.py``)."""
    sc = scslab.load_scenario("integrated_2020").with_overrides(people=6000, days=8, seed=5)
    sc = sc.with_mechanism("debt", arrears_rate=1e-3)  # judgments every day, from day 0
    sc = sc.with_mechanism("backlash", programmes={"courts": {"mechanisms": ["court_list"]}})
    for compiled in (True, False):
        m = _run(sc, compiled).columns
        assert m["court_list_size"][0] > 30 + m["court_list_entries"][0]  # the warm start
        assert m["courts_punished"][-1] == sum(m["court_list_entries"]) > 0


# -- the presets --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "programme", "ends", "year", "seed"),
    [
        # abandoned after public backlash (seed article, which gives no year for the end)
        ("suining_2010", "suining", True, None, 1),
        # ended in 2016 "in part due to consumer concerns" (seed article; facebook_credit_pilot)
        *(("facebook_credit_2016", "facebook", True, "2016", seed) for seed in (1, 2, 3)),
        ("rongcheng", "court_list", False, None, 1),  # broad approval (Kostka 2019)
        *(("sesame_credit", "sesame", False, None, seed) for seed in (1, 2, 3)),
    ],
)
def test_presets_end_by_backlash_as_recorded_or_run_to_their_end(
    preset: str, programme: str, ends: bool, year: str | None, seed: int
) -> None:
    result = scslab.run(preset, people=PEOPLE, seed=seed)
    ended = result.manifest["ended"]
    approval = result.metrics.column(f"{programme}_approval").to_pylist()
    punished = result.metrics.column(f"{programme}_punished").to_pylist()
    assert [e["programme"] for e in ended] == ([programme] if ends else [])
    assert (approval[-1] is None) == ends
    assert punished[-1] > 0  # each could end: its programme punishes people
    if ends:
        assert ended[0]["cause"] == "backlash" and 30 <= ended[0]["day"] < len(approval) - 1
        assert year is None or ended[0]["date"].startswith(year)  # the year its source gives
        assert f"ended: {programme} by backlash on {ended[0]['date']}" in result.summary()
    else:
        assert min(approval) > 0.5


@pytest.mark.parametrize(
    ("preset", "ended_on"),
    [
        ("suining_2010", 149),
        ("facebook_credit_2016", 263),
        ("rongcheng", None),
        ("sesame_credit", None),
    ],
)
def test_presets_under_their_defaults_end_as_docs_backlash_md_says(preset, ended_on):
    # every default, the presets' own 100,000 people included: the days docs/backlash.md gives
    result = scslab.run(preset)
    ended = result.manifest["ended"]
    assert [(e["cause"], e["day"]) for e in ended] == ([("backlash", ended_on)] if ended_on else [])
    if preset == "suining_2010":  # its informants report to the county, and stop with it
        reports = result.metrics.column("informant_reports").to_pylist()
        assert sum(reports[:ended_on]) > 100 and set(reports[ended_on + 1 :]) == {None}


def test_facebook_s_scores_are_settled_when_the_pilot_starts() -> None:
    """Half of the network score is the friends' mean score, which a cold start reads as
    unscored: on day 0 three times as many users scored below the loan line as once settled,
    and the pilot's ending rested on that (a domain review, 2026-12-06). The preset's burn-in
    settles them; without it, the excess is back."""
    import numpy as np

    from scslab.engine.simulation import Simulation

    def below_the_loan_line(sc) -> float:
        sim = Simulation(sc.with_overrides(people=PEOPLE))
        sim.step()
        scorer, ids = sim.mechanisms["network_credit"], np.arange(sim.pop.n)
        users = ids[scorer.has_score(ids)]
        return float((scorer.scores(users, 0) < 620).mean())

    preset = scslab.load_scenario("facebook_credit_2016")
    settled, cold = (
        below_the_loan_line(preset),
        below_the_loan_line(preset.with_overrides(burn_in_days=0)),
    )
    assert preset.meta.burn_in_days >= 365 and settled < 0.25 and cold > 2 * settled


@njit
def _bins_recomputed(s, p, n):
    """Every person's threshold bin for programme ``p``, recomputed from (seed, id) and bits."""
    out = np.empty(n, np.int64)
    for pid in range(n):
        out[pid] = _bin_of(s, p, pid)
    return out


@njit
def _histograms(s):
    return s.hist.copy()


def test_the_histogram_is_every_person_s_bin_recomputed_from_their_bits() -> None:
    # everything that moves bins at once: public and private programmes, innocents, a naming
    # seen by whole neighbourhoods, a dossier's rejections, rewards and low scores
    sc = _rongcheng(days=90).with_mechanism("public_naming", naming_rate=0.05)
    sc = sc.with_mechanism("dangan", job_application_rate=0.02)
    court = sc.mechanisms["data_sources"].all_sources()["court"].model_dump()
    sc = sc.with_mechanism("data_sources", extra_sources={"court": court | {"false_rate": 1e-4}})
    programmes = _programmes(sc, "rongcheng", low_scores={"rongcheng_points": 1000})
    programmes["naming"] = {"mechanisms": ["public_naming"], "public": False}
    programmes["dossier"] = {"mechanisms": ["dangan"], "public": True}
    for programme in programmes.values():
        programme["abandon_below"] = 0.0  # none ends: every bin keeps moving
    sim = _run(sc.with_mechanism("backlash", programmes=programmes))
    backlash = sim.get("backlash")
    n = sim.pop.n
    for p, name in enumerate(backlash.params.programmes):
        counts = np.bincount(_bins_recomputed(backlash.state, p, n), minlength=BINS + 1)
        assert counts.tolist() == _histograms(backlash.state)[p].tolist(), name
        assert sim.columns[f"{name}_punished"][-1] > 0, name


def test_a_programme_that_ends_before_its_member_starts_says_it_never_stepped() -> None:
    """Rongcheng's points start on day 92; a programme that falls on day 4 stopped them before
    they ran. The summary gave their statistics "(stopped after day 4)" though every column was
    null; the groups said the stopped court list had "too few listed to compare"."""
    sc = scslab.load_scenario("rongcheng").with_overrides(people=5_000, days=120)
    programmes = _programmes(sc, "rongcheng", abandon_below=0.99, patience_days=5)
    programmes = _programmes(
        sc.with_mechanism("backlash", programmes=programmes),
        "court_list",
        abandon_below=0.99,
        patience_days=5,
    )
    sc = sc.with_mechanism("backlash", programmes=programmes).with_mechanism("groups")
    sim = Simulation(sc)
    sim.run()
    summary = sim.summary_lines()
    points = [x for x in summary if x.startswith("rongcheng_points:")]
    assert points[0] == (
        "rongcheng_points: never stepped: it starts on 2014-01-01, after a programme's end "
        "stopped it on day 4"
    )
    assert len(points) == 1  # no statistics: they were its starting state
    groups = next(x for x in summary if x.startswith("groups:"))
    assert "court_list listing rates: none (not running at the end)" in groups


def test_a_warm_start_s_look_at_the_debt_cycle_is_not_acting_on_it() -> None:
    """The court list's warm start reads the debt cycle once, at set-up (``initial.like``). It
    was noted as a reader, so a programme of the debt cycle alone stopped the court list and
    every sanction on it when it ended, and only when the list had a warm start."""
    sc = scslab.load_scenario("integrated_2020").with_overrides(people=3_000, days=2)
    sc = sc.with_mechanism("backlash", programmes={"collection": {"mechanisms": ["debt"]}})
    for scenario in (sc, sc.with_mechanism("court_list", initial=None)):
        sim = Simulation(scenario)
        assert sim.get("backlash").stops == {"collection": ["debt"]}
        assert "court_list" not in sim.readers.get("debt", {})
    # the other direction: the sanctions do read the list as they run
    assert {"travel_bans", "joint_punishment", "public_naming"} <= set(sim.readers["court_list"])


def test_a_recovering_score_a_programme_stopped_stands_as_on_its_last_day() -> None:
    # the score is computed when read, from the days since each person's last record: read after
    # a programme's end stopped it (as the backlash kernel lowers last_days), it kept recovering
    def run(stopped: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        sim = Simulation(scslab.load_scenario("reference").with_overrides(people=5_000, days=60))
        score = sim.get("recovering_score")
        for _ in range(30):
            sim.step()
        if stopped:
            sim.last_days[sim.plan_position("recovering_score")] = 29
        pids = np.flatnonzero(score.offset < 0)
        on_29 = score.scores(pids, 29)
        for _ in range(30):
            sim.step()
        reach = score.day_reaching(pids, 59, int(on_29.max()) + 1)
        return pids, on_29, score.scores(pids, 59), reach

    pids, on_29, on_59, reach = run(stopped=False)
    assert pids.size > 100 and np.count_nonzero(on_59 > on_29) > 100  # recovering while it runs
    assert np.all(reach >= 59)
    pids_s, on_29_s, on_59_s, reach_s = run(stopped=True)
    assert np.array_equal(pids_s, pids) and np.array_equal(on_29_s, on_29)
    assert np.array_equal(on_59_s, on_29_s)  # stands still from its last day
    assert set(reach_s.tolist()) == {-1}  # and reaches no level it had not reached by then


def test_rongcheng_s_informants_stop_with_the_city_s_points() -> None:
    """The reports Rongcheng's informants file are read by the city's points, so the informants
    belong to that programme, as Suining's do to the county's: once it is abandoned they file
    no more (before, they reported for the rest of the run to a point system that was gone)."""
    sc = scslab.load_scenario("rongcheng").with_overrides(people=20_000, days=60)
    unloved = {"approval_at_start": 0.1, "abandon_below": 0.5, "patience_days": 30}
    programmes = sc.mechanisms["backlash"].model_dump()["programmes"]
    programmes["rongcheng"] |= unloved
    result = scslab.run(sc.with_mechanism("backlash", programmes=programmes))
    (ended,) = result.manifest["ended"]
    assert (ended["programme"], ended["cause"]) == ("rongcheng", "backlash")
    day = ended["day"]
    reports = result.metrics.column("informant_reports").to_pylist()
    assert all(r is not None for r in reports[: day + 1]) and sum(reports[: day + 1]) > 0
    assert set(reports[day + 1 :]) == {None}
    assert result.metrics.column("court_list_size").to_pylist()[-1] is not None  # not its own


def test_a_programme_member_switched_off_is_left_out_as_without_mechanism_does() -> None:
    """``enabled = false`` on a programme's member refused the scenario ('not an enabled
    mechanism'), where ``without_mechanism`` drops the member: an ablation of Rongcheng's
    informants, now in the city's programme, failed. Both now give the same run."""
    sc = scslab.load_scenario("rongcheng").with_overrides(people=5_000, days=20)
    off = scslab.run(sc.with_mechanism("informants", enabled=False))
    dropped = scslab.run(sc.without_mechanism("informants"))
    assert off.metrics.equals(dropped.metrics)
    assert (
        "mechanisms.backlash.programmes.rongcheng.mechanisms: informants is switched off, so the "
        "programme goes without it" in off.manifest["idle_settings"]
    )
    # a programme left with no member goes; the other stays
    none = sc.with_mechanism("informants", enabled=False).with_mechanism(
        "rongcheng_points", enabled=False
    )
    columns = scslab.run(none).metrics.column_names
    assert "rongcheng_approval" not in columns and "court_list_approval" in columns
    # a setting the programmes left make unused is named, as for without_mechanism's copy
    lined = sc.with_mechanism(
        "backlash",
        score_notice_rate=0.01,
        programmes=_programmes(sc, "rongcheng", low_scores={"rongcheng_points": 990}),
    )
    unused = (
        "mechanisms.backlash.score_notice_rate: no programme has a low_scores line, so a score "
        "learned moves no approval"
    )
    for copy in (
        lined.with_mechanism("rongcheng_points", enabled=False),
        lined.without_mechanism("rongcheng_points"),
    ):
        assert unused in scslab.run(copy).manifest["idle_settings"]
    assert unused not in scslab.run(lined).manifest["idle_settings"]
    # every member of every programme switched off: refused, naming them
    everyone = sc
    for member in ("rongcheng_points", "informants", "court_list", "travel_bans"):
        everyone = everyone.with_mechanism(member, enabled=False)
    with pytest.raises(
        scslab.ScenarioError,
        match=r"every programme's mechanisms are switched off here \(court_list, informants, "
        r"rongcheng_points, travel_bans\); switch one on, or switch backlash off",
    ):
        scslab.run(everyone)
    typo = _programmes(sc, "rongcheng", mechanisms=["no_such"])  # a name it does not have
    with pytest.raises(
        scslab.ScenarioError, match=r"programmes\.rongcheng: 'no_such' is not an enabled"
    ):
        scslab.run(sc.with_mechanism("backlash", programmes=typo))
