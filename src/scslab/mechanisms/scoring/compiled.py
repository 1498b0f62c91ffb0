"""Scores read through kernels: the one implementation of every score, flag and rescoring day.

A scoring system with a compiled record (``kernels/structs.py``) registers its kernels here with
``compiled_scoring``; a compiled reader then calls ``scores(state, pids, day)`` (and
``day_reaching``, ``rescored``, ``has_score``, ``clean``, ``own_scores``, ``state_reads``,
``moving_records``) on the scorer's record, and numba picks the scorer's kernel by the record's type
when it compiles the reader. These are the compiled forms of the ``Scoring`` methods of
``engine/mechanism.py``, with the same defaults.

Two questions concern who reads and whose record is read, and have defaults that change nothing:

- ``state_reads(state, day)``: whether a reader acting for the state (a state blacklist, a city
  service's perk) may read the score on ``day``. A commercial score whose licence the state
  refused answers no from that day (the PBoC's 2017 refusal, ``scoring/commercial.py``); every
  reader marked as the state's asks it and, on no, sees no score. Default: always.
- ``own_scores(state, pids, day)``: the score each person would have from their own records. It
  differs from ``scores`` only for people scored from someone else's records (a face matched to
  the wrong person at sign-up, ``scoring/points.py``); readers count what that changed. Default:
  the ``scores`` kernel itself.

One question says which records matter at all: ``moving_records(state)``, per act and source,
whether a record of that act from that source may move a score (an online purchase moves no
credit history). A reader that looks only at people whose score may have moved (a threshold list)
skips the others' records. Default: an empty table, which says every record may. Another says
whose score a record moves: ``records_as_scored(state, pids, sources, trues)`` gives the day's
records addressed to the people whose scores they move. Only a score that reads someone else's
records (a user misverified at sign-up, ``scoring/points.py``) re-addresses any: a record about
the person matched moves the user's score, and is a false record of a face-ID match for them.
Default: the records as they are.

Python reads the same kernels: ``CompiledScoring`` gives a scoring system ``scores``,
``has_score``, ``day_reaching``, ``rescored`` and ``scores_everyone`` that call its registered
kernels on its record (``clean`` through ``clean_of``), so no score is written twice. A reader
whose step is a kernel (a list, a sanction, a reward) asks for its scorer with
``compiled_scorer``, which refuses, by name, a scorer that has no kernels.

Owns the generic functions, the registry of scoring kernels (``SCORING_STATES``, filled by
``compiled_scoring``), the default kernels, ``CompiledScoring`` and the set-up checks
(``compiled_scorer``, ``may_count``, ``keeps_bad_records``). It holds no score and no scoring
rule and names no scoring system: each registers its own kernels, and no code here writes a
scorer's record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from scslab.engine.mechanism import Scoring
from scslab.errors import ScenarioError
from scslab.kernels.jit import kernel, kernel_overload

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation


class ScoringKernels(NamedTuple):
    """A scoring system's kernels, each taking its record first (see the generic functions)."""

    scores: Any
    day_reaching: Any
    rescored: Any
    has_score: Any
    clean: Any
    own_scores: Any
    state_reads: Any
    moving_records: Any
    records_as_scored: Any


SCORING_STATES: dict[type, ScoringKernels] = {}
"""Record class -> the kernels of the scoring systems whose scores compiled code can read."""


def reads_compiled(scorer: object) -> bool:
    """Whether compiled code can read ``scorer``'s scores (its record has scoring kernels)."""
    return type(getattr(scorer, "state", None)) in SCORING_STATES


def scores(state, pids, day):
    """Current scores (``int64``) of ``pids`` on ``day``."""


def day_reaching(state, pids, day, level):
    """The first day on or after ``day`` on which each score reaches ``level`` by itself (-1)."""


def rescored(state, day):
    """True on a day when many scores moved without records."""


def has_score(state, pids):
    """Whether each of ``pids`` is scored at all."""


def clean(state, pids):
    """Whether each of ``pids`` has no bad record (a commercial score's perks may ask for it)."""


def own_scores(state, pids, day):
    """The scores (``int64``) ``pids`` would have on ``day`` from their own records."""


def state_reads(state, day):
    """Whether a reader acting for the state may read the score on ``day``."""


def moving_records(state):
    """Per act and source, whether such a record may move a score (empty: every record may)."""


def records_as_scored(state, pids, sources, trues):
    """Records (in person order) addressed to whose score each moves, in person order."""


@kernel
def never_reaching(state, pids, day, level):
    """``day_reaching`` of a score that never moves by itself."""
    return np.full(pids.size, -1, np.int64)


@kernel
def never_rescored(state, day):
    """``rescored`` of a score without periodic recomputations."""
    return False


@kernel
def scores_everyone(state, pids):
    """``has_score`` of a system that scores everyone."""
    return np.ones(pids.size, np.bool_)


@kernel
def keeps_no_bad_records(state, pids):
    """``clean`` of a system that keeps no record of bad records (never asked: see rewards)."""
    return np.ones(pids.size, np.bool_)


