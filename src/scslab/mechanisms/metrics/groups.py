"""Who gets scored and punished: scores, grades and listings by group, and disparate impact.

This module owns the ``groups`` metrics mechanism. Every ``every_days`` days (on the first day it
runs, then every ``every_days`` days, and always on the last day of the run) it makes one pass
over the whole population and counts, for each group of five group kinds,

- ``area``: ``urban``, ``rural`` (the region's parity, see ``population.geography``);
- ``income``: ``q1`` (lowest) .. ``q5`` (highest) national income quintile;
- ``age``: ``0-17``, ``18-34``, ``35-59``, ``60+``;
- ``sex``: ``male``, ``female``;
- ``occupation``: ``student``, ``worker``, ``farmer``, ``civil_servant``, ``retired``, ``child``;

the number of people; for every enabled scoring system (any ``Scoring``) the people it scores
(``has_score``: opt-in systems score only their users), their mean score (``scores``) and, for a
point system (one with ``grade_names`` and ``mins``, thresholds as offsets from
``params.base``), the people in each grade; and for every enabled list (any ``ListBase``) the
people on it and those on it on a false record (its ``false_flag``).

Result tables (tidy, long format; counts in real-population units, i.e. times ``scale`` like the
integer columns of ``metrics.parquet``):

- ``groups.parquet``: one row per (``day``, ``group_kind``, ``group``, ``system``) with columns
  ``day``, ``date``, ``group_kind``, ``group``, ``people``, ``family`` (``"scoring"`` or
  ``"lists"``), ``system`` (the mechanism's name), ``scored`` and ``mean_score`` (scoring rows,
  the mean over the scored, null when nobody in the group is; null on list rows), ``listed`` and
  ``innocents_listed`` (list rows; null on scoring rows). A scenario with neither scores nor lists
  gets one row per group with null ``family`` and ``system``.
- ``group_grades.parquet``: one row per (``day``, ``group_kind``, ``group``, ``system``,
  ``grade``) with ``day``, ``date``, ``group_kind``, ``group``, ``system``, ``grade``,
  ``grade_rank`` (0 = best) and ``count`` (scored people in that grade). Grades get their own
  table because only point systems have them and a grade is one more key (named
  ``group_grades``, not ``grades``, to leave the plain name to a point system's own table).

A system's rows and columns are null on the days it does not run: before its first day (its
``active_from``: a point system's base score would read as earned) and after a programme's end
stopped it (its list stands still), as its own metric columns are.

Daily metric columns (the latest pass carried forward; NaN before the first pass, where a group
is empty, and where neither group compared has anyone listed):

- ``{list}_listing_ratio_rural_urban``: share of rural people listed / share of urban people listed
  (infinite where rural people are listed and no urban person is: the widest gap, not a gap too
  small to measure);
- ``{list}_listing_ratio_q1_q5``: share listed in the lowest income quintile / in the highest
  (infinite where only the lowest has anyone listed);
- ``{system}_mean_gap_rural_urban``: mean rural score minus mean urban score (scored people).

How a pass works. A person's cell (area x income x age x sex x occupation, 480 cells) is a pure
function of (seed, id), so people per cell are counted once per run, in the first pass. After
that a pass only needs the people who differ from the typical person: for each system the
typical person is scored or not as most people are and, if scored, has the commonest score (both
taken from the first 4,096 ids); everyone else, and everyone on a list, is "hit". Per chunk of
``BLOCK * max(MIN_CHUNK_BLOCKS, threads)`` ids, each scoring system's ``scores`` and
``has_score`` are called once, vectorised (a point system that keeps ``PointSystem.scores`` is
read straight from its stored offsets, and a scorer with its own ``scores_between`` by it, a
view or a narrow type where its scores are stored: see ``FAST_PATHS``); three numba kernels,
each parallel
over blocks of ``BLOCK`` ids (``prange``), then find the hits (branch-free byte loops), compute
their cells, and add them to the block's own counters. The typical people of a cell are its
people minus its hits. Block counters are added to the pass totals one block at a time in id
order, so results are identical for any thread count and chunk size: counts are integers, and
score sums are float64 sums of integer scores, exact below 2**53 (1.41 billion people x 60,000
points, the largest point-system score, is 8.5e13); non-integer scores are summed in a fixed
order (fixed blocks), so they are reproducible too.

Cost, measured on the 2-core development machine (AMD EPYC, numba 0.68, 2 threads) with the
``rongcheng`` preset (one point system with 6 grades, one list) at 10 million people for 365
days, passes every 30 days (14 passes): the pass is O(N) with a small constant plus about 20 ns
per hit. The first pass (people per cell) takes 29 ms; later passes take 4 ms while nobody's
score has moved (0.4 ns per person) and 19-21 ms on the last day, when 9.6% of people are off the
base score and 7,353 are listed (2 ns per person). The 14 passes took 0.25 s of a 1.9 s run
(about 13%; the rest of rongcheng costs 0.45 ns per person-day). A first version that
recomputed every person's cell and called ``scores`` on every id took 128 ms per pass (55% of
the run). Passes every ``every_days`` days scale the share accordingly. With several scores, as
in ``integrated_2020``, most people are hits by the year's end (the state's point system moves
half of them off its base): a pass at 10 million people on day 299 takes 214 ms on 2 threads
(the cells 79, the tally 80, the readers' rows 24, the hits 13; 259 while Sesame's scores were
gathered as ``int64`` and the dossiers' entries counted id by id), and the passes are about 15%
of that run (2026-12-07, ``benchmarks/README.md``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import numba
import numpy as np
import pyarrow as pa
from numba import prange
from pydantic import Field

from scslab.engine.mechanism import MechanismParams, Observer, Scoring
from scslab.kernels.jit import kernel
from scslab.kernels.parallel import both_builds, run_threads
from scslab.mechanisms.lists.base import ListBase
from scslab.mechanisms.scoring.points import PointSystem
from scslab.population.attributes import OCCUPATIONS, age, income_class, is_male, occupation
from scslab.population.geography import region_of

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation
    from scslab.population import Population

GROUP_KINDS: dict[str, tuple[str, ...]] = {
    "area": ("urban", "rural"),
    "income": ("q1", "q2", "q3", "q4", "q5"),
    "age": ("0-17", "18-34", "35-59", "60+"),
    "sex": ("male", "female"),
    "occupation": OCCUPATIONS,
}
"""Group kinds and their groups, in cell-axis order (a person's cell is one group of each)."""

_SHAPE = tuple(len(g) for g in GROUP_KINDS.values())
N_CELLS = math.prod(_SHAPE)
"""Cells of area x income x age x sex x occupation (480)."""

BLOCK = 1 << 16
"""People per kernel block, each with its own counters; results do not depend on it except for
the summation order of non-integer scores."""

_BYTE_INDEX = np.uint64(0x0001020304050607)
"""Multiplied by 2**(8j), has j in its top byte: finds the first set byte of a word."""

MIN_CHUNK_BLOCKS = 4
"""A chunk (people per call of ``scores`` and of the kernels) is ``max(MIN_CHUNK_BLOCKS, threads)``
blocks: enough blocks for every thread, and few enough people that a chunk's arrays can stay in
the processor's cache from the readers' copies through the three kernels that read them
(probably why fewer blocks pay: ``integrated_2020`` writes and reads about 50 bytes a person,
ids, three scores as int64 and their copies, flags; 13 MB a chunk of 4 blocks, 52 MB of 16). A
pass of ``integrated_2020`` at 100 million people (AMD EPYC, 2 threads, 2026-12-05, passes
alternated in one process): 0.94 s a pass with 16 blocks, 0.85 with 8, 0.74 with 4 and 0.75 with
2. Results do not depend on it: block totals are added to the pass totals one block at a time, in
id order."""

FAST_PATHS = True
"""Read point systems' stored offsets, and scorers with their own ``scores_between`` by it,
instead of calling ``scores`` on every id (same values)."""


class GroupsParams(MechanismParams):
    """How often to count."""

    every_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="Days between passes over the population (assumption: monthly, the cadence "
        "of a statistical bulletin; each pass costs one read of every person). The last day of "
        "the run is always counted.",
    )


