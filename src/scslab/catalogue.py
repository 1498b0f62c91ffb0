"""The shared vocabulary of events: kinds of acts people commit and the sources that record them.

Mechanisms exchange events as integer codes from these enums, so that a scoring rule written as
data ("traffic_offence = -5") can name any act, and metrics can be broken down by act and source.
Add a new act or data source here, then give it a rate, a recorder and points in a preset.

Owns the ``Act`` and ``Source`` codes, their lower-case names, the look-ups by name and the
validated parameter types (``ActName``, ``SourceName``, ``Points``). It holds no act's rate,
recorder or points (the presets and mechanisms give them) and imports nothing of the package.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated, Any

from pydantic import AfterValidator, Field


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
    JAYWALKING = 9
    FARE_EVASION = 10
    TAX_EVASION = 11
    COMMERCIAL_FRAUD = 12
    """Fraud, counterfeiting, pyramid selling."""
    UTILITY_ARREARS = 13
    BIKE_MISUSE = 14
    """Shared bikes parked illegally, damaged or kept (data shared with the NDRC from 2017)."""
    PARTY_WARNING = 15
    """A serious warning by the Party (Suining deducted 30 points)."""
    ONLINE_PURCHASE = 16
    """A purchase on an e-commerce platform (what Sesame's "behaviour and preferences" reads)."""
    PROTEST = 17
    WANTED_SIGHTING = 18
    """A camera's alert that a wanted person was sighted (face recognition in mode 'watchlist',
    with ``alert_act``): a true record on a wanted person found, a false one on an innocent."""


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
    BIKE_SHARING = 6
    """Bike-sharing firms (ten signed data-sharing agreements with the NDRC in 2017)."""
    ECOMMERCE = 7
    """E-commerce platforms (Alibaba's Taobao and Tmall feed Sesame Credit)."""
    SOCIAL_PLATFORM = 8
    """Social platforms (Tencent's WeChat and QQ feed Tencent Credit)."""
    TAX = 9
    """Tax authorities."""
    UTILITY = 10
    """Utility companies (water, power, gas)."""
    FACE_RECOGNITION = 11
    """1:N face search of camera sightings against a gallery (``surveillance/face_recognition``)."""
    BLACK_MARKET = 12
    """Records bought on the black market: a boosted profile of fake records (all false)."""
    COLLUSION = 13
    """Records that members of a collusion ring post for each other (all false)."""


ACT_NAMES = {a: a.name.lower() for a in Act}
MIN_AGE = {
    Act.LOAN_ARREARS: 18,
    Act.LOAN_REPAID: 18,
    Act.COURT_JUDGMENT_UNPAID: 18,
    Act.JUDGMENT_REPAID: 18,
    Act.TRAFFIC_OFFENCE: 18,
    Act.TAX_EVASION: 18,
    Act.COMMERCIAL_FRAUD: 18,
    Act.PARTY_WARNING: 18,
    Act.UTILITY_ARREARS: 18,
    Act.PETITIONING: 18,
    Act.PROTEST: 16,
    Act.ONLINE_CRITICISM: 14,
    Act.ONLINE_PURCHASE: 14,
    Act.PROSOCIAL_ACT: 14,
    Act.BIKE_MISUSE: 12,
    Act.JAYWALKING: 6,
    Act.FARE_EVASION: 6,
}
"""The youngest age at which an act can be committed (an act not named here: any age).

- A debt's four acts (arrears, arrears repaid, a judgment unpaid, a judgment repaid): 18. A loan
  needs a borrower of full civil capacity (Civil Code, art. 17-18), and no minor may be put on
  the court's list of dishonest judgment debtors (Supreme People's Court, Provisions on
  Publishing the List of Dishonest Judgment Debtors, 2017 revision, art. 4).
- A traffic offence: 18, a driving licence (Road Traffic Safety Law, implementing regulations).
- Tax evasion and commercial fraud: 18, a taxpayer or a business of full civil capacity (Civil
  Code, art. 17-18). A Party warning: 18, a Party member (Party Constitution, art. 1). Utility
  arrears: 18, the account's holder (assumption, on the same civil capacity).
- Petitioning: 18 (assumption: a petitioner in their own name). Protest: 16, the age of full
  criminal responsibility (Criminal Law, art. 17; assumption that nobody younger is recorded).
- Online criticism and online purchases: 14, below which a child's personal information online
  needs a guardian's consent (Cyberspace Administration, Provisions on the Cyber Protection of
  Children's Personal Information, 2019, art. 2 and 9; assumption: no account of one's own).
  A prosocial act (volunteering, blood donation, an act of bravery): 14 (assumption).
- Bike misuse: 12, below which shared bikes may not be rented (Ministry of Transport and nine
  other departments, Guiding Opinions on Internet Rental Bicycles, 2017).
- Jaywalking and fare evasion: 6. A preschool child walks the roads with a guardian (Road
  Traffic Safety Law, art. 64), and children under about 1.2 m (about 6) ride buses and the
  metro free (the common city rule; assumption).

Assumptions resting on those ages: that nobody younger commits the act, and that no data error
or report names anyone younger (the press has reported courts restricting the spending of
children who inherited a debt, Zhengzhou 2020 and Chengdu 2023; scslab does not model them).
The reference model's generic offence has none, as in its peers' models."""


def min_age_in_words() -> str:
    """``MIN_AGE`` as a schema description reads it: "loan_arrears, ... (18)"."""
    by_age: dict[int, list[str]] = {}
    for act, years in MIN_AGE.items():
        by_age.setdefault(years, []).append(ACT_NAMES[act])
    return "; ".join(f"{', '.join(names)} ({years})" for years, names in sorted(by_age.items()))


SOURCE_NAMES = {s: s.name.lower() for s in Source}
POSTED_BY = {
    Source.INFORMANT: "informants",
    Source.FACE_RECOGNITION: "face_recognition",
    Source.BLACK_MARKET: "black_market",
    Source.COLLUSION: "collusion",
}
"""The sources whose records a mechanism of their own posts (its name), never a data source: the
harm audit reads a record's source as its cause (a malicious report, a false match, a bought
record), so a data source under one of these names would be blamed on that cause."""
DATA_SOURCE_NAMES = tuple(name for s, name in SOURCE_NAMES.items() if s not in POSTED_BY)
"""The names a data source may take (``observation/sources.py``): every source but those of
``POSTED_BY``."""
_ACTS = {name: a for a, name in ACT_NAMES.items()}
_SOURCES = {name: s for s, name in SOURCE_NAMES.items()}


def _unknown(kind: str, name: str, names: dict[str, Any]) -> ValueError:
    """The error of a name not among ``names``: it lists them, and says if only the case is off.

    Names are exact: ``Jaywalking`` beside ``jaywalking`` would be two keys of one act.
    """
    case = f" (names are lower case: {name.lower()!r})" if name.lower() in names else ""
    return ValueError(f"unknown {kind} {name!r}{case}; allowed: {', '.join(names)}")


def act_by_name(name: str) -> Act:
    """Look up an act by its lower-case name; the error lists the allowed names."""
    try:
        return _ACTS[name]
    except KeyError:
        raise _unknown("act", name, _ACTS) from None


def source_by_name(name: str) -> Source:
    """Look up a data source by its lower-case name; the error lists the allowed names."""
    try:
        return _SOURCES[name]
    except KeyError:
        raise _unknown("source", name, _SOURCES) from None


def _check_act(name: str) -> str:
    act_by_name(name)
    return name


def _check_source(name: str) -> str:
    source_by_name(name)
    return name


ActName = Annotated[str, AfterValidator(_check_act)]
"""A parameter holding an act name: validated, the error lists the allowed names."""

SourceName = Annotated[str, AfterValidator(_check_source)]
"""A parameter holding a data source name: validated, the error lists the allowed names."""

Points = dict[ActName, Annotated[int, Field(ge=-10_000, le=10_000)]]
"""A catalogue of points per recorded act."""
