"""Municipal point systems: a base score, a catalogue of points per recorded act, and grades.

A point system adds the catalogue's points for every record it receives, true or false (it cannot
tell them apart), and keeps the number of people in each grade up to date event by event, so that
grade counts cost nothing on days without records. The Rongcheng catalogue comes from
``calibration/local_point_systems.csv`` (official translation of the Rongcheng standard where
available); values not found there are labelled assumptions.

Signing up (an opt-in system such as Honest Shanghai, by ID number and face) can go wrong two
ways, both modelled by published error rates and never by processing an image: the face check
fails and the person is not enrolled (``enrolment_failure``), or the face search matches another
resident and the user is *misverified*: scored from that person's government records instead of
their own (``misverification``). Misverified users are found once, at ``init``, by a pass over the
population in blocks, and kept in small sorted arrays (``Misverified``: the users, and the people
they were matched to with whose match each is; sized by their number, never per record). A record
about a matched person scores their users; a user's own records move only their "own" score in
those arrays, which ``own_scores`` reports so that readers can count rewards granted or denied on
someone else's record. Who is misverified and whom they match are hashes of (seed, person).

Owns its offsets and its grade counts; never posts records or touches another mechanism's state.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numba import prange
from pydantic import Field, field_validator, model_validator

from scslab.catalogue import Act, Points, Source, SourceName, act_by_name, source_by_name
from scslab.engine.board import records_of
from scslab.engine.mechanism import MechanismParams
from scslab.engine.steps import CompiledSteps, compiled_mechanism
from scslab.kernels.jit import kernel, step_kernel
from scslab.kernels.memory import prefetch_ahead
from scslab.kernels.parallel import RECORD_PARTS, both_builds, person_parts, run_threads
from scslab.kernels.rng import below, uniform
from scslab.kernels.sorting import stable_order
from scslab.kernels.structs import compiled_struct
from scslab.mechanisms.ages import ID_CARD_AGE, ActorAges, actor_ages, is_of_age, of_age
from scslab.mechanisms.common import SOME_SOURCES
from scslab.mechanisms.scoring.compiled import (
    CompiledScoring,
    compiled_scoring,
    moving_by_value,
    record_value,
    scores_everyone,
)
from scslab.parameter_tables import ParameterTable

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation
    from scslab.population import Population

OFFSET_LIMIT = 30_000
"""Scores are stored as an int16 offset from the base (at most 32,767 either way) and saturate
at base +-30,000 without a floor or a ceiling."""
SIGN_UP_BLOCK = 1 << 20
"""People per block of the pass that finds misverified users (part of no result: any order)."""


class Grade(ParameterTable):
    """A grade and the lowest score that earns it."""

    name: str = Field(
        description="The grade's name, part of a metric column ({mechanism}_grade_{name}): "
        "letters, digits and underscores, a letter first (grades are often upper case: AAA)."
    )
    min_score: int = Field(
        ge=-30_000,
        le=30_000,
        description="The lowest score that earns the grade; the worst grade's is at or below the "
        "lowest score (the floor, or base - 30,000): it takes everyone below the grade above.",
    )

    @field_validator("name")
    @classmethod
    def _column_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", value):
            raise ValueError(
                f"grade name {value!r} must be letters, digits and underscores, a letter first"
            )
        return value


class PointSystemParams(MechanismParams):
    """A point catalogue and grade thresholds."""

    base: int = Field(
        default=1000,
        ge=0,
        le=30_000,
        description="Starting score of everyone: 1000, the base of Suining (2010) and Rongcheng "
        "(calibration/local_point_systems.csv); an assumption for any other point system.",
    )
    points: Points = Field(description="Act name -> points per record.")
    grades: list[Grade] = Field(description="Grades from best to worst with their lowest score.")
    floor: int | None = Field(default=None, description="Lowest possible score (none: no floor).")
    ceiling: int | None = Field(
        default=None, description="Highest possible score (none: no ceiling)."
    )
    sources: list[SourceName] | None = Field(
        default=None,
        description="Data sources whose records count (none: all). Allowed: "
        + ", ".join(s.name.lower() for s in Source),
    )
    _some_sources = SOME_SOURCES
    enrolment: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description="Share of people who sign up (1: everyone is scored, as in the county "
        "systems of calibration/local_point_systems.csv).",
    )
    enrolment_min_age: int = Field(
        default=0,
        ge=0,
        le=90,
        description="The youngest who may sign up (default 0: anyone, as where everyone is "
        "scored without signing up; an assumption).",
    )
    enrolment_failure: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Chance that signing up fails (for example a failed face verification; "
        "default 0: never, an assumption where everyone is scored without signing up).",
    )
    misverification: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Chance that a successful sign-up matches the wrong person: the user is then "
        "scored from that person's records, not their own (default 0: never, an assumption "
        "where everyone is scored without a face check).",
    )

    @model_validator(mode="after")
    def _ordered(self) -> PointSystemParams:
        lo = self.floor if self.floor is not None else self.base - OFFSET_LIMIT
        hi = self.ceiling if self.ceiling is not None else self.base + OFFSET_LIMIT
        if not lo <= self.base <= hi:
            raise ValueError(f"base {self.base} must lie between floor and ceiling")
        mins = [g.min_score for g in self.grades]
        if not self.grades or mins != sorted(mins, reverse=True):
            raise ValueError("grades must list best first with strictly falling min_score")
        if len(set(mins)) != len(mins):
            raise ValueError("grades must have distinct min_score values")
        lowest = max(lo, self.base - OFFSET_LIMIT)  # scores stop at base - 30,000 whatever floor
        if mins[-1] > lowest:  # the worst grade takes everyone below the grade above it
            raise ValueError(
                f"the worst grade, {self.grades[-1].name}, has min_score {mins[-1]}, but scores "
                f"reach {lowest} (the floor, or base - {OFFSET_LIMIT:,}): it takes everyone "
                f"below the grade above it, so give it a min_score of {lowest} or less"
            )
        names = [g.name for g in self.grades]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"grades must have distinct names; {twice[0]!r} is named twice")
        return self


def rongcheng_points() -> dict[str, int]:
    """Rongcheng catalogue entries for the acts scslab simulates (calibration CSV)."""
    return {
        "traffic_offence": -5,  # traffic_ticket: press summary (Foreign Policy 2018), low
        "loan_arrears": -10,  # bank_arrears_per_monthly_cycle: official translation
        "court_judgment_unpaid": -30,  # sued_and_liable_for_debt: official translation
        "prosocial_act": 30,  # heroic_act: press summary (Foreign Policy 2018), low
    }


def rongcheng_grades() -> list[Grade]:
    """Rongcheng grades AAA..D.

    AAA >= 1050 (nearby Huantai county, press); the other cut-offs
    (AA 1030, A 960, B 850, C 600) follow press summaries of the Rongcheng measures: assumption.
    """
    return [
        Grade(name="AAA", min_score=1050),
        Grade(name="AA", min_score=1030),
        Grade(name="A", min_score=960),
        Grade(name="B", min_score=850),
        Grade(name="C", min_score=600),
        Grade(name="D", min_score=-30_000),
    ]


class RongchengParams(PointSystemParams):
    """Rongcheng's point system (defaults from calibration/local_point_systems.csv)."""

    points: Points = Field(
        default_factory=rongcheng_points,
        description="Act name -> points per record. Defaults from Rongcheng's catalogue "
        "(calibration/local_point_systems.csv): loan_arrears -10 and court_judgment_unpaid -30 "
        "from the official translation; traffic_offence -5 and prosocial_act +30 from a press "
        "summary (low reliability).",
    )
    grades: list[Grade] = Field(
        default_factory=rongcheng_grades,
        description="Grades from best to worst with their lowest score. Defaults: the names AAA.."
        "D and AAA at 1050 (nearby Huantai county) from calibration/local_point_systems.csv; the "
        "cut-offs AA 1030, A 960, B 850 and C 600 are assumptions.",
    )


