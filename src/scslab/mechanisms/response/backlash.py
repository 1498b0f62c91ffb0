"""Approval of each programme, the backlash against it, and its end when approval stays too low.

A *programme* is a named set of the scenario's mechanisms (a county's point system and its
sanctions; a firm's score and its loans). Each person's opinion of a programme starts from a
trait recomputed from (seed, id), uniform in [0, 1), and moves with what they experience and see:

- it falls by ``harm_drop`` once the programme has punished them: they entered one of its lists,
  one of its sanctions blocked or refused them, it named them in public, or they learned a score
  of theirs below one of its ``low_scores`` lines (each day a share ``score_notice_rate`` of
  people learn their score);
- it falls by ``witness_drop`` once they have seen it punish someone: anyone in their household
  (themselves included) or, for a programme that makes its punishments ``public``, in their
  neighbourhood (the residents' committee's block of ``population.attributes``, 250 people) was
  punished ("strengthen disclosure and exposure of trust-breaking acts", the 2014 outline the
  seed article quotes). A public naming is seen by the neighbourhood whatever the programme;
- it falls by ``innocent_drop`` more once their neighbourhood has seen it punish an innocent (a
  person listed on a false record, blocked or named while so listed, or rejected on false
  dossier entries alone): word of a wrongful punishment goes round the neighbourhood whatever
  the programme's ``public``. With ``innocent_drop`` 0 innocence changes nothing;
- it rises by ``reward_lift`` once one of its rewards was granted to them.

Backlash spreads as a threshold cascade (Granovetter 1978, ``kernels/cascade.py``): a person
turns against the programme once the share of people already against it reaches their threshold,
``(opinion - cut) / persuasion`` (0 for an opinion below the cut: they are against it from the
start). ``persuasion`` is how far hearing everyone's objections moves an opinion. The ``cut`` is
set so that the cascade's fixed point on day 0, before anyone has experienced anything, leaves
``approval_at_start`` of people approving. Each day the cascade runs to its fixed point;
approval is the share not against the programme. A programme whose approval stays below
``abandon_below`` for ``patience_days`` days in a row is abandoned: its mechanisms stop from the
next day (``Simulation.last_days``, lowered from the kernel), in the compiled day plan and in the
Python loop alike, and the manifest and the summary say on which day and why. So do the lists,
sanctions and rewards outside it that act on its lists or scores (``ENFORCING_FAMILIES``, found
through ``Simulation.readers``): its lists stand still once it ends, and a travel ban of another
programme, or of none, would otherwise go on enforcing them.

What people experienced is read from the other mechanisms' records, never re-implemented: a
list's entries of the day (``entered``), a sanction's blocked or refused people (``blocked_ids``,
``refused_ids``), the people named today (``named_ids``), a dossier's rejections
(``rejected_ids``), a reward's grants (``granted_ids``) and a score through its scorer's compiled
kernels (``scoring/compiled.py``). Whether a punished person was innocent is read the same way
(``innocent_of``): a list's own bit of people listed on a false record (``flags`` and
``false_mask``), that of the list a sanction or a naming reads (``listing``), or a dossier's
``rejected_on_false``. A member that neither punishes nor rewards anyone this way (a scorer
without a ``low_scores`` line) moves no approval, and the summary says so.

Per person this keeps at most two bits per programme, packed into free bits of the flag bytes
(``add_flag``: the first byte with room): *punished* (for a programme that punishes) and *rewarded*
(for one that rewards); and one byte per neighbourhood and programme (the worst it has seen:
nothing, a punishment, a punishment of an innocent; 0.004 bytes a person). Innocence is kept in that
byte only, not per person, so that it costs no bit: with every adversary and response on,
``integrated_2020`` uses all 24 bits of its three flag bytes. The base opinion is recomputed from
(seed, id) and what a person saw from the household's bits and the neighbourhood's byte, so a
person's threshold is never stored: a histogram of thresholds per programme (1,001 bins) moves
people from bin to bin as they experience something, and the cascade reads the histogram. The work
grows with the day's events, not with the population.

Owns: the programmes' bits, histograms and approval. Must not touch: the records it reads (it
only reads them) and any plan entry but those of its programmes' mechanisms and of the
mechanisms that act on theirs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numba
import numpy as np
from numba import literal_unroll, prange
from numba.experimental.structref import StructRefProxy
from pydantic import Field, field_validator

from scslab.engine.mechanism import Ending, MechanismParams, Observer, Response
from scslab.engine.steps import CompiledSteps, compiled_mechanism, today_of
from scslab.errors import ScenarioError
from scslab.kernels.cascade import cascade
from scslab.kernels.jit import kernel, kernel_overload, step_kernel
from scslab.kernels.memory import prefetch_ahead
from scslab.kernels.parallel import both_builds, run_threads
from scslab.kernels.rng import stream_key
from scslab.kernels.sampling import compiled_bernoulli_ids
from scslab.kernels.structs import FlagBits, compiled_struct
from scslab.kernels.traits import trait
from scslab.mechanisms.common import column_names
from scslab.mechanisms.lists.base import entered_on
from scslab.mechanisms.scoring.compiled import compiled_scorer, has_score
from scslab.mechanisms.scoring.compiled import scores as scores_of
from scslab.parameter_tables import ParameterTable
from scslab.population.attributes import (
    GROUP_SIZES,
    NEIGHBOURHOOD,
    local_group,
    local_group_member,
)
from scslab.population.households import household_size, household_start

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation
    from scslab.population import Population

BINS = 1000
"""Thresholds are kept as shares of the population in this many bins (and one more: never)."""

PUNISHING_FIELDS = ("entered", "blocked_ids", "refused_ids", "named_ids", "rejected_ids")
"""Record fields holding the people a mechanism punished today: a list's entries, a sanction's
blocked attempts, a score sanction's refusals, the people named in public, a dossier's job
rejections."""
PUBLIC_FIELDS = ("named_ids",)
"""Of them, those whose punishments the neighbourhood sees whatever the programme's ``public``."""
REWARDING_FIELDS = ("granted_ids",)
"""Record fields holding the people a mechanism rewarded today."""

