"""The harm audit: who a run punished without cause, why, whom it reached, and how people left.

Read from a run's daily metrics (``metrics.parquet``), by the column names the mechanisms
write; it recomputes nothing and owns no rule. Sections:

- **innocents punished**: people on each list on a false record (now), attempts of innocents
  blocked per sector (so far), people named in public on a false record, job rejections on false
  dossier entries, users a point system misverified at sign-up (scored from another person's
  records) and the rewards that cost them, and the innocents that face recognition flagged (a
  false match: a false record in mode ``act``, a stop in mode ``watchlist``; distinct people so
  far);
- **false records by cause**: each false record's source says what caused it: a data error of a
  bank, court, camera...; a face-ID false match; a malicious report; a bought or traded record;
- **families**: household members of listed people, attempts blocked for a household member's
  listing, and children's school enrolments among them;
- **disparate impact**: listing ratios rural/urban and lowest/highest income quintile, score gaps,
  as of the last day (none where too few are listed to compare then);
- **time on lists**: those listed when the run began (a warm start, where there are any), the
  entries since, how people left (appeal, end of term, on their own: a recorded exit act
  such as a repayment, or a score back at the exit line), those listed at the
  end (listed when the run began + entries - exits: someone who left and came back counts there
  too), and the days listed per listing (person-days on the list over the listings of the run:
  those under way when it began and the entries since; a list that a backlash stopped is counted
  to the day it stopped, and says so);
- **leaks**, where a scenario has data breaches: people exposed, and job applications that
  employers rejected on a leaked score, outside any appeal (so far);
- **dissent and ties**, where a scenario has them: the chilling ratio over the whole run, ties cut
  (public naming's count; ``tie_cutting``'s stored cuts so far) and the largest connected share of
  the tie network (its last measurement).

A *redlist* (a list whose members only rewards read: ``redlists``) is no harm: it is left out of
the sections on innocents, families and time on lists.

Column semantics (a list's ``size``, ``innocents_listed``, ``household_members_of_listed`` are
levels; its ``entries`` and ``exits`` count the day; its appeal counts, a sector's ``blocked*``
and the ledger's per-day ``false_records_by_*`` are as their mechanisms document) are tested
against the mechanisms' own state in ``tests/test_audit.py``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
import pyarrow as pa

CAUSES = {
    "informant": "malicious report",
    "face_recognition": "face-ID false match",
    "black_market": "bought record",
    "collusion": "traded record",
}
"""What a false record of a source means; any other source's false record is a data error."""


NEVER_RAN = "not run: it starts after the run's last day, or a backlash ended it first"
"""The note of an item whose mechanism never ran in the run (its column is null every day)."""

LISTED_ON_A_FALSE_RECORD = ": listed on a false record now"
"""The item of a punishing list's innocents, after the list's name (the report finds them by it)."""

LISTED_WHEN_THE_RUN_BEGAN = ": listed when the run began (warm start)"
"""The item, after a list's name, of the people on it when its first day began: a warm start's
(``initial``) listings. Only where there are any."""

LEFT_ON_THEIR_OWN = ": left on their own"
"""The item, after a list's name, of the exits that were neither an appeal, a term's end nor a
release: what the member did (a recorded exit act, such as a judgment repaid, on a record list; a
score back at the exit line on a threshold list). Its note says which, from the list
(``ListBase.left_on_their_own``); without the lists (a table alone), both."""

LEFT_HOW = "a recorded exit act (such as a judgment repaid) or a score back at the exit line"
"""The note of ``LEFT_ON_THEIR_OWN`` when the audit has the metrics alone, not the lists."""

LISTED_AT_THE_END = ": listed at the end"
"""The item, after a list's name, of the people on it after the last day (or the last day it ran):
those listed when the run began + entries - exits. Not "never left": someone who left and was
listed again is counted here too."""


@dataclass(frozen=True)
class Harm:
    """One line of the audit."""

    section: str
    item: str
    value: float
    note: str = ""