@kernel(inline="always")
def _grade_of(thresholds, s, k, v):
    """System ``s``'s grade of ``v``: the first ``g`` with ``v >= thresholds[s, g]``, else k - 1."""
    for g in range(k - 1):
        if v >= thresholds[s, g]:
            return g
    return k - 1


class CellKeys(NamedTuple):
    """What a person's cell is computed from, by name at both ends."""

    bounds: np.ndarray
    """The regions' first ids (urban or rural)."""
    households: np.ndarray
    """The households' byte per person."""
    age_table: np.ndarray
    """Who of a household is a child, by its size (``Population.age_table``)."""
    age: np.uint64
    sex: np.uint64
    income: np.uint64
    occupation: np.uint64

    @classmethod
    def of(cls, pop: Population) -> CellKeys:
        """A population's: its regions, households, age table and attribute keys."""
        keys = pop.keys
        return cls(
            bounds=pop.geography.bounds,
            households=pop.households,
            age_table=pop.age_table,
            age=keys.age,
            sex=keys.sex,
            income=keys.income,
            occupation=keys.occupation,
        )


@kernel
def _cells_of(geo, first, found, rural, years, cells):
    """Into ``cells``: the cells of ids ``first + found``, all in one area (``rural``: 1 if rural).

    A cell is area x income x age band x sex x occupation (``GROUP_KINDS`` order); ``geo`` is a
    ``CellKeys``, ``years`` room for ``found.size`` ages and ``cells`` (``int32``) for as many
    cells. One attribute a loop, over arrays that start where the loop does: each loop is short
    enough for the processor to run many people's hashes side by side, where one loop of all
    four ran about one person at a time (20.8-21.9 against 36-38 ns a person, one thread,
    2026-12-07; the same loops indexed from an offset were no faster than one loop).
    """
    households, table = geo.households, geo.age_table
    age_key, sex_key, income_key, occ_key = geo.age, geo.sex, geo.income, geo.occupation
    urban = rural == 0
    m = found.size
    for j in range(m):
        pid = first + found[j]
        years[j] = age(age_key, pid, households[pid], table)
    for j in range(m):
        y = years[j]
        band = np.int64(y >= 18) + np.int64(y >= 35) + np.int64(y >= 60)
        cells[j] = (rural * 5 + income_class(income_key, first + found[j], urban)) * 4 + band
    for j in range(m):
        cells[j] = cells[j] * 2 + (0 if is_male(sex_key, first + found[j]) else 1)
    for j in range(m):
        job = occupation(occ_key, first + found[j], years[j], urban)
        cells[j] = cells[j] * 6 + job


