"""The engine: builds the population and the mechanisms, and runs the daily phase plan.

Owns the set-up (population, burn-in, mechanisms, the choice of engine) and the Python loop; the
compiled day plan (``compiled_plan.py``), the burn-in (``burn_in.py``) and checkpoints
(``checkpoint.py``) live beside it. It knows nothing about any particular mechanism: it runs the
enabled mechanisms in plan order (family order from ``FAMILIES``, then file order), times each call,
and collects each day's metric columns. New mechanisms never require editing this file.

It imports no concrete mechanism and no scenario module (layers import downward only; see
``tests/test_layers.py``): it takes a scenario by its shape, ``ScenarioLike``, which
``scenario.Scenario`` has, and finds mechanism classes in the registry that defining them fills
(``scenario`` imports ``scslab.mechanisms`` to register them all).
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np

from scslab.engine.board import Board
from scslab.engine.burn_in import BurnInScenario, burn_in_scenario, hand_over
from scslab.engine.compile_ahead import CompileHelpers
from scslab.engine.compiled_plan import CompiledPlan
from scslab.engine.mechanism import (
    FAMILIES,
    Behaviour,
    Ending,
    Mechanism,
    MechanismParams,
    Observer,
    Scoring,
    mechanism_class,
)
from scslab.engine.steps import (
    CompiledSteps,
    check_ready,
    compiled_state_of,
    daily_kernels,
    state_made_at_init,
)
from scslab.errors import ScenarioError
from scslab.kernels.memory import keep_freed_memory
from scslab.population import Population, PopulationParams
from scslab.population.state import StateRegistry

M = TypeVar("M", bound=Mechanism)

_consume = deque(maxlen=0).extend
"""Run an iterator for its effects, in C (appending a day's metrics column by column)."""


class RunMeta(Protocol):
    """What the engine reads of a scenario's ``[scenario]`` table (``scenario.ScenarioMeta``)."""

    @property
    def people(self) -> int:
        """Simulated people."""

    @property
    def days(self) -> int:
        """Simulated days."""

    @property
    def seed(self) -> int:
        """Seed of every random stream."""

    @property
    def start_date(self) -> dt.date:
        """Calendar date of day 0."""

    @property
    def scale(self) -> int:
        """Real people each simulated person stands for."""

    @property
    def burn_in_days(self) -> int:
        """Days of history before day 0 that scores start from (``engine/burn_in.py``)."""


class ScenarioLike(Protocol):
    """What the engine reads of a validated scenario (``scenario.Scenario`` has this shape)."""

    @property
    def meta(self) -> RunMeta:
        """The ``[scenario]`` table."""

    @property
    def population(self) -> PopulationParams:
        """The ``[population]`` table."""

    @property
    def mechanisms(self) -> Mapping[str, MechanismParams]:
        """Each mechanism table's parameters, in file order."""

    @property
    def source(self) -> str:
        """Where the scenario came from, for error messages."""

    def resolved(self) -> dict[str, Any]:
        """The full scenario as plain data, every default filled in (for manifests)."""


@dataclass
class PlanRow:
    """One step of the daily plan."""

    order: int
    family: str
    mechanism: str
    description: str
    seconds: float = 0.0
    """Time spent in the mechanism so far: its daily steps and its daily metrics (a network
    measure or a count may be most of a mechanism's day)."""
    first_day: int = 0
    """The mechanism steps from this day on (its ``active_from`` date)."""


def _check_scenario(scenario: object, who: str) -> None:
    """Refuse, in one line, what is not a scenario (a name, a path, None) given to ``who``.

    Raises:
        TypeError: what it was, and how to get a scenario.
    """
    if not hasattr(scenario, "meta") or not hasattr(scenario, "mechanisms"):
        raise TypeError(
            f"{who} takes a Scenario, not {type(scenario).__name__}: "
            "scslab.load_scenario(name or path), or scslab.run(name) to run one"
        )


def plan_of(scenario: ScenarioLike) -> list[PlanRow]:
    """The daily phase plan of a scenario (enabled mechanisms in execution order).

    Raises:
        TypeError: ``scenario`` is not a scenario (one line).
    """
    _check_scenario(scenario, "plan_of")
    classes = {n: mechanism_class(n, p) for n, p in scenario.mechanisms.items() if p.enabled}
    names = sorted(classes, key=lambda n: FAMILIES.index(classes[n].family))  # stable: file order
    start = scenario.meta.start_date
    rows = []
    for i, n in enumerate(names, 1):
        since = scenario.mechanisms[n].active_from
        first = max(0, (since - start).days) if since is not None else 0
        rows.append(PlanRow(i, classes[n].family, n, classes[n].description, first_day=first))
    return rows


NEVER_STOPS = np.iinfo(np.int64).max
"""The ``last_days`` entry of a mechanism that nothing has stopped."""


COMPILED_CHUNKS = 100
"""A run with a progress callback calls the compiled plan in about this many chunks of days."""


def declare_all(mechanisms: Iterable[Mechanism], pop: Population, source: str) -> None:
    """Let each mechanism declare its per-person state, in plan order.

    A mechanism refusing the scenario there (a second table of a mechanism a scenario has once)
    raises ``ScenarioError`` without knowing the file: its message gets ``source`` in front,
    like every other refusal.
    """
    for m in mechanisms:
        try:
            before = set(pop.state.arrays)
            m.declare(pop)
            pop.state.owners.update((name, m.name) for name in set(pop.state.arrays) - before)
        except ScenarioError as err:
            message = str(err)
            if message.startswith(f"{source}: "):
                raise
            raise ScenarioError(f"{source}: {message}") from None


def run_burn_in(
    burn_in: BurnInScenario, pop: Population, compiled: bool | None
) -> dict[str, dict[str, Any]]:
    """Run ``burn_in`` on the people of ``pop``; hand its scorers' arrays to ``pop`` to adopt.

    The burn-in has its own state (a registry of its own), and only the per-person arrays its
    scorers declared outlive it: ``pop``'s mechanisms adopt them as they declare theirs, so at
    China's scale the burn-in never holds its state beside the run's. Returns each scorer's
    ``history()`` (``engine/burn_in.py``).
    """
    people = copy.copy(pop)
    people.state = StateRegistry(pop.n)  # the same people, their own state
    twin = Simulation(
        burn_in,
        compiled=False if compiled is False else None,
        people=people,
        from_day=burn_in.meta.first_day,
    )
    twin.run()
    scorers = {n: m for n, m in twin.mechanisms.items() if isinstance(m, Scoring)}
    pop.state.adopt(people.state.arrays_of(scorers))
    return {n: m.history() for n, m in scorers.items()}


class Simulation:
    """One scenario, ready to run day by day.

    ``compiled=True`` runs days in the compiled day plan (``engine/compiled_plan.py``), compiling
    it and the mechanisms' kernels if needed, and refuses a scenario with a mechanism that has no
    compiled kernels; ``compiled=False`` runs the Python loop below, which calls the same kernels
    with the same results. ``None`` (the default) takes the plan when it and every mechanism's
    kernels are compiled already (in this process or the kernel cache) and the loop otherwise.
    """

    def __init__(
        self,
        scenario: ScenarioLike,
        compiled: bool | None = None,
        *,
        people: Population | None = None,
        from_day: int = 0,
        burn_in: bool = True,
    ) -> None:
        """Build the population (or take ``people``), run the burn-in, set the mechanisms up.

        ``people``: the population to simulate, its state left to this simulation (default:
        built from the scenario); ``from_day``: the first day to simulate (default 0). The
        burn-in passes both (``engine/burn_in.py``). ``burn_in=False`` skips the scenario's
        burn-in, for a simulation whose state a checkpoint is about to overwrite.
        """
        _check_scenario(scenario, "Simulation")
        if compiled is not None and not isinstance(compiled, bool | np.bool_):
            raise TypeError(f"compiled: expected True, False or None (auto), not {compiled!r}")
        compiled = None if compiled is None else bool(compiled)  # numpy's too, as progress=
        whole = isinstance(from_day, int | np.integer) and not isinstance(from_day, bool)
        if not whole or not 0 <= from_day <= scenario.meta.days:
            raise ValueError(
                f"from_day: the first day to simulate, a whole number from 0 to the run's "
                f"{scenario.meta.days} days (got {from_day!r})"
            )
        from_day = int(from_day)
        t0 = time.perf_counter()
        keep_freed_memory()  # a day's temporaries are reused, not mapped afresh (kernels/memory)
        self.scenario = scenario
        meta = scenario.meta
        self.days = meta.days
        self.start_date = meta.start_date
        self.from_day = from_day
        """The first day simulated (0; a burn-in's, ``MAX_DAYS - N``)."""
        if people is None:
            people = Population(meta.people, meta.seed, scenario.population)
        self.pop = people
        self.burn_in_s = 0.0
        """Seconds the burn-in took (part of the set-up, not of ``init_s``)."""
        histories: dict[str, dict[str, Any]] = {}
        if meta.burn_in_days > 0:
            earlier = burn_in_scenario(scenario)  # refuses a scorer that carries no history
            if burn_in:
                t1 = time.perf_counter()
                histories = run_burn_in(earlier, self.pop, compiled)
                self.burn_in_s = time.perf_counter() - t1
        self.plan = plan_of(scenario)
        self.idle: list[str] = []
        """Settings that can do nothing in this scenario, one line each (``note_idle``): a
        source for acts nobody draws, a reader of sources nobody records, a setting another
        makes unused (``MechanismParams.settings_unused``). Not refused, since an ablation (a
        comparison that switches a mechanism off) or a sweep's point makes them on purpose; the
        manifest (``idle_settings``) and the summary say so."""
        self.readers: dict[str, dict[str, str]] = {}
        """Mechanism -> the mechanisms that read its state, each with the parameter that named
        it (``{"court_list": {"travel_bans": "travel_bans.list"}}``), as ``find`` handed them
        over during the set-up."""
        self.mechanisms: dict[str, Mechanism] = {
            row.mechanism: mechanism_class(row.mechanism, scenario.mechanisms[row.mechanism])(
                scenario.mechanisms[row.mechanism], meta.seed, row.mechanism
            )
            for row in self.plan
        }
        for name, m in self.mechanisms.items():
            for key, why in m.params.settings_unused().items():
                self.note_idle(f"{name}.{key}", why)
        self.board = Board()
        self.last_days = np.full(len(self.plan), NEVER_STOPS, np.int64)
        """The last day each plan row's mechanism steps, in plan order (``plan_position``). A
        mechanism that ends others (a programme abandoned after a backlash) lowers entries from
        its kernel; the compiled plan and the Python loop both read this array. A stopped
        mechanism reports no metrics (null) from the next day."""
        declare_all(self.mechanisms.values(), self.pop, scenario.source)
        helpers = CompileHelpers()  # a first run: the day's kernels compile on other cores too
        try:
            for m in self.mechanisms.values():
                m.init(self)
                if state_made_at_init(m):
                    self._offer(helpers, m)
            self._check_columns()
            hand_over(self.mechanisms, histories, self.pop.state)
            for m in self.mechanisms.values():
                if not state_made_at_init(m):  # records made once every mechanism is ready
                    self._offer(helpers, m)
                if isinstance(m, CompiledSteps):
                    check_ready(m)
            plan = self._plan(compiled)
            if plan is not None:  # offered last, so compiled first here: it needs no kernel
                helpers.offer([plan.entry()])
            helpers.finish()  # with helpers: every daily kernel compiled (or loaded) by now
        except BaseException:
            helpers.stop()
            raise
        plan = self._taken(plan, compiled)
        self._steps = [(row, self.mechanisms[row.mechanism]) for row in self.plan]
        self._dates = np.datetime_as_string(
            np.datetime64(self.start_date, "D") + np.arange(max(self.days, 0))
        ).tolist()
        """Every day's ISO date, made in one call rather than one per day."""
        self.day = from_day
        self.columns: dict[str, list[float | int | None]] = {"day": [], "date": []}
        self.column_owner: dict[str, str] = {}
        """The mechanism that writes each metric column."""
        self._known: dict[str, tuple[tuple[str, ...], tuple[list, ...]]] = {}
        """Per mechanism: the metric names it reported last, in order, and their columns."""
        if plan is not None:
            plan.compile()  # or load it from the cache: part of the set-up, not of the first day
        self.compiled_plan = plan
        self.init_s = time.perf_counter() - t0 - self.burn_in_s
        self.run_s = 0.0

    def _plan(self, compiled: bool | None) -> CompiledPlan | None:
        """The scenario's compiled day plan, before it is compiled (``_taken`` says if it runs).

        None: the Python loop is forced, or a mechanism has no compiled kernels.
        """
        self.python_only = [
            n
            for n, m in self.mechanisms.items()
            if compiled_state_of(m) is None and not isinstance(m, Observer)
        ]
        """Mechanisms without compiled kernels (prototypes): the scenario runs in Python. The one
        place that tells them apart: ``CompiledPlan.of`` compiles whatever is not one of these
        nor an observer."""
        self.observers = [n for n, m in self.mechanisms.items() if isinstance(m, Observer)]
        """Mechanisms that step in Python between compiled stretches of days (``Observer``)."""
        plan = CompiledPlan.of(self) if compiled is not False else None
        if compiled and plan is None:
            raise ScenarioError(
                f"{self.scenario.source}: cannot run compiled: no compiled kernels for "
                f"{', '.join(self.python_only) or 'any mechanism'}"
            )
        return plan

    def _taken(self, plan: CompiledPlan | None, compiled: bool | None) -> CompiledPlan | None:
        """``plan``, unless the engine is ours to pick and a daily kernel is not compiled yet.

        Asked once the set-up is done: on a first run, its helpers have compiled every daily
        kernel by then. Without helpers, the Python loop runs instead (the same results) and
        compiles the kernels as it reaches them, and the next run takes the plan.
        """
        self.plan_not_compiled = (
            compiled is None and plan is not None and not plan.kernels_compiled()
        )
        """The engine was ours to pick and a daily kernel is not compiled yet: the Python loop
        runs (the same results) rather than compile them first (``engine/compiled_plan.py``)."""
        return None if self.plan_not_compiled else plan

    def _offer(self, helpers: CompileHelpers, m: Mechanism) -> None:
        """Offer ``m``'s daily kernels to the compile helpers, if it has them."""
        state = compiled_state_of(m)
        if state is not None:
            helpers.offer(daily_kernels(state, self.board.native))

    def find(self, name: str | None, kind: type[M], key: str, reads: bool = True) -> M | None:
        """The enabled mechanism ``name`` if there is one, checked to be a ``kind``.

        ``key`` is the parameter that named it (``"travel_bans.list"``), for the error; its
        first part, the reader, is noted among ``readers`` unless ``reads`` is False (a look at
        set-up only, such as a warm start's ``like``, not a read as the run goes).

        Raises:
            ScenarioError: ``name`` is enabled but is not a ``kind`` (one line, allowed names).
        """
        m = self.mechanisms.get(name) if name else None
        if reads and m is not None and isinstance(m, kind):
            reader = key.partition(".")[0]
            if reader != name and reader in self.mechanisms:
                self.readers.setdefault(name, {})[reader] = key
        if m is None or isinstance(m, kind):
            return m
        raise ScenarioError(
            f"{self.scenario.source}: mechanisms.{key}: {name!r} is not a {kind.family} "
            f"mechanism; enabled ones: {self._enabled(kind)}"
        )

    def _check_columns(self) -> None:
        """Refuse, in one line, a metric column that two mechanisms (or one twice) would write.

        Columns are named after what a mechanism's table names (its sectors, acts, grades): a
        second ``joint_punishment`` with the first one's sector names would write its columns.

        Raises:
            ScenarioError: the column, and who would write it.
        """
        owner: dict[str, str] = {}
        for name, m in self.mechanisms.items():
            for col in getattr(m, "metric_columns", ()):
                if col in owner:
                    other = self.mechanisms[owner[col]]
                    who = "twice" if owner[col] == name else f"by {owner[col]} too"
                    if other is not m and type(other) is type(m):  # one type under two names
                        who += f" (both are {type(m).name} mechanisms)"
                    raise ScenarioError(
                        f"{self.scenario.source}: mechanisms.{name}: its metric column {col!r} "
                        f"would be written {who}; name its sectors, acts, grades or thresholds "
                        "apart, or keep one such mechanism if its columns have fixed names"
                    )
                owner[col] = name

    def runs_without(self, name: str) -> bool:
        """Whether the scenario has mechanism ``name`` but this simulation does not run it.

        A burn-in runs only the mechanisms that make records and scores (``BURN_IN_FAMILIES``):
        a reader there of a list, say, finds none, and goes without it.
        """
        scenario = self.scenario
        return isinstance(scenario, BurnInScenario) and name in scenario.left_out

    def get(
        self,
        name: str,
        kind: type[M] = Mechanism,  # type: ignore[assignment]
        key: str = "",
        reads: bool = True,
    ) -> M:
        """The enabled mechanism ``name``, checked to be a ``kind`` (see ``find``).

        Raises:
            TypeError: ``name`` is not a string.
            ScenarioError: no such enabled mechanism, or not a ``kind`` (one line).
        """
        if not isinstance(name, str):
            raise TypeError(f"get: one mechanism's name, a string (got {name!r})")
        m = self.find(name, kind, key or name, reads)
        if m is None:
            where = f"{self.scenario.source}: mechanisms.{key or name}: {name!r}"
            if name in self.scenario.mechanisms or self.runs_without(name):
                raise ScenarioError(f"{where} is not enabled; enabled ones: {self._enabled(kind)}")
            near = difflib.get_close_matches(name, list(self.scenario.mechanisms), n=1)
            hint = f"did you mean {near[0]!r}? " if near else ""
            raise ScenarioError(
                f"{where}: the scenario has no mechanism of that name; {hint}add a "
                f"[mechanisms.{name}] table, or name an enabled one: {self._enabled(kind)}"
            )
        return m

    @property
    def is_burn_in(self) -> bool:
        """Whether this simulation is a burn-in before day 0, which leaves readers out."""
        return isinstance(self.scenario, BurnInScenario)

    def note_idle(self, key: str, why: str) -> None:
        """Note that the setting ``key`` (``"tax_list.sources"``) can do nothing here: ``why``.

        A burn-in, which leaves readers out, notes nothing: the run's own set-up does.
        """
        if not self.is_burn_in:
            self.idle.append(f"mechanisms.{key}: {why}")

    def check_reads_a_source(
        self,
        key: str,
        sources: list[str] | None,
        words: tuple[str, str] = ("reads records of", "reads none"),
        posted: list[str] | None = None,
    ) -> bool:
        """Note that ``sources`` (the parameter ``key``) reads nothing here, if it does not.

        ``sources`` reads nothing when no enabled mechanism posts a record of any of them
        (``None``: of any source). A reader naming several sources, of which some are not set
        up, is as it should be (a default list covers sources that many scenarios leave out).
        ``words`` say what it does with them and that it does it to none, for the note (evasion's:
        "evades", "evades nothing"). An empty list is refused by its parameter model
        (``mechanisms.common.some_sources``). ``posted``: the sources that count as set up
        (default: every enabled mechanism's ``sources_posted``; evasion's: only those whose
        records it can lower). Returns whether it noted it.
        """
        if posted is None:
            posted = [s for m in self.mechanisms.values() for s in m.sources_posted()]
        if set(posted) if sources is None else set(sources) & set(posted):
            return False
        which = "any source" if sources is None else ", ".join(sources)
        set_up = ", ".join(dict.fromkeys(posted)) or "none"
        self.note_idle(
            key,
            f"{words[0]} {which}, which no enabled mechanism records, so it {words[1]} "
            f"(sources set up here: {set_up})",
        )
        return True

    def check_records_reach(
        self, key: str, acts: list[str], sources: list[str] | None, outcome: str
    ) -> None:
        """Note that no enabled mechanism posts a record of ``acts`` from ``sources``.

        For a reader of records of some acts from some sources (``None``: any), such as a record
        list's entry acts: it is idle when no mechanism's ``records_posted`` (given the acts the
        run draws) has one of those acts under one of those sources. ``outcome`` says what then
        never happens ("no record puts anyone on the list"), for the note under ``key``.
        """
        drawn = self.acts_posted()
        kinds = [kind for m in self.mechanisms.values() for kind in m.records_posted(drawn)]
        if any(
            (sources is None or kind.source in sources) and (kind.act is None or kind.act in acts)
            for kind in kinds
        ):
            return
        where = "" if sources is None else f" from {', '.join(sources)}"
        self.note_idle(
            key, f"no enabled mechanism records {' or '.join(acts)}{where}, so {outcome}"
        )

    def acts_posted(self) -> set[str]:
        """Names of the acts that the enabled mechanisms may post (``Behaviour.acts_posted``)."""
        return {
            a for m in self.mechanisms.values() if isinstance(m, Behaviour) for a in m.acts_posted()
        }

    def _enabled(self, kind: type[Mechanism]) -> str:
        """The enabled mechanisms that are a ``kind``, for an error message."""
        return ", ".join(n for n, m in self.mechanisms.items() if isinstance(m, kind)) or "none"

    def plan_position(self, name: str) -> int:
        """The position of mechanism ``name`` in the plan (its entry of ``last_days``)."""
        return next(i for i, row in enumerate(self.plan) if row.mechanism == name)

    def endings(self) -> list[Ending]:
        """Every programme that a mechanism ended during the run, by day."""
        return sorted(
            (e for m in self.mechanisms.values() for e in m.endings()), key=lambda e: e.day
        )

    def first_day_of(self, name: str) -> int:
        """The first day mechanism ``name`` steps in this simulation.

        Its ``active_from``'s, or the first day simulated (a burn-in's), whichever is later.
        """
        first = next((row.first_day for row in self.plan if row.mechanism == name), 0)
        return max(first, self.from_day)

    def date_of(self, day: int) -> dt.date:
        """Calendar date of a simulated day."""
        return self.start_date + dt.timedelta(days=day)

    def dates(self, first: int, end: int) -> list[str]:
        """ISO dates of days ``first .. end - 1``."""
        if end <= len(self._dates):
            return self._dates[first:end]
        return [self.date_of(d).isoformat() for d in range(first, end)]

    def step(self) -> None:
        """Simulate one day and record its metrics.

        Raises:
            RuntimeError: The run's days are all done (a day past them would run mechanisms
                beyond their calendars, and its numbers would be no run's).
        """
        if self.day >= self.days:
            raise RuntimeError(
                f"the run's {self.days} days are done (days {self.from_day}..{self.days - 1}); "
                "a Simulation runs each day once: make another for more days"
            )
        if self.compiled_plan is not None:
            self.compiled_plan.run(self.day, self.day + 1)
            self.day += 1
            return
        day = self.day
        self.board.clear()
        clock = time.perf_counter
        last_days = self.last_days
        for i, (row, mechanism) in enumerate(self._steps):
            if row.first_day <= day <= last_days[i]:
                t0 = clock()
                mechanism.step(self, day)
                row.seconds += clock() - t0
        columns = self.columns
        columns["day"].append(day)
        dates = self._dates
        columns["date"].append(dates[day] if day < len(dates) else self.date_of(day).isoformat())
        reported = 2
        known_columns = self._known
        for i, (row, m) in enumerate(self._steps):
            if day > last_days[i]:  # stopped: no metrics (null), as in the compiled plan
                continue
            name = row.mechanism
            if day < row.first_day:  # not started: its columns, null (as in the compiled plan)
                values = m.idle_metrics()
            else:
                t0 = clock()
                values = m.metrics(day)
                row.seconds += clock() - t0
            known = known_columns.get(name)
            if known is not None and tuple(values) == known[0]:  # yesterday's columns again
                _consume(map(list.append, known[1], values.values()))
            else:
                self._append_checked(name, values, day)
            reported += len(values)
        if reported < len(columns):
            for column in columns.values():
                if len(column) == day:  # a column its mechanism did not report today
                    column.append(None)
        self.day += 1

    def _append_checked(self, name: str, values: dict[str, float | int | None], day: int) -> None:
        """Append one mechanism's metrics, creating and checking columns; remember their order."""
        columns = self.columns
        for col, value in values.items():
            column = columns.get(col)
            if column is None:  # a new column: null before it existed
                column = columns[col] = [None] * day
                self.column_owner[col] = name
            elif len(column) > day or self.column_owner[col] != name:
                owner = self.column_owner[col]
                raise RuntimeError(
                    f"{name} wrote metric column {col!r} twice in one day"
                    if owner == name
                    else f"metric column {col!r} is written by both {owner} and {name}"
                )
            column.append(value)
        self._known[name] = (tuple(values), tuple(columns[c] for c in values))

    def run(
        self,
        on_day: Callable[[int], None] | None = None,
        every: int | None = None,
        on_every: Callable[[Simulation], None] | None = None,
    ) -> None:
        """Run the remaining days, calling ``on_day(day)`` after each.

        With ``every`` (days) and ``on_every``, ``on_every(self)`` is called whenever the days
        done are a multiple of ``every`` and days remain (to write a checkpoint): the compiled
        plan's stretches end there too, which changes no result.
        """
        t0 = time.perf_counter()
        due = every if every is not None and on_every is not None else None
        try:
            if self.compiled_plan is not None:
                chunk = self.days if on_day is None else max(1, self.days // COMPILED_CHUNKS)
                while self.day < self.days:
                    end = min(self.days, self.day + chunk)
                    if due is not None:
                        end = min(end, (self.day // due + 1) * due)
                    self.compiled_plan.run(self.day, end)
                    self.day = end
                    if on_day is not None:
                        on_day(self.day)
                    if due is not None and self.day % due == 0 and self.day < self.days:
                        self._pause(t0, on_every)  # type: ignore[arg-type]
                        t0 = time.perf_counter()
                return
            while self.day < self.days:
                self.step()
                if on_day is not None:
                    on_day(self.day)
                if due is not None and self.day % due == 0 and self.day < self.days:
                    self._pause(t0, on_every)  # type: ignore[arg-type]
                    t0 = time.perf_counter()
        finally:
            self.run_s += time.perf_counter() - t0

    def _pause(self, t0: float, on_every: Callable[[Simulation], None]) -> None:
        """Count the days' time so far, then call ``on_every`` (its own time is not the run's)."""
        self.run_s += time.perf_counter() - t0
        on_every(self)

    def summary_lines(self) -> list[str]:
        """Each mechanism's end-of-run summary lines; a stopped one's say on which day it stopped.

        A mechanism that a programme's end stopped (``last_days``) keeps its state from its last
        day, so its lines are as of that day, and say so. One whose ``active_from`` falls after
        the run's last day, or after a programme's end stopped it, says that it never ran, and
        no more: its statistics would be its starting state.
        """
        stopped = {row.mechanism: int(self.last_days[i]) for i, row in enumerate(self.plan)}
        first_days = {row.mechanism: row.first_day for row in self.plan}
        days = self.scenario.meta.days
        lines: list[str] = []
        for name, m in self.mechanisms.items():
            last = stopped.get(name, NEVER_STOPS)
            first = first_days.get(name, 0)
            if first >= days or last < first:  # its active_from is after the run or its end
                since = self.date_of(first).isoformat()
                why = (
                    "after the run's last day"
                    if first >= days
                    else f"after a programme's end stopped it on day {last:,}"
                )
                # no statistics: they would be its starting state (a base score as if earned)
                lines.append(f"{name}: never stepped: it starts on {since}, {why}")
                continue
            if last >= days - 1:
                lines += m.summary()
                continue
            when = f"(stopped after day {last:,}, {self.date_of(last).isoformat()}) "
            lines += [line.replace(": ", f": {when}", 1) for line in m.summary()]
        return lines
