"""Initial conditions of a list: who is on it on the start date, and since when (a warm start).

A list declares ``initial`` (``InitialListing``): the share of people on it on the start date and
the share ever listed by then, each a number or published figures (rows of a calibration CSV),
and how long the people on it have been listed. ``start_listed`` then gives that many people
plausible histories before day 0:

- *who*: drawn as the model makes listed people. With ``like = "debt"`` (the court list), the
  people ever listed are drawn as the debt cycle makes judgment debtors (``Debt.draw_debtors``:
  adults, more often poor and non-compliant), and those listed now in proportion to that times
  the chance that a debtor of their income has not repaid yet (``still_listed_shares``: the
  debt cycle's listed repayment hazard over the entry dates below, stepped on the day its
  ``repay_factor_from`` says, added up by ``kernels/hazard.stepped_hazard_sum`` as the debt
  cycle's draw reads it); the debt mechanism then holds them as owing an unpaid judgment, and
  they repay at the listed hazard from day 0.
  Without ``like``, anyone uniformly.
- *since when*: entry days before day 0, spread as the published cumulative series of entries
  (``since``), or uniformly over a number of days; with ``like``, given that the person has
  not repaid by day 0 (or, for those who left, that they have).
- *how*: by the list's own entry kernel, ``lists/base.apply_day``, called on each (negative)
  entry day, so that counters (size, entries, persons ever listed), the ever flag, household
  reach, the listing counter and scheduled exits are those of ordinary entries: an appeal
  decided or a listing term ending on day 0 or later is on the exits calendar; one decided
  before day 0 is not (the person is on the list on the start date, so it did not end it).
  People ever listed but not listed now enter the same way and leave on day -1.

This module owns the declaration, the arithmetic of published figures and the order of those
calls; it must not touch a list's storage (flags, the listing counter, the calendar) other than
through ``apply_day``, nor the debt mechanism's state (the debt mechanism marks its debtors).
Switched off (no ``initial``), nothing here runs.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import asdict, dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field, StrictFloat, StrictInt, model_validator

from scslab.errors import ScenarioError
from scslab.kernels.compiled_once import compiled_once
from scslab.kernels.hazard import no_step, stepped_hazard_sum
from scslab.kernels.jit import kernel
from scslab.kernels.parallel import run_threads
from scslab.kernels.rng import uniform
from scslab.kernels.sampling import DAY_ZERO, compiled_bernoulli_ids
from scslab.kernels.sorting import sorted_copy
from scslab.mechanisms.lists.base import ENTRIES, EXITS, apply_day
from scslab.mechanisms.provenance import NOT_FALSE
from scslab.parameter_tables import ParameterTable
from scslab.population.census import CHINA_POPULATION_2020

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation
    from scslab.mechanisms.lists.base import ListBase

_TERM = re.compile(r"^([a-z][a-z0-9_\-]*)(?:@(\d{4}-\d{2}-\d{2}))?$")
"""A term of a figure: ``quantity@YYYY-MM-DD`` (that row) or ``quantity`` (its series)."""


class InitialListing(ParameterTable):
    """Who is on a list on the start date (a warm start); see ``mechanisms/lists/initial.py``."""

    listed: StrictFloat | StrictInt | str = Field(
        description="People on the list on the start date: a share of all people in [0, 1], or "
        "published figures: rows of `data` added and subtracted, e.g. "
        "'persons_ever_listed@2018-12-31 - persons_complied_after_listing@2018-12-31' "
        "(quantity@date: that row; a quantity alone: its series on the start date, on the line "
        "through the two rows nearest it, and 0 where that line is below zero), divided by "
        "`population`."
    )
    ever_listed: StrictFloat | StrictInt | str | None = Field(
        default=None,
        description="People ever listed by the start date, as `listed` (at least `listed`; none: "
        "the same as `listed`). The others left before day 0 (repaid, appealed).",
    )
    data: str = Field(
        default="blacklist_court_defaulters.csv",
        description="The calibration file of data/calibration/ whose rows the figures name.",
    )
    population: StrictInt = Field(
        default=CHINA_POPULATION_2020,
        ge=1,
        le=10**10,
        description="The real population the published figures are counted in: a figure over it "
        "is a share of all simulated people, at any number of people or scale (default: China's "
        "census 2020 total, data/SOURCES.md).",
    )
    since: str | StrictInt = Field(
        default="persons_ever_listed",
        description="How long people have been listed: a quantity of `data` whose cumulative "
        "rows give the entry dates (default: the court list's ever-listed series, "
        "calibration/blacklist_court_defaulters.csv; not tilted by exits, an assumption), or a "
        "number of days over which entries are spread evenly before the start date.",
    )
    like: str | None = Field(
        default="debt",
        description="The mechanism whose debtors the listed people are (they are drawn as it "
        "makes judgment debtors, and owe; default: the debt cycle, for the court list of unpaid "
        "judgments, an assumption that its records are true); empty or none: anyone, uniformly.",
    )

    @model_validator(mode="after")
    def _check(self) -> InitialListing:
        rows = None
        for name in ("listed", "ever_listed"):
            value = getattr(self, name)
            if isinstance(value, str):
                rows = rows if rows is not None else calibration_rows(self.data)
                _parse(value, rows, name)
            elif value is not None and not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a share of people in [0, 1]")
        if isinstance(self.since, str):
            rows = rows if rows is not None else calibration_rows(self.data)
            if not any(r.quantity == self.since for r in rows):
                raise ValueError(f"since: no quantity {self.since!r} in {self.data}")
        elif self.since < 1:
            raise ValueError("since must be a quantity or a number of days, at least 1")
        numbers = isinstance(self.listed, float | int) and isinstance(self.ever_listed, float | int)
        if numbers and self.ever_listed < self.listed:
            raise ValueError("ever_listed must be at least listed")
        return self


@dataclass(frozen=True)
class Row:
    """One published figure."""

    date: dt.date
    quantity: str
    value: float


def calibration_rows(name: str) -> tuple[Row, ...]:
    """The rows of a calibration CSV of ``data/calibration``.

    Raises:
        ValueError: no such file (the message names the files there).
    """
    folder = resources.files("scslab.data").joinpath("calibration")
    files = sorted(p.name for p in folder.iterdir() if p.name.endswith(".csv"))
    if name not in files:
        raise ValueError(f"data: no calibration file {name!r}; there are {', '.join(files)}")
    text = folder.joinpath(name).read_text(encoding="utf-8")
    try:
        return tuple(
            Row(dt.date.fromisoformat(r["as_of"]), r["quantity"], float(r["value"]))
            for r in csv.DictReader(io.StringIO(text))
        )
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            f"data: {name} is not a series of dated figures (columns as_of, quantity, value)"
        ) from None


def _parse(expr: str, rows: tuple[Row, ...], name: str) -> list[tuple[int, str, dt.date | None]]:
    """The signed terms of a figure, each (sign, quantity, date or None), checked against rows."""
    tokens = expr.replace("+", " + ").replace(" - ", " -- ").split()
    terms, sign = [], 1
    expect_term = True
    for tok in tokens:
        if expect_term:
            m = _TERM.match(tok)
            if not m:
                raise ValueError(f"{name}: {tok!r} is not quantity@YYYY-MM-DD or a quantity")
            quantity, date = m.group(1), m.group(2)
            series = [r for r in rows if r.quantity == quantity]
            if not series:
                known = sorted({r.quantity for r in rows})
                raise ValueError(f"{name}: no quantity {quantity!r}; there are {', '.join(known)}")
            try:
                day = dt.date.fromisoformat(date) if date else None
            except ValueError as e:  # a day the calendar has not (2018-12-32)
                dates = ", ".join(str(r.date) for r in series)
                message = f"{name}: {tok!r}: {date} is no date ({e}); its rows: {dates}"
                raise ValueError(message) from None
            if day is not None and not any(r.date == day for r in series):
                dates = ", ".join(str(r.date) for r in series)
                raise ValueError(f"{name}: no row {quantity}@{day}; its rows: {dates}")
            if day is None and len(series) < 2:
                raise ValueError(f"{name}: {quantity} has one row; name it with @date")
            terms.append((sign, quantity, day))
            expect_term = False
        else:
            if tok not in ("+", "--"):
                raise ValueError(f"{name}: expected + or - between terms, got {tok!r}")
            sign = 1 if tok == "+" else -1
            expect_term = True
    if expect_term:
        raise ValueError(f"{name}: {expr!r} ends without a term")
    return terms


def series_on(rows: tuple[Row, ...], quantity: str, day: dt.date) -> float:
    """``quantity`` on ``day``: its row that day, else the line through the two nearest rows.

    Between two rows, the line through them; before the first or after the last, the line
    through the first two or the last two (an extrapolation). The figures are counts of people,
    never below zero: before its first row a line may fall below zero (the compliers of
    2016-12-31 and 2018-06-10 taken back to early 2016), and there it is zero.
    """
    return max(_line_on(rows, quantity, day), 0.0)


def _line_on(rows: tuple[Row, ...], quantity: str, day: dt.date) -> float:
    """``series_on`` before it is held at zero."""
    series = sorted((r.date, r.value) for r in rows if r.quantity == quantity)
    for d, v in series:
        if d == day:
            return v
    later = [i for i, (d, _) in enumerate(series) if d > day]
    i = min(max(later[0] if later else len(series), 1), len(series) - 1)
    (d0, v0), (d1, v1) = series[i - 1], series[i]
    if d1 == d0:  # two figures of one date: the later row
        return v1
    return v0 + (v1 - v0) * (day - d0).days / (d1 - d0).days


def figure(
    value: float | int | str, init: InitialListing, start: dt.date, name: str
) -> tuple[float, str]:
    """A declared figure as a share of people, and how it was worked out (for the summary)."""
    if not isinstance(value, str):
        return float(value), f"{value:g} (a share)"
    rows = calibration_rows(init.data)
    total, parts = 0.0, []
    for sign, quantity, day in _parse(value, rows, name):
        v = series_on(rows, quantity, day or start)
        total += sign * v
        at = day or f"{start}, line through its two nearest rows"
        if day is None and v == 0.0 and _line_on(rows, quantity, start) < 0.0:
            at = f"{start}, line through its two nearest rows, below zero there: none"
        parts.append(f"{'-' if sign < 0 else '+'} {quantity}@{at} = {v:,.0f}")
    text = " ".join(parts).lstrip("+ ")
    return total / init.population, f"{text}: {total:,.0f} of {init.population:,}"


def _entry_curve(init: InitialListing, start: dt.date) -> tuple[np.ndarray, np.ndarray]:
    """(days before the start, cumulative entries): the points of the entry-date distribution.

    A number of days: entries spread evenly over them. A quantity: its rows before the start
    date and its value on the start date (``series_on``), as a cumulative count; the first row's
    count entered on its date (a list opening with people on it).
    """
    if not isinstance(init.since, str):
        return np.asarray([-float(init.since), 0.0]), np.asarray([0.0, 1.0])
    rows = calibration_rows(init.data)
    points = sorted((r.date, r.value) for r in rows if r.quantity == init.since and r.date < start)
    points.append((start, series_on(rows, init.since, start)))
    days = np.asarray([float((d - start).days) for d, _ in points])
    counts = np.maximum.accumulate(np.asarray([v for _, v in points]))
    if len(points) == 1:  # no row before the start: everyone entered the day before
        days, counts = np.asarray([-1.0, 0.0]), np.asarray([1.0, 1.0])
    return days, counts


@kernel
def _curve_day(v, days, counts):
    """The day the cumulative ``counts`` reach ``v`` (linear between points)."""
    for j in range(1, days.size):
        if v <= counts[j]:
            if v > counts[j - 1]:
                return days[j - 1] + (v - counts[j - 1]) / (counts[j] - counts[j - 1]) * (
                    days[j] - days[j - 1]
                )
            return days[j - 1]
    return days[-1]


@kernel
def still_listed_shares(hazards, days, counts):
    """Per hazard, the chance that someone who entered on a day of the curve has not left.

    The mean over the curve's entry days (a fine grid of its quantiles) of
    ``exp(-hazard added up over the days listed)`` (``hazards``, a ``SteppedHazards``: the
    hazard may step on a day before the start): how much more often the people listed now are
    those who leave slowly.
    """
    grid = 4096
    before, after, step = hazards.before, hazards.after, hazards.step_day
    out = np.zeros(before.size, np.float64)
    for k in range(grid):
        age = max(-np.floor(_curve_day((k + 0.5) / grid * counts[-1], days, counts)), 1.0)
        for q in range(before.size):
            out[q] += np.exp(-stepped_hazard_sum(before[q], after[q], step, -age, age))
    return out / grid


@kernel
def entry_days(key, pids, days, counts, hazards, stay):
    """Each of ``pids``'s entry day (negative: before day 0), from the cumulative curve.

    ``counts`` rises with ``days``; a person's uniform draw picks the day its share of the last
    count is reached (linear between points; the first point's count at its day). At the latest
    day -1. A person who leaves at a daily hazard (``hazards``, a ``SteppedHazards`` of one
    item a person; 0 before and after: never) is listed now (``stay``) with chance
    ``exp(-hazard added up over the days listed)``, so their entry day is drawn given that (a
    long listing is less likely for someone who repays fast), and given the opposite for
    those who left.
    """
    out = np.empty(pids.size, np.int64)
    last = counts[-1]
    before, after, step = hazards.before, hazards.after, hazards.step_day
    for i in range(pids.size):
        day = -1
        for attempt in range(256):  # accepted within a few draws unless the chance is tiny
            t = _curve_day(uniform(key, 0, pids[i], 2 * attempt) * last, days, counts)
            day = min(np.int64(np.floor(t)), -1)
            if before[i] == 0.0 and after[i] == 0.0:
                break
            listed = np.exp(-stepped_hazard_sum(before[i], after[i], step, day, -day))
            chance = listed if stay[i] else 1.0 - listed
            if uniform(key, 0, pids[i], 2 * attempt + 1) < chance:
                break
        out[i] = day
    return out


@kernel
def _everyone_draw(key, n, share, threads):
    return compiled_bernoulli_ids(key, DAY_ZERO, n, min(max(share, 0.0), 1.0), threads)


@compiled_once
@kernel
def _without(pids, out):
    """Sorted ``pids`` not in sorted ``out``."""
    keep = np.empty(pids.size, np.bool_)
    for i in range(pids.size):
        j = np.searchsorted(out, pids[i])
        keep[i] = not (j < out.size and out[j] == pids[i])
    return pids[keep]


@kernel
def warm_start(s, pids, days, stay):
    """Enter ``pids`` on their entry ``days`` (sorted by day, then id) with ``apply_day``.

    Those not ``stay``-ing leave on day -1. Afterwards the record's ``entered`` holds, sorted,
    the people on the list before day 0 (what the first step of a reader such as the debt
    mechanism sees as "entered yesterday"), and ``exited`` and ``listed_candidates`` are empty.
    The counters of state (size, persons ever listed, household reach) keep the warm start;
    those of events (``ENTRIES``, ``EXITS``) restart at 0, so that they count the run's days as
    the metric columns and the harm audit do.
    """
    no_source = np.full(pids.size, NOT_FALSE, np.int16)
    enter = np.ones(pids.size, np.bool_)
    i = 0
    while i < pids.size:
        j = i
        while j < pids.size and days[j] == days[i]:
            j += 1
        apply_day(days[i], s, pids[i:j].copy(), enter[i:j].copy(), no_source[i:j].copy())
        i = j
    left = sorted_copy(pids[~stay])
    if left.size:
        apply_day(-1, s, left, np.zeros(left.size, np.bool_), no_source[: left.size].copy())
    s.entered = sorted_copy(pids[stay])
    s.exited = np.empty(0, np.int64)
    s.changes_day = -1  # read as the day before day 0's
    s.listed_candidates = np.empty(0, np.int64)
    s.stats[ENTRIES] = 0  # events count from day 0, as the metric columns of the days do
    s.stats[EXITS] = 0


@dataclass(frozen=True)
class WarmStart:
    """What a list's warm start did, for its summary."""

    listed: int
    ever_listed: int
    listed_share: float
    ever_share: float
    listed_from: str
    ever_from: str

    def line(self, name: str) -> str:
        """The summary's line; how each share was derived goes to the manifest (``notes``)."""
        return (
            f"{name}: warm start: {self.listed:,} listed on the start date (drawn at a share of "
            f"{self.listed_share:.4%} of people), {self.ever_listed:,} ever listed (at "
            f"{self.ever_share:.4%}); how the shares follow from the published figures: the "
            f"manifest's set_up.{name}"
        )

    def notes(self) -> dict[str, Any]:
        """The warm start for the manifest: counts, shares and how each share was derived."""
        return {"warm_start": asdict(self)}


def start_listed(lst: ListBase, sim: Simulation) -> WarmStart:
    """Put the people of ``lst.params.initial`` on ``lst`` before day 0 (see the module).

    A warm start is the list on the start date, so the list must exist then: a list with an
    ``active_from`` after the start date has nobody on it before that day, and the sanctions
    that read it would otherwise enforce members that a list not yet opened could not hold.

    Raises:
        ScenarioError: a figure that is not a share of people (over 1, under 0), ever listed
            below listed, ``like`` naming a mechanism that does not draw debtors, a list that
            starts after the start date, or entries spread over more days than the list's term.
    """
    init: InitialListing = lst.params.initial
    where = f"{sim.scenario.source}: mechanisms.{lst.name}.initial"
    start = sim.start_date
    opens = sim.first_day_of(lst.name)
    if opens > 0:
        raise ScenarioError(
            f"{where}: a warm start gives the list's members on the start date ({start}), but "
            f"{lst.name} opens on {sim.date_of(opens)} (its active_from); drop its initial, or "
            "its active_from"
        )
    listed, listed_from = figure(init.listed, init, start, "listed")
    ever, ever_from = listed, listed_from
    if init.ever_listed is not None:
        ever, ever_from = figure(init.ever_listed, init, start, "ever_listed")
    for name, share, text in (("listed", listed, listed_from), ("ever_listed", ever, ever_from)):
        if not 0.0 <= share <= 1.0:
            raise ScenarioError(f"{where}.{name}: {share:g} is not a share in [0, 1] ({text})")
    if ever < listed:
        raise ScenarioError(
            f"{where}: ever_listed ({ever:g}: {ever_from}) is below listed ({listed:g}: "
            f"{listed_from}) on the start date {start}"
        )

    n = sim.pop.n
    key_now, key_left = lst.key("initial/listed"), lst.key("initial/left")
    curve_days, counts = _entry_curve(init, start)
    term = getattr(lst.params, "repair_days", None)
    if term is not None and -curve_days[0] > term:
        raise ScenarioError(
            f"{where}.since: entries spread over {-int(curve_days[0]):,} days before the start, "
            f"but the list's term (repair_days {term}) ends every listing within {term} days, "
            f"so those who entered earlier could not be on it; give since {term} or fewer days"
        )
    if init.like:
        # read at set-up only: the list does not act on the debt cycle (Simulation.readers)
        like: Any = sim.get(init.like, key=f"{lst.name}.initial.like", reads=False)
        if not all(callable(getattr(like, f, None)) for f in ("draw_debtors", "listed_repayment")):
            raise ScenarioError(f"{where}.like: {init.like!r} does not draw debtors (debt does)")
        # ever listed: as debtors fall into arrears; listed now: those who have not repaid yet
        still = still_listed_shares(like.listed_repayment(), curve_days, counts)
        now = like.draw_debtors(key_now, listed, still)
        left = 1.0 - still if (1.0 - still).max() > 0.0 else np.ones_like(still)  # none repay
        gone = like.draw_debtors(key_left, max(ever - listed, 0.0), left)
    else:
        threads = run_threads(n)
        now = _everyone_draw(key_now, n, listed, threads)
        gone = _everyone_draw(key_left, n, max(ever - listed, 0.0), threads)
    gone = _without(gone, now)
    pids = np.concatenate((now, gone))
    stay = np.concatenate((np.ones(now.size, np.bool_), np.zeros(gone.size, np.bool_)))
    hazards = like.listed_repayment(pids) if init.like else no_step(np.zeros(pids.size))
    days = entry_days(lst.key("initial/since"), pids, curve_days, counts, hazards, stay)
    order = np.lexsort((pids, days))
    warm_start(lst.state, pids[order], days[order], stay[order])
    return WarmStart(
        listed=int(now.size),
        ever_listed=int(pids.size),
        listed_share=listed,
        ever_share=ever,
        listed_from=listed_from,
        ever_from=ever_from,
    )