@kernel
def always_read(state, day):
    """``state_reads`` of a score the state may always read."""
    return True


@kernel
def every_record_moves(state):
    """``moving_records`` of a system that does not say which records move its scores."""
    return np.empty((0, 0), np.bool_)


@kernel
def records_as_they_are(state, pids, sources, trues):
    """``records_as_scored`` of a system that scores each person from their own records."""
    return pids, sources, trues


@kernel(inline="always")
def record_value(per_act, counted, act, source):
    """What a record of ``act`` from ``source`` is worth: ``per_act[act]`` if ``counted[source]``.

    The rule of a score that weighs each act (points, penalty units) and counts only some sources.
    """
    return per_act[act] if counted[source] else 0


@kernel
def moving_by_value(per_act, counted):
    """``moving_records`` of such a score: the records worth something (``record_value``)."""
    out = np.empty((per_act.size, counted.size), np.bool_)
    for act in range(per_act.size):
        for source in range(counted.size):
            out[act, source] = record_value(per_act, counted, act, source) != 0
    return out


@kernel(inline="always")
def record_moves(moving, act, source):
    """Whether a record of ``act`` from ``source`` may move a score (``moving_records``' table)."""
    return moving.shape[0] == 0 or moving[act, source]


def compiled_scoring(
    state_class: type,
    score_kernel: Any,
    reaching_kernel: Any = never_reaching,
    rescored_kernel: Any = never_rescored,
    has_score_kernel: Any = scores_everyone,
    clean_kernel: Any = keeps_no_bad_records,
    own_scores_kernel: Any = None,
    state_reads_kernel: Any = always_read,
    moving_records_kernel: Any = every_record_moves,
    records_as_scored_kernel: Any = records_as_they_are,
) -> None:
    """Register a scoring system's kernels for its record class.

    Each kernel takes the record first, then the arguments of the generic function it serves.
    ``own_scores_kernel`` defaults to ``score_kernel`` (everyone is scored from their own records).
    """
    type_class = state_class.numba_type_class
    if state_class in SCORING_STATES:
        raise TypeError(f"{state_class.__name__} has scoring kernels already")
    own_kernel = score_kernel if own_scores_kernel is None else own_scores_kernel
    SCORING_STATES[state_class] = ScoringKernels(
        scores=score_kernel,
        day_reaching=reaching_kernel,
        rescored=rescored_kernel,
        has_score=has_score_kernel,
        clean=clean_kernel,
        own_scores=own_kernel,
        state_reads=state_reads_kernel,
        moving_records=moving_records_kernel,
        records_as_scored=records_as_scored_kernel,
    )

    @kernel_overload(scores)
    def _scores(state, pids, day):
        if isinstance(state, type_class):
            return lambda state, pids, day: score_kernel(state, pids, day)
        return None

    @kernel_overload(day_reaching)
    def _reaching(state, pids, day, level):
        if isinstance(state, type_class):
            return lambda state, pids, day, level: reaching_kernel(state, pids, day, level)
        return None

    @kernel_overload(rescored)
    def _rescored(state, day):
        if isinstance(state, type_class):
            return lambda state, day: rescored_kernel(state, day)
        return None

    @kernel_overload(has_score)
    def _has_score(state, pids):
        if isinstance(state, type_class):
            return lambda state, pids: has_score_kernel(state, pids)
        return None

    @kernel_overload(clean)
    def _clean(state, pids):
        if isinstance(state, type_class):
            return lambda state, pids: clean_kernel(state, pids)
        return None

    @kernel_overload(own_scores)
    def _own_scores(state, pids, day):
        if isinstance(state, type_class):
            return lambda state, pids, day: own_kernel(state, pids, day)
        return None

    @kernel_overload(state_reads)
    def _state_reads(state, day):
        if isinstance(state, type_class):
            return lambda state, day: state_reads_kernel(state, day)
        return None

    @kernel_overload(moving_records)
    def _moving_records(state):
        if isinstance(state, type_class):
            return lambda state: moving_records_kernel(state)
        return None

    @kernel_overload(records_as_scored)
    def _records_as_scored(state, pids, sources, trues):
        if isinstance(state, type_class):
            return lambda state, pids, sources, trues: records_as_scored_kernel(
                state, pids, sources, trues
            )
        return None


def _ids(pids: np.ndarray) -> np.ndarray:
    """Person ids as the kernels take them: a flat ``int64`` array."""
    return np.ascontiguousarray(pids, np.int64).reshape(-1)


