"""What every list shares: a membership flag, entries and exits, and who it reaches at home.

A list keeps one flag bit per person plus a second bit, ``ever``, so that "persons ever listed"
counts people, not entries. It also keeps, event by event, how many people who are not listed live
in a household with someone who is (the reach of family extension), and how many listed people
were listed on a false record (innocents). Subclasses decide who enters and who leaves each day and
call ``change``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from scslab.engine.mechanism import Lists
from scslab.population.households import household_size, household_start

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation
    from scslab.population import Population


@njit(inline="always", cache=True)
def _household_reach(flags, mask, households, pid):
    start = household_start(households, pid)
    size = household_size(households, pid)
    listed = 0
    for j in range(start, start + size):
        if flags[j] & mask:
            listed += 1
    return size - listed if listed > 0 else 0


@njit(cache=True)
def apply_changes(pids, enter, false_entry, flags, mask, ever_mask, false_mask, households, stats):
    """Apply entries (``enter``) and exits in order; return which changed membership.

    ``stats`` accumulates [size, entries, exits, ever listed, household reach, innocents listed].
    """
    changed = np.zeros(pids.size, np.bool_)
    for i in range(pids.size):
        pid = pids[i]
        listed = (flags[pid] & mask) != 0
        if enter[i] == listed:
            continue
        before = _household_reach(flags, mask, households, pid)
        if enter[i]:
            if not flags[pid] & ever_mask:
                stats[3] += 1
            flags[pid] |= mask | ever_mask
            if false_entry[i]:
                flags[pid] |= false_mask
                stats[5] += 1
            stats[0] += 1
            stats[1] += 1
        else:
            if flags[pid] & false_mask:
                stats[5] -= 1
            flags[pid] &= ~(mask | false_mask)
            stats[0] -= 1
            stats[2] += 1
        stats[4] += _household_reach(flags, mask, households, pid) - before
        changed[i] = True
    return changed


class ListBase(Lists):
    """Membership, counters and family reach of one list."""

    def declare(self, pop: Population) -> None:
        self.flag, self.ever, self.false_flag = pop.state.add_flags(
            f"{self.name}", f"{self.name}_ever", f"{self.name}_false"
        )

    def init(self, sim: Simulation) -> None:
        self.households = sim.pop.households
        # size, entries, exits, ever listed, household reach, innocents listed
        self.stats = np.zeros(6, np.int64)
        self.entered = np.empty(0, np.int64)
        self.exited = np.empty(0, np.int64)

    def change(self, pids: np.ndarray, enter: np.ndarray, false_entry: np.ndarray) -> None:
        """Apply today's entries and exits (``pids`` in processing order)."""
        changed = apply_changes(
            pids,
            enter,
            false_entry,
            self.flag.array,
            self.flag.mask,
            self.ever.mask,
            self.false_flag.mask,
            self.households,
            self.stats,
        )
        self.entered = pids[changed & enter]
        self.exited = pids[changed & ~enter]

    @property
    def size(self) -> int:
        """People on the list now."""
        return int(self.stats[0])

    def metrics(self, day: int) -> dict[str, float | int]:
        n = self.name
        return {
            f"{n}_size": int(self.stats[0]),
            f"{n}_entries": int(self.entered.size),
            f"{n}_exits": int(self.exited.size),
            f"{n}_persons_ever_listed": int(self.stats[3]),
            f"{n}_household_members_of_listed": int(self.stats[4]),
            f"{n}_innocents_listed": int(self.stats[5]),
        }

    def summary(self) -> list[str]:
        s = self.stats
        return [
            f"{self.name}: {s[0]:,} listed now ({s[5]:,} on a false record), {s[3]:,} ever listed, "
            f"{s[1]:,} entries and {s[2]:,} exits; {s[4]:,} household members of listed people"
        ]