_DISSENT_AND_TIES = (
    ("_chilling_ratio_cumulative", "dissent expressed over dissent desired, whole run"),
    ("_ties_cut", "ties cut so far"),
    ("_ties_cut_innocents", "ties cut so far of people listed on a false record"),
    ("_largest_connected_share", "largest connected share of the tie network (last measured)"),
)
"""The dissent and tie columns the audit reads (suffix after a mechanism's name), and their
labels."""


def _values(table: pa.Table, col: str) -> np.ndarray:
    return np.asarray(table.column(col).to_numpy(zero_copy_only=False), np.float64)


def last_value(table: pa.Table, col: str) -> float:
    """A column's last value: its last day's, or the last day it ran if its mechanism stopped.

    A mechanism stops when a backlash ends its programme; its metrics are null from the next day.
    NaN where the column never had a value.
    """
    v = _values(table, col)
    v = v[~np.isnan(v)]
    return float(v[-1]) if v.size else math.nan


def _last_day(table: pa.Table, col: str) -> float:
    """The last day's value as it is (NaN stays NaN).

    For a value carried between passes, such as the groups' ratios, where NaN means there is
    nothing to compare.
    """
    v = _values(table, col)
    return float(v[-1]) if v.size else math.nan


def _stopped_on(table: pa.Table, col: str) -> int | None:
    """The day a stopped mechanism last ran, read from its column; None if it ran to the end."""
    v = _values(table, col)
    ran = np.flatnonzero(~np.isnan(v))
    if not ran.size or ran[-1] == v.size - 1:
        return None
    days = table.column("day").to_pylist() if "day" in table.column_names else range(v.size)
    return int(days[ran[-1]])


def _total(table: pa.Table, col: str) -> float:
    return float(np.nansum(_values(table, col)))


def _while_it_ran(metrics: pa.Table, lst: str) -> str:
    """The note of a list a backlash stopped (its values are its last day's), else none."""
    stopped = _stopped_on(metrics, f"{lst}_size")
    return f"counted to day {stopped}, when the list stopped" if stopped is not None else ""


def _prefixes(columns: list[str], suffix: str) -> list[str]:
    return [c[: -len(suffix)] for c in columns if c.endswith(suffix)]