class Enrolment(NamedTuple):
    """Who is scored, and the numbers the mean needs: the record's ``enrolment``."""

    key: np.uint64
    """The enrolment stream's key."""
    everyone: bool
    """Everyone is scored (no opt-in, no failures): nobody is asked."""
    share: float
    failure: float
    base: int
    """The base score (scores are stored as offsets from it)."""
    enrolled: int
    """People scored."""
    min_age: int
    """The youngest who may sign up (0: anyone)."""
    ages: ActorAges
    """What is read of a person's age (``mechanisms/ages.py``), where ``min_age`` is above 0."""


class Misverified(NamedTuple):
    """Users scored from someone else's records: the record's ``misverified`` (empty: none)."""

    users: np.ndarray
    """The misverified users, sorted (int64): their own records score nobody."""
    by_matched: np.ndarray
    """The people they were matched to, sorted (int64): a record about one scores its users."""
    whose: np.ndarray
    """The user matched to each entry of ``by_matched`` (int64)."""
    own_offset: np.ndarray
    """Each user's offset from their own records, which their score does not read (int64)."""


class Bounds(NamedTuple):
    """The floor and the ceiling as offsets from the base: the record's ``bounds``."""

    lo: int
    hi: int


@kernel(inline="always")
def _enrolled(key, pid, share, failure, youngest, age_key, households, age_table):
    """Signed up: drawn in the share, old enough (``youngest``; 0: any age), not failed.

    The ages' arrays come apart, not as a record, so that a threaded loop can take them.
    """
    if not uniform(key, 0, pid, 0) < share:
        return False
    if not is_of_age(age_key, households, age_table, pid, youngest):
        return False
    return uniform(key, 0, pid, 1) >= failure


