"""Collusion rings: members of a local group post positive records for each other.

A ring is a local group (``population/attributes.local_group``: a work team by default) chosen by
a hash of its id with chance ``ring_share``; a member of the group joins its ring when old enough
for every record the ring posts (the oldest ``catalogue.MIN_AGE`` of its acts and its penalty act:
18 by default, for commercial fraud) and
``uniform(key, 0, pid, 0) < join_prob * trait_factor(opportunism, pid, weight)``. Both are pure
functions of (seed, id): rings are recomputed, never stored, and members are neighbours in id,
like the ties they stand for (colleagues vouching for each other, faked mutual purchases).

Each day every member tries one trade at ``trade_rate`` with a ring-mate drawn among the group's
other places (a draw that lands on a non-member or an expelled member trades nothing, so a member
posts about ``trade_rate`` times the share of the group in the ring a day). The
record claims one of ``acts`` and has its own source, ``collusion`` (a false record). Draws run
over the rings' places (rings times group size; ``kernels/sampling``), so the cost grows with the
rings' members, not with the population. A trade is detected with chance ``detection_prob``: it
is blocked, both members get a true record of ``penalty_act`` from ``penalty_source``, and both
are expelled: marked ``fraud_detected`` (``adversary/fraud.py``, shared with the black market),
they trade no more, and nor does a member the black market caught.

Owns the list of ring groups (one integer per ring) and sets the shared ``fraud_detected`` bit;
stores nothing else per person. Writes nothing of any other mechanism; posts records only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np
from pydantic import Field

from scslab.catalogue import SOURCE_NAMES, ActName, Source, SourceName, act_by_name, source_by_name
from scslab.engine.board import FALSE_RECORDS, TRUE_RECORDS, post_records
from scslab.engine.mechanism import Adversary, MechanismParams, RecordKind, Scoring
from scslab.engine.steps import CompiledSteps, compiled_mechanism, today_of
from scslab.kernels.compact import kept
from scslab.kernels.jit import kernel, step_kernel
from scslab.kernels.parallel import run_threads
from scslab.kernels.rng import below, uniform
from scslab.kernels.sampling import compiled_bernoulli_ids
from scslab.kernels.structs import compiled_struct
from scslab.mechanisms.adversary.fraud import FRAUD_DETECTED
from scslab.mechanisms.ages import ActorAges, actor_ages, min_age_by_act, of_age
from scslab.mechanisms.scoring.compiled import may_count
from scslab.population.attributes import GROUP_KINDS, GROUP_SIZES, local_group_member, trait_factor

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation
    from scslab.population import Population

_COLLUSION = np.int16(Source.COLLUSION)


class CollusionParams(MechanismParams):
    """Rings, their trades, detection and penalty."""

    group: Literal["work", "school", "neighbourhood"] = Field(
        default="work",
        description="The kind of local group a ring forms in (assumption: colleagues).",
    )
    ring_share: float = Field(
        default=0.01,
        ge=0.0,
        le=1.0,
        description="Share of groups of that kind that hold a ring (assumption).",
    )
    join_prob: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Chance that a group member of mean opportunism joins the group's ring "
        "(assumption).",
    )
    opportunism_weight: float = Field(
        default=1.0,
        ge=-1.0,
        le=1.0,
        description="Effect of the opportunism trait on joining (assumption).",
    )
    trade_rate: float = Field(
        default=0.02,
        ge=0.0,
        le=1.0,
        description="Daily chance that a member tries a trade with a ring-mate drawn among the "
        "group's other places; a place without a member trades nothing, so a member posts about "
        "trade_rate x the share of the group in the ring a day (assumption: one try every 50 "
        "days, about one record every 125 at the default join_prob, with a fifth of a group too "
        "young to join).",
    )
    acts: list[ActName] = Field(
        default=["online_purchase", "prosocial_act"],
        min_length=1,
        description="Acts the traded records claim, one drawn per trade (assumption: faked "
        "purchases and vouched good deeds).",
    )
    detection_prob: float = Field(
        default=0.01,
        ge=0.0,
        le=1.0,
        description="Chance that a trade is detected (assumption).",
    )
    penalty_act: ActName = Field(
        default="commercial_fraud",
        description="The act a detected member's penalty claims (default commercial fraud: an "
        "assumption, as for the black market).",
    )
    penalty_source: SourceName = Field(
        default="ecommerce",
        description="The source that records a detected member's penalty (default the e-commerce "
        "platform whose records were traded: an assumption).",
    )


class RingRule(NamedTuple):
    """Rings, members and trades, by name at both ends."""

    groups_key: np.uint64
    """The population's local groups."""
    kind: int
    """The kind of group (``attributes.GROUP_KINDS``)."""
    size: int
    """People per group of that kind."""
    member_key: np.uint64
    """Stream key of who joins a ring."""
    opportunism_key: np.uint64
    """The population's opportunism trait."""
    join_prob: float
    weight: float
    """The opportunism weight."""
    trade_key: np.uint64
    """Stream key of today's trades (over the rings' places)."""
    pick_key: np.uint64
    """Stream key of a trade's ring-mate, act and detection."""
    trade_rate: float
    acts: np.ndarray
    """The acts a trade may claim (int16)."""
    detection_prob: float
    penalty_act: np.int16
    penalty_source: np.int16
    ages: ActorAges
    """What it reads of ages: a ring member is old enough for every record the ring posts."""
    min_age: int
    """The youngest member's age: the oldest minimum age (``catalogue.MIN_AGE``) of the traded
    acts and the penalty act (commercial fraud: 18)."""


