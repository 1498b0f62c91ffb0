"""Black-market score boosting: a profile of fake positive records bought for a price.

In 2017 about 400 yuan bought a fully boosted Sesame profile of fake records, sold in QQ groups
of about 2,000 members (calibration/reporting_and_manipulation.csv,
sesame_boosting_black_market_2017); in 2025 a crackdown on "credit repair" fraud found 1,500+
cases (credit_repair_fraud_2025).

Who buys: each day candidates are drawn over everyone at the highest rate anyone buys
(``kernels/sampling``: the cost grows with candidates); a candidate buys when scored by the
mechanism's ``score`` (its ``has_score`` kernel), not detected before, and a keep draw passes
``trait_factor(opportunism) / (1 + |weight|) * affordability``, where affordability is
``min(1, budget_share * income / price)`` for the person's income quintile (recomputed from
(seed, id)). A buyer may buy again later (rare at these rates); a detected one is barred.

What it buys: ``boost_records`` false records (source ``black_market``), delivered one by one
over ``boost_days`` from the day after the purchase through a calendar; a scoring system reads
them as any record from a source it reads (a commercial score needs ``black_market`` among its
``credit_sources`` or ``activity_sources``; a point system without ``sources`` reads all).

Detection: each purchase is detected after a number of days drawn at the purchase from a daily
hazard (``detection_rate``); on that day the buyer gets a true record of ``penalty_act`` from
``penalty_source``, is marked ``fraud_detected`` (``adversary/fraud.py``, shared with the
collusion rings), and the deliveries still due stop. Records already delivered stay (no scoring
system takes a record back); the penalty answers them.

Owns a calendar of pending deliveries and detections (memory grows with purchases) and sets the
shared ``fraud_detected`` bit; stores nothing else per person. Reads scores only through the
scorer's kernels (``scoring/compiled.py``); writes nothing of any other mechanism.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

import numpy as np
from pydantic import Field, field_validator

from scslab.catalogue import SOURCE_NAMES, ActName, Source, SourceName, act_by_name, source_by_name
from scslab.engine.board import FALSE_RECORDS, TRUE_RECORDS, post_records
from scslab.engine.calendar import new_calendar, pop, schedule
from scslab.engine.mechanism import Adversary, MechanismParams, RecordKind
from scslab.engine.steps import CompiledSteps, compiled_mechanism
from scslab.errors import ScenarioError
from scslab.kernels.compact import kept
from scslab.kernels.compiled_once import compiled_once
from scslab.kernels.jit import kernel, step_kernel
from scslab.kernels.parallel import run_threads
from scslab.kernels.rng import geometric_days, uniform
from scslab.kernels.sampling import compiled_bernoulli_ids
from scslab.kernels.structs import compiled_struct
from scslab.mechanisms.adversary.fraud import FRAUD_DETECTED
from scslab.mechanisms.scoring.compiled import compiled_scorer, has_score, may_count
from scslab.population.attributes import income_class, trait_factor
from scslab.population.geography import region_of

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation
    from scslab.population import Population

DETECTION = 1 << 8
"""The calendar tag of a detection (a delivery's tag is the code of the act it claims)."""

_BLACK_MARKET = np.int16(Source.BLACK_MARKET)


def _boost_default() -> dict[str, int]:
    # Assumption: what "a fully boosted profile of fake records" (calibration row
    # sesame_boosting_black_market_2017) holds: three faked purchases a month for three months,
    # two cleared arrears ("credit repair", credit_repair_fraud_2025) and one good deed.
    return {"online_purchase": 9, "loan_repaid": 2, "prosocial_act": 1}


class BlackMarketParams(MechanismParams):
    """Price, buyers, the records a boost holds, detection and penalty."""

    score: str = Field(
        default="sesame_credit",
        description="The scoring mechanism whose scored people buy boosts (read through its "
        "kernels).",
    )
    price_yuan: float = Field(
        default=400.0,
        gt=0.0,
        le=1e7,
        description="Price of a boosted profile: about 400 yuan in 2017 "
        "(calibration/reporting_and_manipulation.csv, sesame_boosting_black_market_2017, press).",
    )
    purchase_rate: float = Field(
        default=1e-5,
        ge=0.0,
        le=0.5,
        description="Daily chance that a scored person of mean opportunism who can afford a boost "
        "buys one (assumption: about 0.4% a year).",
    )
    opportunism_weight: float = Field(
        default=1.0,
        ge=-1.0,
        le=1.0,
        description="Effect of the opportunism trait on buying: +1 doubles it at the top of the "
        "trait and removes it at the bottom (assumption).",
    )
    income_yuan_by_quintile: list[Annotated[float, Field(ge=0.0, le=1e9)]] = Field(
        default=[5958.0, 13843.0, 22495.0, 34547.0, 64934.0],
        min_length=5,
        max_length=5,
        description="Yearly disposable income per person by national quintile, lowest first "
        "(source: NBS, per-capita disposable income by quintile, 2017, China Statistical Yearbook "
        "2018).",
    )
    budget_share: float = Field(
        default=0.02,
        gt=0.0,
        le=1.0,
        description="Share of a year's income that a would-be buyer spends at most on a boost; "
        "affordability is min(1, budget_share * income / price) (assumption).",
    )
    boost_records: dict[ActName, Annotated[int, Field(ge=0, le=1000)]] = Field(
        default_factory=_boost_default,
        description="Act name -> fake records a boost holds. Default: 9 online purchases, 2 "
        "loans repaid, 1 prosocial act (assumption: the calibration row says only 'a fully "
        "boosted profile of fake records').",
    )
    boost_days: int = Field(
        default=90,
        ge=1,
        le=3650,
        description="Days over which a boost's records are delivered, evenly, from the day after "
        "the purchase (assumption).",
    )
    detection_rate: float = Field(
        default=1.0 / 365.0,
        ge=0.0,
        le=1.0,
        description="Daily chance that a purchase is detected (assumption: a year on average; "
        "the 2025 crackdown, calibration/reporting_and_manipulation.csv credit_repair_fraud_2025, "
        "gives cases, not a rate).",
    )
    penalty_act: ActName = Field(
        default="commercial_fraud",
        description="The act a detected buyer's penalty record claims (default commercial fraud: "
        "an assumption; the 2017 reports of boosted Sesame profiles name no penalty).",
    )
    penalty_source: SourceName = Field(
        default="ecommerce",
        description="The source that records a detected buyer's penalty (default the e-commerce "
        "platform whose records were faked: an assumption).",
    )

    @field_validator("boost_records")
    @classmethod
    def _counts(cls, value: dict[str, int]) -> dict[str, int]:
        if not any(value.values()):  # each count's bounds are its type's
            raise ValueError("a boost holds no record; give at least one act a count above 0")
        return value


class MarketRule(NamedTuple):
    """Who buys and what a boost holds, by name at both ends."""

    candidate_key: np.uint64
    """Stream key of today's candidate buyers."""
    keep_key: np.uint64
    """Stream key of whether a candidate buys."""
    detect_key: np.uint64
    """Stream key of the day a purchase is detected."""
    opportunism_key: np.uint64
    """The population's opportunism trait."""
    income_key: np.uint64
    """The population's income quintiles."""
    candidate_rate: float
    """The highest buying rate of anyone: ``purchase_rate * (1 + |weight|)``."""
    weight: float
    """The opportunism weight."""
    affordable: np.ndarray
    """Per income quintile: ``min(1, budget_share * income / price)``."""
    delivery_acts: np.ndarray
    """The act of each record of a boost, in delivery order (int16)."""
    delivery_offsets: np.ndarray
    """Days after the purchase of each delivery (int64, 1 ..)."""
    detection_rate: float
    penalty_act: np.int16
    penalty_source: np.int16


BlackMarketState = compiled_struct(
    "BlackMarketState",
    ("rule", "detected", "scorer", "bounds", "calendar", "n", "threads", "totals", "today"),
    __name__,
)
"""The rule (``MarketRule``); the shared ``fraud_detected`` bit (``FlagBits``); the scorer's record;
the regions; the calendar of deliveries and detections; the population and its ``run_threads``;
purchases and detections so far (``totals``); today's metrics (purchases, purchases so far,
detections, detections so far, records delivered)."""


@kernel
def _new_state(rule, detected, scorer, bounds, days, n, threads, today):
    calendar = new_calendar(days)
    totals = np.zeros(2, np.int64)
    return BlackMarketState(rule, detected, scorer, bounds, calendar, n, threads, totals, today)


@kernel
def _is_set(bits, pid):
    return (bits.flags[pid] & bits.mask) != 0


@kernel
def _set(bits, pid):
    bits.flags[pid] |= bits.mask


@kernel
def _buys(rule, bounds, day, pid):
    """Whether candidate ``pid`` buys today (opportunism and income; before the scorer's say)."""
    urban = region_of(bounds, pid) % 2 == 0
    afford = rule.affordable[income_class(rule.income_key, pid, urban)]
    top = 1.0 + abs(rule.weight)
    keep = trait_factor(rule.opportunism_key, pid, rule.weight) * afford
    return uniform(rule.keep_key, day, pid, 0) * top < keep


@compiled_once
@kernel
def _due(s, day):
    """Today's detections and deliveries, from the calendar.

    Returns the buyers whose purchase is detected today (each marked detected) and the records
    delivered today (person, act) to buyers not detected, ordered by person.
    """
    pids, tags = pop(s.calendar, day)
    detected = np.zeros(pids.size, np.bool_)
    for i in range(pids.size):  # detections first: a buyer detected today gets nothing more
        if tags[i] == DETECTION:
            _set(s.detected, pids[i])
            detected[i] = True
    deliver = np.zeros(pids.size, np.bool_)
    for i in range(pids.size):
        deliver[i] = tags[i] != DETECTION and not _is_set(s.detected, pids[i])
    acts = np.empty(pids.size, np.int16)
    for i in range(pids.size):
        acts[i] = np.int16(tags[i] if deliver[i] else 0)
    return kept(pids, detected), kept(pids, deliver), kept(acts, deliver)


@kernel
def _purchases(s, day):
    """Today's buyers (in id order); their deliveries and detection scheduled."""
    rule = s.rule
    cand = compiled_bernoulli_ids(rule.candidate_key, day, s.n, rule.candidate_rate, s.threads)
    keep = np.zeros(cand.size, np.bool_)
    for i in range(cand.size):
        keep[i] = not _is_set(s.detected, cand[i]) and _buys(rule, s.bounds, day, cand[i])
    scored = has_score(s.scorer, cand)
    n_buyers = 0
    for i in range(cand.size):
        keep[i] = keep[i] and scored[i]
        n_buyers += keep[i]
    m = rule.delivery_acts.size
    days = np.empty(n_buyers * (m + 1), np.int64)
    pids = np.empty(days.size, np.int64)
    tags = np.empty(days.size, np.int64)
    k = 0
    for i in range(cand.size):
        if not keep[i]:
            continue
        pid = cand[i]
        for j in range(m):
            days[k], pids[k], tags[k] = day + rule.delivery_offsets[j], pid, rule.delivery_acts[j]
            k += 1
        days[k] = day + geometric_days(rule.detect_key, day, pid, 0, rule.detection_rate)
        pids[k], tags[k] = pid, DETECTION
        k += 1
    schedule(s.calendar, days, pids, tags, day + 1)
    return n_buyers


@step_kernel
def _step(day, board, s):
    rule = s.rule
    caught, delivered_pid, delivered_act = _due(s, day)
    post_records(board, delivered_pid, delivered_act, _BLACK_MARKET, FALSE_RECORDS)
    post_records(board, caught, rule.penalty_act, rule.penalty_source, TRUE_RECORDS)
    bought = _purchases(s, day)
    s.totals[0] += bought
    s.totals[1] += caught.size
    t = s.today
    t[0], t[1], t[2], t[3] = bought, s.totals[0], caught.size, s.totals[1]
    t[4] = delivered_pid.size


compiled_mechanism(BlackMarketState, _step)


def _delivery_plan(records: dict[str, int], days: int) -> tuple[np.ndarray, np.ndarray]:
    """The act of each record of a boost and its day after the purchase (1 .. ``days``), evenly."""
    acts = [act_by_name(a) for a, k in records.items() for _ in range(k)]
    m = len(acts)
    offsets = [1 + (j * days) // m for j in range(m)]
    return np.asarray(acts, np.int16), np.asarray(offsets, np.int64)


class BlackMarket(CompiledSteps, Adversary):
    """Boosted profiles of fake positive records, bought by opportunists who can afford them."""

    name = "black_market"
    Params = BlackMarketParams
    description = "black-market score boosting: bought fake records, detection and penalty"
    params: BlackMarketParams

    def records_posted(self, acts_drawn: set[str] | None = None) -> list[RecordKind]:
        """The bought records' acts, and the detected buyers' penalty if any is detected."""
        p = self.params
        bought = [
            RecordKind(source=SOURCE_NAMES[Source.BLACK_MARKET], act=a)
            for a, n in p.boost_records.items()
            if n
        ]
        penalty = (
            [RecordKind(source=p.penalty_source, act=p.penalty_act)] if p.detection_rate > 0 else []
        )
        return bought + penalty

    def declare(self, pop: Population) -> None:
        self.detected_flag = pop.state.shared_flag(FRAUD_DETECTED)

    def init(self, sim: Simulation) -> None:
        p, pop = self.params, sim.pop
        self.sim = sim
        income = np.asarray(p.income_yuan_by_quintile, np.float64)
        acts, offsets = _delivery_plan(p.boost_records, p.boost_days)
        self.rule = MarketRule(
            candidate_key=self.key("candidates"),
            keep_key=self.key("buys"),
            detect_key=self.key("detection"),
            opportunism_key=pop.keys.opportunism,
            income_key=pop.keys.income,
            candidate_rate=min(1.0, p.purchase_rate * (1.0 + abs(p.opportunism_weight))),
            weight=p.opportunism_weight,
            affordable=np.minimum(1.0, p.budget_share * income / p.price_yuan),
            delivery_acts=acts,
            delivery_offsets=offsets,
            detection_rate=p.detection_rate,
            penalty_act=np.int16(act_by_name(p.penalty_act)),
            penalty_source=np.int16(source_by_name(p.penalty_source)),
        )
        self.today = np.zeros(5, np.float64)
        n = self.name
        self.metric_columns = (
            f"{n}_purchases",
            f"{n}_purchases_total",
            f"{n}_detected",
            f"{n}_detected_total",
            f"{n}_records_delivered",
        )

    def _refuse_boosts_that_count_for_nothing(self) -> None:
        """Refuse a market whose records its scorer would not count: boosts that boost nothing.

        An idle market (``purchase_rate`` 0, a baseline) sells nothing and is not refused.
        """
        p = self.params
        bought = [name for name, count in p.boost_records.items() if count > 0]
        acts = [act_by_name(name) for name in bought]
        idle = p.purchase_rate == 0.0  # nobody buys: nothing to count or not
        if not idle and not may_count(self.scorer, acts, Source.BLACK_MARKET):
            raise ScenarioError(
                f"{self.sim.scenario.source}: mechanisms.{self.name}.score: {p.score!r} counts no "
                f"record a boost holds ({', '.join(bought)} from source black_market), so a boost "
                f"would change no score; add 'black_market' to {p.score}'s sources (a commercial "
                "score's credit_sources or activity_sources), or buy acts it scores"
            )

    @cached_property
    def state(self) -> Any:
        """The record, built on first use, once every mechanism has set up.

        The scorer's record does not exist yet in this mechanism's ``init``: scoring comes after
        the adversaries, in the day and in the set-up.
        """
        sim, pop = self.sim, self.sim.pop
        self.scorer = compiled_scorer(sim, self.params.score, self.name, f"{self.name}.score")
        self._refuse_boosts_that_count_for_nothing()
        return _new_state(
            self.rule,
            self.detected_flag.bits(),
            self.scorer.state,
            pop.geography.bounds,
            sim.days,
            pop.n,
            run_threads(pop.n),
            self.today,
        )

    def summary(self) -> list[str]:
        bought, detected = int(self.today[1]), int(self.today[3])
        return [
            f"{self.name}: {bought:,} boosts bought at {self.params.price_yuan:,.0f} yuan, "
            f"{detected:,} detected"
        ]