def _count_enrolled(key, n, share, failure, youngest, age_key, households, age_table):
    total = 0
    for pid in prange(n):
        if _enrolled(key, pid, share, failure, youngest, age_key, households, age_table):
            total += 1
    return total


_count_enrolled = both_builds(_count_enrolled)


@kernel(inline="always")
def _signed_up_wrongly(key, pid, share, failure, rate, youngest, age_key, households, age_table):
    """Enrolled, but the face search matched someone else (draw ``(key, 0, pid, 2)``)."""
    enrolled = _enrolled(key, pid, share, failure, youngest, age_key, households, age_table)
    return enrolled and uniform(key, 0, pid, 2) < rate


MATCH_REDRAWS = 16
"""Draws, at most, of the person a misverified user is matched to, until one is in the ID-card
gallery (``ages.ID_CARD_AGE``); after that many (a chance of about 0.2 ** 16) the last stands."""


@kernel
def _matched_person(key, pid, n, ages):
    """Whom a misverified ``pid`` was matched to: anyone else in the ID-card gallery.

    Uniformly (assumption); someone younger than ``ages.ID_CARD_AGE`` has no photo there, and is
    drawn again.
    """
    other = below(key, 0, pid, 3, n - 1)
    other += other >= pid
    for attempt in range(MATCH_REDRAWS):
        if of_age(ages, other, ID_CARD_AGE):
            break
        other = below(key, 0, pid, 4 + attempt, n - 1)
        other += other >= pid
    return other


def _misverified_users(key, n, share, failure, rate, youngest, age_key, households, age_table):
    """Everyone misverified at sign-up, in order: block counts, then each block filled."""
    blocks = (n + SIGN_UP_BLOCK - 1) // SIGN_UP_BLOCK
    counts = np.zeros(blocks + 1, np.int64)
    for b in prange(blocks):
        found = 0
        for pid in range(b * SIGN_UP_BLOCK, min(n, (b + 1) * SIGN_UP_BLOCK)):
            found += _signed_up_wrongly(
                key, pid, share, failure, rate, youngest, age_key, households, age_table
            )
        counts[b + 1] = found
    starts = np.cumsum(counts)
    users = np.empty(starts[-1], np.int64)
    for b in prange(blocks):
        k = starts[b]
        for pid in range(b * SIGN_UP_BLOCK, min(n, (b + 1) * SIGN_UP_BLOCK)):
            if _signed_up_wrongly(
                key, pid, share, failure, rate, youngest, age_key, households, age_table
            ):
                users[k] = pid
                k += 1
    return users


_misverified_users = both_builds(_misverified_users)


def no_misverified() -> Misverified:
    """The map of a scheme that misverifies nobody: empty, made without compiling the search."""
    return Misverified(**{field: np.empty(0, np.int64) for field in Misverified._fields})


@kernel
def _new_misverified(key, n, share, failure, rate, threads, youngest, ages):
    """The ``Misverified`` map of a population of ``n`` at a misverification ``rate``.

    Called only where sign-ups may be misverified (``PointSystem.misidentifies``; else
    ``no_misverified``). A population of one has nobody else to match: the map is empty.
    """
    if n > 1:
        a = ages
        signing_up = (youngest, a.age_key, a.households, a.age_table)
        users = _misverified_users(threads, n, key, n, share, failure, rate, *signing_up)
    else:
        users = np.empty(0, np.int64)
    matched = np.empty(users.size, np.int64)
    for i in range(users.size):
        matched[i] = _matched_person(key, users[i], n, ages)
    order = stable_order(matched)
    return Misverified(
        users=users,
        by_matched=matched[order],
        whose=users[order],
        own_offset=np.zeros(users.size, np.int64),
    )


@kernel(inline="always")
def _index_in(sorted_ids, pid):
    """The position of ``pid`` in ``sorted_ids`` (-1: absent)."""
    j = np.searchsorted(sorted_ids, pid)
    return j if j < sorted_ids.size and sorted_ids[j] == pid else -1


