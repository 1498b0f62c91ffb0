"""Evasion ("creative resistance"): evaders avoid cameras and platforms, at a cost to them.

A share of people, driven by a trait (grievance, ``dissent``, by default), evade: they take routes
without cameras, pay cash, stay off the platforms. Who evades is recomputed from (seed, id)
(``observation/evaders.py``); nothing is stored. The data sources cover an evader's acts by the
evaded ``sources`` at their coverage times ``coverage_factor``, from the same draws as without
evasion, so the acts lost to evasion are exactly those a source would have recorded at full
coverage and none records now. With ``face_recognition`` among the ``sources`` (the default), a
``face_recognition`` mechanism's cameras see an evader's face that share of the time too
(``surveillance/face_recognition.py``): fewer probes, alerts and identified acts, counted there
as ``face_recognition_evaded_alerts``.

The cost to evaders: staying off a platform forgoes its records too, not only those of offences.
The lost acts are counted apart: ``acts_hidden`` (offences and the rest, the evader's gain) and
``records_forgone`` (acts of ``forgone_acts``, such as online purchases that a commercial score
reads as good behaviour: the evader's loss, which lowers their score and the rewards it earns).

The rule is made in ``declare`` and shared with the data sources under
``observation/evaders.EVASION``; the data sources apply it and count the lost acts, and this
mechanism only reports them. Owns no per-person state and posts nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field, field_validator

from scslab.catalogue import (
    DATA_SOURCE_NAMES,
    MIN_AGE,
    POSTED_BY,
    SOURCE_NAMES,
    Act,
    ActName,
    Source,
    SourceName,
    act_by_name,
    source_by_name,
)
from scslab.engine.mechanism import Adversary, MechanismParams
from scslab.engine.steps import CompiledSteps, compiled_mechanism, today_of
from scslab.errors import ScenarioError
from scslab.kernels.jit import kernel, step_kernel
from scslab.kernels.structs import compiled_struct
from scslab.mechanisms.ages import actor_ages
from scslab.mechanisms.common import SOME_SOURCES, TraitName
from scslab.mechanisms.observation.evaders import EVASION, CoverageEvasion, evaders_in

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation
    from scslab.population import Population


EVADABLE = (*DATA_SOURCE_NAMES, "face_recognition")
"""Sources an evader can avoid: the data sources and the face_recognition mechanism's cameras
(informants still see evaders; bought and traded records are no source to evade)."""


EVADED_FAMILIES = ("observation", "surveillance")
"""The families whose records evasion lowers (the data sources', face recognition's coverage)."""


class EvasionParams(MechanismParams):
    """Who evades, which sources, by how much, and what evaders forgo."""

    share: float = Field(
        default=0.05,
        ge=0.0,
        le=1.0,
        description="Mean share of people old enough (min_age) who evade (assumption: no source "
        "counts them).",
    )
    trait: TraitName = Field(
        default="dissent", description="The trait that drives evasion (assumption: grievance)."
    )
    weight: float = Field(
        default=1.0,
        ge=-1.0,
        le=1.0,
        description="Effect of the trait on evading: +1 doubles the share at the top of the trait "
        "and removes it at the bottom (assumption).",
    )
    sources: list[SourceName] = Field(
        default=["camera", "face_recognition", "platform", "ecommerce", "social_platform"],
        description="Data sources that evaders avoid (cameras and platforms, as the issue states); "
        "face_recognition also lowers what the face_recognition mechanism's cameras see of "
        "evaders. Informants still see evaders, and bought or traded records are no source to "
        "evade: informant, black_market and collusion are refused.",
    )
    _some_sources = SOME_SOURCES

    @field_validator("sources")
    @classmethod
    def _sources_that_see(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in EVADABLE:
                raise ValueError(
                    f"{name!r} is no source an evader can avoid; evadable: {', '.join(EVADABLE)}"
                )
        return value

    coverage_factor: float = Field(
        default=0.3,
        ge=0.0,
        le=1.0,
        description="An evaded source records an evader's act at its coverage times this; for "
        "face_recognition, also the share of an evader's faces the cameras search (assumption).",
    )
    min_age: int = Field(
        default=MIN_AGE[Act.ONLINE_PURCHASE],
        ge=0,
        le=90,
        description="The youngest evader (assumption: avoiding cameras and platforms is a choice "
        "of one's own, from the age at which one's own online acts count: catalogue.MIN_AGE of "
        "an online purchase, 14, after the 2019 provisions on children's personal information "
        "online; until 2026-12-06 infants were counted among evaders).",
    )
    forgone_acts: list[ActName] = Field(
        default=["online_purchase", "prosocial_act", "loan_repaid"],
        description="Acts whose records an evader loses as a cost (good behaviour that scores "
        "reward), where their source is evaded (loan_repaid only with 'bank' among sources); "
        "the lost records of other acts are offences hidden (assumption).",
    )

    def settings_unused(self) -> dict[str, str]:
        keys = ("trait", "weight", "sources", "coverage_factor", "min_age", "forgone_acts")
        return self.given_but_unused(self.share == 0, keys, "share is 0, so nobody evades")


EvasionState = compiled_struct("EvasionState", ("rule", "forgone", "evaders", "today"), __name__)
"""The shared rule (``CoverageEvasion``, whose ``lost`` the data sources write); whether each act is
forgone good behaviour; the people who evade once evasion starts (int64); today's metrics
(evaders, acts hidden, records forgone)."""


@kernel
def _new_state(rule, forgone, evaders):
    return EvasionState(rule, forgone, evaders, np.zeros(3, np.float64))


@step_kernel
def _step(day, board, s):
    pass  # the data sources apply the rule and count the lost acts


@step_kernel
def _metrics(day, s):
    hidden = forgone = 0
    lost = s.rule.lost
    for a in range(lost.size):
        if s.forgone[a]:
            forgone += lost[a]
        else:
            hidden += lost[a]
    s.today[0] = s.evaders if day >= s.rule.first_day[0] else 0  # nobody evades before it starts
    s.today[1], s.today[2] = hidden, forgone


compiled_mechanism(EvasionState, _step, _metrics)


class Evasion(CompiledSteps, Adversary):
    """Evaders avoid cameras and platforms: fewer of their acts recorded, good ones included."""

    name = "evasion"
    Params = EvasionParams
    description = "evasion: cameras and platforms avoided by some, at the cost of their records"
    params: EvasionParams

    def declare(self, pop: Population) -> None:
        p = self.params
        if EVASION in pop.state.shared:
            raise ScenarioError(f"mechanisms.{self.name}: a scenario has one evasion mechanism")
        factor = np.ones(len(Source), np.float64)
        for name in p.sources:
            factor[source_by_name(name)] = p.coverage_factor
        self.rule = CoverageEvasion(
            active=True,
            key=self.key("evaders"),
            trait_key=getattr(pop.keys, p.trait),
            share=p.share,
            weight=p.weight,
            factor=factor,
            first_day=np.zeros(1, np.int64),
            lost=np.zeros(len(Act), np.int64),
            **actor_ages(pop)._asdict(),
            min_age=p.min_age,
        )
        pop.state.shared[EVASION] = self.rule

    def init(self, sim: Simulation) -> None:
        p = self.params
        words = ("evades", "evades nothing")  # the sources it keeps its evaders from
        # what evasion lowers: the coverage of the data sources and of face recognition, not
        # the records an adversary posts straight to the board (a black market's penalty); and
        # face recognition's searches, in either mode, whether or not they post a record
        seen = [
            kind.source
            for m in sim.mechanisms.values()
            if m.family in EVADED_FAMILIES
            for kind in m.records_posted()
        ] + [
            SOURCE_NAMES[Source.FACE_RECOGNITION]
            for m in sim.mechanisms.values()
            if type(m).name == POSTED_BY[Source.FACE_RECOGNITION]
        ]
        sim.check_reads_a_source(f"{self.name}.sources", p.sources, words, seen)
        self.rule.first_day[0] = sim.first_day_of(self.name)
        forgone = np.zeros(len(Act), np.bool_)
        forgone[[act_by_name(a) for a in p.forgone_acts]] = True
        self.evaders = int(evaders_in(self.rule, np.asarray([0, sim.pop.n], np.int64))[0])
        self.state = _new_state(self.rule, forgone, np.int64(self.evaders))
        self.today = today_of(self.state)
        n = self.name
        self.metric_columns = (f"{n}_evaders", f"{n}_acts_hidden", f"{n}_records_forgone")

    def summary(self) -> list[str]:
        return [f"{self.name}: {self.evaders:,} people evade {', '.join(self.params.sources)}"]