class CompiledScoring(Scoring):
    """A scoring system read through the kernels registered for its record's class (``state``).

    Subclasses set ``state`` in ``init``; every read below is one call of a registered kernel.
    """

    state: Any

    def _kernels(self) -> ScoringKernels:
        return SCORING_STATES[type(self.state)]

    def scores(self, pids: np.ndarray, day: int) -> np.ndarray:
        """Current scores (``int64``) of ``pids`` on ``day``, from the score kernel."""
        return self._kernels().scores(self.state, _ids(pids), day)

    def has_score(self, pids: np.ndarray) -> np.ndarray:
        """Whether each of ``pids`` is scored at all, from the kernel."""
        return self._kernels().has_score(self.state, _ids(pids))

    def scores_everyone(self) -> bool:
        """True when the registered ``has_score`` kernel is the one of a system scoring everyone.

        A system that decides at ``init`` (a point system with or without opt-in) overrides this.
        """
        return self._kernels().has_score is scores_everyone

    def day_reaching(self, pids: np.ndarray, day: int, level: int) -> np.ndarray:
        """The first day on or after ``day`` each score reaches ``level`` by itself (-1: never)."""
        return self._kernels().day_reaching(self.state, _ids(pids), day, level)

    def rescored(self, day: int) -> bool:
        """True on a day when many scores moved without records, from the kernel."""
        return bool(self._kernels().rescored(self.state, day))

    def own_scores(self, pids: np.ndarray, day: int) -> np.ndarray:
        """The scores ``pids`` would have from their own records, from the kernel."""
        return self._kernels().own_scores(self.state, _ids(pids), day)

    def state_reads(self, day: int) -> bool:
        """Whether a reader acting for the state may read the score on ``day``, from the kernel."""
        return bool(self._kernels().state_reads(self.state, day))

    def moving_records(self) -> np.ndarray:
        """Per act and source, whether such a record may move a score (empty: every record may).

        Fixed after ``init``: readers ask once, when they are set up.
        """
        return self._kernels().moving_records(self.state)

    def records_as_scored(
        self, pids: np.ndarray, sources: np.ndarray, trues: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Records (in person order) addressed to whose score each moves, from the kernel."""
        return self._kernels().records_as_scored(
            self.state,
            _ids(pids),
            np.asarray(sources, np.int16),
            np.asarray(trues, np.bool_),
        )

    def counted_records(self) -> np.ndarray | None:
        """Per act and source, whether such a record counts in the score at all (None: unsaid).

        A producer of records meant for this score (a black market's boosts) asks, at set-up,
        whether any of them would count. Default: ``moving_records``' table where it names the
        records that move scores, else None; a score that also reads records later (a
        commercial score's activity, at its monthly pass) adds those.
        """
        moving = self.moving_records()
        return moving if moving.size else None

    def misidentifies(self) -> bool:
        """Whether some people may be scored from someone else's records (fixed after ``init``).

        Readers ask once, in their own ``init``, whether to count what that changed. Default: no.
        """
        return False


def may_count(scorer: object, acts: list[int], source: int) -> bool:
    """Whether ``scorer`` may count a record of one of ``acts`` from ``source``.

    Read from its ``counted_records`` table; True where it cannot say (no table). Producers of
    records meant for scores (a black market, collusion rings) ask it at set-up or in their
    summary.
    """
    counted = getattr(scorer, "counted_records", None)
    table = counted() if counted is not None else None
    return table is None or bool(table[acts, source].any())


def keeps_bad_records(scorer: object) -> bool:
    """Whether ``scorer``'s record has a ``clean`` kernel of its own (a commercial score's)."""
    kernels = SCORING_STATES.get(type(getattr(scorer, "state", None)))
    return kernels is not None and kernels.clean is not keeps_no_bad_records


def clean_of(scorer: CompiledScoring, pids: np.ndarray) -> np.ndarray:
    """Whether each of ``pids`` has no bad record in ``scorer``, from its ``clean`` kernel."""
    return scorer._kernels().clean(scorer.state, _ids(pids))


def compiled_scorer(
    sim: Simulation, name: str, reader: str, key: str, reads_from: int | None = None
) -> Scoring:
    """The scoring mechanism ``name`` that ``reader`` reads from its kernels (``key``: the field).

    ``reads_from``: the first day ``reader`` reads the score, when it is not its own first day
    (a leak's day; a reader that waits for each score itself passes the score's first day).

    Raises:
        ScenarioError: ``name`` is not an enabled scoring mechanism, or it has no compiled
            kernels (a Python-only prototype), which ``reader`` cannot read, or ``reader``
            starts before a score that reads as earned from day 0 (``scores_before_start``)
            does (one line).
    """
    scorer = sim.get(name, Scoring, key)
    starts = sim.first_day_of(name)
    reads_from = sim.first_day_of(reader) if reads_from is None else reads_from
    if scorer.scores_before_start and reads_from < starts:
        raise ScenarioError(
            f"{sim.scenario.source}: mechanisms.{key}: {reader} starts on "
            f"{sim.date_of(reads_from)}, before {name!r} does ({sim.date_of(starts)}), whose "
            f"base score nobody has earned until then; give {reader} an active_from of "
            f"{sim.date_of(starts)} or later"
        )
    if not reads_compiled(scorer):
        raise ScenarioError(
            f"{sim.scenario.source}: mechanisms.{key}: {reader} reads scores from compiled code, "
            f"but {name!r} has no compiled scoring kernels (compiled_scoring); give it kernels "
            f"or read another score"
        )
    return scorer