@kernel
def _enrolled_many(e, pids):
    """Whether each of ``pids`` signed up (``e``, an ``Enrolment``)."""
    a = e.ages
    out = np.empty(pids.size, np.bool_)
    for i in range(pids.size):
        out[i] = _enrolled(
            e.key, pids[i], e.share, e.failure, e.min_age, a.age_key, a.households, a.age_table
        )
    return out


@kernel(inline="always")
def _add_points(pid, pts, false, offset, lo, hi, grade_mins, counts, stats):
    """Add ``pts`` to ``pid``'s offset within ``lo..hi``; keep grade counts and ``stats``."""
    old = np.int64(offset[pid])
    new = min(max(old + pts, lo), hi)
    if new == old:
        return
    g_old = _grade(grade_mins, old)
    g_new = _grade(grade_mins, new)
    counts[g_old] -= 1
    counts[g_new] += 1
    offset[pid] = new
    stats[0] += new - old
    if false:
        stats[1] += 1


def _apply(pids, acts, sources, true, s):
    """Add points per record; keep grade counts; stats = [sum delta, false-record deltas].

    A record about someone scores the users misverified as them, and the person's own score
    unless they are misverified themselves (then only their own score in the map moves).
    The records come ordered by person. Without misverified users a record moves only its
    person's score, so the parts of ``person_parts`` (whole people each) run apart, each with
    counts of its own, added at the end; with them, in one part.
    """
    offset, points, source_ok = s.offset, s.points, s.source_ok
    lo, hi, grade_mins, counts, stats = s.bounds.lo, s.bounds.hi, s.mins, s.counts, s.stats
    e = s.enrolment  # a threaded loop takes its fields, not the record
    everyone, key, share, failure, youngest = e.everyone, e.key, e.share, e.failure, e.min_age
    age_key, households, age_table = e.ages.age_key, e.ages.households, e.ages.age_table
    m = s.misverified  # a threaded loop takes its arrays, not the record
    users, by_matched, whose, own_offset = m.users, m.by_matched, m.whose, m.own_offset
    bounds = person_parts(pids, 1 if users.size else RECORD_PARTS)
    parts = bounds.size - 1
    part_counts = np.zeros((parts, counts.size), np.int64)
    part_stats = np.zeros((parts, stats.size), np.int64)
    for j in prange(parts):
        own_counts, own_stats = part_counts[j], part_stats[j]
        for i in range(bounds[j], bounds[j + 1]):
            prefetch_ahead(offset, pids, i)
            pts = record_value(points, source_ok, acts[i], sources[i])
            if pts == 0:
                continue
            pid = pids[i]
            false = not true[i]
            if users.size:
                k = np.searchsorted(by_matched, pid)
                while k < by_matched.size and by_matched[k] == pid:
                    _add_points(
                        whose[k], pts, false, offset, lo, hi, grade_mins, own_counts, own_stats
                    )
                    k += 1
                at = _index_in(users, pid)
                if at >= 0:
                    own_offset[at] = min(max(own_offset[at] + pts, lo), hi)
                    continue
            if not everyone and not _enrolled(
                key, pid, share, failure, youngest, age_key, households, age_table
            ):
                continue
            _add_points(pid, pts, false, offset, lo, hi, grade_mins, own_counts, own_stats)
    for j in range(parts):  # integer counts: the same sums in any order
        counts += part_counts[j]
        stats += part_stats[j]


_apply = both_builds(_apply)


@kernel(inline="always")
def _grade(mins, off):
    for g in range(mins.size):
        if off >= mins[g]:
            return g
    return mins.size - 1


PointsState = compiled_struct(
    "PointsState",
    (
        "offset",
        "points",
        "source_ok",
        "bounds",
        "mins",
        "counts",
        "stats",
        "enrolment",
        "misverified",
        "threads",
        "today",
    ),
    __name__,
)
"""The offset from the base per person; the catalogue and the sources that count; the offsets'
floor and ceiling (``Bounds``); the grades' lowest offsets and the people in each grade; the sum of
offsets and changes from false records; who is scored (``Enrolment``) and who is scored from
someone else's records (``Misverified``); the population's ``run_threads`` (the records' build);
today's metrics (enrolled, mean, false-record changes, people per grade, and with misverification
the users misverified)."""


@kernel
def _new_state(
    offset, points, source_ok, bounds, mins, counts, enrolment, misverified, threads, width
):
    stats = np.zeros(2, np.int64)
    today = np.zeros(width, np.float64)
    return PointsState(
        offset,
        points,
        source_ok,
        bounds,
        mins,
        counts,
        stats,
        enrolment,
        misverified,
        threads,
        today,
    )


