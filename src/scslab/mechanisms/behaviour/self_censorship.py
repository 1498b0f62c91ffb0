"""Self-censorship of dissent: people express only the share of their dissent worth its risk.

The model is Daymude, Axelrod and Forrest, "Strategic analysis of dissent and self-censorship"
(2025, arXiv:2509.03731, PNAS). Person ``i`` desires to dissent ``delta_i`` in [0, 1] (the
``dissent`` trait) and has boldness ``beta_i > 0`` (from the ``boldness`` trait); they express
``a_i`` in [0, delta_i]. The authority sees an expression with probability ``nu + (1 - nu) a``
(surveillance ``nu``) and punishes what it sees above its tolerance ``tau``: by ``psi``
(uniform) or by ``psi (a - tau)`` (proportional). Each person picks the ``a`` that maximises
``beta a - E[punishment]``; the closed forms are the kernels below, written once: the step
calls them, and the tests call them and check the simulated expression against them.

Each day every act of the chosen kinds (online criticism, petitioning) that ``everyday_acts``
drew, which is dissent the person desires, is kept with probability ``a_i / delta_i`` and
withdrawn otherwise, before any data source sees it. ``everyday_acts`` draws these acts at a rate
proportional to ``delta_i`` (its defaults: trait ``dissent``, weight 1), so the acts expressed
are proportional to ``a_i``. The chilling ratio is the acts expressed over the acts desired.

Nothing is stored per person: ``delta_i`` and ``beta_i`` are recomputed from (seed, id).
This module owns the closed forms and the decision; it must not change the acts' rates
(``everyday.py``), the records or any other mechanism's state.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np
from pydantic import Field

from scslab.catalogue import ACT_NAMES, Act, ActName, act_by_name
from scslab.engine.board import posted_acts
from scslab.engine.mechanism import MechanismParams
from scslab.engine.steps import compiled_mechanism, today_of
from scslab.errors import ScenarioError
from scslab.kernels.jit import kernel, step_kernel
from scslab.kernels.rng import uniform
from scslab.kernels.structs import compiled_struct
from scslab.kernels.traits import trait, trait_factor
from scslab.mechanisms.behaviour.withdrawal import (
    ActWithdrawal,
    perceived_recording,
    weighed_rows,
    withdraw_unkept,
)

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation

PAPER = "Daymude, Axelrod and Forrest 2025, arXiv:2509.03731"


class SelfCensorshipParams(MechanismParams):
    """The authority's policy as people see it, and how bold they are."""

    acts: list[ActName] = Field(
        default=["online_criticism", "petitioning"],
        description="Kinds of act that express dissent, thinned by self-censorship (source: "
        "seed article: dissenting voices 'on and offline', and Suining scoring those who "
        "'illegally petitioned higher authorities').",
    )
    surveillance: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="nu: the chance that an expression is seen even at the least dissent, the "
        "same for every act and region. Default: for each act and urban or rural region, the "
        "chance that the enabled data sources record the act (source: their coverage, "
        "mechanisms.data_sources; the defaults there are assumptions).",
    )
    tolerance: float = Field(
        default=0.25,
        ge=0.0,
        le=1.0,
        description=f"tau: dissent at or below it is never punished (source: {PAPER}, the "
        "example value; an assumption for any real authority).",
    )
    severity: float = Field(
        default=0.6,
        ge=0.0,
        le=1000.0,
        description=f"psi: the punishment, in units of the utility of dissent (source: {PAPER}, "
        "the example value; an assumption for any real authority).",
    )
    punishment: Literal["uniform", "proportional"] = Field(
        default="uniform",
        description="uniform: psi for any seen dissent above tau; proportional: psi (a - tau). "
        f"Default uniform: the first of the two cases {PAPER} analyse (a choice, not a "
        "measurement: an assumption).",
    )
    boldness_mean: float = Field(
        default=1.0,
        gt=0.0,
        le=100.0,
        description=f"Mean boldness beta (source: {PAPER} take beta = 1 in their examples; an "
        "assumption).",
    )
    boldness_spread: float = Field(
        default=0.5,
        ge=0.0,
        lt=1.0,
        description="beta_i = boldness_mean (1 + spread (2 b_i - 1)) for the boldness trait b_i: "
        "spread 0 makes everyone equally bold (assumption: 0.5, from half to 1.5 times the mean).",
    )


# -- the closed forms (Daymude, Axelrod and Forrest 2025) ------------------------------------


@kernel
def defiance_threshold(boldness: float, surveillance: float, tolerance: float, severity: float):
    """Uniform punishment: the desired dissent above which a person expresses all of it.

    ``(beta tau + nu psi) / (beta - (1 - nu) psi)`` when ``beta > (1 - nu) psi``; otherwise
    infinity: nobody whose desired dissent exceeds the tolerance defies.
    """
    slope = boldness - (1.0 - surveillance) * severity
    if slope <= 0.0:
        return math.inf
    return (boldness * tolerance + surveillance * severity) / slope