DEFAULT_FAMILIES = ("scoring", "lists", "consequences")
"""The families whose enabled mechanisms make up the one programme of a scenario that names none."""
DEFAULT_PROGRAMME = "programme"
ENFORCING_FAMILIES = ("lists", "consequences")
"""Families whose mechanisms list, punish or reward by what they read: each stops when a
programme whose lists or scores it reads is abandoned (``Backlash._stopped_with``)."""

PUNISHED, WITNESSES, REWARDED, INNOCENTS = range(4)
"""Columns of a programme's row of ``counts``: people punished, people who saw a punishment at
home or in their neighbourhood, people rewarded, punishments of innocents (so far; each listing,
blocked attempt, naming or rejection of an innocent counts)."""
METRICS = ("approval", "punished", "witnesses", "rewarded", "punishments_of_innocents")
"""Each programme's metrics, in order: approval (a share), then the four counts."""
SEEN, SEEN_INNOCENT = 1, 2
"""What a person or a neighbourhood has seen of a programme's punishments (0: none): a
punishment, a punishment of an innocent."""


class Programme(ParameterTable):
    """One programme: its mechanisms, its approval at the start and how much it tolerates."""

    mechanisms: list[str] = Field(
        min_length=1,
        description="The scenario's mechanisms that make up the programme: what they do to "
        "people moves its approval, and they stop together when it is abandoned, with any "
        "list, sanction or reward outside it that acts on its lists or scores.",
    )
    approval_at_start: float = Field(
        default=0.8,
        gt=0.0,
        lt=1.0,
        description="Share of people approving of it on day 0, before anyone has experienced it "
        "(calibration/public_opinion.csv kostka_2019: about 80% of 2,200 internet users view "
        "government and commercial systems positively).",
    )
    abandon_below: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="It is abandoned when its approval stays below this share (assumption: "
        "once a majority turns against it).",
    )
    patience_days: int = Field(
        default=30,
        ge=1,
        le=36_500,
        description="Days in a row its approval must stay below ``abandon_below`` before it is "
        "abandoned (assumption: about a month).",
    )
    public: bool = Field(
        default=True,
        description="Whether its punishments are made public, so that the whole neighbourhood "
        "sees them (lists, grades and names: the 2014 outline the seed article quotes, "
        '"strengthen disclosure and exposure of trust-breaking acts"); if not, only the '
        "household does (a private firm's refusal).",
    )
    low_scores: dict[str, int] = Field(
        default={},
        description="Scoring mechanism of the programme -> a score below which a person who "
        "learns their score takes it as a punishment (a refused loan, a low grade made "
        "public). None by default.",
    )