@step_kernel
def _step(day, board, s):
    pid, act, source, true = records_of(board)
    before = s.stats[1]
    _apply(s.threads, pid.size, pid, act, source, true, s)
    s.today[2] = s.stats[1] - before  # changes from false records today


@kernel
def _mean(s):
    """The mean score of the people scored (NaN, a missing value, with nobody enrolled)."""
    enrolled = s.enrolment.enrolled
    return s.enrolment.base + s.stats[0] / enrolled if enrolled else np.nan


@step_kernel
def _metrics(day, s):
    s.today[0] = s.enrolment.enrolled
    s.today[1] = _mean(s)
    for g in range(s.counts.size):
        s.today[3 + g] = s.counts[g]
    if s.today.size > 3 + s.counts.size:  # with misverification: the users misverified
        s.today[3 + s.counts.size] = s.misverified.users.size


@kernel
def _state_scores(s, pids, day):
    base = s.enrolment.base
    out = np.empty(pids.size, np.int64)
    for i in range(pids.size):
        out[i] = base + np.int64(s.offset[pids[i]])
    return out


@kernel
def _state_own_scores(s, pids, day):
    """Scores from each person's own records: a misverified user's from the map."""
    out = _state_scores(s, pids, day)
    m = s.misverified
    if m.users.size:
        for i in range(pids.size):
            j = _index_in(m.users, pids[i])
            if j >= 0:
                out[i] = s.enrolment.base + m.own_offset[j]
    return out


_MISVERIFICATION = np.int16(Source.FACE_RECOGNITION)
"""The cause of a user's score moved by someone else's record: the face-ID match at sign-up."""


@kernel
def _state_records_as_scored(s, pids, sources, trues):
    """Records (in person order) addressed to whose score each moves, in person order.

    A record about a matched person also moves the score of each user misverified as them, for
    whom it is a false record caused by the face-ID match (``Source.FACE_RECOGNITION``); a
    misverified user's own records move no score that readers read. Without misverified users,
    the records as they are.
    """
    m = s.misverified
    if m.users.size == 0:
        return pids, sources, trues
    kept = extra = 0
    for i in range(pids.size):
        kept += _index_in(m.users, pids[i]) < 0
        k = np.searchsorted(m.by_matched, pids[i])
        while k < m.by_matched.size and m.by_matched[k] == pids[i]:
            extra += 1
            k += 1
    own = np.empty(kept, np.int64)
    own_sources = np.empty(kept, sources.dtype)
    own_trues = np.empty(kept, np.bool_)
    users = np.empty(extra, np.int64)
    a = b = 0
    for i in range(pids.size):
        if _index_in(m.users, pids[i]) < 0:
            own[a], own_sources[a], own_trues[a] = pids[i], sources[i], trues[i]
            a += 1
        k = np.searchsorted(m.by_matched, pids[i])
        while k < m.by_matched.size and m.by_matched[k] == pids[i]:
            users[b] = m.whose[k]
            b += 1
            k += 1
    users = users[stable_order(users)]
    out = np.empty(kept + extra, np.int64)
    out_sources = np.empty(kept + extra, sources.dtype)
    out_trues = np.empty(kept + extra, np.bool_)
    i = j = 0
    for r in range(kept + extra):  # merge: a person's own records first, then others'
        if j == extra or (i < kept and own[i] <= users[j]):
            out[r], out_sources[r], out_trues[r] = own[i], own_sources[i], own_trues[i]
            i += 1
        else:
            out[r], out_sources[r], out_trues[r] = users[j], _MISVERIFICATION, False
            j += 1
    return out, out_sources, out_trues


@kernel
def _state_has_score(s, pids):
    e = s.enrolment
    if e.everyone:
        return scores_everyone(s, pids)
    return _enrolled_many(e, pids)


@kernel
def _state_moving(s):
    """Records that move scores: those worth points from a source that counts."""
    return moving_by_value(s.points, s.source_ok)


@kernel
def _shared(s):
    return s.counts, s.stats, s.today


@kernel
def _misverified_of(s):
    return s.misverified


compiled_mechanism(PointsState, _step, _metrics)


compiled_scoring(
    PointsState,
    _state_scores,
    has_score_kernel=_state_has_score,
    own_scores_kernel=_state_own_scores,
    moving_records_kernel=_state_moving,
    records_as_scored_kernel=_state_records_as_scored,
)