@kernel
def uniform_expression(
    desired: float, boldness: float, surveillance: float, tolerance: float, severity: float
):
    """Uniform punishment: the dissent expressed, ``delta`` (defiant) or ``tau`` (censored).

    Above ``tau`` the utility ``beta a - psi (nu + (1 - nu) a)`` is linear in ``a``, so the
    best expression is ``delta`` when ``delta <= tau`` or ``u(delta) > u(tau) = beta tau``
    (``delta`` above the defiance threshold), else ``tau``.
    """
    if desired <= tolerance:
        return desired
    if desired > defiance_threshold(boldness, surveillance, tolerance, severity):
        return desired
    return tolerance


@kernel
def proportional_optimum(boldness: float, surveillance: float, tolerance: float, severity: float):
    """Proportional punishment: the best expression above ``tau``, before clipping to ``delta``.

    ``u(a) = beta a - psi (nu + (1 - nu) a)(a - tau)`` is concave above ``tau``, with its top at
    ``((beta - psi nu) / (psi (1 - nu)) + tau) / 2``, clipped below at ``tau``. Without
    punishment it is infinity; with ``nu = 1`` the utility is linear (slope ``beta - psi``).
    """
    if severity <= 0.0:
        return math.inf
    if surveillance >= 1.0:
        return math.inf if boldness > severity else tolerance
    top = ((boldness - severity * surveillance) / (severity * (1.0 - surveillance)) + tolerance) / 2
    return max(tolerance, top)


@kernel
def proportional_expression(
    desired: float, boldness: float, surveillance: float, tolerance: float, severity: float
):
    """Proportional punishment: the dissent expressed, ``min(delta, optimum)`` above ``tau``."""
    if desired <= tolerance:
        return desired
    return min(desired, proportional_optimum(boldness, surveillance, tolerance, severity))


@kernel
def expressed_dissent(
    desired: float,
    boldness: float,
    surveillance: float,
    tolerance: float,
    severity: float,
    proportional: bool,
):
    """The dissent a person expresses under uniform or ``proportional`` punishment."""
    if proportional:
        return proportional_expression(desired, boldness, surveillance, tolerance, severity)
    return uniform_expression(desired, boldness, surveillance, tolerance, severity)


# -- the mechanism ------------------------------------------------------------------------------


class DissentPolicy(NamedTuple):
    """The punishment people expect and the spread of their boldness, by name in the kernels."""

    tolerance: float
    severity: float
    proportional: bool
    boldness_mean: float
    boldness_spread: float


@kernel(inline="always")
def person_boldness(boldness_key, pid: int, policy: DissentPolicy) -> float:
    """``beta_i``: the mean boldness scaled by the boldness trait (mean 1 over people)."""
    return policy.boldness_mean * trait_factor(boldness_key, pid, policy.boldness_spread)


SelfCensorshipState = compiled_struct(
    "SelfCensorshipState",
    (
        "keep_key",
        "dissent_key",
        "boldness_key",
        "bounds",
        "column",
        "surveillance",
        "policy",
        "desired",
        "expressed",
        "today",
    ),
    __name__,
)
"""The key of the keep decisions; the dissent and boldness traits' keys; the regions; per act
code, its place among the chosen acts (-1: not dissent); ``nu`` by act and rurality; the policy
(a ``DissentPolicy``); acts desired and expressed so far per chosen act; today's metrics (acts
desired, expressed, the chilling ratio today and so far, then expressed per chosen act)."""

_DESIRED, _EXPRESSED, _RATIO, _RATIO_CUMULATIVE, _FIRST_ACT = 0, 1, 2, 3, 4
"""Places of today's metrics in ``today``."""


@kernel
def _new_state(keep_key, dissent_key, boldness_key, bounds, column, surveillance, policy, k):
    today = np.zeros(_FIRST_ACT + k, np.float64)
    today[_RATIO] = today[_RATIO_CUMULATIVE] = np.nan  # nothing desired yet: no ratio
    return SelfCensorshipState(
        keep_key,
        dissent_key,
        boldness_key,
        bounds,
        column,
        surveillance,
        policy,
        np.zeros(k, np.int64),
        np.zeros(k, np.int64),
        today,
    )


@kernel
def _ratio(numerator, denominator):
    return numerator / denominator if denominator > 0 else np.nan


@kernel(error_model="numpy")
def _decide(day, pid, act, nu, keep_key, dissent_key, boldness_key, policy, kept):
    """Whether each dissent act (person, act, ``nu``) is expressed: kept with ``a / delta``.

    One keep draw per person, act and day. A loop over arrays read in order and without
    branches to guess: vector code.
    """
    for k in range(pid.size):
        p = pid[k]
        delta = trait(dissent_key, p)
        a = expressed_dissent(
            delta,
            person_boldness(boldness_key, p, policy),
            nu[k],
            policy.tolerance,
            policy.severity,
            policy.proportional,
        )
        kept[k] = (a >= delta) | (uniform(keep_key, day, p, act[k]) * delta < a)


