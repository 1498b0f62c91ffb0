"""The plug-in contract: one ``Mechanism`` base class, its families, and the registry of names.

Every scoring system, sanction, data source or behaviour is a subclass of one family below. A
subclass declares a ``name`` (its section in scenario files), a ``Params`` model (its typed,
validated parameters) and implements the lifecycle:

- ``declare(pop)``: allocate per-person state in ``pop.state`` (the only place memory per person
  is allowed);
- ``init(sim)``: look up the other mechanisms it reads, derive its random stream keys;
- ``step(sim, day)``: one simulated day; read and post events on ``sim.board``;
- ``metrics(day)``: this day's columns for ``metrics.parquet`` (names must be unique per scenario);
- ``summary()``: a few lines for the end-of-run summary;
- ``tables()``: optional extra result tables (written as Parquet beside the metrics);
- ``endings()``: the programmes it ended during the run (see ``Ending``), if any;
- ``history()``/``take_history(history)`` (scoring only): start from a burn-in's state.

The order of phases is ``FAMILIES`` (data, printed by ``scslab plan``); defining a subclass is
enough to make it available in scenario files. The engine loop never changes for a new mechanism.

Owns the base classes, the families and their order, the registry and ``Ending``; it must not
name a concrete mechanism (``tests/test_layers.py``).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import numpy as np
import pyarrow as pa
from pydantic import Field

from scslab.catalogue import ACT_NAMES, POSTED_BY, SOURCE_NAMES
from scslab.errors import ScenarioError
from scslab.kernels.rng import stream_key
from scslab.parameter_tables import ParameterTable

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation
    from scslab.population import Population

FAMILIES: tuple[str, ...] = (
    "behaviour",
    "surveillance",
    "observation",
    "reporting",
    "adversary",
    "scoring",
    "lists",
    "consequences",
    "response",
    "metrics",
)
"""The daily order of phases: what people do, what is seen, how it is scored, what follows."""

REGISTRY: dict[str, type[Mechanism]] = {}
"""Every mechanism class by its scenario name."""


def mechanism_class(name: str, params: MechanismParams) -> type[Mechanism]:
    """The class of the scenario table ``name``: its ``type`` if given, else the table name."""
    return REGISTRY[params.type or name]


class MechanismParams(ParameterTable):
    """Parameters shared by every mechanism; subclasses add their own fields."""

    CHANGE_HINT: ClassVar[str] = (
        "make a changed copy of the scenario with sc.with_mechanism(NAME, {name}=...)"
    )

    enabled: bool = Field(default=True, description="Switch the mechanism on or off.")
    active_from: dt.date | None = Field(
        default=None,
        description="First calendar date on which the mechanism runs (default: day 0). Its state "
        "exists from day 0; before this date it neither acts nor reports changes.",
    )
    type: str | None = Field(
        default=None,
        description="The mechanism type when the table's name is not a mechanism name: "
        '[mechanisms.tax_blacklist] with type = "record_list" is a second list.',
    )

    def settings_unused(self) -> dict[str, str]:
        """The settings the scenario gave that can do nothing given the others, each with why.

        A setting counts as given when it differs from its default (``moved``), however the
        scenario was made (a file, ``with_mechanism``, a sweep's point, a checkpoint's resolved
        scenario). The run's summary and manifest name them (``Simulation.note_idle``), and
        nothing refuses them: a sweep may take a point where one is unused (an appeal rate at 0
        beside its success chances). Default: none. A parameter model says its own with
        ``given_but_unused``.
        """
        return {}

    def moved(self, key: str) -> bool:
        """Whether the field ``key`` differs from its default."""
        field = type(self).model_fields[key]
        return bool(getattr(self, key) != field.get_default(call_default_factory=True))

    def given_but_unused(self, unused: bool, keys: tuple[str, ...], why: str) -> dict[str, str]:
        """``{key: why}`` for each of ``keys`` moved from its default, if ``unused``."""
        return {k: why for k in keys if self.moved(k)} if unused else {}

    def without(self, name: str) -> MechanismParams:
        """These parameters once the scenario's mechanism ``name`` is switched off.

        The default keeps them as they are: a reference to ``name`` is then refused when the
        simulation is set up, naming it (a sanction's list is a need, not an option). A mechanism
        that merely follows others, such as a backlash programme, drops ``name`` here instead.
        """
        return self


class RecordKind(NamedTuple):
    """A kind of record a mechanism may post (``Mechanism.records_posted``)."""

    source: str
    act: str | None
    """The act it claims; None: any act."""


class Ending(NamedTuple):
    """A programme (a named set of mechanisms) that a mechanism ended during a run."""

    programme: str
    day: int
    """The last day its mechanisms stepped; they stop from the next day."""
    cause: str
    """Why it ended, in a word ("backlash")."""
    mechanisms: tuple[str, ...]
    """The mechanisms that stopped."""


class Mechanism:
    """Base class of every mechanism. Subclass a family, not this class."""

    name: ClassVar[str] = ""
    family: ClassVar[str] = ""
    Params: ClassVar[type[MechanismParams]] = MechanismParams
    description: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            if cls.family not in FAMILIES:
                raise TypeError(f"{cls.__name__}: family must be one of {FAMILIES}")
            if cls.name in REGISTRY:
                first = REGISTRY[cls.name]
                raise TypeError(
                    f"mechanism name {cls.name!r} is used twice: by "
                    f"{first.__module__}.{first.__qualname__} and by "
                    f"{cls.__module__}.{cls.__qualname__}; give one of them another name"
                )
            REGISTRY[cls.name] = cls

    def __init__(self, params: MechanismParams, seed: int, name: str | None = None) -> None:
        self.params = params
        self.seed = seed
        if name is not None:
            self.name = name  # an instance under its own table name: its own streams and columns

    def records_posted(self, acts_drawn: set[str] | None = None) -> list[RecordKind]:
        """The kinds of record it may post: (source, act) pairs, in order, act None for any.

        ``acts_drawn``: the acts the run's mechanisms draw (``Simulation.acts_posted``), for a
        mechanism that records only drawn acts (None: any act may be drawn). Default: any act
        under each source the catalogue says its type posts (``catalogue.POSTED_BY``: an
        informant's report, a face-ID match, a bought or traded record), none for most. A
        mechanism that knows its acts names them (the data sources, informants, face
        recognition, the black market, collusion), so that a reader of records nobody posts is
        named (``Simulation.check_reads_a_source``, ``check_records_reach``).
        """
        kind = type(self).name
        return [
            RecordKind(source=SOURCE_NAMES[s], act=None)
            for s, by in POSTED_BY.items()
            if by == kind
        ]

    def sources_posted(self) -> tuple[str, ...]:
        """Names of the sources whose records it may post, in order (``records_posted``'s)."""
        return tuple(dict.fromkeys(kind.source for kind in self.records_posted()))

    def key(self, stream: str) -> np.uint64:
        """The random stream key of this mechanism's ``stream``: one key per decision."""
        keys = self.__dict__.setdefault("_keys", {})
        if stream not in keys:
            keys[stream] = stream_key(self.seed, self.name, stream)
        return keys[stream]

    def declare(self, pop: Population) -> None:
        """Allocate per-person state. Default: none."""

    def flags_in_init(self) -> int:
        """At most how many flags it allocates in ``init`` rather than ``declare``. Default: 0.

        The memory estimate (``engine/footprint.py``) declares the mechanisms without setting
        them up, and places this many flags after the declared state, as ``init`` would.
        """
        return 0

    def init(self, sim: Simulation) -> None:
        """Prepare for the first day. Default: nothing."""

    def step(self, sim: Simulation, day: int) -> None:
        """Simulate one day."""
        raise NotImplementedError

    def metrics(self, day: int) -> dict[str, float | int | None]:
        """This day's metric columns (None: no value today). Default: none."""
        return {}

    def idle_metrics(self) -> dict[str, None]:
        """Its metric columns on a day before its first day (``active_from``): all null.

        ``metrics`` is not called then, in either engine (a metrics kernel may keep state). A
        mechanism that does not name its columns (``metric_columns``) reports none before it
        starts; its columns are null on those days once it reports them.
        """
        return dict.fromkeys(getattr(self, "metric_columns", ()))

    def summary(self) -> list[str]:
        """Lines for the end-of-run summary. Default: none."""
        return []

    def tables(self) -> dict[str, pa.Table]:
        """Extra result tables, each written as ``NAME.parquet`` in the run folder. Default: none.

        Names must be unique across the scenario; counts are in simulated people unless the
        mechanism applies the scenario's ``scale`` itself.
        """
        return {}

    def set_up(self) -> dict[str, Any]:
        """What the manifest records of this mechanism's set-up, under ``set_up.NAME``.

        Figures too long for the summary, such as how a warm start was derived. Default: none.
        """
        return {}

    def endings(self) -> list[Ending]:
        """Programmes this mechanism ended during the run (the manifest's ``ended``).

        A mechanism ends others by lowering their entries of ``Simulation.last_days`` (from a
        kernel). Default: none.
        """
        return []


class Behaviour(Mechanism):
    """Ground-truth behaviour: posts acts."""

    family = "behaviour"
    acts_with_state: tuple[str, ...] = ()
    """Acts it posts and keeps state about (a debt's arrears): a response must not withdraw them,
    since the mechanism would go on counting what nobody did, and no other mechanism may post
    them, since it would never count them (a judgment with no debt behind it, never repaid)."""

    def acts_posted(self) -> tuple[str, ...]:
        """Names of the acts it may post; a response listed before it would not see them.

        Default: every act, since a mechanism that does not say may post any. A mechanism that
        posts fewer names them here, from where it keeps them (its parameters, its
        ``acts_with_state``), so that the list is never written twice.
        """
        return tuple(ACT_NAMES.values())

    def check_acts_without_state(
        self, sim: Simulation, field: str, acts: list[str], doing: str
    ) -> None:
        """Refuse ``acts`` (this mechanism's ``field``) that another mechanism keeps state about.

        ``doing`` says what this mechanism would do with them ("withdrawing", "posting").

        Raises:
            ScenarioError: one of ``acts`` is in another enabled mechanism's ``acts_with_state``.
        """
        for name, m in sim.mechanisms.items():
            kept = [a for a in acts if a in getattr(m, "acts_with_state", ())]
            if kept and m is not self:  # its own acts with state are its own to post
                raise ScenarioError(
                    f"{sim.scenario.source}: mechanisms.{self.name}.{field}: {', '.join(kept)}: "
                    f"{name} keeps state about it, and {doing} it here would leave {name}'s "
                    "count of it wrong; use acts that no other mechanism keeps state about"
                )


class Surveillance(Mechanism):
    """Cameras and face recognition, modelled by their error rates: posts records."""

    family = "surveillance"


class Observation(Mechanism):
    """Data sources turning acts into records, with coverage and error: posts records."""

    family = "observation"


class Reporting(Mechanism):
    """Citizens reporting each other: posts records."""

    family = "reporting"


class Adversary(Mechanism):
    """Malicious reports, bought records, leaks: posts or alters records."""

    family = "adversary"


class Scoring(Mechanism):
    """A scoring system: turns records into a score per person."""

    family = "scoring"

    carries_history: ClassVar[bool] = False
    """Whether it can start from a burn-in (``engine/burn_in.py``): its score is made by the
    per-person arrays it declares, which the run adopts from the burn-in, and by what
    ``history`` hands over. A scenario with ``burn_in_days`` refuses a scorer without it."""

    scores_before_start: ClassVar[bool] = False
    """Whether people read as scored before its first day (``active_from``): a point system's
    state holds everyone's base score from day 0. A reader of such a score may not start before
    it (``scoring/compiled.compiled_scorer``), or it would act on scores nobody has earned."""

    def history(self) -> dict[str, Any]:
        """At the end of the burn-in: what it keeps besides its per-person arrays.

        Counts kept from those arrays, as plain values or small arrays. Default: nothing.
        """
        return {}

    def take_history(self, history: dict[str, Any]) -> None:
        """After ``init``, before day 0: take ``history`` (its twin's ``history()``).

        Counts of the run itself (changes, rejections) start at zero. Default: nothing to take.
        """

    def scores(self, pids: np.ndarray, day: int) -> np.ndarray:
        """Current scores of ``pids`` on ``day``."""
        raise NotImplementedError

    def rescored(self, day: int) -> bool:
        """True on a day when many scores moved without records (a periodic recomputation).

        Lists that read the score then re-check everyone. Default: never.
        """
        return False

    def has_score(self, pids: np.ndarray) -> np.ndarray:
        """Whether each of ``pids`` is scored at all (opt-in systems score only their users).

        Default: everyone.
        """
        return np.ones(np.shape(pids), np.bool_)

    def scores_between(self, first: int, stop: int, day: int) -> np.ndarray:
        """``scores`` of the ids ``first`` to ``stop - 1``, as a pass over everyone reads them.

        The same values, in any numeric type that holds them: a scorer that stores its scores
        reads them where they lie (a view, which a caller must not write), without the ids or a
        gather, and a narrow type is less memory for the pass to go through. Default: ``scores``
        of those ids.
        """
        return self.scores(np.arange(first, stop, dtype=np.int64), day)

    def scored_between(self, first: int, stop: int) -> np.ndarray | None:
        """``has_score`` of the ids ``first`` to ``stop - 1``; None when everyone is scored."""
        if self.scores_everyone():
            return None
        return self.has_score(np.arange(first, stop, dtype=np.int64))

    def scores_everyone(self) -> bool:
        """True when ``has_score`` holds for everyone, so readers need not ask person by person.

        Fixed for the run once ``init`` has run: readers (lists) ask once, in their own ``init``.
        Default: true unless the class overrides ``has_score``.
        """
        return type(self).has_score is Scoring.has_score

    def day_reaching(self, pids: np.ndarray, day: int, level: int) -> np.ndarray:
        """The first day on or after ``day`` on which each score reaches ``level`` by itself.

        -1 where it never does without new records. Default: scores never move by themselves.
        """
        return np.full(np.shape(pids), -1, np.int64)


class Lists(Mechanism):
    """Blacklists and redlists: entries, exits, membership."""

    family = "lists"


class Consequences(Mechanism):
    """Sanctions and rewards that follow from lists and scores."""

    family = "consequences"


class Response(Mechanism):
    """How people respond to the system as a whole: approval and backlash, cutting ties.

    (Deterrence and self-censorship withdraw acts before they are seen, so they are behaviour
    mechanisms: ``mechanisms/behaviour/withdrawal.py``.)
    """

    family = "response"


class Metrics(Mechanism):
    """Pure observers: metrics that no other family owns."""

    family = "metrics"


class Observer(Metrics):
    """A metrics mechanism in Python that reads the state now and then and changes nothing.

    The compiled day plan runs its days in compiled stretches and calls an observer only between
    them: after every mechanism's step and metrics of a day on which ``observes(day)`` is true, it
    calls ``step`` for that day; on the other days ``metrics(day)`` reports the latest values
    carried forward. The results are those of the Python loop, which calls it every day. An
    observer's ``step`` must do nothing on a day ``observes`` rejects, and must not change any
    state other mechanisms read (so it is the last family: nothing after it reads state).
    """

    carried: ClassVar[tuple[str, ...] | None] = None
    """The attributes that its passes change and that later passes, ``metrics``, ``tables`` or
    ``summary`` read, as plain data (numbers, strings, None, and lists and dicts of them): a
    checkpoint (``engine/checkpoint.py``) saves and restores exactly these. None (undeclared):
    a scenario with this observer cannot be checkpointed."""

    def observes(self, day: int) -> bool:
        """Whether ``step`` has work on ``day`` (it may depend on earlier passes)."""
        raise NotImplementedError
