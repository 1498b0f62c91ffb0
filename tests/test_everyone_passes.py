"""Passes over everyone that go a region at a time: the same values as a person at a time.

``debt._weight_sums``, ``commercial._propensity_sum`` and the walk of ``commercial._recompute``
follow the regions along the ids and compute a run of people's values in a loop of their own
(vector code) before adding or keeping them. Here each is held to the plain definition: every
person's value from the rule itself, their region looked up, added in id order block by block.
The regions include an empty one and boundaries inside blocks, runs and parts.
"""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from conftest import credit_rule
from scslab.mechanisms.behaviour.debt import (
    _WEIGHT_BLOCK,
    ArrearsPeople,
    ArrearsRule,
    _debtor_weight,
    _weight_sums,
)
from scslab.mechanisms.scoring import commercial
from scslab.mechanisms.ties import TieCuts
from scslab.population.attributes import AttributeKeys, age_table
from scslab.population.census import HOUSEHOLD_SIZE_SHARES
from scslab.population.geography import region_of

N = _WEIGHT_BLOCK + 300_001
"""More than one block of the debt's sums and several of the opt-in pass's."""
BOUNDS = np.asarray([0, 1_000, 1_000, 262_100, 262_200, 700_001, 1_048_600, N], np.int64)
"""Regions, urban and rural by parity: one empty, edges near block, part and run edges."""


@njit
def _weights_one_by_one(people, rule, factor, n, block):
    out = np.zeros((n + block - 1) // block)
    for pid in range(n):
        urban = region_of(people.bounds, pid) % 2 == 0
        out[pid // block] += _debtor_weight(people, rule, factor, pid, urban)
    return out


@njit
def _propensities_one_by_one(opt, keys, households, bounds, block):
    n = households.size
    sums = np.zeros((n + block - 1) // block)
    for pid in range(n):
        urban = region_of(bounds, pid) % 2 == 0
        sums[pid // block] += commercial._propensity(opt, keys, households, pid, urban)
    total = 0.0
    for b in range(sums.size):
        total += sums[b]
    return total


@njit
def _joined_one_by_one(opt, keys, households, bounds, score, ramp):
    out = np.empty(score.size, np.bool_)
    for pid in range(score.size):
        urban = region_of(bounds, pid) % 2 == 0
        out[pid] = score[pid] > 0 or commercial._joins(opt, keys, households, pid, urban, ramp)
    return out


def _households() -> np.ndarray:
    rng = np.random.default_rng(5)
    size = rng.integers(1, 7, N)
    return ((size << 4) | rng.integers(0, size)).astype(np.uint8)  # a position in the household


@pytest.mark.parametrize("build", ["one_thread", "threaded"])
def test_debtor_weights_are_summed_person_by_person(build: str) -> None:
    keys = (np.uint64(k) for k in (21, 22, 23, 24))
    people = ArrearsPeople(*keys, BOUNDS, _households(), age_table(HOUSEHOLD_SIZE_SHARES))
    rule = ArrearsRule(np.asarray([2.0, 1.5, 1.0, 0.6, 0.3]), compliance_weight=-0.5, top=3.0)
    factor = np.asarray([0.9, 0.7, 0.5, 0.4, 0.2])
    sums = getattr(_weight_sums, build)(people, rule, factor, N)
    expected = _weights_one_by_one(people, rule, factor, N, _WEIGHT_BLOCK)
    assert sums.tolist() == expected.tolist()  # bit for bit, not approximately
    assert np.all(expected > 0)


def _opt_and_keys() -> tuple[commercial._OptIn, AttributeKeys]:
    factors = np.asarray([1.0, 0.9, 0.7, 0.5, 0.3])
    opt = commercial._OptIn(np.uint64(77), 0.4, factors, 1.2, 0.5, age_table(HOUSEHOLD_SIZE_SHARES))
    keys = AttributeKeys(*(np.uint64(31 + k) for k in range(len(AttributeKeys._fields))))
    return opt, keys


@pytest.mark.parametrize("build", ["one_thread", "threaded"])
def test_opt_in_propensities_are_summed_person_by_person(build: str) -> None:
    opt, keys = _opt_and_keys()
    households = _households()
    total = getattr(commercial._propensity_sum, build)(opt, keys, households, BOUNDS)
    expected = _propensities_one_by_one(opt, keys, households, BOUNDS, commercial.PASS_BLOCK)
    assert total == expected
    assert 0.3 * N < total < 1.5 * N


@pytest.mark.parametrize("check_join", [True, False])
def test_the_rescoring_pass_keeps_users_and_those_who_join(check_join: bool) -> None:
    """After the pass a person has a score exactly when they had one or (adoption on) join."""
    opt, keys = _opt_and_keys()
    households = _households()
    rng = np.random.default_rng(8)
    score = np.where(rng.random(N) < 0.2, rng.integers(350, 951, N), 0).astype(np.int16)
    expected = (
        _joined_one_by_one(opt, keys, households, BOUNDS, score, 0.5) if check_join else score > 0
    )
    rule = credit_rule()
    cuts = TieCuts(flags=np.zeros(N, np.uint8), shift=0, stored=8, counts=np.zeros(2, np.int64))
    packed = rng.integers(0, 256, N).astype(np.uint8)
    hist = np.zeros(601, np.int64)
    passed = (rule, opt, keys, households, BOUNDS, 1000, cuts, score, packed, hist)
    commercial._recompute.one_thread(*passed, check_join, 0.5, 1)
    assert np.array_equal(score > 0, expected)
    assert expected.sum() > (score.size // 5 if check_join else 0)
    assert hist.sum() == expected.sum()