class BacklashParams(MechanismParams):
    """Programmes and how opinions move."""

    programmes: dict[str, Programme] = Field(
        default={},
        description="Programme name -> its mechanisms and approval; metric columns are "
        "{programme}_approval, _punished, _witnesses, _rewarded and "
        "_punishments_of_innocents. Empty (the "
        "default): one programme named 'programme' made of every enabled scoring, list and "
        "consequence mechanism.",
    )
    persuasion: float = Field(
        default=0.24,
        ge=0.0,
        lt=1.0,
        description="How far an opinion (on a 0-1 scale) moves when everyone else has turned "
        "against the programme: a person joins the backlash when the share against it times "
        "this reaches their margin of approval (calibration/public_opinion.csv "
        "merics_2020_students: after hearing pros and cons, approval of an aggregated score fell "
        "from 53% to 29%, by 24 points; reading that fall in the share approving as a shift of "
        "each opinion is an assumption).",
    )
    harm_drop: float = Field(
        default=0.3,
        ge=0.0,
        le=1.0,
        description="How far a person's opinion falls once the programme has punished them "
        "(assumption: more than hearing of repression, xu_2022 in calibration/public_opinion.csv, "
        "which cut support by 12%).",
    )
    witness_drop: float = Field(
        default=0.12,
        ge=0.0,
        le=1.0,
        description="How far a person's opinion falls once they have seen the programme punish "
        "someone: a household member, or, for a programme whose punishments are public, anyone "
        "in their neighbourhood (calibration/public_opinion.csv xu_2022: information about "
        "repression cut support by 12%; taking that relative cut as 0.12 on the 0-1 opinion "
        "scale is an assumption: on xu_2022's mean of 7.5 of 10 it is about 0.09).",
    )
    innocent_drop: float = Field(
        default=0.12,
        ge=0.0,
        le=1.0,
        description="How far a person's opinion falls more once their neighbourhood has seen the "
        "programme punish an innocent: someone listed on a false record, or punished while so "
        "listed (assumption: as much again as seeing a punishment, witness_drop; "
        "calibration/public_opinion.csv germany_2019_yougov: 61% fear being wrongly rated). 0: "
        "innocence changes nothing.",
    )
    reward_lift: float = Field(
        default=0.1,
        ge=0.0,
        le=1.0,
        description="How far a person's opinion rises once the programme has rewarded them "
        "(assumption).",
    )
    score_notice_rate: float = Field(
        default=1 / 365,
        ge=0.0,
        le=1.0,
        description="Daily chance that a person learns their score, for the ``low_scores`` lines "
        "(assumption: once a year, as Suining graded its residents yearly; "
        "calibration/local_point_systems.csv residents_graded).",
    )

    def settings_unused(self) -> dict[str, str]:
        return self.given_but_unused(
            not any(p.low_scores for p in self.programmes.values()),
            ("score_notice_rate",),
            "no programme has a low_scores line, so a score learned moves no approval",
        )

    def without(self, name: str) -> BacklashParams:
        """Each programme without the mechanism ``name``; a programme left with none goes.

        Unchanged where every programme would go (the default programme, every scoring, list
        and consequence mechanism, is not what the scenario asked for): the set-up then refuses
        the programmes that name ``name``.
        """
        kept = {
            programme: p.model_copy(
                update={
                    "mechanisms": [m for m in p.mechanisms if m != name],
                    "low_scores": {k: v for k, v in p.low_scores.items() if k != name},
                }
            )
            for programme, p in self.programmes.items()
            if [m for m in p.mechanisms if m != name]
        }
        if not kept or kept == self.programmes:
            return self
        return self.model_copy(update={"programmes": kept})

    @field_validator("programmes")
    @classmethod
    def _names(cls, value: dict[str, Programme]) -> dict[str, Programme]:
        seen: dict[str, str] = {}
        for name, programme in column_names(value, "programme").items():
            for member in programme.mechanisms:
                if seen.get(member) == name:
                    raise ValueError(f"{member!r} is named twice in programme {name!r}")
                if member in seen:
                    raise ValueError(f"{member!r} is in two programmes: {seen[member]}, {name}")
                seen[member] = name
        return value


class OpinionRule(NamedTuple):
    """How opinions move and become thresholds, by name at both ends."""

    key: np.uint64
    """Stream key of the base opinion trait (uniform in [0, 1), from (seed, id))."""
    harm_drop: float
    witness_drop: float
    innocent_drop: float
    reward_lift: float
    persuasion: float
    cuts: np.ndarray
    """Per programme: the opinion below which a person is against it whatever others do."""
    public: np.ndarray
    """Per programme: whether its punishments are seen in the neighbourhood (else at home)."""


class Experience(NamedTuple):
    """A mechanism of a programme whose record says whom it punished or rewarded today."""

    programme: int
    rewarding: bool
    public: bool
    """Whether the neighbourhood sees its punishments (the programme's ``public``, or a naming)."""
    record: Any


class Grading(NamedTuple):
    """A score of a programme that people learn now and then, and its line."""

    programme: int
    key: np.uint64
    """Stream key of who learns their score today."""
    rate: float
    line: int
    """A score below this is taken as a punishment."""
    scorer: Any
    """The scorer's record (read through ``scoring/compiled.py``)."""
    first_day: int
    """The scorer's first day: before it nobody learns the score (a point system's base score
    would read as earned)."""


class Abandonment(NamedTuple):
    """When each programme is abandoned, and the plan entries it stops."""

    abandon_below: np.ndarray
    patience_days: np.ndarray
    last_days: np.ndarray
    """``Simulation.last_days`` (shared): the last day each plan row steps."""
    positions: np.ndarray
    """The plan rows of the programmes' mechanisms."""
    position_programme: np.ndarray
    """The programme of each of ``positions``."""