def harm_audit(
    metrics: pa.Table,
    redlists: frozenset[str] = frozenset(),
    left_how: Mapping[str, str] | None = None,
) -> list[Harm]:
    """The audit of a run's metrics table (see the module docstring).

    ``redlists``: the run's lists whose members are rewarded, not punished (left out).
    ``left_how``: how a member of each list leaves it on their own, in words (``api.left_how``,
    from each list's ``left_on_their_own``); a list not in it gets ``LEFT_HOW``.
    """
    cols = list(metrics.column_names)
    out: list[Harm] = []
    lists = [name for name in _prefixes(cols, "_innocents_listed") if name not in redlists]
    sectors = _prefixes(cols, "_blocked_innocent")

    section = "innocents punished"
    for lst in lists:
        out.append(
            Harm(
                section,
                f"{lst}{LISTED_ON_A_FALSE_RECORD}",
                last_value(metrics, f"{lst}_innocents_listed"),
                _while_it_ran(metrics, lst),
            )
        )
    blocked = {s: last_value(metrics, f"{s}_blocked_innocent") for s in sectors}
    for sector, value in blocked.items():
        note = NEVER_RAN if value != value else ""  # null on every day: it starts later
        out.append(Harm(section, f"{sector}: attempts of innocents blocked", value, note))
    ran = [v for v in blocked.values() if v == v]
    if sectors:
        total = float(sum(ran)) if ran else math.nan
        out.append(Harm(section, "all sectors: attempts of innocents blocked", total))
    for suffix, what in (
        ("_innocents_named", "named in public on a false record"),
        ("_job_rejections_on_false_entries", "job rejections on false dossier entries"),
    ):
        for name in _prefixes(cols, suffix):  # whatever the scenario named the mechanism
            out.append(Harm(section, f"{name}: {what}", last_value(metrics, f"{name}{suffix}")))
    for name in _prefixes(cols, "_misverified"):
        item = (
            f"{name}: users misverified at sign-up (a face-ID match: scored from another's records)"
        )
        out.append(Harm(section, item, last_value(metrics, f"{name}_misverified")))
    for sector in _prefixes(cols, "_denied_on_another_record"):
        item = f"{sector}: rewards denied a misverified user on another's record"
        out.append(Harm(section, item, last_value(metrics, f"{sector}_denied_on_another_record")))
    for sector in _prefixes(cols, "_refused_on_another_record"):
        item = f"{sector}: sanctions on a misverified user for another's record"
        out.append(Harm(section, item, last_value(metrics, f"{sector}_refused_on_another_record")))
    for name in _prefixes(cols, "_innocents_flagged"):
        flagged = last_value(metrics, f"{name}_innocents_flagged")
        item = f"{name}: innocents flagged by a face-ID false match (distinct people)"
        out.append(Harm(section, item, flagged))

    section = "false records by cause"
    for col in cols:
        if col.startswith("false_records_by_"):
            source = col[len("false_records_by_") :]
            cause = CAUSES.get(source, "data error")
            out.append(Harm(section, f"{cause} ({source})", _total(metrics, col)))

    section = "families"
    for lst in lists:
        col = f"{lst}_household_members_of_listed"
        if col in cols:
            out.append(
                Harm(
                    section,
                    f"{lst}: household members of listed people now",
                    last_value(metrics, col),
                    _while_it_ran(metrics, lst),
                )
            )
    for sector in _prefixes(cols, "_blocked_family"):
        blocked = last_value(metrics, f"{sector}_blocked_family")
        item = (
            "children's school enrolments blocked for a household member's listing"
            if "school" in sector
            else f"{sector}: attempts blocked for a household member's listing"
        )
        out.append(Harm(section, item, blocked))

    section = "disparate impact"
    for suffix, what, nobody in (
        ("_listing_ratio_rural_urban", "share listed, rural / urban", "nobody urban listed"),
        (
            "_listing_ratio_q1_q5",
            "share listed, lowest / highest income quintile",
            "nobody in the highest quintile listed",
        ),
        ("_mean_gap_rural_urban", "mean score, rural minus urban", ""),
    ):
        for name in _prefixes(cols, suffix):
            value = _last_day(metrics, f"{name}{suffix}")  # NaN: too few listed to compare now
            if value == value:
                note = "1 = parity" if "ratio" in suffix else ""
                if value == math.inf:  # the widest gap: only the first group has anyone listed
                    note = f"{note}; {nobody}"
                out.append(Harm(section, f"{name}: {what}", value, note))

    section = "time on lists"
    for lst in lists:
        entries = _total(metrics, f"{lst}_entries")
        person_days = _total(metrics, f"{lst}_size")
        if not entries and not person_days:  # nobody on it in the whole run
            continue
        exits = _total(metrics, f"{lst}_exits")
        won = last_value(metrics, f"{lst}_appeals_won") if f"{lst}_appeals_won" in cols else 0.0
        ended = last_value(metrics, f"{lst}_repaired") if f"{lst}_repaired" in cols else 0.0
        released = last_value(metrics, f"{lst}_released") if f"{lst}_released" in cols else 0.0
        # listings within the run: those under way when its first day began (day 0, or its
        # active_from: null before), and those made since
        size, day_exits, day_entries = (
            _values(metrics, f"{lst}_{column}") for column in ("size", "exits", "entries")
        )
        ran = np.flatnonzero(~np.isnan(size))
        first = ran[0] if ran.size else None
        under_way = (
            float(size[first] + day_exits[first] - day_entries[first]) if first is not None else 0.0
        )
        listings = under_way + entries
        while_ran = _while_it_ran(metrics, lst)
        if under_way:  # a warm start (``initial``): on the list before its first day
            out.append(Harm(section, f"{lst}{LISTED_WHEN_THE_RUN_BEGAN}", under_way))
        out += [
            Harm(section, f"{lst}: entries", entries),
            Harm(section, f"{lst}: left by appeal", won),
            Harm(section, f"{lst}: left at the end of a term (credit repair)", ended),
        ]
        if f"{lst}_released" in cols:
            out.append(
                Harm(section, f"{lst}: released when the state stopped reading its score", released)
            )
        out += [
            Harm(
                section,
                f"{lst}{LEFT_ON_THEIR_OWN}",
                exits - won - ended - released,
                (left_how or {}).get(lst, LEFT_HOW),
            ),
            Harm(
                section,
                f"{lst}{LISTED_AT_THE_END}",
                last_value(metrics, f"{lst}_size"),
                while_ran,
            ),
            Harm(
                section,
                f"{lst}: days listed per listing",
                person_days / listings if listings else math.nan,
                "within the run: those listed when it began and the entries since; a listing "
                "that goes on past the end counts to the last day"
                + (f"; {while_ran}" if while_ran else ""),
            ),
        ]

    section = "leaks"
    for name in _prefixes(cols, "_screening_rejections"):
        out += [
            Harm(section, f"{name}: people exposed", last_value(metrics, f"{name}_people_exposed")),
            Harm(
                section,
                f"{name}: job applications rejected on a leaked score",
                last_value(metrics, f"{name}_screening_rejections"),
                "outside any appeal: a leaked mark is never cleared",
            ),
        ]

    section = "dissent and ties"
    for suffix, what in _DISSENT_AND_TIES:
        for name in _prefixes(cols, suffix):
            out.append(Harm(section, f"{name}: {what}", last_value(metrics, f"{name}{suffix}")))
    return out