@step_kernel
def _step(day, board, s):
    posted_pid, posted_act = posted_acts(board)
    rows, pid, act, nu = weighed_rows(posted_pid, posted_act, s.column, s.bounds, s.surveillance)
    kept = np.empty(rows.size, np.bool_)
    _decide(day, pid, act, nu, s.keep_key, s.dissent_key, s.boldness_key, s.policy, kept)
    desired = np.zeros(s.desired.size, np.int64)
    expressed = np.zeros(s.desired.size, np.int64)
    for k in range(rows.size):
        j = s.column[act[k]]
        desired[j] += 1
        expressed[j] += kept[k]
    withdraw_unkept(board, posted_pid.size, rows, kept)
    s.desired += desired
    s.expressed += expressed
    s.today[_DESIRED] = desired.sum()
    s.today[_EXPRESSED] = expressed.sum()
    s.today[_RATIO] = _ratio(expressed.sum(), desired.sum())
    s.today[_RATIO_CUMULATIVE] = _ratio(s.expressed.sum(), s.desired.sum())
    for j in range(expressed.size):
        s.today[_FIRST_ACT + j] = expressed[j]


@kernel
def _totals(s):
    return s.desired, s.expressed


compiled_mechanism(SelfCensorshipState, _step)


class SelfCensorship(ActWithdrawal):
    """Dissent expressed as the closed forms of Daymude, Axelrod and Forrest (2025) say."""

    name = "self_censorship"
    Params = SelfCensorshipParams
    description = "dissent (online criticism, petitioning) self-censored against punishment"
    params: SelfCensorshipParams

    def _check_drawn_by_dissent(self, sim: Simulation) -> None:
        """Refuse an act that is not drawn in proportion to desired dissent.

        The closed forms read the acts drawn as desired dissent, ``delta_i``: an act whose rate
        follows another trait (a traffic offence, on compliance) or dissent at another weight
        would be thinned as if it were, and the chilling ratio would be wrong without a word.

        Raises:
            ScenarioError: the act, the trait and weight it is drawn with, and what is needed.
        """
        for m in sim.mechanisms.values():
            all_acts = getattr(getattr(m, "params", None), "all_acts", None)
            if not callable(all_acts):
                continue
            for act, rate in all_acts().items():
                if act in self.params.acts and (rate.trait != "dissent" or rate.weight != 1.0):
                    raise ScenarioError(
                        f"{sim.scenario.source}: mechanisms.{self.name}.acts: {act} is drawn by "
                        f"{m.name} on trait {rate.trait} at weight {rate.weight:g}; the chilling "
                        "model needs acts drawn in proportion to desired dissent (trait "
                        "dissent, weight 1)"
                    )

    def init(self, sim: Simulation) -> None:
        p = self.params
        self.check_withdrawn_acts(sim)  # first: no place in the plan would make them right
        self.check_place_in_plan(sim)
        self._check_drawn_by_dissent(sim)
        self.acts = [act_by_name(a) for a in self.weighed_acts()]
        column = np.full(len(Act), -1, np.int64)
        for j, a in enumerate(self.acts):
            column[a] = j
        if p.surveillance is None:
            surveillance = perceived_recording(sim)
        else:
            surveillance = np.full((len(Act), 2), p.surveillance)
        policy = DissentPolicy(
            tolerance=p.tolerance,
            severity=p.severity,
            proportional=p.punishment == "proportional",
            boldness_mean=p.boldness_mean,
            boldness_spread=p.boldness_spread,
        )
        self.state = _new_state(
            keep_key=self.key("keep"),
            dissent_key=sim.pop.keys.dissent,
            boldness_key=sim.pop.keys.boldness,
            bounds=sim.pop.geography.bounds,
            column=column,
            surveillance=surveillance,
            policy=policy,
            k=len(self.acts),
        )
        self.today = today_of(self.state)
        n = self.name
        self.metric_columns = (
            f"{n}_desired",
            f"{n}_expressed",
            f"{n}_chilling_ratio",
            f"{n}_chilling_ratio_cumulative",
            *(f"{n}_expressed_{ACT_NAMES[a]}" for a in self.acts),
        )
        self.float_metrics = frozenset(self.metric_columns[_RATIO : _RATIO_CUMULATIVE + 1])

    def summary(self) -> list[str]:
        desired, expressed = (x.tolist() for x in _totals(self.state))
        kinds = ", ".join(
            f"{ACT_NAMES[a]} {e:,} of {d:,}"
            for a, d, e in zip(self.acts, desired, expressed, strict=True)
        )
        ratio = sum(expressed) / sum(desired) if sum(desired) else float("nan")
        return [f"{self.name}: chilling ratio {ratio:.3f} (dissent expressed of desired: {kinds})"]