BacklashState = compiled_struct(
    "BacklashState",
    (
        "rule",
        "punished",
        "rewarded",
        "households",
        "groups_key",
        "seen",
        "n",
        "threads",
        "hist",
        "experiences",
        "gradings",
        "abandonment",
        "approval",
        "days_below",
        "ended_day",
        "counts",
        "today",
    ),
    __name__,
)
"""The ``OpinionRule``; per programme the punished and rewarded bits (``FlagBits``; mask 0: not
kept); the households; the neighbourhoods' key and, per programme and neighbourhood, the worst it
has seen (0, ``SEEN``, ``SEEN_INNOCENT``); the population and its
``run_threads``; per programme the histogram of thresholds (``BINS + 1`` bins); the
``Experience`` and ``Grading`` tuples; the ``Abandonment``; per programme today's approval, the
days in a row below its line, the day it ended (-1: running), and counts (``PUNISHED``,
``WITNESSES``, ``REWARDED``, ``INNOCENTS``); today's metrics (``METRICS`` per programme)."""


@kernel(inline="always")
def threshold_bin(opinion: float, cut: float, persuasion: float) -> int:
    """The histogram bin of a person's threshold: ``(opinion - cut) / persuasion`` in BINS."""
    margin = opinion - cut
    if margin <= 0.0:
        return 0
    if margin >= persuasion:
        return BINS
    return int(margin / persuasion * BINS)


@kernel(inline="always")
def _is_set(bits, pid):
    return bits.mask != 0 and (bits.flags[pid] & bits.mask) != 0


@kernel
def _household_punished(households, punished, pid):
    """Whether someone in ``pid``'s household (``pid`` too) has been punished."""
    start = household_start(households, pid)
    for m in range(start, start + household_size(households, pid)):  # noqa: SIM110 (numba)
        if _is_set(punished, m):
            return True
    return False


@kernel
def _saw(s, p, pid, group):
    """The worst ``pid`` (of neighbourhood ``group``) has seen programme ``p`` do.

    0, ``SEEN`` (a punishment at home or nearby) or ``SEEN_INNOCENT`` (one of an innocent nearby).
    """
    home = SEEN if _household_punished(s.households, s.punished[p], pid) else 0
    return max(np.int64(s.seen[p, group]), home)


@kernel(inline="always")
def _opinion(rule, leaning, punished, rewarded):
    """An opinion but for what its holder saw: their trait's ``leaning``, punished, rewarded."""
    opinion = leaning
    if punished:
        opinion -= rule.harm_drop
    if rewarded:
        opinion += rule.reward_lift
    return opinion


@kernel
def _own_opinion(s, p, pid):
    """``pid``'s opinion of programme ``p`` but for what they saw: trait, punishment, reward."""
    punished, rewarded = _is_set(s.punished[p], pid), _is_set(s.rewarded[p], pid)
    return _opinion(s.rule, trait(s.rule.key, pid), punished, rewarded)


@kernel(inline="always")
def _bin(s, p, own, saw):
    """The threshold bin of an opinion ``own``, lowered by what the person ``saw``."""
    rule = s.rule
    opinion = own
    if saw >= SEEN:
        opinion -= rule.witness_drop
    if saw >= SEEN_INNOCENT:
        opinion -= rule.innocent_drop
    return threshold_bin(opinion, rule.cuts[p], rule.persuasion)


@kernel
def _bins_of(s, p, pid):
    """Person ``pid``'s threshold bins for programme ``p`` without and with its reward.

    Recomputed from (seed, id) and the bits: what they saw and their trait, read once for both.
    """
    saw = _saw(s, p, pid, local_group(s.groups_key, pid, NEIGHBOURHOOD))
    leaning, punished = trait(s.rule.key, pid), _is_set(s.punished[p], pid)
    without = _bin(s, p, _opinion(s.rule, leaning, punished, False), saw)
    return without, _bin(s, p, _opinion(s.rule, leaning, punished, True), saw)


@kernel
def _bin_of(s, p, pid):
    """Person ``pid``'s threshold bin for programme ``p``, recomputed from (seed, id) and bits."""
    without, with_reward = _bins_of(s, p, pid)
    return with_reward if _is_set(s.rewarded[p], pid) else without


@kernel
def _see(s, p, pid, group, punished, level):
    """``pid`` (of neighbourhood ``group``) sees a punishment of ``level``, theirs if ``punished``.

    Moves them from the bin of before (nothing set yet) to the bin of after.
    """
    own = _own_opinion(s, p, pid)
    saw = _saw(s, p, pid, group)
    after = _bin(s, p, own - s.rule.harm_drop if punished else own, max(saw, level))
    s.hist[p, _bin(s, p, own, saw)] -= 1
    s.hist[p, after] += 1
    s.counts[p, WITNESSES] += np.int64(saw == 0)


