"""The harm audit reads the metrics right: checked against the mechanisms' own state."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

import scslab
from scslab.audit import CAUSES, audit_lines, harm_audit
from scslab.engine.mechanism import Lists
from scslab.mechanisms.consequences.sectors import SectorSanctions
from scslab.mechanisms.lists.base import ENTRIES, EVER_LISTED, EXITS, INNOCENTS, SIZE
from scslab.mechanisms.metrics.ledger import Ledger


@pytest.fixture(scope="module")
def integrated(tmp_path_factory):
    out = tmp_path_factory.mktemp("audit") / "run"
    sc = scslab.load_scenario("integrated_2020").with_mechanism(
        "court_list", appeal_share=0.5, appeal_success_false=0.9
    )
    return scslab.run(sc, people=30_000, days=365, out=out)


def _by_item(harms):
    return {(h.section, h.item): h.value for h in harms}


def test_audit_matches_the_lists_and_sanctions(integrated):
    audit = _by_item(integrated.harm_audit())
    mechanisms = integrated.simulation.mechanisms
    lists = [m for m in mechanisms.values() if isinstance(m, Lists)]
    assert lists
    for lst in lists:
        s = lst.stats
        key = ("innocents punished", f"{lst.name}: listed on a false record now")
        assert audit[key] == s[INNOCENTS]
        if s[ENTRIES]:
            assert audit[("time on lists", f"{lst.name}: entries")] == s[ENTRIES]
            left = sum(
                audit[("time on lists", f"{lst.name}: {how}")]
                for how in (
                    "left by appeal",
                    "left at the end of a term (credit repair)",
                    "left on their own",
                )
            )
            assert left == s[EXITS]
            # each way by its own count ("left on their own" is the rest, so the sum alone held
            # with the appeals and the terms swapped: a review, 2026-12-07)
            assert audit[("time on lists", f"{lst.name}: left by appeal")] == lst.appeals_won
            term = f"{lst.name}: left at the end of a term (credit repair)"
            assert audit[("time on lists", term)] == lst.repaired
            at_the_end = audit[("time on lists", f"{lst.name}: listed at the end")]
            assert at_the_end == s[SIZE]
            # the items add up: the warm start's listings + entries - exits = listed at the end
            began = audit.get(
                ("time on lists", f"{lst.name}: listed when the run began (warm start)"), 0
            )
            assert began + s[ENTRIES] - s[EXITS] == at_the_end
            if lst.name == "court_list":  # integrated_2020 warm-starts its court list
                assert began > 0
            per_listing = audit[("time on lists", f"{lst.name}: days listed per listing")]
            assert 0 < per_listing <= 365 and s[EVER_LISTED] > 0
    sanctions = [m for m in mechanisms.values() if isinstance(m, SectorSanctions)]
    innocent = sum(sum(m.blocked_innocent.values()) for m in sanctions)
    assert audit[("innocents punished", "all sectors: attempts of innocents blocked")] == innocent
    family = mechanisms["joint_punishment"].blocked_family["childrens_schools"]
    school = "children's school enrolments blocked for a household member's listing"
    assert audit[("families", school)] == family


def test_leaving_on_ones_own_says_how_each_list_is_left(integrated):
    """A threshold list's members leave when their score recovers, not by repaying: the note
    says so from the list, the run folder's table too, and a table alone names both ways."""
    notes = {
        h.item: h.note for h in integrated.harm_audit() if h.item.endswith(": left on their own")
    }
    assert notes["court_list: left on their own"] == "a recorded judgment_repaid"
    assert notes["tax_blacklist: left on their own"] == "none can: the list has no exit acts"
    written = pq.read_table(integrated.run_dir / "harm_audit.parquet").to_pylist()
    assert {r["item"]: r["note"] for r in written if r["item"] in notes} == notes
    alone = {h.item: h.note for h in harm_audit(integrated.metrics)}
    assert alone["court_list: left on their own"] == alone["tax_blacklist: left on their own"]
    assert "repaid" in alone["court_list: left on their own"]
    assert "score" in alone["court_list: left on their own"]


