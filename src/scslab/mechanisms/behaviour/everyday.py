"""Everyday acts: traffic offences, prosocial acts, online criticism and petitioning.

Each kind of act has a mean daily rate per person and a trait that modulates it (see
``scslab.mechanisms.common``). The defaults are assumptions unless a source is named: the seed
article names the acts but gives no rates. Every act but the reference model's
generic offence has a minimum age (``catalogue.MIN_AGE``: 6 for jaywalking, 18 for tax evasion...):
it is drawn as any other and the draws of anyone younger are dropped, so its rate is that of a
person old enough; a three-year-old neither evades tax nor jaywalks.

Owns the ``everyday_acts`` mechanism: its rate per act, its labelled draws, the board rows it
makes ready (``room``) and today's count per act. It posts acts, not yet recorded, in the board's
act table; it posts no record and touches no other mechanism's state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field, model_validator

from scslab.catalogue import ACT_NAMES, ActName, act_by_name, min_age_in_words
from scslab.engine.board import act_room, acts_written, written_in_order
from scslab.engine.mechanism import Behaviour, MechanismParams
from scslab.engine.steps import CompiledSteps, compiled_mechanism, today_of
from scslab.kernels.compiled_once import compiled_once
from scslab.kernels.jit import kernel, step_kernel
from scslab.kernels.parallel import run_threads
from scslab.kernels.sampling import LabelledDraws, labelled_runs, merge_labelled_runs
from scslab.kernels.structs import compiled_struct
from scslab.mechanisms.ages import actor_ages, min_age_by_act, old_enough
from scslab.mechanisms.common import ModulatedRate

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation


def _default_acts() -> dict[str, ModulatedRate]:
    return {
        # Assumption: about one recorded-or-not traffic offence per person every 5-6 years;
        # compliant people offend less.
        "traffic_offence": ModulatedRate(rate=0.0005, trait="compliance", weight=-0.8),
        # Assumption: volunteering, blood donation or bravery about once every 14 years.
        "prosocial_act": ModulatedRate(rate=0.0002, trait="compliance", weight=0.5),
        # Assumption: critical posts about once every 3 years, driven by grievance (dissent).
        "online_criticism": ModulatedRate(rate=0.001, trait="dissent", weight=1.0),
        # About 0.4% of people petition each year (order of magnitude of the 6 million annual
        # letters and visits reported by the State Bureau for Letters and Calls; approximate).
        "petitioning": ModulatedRate(rate=0.000011, trait="dissent", weight=1.0),
    }


class EverydayActsParams(MechanismParams):
    """Rates of everyday acts, one table per act."""

    acts: dict[ActName, ModulatedRate] = Field(
        default_factory=_default_acts,
        description="Act name -> rate. Allowed names: "
        + ", ".join(ACT_NAMES.values())
        + ". An act with a minimum age ("
        + min_age_in_words()
        + ") is committed only by people that old, whose rate this is (catalogue.MIN_AGE "
        "gives each age's law or labels it an assumption). Defaults: "
        "petitioning about 0.4% of people a year (source: the order of the 6 "
        "million letters and visits a year that the State Bureau for Letters and Calls reported; "
        "approximate); the rates of traffic_offence, prosocial_act and online_criticism and "
        "every trait weight are assumptions.",
    )
    extra_acts: dict[ActName, ModulatedRate] = Field(
        default={},
        description="More acts on top of ``acts`` (added to the defaults without repeating them; "
        "a name in both takes this rate).",
    )

    @model_validator(mode="after")
    def _draws_something(self) -> EverydayActsParams:
        if not self.acts and not self.extra_acts:
            raise ValueError(
                "acts and extra_acts are both empty, so it would draw no act; give an act a "
                "rate, or switch the mechanism off (enabled = false)"
            )
        return self

    def all_acts(self) -> dict[str, ModulatedRate]:
        """``acts`` with ``extra_acts`` added."""
        return self.acts | self.extra_acts


@compiled_once
@kernel
def _draw_acts(day, n, threads, draws, min_ages, ages, pid, act, recorded, row):
    """Draw today's acts and write them on the board from ``row`` if they fit.

    ``draws`` is a ``LabelledDraws`` labelled by act code (see ``labelled_ids``); ``threads`` is
    the run's (``run_threads``). A draw ``j`` with ``min_ages[j]`` above 0 keeps the acts of
    people that old or older (``ages``, an ``ages.ActorAges``).
    Returns how many acts of each kind were drawn, whether they fitted in the buffers (if not,
    nothing is written: the caller makes room and draws again, the same acts), and whether the
    buffers stay ordered by person.
    """
    d = draws
    runs, counts = labelled_runs(
        d.keys, day, n, d.rates, d.thin_keys, d.trait_keys, d.weights, threads
    )
    for j in range(min_ages.size):
        if min_ages[j] > 0 and counts[j] > 0:
            runs[j] = old_enough(runs[j], ages, min_ages[j], threads)
            counts[j] = runs[j].size
    total = counts.sum()
    if row + total > pid.size:
        return counts, False, False
    merge_labelled_runs(runs, d.labels, pid, act, row, threads)  # into the board's buffers
    recorded[row : row + total] = False
    return counts, True, written_in_order(pid, row, total)


EverydayState = compiled_struct(
    "EverydayState",
    ("draws", "min_ages", "ages", "n", "threads", "room", "today"),
    __name__,
)
"""The draws (a ``LabelledDraws``, labelled by act code), each draw's minimum age (0: none) and
what it reads of ages (an ``ages.ActorAges``), the population and its ``run_threads``, the board
rows made ready for a day's acts, and today's count of each act."""


@kernel
def _new_state(draws, min_ages, ages, n, threads, room):
    today = np.zeros(draws.keys.size, np.float64)
    return EverydayState(draws, min_ages, ages, n, threads, room, today)


@step_kernel
def _step(day, board, s):
    row = act_room(board, s.room)
    buffers = (board.act_pid, board.act_act, board.act_recorded, row)
    counts, fitted, ordered = _draw_acts(day, s.n, s.threads, s.draws, s.min_ages, s.ages, *buffers)
    if not fitted:  # more acts than ever expected: make room and draw the same acts again
        s.room = counts.sum()
        row = act_room(board, s.room)
        buffers = (board.act_pid, board.act_act, board.act_recorded, row)
        counts, fitted, ordered = _draw_acts(
            day, s.n, s.threads, s.draws, s.min_ages, s.ages, *buffers
        )
    for j in range(counts.size):
        s.today[j] = counts[j]
    acts_written(board, counts.sum(), ordered)


@kernel
def _metrics(day, s):
    pass  # the counts are written by the step


@kernel
def _room(s):
    return s.room


@kernel
def _set_room(s, room):
    s.room = room


compiled_mechanism(EverydayState, _step)


class EverydayActs(CompiledSteps, Behaviour):
    """Acts people commit on their own, at trait-modulated daily rates."""

    name = "everyday_acts"
    Params = EverydayActsParams
    description = "traffic offences, prosocial acts, online criticism, petitioning"
    params: EverydayActsParams

    def init(self, sim: Simulation) -> None:
        rates = self.params.all_acts()
        for field in ("acts", "extra_acts"):
            self.check_acts_without_state(sim, field, list(getattr(self.params, field)), "posting")
        codes = [act_by_name(n) for n in rates]
        traits = [getattr(sim.pop.keys, spec.trait) for spec in rates.values()]
        self.draws = LabelledDraws(
            keys=np.asarray([self.key(f"{n}/candidates") for n in rates], np.uint64),
            rates=np.asarray([spec.candidate_rate for spec in rates.values()], np.float64),
            thin_keys=np.asarray([self.key(f"{n}/thin") for n in rates], np.uint64),
            trait_keys=np.asarray(traits, np.uint64),
            weights=np.asarray([spec.weight for spec in rates.values()], np.float64),
            labels=np.asarray(codes, np.int16),
        )
        self.metric_columns = tuple(f"acts_{ACT_NAMES[act]}" for act in codes)
        mean = sim.pop.n * float(self.draws.rates.sum())  # candidates a day: at least the acts
        room = int(mean + 8.0 * mean**0.5 + 64)
        min_ages = min_age_by_act()[np.asarray(codes, np.int64)]
        pop = sim.pop
        ages = actor_ages(pop)
        self.state = _new_state(self.draws, min_ages, ages, pop.n, run_threads(pop.n), room)
        self.today = today_of(self.state)

    def acts_posted(self) -> tuple[str, ...]:
        """The acts it draws: ``acts`` and ``extra_acts``."""
        return tuple(self.params.all_acts())

    @property
    def room(self) -> int:
        """Board rows made ready for a day's acts (a day that needs more grows it)."""
        return _room(self.state)

    @room.setter
    def room(self, rows: int) -> None:
        _set_room(self.state, rows)