@kernel
def _punish(s, p, pid, innocent, public):
    """``pid`` was punished by programme ``p``: whoever sees something new moves bins.

    ``innocent``: on a false record; ``public``: the neighbourhood sees every punishment. Their
    household sees it; the neighbourhood sees it the first time it is public or of an innocent
    (word of a wrongful punishment goes round whatever ``public``; only with ``innocent_drop``
    above 0). Each is moved once, from the bin of before to the bin of after; the bits are set
    last.
    """
    bits = s.punished[p]
    if bits.mask == 0:
        return
    s.counts[p, INNOCENTS] += np.int64(innocent)
    wronged = innocent and s.rule.innocent_drop > 0.0  # news in the neighbourhood
    nearby = SEEN_INNOCENT if wronged else (SEEN if public else 0)
    new = not _is_set(bits, pid)
    key = s.groups_key
    group = local_group(key, pid, NEIGHBOURHOOD)
    fresh = nearby > s.seen[p, group]
    if not (new or fresh):
        return
    if fresh:  # the neighbourhood's first such punishment: every member sees it
        for j in range(GROUP_SIZES[NEIGHBOURHOOD]):
            member = local_group_member(key, group, NEIGHBOURHOOD, j, s.n)
            if member >= 0:
                _see(s, p, member, group, new and member == pid, nearby)
    if new:
        start = household_start(s.households, pid)
        for m in range(start, start + household_size(s.households, pid)):
            home = local_group(key, m, NEIGHBOURHOOD)
            if not fresh or home != group:  # not twice: members outside the neighbourhood
                _see(s, p, m, home, m == pid, SEEN)
    bits.flags[pid] |= bits.mask
    if fresh:
        s.seen[p, group] = nearby
    s.counts[p, PUNISHED] += np.int64(new)


@kernel
def _reward(s, p, pid):
    """``pid`` was rewarded by programme ``p``: they move bins."""
    bits = s.rewarded[p]
    if bits.mask == 0 or _is_set(bits, pid):
        return
    before, after = _bins_of(s, p, pid)  # ``_bin_of`` with the bit unset, then set
    bits.flags[pid] |= bits.mask
    s.counts[p, REWARDED] += 1
    s.hist[p, before] -= 1
    s.hist[p, after] += 1


def acted_on(record, day):
    """Whom the mechanism keeping ``record`` punished or rewarded on ``day`` (its ids array)."""


@kernel_overload(acted_on)
def _acted_on(record, day):
    fields = getattr(record, "field_dict", {})
    for name in (*PUNISHING_FIELDS, *REWARDING_FIELDS):
        if name in fields:
            return _field_reader(name)
    return None


def _field_reader(name: str) -> Any:
    if name == "entered":  # a list's entries of the day: none on a day it did not step
        return lambda record, day: entered_on(record, day)
    if name == "blocked_ids":
        return lambda record, day: record.blocked_ids
    if name == "refused_ids":
        return lambda record, day: record.refused_ids
    if name == "named_ids":
        return lambda record, day: record.named_ids
    if name == "rejected_ids":
        return lambda record, day: record.rejected_ids
    return lambda record, day: record.granted_ids


def innocent_of(record, i, pid):
    """Whether ``pid``, the ``i``-th person ``record`` punished today, was innocent.

    Read from the record, never decided here: a list's bit of people listed on a false record
    (``flags``, ``false_mask``); for a sanction or a naming, that of the list it reads
    (``listing``); a dossier's rejection on false entries alone (``rejected_on_false``). A record
    that says nothing of it punished no innocent.
    """


@kernel_overload(innocent_of)
def _innocent_of(record, i, pid):
    fields = getattr(record, "field_dict", {})
    if "false_mask" in fields and "flags" in fields:
        return lambda record, i, pid: (record.flags[pid] & record.false_mask) != 0
    if "listing" in fields:
        return lambda record, i, pid: innocent_of(record.listing, i, pid)
    if "rejected_on_false" in fields:
        return lambda record, i, pid: record.rejected_on_false[i]
    return lambda record, i, pid: False


def _experience(day, s, experiences):
    """Today's punishments and rewards of every running programme's mechanisms."""


@kernel_overload(_experience)
def _experience_impl(day, s, experiences):
    if len(experiences) == 0:
        return lambda day, s, experiences: None

    def impl(day, s, experiences):
        for e in literal_unroll(experiences):
            p = e.programme
            if s.ended_day[p] >= 0:
                continue  # its mechanisms have stopped: their records are old news
            ids = acted_on(e.record, day)
            bits = s.rewarded[p] if e.rewarding else s.punished[p]
            for i in range(ids.size):
                # What a person's move reads first, for the one 16 ahead: their bit and their
                # household's (people in order, one miss each, waited on alone otherwise).
                prefetch_ahead(bits.flags, ids, i)
                prefetch_ahead(s.households, ids, i)
                if e.rewarding:
                    _reward(s, p, ids[i])
                else:
                    _punish(s, p, ids[i], innocent_of(e.record, i, ids[i]), e.public)

    return impl


def _grade(day, s, gradings):
    """Who learns a score below a programme's line today (a punishment)."""