def test_false_records_by_cause_add_up_to_the_ledger(integrated):
    harms = integrated.harm_audit()
    causes = [h for h in harms if h.section == "false records by cause"]
    ledger = next(m for m in integrated.simulation.mechanisms.values() if isinstance(m, Ledger))
    assert sum(h.value for h in causes) == int(ledger.cum[2]) > 0
    for h in causes:
        source = h.item.split("(")[1].rstrip(")")
        assert h.item.startswith(CAUSES.get(source, "data error"))
    # the labels as written, not as the code builds them: a face-ID false match filed as a
    # "data error" passed the loop above (a review, 2026-12-07)
    items = {h.item: h.value for h in causes}
    labels = {
        "informant": "malicious report",
        "face_recognition": "face-ID false match",
        "black_market": "bought record",
        "collusion": "traded record",
        "camera": "data error",
        "tax": "data error",
    }
    metrics = integrated.metrics
    for source, label in labels.items():
        recorded = sum(metrics[f"false_records_by_{source}"].to_pylist())
        assert items[f"{label} ({source})"] == recorded
    assert items["face-ID false match (face_recognition)"] > 100


def test_audit_is_in_the_summary_and_the_run_folder(integrated):
    text = integrated.summary()
    assert "Harm audit:" in text and "false records by cause:" in text
    table = pq.read_table(integrated.run_dir / "harm_audit.parquet")
    assert table.column_names == ["section", "item", "value", "note"]
    assert table.num_rows == len(integrated.harm_audit())
    assert "harm_audit" in integrated.manifest["tables"]


def test_more_false_records_more_data_errors_both_ways():
    def camera_errors(rate):
        sc = scslab.load_scenario("rongcheng")
        sources = sc.mechanisms["data_sources"].model_dump()["sources"]
        sources["camera"]["false_rate"] = rate
        sc = sc.with_mechanism("data_sources", sources=sources)
        audit = _by_item(scslab.run(sc, people=20_000, days=100).harm_audit())
        return audit.get(("false records by cause", "data error (camera)"), 0.0)

    low, high = camera_errors(1e-6), camera_errors(1e-4)
    assert 0 < low < high
    assert camera_errors(0.0) == 0.0


def test_audit_of_a_run_without_lists_says_so():
    import pyarrow as pa

    table = pa.table({"day": [0, 1], "acts_offence": [3, 4]})
    assert harm_audit(table) == []
    assert audit_lines([]) == [
        "nothing to audit: the run has no list, sanction, face-ID search or leak, and no ledger "
        "counting false records"
    ]


def _watchlist(share):
    """The Cardiff model without a ledger or a list: only face recognition can harm anyone."""
    return scslab.scenario_from_dict(
        {
            "scenario": {"name": "watchlist", "people": 20_000, "days": 30},
            "mechanisms": {
                "face_recognition": {"mode": "watchlist", "false_match_rate": share},
            },
        }
    )


def test_innocents_that_face_recognition_stopped_are_in_the_audit_both_ways():
    harmed = scslab.run(_watchlist(1e-7))
    mechanism = harmed.simulation.mechanisms["face_recognition"]
    flagged = int(mechanism.cum[3])
    item = (
        "innocents punished",
        "face_recognition: innocents flagged by a face-ID false match (distinct people)",
    )
    assert _by_item(harmed.harm_audit())[item] == flagged > 0
    assert any(
        "innocents flagged by a face-ID false match" in line
        for line in audit_lines(harmed.harm_audit())
    )
    spared = _by_item(scslab.run(_watchlist(0.0)).harm_audit())
    assert spared[item] == 0


