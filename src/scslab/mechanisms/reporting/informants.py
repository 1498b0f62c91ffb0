"""Rewarded reporting by "the masses": ties and neighbours report acts no data source recorded.

For each act of a reportable kind that no source recorded today, each of the offender's community
ties (generated, never stored), and optionally members of the offender's neighbourhood group (the
residents' committee), reports it independently with a probability modulated by the reporter's
opportunism; one report records it (source ``informant``). The 2014 planning outline calls for
"rewarded reporting systems for acts of breach of trust" (seed article).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from numba import njit, prange
from pydantic import Field

from scslab.catalogue import Act, ActName, Source, act_by_name
from scslab.engine.board import acts_of, record_room, records_written, written_in_order
from scslab.engine.compiled_plan import CompiledSteps, compiled_mechanism, today_of
from scslab.engine.mechanism import MechanismParams, Reporting
from scslab.kernels.parallel import PARALLEL_MIN_ITEMS, both_builds
from scslab.kernels.rng import below, uniform
from scslab.kernels.structs import compiled_struct
from scslab.population.attributes import (
    GROUP_SIZES,
    NEIGHBOURHOOD,
    community_tie,
    local_group,
    local_group_member,
    trait_factor,
)
from scslab.population.geography import region_of

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation


_INFORMANT = np.int16(Source.INFORMANT)
"""The source code of every record an informant makes."""

WATCH = 1 << 20
"""Draw indices of neighbourhood watchers start here, apart from the ties' indices."""


class InformantsParams(MechanismParams):
    """Who reports what."""

    acts: list[ActName] = Field(
        default=["traffic_offence", "petitioning", "online_criticism"],
        description="Acts that citizens report (assumption).",
    )
    ties: int = Field(
        default=8,
        ge=0,
        le=64,
        description="Community ties that may report (assumption: 8 close contacts; no source "
        "gives the number).",
    )
    report_prob: float = Field(
        default=0.005,
        ge=0.0,
        le=1.0,
        description="Chance that one tie reports one unrecorded act (assumption).",
    )
    opportunism_weight: float = Field(
        default=1.0,
        ge=-1.0,
        le=1.0,
        description="Effect of the tie's opportunism on reporting (assumption).",
    )
    neighbourhood_watchers: int = Field(
        default=0,
        ge=0,
        le=64,
        description="Members of the offender's neighbourhood group (residents' committee block) "
        "who may also report, each with the same chance as a tie (default 0: none, an assumption).",
    )


def _reports(
    keys,
    rule,
    day,
    all_pids,
    all_acts,
    recorded,
    reportable,
    bounds,
    n,
    rec_pid,
    rec_act,
    rec_source,
    rec_true,
    first_row,
):
    """Report today's unrecorded acts of reportable kinds; mark them recorded.

    ``keys`` is an ``InformantKeys``, ``rule`` an ``InformantRule``. Each tie reports with
    probability ``p`` (``rule.report_prob``; scaled by the tie's opportunism with ``weight``).
    Where ties are alike (``weight == 0``) "one of the ties reports" is a single draw at
    ``1 - (1 - p) ** ties``: the same chance, and with one tie the same draw as the tie's.
    Writes a record (person, act, ``INFORMANT``, true) of each report, in order, from row
    ``first_row`` of the board's record buffers ``rec_*``; returns how many, and whether the
    records stay ordered by person.
    """
    key, tie_key, opp_key, group_key = keys.report, keys.ties, keys.opportunism, keys.groups
    ties, locality, watchers = rule.ties, rule.locality, rule.watchers
    p, weight = rule.report_prob, rule.opportunism_weight
    any_tie = -math.expm1(ties * math.log1p(-p)) if p < 1.0 else 1.0
    highest = p * (1.0 + abs(weight))  # a report's chance at the top of the opportunism trait
    out = np.zeros(all_pids.size, np.bool_)
    for i in prange(all_pids.size):
        if recorded[i] or not reportable[all_acts[i]]:
            continue  # recorded by a source, or not an act citizens report
        pid = all_pids[i]
        act = np.int64(all_acts[i])
        r = region_of(bounds, pid)
        lo, hi = bounds[r], bounds[r + 1]
        if hi - lo <= 1:
            continue  # nobody else in the region to report
        if weight == 0.0:  # ties alike: whether any of them reports is one draw
            out[i] = ties > 0 and uniform(key, day, pid, act * 64) < any_tie
        else:
            for k in range(ties):  # who the tie is matters through their opportunism
                u = uniform(key, day, pid, act * 64 + k)
                if u >= highest:  # not even the most opportunistic tie would: skip finding it
                    continue
                tie = community_tie(tie_key, pid, k, lo, hi, locality)
                if u < p * trait_factor(opp_key, tie, weight):
                    out[i] = True
                    break
        if out[i] or watchers == 0:
            continue
        group = local_group(group_key, pid, NEIGHBOURHOOD)
        size = GROUP_SIZES[NEIGHBOURHOOD]
        for k in range(watchers):
            u = uniform(key, day, pid, WATCH + 64 * (act + 1) + k)
            if u >= highest:  # no watcher would, whoever it is: skip finding them
                continue
            member = local_group_member(
                group_key, group, NEIGHBOURHOOD, below(key, day, pid, WATCH + k, size), n
            )
            if member < 0 or member == pid:
                continue
            q = p
            if weight != 0.0:
                q = p * trait_factor(opp_key, member, weight)
            if u < q:
                out[i] = True
                break
    k = first_row
    for i in range(out.size):
        if out[i]:
            recorded[i] = True
            rec_pid[k], rec_act[k] = all_pids[i], all_acts[i]
            rec_source[k], rec_true[k] = _INFORMANT, True
            k += 1
    return k - first_row, written_in_order(rec_pid, first_row, k - first_row)