CollusionState = compiled_struct(
    "CollusionState", ("rule", "rings", "expelled", "n", "threads", "totals", "today"), __name__
)
"""The rule (``RingRule``); the ring groups' ids (sorted); the shared ``fraud_detected`` bit
(``FlagBits``); the population and its ``run_threads``; trades, detected trades and expelled members
so far (``totals``); today's metrics (ring members, trades today, trades so far, detected trades so
far, expelled so far)."""


@kernel
def _new_state(rule, rings, expelled, n, threads, members):
    today = np.zeros(5, np.float64)
    today[0] = members
    return CollusionState(rule, rings, expelled, n, threads, np.zeros(3, np.int64), today)


@kernel
def _member(rule, pid):
    """Whether ``pid`` (of a ring group) joins its ring: old enough, and drawn to."""
    p = rule.join_prob * trait_factor(rule.opportunism_key, pid, rule.weight)
    return of_age(rule.ages, pid, rule.min_age) and uniform(rule.member_key, 0, pid, 0) < p


@kernel
def _members(rule, rings, n):
    """Ring members (people of ring groups who join)."""
    total = 0
    for r in range(rings.size):
        for k in range(rule.size):
            pid = local_group_member(rule.groups_key, rings[r], rule.kind, k, n)
            total += pid >= 0 and _member(rule, pid)
    return total


@kernel
def _active(s, pid):
    return pid >= 0 and (s.expelled.flags[pid] & s.expelled.mask) == 0 and _member(s.rule, pid)