def test_a_leak_s_rejections_are_in_the_audit_and_none_without_a_leak():
    def leaks(share):
        sc = scslab.load_scenario("sesame_credit").with_mechanism(
            "data_breaches",
            leaks=[{"date": "2015-03-01", "share": share}],
            screen_below=900,  # every exposed user is marked
            application_rate=0.01,
            screening_share=1.0,
        )
        result = scslab.run(sc, people=20_000, days=200)
        breach = result.simulation.mechanisms["data_breaches"]
        return _by_item(result.harm_audit()), [int(v) for v in breach.today]

    audit, (exposed, _, rejected) = leaks(0.5)
    assert audit[("leaks", "data_breaches: people exposed")] == exposed > 0
    item = ("leaks", "data_breaches: job applications rejected on a leaked score")
    assert audit[item] == rejected > 0
    audit, (exposed, _, rejected) = leaks(0.0)
    assert audit[item] == rejected == exposed == 0


def test_a_redlist_is_no_harm_but_a_blacklist_is():
    result = scslab.run("state_outline_2014", people=20_000, days=200)
    items = {item for _, item in _by_item(result.harm_audit())}
    assert not any(item.startswith("volunteer_redlist") for item in items)
    assert "court_list: listed on a false record now" in items
    assert scslab.api.redlists(result.simulation) == {"volunteer_redlist"}
    # the same list, read by a sanction as well, punishes its members: audited
    sc = scslab.load_scenario("state_outline_2014").with_mechanism(
        "public_naming", list="volunteer_redlist"
    )
    assert scslab.api.redlists(scslab.Simulation(sc.with_overrides(people=2_000))) == set()


def test_audit_numbers_read_as_counts_or_short_fractions():
    from scslab.audit import shown

    assert shown(3040.2) == "3,040"  # a day count, not 3.04e+03
    assert shown(911.0) == "911" and shown(2.15) == "2.15" and shown(0.0663) == "0.0663"


def test_the_summary_prints_no_nan(integrated):
    lines = integrated.summary().splitlines()
    assert not [line for line in lines if " nan" in line]


def test_a_warm_started_list_that_nobody_enters_still_says_how_people_left():
    # the court list starts with 5 members (as a warm start sets up), two repay, nobody enters
    import pyarrow as pa

    days = 4
    metrics = pa.table(
        {
            "court_list_size": [5, 4, 4, 3],
            "court_list_entries": [0] * days,
            "court_list_exits": [0, 1, 0, 1],
            "court_list_innocents_listed": [0] * days,
            "court_list_persons_ever_listed": [5] * days,
            "idle_list_size": [0] * days,
            "idle_list_entries": [0] * days,
            "idle_list_exits": [0] * days,
            "idle_list_innocents_listed": [0] * days,
            "idle_list_persons_ever_listed": [0] * days,
        }
    )
    audit = {(h.section, h.item): h.value for h in harm_audit(metrics)}
    assert audit[("time on lists", "court_list: entries")] == 0
    assert audit[("time on lists", "court_list: left on their own")] == 2
    assert audit[("time on lists", "court_list: listed at the end")] == 3
    assert audit[("time on lists", "court_list: listed when the run began (warm start)")] == 5
    assert audit[("time on lists", "court_list: days listed per listing")] == 16 / 5
    assert not any(
        item.startswith("idle_list") for section, item in audit if section == "time on lists"
    )


def _audit_of(columns: dict) -> dict:
    import pyarrow as pa

    return {(h.section, h.item): h for h in harm_audit(pa.table(columns))}


def test_days_listed_count_the_listings_of_the_run_not_those_before_it():
    # a warm start: 9 ever listed by the start date, 5 of them still on the list on day 0
    audit = _audit_of(
        {
            "court_list_size": [5, 4, 5, 4],
            "court_list_entries": [0, 0, 1, 0],
            "court_list_exits": [0, 1, 0, 1],
            "court_list_innocents_listed": [0] * 4,
            "court_list_persons_ever_listed": [9, 9, 10, 10],
        }
    )
    per_listing = audit[("time on lists", "court_list: days listed per listing")]
    assert per_listing.value == 18 / 6  # 5 under way on day 0 and 1 entry, not 10 ever listed
    assert "when the list stopped" not in per_listing.note