class Tally(NamedTuple):
    """``_tally``'s counts per block, by name at both ends (see ``_tally``)."""

    moved: np.ndarray
    scored: np.ndarray
    sums: np.ndarray
    grades: np.ndarray
    listed: np.ndarray


def _cell_people(first, n, block, geo):
    """People per cell among ``first .. first + n - 1``, one row of counters per block.

    ``geo`` is a ``CellKeys``.
    """
    bounds = geo.bounds
    n_blocks = (n + block - 1) // block
    people = np.zeros((n_blocks, N_CELLS), np.int64)
    cells = np.empty(n, np.int32)
    everyone = np.arange(n, dtype=np.int32)  # everyone's position, for ``_cells_of``
    for b in prange(n_blocks):
        lo = b * block
        hi = min(n, lo + block)
        years = np.empty(hi - lo, np.int16)
        r = region_of(bounds, first + lo)  # one region at a time: the area is constant
        pos = lo
        while pos < hi:
            end = min(hi, bounds[r + 1] - first)
            _cells_of(geo, first, everyone[pos:end], r % 2, years[: end - pos], cells[pos:end])
            pos = end
            r += 1
        for i in range(lo, hi):
            people[b, cells[i]] += 1
    return people


_cell_people = both_builds(_cell_people)


def _hits(n, block, scores, scored, ref, ref_scored, listed_bytes, listed_masks):
    """Positions ``0 .. n - 1`` of the people who are not typical or are listed, per block.

    ``scores[s, i]`` is system ``s``'s score of the chunk's ``i``-th person and ``scored[s, i]``
    (0 or 1) whether the person has one. A person is typical for ``s`` when they are scored as
    most people are (``ref_scored[s]``) and, if scored, have the score most people have
    (``ref[s]``). ``listed_bytes[l, i] & listed_masks[l]`` says whether they are on list ``l``.
    Block ``b``'s positions are ``found[b * block : b * block + counts[b]]``.
    """
    n_blocks = (n + block - 1) // block
    found = np.empty(n, np.int32)  # positions in the chunk (a chunk is far below 2**31 ids)
    counts = np.zeros(n_blocks, np.int64)
    for b in prange(n_blocks):
        lo = b * block
        hi = min(n, lo + block)
        size = hi - lo
        # Branch-free loops over contiguous rows, which vectorise; padded to whole 8-byte words.
        hit = np.zeros((size + 7) // 8 * 8, np.uint8)
        for s in range(scores.shape[0]):
            row = scores[s, lo:hi]
            has = scored[s, lo:hi]
            base = ref[s]
            usual = ref_scored[s]
            for j in range(size):
                hit[j] |= np.uint8(has[j] != usual) | (has[j] & np.uint8(row[j] != base))
        for li in range(listed_bytes.shape[0]):
            row = listed_bytes[li, lo:hi]
            mask = listed_masks[li]
            for j in range(size):
                hit[j] |= np.uint8((row[j] & mask) != 0)  # 0 or 1: counted below
        # Compact the hits eight people (one word) at a time: each 0/1 byte is one bit of the
        # (little-endian) word, and its lowest set bit 2**(8j) times _BYTE_INDEX has j on top.
        words = hit.view(np.uint64)
        k = 0
        for w in range(words.size):
            x = words[w]
            while x != 0:
                low = x & (~x + np.uint64(1))
                found[lo + k] = lo + 8 * w + np.int64((low * _BYTE_INDEX) >> np.uint64(56))
                k += 1
                x ^= low
        counts[b] = k
    return found, counts


_hits = both_builds(_hits)


def _cells_at(first, found, counts, block, geo):
    """The cells of the people at ``_hits``'s positions (ids ``first + found``; ``geo``: keys)."""
    bounds = geo.bounds
    cells = np.empty(found.size, np.int32)
    for b in prange(counts.size):
        lo = b * block
        stop = lo + counts[b]
        if stop == lo:
            continue
        years = np.empty(stop - lo, np.int16)
        reg = region_of(bounds, first + found[lo])  # one region at a time: the area is constant
        pos = lo
        while pos < stop:
            end = pos
            while end < stop and first + found[end] < bounds[reg + 1]:
                end += 1
            _cells_of(geo, first, found[pos:end], reg % 2, years[: end - pos], cells[pos:end])
            pos = end
            reg += 1
    return cells


_cells_at = both_builds(_cells_at)


def _tally(
    found,
    counts,
    cells,
    block,
    scores,
    scored,
    ref,
    ref_scored,
    thresholds,
    n_grades,
    listed_bytes,
    listed_masks,
    false_bytes,
    false_masks,
):
    """Per-block counters of the people found by ``_hits`` (a person's cell is ``cells[f]``).

    Returns, each per block, system or list, and cell: (people not typical, scored people among
    them, the sum of their scores, their grade counts, [listed, listed on a false record]). A
    score's grade is ``_grade_of(thresholds, s, n_grades[s], score)`` (0 grades: none).
    """
    n_blocks = counts.size
    n_s = scores.shape[0]
    n_l = listed_bytes.shape[0]
    moved = np.zeros((n_blocks, n_s, N_CELLS), np.int64)
    n_scored = np.zeros((n_blocks, n_s, N_CELLS), np.int64)
    sums = np.zeros((n_blocks, n_s, N_CELLS), np.float64)
    grades = np.zeros((n_blocks, n_s, thresholds.shape[1], N_CELLS), np.int64)
    listed = np.zeros((n_blocks, n_l, 2, N_CELLS), np.int64)
    for b in prange(n_blocks):
        lo = b * block
        for f in range(lo, lo + counts[b]):
            i = found[f]
            c = cells[f]
            for s in range(n_s):
                has = scored[s, i]
                v = scores[s, i]
                if has == ref_scored[s] and (has == 0 or v == ref[s]):
                    continue
                moved[b, s, c] += 1
                if has:
                    n_scored[b, s, c] += 1
                    sums[b, s, c] += v
                    if n_grades[s] > 0:
                        grades[b, s, _grade_of(thresholds, s, n_grades[s], v), c] += 1
            for li in range(n_l):
                if listed_bytes[li, i] & listed_masks[li]:
                    listed[b, li, 0, c] += 1
                    if false_bytes[li, i] & false_masks[li]:
                        listed[b, li, 1, c] += 1
    return Tally(moved=moved, scored=n_scored, sums=sums, grades=grades, listed=listed)


_tally = both_builds(_tally)


class _Ids:
    """The ids ``first .. stop - 1`` of a chunk, as an array made on first use.

    ``room``, if given, is an array of ``0 .. len - 1`` to make it from, into ``room``'s second
    row: a pass fills one buffer a chunk instead of a fresh array, whose pages the system would
    hand over (and zero) again each time (a fresh ``np.arange`` a chunk took 17 of a pass's 311
    ms at 10 million people). A reader must not keep it: the next chunk overwrites it.
    """

    def __init__(self, first: int, stop: int, room: np.ndarray | None = None) -> None:
        self.first, self.stop = first, stop
        self._room = room
        self._array: np.ndarray | None = None

    @property
    def array(self) -> np.ndarray:
        if self._array is None:
            size = self.stop - self.first
            if self._room is None or self._room.shape[1] < size:
                self._array = np.arange(self.first, self.stop, dtype=np.int64)
            else:
                self._array = np.add(self._room[0, :size], self.first, out=self._room[1, :size])
        return self._array


class _Reader(NamedTuple):
    """How to read one scoring system: scores minus ``shift``, and who is scored (None: all)."""

    scores: Callable[[_Ids, int], np.ndarray]
    scored: Callable[[_Ids], np.ndarray | None]
    shift: float


def _reader(m: Scoring) -> _Reader:
    """The generic reader (``scores`` and ``has_score``), or a fast path.

    A point system that keeps ``PointSystem.scores`` is read straight from its stored offsets
    (score = base + offset, exactly what ``PointSystem.scores`` returns), a view without copies;
    a scorer with its own ``scores_between`` (a commercial score's stored scores, the dang'an's
    entries) is read by it, a run of ids at a time, without the ids. ``FAST_PATHS = False``
    switches both off.
    """
    if FAST_PATHS and isinstance(m, PointSystem) and type(m).scores is PointSystem.scores:
        offset = m.offset
        everyone = bool(getattr(m, "everyone", False))
        return _Reader(
            scores=lambda ids, day: offset[ids.first : ids.stop],
            scored=lambda ids: None if everyone else np.asarray(m.has_score(ids.array)),
            shift=float(m.params.base),
        )
    if FAST_PATHS and type(m).scores_between is not Scoring.scores_between:
        return _Reader(
            scores=lambda ids, day: m.scores_between(ids.first, ids.stop, day),
            scored=lambda ids: m.scored_between(ids.first, ids.stop),
            shift=0.0,
        )
    return _Reader(
        scores=lambda ids, day: np.asarray(m.scores(ids.array, day)),
        scored=lambda ids: np.asarray(m.has_score(ids.array)),
        shift=0.0,
    )


def _as_flags(has: np.ndarray | None, size: int) -> np.ndarray:
    """Who is scored as 0/1 bytes (a view for booleans; ones when everyone is)."""
    if has is None:
        return np.ones(size, np.uint8)
    has = np.asarray(has)
    return has.view(np.uint8) if has.dtype == np.bool_ else (has != 0).view(np.uint8)


class _Rows:
    """Arrays of equal length as the rows of one 2-D array, in a buffer kept for a whole pass.

    One array is a view of itself (no copy). Several are copied into the first ``size`` columns
    of a buffer of ``width`` columns, made on first use with the arrays' common type (the type
    ``np.stack`` would give): a pass over a billion people fills it a thousand times instead of
    allocating and converting a fresh array each time. Columns past ``size`` are left over from
    an earlier chunk; the kernels read the first ``size`` only.
    """

    def __init__(self, width: int) -> None:
        self.width = width
        self._buffer: np.ndarray | None = None

    def of(self, arrays: list[np.ndarray], size: int) -> np.ndarray:
        if len(arrays) == 1:
            return arrays[0][None, :]
        if not arrays:
            return np.zeros((0, size), np.uint8)
        kind = np.result_type(*arrays)
        if self._buffer is None or self._buffer.dtype != kind:
            self._buffer = np.empty((len(arrays), self.width), kind)
        for row, array in zip(self._buffer, arrays, strict=True):
            row[:size] = array
        return self._buffer


def _marginals(cells: np.ndarray) -> dict[str, np.ndarray]:
    """Group totals of each group kind from per-cell totals (cells on the last axis)."""
    shaped = cells.reshape(*cells.shape[:-1], *_SHAPE)
    lead = cells.ndim - 1
    out = {}
    for k, kind in enumerate(GROUP_KINDS):
        others = tuple(lead + j for j in range(len(_SHAPE)) if j != k)
        out[kind] = shaped.sum(axis=others)
    return out


def _ratio(num: float, num_people: float, den: float, den_people: float) -> float:
    """(num / num_people) / (den / den_people).

    Infinite where only the first group has anyone listed; NaN where a group is empty or neither
    has anyone listed (nothing to compare).
    """
    if num_people <= 0 or den_people <= 0:
        return math.nan
    if den <= 0:
        return math.inf if num > 0 else math.nan
    return (num / num_people) / (den / den_people)


def _grading(scorer: Scoring) -> tuple[list[str], np.ndarray]:
    """Grade names and score thresholds of a point system (empty for a plain score)."""
    names = getattr(scorer, "grade_names", None)
    mins = getattr(scorer, "mins", None)
    if names is None or mins is None:
        return [], np.empty(0, np.float64)
    base = getattr(scorer.params, "base", 0)
    return list(names), np.asarray(mins, np.float64) + base


_LIST_COLUMNS = ("_listing_ratio_rural_urban", "_listing_ratio_q1_q5")
"""A list's daily columns, after its name."""
_SCORE_COLUMNS = ("_mean_gap_rural_urban",)
"""A score's daily columns, after its name."""


class Groups(Observer):
    """Scores, grades and listings by area, income, age, sex and occupation; disparate impact."""

    name = "groups"
    Params = GroupsParams
    description = (
        "who gets scored and listed: people, mean scores, grades and listings by area, income, "
        "age, sex and occupation; rural/urban and q1/q5 listing ratios"
    )
    params: GroupsParams
    carried = ("next_pass", "passes", "pass_s", "latest", "_rows", "_grade_rows")
    """What a checkpoint keeps; ``cell_people`` (static) is counted again, and ``totals`` is the
    last pass's totals, for a caller of ``count`` only."""

    def init(self, sim: Simulation) -> None:
        self.sim = sim
        self.scale = sim.scenario.meta.scale
        self.last_day = sim.days - 1
        self.scorers = [m for m in sim.mechanisms.values() if isinstance(m, Scoring)]
        self.lists = [m for m in sim.mechanisms.values() if isinstance(m, ListBase)]
        gradings = [_grading(m) for m in self.scorers]
        self.grade_names = [names for names, _ in gradings]
        k_max = max([len(names) for names in self.grade_names], default=0)
        self.thresholds = np.zeros((len(self.scorers), k_max), np.float64)
        self.n_grades = np.zeros(len(self.scorers), np.int64)
        for s, (names, thr) in enumerate(gradings):
            self.thresholds[s, : len(names)] = thr
            self.n_grades[s] = len(names)
        self.next_pass: int | None = None
        self.passes = 0
        self.pass_s = 0.0
        self._columns_of = {
            **{lst.name: [f"{lst.name}{suffix}" for suffix in _LIST_COLUMNS] for lst in self.lists},
            **{m.name: [f"{m.name}{suffix}" for suffix in _SCORE_COLUMNS] for m in self.scorers},
        }
        """Each list's and score's own daily columns (NaN on the days it does not run)."""
        self._spans = {
            name: (sim.first_day_of(name), sim.plan_position(name)) for name in self._columns_of
        }
        """Each list's and score's first day and plan row (whose ``last_days`` entry a
        programme's end lowers), looked up once: ``_running`` is asked every day."""
        self.latest: dict[str, float | int] = {
            column: math.nan for columns in self._columns_of.values() for column in columns
        }
        self.totals: dict[str, Any] = {}
        self.cell_people: np.ndarray | None = None
        self._rows: dict[str, list[Any]] = {c: [] for c in _GROUP_COLUMNS}
        self._grade_rows: dict[str, list[Any]] = {c: [] for c in _GRADE_COLUMNS}

    def observes(self, day: int) -> bool:
        return self.next_pass is None or day >= self.next_pass or day == self.last_day

    def step(self, sim: Simulation, day: int) -> None:
        if self.observes(day):
            t0 = time.perf_counter()
            self.count(day)
            self.next_pass = day + self.params.every_days
            self.passes += 1
            self.pass_s += time.perf_counter() - t0

    def count(self, day: int) -> dict[str, Any]:
        """One pass over the population on ``day``: per-cell totals, then rows and metrics.

        Returns the group totals by kind (also kept as ``self.totals``): ``people[kind]``
        (group), ``scored[kind]`` and ``sums[kind]`` (system x group), ``grades[kind]`` (system x
        grade x group) and ``listed[kind]`` (list x [listed, on a false record] x group), in
        simulated people.
        """
        pop = self.sim.pop
        n_s, n_l = len(self.scorers), len(self.lists)
        chunk = BLOCK * max(MIN_CHUNK_BLOCKS, numba.get_num_threads())
        threads = run_threads(pop.n)  # the passes' builds: one thread below a million people
        geo = CellKeys.of(pop)
        if self.cell_people is None:  # static attributes: counted once per run
            self.cell_people = np.zeros(N_CELLS, np.int64)
            for first in range(0, pop.n, chunk):
                size = min(chunk, pop.n - first)
                for row in _cell_people(threads, size, first, size, BLOCK, geo):
                    self.cell_people += row
        people = self.cell_people
        readers = [_reader(m) for m in self.scorers]
        shift = np.asarray([r.shift for r in readers], np.float64)
        # The typical person of each system, from the first ids: scored or not, and the score.
        ref = np.zeros(n_s, np.float64)
        ref_scored = np.zeros(n_s, np.uint8)
        sample = _Ids(0, min(pop.n, 4096))
        for s, r in enumerate(readers):
            has = _as_flags(r.scored(sample), sample.stop).astype(np.bool_)
            ref_scored[s] = 2 * np.count_nonzero(has) >= has.size
            values, counts = np.unique(r.scores(sample, day)[has], return_counts=True)
            ref[s] = values[np.argmax(counts)] if values.size else 0
        thresholds = self.thresholds - shift[:, None]
        moved = np.zeros((n_s, N_CELLS), np.int64)
        scored = np.zeros((n_s, N_CELLS), np.int64)
        sums = np.zeros((n_s, N_CELLS), np.float64)
        grades = np.zeros((n_s, self.thresholds.shape[1], N_CELLS), np.int64)
        listed = np.zeros((n_l, 2, N_CELLS), np.int64)
        listed_masks = np.asarray([lst.flag.mask for lst in self.lists], np.uint8)
        false_masks = np.asarray([lst.false_flag.mask for lst in self.lists], np.uint8)
        shared = all(lst.false_flag.array is lst.flag.array for lst in self.lists)
        score_rows, scored_rows, flag_rows, false_rows = (_Rows(chunk) for _ in range(4))
        id_room = np.empty((2, min(chunk, pop.n)), np.int64)
        id_room[0] = np.arange(id_room.shape[1])
        for first in range(0, pop.n if n_s + n_l else 0, chunk):
            ids = _Ids(first, min(pop.n, first + chunk), id_room)
            size = ids.stop - first
            scores = score_rows.of([r.scores(ids, day) for r in readers], size)
            has = scored_rows.of([_as_flags(r.scored(ids), size) for r in readers], size)
            kref = ref.astype(scores.dtype)  # exact: the reference is one of the scores
            flags = flag_rows.of([lst.flag.array[first : ids.stop] for lst in self.lists], size)
            false_flags = (
                flags
                if shared
                else false_rows.of(
                    [lst.false_flag.array[first : ids.stop] for lst in self.lists], size
                )
            )
            hits = (size, BLOCK, scores, has, kref, ref_scored, flags, listed_masks)
            found, counts = _hits(threads, size, *hits)
            cells = _cells_at(threads, found.size, first, found, counts, BLOCK, geo)
            parts = _tally(
                threads,
                found.size,
                found,
                counts,
                cells,
                BLOCK,
                scores,
                has,
                kref,
                ref_scored,
                thresholds,
                self.n_grades,
                flags,
                listed_masks,
                false_flags,
                false_masks,
            )
            for b in range(counts.size):  # in id order, whatever the chunk size
                moved += parts.moved[b]
                scored += parts.scored[b]
                sums += parts.sums[b]
                grades += parts.grades[b]
                listed += parts.listed[b]
        # Everyone else is typical: scored or not as most people are, with the usual score.
        for s in range(n_s):
            if ref_scored[s]:
                typical = people - moved[s]
                scored[s] += typical
                sums[s] += ref[s] * typical
                if self.n_grades[s] > 0:
                    grades[s, _grade_of(thresholds, s, self.n_grades[s], ref[s])] += typical
        sums += shift[:, None] * scored  # back from the readers' units to scores
        self.totals = {
            "people": _marginals(people),
            "scored": _marginals(scored),
            "sums": _marginals(sums),
            "grades": _marginals(grades),
            "listed": _marginals(listed),
        }
        self._record(day)
        return self.totals

    def _record(self, day: int) -> None:
        """Append this pass's rows and update the carried-forward metric columns."""
        t, k = self.totals, self.scale
        date = self.sim.date_of(day).isoformat()
        rows, grade_rows = self._rows, self._grade_rows
        scoring = [self._running(m.name, day) for m in self.scorers]
        listing = [self._running(lst.name, day) for lst in self.lists]
        for kind, names in GROUP_KINDS.items():
            ppl = t["people"][kind]
            for gi, group in enumerate(names):
                n = int(ppl[gi])
                subjects: list[tuple[Any, ...]] = []
                for s, m in enumerate(self.scorers):
                    if not scoring[s]:
                        subjects.append(("scoring", m.name, None, None, None, None))
                        continue
                    n_scored = int(t["scored"][kind][s, gi])
                    mean = float(t["sums"][kind][s, gi]) / n_scored if n_scored else None
                    subjects.append(("scoring", m.name, n_scored * k, mean, None, None))
                for li, lst in enumerate(self.lists):
                    if not listing[li]:
                        subjects.append(("lists", lst.name, None, None, None, None))
                        continue
                    lc = t["listed"][kind][li, :, gi]
                    subjects.append(("lists", lst.name, None, None, int(lc[0]) * k, int(lc[1]) * k))
                if not subjects:
                    subjects.append((None, None, None, None, None, None))
                for subject in subjects:
                    for col, v in zip(
                        _GROUP_COLUMNS, (day, date, kind, group, n * k, *subject), strict=True
                    ):
                        rows[col].append(v)
                for s, m in enumerate(self.scorers):
                    for rank, grade in enumerate(self.grade_names[s]):
                        count = int(t["grades"][kind][s, rank, gi]) * k if scoring[s] else None
                        for col, v in zip(
                            _GRADE_COLUMNS,
                            (day, date, kind, group, m.name, grade, rank, count),
                            strict=True,
                        ):
                            grade_rows[col].append(v)
        area, income = t["people"]["area"], t["people"]["income"]
        for li, lst in enumerate(self.lists):
            la, lq = t["listed"]["area"][li, 0], t["listed"]["income"][li, 0]
            on = listing[li]
            self.latest[f"{lst.name}_listing_ratio_rural_urban"] = (
                _ratio(la[1], area[1], la[0], area[0]) if on else math.nan
            )
            self.latest[f"{lst.name}_listing_ratio_q1_q5"] = (
                _ratio(lq[0], income[0], lq[4], income[4]) if on else math.nan
            )
        for s, m in enumerate(self.scorers):
            sa, na = t["sums"]["area"][s], t["scored"]["area"][s]
            both = scoring[s] and na[0] > 0 and na[1] > 0
            gap = sa[1] / na[1] - sa[0] / na[0] if both else math.nan
            self.latest[f"{m.name}_mean_gap_rural_urban"] = float(gap)

    def _running(self, name: str, day: int) -> bool:
        """Whether mechanism ``name`` runs on ``day``, from its first day to its last.

        Its first: its ``active_from``; its last: a programme's end stops it. Its groups are
        null outside those days, as its own metric columns are: before, a point system's base
        score reads as earned; after, a list stands still.
        """
        first, position = self._spans[name]
        return first <= day <= self.sim.last_days[position]

    def metrics(self, day: int) -> dict[str, float | int]:
        """The latest pass's columns, NaN for a list or score not running today.

        A ratio carried from a pass before a programme's end stopped its list would outlast the
        list's own null columns.
        """
        out = dict(self.latest)
        for system, columns in self._columns_of.items():
            if not self._running(system, day):
                out.update(dict.fromkeys(columns, math.nan))
        return out

    @property
    def metric_columns(self) -> tuple[str, ...]:
        """The daily columns it reports (``metrics``), known once it is set up."""
        return tuple(self.latest)

    def tables(self) -> dict[str, pa.Table]:
        return {
            "groups": pa.table(self._rows, schema=_GROUP_SCHEMA),
            "group_grades": pa.table(self._grade_rows, schema=_GRADE_SCHEMA),
        }

    def summary(self) -> list[str]:
        if not self.passes:
            return []
        parts = []
        last = self.sim.days - 1
        for lst in self.lists:
            ru = self.latest[f"{lst.name}_listing_ratio_rural_urban"]
            q = self.latest[f"{lst.name}_listing_ratio_q1_q5"]
            if not self._running(lst.name, last):  # its last pass had no list to count
                parts.append(f"{lst.name} listing rates: none (not running at the end)")
                continue
            if ru != ru and q != q:  # nobody listed in either group of both pairs: no ratio
                parts.append(f"{lst.name} listing rates: too few listed to compare")
                continue
            ratios = f"rural/urban {_ratio_text(ru, 'urban')}, q1/q5 {_ratio_text(q, 'in q5')}"
            parts.append(f"{lst.name} listing rate {ratios}")
        for m in self.scorers:
            gap = self.latest[f"{m.name}_mean_gap_rural_urban"]
            text = f"{gap:+.2f}" if gap == gap else "none (not running, or nobody scored)"
            parts.append(f"{m.name} mean rural - urban {text}")
        head = f"groups: {self.passes} passes ({self.pass_s:.2f} s)"
        return [head + ("; " + "; ".join(parts) if parts else "")]


def _ratio_text(value: float, second: str) -> str:
    """A listing ratio for the summary, with its two cases without a number in words.

    ``second`` names the denominator's group as the words "nobody ... listed" take it.
    """
    if value != value:
        return "none (nobody listed in either group)"
    if value == math.inf:
        return f"inf (nobody {second} listed)"
    return f"{value:.2f}"


_GROUP_SCHEMA = pa.schema(
    [
        ("day", pa.int64()),
        ("date", pa.string()),
        ("group_kind", pa.string()),
        ("group", pa.string()),
        ("people", pa.int64()),
        ("family", pa.string()),
        ("system", pa.string()),
        ("scored", pa.int64()),
        ("mean_score", pa.float64()),
        ("listed", pa.int64()),
        ("innocents_listed", pa.int64()),
    ]
)
_GROUP_COLUMNS = tuple(_GROUP_SCHEMA.names)

_GRADE_SCHEMA = pa.schema(
    [
        ("day", pa.int64()),
        ("date", pa.string()),
        ("group_kind", pa.string()),
        ("group", pa.string()),
        ("system", pa.string()),
        ("grade", pa.string()),
        ("grade_rank", pa.int64()),
        ("count", pa.int64()),
    ]
)
_GRADE_COLUMNS = tuple(_GRADE_SCHEMA.names)
