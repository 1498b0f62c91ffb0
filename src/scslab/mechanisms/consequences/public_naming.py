"""Public opinion supervision: disclosing and naming listed people, and what it costs them.

Seed article, quoting the 2014 planning outline: "strengthen disclosure and exposure of
trust-breaking acts ... shape moral condemnation". Each day a listed person who has not been named
yet is named with a daily probability (court websites, billboards, cinema screens, "deadbeat maps"
in messaging apps). Naming costs ties: each of the person's community ties cuts contact with a
probability. The cumulative count is the social cost this mechanism measures, with the share of
it borne by people listed on a false record. Ties are generated, not stored: a cut is only
counted, unless a ``tie_cutting`` mechanism stores cuts (``mechanisms/ties.py``). Then the cut
ties among the named person's first stored ties are cut for good, stored as the named person's
bits (their tie ``k`` cut contact with them): those ties no longer report the named person's acts
and no longer count in the person's commercial score. The draws are the same either way
(``_cuts_contact``), so the counts do not change; the store counts the ties it newly cut.

The people named today are kept on the record (``named_ids``): the ``backlash`` mechanism reads
them as a public punishment, seen by the named person's neighbourhood.

Owns the ``public_naming`` mechanism: who was named (a bit a person), today's named ids and the
counts of ties cut. Of other state it writes only the tie store's cut bits, where a
``tie_cutting`` mechanism keeps one; it changes no list and no score.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from numba import prange
from pydantic import Field

from scslab.engine.mechanism import Consequences, MechanismParams
from scslab.engine.steps import CompiledSteps, compiled_mechanism, today_of
from scslab.kernels.jit import kernel, step_kernel
from scslab.kernels.parallel import both_builds, run_threads
from scslab.kernels.rng import uniform
from scslab.kernels.sampling import compiled_bernoulli_ids_where
from scslab.kernels.structs import compiled_struct
from scslab.mechanisms.lists.base import ListBase
from scslab.mechanisms.ties import NAMING, cut_tie, tie_cuts

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation
    from scslab.population import Population


class PublicNamingParams(MechanismParams):
    """Who is named, how fast, and what it costs."""

    list: str = Field(default="court_list", description="The list whose members are named.")
    naming_rate: float = Field(
        default=0.01,
        ge=0.0,
        le=1.0,
        description="Daily chance that a listed person not yet named is named (assumption: most "
        "within a few months of listing).",
    )
    ties: int = Field(
        default=8,
        ge=0,
        le=64,
        description="Community ties exposed to the naming (assumption: 8, as informants.ties).",
    )
    tie_cut_prob: float = Field(
        default=0.1,
        ge=0.0,
        le=1.0,
        description="Chance that one tie cuts contact after a naming (assumption).",
    )


@kernel(inline="always")
def _cuts_contact(key, day, pid, k, p):
    """Whether the ``k``-th tie of ``pid``, named on ``day``, cuts contact (chance ``p``)."""
    return uniform(key, day, pid, k) < p


def _ties_cut(key, day, ids, ties, p):
    """How many of each named person's ``ties`` cut contact (each with chance ``p``)."""
    out = np.zeros(ids.size, np.int64)
    for i in prange(ids.size):
        for k in range(ties):
            if _cuts_contact(key, day, ids[i], k, p):
                out[i] += 1
    return out


_ties_cut = both_builds(_ties_cut)


class NamingRule(NamedTuple):
    """Who is named and what it costs, by name at both ends."""

    naming_key: np.uint64
    """Stream key of who is named today."""
    ties_key: np.uint64
    """Stream key of which ties cut contact."""
    rate: float
    """Daily chance that a listed person not yet named is named."""
    ties: int
    """Community ties exposed to a naming."""
    cut_prob: float
    """Chance that one tie cuts contact."""