def test_time_on_lists_counts_the_warm_start_and_adds_up_to_those_listed_at_the_end():
    """integrated_2020 (50,000 x 365, seed 1) said court_list entries 105, left by repaying 39
    and "still listed at the end (never left)" 452: the 386 of its warm start were in no item,
    and in dragon_eye "never left" counted people who had left and come back."""
    # 4 listed when day 0 began; 3 entries and 3 exits in the run (someone who leaves and enters
    # again counts in both, and is listed at the end: not "never left")
    audit = _audit_of(
        {
            "court_list_size": [5, 4, 5, 4],
            "court_list_entries": [2, 0, 1, 0],
            "court_list_exits": [1, 1, 0, 1],
            "court_list_innocents_listed": [0] * 4,
            "court_list_persons_ever_listed": [6, 6, 7, 7],
            "tax_list_size": [0, 1, 1, 0],
            "tax_list_entries": [0, 1, 0, 0],
            "tax_list_exits": [0, 0, 0, 1],
            "tax_list_innocents_listed": [0] * 4,
            "tax_list_persons_ever_listed": [0, 1, 1, 1],
        }
    )
    time_on = {item: h.value for (section, item), h in audit.items() if section == "time on lists"}
    began = time_on["court_list: listed when the run began (warm start)"]
    entries, left = (
        time_on["court_list: entries"],
        time_on["court_list: left on their own"],
    )
    at_the_end = time_on["court_list: listed at the end"]
    assert (began, entries, left, at_the_end) == (4, 3, 3, 4)
    assert began + entries - left == at_the_end
    assert time_on["court_list: days listed per listing"] == 18 / 7
    # no warm start: no such item, and the rest adds up without it
    assert "tax_list: listed when the run began (warm start)" not in time_on
    assert (
        time_on["tax_list: entries"] - time_on["tax_list: left on their own"]
        == (time_on["tax_list: listed at the end"])
    )
    assert not any("never left" in item for item in time_on)
    # the summary line says them in the order they add up
    line = next(x for x in audit_lines(list(audit.values())) if x.startswith("time on lists"))
    assert line.startswith(
        "time on lists: court_list: listed when the run began (warm start) 4; "
        "court_list: entries 3;"
    )
    assert "court_list: listed at the end 4;" in line


def test_a_list_that_opens_late_counts_its_listings_from_its_first_day():
    # null before its active_from (day 2), then 2 entries on its first day and 1 more
    nan = float("nan")
    audit = _audit_of(
        {
            "court_list_size": [nan, nan, 2, 3, 3],
            "court_list_entries": [nan, nan, 2, 1, 0],
            "court_list_exits": [nan, nan, 0, 0, 0],
            "court_list_innocents_listed": [nan, nan, 0, 0, 0],
            "court_list_persons_ever_listed": [nan, nan, 2, 3, 3],
        }
    )
    per_listing = audit[("time on lists", "court_list: days listed per listing")]
    assert per_listing.value == 8 / 3  # it read NaN: day 0's null size
    assert "when the list stopped" not in per_listing.note


def test_a_list_a_backlash_stopped_is_counted_to_its_last_day_and_says_so():
    nan = float("nan")
    audit = _audit_of(
        {
            "day": [0, 1, 2, 3],
            "court_list_size": [5, 4, nan, nan],
            "court_list_entries": [0, 0, nan, nan],
            "court_list_exits": [0, 1, nan, nan],
            "court_list_innocents_listed": [1, 1, nan, nan],
            "court_list_persons_ever_listed": [5, 5, nan, nan],
        }
    )
    still = audit[("time on lists", "court_list: listed at the end")]
    assert still.value == 4 and still.note == "counted to day 1, when the list stopped"
    per_listing = audit[("time on lists", "court_list: days listed per listing")]
    assert per_listing.value == 9 / 5 and "counted to day 1" in per_listing.note
    innocents = audit[("innocents punished", "court_list: listed on a false record now")]
    assert innocents.value == 1 and innocents.note == "counted to day 1, when the list stopped"


