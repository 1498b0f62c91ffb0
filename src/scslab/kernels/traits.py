"""Static traits as pure hashes of (trait key, person id), and the factor that scales a rate.

A static trait (compliance, dissent, boldness, opportunism, online activity) is never stored: it is
the first uniform draw of the trait's key for the person. ``trait_factor`` turns it into the factor
of a trait-modulated rate, mean 1 over the population. Both live with the kernels, below the
population, because the sampling kernels thin their draws by it (``kernels/sampling.py``); the
population's attributes (``population/attributes.py``) and the mechanisms read the same kernels.
This module imports only ``kernels/rng`` and ``kernels/jit``.

Owns ``trait`` and ``trait_factor``. The trait keys are the population's (``AttributeKeys``),
passed in by the caller; nothing is stored per person. It must not import the population
(``tests/test_layers.py``): the population imports it.
"""

from __future__ import annotations

from scslab.kernels.jit import kernel
from scslab.kernels.rng import uniform


@kernel
def trait(key, pid: int) -> float:
    """A static trait in [0, 1), uniform across people.

    Uniform is an assumption: the seed gives no distribution for compliance, dissent, boldness,
    opportunism or online activity.
    """
    return uniform(key, 0, pid, 0)


@kernel
def trait_factor(key, pid: int, weight: float) -> float:
    """``1 + weight * (2 * trait - 1)``: how a trait scales a rate, mean 1 over the population.

    ``weight`` in [-1, 1]; +1 doubles the rate at the top of the trait and removes it at the
    bottom, -1 the reverse.
    """
    return 1.0 + weight * (2.0 * trait(key, pid) - 1.0)