class PointSystem(CompiledSteps, CompiledScoring):
    """Base of point systems; subclasses set ``name`` and default parameters."""

    params: PointSystemParams
    carries_history = True
    scores_before_start = True  # everyone enrolled holds the base from day 0

    def declare(self, pop: Population) -> None:
        self.offset = pop.state.add(f"{self.name}_offset", np.int16, 0)

    def history(self) -> dict[str, Any]:
        """Besides the offsets: people per grade, the offsets' sum, misverified users' own."""
        return {
            "counts": self.counts.copy(),
            "sum": int(self.stats[0]),
            "own_offset": self.misverified.own_offset.copy(),
        }

    def take_history(self, history: dict[str, Any]) -> None:
        np.copyto(self.counts, history["counts"])
        self.stats[0] = history["sum"]
        np.copyto(self.misverified.own_offset, history["own_offset"])

    def init(self, sim: Simulation) -> None:
        p = self.params
        sim.check_reads_a_source(f"{self.name}.sources", p.sources)
        self.points = np.zeros(len(Act), np.int64)
        for name, pts in p.points.items():
            self.points[act_by_name(name)] = pts
        self.grade_names = [g.name for g in p.grades]
        self.metric_names = (
            f"{self.name}_enrolled",
            f"{self.name}_mean",
            f"{self.name}_false_record_changes",
            *(f"{self.name}_grade_{g}" for g in self.grade_names),
            *((f"{self.name}_misverified",) if self.misidentifies() else ()),
        )
        self.mins = np.asarray([g.min_score - p.base for g in p.grades], np.int64)
        self.mins[-1] = min(self.mins[-1], -OFFSET_LIMIT)
        self.everyone = (
            p.enrolment >= 1.0 and p.enrolment_failure <= 0.0 and p.enrolment_min_age <= 0
        )
        self.enrol_key = self.key("enrolment")
        ages = actor_ages(sim.pop)  # who may sign up, and whom a face search can match
        signing_up = (p.enrolment_min_age, ages.age_key, ages.households, ages.age_table)
        if self.everyone:
            self.n = sim.pop.n
        else:
            n, threads = sim.pop.n, run_threads(sim.pop.n)
            self.n = int(
                _count_enrolled(
                    threads, n, self.enrol_key, n, p.enrolment, p.enrolment_failure, *signing_up
                )
            )
        counts = np.zeros(len(p.grades), np.int64)
        counts[_grade(self.mins, 0)] = self.n
        source_ok = np.ones(len(Source), np.bool_)
        if p.sources is not None:
            source_ok[:] = False
            source_ok[[source_by_name(s) for s in p.sources]] = True
        # offsets within +-OFFSET_LIMIT (an int16 holds +-32,767): scores within base +-30,000,
        # or the floor and the ceiling where they are nearer
        lo = -OFFSET_LIMIT if p.floor is None else max(-OFFSET_LIMIT, p.floor - p.base)
        hi = OFFSET_LIMIT if p.ceiling is None else min(OFFSET_LIMIT, p.ceiling - p.base)
        enrolment = Enrolment(
            key=self.enrol_key,
            everyone=self.everyone,
            share=p.enrolment,
            failure=p.enrolment_failure,
            base=p.base,
            enrolled=self.n,
            min_age=p.enrolment_min_age,
            ages=ages,
        )
        misverified = (
            _new_misverified(
                self.enrol_key,
                sim.pop.n,
                p.enrolment,
                p.enrolment_failure,
                p.misverification,
                run_threads(sim.pop.n),
                p.enrolment_min_age,
                ages,
            )
            if self.misidentifies()
            else no_misverified()  # the same record type; the search is never compiled
        )
        self.state = _new_state(
            self.offset,
            self.points,
            source_ok,
            Bounds(lo=lo, hi=hi),
            self.mins,
            counts,
            enrolment,
            misverified,
            run_threads(sim.pop.n),
            len(self.metric_names),
        )
        self.counts, self.stats, self.today = _shared(self.state)
        """People per grade; sum of offsets and false-record changes; today's metrics."""
        self.misverified: Misverified = _misverified_of(self.state)
        """The users misverified at sign-up and whom they were matched to (shared)."""
        self.metric_columns = self.metric_names
        self.float_metrics = frozenset({f"{self.name}_mean"})

    def scores_everyone(self) -> bool:
        return self.everyone

    def misidentifies(self) -> bool:
        """Whether sign-ups may match the wrong person (``misverification`` above 0)."""
        return self.params.misverification > 0.0

    def summary(self) -> list[str]:
        if self.n == 0:
            return [f"{self.name}: nobody enrolled"]
        shares = ", ".join(
            f"{g} {c / self.n:.1%}" for g, c in zip(self.grade_names, self.counts, strict=True)
        )
        mean = _mean(self.state)
        who = "" if self.everyone else f"{self.n:,} enrolled; "
        wrong = (
            f"; {self.misverified.users.size:,} misverified at sign-up (scored from someone "
            "else's records)"
            if self.misidentifies()
            else ""
        )
        return [f"{self.name}: {who}mean {mean:.1f}; {shares}{wrong}"]