def test_every_item_is_in_the_table_zeros_included():
    audit = _audit_of(
        {
            "flights_blocked_innocent": [0, 0],
            "trains_blocked_innocent": [0, 2],
            "false_records_by_bank": [0, 0],
            "false_records_by_informant": [1, 0],
        }
    )
    assert audit[("innocents punished", "flights: attempts of innocents blocked")].value == 0
    assert audit[("innocents punished", "trains: attempts of innocents blocked")].value == 2
    assert audit[("false records by cause", "data error (bank)")].value == 0
    assert audit[("false records by cause", "malicious report (informant)")].value == 1
    lines = audit_lines(list(audit.values()))
    assert not any("flights" in line or "bank" in line for line in lines)  # zeros: table only


def test_a_sector_that_never_ran_is_said_so_and_the_total_counts_those_that_did():
    """joint_punishment_2016 runs its sectors from 2016-09-25: in a shorter run their columns are
    null every day, and the total of all sectors read NaN (and left the summary)."""
    nan = float("nan")
    audit = _audit_of(
        {
            "flights_blocked_innocent": [0, 5],
            "trains_blocked_innocent": [1, 2],
            "hotels_blocked_innocent": [nan, nan],
        }
    )
    section = "innocents punished"
    total = audit[(section, "all sectors: attempts of innocents blocked")]
    assert total.value == 7
    hotels = audit[(section, "hotels: attempts of innocents blocked")]
    assert hotels.value != hotels.value and hotels.note.startswith("not run: it starts after")
    line = next(x for x in audit_lines(list(audit.values())) if x.startswith(section))
    assert "all sectors: attempts of innocents blocked 7" in line and "hotels" not in line


def test_the_summary_shows_a_ratio_of_0_and_each_item_s_note():
    """A listing ratio of 0 (nobody listed in the rural group or the lowest quintile) is the
    widest gap, and it was left out as if it were nothing; a list a backlash stopped showed its
    frozen counts without saying so in the summary (the table said so)."""
    nan = float("nan")
    audit = _audit_of(
        {
            "tax_blacklist_listing_ratio_rural_urban": [1.0, 1.0, 0.0],
            "tax_blacklist_listing_ratio_q1_q5": [nan, nan, nan],
            "court_list_size": [5, 4, nan],
            "court_list_entries": [0, 0, nan],
            "court_list_exits": [0, 1, nan],
            "court_list_innocents_listed": [1, 1, nan],
            "court_list_persons_ever_listed": [5, 5, nan],
        }
    )
    lines = audit_lines(list(audit.values()))
    impact = next(x for x in lines if x.startswith("disparate impact"))
    assert "tax_blacklist: share listed, rural / urban 0" in impact and "q1" not in impact
    innocents = next(x for x in lines if x.startswith("innocents punished"))
    assert "listed on a false record now 1 (counted to day 1, when the list stopped)" in innocents


def test_a_list_with_nobody_in_the_second_group_shows_the_widest_gap_as_inf():
    """Listed people in the lowest quintile and none in the highest gave NaN, and the audit left
    the worst disparity out as if nobody were listed; 0/0 is still nothing to compare."""
    inf, nan = float("inf"), float("nan")
    audit = _audit_of(
        {
            "blacklist_listing_ratio_rural_urban": [nan, nan, nan],
            "blacklist_listing_ratio_q1_q5": [2.0, 2.0, inf],
        }
    )
    section = "disparate impact"
    assert (section, "blacklist: share listed, rural / urban") not in audit
    quintiles = audit[(section, "blacklist: share listed, lowest / highest income quintile")]
    assert quintiles.value == inf
    assert quintiles.note == "1 = parity; nobody in the highest quintile listed"
    impact = next(x for x in audit_lines(list(audit.values())) if x.startswith(section))
    assert "lowest / highest income quintile inf (1 = parity; nobody in the highest" in impact


