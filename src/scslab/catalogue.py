"""The shared vocabulary of events: kinds of acts people commit and the sources that record them.

Mechanisms exchange events as integer codes from these enums, so that a scoring rule written as
data ("traffic_offence = -5") can name any act, and metrics can be broken down by act and source.
Add a new act or data source here, then give it a rate, a recorder and points in a preset.
"""

from __future__ import annotations

from enum import IntEnum


class Act(IntEnum):
    """Kinds of ground-truth acts (and of the records that claim them)."""

    OFFENCE = 0
    """A generic offence (the benchmark reference model)."""
    TRAFFIC_OFFENCE = 1
    LOAN_ARREARS = 2
    """A loan repayment missed for a monthly cycle."""
    COURT_JUDGMENT_UNPAID = 3
    """A court judgment whose deadline passed unpaid: the core of the defaulter blacklist."""
    JUDGMENT_REPAID = 4
    """A judgment debtor pays in full."""
    PROSOCIAL_ACT = 5
    """Volunteering, blood donation, an act of bravery."""
    ONLINE_CRITICISM = 6
    """Criticism posted online (what the state may call a rumour)."""
    PETITIONING = 7
    """Petitioning higher authorities over a local decision."""
    LOAN_REPAID = 8
    """Arrears cleared before any court case."""


class Source(IntEnum):
    """Data sources that turn acts into records."""

    CAMERA = 0
    BANK = 1
    COURT = 2
    PLATFORM = 3
    OFFICIAL = 4
    """Neighbourhood officials and committees."""
    INFORMANT = 5
    """A citizen's report (rewarded reporting)."""


ACT_NAMES = {a: a.name.lower() for a in Act}
SOURCE_NAMES = {s: s.name.lower() for s in Source}


def act_by_name(name: str) -> Act:
    """Look up an act by its lower-case name; the error lists the allowed names."""
    try:
        return Act[name.upper()]
    except KeyError:
        allowed = ", ".join(ACT_NAMES.values())
        raise ValueError(f"unknown act {name!r}; allowed: {allowed}") from None


def source_by_name(name: str) -> Source:
    """Look up a data source by its lower-case name; the error lists the allowed names."""
    try:
        return Source[name.upper()]
    except KeyError:
        allowed = ", ".join(SOURCE_NAMES.values())
        raise ValueError(f"unknown source {name!r}; allowed: {allowed}") from None