class Rongcheng(PointSystem):
    """Rongcheng's credit points: 1000 base, a catalogue of deductions and additions, AAA..D."""

    name = "rongcheng_points"
    Params = RongchengParams
    description = "Rongcheng point catalogue (1000 base) and grades AAA..D"


def suining_points() -> dict[str, int]:
    """Suining 2010 deductions and additions for the acts scslab simulates."""
    return {
        # Petitioning higher authorities was scored (seed article); no source gives the value:
        # assumption, set to the largest per-item deduction reported for Suining (-50).
        "petitioning": -50,
        "loan_arrears": -30,  # each_delinquency: -10 to -50 (sources disagree); the midpoint
        # A resident lost 420 points for 14 loan non-repayments (-30 each; globalvoices.org 2010).
        "court_judgment_unpaid": -50,  # each_delinquency, upper end (assumption)
        "traffic_offence": -10,  # each_delinquency, lower end (assumption)
        "prosocial_act": 10,  # act_of_bravery: +10 (Xinhua via ribao.xyxww.com.cn 2014)
    }


def suining_grades() -> list[Grade]:
    """Suining grades A (honest) .. D (dishonest; fails political vetting).

    The names and meanings are published (calibration CSV); the cut-offs are not:
    assumption A >= 970, B >= 850, C >= 600, D below.
    """
    return [
        Grade(name="A", min_score=970),
        Grade(name="B", min_score=850),
        Grade(name="C", min_score=600),
        Grade(name="D", min_score=-30_000),
    ]


class SuiningParams(PointSystemParams):
    """Suining county's 2010 system (defaults from calibration/local_point_systems.csv)."""

    points: Points = Field(
        default_factory=suining_points,
        description="Act name -> points per record. Defaults from "
        "calibration/local_point_systems.csv: prosocial_act +10 (act_of_bravery) and loan_arrears "
        "-30 (each_delinquency, -10 to -50: the midpoint; one resident lost 420 points for 14 "
        "non-repayments). Assumptions: petitioning -50 (the seed article says it was scored, no "
        "source gives the value), court_judgment_unpaid -50 and traffic_offence -10.",
    )
    grades: list[Grade] = Field(
        default_factory=suining_grades,
        description="Grades from best to worst with their lowest score. Defaults: the names A "
        "(honest) .. D (dishonest) from calibration/local_point_systems.csv; the cut-offs A 970, "
        "B 850 and C 600 are assumptions (not published).",
    )
    floor: int | None = Field(
        default=0,
        description="Lowest possible score (assumption: a balance of points never falls below "
        "0; no source gives a floor).",
    )


class Suining(PointSystem):
    """Suining 2010: 1000 base points, deductions including petitioning, grades A..D."""

    name = "suining_points"
    Params = SuiningParams
    description = "Suining 2010 moral appraisal: 1000 base, petitioning deducted, grades A..D"


def financial_points() -> dict[str, int]:
    """A bureau-style score moves only on credit events.

    Assumption: a missed payment costs 40 points and a court judgment 120, against bands 60 to
    90 points wide.
    """
    return {
        "loan_arrears": -40,
        "loan_repaid": 10,
        "court_judgment_unpaid": -120,
        "judgment_repaid": 40,
    }


def financial_grades() -> list[Grade]:
    """Bands of a 300-850 bureau score as lenders use them (assumption)."""
    return [
        Grade(name="excellent", min_score=800),
        Grade(name="very_good", min_score=740),
        Grade(name="good", min_score=670),
        Grade(name="fair", min_score=580),
        Grade(name="poor", min_score=300),
    ]