@kernel
def _trades(s, day):
    """Today's trades: (beneficiary, act) of those posted; members of detected trades."""
    rule, size = s.rule, s.rule.size
    places = compiled_bernoulli_ids(
        rule.trade_key, day, s.rings.size * size, rule.trade_rate, s.threads
    )
    got = np.empty(places.size, np.int64)
    acts = np.empty(places.size, np.int16)
    posted = np.zeros(places.size, np.bool_)
    caught = np.empty(2 * places.size, np.int64)
    n_caught = 0
    for i in range(places.size):
        group, k = s.rings[places[i] // size], places[i] % size
        pid = local_group_member(rule.groups_key, group, rule.kind, k, s.n)
        if not _active(s, pid):
            continue
        other = below(rule.pick_key, day, pid, 0, size - 1)
        other += other >= k  # another place of the group
        mate = local_group_member(rule.groups_key, group, rule.kind, other, s.n)
        if not _active(s, mate):
            continue
        if uniform(rule.pick_key, day, pid, 1) < rule.detection_prob:
            for who in (pid, mate):
                s.expelled.flags[who] |= s.expelled.mask
                caught[n_caught] = who
                n_caught += 1
            continue
        got[i] = mate
        acts[i] = rule.acts[below(rule.pick_key, day, pid, 2, rule.acts.size)]
        posted[i] = True
    return kept(got, posted), kept(acts, posted), caught[:n_caught]


@step_kernel
def _step(day, board, s):
    rule = s.rule
    got, acts, caught = _trades(s, day)
    post_records(board, got, acts, _COLLUSION, FALSE_RECORDS)
    post_records(board, caught, rule.penalty_act, rule.penalty_source, TRUE_RECORDS)
    s.totals[0] += got.size
    s.totals[1] += caught.size // 2
    s.totals[2] += caught.size
    t = s.today
    t[1], t[2], t[3], t[4] = got.size, s.totals[0], s.totals[1], s.totals[2]


compiled_mechanism(CollusionState, _step)


class Collusion(CompiledSteps, Adversary):
    """Rings in local groups whose members post positive records for each other."""

    name = "collusion"
    Params = CollusionParams
    description = "collusion rings: members of a local group trade positive records"
    params: CollusionParams

    def records_posted(self, acts_drawn: set[str] | None = None) -> list[RecordKind]:
        """The traded records' acts, and the detected members' penalty if any is detected."""
        p = self.params
        traded = [RecordKind(source=SOURCE_NAMES[Source.COLLUSION], act=a) for a in p.acts]
        penalty = (
            [RecordKind(source=p.penalty_source, act=p.penalty_act)] if p.detection_prob > 0 else []
        )
        return traded + penalty

    def declare(self, pop: Population) -> None:
        self.expelled_flag = pop.state.shared_flag(FRAUD_DETECTED)

    def init(self, sim: Simulation) -> None:
        p, pop = self.params, sim.pop
        self.sim_mechanisms = list(sim.mechanisms.values())
        """The run's mechanisms: the summary asks its scorers whether they count the trades."""
        kind = GROUP_KINDS.index(p.group)
        size = GROUP_SIZES[kind]
        rule = RingRule(
            groups_key=pop.keys.groups,
            kind=kind,
            size=size,
            member_key=self.key("members"),
            opportunism_key=pop.keys.opportunism,
            join_prob=p.join_prob,
            weight=p.opportunism_weight,
            trade_key=self.key("trades"),
            pick_key=self.key("pick"),
            trade_rate=p.trade_rate,
            acts=np.asarray([act_by_name(a) for a in p.acts], np.int16),
            detection_prob=p.detection_prob,
            penalty_act=np.int16(act_by_name(p.penalty_act)),
            penalty_source=np.int16(source_by_name(p.penalty_source)),
            ages=actor_ages(pop),
            min_age=int(max(min_age_by_act()[[act_by_name(a) for a in (*p.acts, p.penalty_act)]])),
        )
        groups = (pop.n + size - 1) // size + 1  # ids are shifted by less than a group
        threads = run_threads(pop.n)
        rings = compiled_bernoulli_ids(self.key("rings"), 0, groups, p.ring_share, threads)
        expelled = self.expelled_flag.bits()
        self.members = int(_members(rule, rings, pop.n))
        self.state = _new_state(rule, rings, expelled, pop.n, threads, self.members)
        self.today = today_of(self.state)
        n = self.name
        self.metric_columns = (
            f"{n}_ring_members",
            f"{n}_traded_records",
            f"{n}_traded_records_total",
            f"{n}_detected_trades_total",
            f"{n}_expelled_total",
        )

    def summary(self) -> list[str]:
        """What the rings traded; and, if no scorer of the run counts a traded record, that."""
        line = (
            f"{self.name}: {self.members:,} ring members traded {int(self.today[2]):,} records; "
            f"{int(self.today[3]):,} trades detected, {int(self.today[4]):,} members expelled"
        )
        if not self._counted_by_a_scorer():
            line += (
                f"; no scorer of this run counts a record of {', '.join(self.params.acts)} from "
                "source collusion, so the trades changed no score (add 'collusion' to a scorer's "
                "sources)"
            )
        return [line]

    def _counted_by_a_scorer(self) -> bool:
        """Whether some scorer of the run counts a traded record (True where one cannot say)."""
        acts = [act_by_name(a) for a in self.params.acts]
        return any(
            may_count(m, acts, Source.COLLUSION)
            for m in self.sim_mechanisms
            if isinstance(m, Scoring)
        )