def test_the_dossier_and_public_naming_are_audited_whatever_their_names():
    audit = _audit_of(
        {"dossier_job_rejections_on_false_entries": [0, 3], "shaming_innocents_named": [2, 5]}
    )
    section = "innocents punished"
    assert audit[(section, "dossier: job rejections on false dossier entries")].value == 3
    assert audit[(section, "shaming: named in public on a false record")].value == 5


def test_a_ratio_is_the_last_days_not_one_from_before_the_list_emptied():
    nan = float("nan")
    audit = _audit_of(
        {
            "blacklist_listing_ratio_rural_urban": [1.46, 1.46, nan],
            "blacklist_listing_ratio_q1_q5": [2.0, 2.0, 1.5],
        }
    )
    section = "disparate impact"
    assert (section, "blacklist: share listed, rural / urban") not in audit  # nobody to compare
    assert (
        audit[(section, "blacklist: share listed, lowest / highest income quintile")].value == 1.5
    )


def test_users_misverified_at_sign_up_and_what_it_cost_them_are_audited():
    result = scslab.run("honest_shanghai_2016", people=20_000, days=60)
    audit = {(h.section, h.item): h.value for h in result.harm_audit()}
    metrics = result.metrics
    system = next(
        c[: -len("_misverified")] for c in metrics.column_names if c.endswith("_misverified")
    )
    item = (
        f"{system}: users misverified at sign-up (a face-ID match: scored from another's records)"
    )
    misverified = audit[("innocents punished", item)]
    assert misverified == metrics[f"{system}_misverified"][-1].as_py() > 0
    sectors = [c for c in metrics.column_names if c.endswith("_denied_on_another_record")]
    assert sectors
    for col in sectors:
        sector = col[: -len("_denied_on_another_record")]
        item = f"{sector}: rewards denied a misverified user on another's record"
        assert audit[("innocents punished", item)] == metrics[col][-1].as_py()
    # without misverification, neither item
    clean = scslab.load_scenario("honest_shanghai_2016").with_overrides(people=20_000, days=60)
    points = next(n for n in clean.mechanisms if n == system)
    clean = clean.with_mechanism(points, misverification=0.0)
    items = [h.item for h in scslab.run(clean).harm_audit()]
    assert not [i for i in items if "misverified" in i]


def test_sanctions_on_a_misverified_user_for_another_record_are_audited():
    # a sanction on a low score refuses a user misverified at sign-up for the records of the
    # person the face matched: an innocent punished, as the rewards denied to them are
    base = scslab.load_scenario("honest_shanghai_2016").with_overrides(people=20_000, days=60)
    sector = {"attempt_rate": 0.2, "score": "honest_shanghai", "below": 1000}
    base = base.with_mechanism("score_sanctions", sectors={"licences": sector})
    column = "score_sanctions_licences_refused_on_another_record"
    item = (
        "innocents punished",
        "score_sanctions_licences: sanctions on a misverified user for another's record",
    )
    result = scslab.run(base.with_mechanism("honest_shanghai", misverification=0.3))
    metrics = result.metrics
    on_another = metrics[column][-1].as_py()
    assert 0 < on_another < metrics["score_sanctions_licences_refused"][-1].as_py()
    audit = {(h.section, h.item): h.value for h in result.harm_audit()}
    assert audit[item] == on_another
    assert "on another's records, of misverified users: licences" in result.summary()
    clean = scslab.run(base.with_mechanism("honest_shanghai", misverification=0.0))
    assert column not in clean.metrics.column_names
    assert item not in {(h.section, h.item) for h in clean.harm_audit()}