class FinancialOnlyParams(PointSystemParams):
    """A credit bureau comparator: financial records only, 300-850."""

    base: int = Field(
        default=720, ge=0, le=30_000, description="Starting score (assumption: a clean file)."
    )
    points: Points = Field(
        default_factory=financial_points,
        description="Act name -> points per record (assumption: a missed payment costs 40 "
        "points and a court judgment 120, against middle bands 60 to 90 points wide).",
    )
    grades: list[Grade] = Field(
        default_factory=financial_grades,
        description="Grades from best to worst with their lowest score (assumption: the bands "
        "of a 300-850 bureau score as US lenders use them).",
    )
    floor: int | None = Field(
        default=300,
        description="Lowest possible score (assumption: the 300-850 range of US bureau scores).",
    )
    ceiling: int | None = Field(
        default=850,
        description="Highest possible score (assumption: the 300-850 range of US bureau scores).",
    )
    sources: list[SourceName] | None = Field(
        default=["bank", "court"], description="Only banks' and courts' records count."
    )


class FinancialOnly(PointSystem):
    """What a Western credit bureau does: a 300-850 score from financial records only."""

    name = "financial_score"
    Params = FinancialOnlyParams
    description = "comparator: 300-850 credit-bureau score from bank and court records only"


def honest_shanghai_points() -> dict[str, int]:
    """Honest Shanghai reads government records only.

    Its weights were never published (assumption: Rongcheng's acts, with a court judgment, tax
    evasion and commercial fraud weighed heavier, -100, against +20 for a good deed).
    """
    return {
        "court_judgment_unpaid": -100,
        "tax_evasion": -100,
        "commercial_fraud": -100,
        "utility_arrears": -20,
        "fare_evasion": -20,
        "traffic_offence": -10,
        "jaywalking": -5,
        "prosocial_act": 20,
    }


def honest_shanghai_grades() -> list[Grade]:
    """Ratings "very good", "good" and "bad" as the app showed them; cut-offs are assumptions."""
    return [
        Grade(name="very_good", min_score=1020),
        Grade(name="good", min_score=950),
        Grade(name="bad", min_score=-30_000),
    ]


class HonestShanghaiParams(PointSystemParams):
    """Honest Shanghai (November 2016): opt-in by ID number and face, government records only."""

    points: Points = Field(
        default_factory=honest_shanghai_points,
        description="Act name -> points per record (assumption: the weights were never "
        "published; Rongcheng's acts, calibration/local_point_systems.csv, with a court "
        "judgment, tax evasion and commercial fraud weighed heavier, -100, against +20 for a good "
        "deed).",
    )
    grades: list[Grade] = Field(
        default_factory=honest_shanghai_grades,
        description="Grades from best to worst with their lowest score: very good, good and bad "
        "as the app showed them; the cut-offs 1020 and 950 are assumptions.",
    )
    sources: list[SourceName] | None = Field(
        default=["court", "tax", "utility", "camera", "official"],
        description="Government sources only: the app searched data the government held.",
    )
    enrolment: float = Field(
        default=0.05,
        ge=0.0,
        le=1.0,
        description="Share of residents old enough (enrolment_min_age) who sign up (assumption: "
        "voluntary app; only 11% of "
        "people in pilot areas even knew of their pilot, calibration/public_opinion.csv).",
    )
    enrolment_min_age: int = Field(
        default=ID_CARD_AGE,
        ge=0,
        le=90,
        description="The youngest who may sign up: signing up takes an ID number, and ID cards "
        "are compulsory from 16 (Resident Identity Card Law, art. 2; assumption that nobody "
        "younger signs up). The person a misverified sign-up is matched to is 16 or older too "
        "(the gallery of ID-card photos).",
    )
    enrolment_failure: float = Field(
        default=0.04,
        ge=0.0,
        le=1.0,
        description="Chance that face recognition fails at sign-up: NIST's 1:N search failure "
        "rate of 2014 (0.04, calibration/face_recognition.csv) as a rough proxy.",
    )
    misverification: float = Field(
        default=0.003,
        ge=0.0,
        le=1.0,
        description="Chance that the sign-up's face search matches another resident, whose "
        "government records then score the user: 0.003, the false-positive identification rate "
        "at which NIST's 1:N evaluation reports its miss rates (FPIR, "
        "calibration/face_recognition.csv frte_1n_operating_point), as a rough proxy; the "
        "person matched is anyone else, uniformly (assumption).",
    )


class HonestShanghai(PointSystem):
    """Honest Shanghai's public credit score: opt-in by ID and face, government data only."""

    name = "honest_shanghai"
    Params = HonestShanghaiParams
    description = "Honest Shanghai 2016: opt-in by ID and face, public score from state records"


class GenericPointSystem(PointSystem):
    """A point system whose catalogue and grades are all given in the scenario."""

    name = "point_system"
    Params = PointSystemParams
    description = "any point system: base, catalogue of points per act, grades, sources, opt-in"