def audit_table(harms: list[Harm]) -> pa.Table:
    """The audit as a table (``harm_audit.parquet``): section, item, value, note."""
    rows = [asdict(h) for h in harms]
    schema = pa.schema(
        [
            ("section", pa.string()),
            ("item", pa.string()),
            ("value", pa.float64()),
            ("note", pa.string()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def shown(value: float) -> str:
    """A value as the summary and the report show it.

    A whole number, or a large one, with thousands separators; a small fraction to 3 digits;
    NaN (nothing to count or compare) as "n/a".
    """
    value = float(value)
    if value != value:
        return "n/a"
    return f"{value:,.0f}" if value.is_integer() or abs(value) >= 100 else f"{value:,.3g}"


def audit_lines(harms: list[Harm]) -> list[str]:
    """The audit as summary lines: one per section, with its items that are not zero.

    Each item has its note (a list a backlash stopped: counted to that day). A ratio or gap
    of disparate impact is shown at 0 and at inf too (nobody listed in one group compared: the
    widest gap either way); NaN is left out (nothing to compare). The table
    (``harm_audit.parquet``) has every item, zeros included.
    """
    if not harms:
        return [
            "nothing to audit: the run has no list, sanction, face-ID search or leak, and no "
            "ledger counting false records"
        ]
    lines = []
    for name, items in summary_sections(harms).items():
        said = [f"{h.item} {shown(h.value)}" + (f" ({h.note})" if h.note else "") for h in items]
        lines.append(f"{name}: {'; '.join(said) if said else 'none'}")
    return lines


def summary_sections(harms: list[Harm]) -> dict[str, list[Harm]]:
    """Each section, in order, with the items the summary shows: those that are not zero.

    A ratio or gap of disparate impact is shown at 0 too; NaN is left out. A section with no
    such item maps to an empty list (the summary's "none"). ``audit_lines`` and the explorer's
    audit table (``ui/app.py``) both show this.
    """
    sections: dict[str, list[Harm]] = {}
    for h in harms:
        items = sections.setdefault(h.section, [])
        if h.value == h.value and (h.value or h.section == "disparate impact"):
            items.append(h)
    return sections