@kernel_overload(_grade)
def _grade_impl(day, s, gradings):
    if len(gradings) == 0:
        return lambda day, s, gradings: None

    def impl(day, s, gradings):
        for g in literal_unroll(gradings):
            p = g.programme
            if s.ended_day[p] >= 0 or day < g.first_day:
                continue
            ids = compiled_bernoulli_ids(g.key, day, s.n, g.rate, s.threads)
            scored, score = has_score(g.scorer, ids), scores_of(g.scorer, ids, day)
            for i in range(ids.size):
                if scored[i] and score[i] < g.line:
                    _punish(s, p, ids[i], False, s.rule.public[p])

    return impl


@kernel
def _approval(s, p):
    """Programme ``p``'s approval: the share not against it at the cascade's fixed point."""
    return 1.0 - cascade(s.hist[p], s.n / BINS) / s.n


@step_kernel
def _step(day, board, s):
    _experience(day, s, s.experiences)
    _grade(day, s, s.gradings)
    a = s.abandonment
    for p in range(s.approval.size):
        if s.ended_day[p] >= 0:
            continue
        s.approval[p] = _approval(s, p)
        s.days_below[p] = s.days_below[p] + 1 if s.approval[p] < a.abandon_below[p] else 0
        if s.days_below[p] >= a.patience_days[p]:  # abandoned: its mechanisms stop tomorrow
            s.ended_day[p] = day
            for j in range(a.positions.size):
                if a.position_programme[j] == p:
                    a.last_days[a.positions[j]] = min(a.last_days[a.positions[j]], day)


@step_kernel
def _metrics(day, s):
    t = s.today
    width = s.counts.shape[1] + 1  # len(METRICS)
    for p in range(s.approval.size):
        ended = 0 <= s.ended_day[p] < day
        t[p * width] = np.nan if ended else s.approval[p]  # no programme: no approval
        for c in range(width - 1):
            t[p * width + 1 + c] = s.counts[p, c]


compiled_mechanism(BacklashState, _step, _metrics)


def _initial_histograms(key, n, cuts, persuasion):
    """Every programme's histogram of thresholds before anyone has experienced anything."""
    block = 1 << 20
    blocks = (n + block - 1) // block
    partial = np.zeros((blocks, cuts.size, BINS + 1), np.int64)
    for b in prange(blocks):
        for pid in range(b * block, min(n, (b + 1) * block)):
            opinion = trait(key, pid)
            for p in range(cuts.size):
                partial[b, p, threshold_bin(opinion, cuts[p], persuasion)] += 1
    total = np.zeros(partial.shape[1:], np.int64)
    for b in range(blocks):  # integer counts: the same sums in any order
        total += partial[b]  # a loop, not sum(axis=0): see kernels/jit.py
    return total


_initial_histograms = both_builds(_initial_histograms)


@kernel
def _new_state(
    rule,
    punished,
    rewarded,
    households,
    groups_key,
    n,
    threads,
    hist,
    experiences,
    gradings,
    abandonment,
):
    k = hist.shape[0]
    groups = local_group(groups_key, n - 1, NEIGHBOURHOOD) + 1
    state = BacklashState(
        rule,
        punished,
        rewarded,
        households,
        groups_key,
        np.zeros((k, groups), np.uint8),
        n,
        threads,
        hist,
        experiences,
        gradings,
        abandonment,
        np.zeros(k, np.float64),
        np.zeros(k, np.int64),
        np.full(k, -1, np.int64),
        np.zeros((k, 4), np.int64),
        np.zeros(5 * k, np.float64),
    )
    for p in range(k):
        state.approval[p] = _approval(state, p)
    return state


@kernel
def _shared(s):
    return s.approval, s.ended_day, s.counts


def _fields_of(record: object) -> frozenset[str]:
    """The field names of a compiled record (none for anything else)."""
    if not isinstance(record, StructRefProxy):
        return frozenset()
    return frozenset(numba.typeof(record).field_dict)