_reports, _reports_one_thread = both_builds(_reports)


class InformantKeys(NamedTuple):
    """The stream keys the report kernel reads, by name at both ends."""

    report: np.uint64
    """This mechanism's report draws."""
    ties: np.uint64
    """The population's community ties."""
    opportunism: np.uint64
    """The population's opportunism trait."""
    groups: np.uint64
    """The population's local groups (neighbourhood watchers)."""


class InformantRule(NamedTuple):
    """Who may report and how likely, by name at both ends."""

    ties: int
    """Community ties that may report."""
    locality: int
    """Mean id distance of a community tie (the population's ``tie_locality``)."""
    report_prob: float
    """A tie's chance of reporting an unrecorded act."""
    opportunism_weight: float
    """How a tie's opportunism trait scales that chance."""
    watchers: int
    """Neighbourhood members who may report too."""


InformantsState = compiled_struct(
    "InformantsState", ("keys", "reportable", "bounds", "rule", "n", "today"), __name__
)
"""The keys (``InformantKeys``); the reportable acts; the regions; the rule (``InformantRule``); the
population; today's reports."""


@njit(cache=True)
def _new_state(keys, reportable, bounds, rule, n):
    return InformantsState(keys, reportable, bounds, rule, n, np.zeros(1, np.float64))


@njit(cache=True)
def _step(day, board, s):
    pid, act, recorded = acts_of(board)
    row = record_room(board, pid.size)
    out = (board.rec_pid, board.rec_act, board.rec_source, board.rec_true, row)
    args = (s.keys, s.rule, day, pid, act, recorded, s.reportable, s.bounds, s.n)
    if pid.size >= PARALLEL_MIN_ITEMS:
        reports, ordered = _reports(*args, *out)
    else:
        reports, ordered = _reports_one_thread(*args, *out)
    records_written(board, reports, ordered)
    s.today[0] = reports


compiled_mechanism(InformantsState, _step)


class Informants(CompiledSteps, Reporting):
    """Ties report acts that data sources missed."""

    name = "informants"
    Params = InformantsParams
    description = "rewarded reporting: community ties report unrecorded acts"
    params: InformantsParams

    def init(self, sim: Simulation) -> None:
        p, pop = self.params, sim.pop
        self.reportable = np.zeros(len(Act), np.bool_)
        self.reportable[[act_by_name(a) for a in p.acts]] = True
        keys = InformantKeys(
            report=self.key("report"),
            ties=pop.keys.ties,
            opportunism=pop.keys.opportunism,
            groups=pop.keys.groups,
        )
        rule = InformantRule(
            ties=p.ties,
            locality=pop.params.tie_locality,
            report_prob=p.report_prob,
            opportunism_weight=p.opportunism_weight,
            watchers=p.neighbourhood_watchers,
        )
        self.state = _new_state(keys, self.reportable, pop.geography.bounds, rule, pop.n)
        self.today = today_of(self.state)
        self.metric_columns = ("informant_reports",)
