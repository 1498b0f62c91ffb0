"""Face recognition at the seed's scale: 1:N search of camera sightings against a gallery.

Seed article: Yitu's Dragon Eye "can very easily recognise you among at least 2 billion people in
a matter of seconds" and stores "more than 1.8 billion photographs". This module owns the
``face_recognition`` mechanism, its parameters and its record. It processes no face and no image
and resolves no identity: a search is modelled by its published error rates only
(``calibration/face_recognition.csv``), on synthetic people. It posts records on the board and
sets its own flag; it reads a list's record (``wanted_list``) and touches no other mechanism's
state.

The model (``docs/face_recognition.md``):

- Cameras by setting (street, transit, crossing...) show each resident of an urban or rural
  region ``probes_urban`` or ``probes_rural`` faces a day (optionally only in some provinces).
  The day's probes are that rate times the people: a closed form, never drawn probe by probe.
- Each probe is searched against a gallery of ``G`` images at a threshold whose per-comparison
  false-match rate is ``FMR``: a search that should find nobody returns an impostor (a false
  alert) with ``FPIR = 1 - (1 - FMR)^G``; a search that should find someone misses with ``FNIR``.
- Mode ``act`` (jaywalking cameras in Shenzhen, the Ningbo bus advert): an alert is taken as the
  act the cameras enforce. A false alert posts a false record of ``false_act`` on the matched
  gallery identity (a uniform person), and acts of ``acts`` seen by a camera (``coverage``, in
  regions where the settings show the cameras faces) and identified (``1 - FNIR``) get true
  records, marked recorded so that no later source records them again.
- Mode ``watchlist`` (Cardiff 2017): a share of people is wanted, or the members of a list
  (``wanted_list``, as the list left them the day before). Their sightings alert with
  ``1 - FNIR`` (true alerts); an innocent's sighting alerts with ``FPIR`` and the innocent is
  stopped (flagged). With ``alert_act``, each alert also posts a record of that act on the person
  sighted (true on the wanted, false on the innocent), which scores, lists and the dossier read
  like any record; without it no record is posted. With ``gallery_size = 'wanted'`` the gallery
  is the day's wanted times the scenario's scale, and FPIR follows it (``_fpir_of_the_day``).

Alerts are drawn, not probes: false alerts are the points of a Poisson process over people at the
rate probes x FPIR (``kernels/poisson.py``), true alerts the points of one over the wanted, or the
day's acts; a day costs its alerts and acts, whatever its probes or its population.

Evaders (an ``evasion`` mechanism with ``face_recognition`` among its sources; the rule of who
evades is ``observation/evaders.py``'s, shared under ``EVASION``) show the cameras a share ``f``
of their faces, ``f`` the rule's factor for this source: a region's probes count its evaders at
``f`` each; an evader's act is seen with the coverage times ``f``, from the same draw; an alert
on an evader's face (a wanted evader found, an innocent evader stopped) is kept with chance
``f``; and since a false match in mode 'act' names a gallery identity, not the face searched,
the day's false alerts are kept with chance (probes with evasion) / (probes without). What is
dropped is a subset of what the same draws give without evasion, counted as ``_evaded_alerts``
(a column only where evaders evade the cameras). Without an evasion of this source every draw is
as before, bit for bit.
"""

from __future__ import annotations

import functools
import math
import numbers
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any, Literal, NamedTuple

import numpy as np
from numba import prange
from pydantic import Field, field_validator, model_validator

from scslab.catalogue import SOURCE_NAMES, Act, ActName, Source, act_by_name
from scslab.engine.board import (
    FALSE_RECORDS,
    TRUE_RECORDS,
    acts_of,
    post_records,
    record_room,
    records_written,
    written_in_order,
)
from scslab.engine.mechanism import MechanismParams, RecordKind, Surveillance
from scslab.engine.steps import CompiledSteps, compiled_mechanism, today_of
from scslab.errors import ScenarioError
from scslab.kernels.compiled_once import compiled_once
from scslab.kernels.jit import kernel, step_kernel
from scslab.kernels.parallel import both_builds, run_threads
from scslab.kernels.poisson import poisson_points, room_for
from scslab.kernels.rng import uniform
from scslab.kernels.sampling import compiled_bernoulli_ids
from scslab.kernels.sorting import sorted_copy
from scslab.kernels.structs import compiled_struct
from scslab.mechanisms.ages import ID_CARD_AGE, ActorAges, actor_ages, of_age
from scslab.mechanisms.lists.base import SIZE as LIST_SIZE
from scslab.mechanisms.lists.base import ListBase, list_members, no_list
from scslab.mechanisms.observation.evaders import EVASION, evaders_in, evades, no_evasion
from scslab.parameter_tables import ParameterTable
from scslab.population.census import province_names
from scslab.population.geography import region_of, region_on_from

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation
    from scslab.population import Population


