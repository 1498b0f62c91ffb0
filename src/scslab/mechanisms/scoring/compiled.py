"""Scores read from compiled code: the generic functions a compiled list or sanction calls.

A scoring system with a compiled record (``kernels/structs.py``) registers its kernels here with
``compiled_scoring``; a compiled reader then calls ``scores(state, pids, day)`` (and
``day_reaching``, ``rescored``, ``has_score``) on the scorer's record, and numba picks the
scorer's kernel by the record's type when it compiles the reader. These are the compiled forms of
the ``Scoring`` methods of ``engine/mechanism.py``, with the same defaults.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit
from numba.extending import overload

SCORING_STATES: set[type] = set()
"""Record classes of the scoring systems whose scores compiled code can read."""


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


@njit(cache=True)
def never_reaching(state, pids, day, level):
    """``day_reaching`` of a score that never moves by itself."""
    return np.full(pids.size, -1, np.int64)


@njit(cache=True)
def never_rescored(state, day):
    """``rescored`` of a score without periodic recomputations."""
    return False


@njit(cache=True)
def scores_everyone(state, pids):
    """``has_score`` of a system that scores everyone."""
    return np.ones(pids.size, np.bool_)


@njit(cache=True)
def keeps_no_bad_records(state, pids):
    """``clean`` of a system that keeps no record of bad records (never asked: see rewards)."""
    return np.ones(pids.size, np.bool_)


def compiled_scoring(
    state_class: type,
    score_kernel: Any,
    reaching_kernel: Any = never_reaching,
    rescored_kernel: Any = never_rescored,
    has_score_kernel: Any = scores_everyone,
    clean_kernel: Any = keeps_no_bad_records,
) -> None:
    """Register a scoring system's kernels for its record class.

    Each kernel takes the record first, then the arguments of the generic function it serves.
    """
    type_class = state_class.numba_type_class
    SCORING_STATES.add(state_class)

    @overload(scores)
    def _scores(state, pids, day):
        if isinstance(state, type_class):
            return lambda state, pids, day: score_kernel(state, pids, day)
        return None

    @overload(day_reaching)
    def _reaching(state, pids, day, level):
        if isinstance(state, type_class):
            return lambda state, pids, day, level: reaching_kernel(state, pids, day, level)
        return None

    @overload(rescored)
    def _rescored(state, day):
        if isinstance(state, type_class):
            return lambda state, day: rescored_kernel(state, day)
        return None

    @overload(has_score)
    def _has_score(state, pids):
        if isinstance(state, type_class):
            return lambda state, pids: has_score_kernel(state, pids)
        return None

    @overload(clean)
    def _clean(state, pids):
        if isinstance(state, type_class):
            return lambda state, pids: clean_kernel(state, pids)
        return None
