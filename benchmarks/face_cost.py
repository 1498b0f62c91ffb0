"""Face recognition's cost against probes and alerts a day: ``dragon_eye`` at a city's scale.

    python -m benchmarks.face_cost --people 10000000 --days 10

Runs the ``dragon_eye`` preset (Shanghai's crossing cameras against 1.8 billion images) with
face recognition switched off, then at rising probes a day with the false alerts held fixed
(the threshold tightened as probes rise: FPIR = alerts / probes), then at rising probes at the
preset's threshold (alerts rising with them). Every resident, urban or rural, shows the cameras
the same number of faces a day, so probes a day are people x that rate. Each row prints the
probes and alerts a day, face recognition's own seconds a day (its phase in the manifest) and
the whole day's. If the work grows with alerts, not probes, the fixed-alert rows cost the same
from a few million probes a day to tens of billions.

Then the same city with a second camera network (``street_watch``, mode 'watchlist') that
searches for the members of the preset's public screen (``wanted_list``), at rising probes a day:
the wanted are the list's members day by day, so each row also gives the list's mean size (a
day merges the list into the wanted: it costs the list's size and the alerts, not the probes).

Every run is in this one process, after a warm-up of each plan at 20,000 people that loads the
compiled kernels, so that no row pays for compiling. The last line is every row as JSON (what
``python -m benchmarks --sections face`` records).
"""

from __future__ import annotations

import argparse
import json

import scslab
from scslab.kernels.parallel import compile_other_builds, threads_as_for
from scslab.mechanisms.surveillance.face_recognition import false_match_rate_for

FACE = "face_recognition"
GALLERY = 1_800_000_000
"""Dragon Eye's gallery (calibration/face_recognition.csv, dragon_eye_claim)."""

FIXED_ALERTS_PER_PERSON = 0.01
"""False alerts a person a day in the fixed-alert rows (a choice: 100,000 a day at 10 million)."""

FIXED_ALERT_PROBES = (1.0, 10.0, 100.0, 1000.0)
"""Probes a person a day of the fixed-alert rows (10 million people: 1e7 to 1e10 a day)."""

RISING_ALERT_PROBES = (0.02, 0.2, 2.0)
"""Probes a person a day of the rows at the preset's threshold (FPIR 0.356: alerts rise)."""

WATCH = "street_watch"
"""The list-watching cameras of the last rows (a second face recognition mechanism)."""

LIST_WATCH_PROBES = (0.02, 0.2, 2.0)
"""Probes a person a day of the list-watch rows (NIST's FPIR 0.003: alerts rise with probes)."""


def _scenario(people: int, days: int, probes: float | None, fmr: float | None) -> scslab.Scenario:
    """``dragon_eye`` with ``probes`` a person a day (None: face recognition off)."""
    sc = scslab.load_scenario("dragon_eye").with_overrides(people=people, days=days)
    if probes is None:
        return sc.with_mechanism(FACE, enabled=False)
    setting = {"crossing": {"probes_urban": probes, "probes_rural": probes}}
    extra = {} if fmr is None else {"false_match_rate": fmr}
    return sc.with_mechanism(FACE, settings=setting, **extra)


def _list_watch(people: int, days: int, probes: float) -> scslab.Scenario:
    """``dragon_eye`` and street cameras that search for the public screen's members."""
    data = _scenario(people, days, 0.02, None).resolved()
    data["mechanisms"][WATCH] = {
        "type": "face_recognition",
        "mode": "watchlist",
        "wanted_list": "jaywalker_screen",
        "settings": {"street": {"probes_urban": probes, "probes_rural": probes}},
    }
    return scslab.scenario_from_dict(data)


def _row(sc: scslab.Scenario, probes: float | None, kind: str, name: str = FACE) -> dict:
    """One run of ``sc``: the probes, alerts and seconds a day of its cameras ``name``."""
    result = scslab.run(sc, compiled=True)
    days = sc.meta.days
    timings = result.manifest["timings"]
    m = result.metrics
    row = {
        "kind": kind,
        "people": sc.meta.people,
        "days": days,
        "probes_per_person": probes or 0.0,
        "run_s_per_day": timings["run_s"] / days,
        "face_s_per_day": timings["phases_s"].get(name, 0.0) / days,
    }
    if probes is not None:
        row["probes_per_day"] = sum(m[f"{name}_probes"].to_pylist()) / days
        row["alerts_per_day"] = sum(m[f"{name}_alerts"].to_pylist()) / days
        row["false_alerts_per_day"] = sum(m[f"{name}_false_alerts"].to_pylist()) / days
    if name == WATCH:
        row["wanted_per_day"] = sum(m["jaywalker_screen_size"].to_pylist()) / days
    print(json.dumps(row), flush=True)
    return row


def measure(people: int, days: int) -> list[dict]:
    """The table's rows: off, fixed alerts at rising probes, rising alerts."""
    with threads_as_for(people):  # every plan (off, on, with the list watch), compiled or loaded
        for probes in (None, 1.0):
            scslab.run(_scenario(20_000, days, probes, None), compiled=True)
        scslab.run(_list_watch(20_000, days, 1.0), compiled=True)
    compile_other_builds()
    rows = [_row(_scenario(people, days, None, None), None, "off")]
    for probes in FIXED_ALERT_PROBES:
        fmr = false_match_rate_for(FIXED_ALERTS_PER_PERSON / probes, GALLERY)
        rows.append(_row(_scenario(people, days, probes, fmr), probes, "fixed alerts"))
    for probes in RISING_ALERT_PROBES:
        rows.append(_row(_scenario(people, days, probes, None), probes, "rising alerts"))
    for probes in LIST_WATCH_PROBES:
        rows.append(_row(_list_watch(people, days, probes), probes, "list watch", WATCH))
    return rows


def table(rows: list[dict]) -> list[str]:
    """The rows as a Markdown table."""
    lines = [
        "| rows | people | probes a day | alerts a day | false alerts a day | wanted a day "
        "| face recognition ms a day | whole day ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["kind"] == "off":
            counts = "| 0 | 0 | 0 "
        else:
            counts = (
                f"| {r['probes_per_day']:,.0f} | {r['alerts_per_day']:,.0f} "
                f"| {r['false_alerts_per_day']:,.0f} "
            )
        wanted = f"{r['wanted_per_day']:,.0f}" if "wanted_per_day" in r else ""
        lines.append(
            f"| {r['kind']} | {r['people']:,} {counts}| {wanted} "
            f"| {1e3 * r['face_s_per_day']:,.2f} | {1e3 * r['run_s_per_day']:,.2f} |"
        )
    return lines


def main() -> None:
    """Command line: measure, print the table, then the rows as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=10)
    args = parser.parse_args()
    rows = measure(args.people, args.days)
    print("\n".join(table(rows)), flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
