"""Sector sanctions on a list's members: the shared machinery of travel bans and joint punishment.

In each sector people attempt something (buy a ticket, apply for a job, enrol a child) at a daily
rate. An attempt is blocked, with the sector's enforcement probability, when the person is on the
list or, where the sector extends to the family, when someone in their household is. Attempts are
sampled over the whole population (the cost grows with attempts, not with the list) and are drawn
per person, so the same person makes the same attempts in every scenario that shares a seed.
A blocked attempt in a sector that costs income marks the person as having lost income, which the
``debt`` mechanism reads (lower ability to repay) until they leave the list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit, prange
from pydantic import BaseModel, ConfigDict, Field

from scslab.engine.mechanism import Consequences
from scslab.kernels.compact import kept
from scslab.kernels.memory import prefetch_ahead
from scslab.kernels.parallel import PARALLEL_MIN_ITEMS, both_builds
from scslab.kernels.rng import uniform
from scslab.kernels.sampling import compiled_bernoulli_ids
from scslab.mechanisms.lists.base import ListBase
from scslab.population.households import household_size, household_start

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation
    from scslab.population import Population

INCOME_LOST = "income_lost"
"""Name of the per-person flag set when a sanction costs someone their income."""


class Sector(BaseModel):
    """One sector of sanctions."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    attempt_rate: float = Field(ge=0.0, le=1.0, description="Attempts per person per day.")
    enforcement: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description="Chance an attempt by a sanctioned person is blocked.",
    )
    family_extension: bool = Field(
        default=False, description="Also block household members of listed people."
    )
    income_loss: bool = Field(
        default=False, description="A blocked attempt costs the person their income."
    )


def _blocked(ids, flags, mask, false_flags, false_mask, households, family, key, day, enforcement):
    """Of today's attempts ``ids``: (blocked ids, how many of household members, how many falsely).

    "Of household members": blocked because someone in their household is listed; "falsely": the
    person is listed on a false record. An attempt is sanctioned when the person is listed
    (``flags & mask``) or, with ``family``, someone in their household is; a sanctioned attempt
    is blocked with probability ``enforcement`` (draw ``(key, day, person, 0)``).
    """
    how = np.zeros(ids.size, np.int8)  # 1: listed, 2: a listed person's household member
    for i in prange(ids.size):
        prefetch_ahead(flags, ids, i)
        pid = ids[i]
        if flags[pid] & mask:
            how[i] = 1
        elif family:
            start = household_start(households, pid)
            for j in range(start, start + household_size(households, pid)):
                if flags[j] & mask:
                    how[i] = 2
                    break
        if how[i] and enforcement < 1.0 and not uniform(key, day, pid, 0) < enforcement:
            how[i] = 0
    blocked = kept(ids, how)
    of_family = innocent = 0
    for i in range(how.size):
        of_family += how[i] == 2
    for pid in blocked:
        innocent += (false_flags[pid] & false_mask) != 0
    return blocked, of_family, innocent


_blocked, _blocked_one_thread = both_builds(_blocked)


@njit(cache=True)
def _attempts_blocked(
    attempt_key, n, rate, flags, mask, false_flags, false_mask, households, family, key, day, p
):
    """Draw today's attempts (rate ``rate`` over ``n`` people) and block them: see ``_blocked``.

    One compiled call per sector and day; ``p`` is the enforcement probability.
    """
    ids = compiled_bernoulli_ids(attempt_key, day, n, rate)
    args = (ids, flags, mask, false_flags, false_mask, households, family, key, day, p)
    if ids.size >= PARALLEL_MIN_ITEMS:
        return _blocked(*args)
    return _blocked_one_thread(*args)


class SectorSanctions(Consequences):
    """Base of sanction mechanisms: subclasses say which list and which sectors."""

    def list_name(self) -> str:
        """The list whose members are sanctioned."""
        raise NotImplementedError

    def sectors(self) -> dict[str, Sector]:
        """Sector name -> rules; metric columns are ``{name}_blocked``."""
        raise NotImplementedError

    def declare(self, pop: Population) -> None:
        if any(s.income_loss for s in self.sectors().values()):
            self.income_lost = pop.state.shared_flag(INCOME_LOST)
        else:
            self.income_lost = None

    def init(self, sim: Simulation) -> None:
        lst = sim.get(self.list_name(), ListBase, f"{self.name}.list")
        self.list = lst
        self.flag = lst.flag
        self.households = sim.pop.households
        self.rules = self.sectors()
        self.attempt_keys = {name: self.key(f"{name}/attempt") for name in self.rules}
        self.enforce_keys = {name: self.key(f"{name}/enforce") for name in self.rules}
        self.blocked = {name: 0 for name in self.rules}
        self.blocked_family = {name: 0 for name in self.rules}
        self.blocked_innocent = {name: 0 for name in self.rules}
        self.blocked_ids = np.empty(0, np.int64)
        self.newly_income_lost = np.empty(0, np.int64)
        self.attempted = [(n, r) for n, r in self.rules.items() if r.attempt_rate > 0]
        self.family_sectors = [n for n, r in self.rules.items() if r.family_extension]
        self.columns = {
            n: (f"{n}_blocked", f"{n}_blocked_innocent", f"{n}_blocked_family") for n in self.rules
        }

    def step(self, sim: Simulation, day: int) -> None:
        parts = [np.empty(0, np.int64)]
        lost = []
        for name, rule in self.attempted:  # a sector nobody attempts blocks nobody
            ids, family, innocent = _attempts_blocked(
                self.attempt_keys[name],
                sim.pop.n,
                rule.attempt_rate,
                self.flag.array,
                self.flag.mask,
                self.list.false_flag.array,
                self.list.false_flag.mask,  # listed on a false record: no true offence
                self.households,
                rule.family_extension,
                self.enforce_keys[name],
                day,
                rule.enforcement,
            )
            self.blocked[name] += ids.size
            self.blocked_family[name] += family
            self.blocked_innocent[name] += innocent
            parts.append(ids)
            if rule.income_loss:
                lost.append(ids)
        # the empty first part when no sector is attempted, the one sector's ids without a copy
        self.blocked_ids = np.concatenate(parts) if len(parts) > 2 else parts[-1]
        if self.income_lost is not None:
            arr, mask = self.income_lost.array, self.income_lost.mask
            arr[self.list.exited] &= ~mask  # income comes back with leaving the list
            lost_ids = np.unique(np.concatenate(lost)) if lost else np.empty(0, np.int64)
            self.newly_income_lost = lost_ids[(arr[lost_ids] & mask) == 0]
            arr[self.newly_income_lost] |= mask

    def metrics(self, day: int) -> dict[str, float | int]:
        cols = self.columns
        out: dict[str, float | int] = {cols[n][0]: c for n, c in self.blocked.items()}
        for n, c in self.blocked_innocent.items():
            out[cols[n][1]] = c
        for n in self.family_sectors:
            out[cols[n][2]] = self.blocked_family[n]
        if self.income_lost is not None:
            out[f"{self.name}_income_lost_new"] = int(self.newly_income_lost.size)
        return out

    def summary(self) -> list[str]:
        top = sorted(self.blocked.items(), key=lambda kv: -kv[1])
        text = ", ".join(f"{n.replace('_', ' ')} {c:,}" for n, c in top)
        fam = sum(self.blocked_family.values())
        extra = f" ({fam:,} of them household members)" if fam else ""
        return [f"{self.name}: blocked {text}{extra}"]
