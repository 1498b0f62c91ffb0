"""A daily hazard that steps once: the wait it gives, and the total it adds up to.

A daily event (a repayment, say) happens with probability ``hazard`` on each day before
``step_day`` and ``late`` on that day and after it. ``stepped_geometric_days`` draws the wait
for it from day ``day`` (the days ``day + 1``, ``day + 2``, ...), ``stepped_hazard_sum`` adds up
the hazard of a run of days, so that ``exp(-sum)`` is the chance that the event did not happen
over them. Both read the step the same way: one rule, in one module, for the draw of a run and
for a warm start's reckoning of who has not repaid yet.

With ``late == hazard`` the step is no step: the wait is ``rng.geometric_days``'s draw and the
sum is ``hazard * days``, to the bit. This module knows no person or mechanism; the caller
decides whose hazard steps and when.

Owns the two stepped-hazard kernels, ``SteppedHazards``, ``no_step`` and ``NO_STEP``. It
derives no stream key of its own: its draws are ``rng.geometric_days``'s, under the caller's key,
day and subject (draw indices 0 and 1).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from scslab.kernels.jit import kernel
from scslab.kernels.rng import geometric_days

NO_STEP = 1 << 62
"""A ``step_day`` no run reaches: the hazard never steps."""


@kernel(inline="always")
def stepped_geometric_days(key, day, subject, hazard, late, step_day):
    """Days after ``day`` until a daily event first happens (at least 1; ``1 << 40``: never).

    Its probability is ``hazard`` on the days before ``step_day`` and ``late`` from
    ``step_day`` on (each in [0, 1]). A wait drawn at ``hazard`` (draw index 0) that ends before
    the step stands; one that would end on or after it means no event before the step, and the
    rest is drawn at ``late`` from the step (draw index 1): the geometric wait is memoryless.
    """
    if day + 1 >= step_day:
        return geometric_days(key, day, subject, 0, late)
    if late == hazard:
        return geometric_days(key, day, subject, 0, hazard)
    wait = geometric_days(key, day, subject, 0, hazard)
    if day + wait < step_day:
        return wait
    return step_day - 1 - day + geometric_days(key, day, subject, 1, late)


@kernel(inline="always")
def stepped_hazard_sum(hazard, late, step_day, first, days):
    """The hazard of the ``days`` days after day ``first`` added up (``late`` from ``step_day``).

    The days are ``first + 1`` to ``first + days``, as ``stepped_geometric_days`` counts them;
    ``exp(-sum)`` is the chance that the event happened on none of them.
    """
    if late == hazard:
        return hazard * days
    before = min(max(step_day - 1 - first, 0), days)
    return hazard * before + late * (days - before)


class SteppedHazards(NamedTuple):
    """Daily hazards that step once, one per item (a regime, an income quintile, a person)."""

    before: np.ndarray
    """Each item's hazard before ``step_day`` (float64)."""
    after: np.ndarray
    """Each item's hazard from ``step_day`` on (float64; equal to ``before``: no step)."""
    step_day: int
    """The first day of the ``after`` hazards (``NO_STEP``: never)."""


def no_step(before: np.ndarray) -> SteppedHazards:
    """``before`` as hazards that never step."""
    before = np.asarray(before, np.float64)
    return SteppedHazards(before=before, after=before, step_day=NO_STEP)