@kernel
def false_positive_identification_rate(false_match_rate: float, gallery_size: float) -> float:
    """``FPIR = 1 - (1 - FMR)^G``: the chance that a search finds at least one impostor.

    For ``G`` independent comparisons at a fixed threshold (calibration/face_recognition.csv,
    ``fpir_scaling``); computed as ``-expm1(G log1p(-FMR))``, exact where ``FMR`` is tiny and
    ``G`` huge. An empty gallery matches nobody. A kernel: the set-up's fixed gallery and a
    watch's daily gallery of the wanted (``_fpir_of_the_day``) take it from one place.
    """
    if gallery_size <= 0.0:
        return 0.0
    if false_match_rate >= 1.0:
        return 1.0
    return -math.expm1(gallery_size * math.log1p(-false_match_rate))


def false_match_rate_for(fpir: float, gallery_size: float) -> float:
    """The per-comparison ``FMR`` at which a gallery of ``gallery_size`` gives ``fpir``."""
    return -math.log1p(-fpir) / gallery_size


NIST_OPERATING_FPIR = 0.003
"""The FPIR at which NIST's 1:N test reports miss rates (calibration/face_recognition.csv,
``frte_1n_operating_point``)."""

NIST_GALLERY = 12_300_000
"""The gallery of NIST's 2018 1:N test (calibration/face_recognition.csv,
``nist_1n_search_failure_rate_2018``: 12.3 million people)."""

NIST_FMR = false_match_rate_for(NIST_OPERATING_FPIR, NIST_GALLERY)
"""The per-comparison false-match rate of that operating point: about 2.443e-10."""

_FACE_RECOGNITION = np.int16(Source.FACE_RECOGNITION)
"""The source code of every record this mechanism posts."""


class CameraSetting(ParameterTable):
    """Cameras of one setting (street, transit...): faces they see per resident a day."""

    probes_urban: float = Field(
        ge=0.0, le=1e6, description="Faces an urban resident shows these cameras a day."
    )
    probes_rural: float = Field(
        ge=0.0, le=1e6, description="Faces a rural resident shows these cameras a day."
    )


def _default_settings() -> dict[str, CameraSetting]:
    # Assumption: cameras at crossings search the faces of about one urban resident in fifty a
    # day (the faces in the crossing while the light is red), one in five hundred in the country.
    return {"crossing": CameraSetting(probes_urban=0.02, probes_rural=0.002)}