class Backlash(CompiledSteps, Response):
    """Approval of each programme, backlash as a threshold cascade, abandonment."""

    name = "backlash"
    Params = BacklashParams
    description = "approval of each programme; backlash cascades; a programme too unpopular ends"
    params: BacklashParams

    def _programmes(self, sim: Simulation) -> dict[str, Programme]:
        """The programmes, every member checked; the default one when none is named."""
        if not self.params.programmes:
            members = [
                n
                for n, m in sim.mechanisms.items()
                if m.family in DEFAULT_FAMILIES and n != self.name
            ]
            if not members:
                raise ScenarioError(
                    f"{sim.scenario.source}: mechanisms.{self.name}: no programme is named and no "
                    f"{', '.join(sorted(DEFAULT_FAMILIES))} mechanism is enabled to make the "
                    "default one; enable one or name programmes"
                )
            return {DEFAULT_PROGRAMME: Programme(mechanisms=members)}
        where = f"{sim.scenario.source}: mechanisms.{self.name}.programmes"
        programmes = self._without_switched_off(sim)
        for name, programme in programmes.items():
            for member in programme.mechanisms:
                m = sim.mechanisms.get(member)
                if m is None or m is self or isinstance(m, Observer):
                    enabled = ", ".join(
                        n
                        for n, x in sim.mechanisms.items()
                        if x is not self and not isinstance(x, Observer)
                    )
                    raise ScenarioError(
                        f"{where}.{name}: {member!r} is not an enabled mechanism that steps; "
                        f"enabled ones: {enabled}"
                    )
            for scorer in programme.low_scores:
                if scorer not in programme.mechanisms:
                    raise ScenarioError(
                        f"{where}.{name}.low_scores: {scorer!r} is not one of the programme's "
                        f"mechanisms ({', '.join(programme.mechanisms)})"
                    )
        return programmes

    def _without_switched_off(self, sim: Simulation) -> dict[str, Programme]:
        """The programmes without the members the scenario has but switches off.

        As ``without_mechanism`` drops them (``BacklashParams.without``), so does ``enabled =
        false``: a programme follows its mechanisms, and switching one off (an ablation, a sweep's
        point) must not refuse the scenario. Each is noted (``Simulation.note_idle``), and so is
        a setting the programmes left then make unused (``settings_unused``), as for
        ``without_mechanism``'s copy. A programme left with no member goes.

        Raises:
            ScenarioError: Every member of every programme is switched off (one line).
        """
        off = {n for n, p in sim.scenario.mechanisms.items() if not p.enabled and n != self.name}
        members = {m for p in self.params.programmes.values() for m in p.mechanisms}
        if members and members <= off:
            raise ScenarioError(
                f"{sim.scenario.source}: mechanisms.{self.name}.programmes: every programme's "
                f"mechanisms are switched off here ({', '.join(sorted(members))}); switch one "
                f"on, or switch {self.name} off"
            )
        params = self.params
        for name, programme in self.params.programmes.items():
            for member in programme.mechanisms:
                if member in off:
                    sim.note_idle(
                        f"{self.name}.programmes.{name}.mechanisms",
                        f"{member} is switched off, so the programme goes without it",
                    )
        for member in sorted(off):
            params = params.without(member)
        already = self.params.settings_unused()
        for key, why in params.settings_unused().items():
            if key not in already:  # the Simulation noted those from the scenario's own
                sim.note_idle(f"{self.name}.{key}", why)
        return dict(params.programmes)

    def _stopped_with(self, sim: Simulation, programme: Programme) -> list[str]:
        """The mechanisms that stop when ``programme`` is abandoned, its own first.

        Then every list, sanction or reward outside it that acts on one of them
        (``ENFORCING_FAMILIES``, read through ``Simulation.readers``), and on those in turn.
        An abandoned programme's lists and scores stand still as they were; without this a
        sanction of another programme, or of none, would go on punishing by them.
        """
        stopped = list(programme.mechanisms)
        for member in stopped:  # grows while it is walked: readers of readers
            for reader in sim.readers.get(member, {}):
                enforces = sim.mechanisms[reader].family in ENFORCING_FAMILIES
                if enforces and reader not in stopped:
                    stopped.append(reader)
        return stopped

    def init(self, sim: Simulation) -> None:
        p = self.params
        self.programmes = self._programmes(sim)
        names = list(self.programmes)
        experiences, gradings, positions, owners = [], [], [], []
        self.inert: dict[str, list[str]] = {}
        """Programme -> its members that neither punish nor reward anyone (see ``summary``)."""
        self.stops: dict[str, list[str]] = {}
        """Programme -> the mechanisms its abandonment stops (``_stopped_with``)."""
        for index, (name, programme) in enumerate(self.programmes.items()):
            self.stops[name] = self._stopped_with(sim, programme)
            positions += [sim.plan_position(m) for m in self.stops[name]]
            owners += [index] * len(self.stops[name])
            for member in programme.mechanisms:
                record = getattr(sim.mechanisms[member], "state", None)
                fields = _fields_of(record)
                rewarding = not fields.isdisjoint(REWARDING_FIELDS)
                if rewarding or not fields.isdisjoint(PUNISHING_FIELDS):
                    public = programme.public or not fields.isdisjoint(PUBLIC_FIELDS)
                    experiences.append(
                        Experience(
                            programme=index, rewarding=rewarding, public=public, record=record
                        )
                    )
                elif member not in programme.low_scores:
                    self.inert.setdefault(name, []).append(member)
            for scorer_name, line in programme.low_scores.items():
                key = f"{self.name}.programmes.{name}.low_scores"
                first_day = sim.first_day_of(scorer_name)  # each grading waits for its score
                scorer = compiled_scorer(sim, scorer_name, self.name, key, reads_from=first_day)
                gradings.append(
                    Grading(
                        programme=index,
                        key=self.key(f"{name}/{scorer_name}/notice"),
                        rate=p.score_notice_rate,
                        line=line,
                        scorer=scorer.state,
                        first_day=first_day,
                    )
                )
        punishing = {e.programme for e in experiences if not e.rewarding}
        punishing |= {g.programme for g in gradings}
        rewarding = {e.programme for e in experiences if e.rewarding}
        self.bits = {
            name: (
                self._bits(sim.pop, f"{self.name}_{name}_punished", index in punishing),
                self._bits(sim.pop, f"{self.name}_{name}_rewarded", index in rewarding),
            )
            for index, name in enumerate(names)
        }
        starts = np.asarray([pr.approval_at_start for pr in self.programmes.values()])
        rule = OpinionRule(
            key=stream_key(self.seed, "population", "approval"),
            harm_drop=p.harm_drop,
            witness_drop=p.witness_drop,
            innocent_drop=p.innocent_drop,
            reward_lift=p.reward_lift,
            persuasion=p.persuasion,
            # uniform opinions: the day-0 cascade stops at cut / (1 - persuasion) against
            cuts=(1.0 - starts) * (1.0 - p.persuasion),
            public=np.asarray([pr.public for pr in self.programmes.values()], np.bool_),
        )
        n, threads = sim.pop.n, run_threads(sim.pop.n)
        hist = _initial_histograms(threads, n, rule.key, n, rule.cuts, rule.persuasion)
        self.state = _new_state(
            rule,
            tuple(punished for punished, _ in self.bits.values()),
            tuple(rewarded for _, rewarded in self.bits.values()),
            sim.pop.households,
            sim.pop.keys.groups,
            n,
            threads,
            hist,
            tuple(experiences),
            tuple(gradings),
            Abandonment(
                abandon_below=np.asarray(
                    [pr.abandon_below for pr in self.programmes.values()], np.float64
                ),
                patience_days=np.asarray(
                    [pr.patience_days for pr in self.programmes.values()], np.int64
                ),
                last_days=sim.last_days,
                positions=np.asarray(positions, np.int64),
                position_programme=np.asarray(owners, np.int64),
            ),
        )
        self.approval, self.ended_day, self.counts = _shared(self.state)
        self.today = today_of(self.state)
        self.metric_columns = tuple(f"{n}_{m}" for n in names for m in METRICS)
        self.float_metrics = frozenset(f"{n}_approval" for n in names)

    def flags_in_init(self) -> int:
        """Two flags a programme (``_bits``): the named ones, or the default one."""
        return 2 * max(1, len(self.params.programmes))

    @staticmethod
    def _bits(pop: Population, name: str, needed: bool) -> FlagBits:
        """A flag that a programme needs, in a free bit of the flag bytes; else no flag (mask 0).

        Allocated here rather than in ``declare``: which programme punishes or rewards anyone
        is known once the other mechanisms exist, and a bit nobody sets is not stored.
        """
        if not needed:
            return FlagBits(flags=np.zeros(0, np.uint8), mask=np.uint8(0))
        flag = pop.state.add_flag(name)
        return flag.bits()

    def endings(self) -> list[Ending]:
        return [
            Ending(
                programme=name,
                day=int(day),
                cause="backlash",
                mechanisms=tuple(self.stops[name]),
            )
            for name, day in zip(self.programmes, self.ended_day.tolist(), strict=True)
            if day >= 0
        ]

    def summary(self) -> list[str]:
        lines = []
        for (name, programme), approval, ended, counts in zip(
            self.programmes.items(),
            self.approval.tolist(),
            self.ended_day.tolist(),
            self.counts.tolist(),
            strict=True,
        ):
            start = programme.approval_at_start
            if ended >= 0:
                fate = (
                    f"abandoned after a backlash on day {ended} (approval {approval:.1%}, below "
                    f"{programme.abandon_below:.0%} for {programme.patience_days} days)"
                )
            else:
                fate = f"approval {approval:.1%} at the end"
            lines.append(
                f"{self.name}: {name} {fate}; {start:.0%} at the start; "
                f"{counts[PUNISHED]:,} people punished ({counts[INNOCENTS]:,} punishments of "
                "innocents), "
                f"{counts[WITNESSES]:,} saw a punishment at home or nearby, "
                f"{counts[REWARDED]:,} rewarded"
            )
            beyond = self.stops[name][len(programme.mechanisms) :]
            if beyond:
                one = len(beyond) == 1
                lines.append(
                    f"{self.name}: {name}: {', '.join(beyond)} {'acts' if one else 'act'} on "
                    f"its lists or scores from outside it, and {'stops' if one else 'stop'} "
                    "with it"
                )
            if name in self.inert:
                inert = self.inert[name]
                one = len(inert) == 1
                verbs = "punishes nor rewards" if one else "punish nor reward"
                lines.append(
                    f"{self.name}: {name}: {', '.join(inert)} neither {verbs} anyone, so "
                    f"{'moves' if one else 'move'} no approval (a scorer does below a low_scores "
                    "line)"
                )
        return lines
