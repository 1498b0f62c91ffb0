"""Threshold cascades (Granovetter 1978): who joins once enough others have joined.

Each person has a threshold: the number of people (or the share of the population) who must have
joined before they join too. People with threshold 0 join on their own; each one who joins may tip
the next. The cascade stops at the first fixed point reached from nobody: the number joined is the
smallest ``j`` with ``j = (people whose threshold is at most j)``. Granovetter's example: 100
people with thresholds 0, 1, ..., 99 all join; move the person with threshold 1 to 2 and only the
first one does.

The kernel works on a histogram of thresholds, so that a population of any size costs its number
of bins: ``counts[k]`` people have threshold ``k`` units, a unit being ``unit`` people. With
``unit = 1`` thresholds are counts of people (the example above); a mechanism that keeps
thresholds as shares of ``n`` people in ``B`` bins passes ``unit = n / B``. Owns the rule and
nothing else: who has which threshold is the caller's business.
"""

from __future__ import annotations

import numpy as np

from scslab.kernels.jit import kernel


@kernel
def cascade(counts: np.ndarray, unit: float) -> int:
    """How many people have joined when the cascade stops (its least fixed point).

    ``counts[k]`` people join once at least ``k * unit`` people have joined. One pass over the
    bins in order: the people of bin ``k`` join when those of the bins below already number
    ``k * unit``; the first bin they do not reach stops the cascade, since nobody above it can be
    reached either. That is the fixed point of the round-by-round iteration from nobody.
    """
    joined = 0
    for k in range(counts.size):
        if joined < k * unit:
            break
        joined += counts[k]
    return joined


@kernel
def cascade_of_thresholds(thresholds: np.ndarray) -> int:
    """How many of the people with these thresholds (counts of people, >= 0) end up joining."""
    counts = np.zeros(thresholds.max() + 1 if thresholds.size else 1, np.int64)
    for t in thresholds:
        counts[t] += 1
    return cascade(counts, 1.0)