class FaceRecognitionParams(MechanismParams):
    """The cameras, the gallery, the search's error rates and what an alert does."""

    mode: Literal["act", "watchlist"] = Field(
        default="act",
        description="What an alert does: 'act' attributes an act (a false alert posts a false "
        "record of false_act on the matched identity; jaywalking in Shenzhen and Ningbo), "
        "'watchlist' stops the person sighted (a false alert flags an innocent; Cardiff 2017).",
    )
    settings: dict[str, CameraSetting] = Field(
        default_factory=_default_settings,
        description="Camera setting name -> faces a resident shows them a day, urban and rural; "
        "the settings add up. Default: crossing, 0.02 urban and 0.002 rural (assumption).",
    )
    provinces: list[str] | None = Field(
        default=None,
        description="Provinces whose cameras search (default: every province of the population).",
    )
    gallery_size: Annotated[int, Field(ge=1, le=10**11)] | Literal["wanted"] = Field(
        default=NIST_GALLERY,
        description="Images in the gallery each probe is compared with, G (default: the 12.3 "
        "million of NIST's 2018 test, calibration/face_recognition.csv "
        "nist_1n_search_failure_rate_2018; with the default FMR its FPIR is NIST's 0.003). "
        "'wanted' (mode 'watchlist'): the gallery is the watchlist itself, the wanted of the "
        "day times the scenario's scale (the real people a simulated one stands for), so FPIR "
        "follows the list's size.",
    )
    false_match_rate: float = Field(
        default=NIST_FMR,
        ge=0.0,
        le=1.0,
        description="Per-comparison false-match rate FMR at the threshold (default about "
        "2.44e-10 = -ln(1 - 0.003) / 12.3e6: NIST reports miss rates at FPIR 0.003 "
        "(calibration/face_recognition.csv frte_1n_operating_point) on a 12.3 million gallery "
        "(nist_1n_search_failure_rate_2018).",
    )
    false_negative_rate: float = Field(
        default=0.002,
        ge=0.0,
        le=1.0,
        description="FNIR, the chance that a search misses a person in the gallery (default: "
        "the best algorithm of 2018, calibration/face_recognition.csv "
        "nist_1n_search_failure_rate_2018).",
    )
    acts: list[ActName] = Field(
        default=["jaywalking", "traffic_offence"],
        description="Mode 'act': acts the cameras enforce; those seen and identified get true "
        "records (assumption: the acts of calibration/face_recognition.csv "
        "shenzhen_jaywalker_shaming, and traffic cameras).",
    )
    act_coverage_urban: float = Field(
        default=0.6,
        ge=0.0,
        le=1.0,
        description="Mode 'act': chance that a camera sees an urban act of ``acts`` "
        "(assumption: the camera data source's default).",
    )
    act_coverage_rural: float = Field(
        default=0.15,
        ge=0.0,
        le=1.0,
        description="Mode 'act': chance that a camera sees a rural act (assumption: the camera "
        "data source's default).",
    )
    false_act: ActName = Field(
        default="jaywalking",
        description="Mode 'act': the act a false alert attributes to the matched identity (a "
        "face on a bus advert shamed as a jaywalker: calibration/face_recognition.csv "
        "ningbo_2018_false_shaming).",
    )
    gallery_min_age: int = Field(
        default=ID_CARD_AGE,
        ge=0,
        le=90,
        description="Mode 'act': the youngest person in the gallery, so the youngest a false "
        "match can name: a match drawn on someone younger is drawn again over the gallery "
        "(default 16: ID cards, whose photos make the national gallery, are compulsory from 16, "
        "Resident Identity Card Law, art. 2; younger children's cards are optional and left out, "
        "an assumption). 0: anyone.",
    )
    gallery_in_population: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description="Mode 'act': share of the gallery's identities who are simulated people; a "
        "false match on anyone else is counted but recorded on nobody (default 1: the gallery "
        "is the population's own, or every region searches alike so that false matches from "
        "elsewhere balance those landing elsewhere; an assumption).",
    )
    watchlist_share: float = Field(
        default=0.00102,
        ge=0.0,
        le=0.5,
        description="Mode 'watchlist': share of people on the watchlist (default: Cardiff's 173 "
        "true alerts among about 170,000 people at FNIR 0.002 give 0.00102, "
        "calibration/face_recognition.csv cardiff_2017_alerts and cardiff_2017_probes).",
    )
    wanted_list: str | None = Field(
        default=None,
        description="Mode 'watchlist': the list whose members are wanted, instead of a share "
        "drawn once (a court list's defaulters, as the seed's Dragon Eye catches suspects): each "
        "day's wanted are the list's members as the list left them the day before. "
        "gallery_size is the gallery searched (default 12.3 million: about the court list's "
        "11.9 million in 2020, docs/initial_conditions.md; 'wanted': the list times the scale).",
    )
    alert_act: ActName | None = Field(
        default=None,
        description="Mode 'watchlist': the act an alert records on the person sighted, with "
        "source face_recognition: a true record on a wanted person found, a false one on an "
        "innocent stopped, which scores, lists and the dossier read like any record (e.g. "
        "'wanted_sighting'). Default none: a stop is an alert and a flag, and leaves no record "
        "(assumption: Cardiff's stops were not recorded against the people stopped).",
    )

    @field_validator("gallery_size", mode="before")
    @classmethod
    def _a_size_or_the_wanted(cls, value: Any) -> Any:
        wrong_word = isinstance(value, str) and value != "wanted"
        number = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if wrong_word or (number and not 1 <= value <= 10**11):
            raise ValueError("must be a number of images from 1 to 100,000,000,000, or 'wanted'")
        return value

    @field_validator("settings")
    @classmethod
    def _some_setting(cls, value: dict[str, CameraSetting]) -> dict[str, CameraSetting]:
        if not value:
            raise ValueError(
                "no camera setting would show the cameras any face; name one, or leave it out "
                "for the default crossings"
            )
        return value

    @field_validator("provinces")
    @classmethod
    def _known_provinces(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            if not value:
                raise ValueError(
                    "an empty list would search nowhere; name provinces, or leave it out to "
                    "search every province"
                )
            unknown = sorted(set(value) - set(province_names()))
            if unknown:
                allowed = ", ".join(province_names())
                raise ValueError(f"unknown province {unknown[0]!r}; allowed: {allowed}")
        return value

    def _moved(self, names: tuple[str, ...]) -> list[str]:
        """Those of ``names`` set away from their defaults (``MechanismParams.moved``)."""
        return [name for name in names if self.moved(name)]

    @model_validator(mode="after")
    def _fields_of_its_mode(self) -> FaceRecognitionParams:
        """Refuse a field of the other mode set away from its default: it would do nothing.

        Also refuse both ways of naming the wanted at once (a share and a list).
        """
        moved = self._moved(WATCHLIST_ONLY if self.mode == "act" else ACT_ONLY)
        if moved:
            mode = "watchlist" if self.mode == "act" else "act"
            raise ValueError(
                f"{', '.join(moved)}: only in mode {mode!r}, and this is mode {self.mode!r}; "
                "leave them out or change mode"
            )
        if self.mode == "act" and self.gallery_size == "wanted":
            raise ValueError(
                "gallery_size = 'wanted': only in mode 'watchlist' (a gallery of the wanted); "
                "mode 'act' searches a gallery of a given size"
            )
        if self.wanted_list is not None and self._moved(("watchlist_share",)):
            raise ValueError(
                "watchlist_share and wanted_list: the wanted are either a share of people or a "
                "list's members; set one of them"
            )
        return self


ACT_ONLY = (
    "acts",
    "act_coverage_urban",
    "act_coverage_rural",
    "false_act",
    "gallery_min_age",
    "gallery_in_population",
)
"""Fields that mode 'act' reads and mode 'watchlist' does not."""
WATCHLIST_ONLY = ("watchlist_share", "wanted_list", "alert_act")
"""Fields that mode 'watchlist' reads and mode 'act' does not."""


class FaceKeys(NamedTuple):
    """The stream keys the kernels read, by name at both ends."""

    false_alerts: np.uint64
    """Where false alerts fall (a Poisson process per region, or over the gallery)."""
    true_alerts: np.uint64
    """Which of the wanted are found (a Poisson process per region)."""
    detect: np.uint64
    """Whether an act is seen and identified."""
    evaded: np.uint64
    """Whether an alert on an evader's face (or, mode 'act', a false alert) is kept."""
    gallery_age: np.uint64
    """Mode 'act': the identity drawn again for a false match on someone too young."""


class FaceRule(NamedTuple):
    """How a search errs and what an alert does, by name at both ends."""

    watchlist: bool
    """Mode: True for 'watchlist', False for 'act'."""
    fpir: float
    """Chance that a probe of someone not wanted returns an impostor (a gallery of fixed size)."""
    false_match_rate: float
    """FMR, per comparison: the day's FPIR where the gallery follows the wanted."""
    gallery_per_wanted: float
    """Images in the gallery per wanted person of the day (the scale), or 0: a fixed gallery."""
    fnir: float
    """Chance that a probe of someone wanted (or of an act) misses them."""
    gallery_in_population: float
    """Share of the gallery's identities who are simulated people (mode 'act')."""
    gallery_min_age: int
    """The youngest person in the gallery (mode 'act'; 0: anyone)."""
    ages: ActorAges
    """What is read of a matched identity's age (``mechanisms/ages.py``)."""
    false_act: np.int16
    """The act a false alert attributes (mode 'act')."""
    from_list: bool
    """Mode 'watchlist': whether the wanted are a list's members (``listing``), day by day."""
    alert_act: np.int16
    """Mode 'watchlist': the act an alert records on the person sighted, or -1 for none."""


FaceState = compiled_struct(
    "FaceState",
    (
        "keys",
        "rule",
        "bounds",
        "probes_per_person",
        "daily_probes",
        "watched",
        "coverage",
        "wanted",
        "wanted_bounds",
        "listing",
        "full_reads",
        "flagged",
        "n",
        "threads",
        "evasion",
        "evading",
        "evading_probes",
        "day_counts",
        "cum",
        "today",
    ),
    __name__,
)
"""The keys (``FaceKeys``) and the rule (``FaceRule``); the regions; probes per person a day by
region and their sum over people; the acts enforced (by act code) and the chance a camera sees an
act, by region; the wanted, in order, and where each region's start (mode 'watchlist'); the
record of the list whose members are wanted (``no_list()`` without one) and how many times
everyone's flag was read to find them (int64, one value); the flag of people ever falsely flagged
(``FlagBits``); the population and its ``run_threads``; who evades (a ``CoverageEvasion``),
whether evaders evade these cameras, and the probes of a day on which they do; the day's probes,
alerts, false alerts, true alerts, alerts evaded and gallery (0: of fixed size); probes, alerts
and false alerts so far, the innocents flagged and the alerts evaded (int64); today's metrics."""


@kernel
def _new_state(
    keys,
    rule,
    bounds,
    probes_per_person,
    watched,
    coverage,
    wanted,
    wanted_bounds,
    flagged,
    n,
    threads,
    evasion,
    evading,
    evaders,
    listing,
):
    daily_probes = evading_probes = 0.0
    factor = evasion.factor[_FACE_RECOGNITION]
    for r in range(bounds.size - 1):
        daily_probes += (bounds[r + 1] - bounds[r]) * probes_per_person[r]
        shown = bounds[r + 1] - bounds[r] - evaders[r] * (1.0 - factor)
        evading_probes += shown * probes_per_person[r]
    following = rule.gallery_per_wanted > 0.0  # a column of the day's gallery
    today = np.zeros(5 + (1 if evading else 0) + (1 if following else 0), np.float64)
    today[3] = np.nan  # no alerts yet: no share
    return FaceState(
        keys,
        rule,
        bounds,
        probes_per_person,
        daily_probes,
        watched,
        coverage,
        wanted,
        wanted_bounds,
        listing,
        np.zeros(1, np.int64),
        flagged,
        n,
        threads,
        evasion,
        evading,
        evading_probes,
        np.zeros(6, np.float64),
        np.zeros(5, np.int64),
        today,
    )


@kernel
def _fpir_of_the_day(s):
    """FPIR of the day's gallery: fixed, or the wanted times the scale (``gallery_per_wanted``)."""
    rule = s.rule
    if rule.gallery_per_wanted == 0.0:
        return rule.fpir
    return false_positive_identification_rate(
        rule.false_match_rate, s.wanted.size * rule.gallery_per_wanted
    )


@kernel
def _flag_new(flagged, ids):
    """Set the flag of each of ``ids``; returns how many did not have it."""
    flags, mask = flagged.flags, flagged.mask
    new = 0
    for i in range(ids.size):
        new += (flags[ids[i]] & mask) == 0
        flags[ids[i]] |= mask
    return new


@kernel
def _is_wanted(wanted, first, last, pid):
    """Whether ``pid`` is among ``wanted[first:last]`` (sorted)."""
    j = first + np.searchsorted(wanted[first:last], pid)
    return j < last and wanted[j] == pid


@kernel
def _follow_list(s):
    """Mode 'watchlist' of a list: make the wanted the list's members, as it left them.

    The list steps after the cameras, so these are its members at the end of yesterday. The
    wanted so far and the list's last entries (both in order) are merged, and whoever is no
    longer on the list is dropped: a day costs the list's size, not everyone. Only if that
    misses someone (the list's count of members says so: members who entered otherwise than in
    its last step, which no list of scslab does) is everyone's flag read.
    """
    lst = s.listing
    wanted, entered = s.wanted, lst.entered
    flags, mask = lst.flags, lst.mask
    out = np.empty(wanted.size + entered.size, np.int64)
    i = j = k = 0
    while i < wanted.size or j < entered.size:
        if j == entered.size or (i < wanted.size and wanted[i] < entered[j]):
            pid = wanted[i]
            i += 1
        else:
            pid = entered[j]
            i += i < wanted.size and wanted[i] == pid  # on both: once
            j += 1
        if flags[pid] & mask:
            out[k] = pid
            k += 1
    if k == lst.stats[LIST_SIZE]:
        s.wanted = out[:k].copy()
    else:
        s.wanted = list_members(lst)
        s.full_reads[0] += 1
    s.wanted_bounds = np.searchsorted(s.wanted, s.bounds).astype(np.int64)


@kernel
def _wanted_of(s):
    """The wanted now, in order (mode 'watchlist'), and how often everyone was read for them."""
    return s.wanted, s.full_reads[0]


@kernel
def _evader_hidden(s, day, pid, tag):
    """Whether an alert on ``pid``'s face is dropped because ``pid`` evades (chance ``1 - f``)."""
    f = s.evasion.factor[_FACE_RECOGNITION]
    return evades(s.evasion, pid) and uniform(s.keys.evaded, day, pid, tag) >= f


@compiled_once
@kernel
def _watchlist_alerts(day, s, evading):
    """Mode 'watchlist': the innocents falsely flagged and the wanted found today, in order.

    With ``evading``, an alert on an evader's face is kept with chance ``f`` (``_evader_hidden``);
    also returns how many were dropped.
    """
    keys, rule, bounds = s.keys, s.rule, s.bounds
    evaded = 0
    regions = bounds.size - 1
    fpir = _fpir_of_the_day(s)
    innocents = np.empty(room_for(s.daily_probes * fpir), np.int64)
    used = 0
    for r in range(regions):
        lo, first, last = bounds[r], s.wanted_bounds[r], s.wanted_bounds[r + 1]
        start = used
        rate = s.probes_per_person[r] * fpir
        innocents, used = poisson_points(
            keys.false_alerts, day, r, bounds[r + 1] - lo, rate, innocents, used
        )
        kept = start
        for i in range(start, used):  # a wanted person's probe is a mated search: not false
            pid = lo + innocents[i]
            if not _is_wanted(s.wanted, first, last, pid):
                if evading and _evader_hidden(s, day, pid, 0):
                    evaded += 1
                    continue
                innocents[kept] = pid
                kept += 1
        used = kept
    found = np.empty(room_for(s.wanted.size * s.probes_per_person.max()), np.int64)
    n_found = 0
    for r in range(regions):
        first, last = s.wanted_bounds[r], s.wanted_bounds[r + 1]
        start = n_found
        rate = s.probes_per_person[r] * (1.0 - rule.fnir)
        found, n_found = poisson_points(
            keys.true_alerts, day, r, last - first, rate, found, n_found
        )
        kept = start
        for i in range(start, n_found):
            pid = s.wanted[first + found[i]]
            if evading and _evader_hidden(s, day, pid, 1):
                evaded += 1
                continue
            found[kept] = pid
            kept += 1
        n_found = kept
    return innocents[:used], found[:n_found], evaded


class Sighting(NamedTuple):
    """What decides whether a camera sees and identifies an act (``_identify``), by name."""

    key: np.uint64
    """The detection draws' stream key."""
    watched: np.ndarray
    """Whether each act (by code) is enforced by the cameras."""
    bounds: np.ndarray
    """The regions' first ids."""
    coverage: np.ndarray
    """The chance a camera sees an act, by region."""
    identified: float
    """The chance a seen face is identified (1 - FNIR)."""
    evading: bool
    """Whether evaders show these cameras fewer faces today."""
    factor: float
    """An evader's coverage, as a share of everyone's."""


IDENTIFY_PARTS = 64
"""Runs of a day's acts identified apart, in parallel, then written in order (speed only)."""


def _identify(
    day, sighting, evasion, pid, act, recorded, out_pid, out_act, out_source, out_true, row
):
    """Each act's sighting in runs of acts, in parallel; the identified written from ``row``.

    An act not yet recorded, of a kind the cameras enforce, is identified when its draw is below
    its region's coverage times ``identified`` (times ``factor`` for an evader's act, which
    counts as evaded when the draw is below the full chance only; ``evasion``: who evades, a
    ``CoverageEvasion``, an argument of its own for the threaded loop). The acts come ordered by
    person, so each run walks the regions along its ids. The identified acts are marked
    recorded and written, in order, into ``out_*`` (person, act, source, true) from ``row``: each
    run counts its own, then writes them from where the runs before it end. Returns (records
    written, acts evaded); the same for any number of threads and runs.
    """
    # its fields as locals: a threaded loop takes arrays and records, not a tuple holding them
    key, watched, bounds, coverage = (
        sighting.key,
        sighting.watched,
        sighting.bounds,
        sighting.coverage,
    )
    identified, evading, factor = sighting.identified, sighting.evading, sighting.factor
    n = pid.size
    parts = min(n, IDENTIFY_PARTS)
    hit = np.zeros(n, np.bool_)
    found = np.zeros(parts, np.int64)
    evaded = np.zeros(parts, np.int64)
    for j in prange(parts):
        lo, hi = j * n // parts, (j + 1) * n // parts
        if lo == hi:
            continue
        r = region_of(bounds, pid[lo])
        for i in range(lo, hi):
            a = act[i]
            if recorded[i] or not watched[a]:
                continue
            r = region_on_from(bounds, r, pid[i])  # the ids ascend
            u = uniform(key, day, pid[i], a)
            chance = coverage[r] * identified
            if evading and evades(evasion, pid[i]):
                if u < chance and u >= chance * factor:  # seen at full coverage, not now
                    evaded[j] += 1
                chance *= factor
            if u < chance:
                hit[i] = True
                recorded[i] = True
                found[j] += 1
    starts = np.empty(parts, np.int64)
    at = row
    for j in range(parts):
        starts[j] = at
        at += found[j]
    for j in prange(parts):
        k = starts[j]
        for i in range(j * n // parts, (j + 1) * n // parts):
            if hit[i]:
                out_pid[k], out_act[k] = pid[i], act[i]
                out_source[k], out_true[k] = _FACE_RECOGNITION, True
                k += 1
    return at - row, evaded.sum()


_identify = both_builds(_identify)


@compiled_once
@kernel
def _acts_identified(day, board, s, evading):
    """Mode 'act': true records of today's enforced acts that cameras see and identify.

    Writes them on the board in person order and marks the acts recorded; returns how many, and
    how many evaders' acts the same draws identify at full coverage but not at the evader's
    (``evading``: coverage times ``f``).
    """
    pid, act, recorded = acts_of(board)
    row = record_room(board, pid.size)
    sighting = Sighting(
        key=s.keys.detect,
        watched=s.watched,
        bounds=s.bounds,
        coverage=s.coverage,
        identified=1.0 - s.rule.fnir,
        evading=evading,
        factor=s.evasion.factor[_FACE_RECOGNITION],
    )
    out = (board.rec_pid, board.rec_act, board.rec_source, board.rec_true)
    acts = (pid, act, recorded)
    found, evaded = _identify(s.threads, pid.size, day, sighting, s.evasion, *acts, *out, row)
    records_written(board, found, written_in_order(board.rec_pid, row, found))
    return found, evaded


@compiled_once
@kernel
def _false_identities(day, s, evading):
    """Mode 'act': today's false alerts as identities in the gallery, in order.

    A false match names a uniform gallery identity: the points of a Poisson process over
    ``n / gallery_in_population`` identities at the rate that gives probes x FPIR in all; those
    below ``n`` are simulated people. With ``evading``, fewer faces are searched: each point is
    kept with chance (probes with evasion) / (probes without). Returns the ids, the number of
    false alerts and the number dropped.
    """
    rule = s.rule
    expected = s.daily_probes * rule.fpir
    share = rule.gallery_in_population
    length = s.n / share if share > 0.0 else expected
    rate = expected / length if length > 0.0 else 0.0
    ids, used = poisson_points(
        s.keys.false_alerts, day, 0, length, rate, np.empty(room_for(expected), np.int64), 0
    )
    if rule.gallery_min_age > 0:
        used = _of_gallery_age(s, day, ids, used, length)
    evaded = 0
    if evading:
        kept_share = s.evading_probes / s.daily_probes if s.daily_probes > 0.0 else 1.0
        kept = 0
        for i in range(used):
            if uniform(s.keys.evaded, day, ids[i], 2) < kept_share:
                ids[kept] = ids[i]
                kept += 1
        evaded, used = used - kept, kept
    inside = used if share >= 1.0 else 0
    if 0.0 < share < 1.0:
        inside = np.searchsorted(ids[:used], s.n)
    return ids[:inside], used, evaded


REDRAWS = 16
"""Identities drawn again, at most, for a false match on someone too young for the gallery;
after that many (a chance of about 0.2 ** 17) the match names nobody and is not counted."""


@kernel
def _of_gallery_age(s, day, ids, used, length):
    """The first ``used`` identities of ``ids``, each on someone of the gallery's age, in order.

    A simulated person younger than ``rule.gallery_min_age`` has no image in the gallery: the
    match is drawn again uniformly over its ``length`` identities (simulated or not). Returns
    how many are kept, sorted in place.
    """
    rule, n = s.rule, s.n
    kept = 0
    for i in range(used):
        pid = ids[i]
        attempt = 0
        while pid < n and not of_age(rule.ages, pid, rule.gallery_min_age):
            if attempt == REDRAWS:
                pid = -1
                break
            pid = np.int64(uniform(s.keys.gallery_age, day, i, attempt) * length)
            attempt += 1
        if pid >= 0:
            ids[kept] = pid
            kept += 1
    ordered = sorted_copy(ids[:kept])
    for i in range(kept):
        ids[i] = ordered[i]
    return kept


@step_kernel
def _step(day, board, s):
    evading = s.evading and day >= s.evasion.first_day[0]
    if s.rule.watchlist:
        if s.rule.from_list:
            _follow_list(s)
        innocents, found, evaded = _watchlist_alerts(day, s, evading)
        false_alerts, true_alerts = innocents.size, found.size
        alert_act = s.rule.alert_act
        if alert_act >= 0:  # each alert a record on the person sighted
            if found.size:
                post_records(board, found, alert_act, _FACE_RECOGNITION, TRUE_RECORDS)
            if innocents.size:
                post_records(board, innocents, alert_act, _FACE_RECOGNITION, FALSE_RECORDS)
    else:
        true_alerts, evaded_acts = _acts_identified(day, board, s, evading)
        innocents, false_alerts, evaded_false = _false_identities(day, s, evading)
        evaded = evaded_acts + evaded_false
        if innocents.size:
            post_records(board, innocents, s.rule.false_act, _FACE_RECOGNITION, FALSE_RECORDS)
    c, cum = s.day_counts, s.cum
    c[0] = np.rint(s.evading_probes if evading else s.daily_probes)
    c[1] = true_alerts + false_alerts
    c[2] = false_alerts
    c[3] = true_alerts
    cum[0] += np.int64(c[0])
    cum[1] += true_alerts + false_alerts
    cum[2] += false_alerts
    cum[3] += _flag_new(s.flagged, innocents)
    c[4] = evaded
    cum[4] += evaded
    c[5] = s.wanted.size  # the gallery where it is the wanted (metrics.parquet scales counts)


@step_kernel
def _metrics(day, s):
    c, t = s.day_counts, s.today
    t[0], t[1], t[2] = c[0], c[1], c[2]
    t[3] = c[2] / c[1] if c[1] > 0 else np.nan
    t[4] = s.cum[3]
    k = 5
    if s.evading:  # evaders evade these cameras
        t[k] = c[4]
        k += 1
    if s.rule.gallery_per_wanted > 0.0:  # the gallery is the day's wanted
        t[k] = c[5]


@kernel
def _shared(s):
    return s.cum


compiled_mechanism(FaceState, _step, _metrics)


class FaceRecognition(CompiledSteps, Surveillance):
    """1:N face search of camera sightings against a gallery, by its error rates."""

    name = "face_recognition"
    Params = FaceRecognitionParams
    description = "1:N face search of sightings against a gallery: alerts, false alerts"
    params: FaceRecognitionParams

    def records_posted(self, acts_drawn: set[str] | None = None) -> list[RecordKind]:
        """What its cameras record, by mode.

        Mode 'act': the enforced acts seen (those drawn) and the false alerts' act. Mode
        'watchlist': each alert's ``alert_act``, or nothing without one.
        """
        p, source = self.params, SOURCE_NAMES[Source.FACE_RECOGNITION]
        if p.mode == "watchlist":
            return [RecordKind(source=source, act=p.alert_act)] if p.alert_act is not None else []
        seen = [a for a in p.acts if acts_drawn is None or a in acts_drawn]
        return [RecordKind(source=source, act=a) for a in dict.fromkeys([*seen, p.false_act])]

    def declare(self, pop: Population) -> None:
        self.flagged = pop.state.add_flag(f"{self.name}_falsely_flagged")

    @property
    def fpir(self) -> float:
        """The chance that a probe of someone not wanted returns an impostor.

        With ``gallery_size = 'wanted'``, that of the gallery searched last (the wanted of the
        last day stepped, times the scale).
        """
        p = self.params
        if p.gallery_size == "wanted":
            return float(_fpir_of_the_day(self.state))
        return float(false_positive_identification_rate(p.false_match_rate, p.gallery_size))

    def init(self, sim: Simulation) -> None:
        p, pop = self.params, sim.pop
        geography = pop.geography
        urban = geography.urban()
        searched = np.ones(geography.n_regions, np.bool_)
        if p.provinces is not None:
            wanted_provinces = set(p.provinces)
            searched = np.asarray(
                [name.rsplit(" (", 1)[0] in wanted_provinces for name in geography.names]
            )
            if not searched.any():
                people_in = sorted({name.rsplit(" (", 1)[0] for name in geography.names})
                raise ScenarioError(
                    f"{sim.scenario.source}: mechanisms.{self.name}.provinces: no camera would see "
                    f"anyone: the population has none of {', '.join(p.provinces)}; it has "
                    f"{', '.join(people_in)}"
                )
        per_person = np.zeros(geography.n_regions, np.float64)
        for setting in p.settings.values():
            per_person += np.where(urban, setting.probes_urban, setting.probes_rural)
        per_person *= searched
        # an act is seen only where cameras search: a region whose settings show them no face
        coverage = np.where(urban, p.act_coverage_urban, p.act_coverage_rural) * (per_person > 0)
        watched = np.zeros(len(Act), np.bool_)
        watched[[act_by_name(a) for a in p.acts]] = True
        watchlist = p.mode == "watchlist"
        wanted = np.empty(0, np.int64)
        if watchlist and p.wanted_list is None and p.watchlist_share > 0:  # drawn once, day 0
            share, threads = p.watchlist_share, run_threads(pop.n)
            wanted = compiled_bernoulli_ids(self.key("wanted"), 0, pop.n, share, threads)
        following = p.gallery_size == "wanted"
        self.gallery_per_wanted = float(sim.scenario.meta.scale) if following else 0.0
        """Images in the gallery per wanted person (the scale), or 0: a gallery of fixed size."""
        rule = FaceRule(
            watchlist=watchlist,
            fpir=0.0 if following else self.fpir,
            false_match_rate=p.false_match_rate,
            gallery_per_wanted=self.gallery_per_wanted,
            fnir=p.false_negative_rate,
            gallery_in_population=p.gallery_in_population,
            gallery_min_age=p.gallery_min_age,
            ages=actor_ages(pop),
            false_act=np.int16(act_by_name(p.false_act)),
            from_list=watchlist and p.wanted_list is not None,
            alert_act=np.int16(-1 if p.alert_act is None else act_by_name(p.alert_act)),
        )
        keys = FaceKeys(
            false_alerts=self.key("false_alerts"),
            true_alerts=self.key("true_alerts"),
            detect=self.key("detect"),
            evaded=self.key("evaded"),
            gallery_age=self.key("gallery_age"),
        )
        evasion = pop.state.shared.get(EVASION) or no_evasion()
        evading = bool(evasion.active and evasion.factor[Source.FACE_RECOGNITION] < 1.0)
        self.evading = evading
        """Whether evaders show these cameras fewer faces (an evasion of this source)."""
        evaders = np.zeros(geography.n_regions, np.int64)
        if evading:  # one pass over everyone, at set-up
            evaders = evaders_in(evasion, geography.bounds)
        self.wanted_list = (
            sim.get(p.wanted_list, ListBase, f"{self.name}.wanted_list")
            if p.wanted_list is not None and not sim.runs_without(p.wanted_list)
            else None
        )
        """The list whose members are wanted (mode 'watchlist'), or None: without one, or in a
        burn-in, which runs no list (nobody is wanted there; its false alerts are drawn as in
        the run, and reach the run only as the records of ``alert_act``, if set)."""
        self._new_record = functools.partial(
            _new_state,
            keys,
            rule,
            geography.bounds,
            per_person,
            watched,
            coverage,
            wanted,
            np.searchsorted(wanted, geography.bounds).astype(np.int64),
            self.flagged.bits(),
            pop.n,
            run_threads(pop.n),
            evasion,
            evading,
            evaders,
        )
        """The record's constructor, given the wanted list's record (``state``)."""
        columns = ["probes", "alerts", "false_alerts", "false_share", "innocents_flagged"]
        if evading:
            columns.append("evaded_alerts")
        if following:
            columns.append("gallery_size")
        self.metric_columns = tuple(f"{self.name}_{column}" for column in columns)
        self.float_metrics = frozenset({f"{self.name}_false_share"})

    @cached_property
    def state(self) -> Any:
        """The record, built on first use, once every mechanism has set up.

        The list whose members are wanted steps after the cameras, in the day and in the set-up:
        its record does not exist yet in this mechanism's ``init``.
        """
        lst = self.wanted_list
        return self._new_record(lst.state if lst is not None else no_list())

    @cached_property
    def cum(self) -> np.ndarray:
        """Probes, alerts, false alerts, innocents flagged and alerts evaded so far (shared)."""
        return _shared(self.state)

    @cached_property
    def today(self) -> np.ndarray:  # type: ignore[override]
        """Today's metrics (shared with the record)."""
        return today_of(self.state)

    @property
    def wanted(self) -> np.ndarray:
        """The wanted now, in order (mode 'watchlist'; none in mode 'act').

        A share drawn once, or the members of ``wanted_list`` as it stood at the start of the
        last day stepped.
        """
        return _wanted_of(self.state)[0]

    @property
    def full_reads(self) -> int:
        """Days on which the wanted list's members were found by reading everyone's flag.

        Only after members entered the list otherwise than in its last step, which no list of
        scslab does (a warm start leaves its members as the entries before day 0): every day
        merges the list's last entries into the wanted, and this read is a safety net.
        """
        return int(_wanted_of(self.state)[1])

    def summary(self) -> list[str]:
        probes, alerts, false, flagged, evaded = (int(x) for x in self.cum)
        share = f"{false / alerts:.1%}" if alerts else "no alerts"
        p = self.params
        wanted = f", wanted: {p.wanted_list}'s members" if p.wanted_list is not None else ""
        recorded = f", each alert a record of {p.alert_act}" if p.alert_act is not None else ""
        if p.gallery_size == "wanted":
            scale = self.gallery_per_wanted
            gallery = (
                f"gallery: the wanted x {scale:,.0f}, {self.wanted.size * scale:,.0f} on the "
                "last day"
            )
            fpir = f"FPIR {self.fpir:.3g} a probe on the last day"
        else:
            gallery, fpir = f"gallery {p.gallery_size:,}", f"FPIR {self.fpir:.3g} a probe"
        return [
            f"{self.name} ({p.mode}{wanted}{recorded}): {probes:,} probes, {alerts:,} alerts, "
            f"{false:,} false ({share}); {flagged:,} innocents flagged; {fpir} "
            f"(FMR {p.false_match_rate:.3g}, {gallery})"
            + (f"; {evaded:,} alerts evaded" if self.evading else "")
        ]
