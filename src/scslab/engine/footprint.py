"""Whether a run fits in memory: what it will need, what the machine has, and the refusal.

A run's memory is its per-person state (declared by every mechanism, ``Population.layout``) times
its people, plus what a day's events and the interpreter need. ``memory_needed`` learns the bytes
per person by declaring the scenario's mechanisms on a population of 1,000 people (nothing is
compiled or run) and adding the flags their set-up may allocate (``Mechanism.flags_in_init``: at
most, so the estimate may be a byte a person above the run, never below), and ``available_memory``
is the least of what the system has free, the process's address-space limit (``ulimit -v``) and its
cgroup's limit. ``check_fits`` refuses a run that would not fit, before it allocates anything, with
both numbers. Owns no mechanism rule.
"""

from __future__ import annotations

import resource
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from scslab.engine.mechanism import mechanism_class
from scslab.engine.simulation import declare_all, plan_of
from scslab.errors import ScenarioError
from scslab.population import Population

if TYPE_CHECKING:
    from scslab.engine.simulation import ScenarioLike

RESIDENT_PER_STORED = 1.15
"""Resident bytes per stored byte at scale, beyond ``BASE_BYTES``: measured 1.03 (``reference``
and ``rongcheng`` at 1.41 billion people) to 1.17 (``integrated_2020`` at 100 million people;
benchmarks/RESULTS.md). An estimate that refuses what surely cannot fit, not a guarantee."""

BASE_BYTES = 400 * 2**20
"""The interpreter, numpy, numba and the compiled kernels: about 270-340 MiB measured at small
sizes (benchmarks/RESULTS.md), plus a margin."""

SAMPLE_PEOPLE = 1_000
"""People of the population on which the mechanisms declare their state to be measured."""


class NotEnoughMemoryError(ScenarioError):
    """The run would not fit in memory; the message gives what it needs and what there is."""


def stored_bytes_per_person(scenario: ScenarioLike) -> float:
    """Bytes stored per person by the scenario's mechanisms (declared on a small population)."""
    meta = scenario.meta
    pop = Population(min(meta.people, SAMPLE_PEOPLE), meta.seed, scenario.population)
    mechanisms = []
    for row in plan_of(scenario):
        params = scenario.mechanisms[row.mechanism]
        mechanisms.append(mechanism_class(row.mechanism, params)(params, meta.seed, row.mechanism))
    declare_all(mechanisms, pop, scenario.source)
    for m in mechanisms:  # then the flags that set-up allocates, at most
        for k in range(m.flags_in_init()):
            pop.state.add_flag(f"{m.name}/in_init/{k}")
    return pop.bytes_per_person()


def memory_needed(scenario: ScenarioLike) -> int:
    """About how many bytes a run of ``scenario`` will hold at its peak.

    A burn-in adds nothing: its mechanisms are some of the run's, it runs before the run's state
    is allocated, and the run adopts its scorers' arrays (``engine/burn_in.py``).
    """
    stored = stored_bytes_per_person(scenario) * scenario.meta.people
    return int(stored * RESIDENT_PER_STORED + BASE_BYTES)


def _cgroup_free(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """Bytes the cgroup (v2) still allows this process, or None without a limit.

    ``memory.current`` counts the page cache too, whose inactive files the kernel reclaims
    before it refuses memory (``memory.stat``'s ``inactive_file``): after large writes they
    would make a run that fits look as if it did not.
    """
    try:
        limit = (root / "memory.max").read_text().strip()
        if limit == "max":
            return None
        used = int((root / "memory.current").read_text())
    except (OSError, ValueError):
        return None
    try:
        stat = dict(line.split() for line in (root / "memory.stat").read_text().splitlines())
        reclaimable = int(stat.get("inactive_file", 0))
    except (OSError, ValueError):
        reclaimable = 0
    return int(limit) - used + reclaimable


def available_memory() -> int:
    """The bytes this process can still get: free system memory, ``ulimit -v``, the cgroup."""
    candidates = [psutil.virtual_memory().available]
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        candidates.append(soft - psutil.Process().memory_info().vms)
    cgroup = _cgroup_free()
    if cgroup is not None:
        candidates.append(cgroup)
    return max(0, min(candidates))


def check_fits(scenario: ScenarioLike) -> None:
    """Refuse a run that would not fit in memory, naming what it needs and what there is.

    Raises:
        NotEnoughMemoryError: It needs more than ``available_memory()``.
    """
    needed, available = memory_needed(scenario), available_memory()
    if needed > available:
        people = scenario.meta.people
        fits = max(0, int((available - BASE_BYTES) / max(needed - BASE_BYTES, 1) * people))
        raise NotEnoughMemoryError(
            f"{people:,} people need about {needed / 2**30:.1f} GiB and this machine has "
            f"{available / 2**30:.1f} GiB free; about {fits:,} people would fit (--people)"
        )