NamingState = compiled_struct(
    "NamingState",
    ("listing", "named", "rule", "cuts", "n", "threads", "named_ids", "today"),
    __name__,
)
"""The list's record; the named flags and mask (``FlagBits``); the rule (``NamingRule``); the
cut ties it stores (``mechanisms/ties.py``; none stored without ``tie_cutting``); the
population and its ``run_threads``; who was named today, in order; the counts so far
(``today``: people named, innocents named, ties cut, innocents' ties cut)."""


@kernel
def _new_state(listing, named, rule, cuts, n, threads):
    empty = np.empty(0, np.int64)
    return NamingState(listing, named, rule, cuts, n, threads, empty, np.zeros(4, np.float64))


@step_kernel
def _step(day, board, s):
    lst = s.listing
    named, named_mask = s.named.flags, s.named.mask
    rule = s.rule
    listed = compiled_bernoulli_ids_where(
        rule.naming_key, day, s.n, rule.rate, lst.flags, lst.mask, s.threads
    )
    fresh = np.empty(listed.size, np.bool_)
    for i in range(listed.size):
        fresh[i] = (named[listed[i]] & named_mask) == 0  # not named yet
    ids = listed[fresh]
    s.named_ids = ids
    args = (rule.ties_key, day, ids, rule.ties, rule.cut_prob)
    cut = _ties_cut(s.threads, ids.size, *args)
    t = s.today
    stored = min(rule.ties, s.cuts.stored)
    for i in range(ids.size):
        for k in range(stored):  # the cuts, stored for good: the same draws as the counts
            if _cuts_contact(rule.ties_key, day, ids[i], k, rule.cut_prob):
                cut_tie(s.cuts, ids[i], k, NAMING)
        named[ids[i]] |= named_mask
        false = (lst.flags[ids[i]] & lst.false_mask) != 0
        t[0] += 1
        t[1] += false
        t[2] += cut[i]
        t[3] += cut[i] if false else 0


@kernel
def _named_ids(s):
    return s.named_ids


compiled_mechanism(NamingState, _step)


class PublicNaming(CompiledSteps, Consequences):
    """Names listed people publicly; counts the ties they lose (and cuts them, where stored)."""

    name = "public_naming"
    Params = PublicNamingParams
    description = "public naming of listed people and the ties it costs them"
    params: PublicNamingParams

    def declare(self, pop: Population) -> None:
        self.named = pop.state.add_flag(f"{self.name}_named")

    def init(self, sim: Simulation) -> None:
        p = self.params
        self.list = sim.get(p.list, ListBase, f"{self.name}.list")
        self.state = _new_state(
            self.list.state,
            self.named.bits(),
            NamingRule(
                naming_key=self.key("naming"),
                ties_key=self.key("ties"),
                rate=p.naming_rate,
                ties=p.ties,
                cut_prob=p.tie_cut_prob,
            ),
            tie_cuts(sim.pop, writer="naming"),
            sim.pop.n,
            run_threads(sim.pop.n),
        )
        self.today = today_of(self.state)
        """People named, innocents named, ties cut, innocents' ties cut, so far (shared)."""
        n = self.name
        self.metric_columns = (
            f"{n}_people_named",
            f"{n}_innocents_named",
            f"{n}_ties_cut",
            f"{n}_ties_cut_innocents",
        )

    @property
    def count(self) -> int:
        """People named so far."""
        return int(self.today[0])

    @property
    def count_innocent(self) -> int:
        """People named so far who were listed on a false record."""
        return int(self.today[1])

    @property
    def named_ids(self) -> np.ndarray:
        """Who was named today (in order)."""
        return _named_ids(self.state)

    @property
    def ties_cut(self) -> int:
        """Ties cut so far."""
        return int(self.today[2])

    @property
    def ties_cut_innocent(self) -> int:
        """Ties cut so far of people listed on a false record."""
        return int(self.today[3])

    def summary(self) -> list[str]:
        count, innocent, ties_cut, _ = map(int, self.today)
        return [
            f"{self.name}: {count:,} people named ({innocent:,} listed on a false record); "
            f"{ties_cut:,} ties cut"
        ]
