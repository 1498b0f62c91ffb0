"""Static attributes of the synthetic population against the census figures they stand for."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

import scslab
from scslab.engine.simulation import Simulation
from scslab.kernels.rng import uniform
from scslab.population.attributes import (
    CHILD,
    CIVIL_SERVANT,
    CIVIL_SERVANT_SHARE,
    FARMER,
    GROWN_MIN_AGE,
    HEAD_MIN_AGE,
    RETIRED,
    STUDENT,
    WORKER,
    age,
    at_least,
    income_class,
    occupation,
)
from scslab.population.census import AGE_BAND_SHARES, URBAN_SHARE_2020, provinces
from scslab.population.geography import region_of


def test_the_national_urban_share_is_the_provinces_by_population():
    table = provinces()
    weighted = sum(p.population * p.urban_share for p in table) / sum(p.population for p in table)
    assert weighted == pytest.approx(URBAN_SHARE_2020, abs=0.005)


@njit
def _quintiles_by_setting(key, bounds, n):
    """People per income quintile, urban (row 0) and rural (row 1)."""
    out = np.zeros((2, 5), np.int64)
    for pid in range(n):
        urban = region_of(bounds, pid) % 2 == 0
        out[0 if urban else 1, income_class(key, pid, urban)] += 1
    return out


def test_income_quintiles_are_fifths_of_china_with_urban_residents_higher():
    """All of China: a fifth in each quintile; one place's own shares lean to its setting."""
    sc = scslab.load_scenario("reference").with_overrides(people=400_000, days=1)
    pop = Simulation(sc).pop
    counts = _quintiles_by_setting(pop.keys.income, pop.geography.bounds, pop.n)
    shares = counts.sum(axis=0) / pop.n
    assert counts[0].sum() / pop.n == pytest.approx(URBAN_SHARE_2020, abs=0.01)
    assert np.abs(shares - 0.2).max() < 0.006, shares  # 0.187 .. 0.268 before (fifths of nothing)
    urban, rural = (row @ np.arange(5) / row.sum() for row in counts)
    assert urban - rural == pytest.approx(1.43, abs=0.08)  # 2.52 against 1.09
    # the other direction: the quintiles are the nation's, so a rural province has fewer rich
    rural_sc = sc.with_overrides(people=100_000)
    rural_sc = scslab.scenario_from_dict(
        {**rural_sc.raw, "population": {"provinces": ["Tibet"]}}  # the least urban province
    )
    tibet = Simulation(rural_sc).pop
    own = _quintiles_by_setting(tibet.keys.income, tibet.geography.bounds, tibet.n).sum(axis=0)
    assert own[0] / tibet.n > 0.3 and own[4] / tibet.n < 0.15


@njit
def _ages(key, households, table):
    """Everyone's age."""
    out = np.empty(households.size, np.int64)
    for pid in range(households.size):
        out[pid] = age(key, pid, households[pid], table)
    return out


def _band_shares(ages):
    return np.array([(ages < 15).mean(), ((ages >= 15) & (ages < 60)).mean(), (ages >= 60).mean()])


@pytest.mark.parametrize(
    ("preset", "household_size"), [("rongcheng", None), ("reference", 3), ("rongcheng", 5)]
)
def test_ages_hold_the_census_bands_with_adult_heads(preset, household_size):
    """The census's 17.95% children whatever the households' sizes; every head is 18 or more.

    Before, heads were drawn from the grown and everyone else from the census bands, so 11.2% of
    people were children (and about 5% of heads 15-17); then, with the others' chance of being a
    child that households of one size would need, 16.2%, since the 9.6% of people who live
    alone are heads. Then households that all had one size held 17.95 / (1 - 0.096) = 19.9%
    children, the chance being the census households' for every population; now each population
    has its own (``Population.age_table``).
    """
    sc = scslab.load_scenario(preset).with_overrides(people=400_000, days=1)
    if household_size is not None:
        population = {**sc.raw.get("population", {}), "household_size": household_size}
        sc = scslab.scenario_from_dict({**sc.raw, "population": population})
    pop = Simulation(sc).pop
    alone = ((pop.households >> 4) == 1).mean()
    # (households of a fixed size: a few cut short where a sampling block ends)
    assert alone == pytest.approx(0.096, abs=0.004) if household_size is None else alone < 0.001
    ages = _ages(pop.keys.age, pop.households, pop.age_table)
    if household_size is not None:  # no one alone: more others, each less likely a child
        assert np.median(pop.households >> 4) == household_size
    expected = np.array(AGE_BAND_SHARES)
    assert np.abs(_band_shares(ages) - expected).max() < 0.004, (_band_shares(ages), expected)
    heads = (pop.households & 15) == 0
    assert ages[heads].min() == HEAD_MIN_AGE and ages.max() == 90
    assert (ages[~heads] < 15).mean() > AGE_BAND_SHARES[0]  # children are among the others
    # one person a household: no one to be a child
    alone_sc = scslab.scenario_from_dict({**sc.raw, "population": {"household_size": 1}})
    single = Simulation(alone_sc).pop
    assert _ages(single.keys.age, single.households, single.age_table).min() == HEAD_MIN_AGE


@njit
def _occupations(key, ages, urban):
    """Everyone's occupation, given their ages, in one setting."""
    out = np.empty(ages.size, np.int64)
    for pid in range(ages.size):
        out[pid] = occupation(key, pid, ages[pid], urban)
    return out


def _age_by_the_rule(key, pid, household, table):
    """``age``'s docstring, step by step with branches: the rule its branch-free code keeps."""
    position, size = household & 15, household >> 4
    u, v = uniform(key, 0, pid, 0), uniform(key, 0, pid, 1)
    if position > 0:
        if u < table[0, size]:
            return int(v * 15.0)  # a child
        u = (u - table[0, size]) * table[1, size]  # uniform again, among the grown
    old_among_grown = AGE_BAND_SHARES[2] / (AGE_BAND_SHARES[1] + AGE_BAND_SHARES[2])
    if u < old_among_grown:
        return 60 + int(v * 31.0)
    if position == 0:
        return HEAD_MIN_AGE + int(v * (60.0 - HEAD_MIN_AGE))
    return 15 + int(v * 45.0)


def _occupation_by_the_rule(key, pid, years, urban):
    """``occupation``'s docstring, step by step with branches."""
    if years < 6:
        return CHILD
    if years < 22:
        return STUDENT
    if years >= 60:
        return RETIRED
    u = uniform(key, 0, pid, 0)
    if urban:
        return CIVIL_SERVANT if u < CIVIL_SERVANT_SHARE else WORKER
    return FARMER if u < 0.7 else WORKER


@njit
def _at_least_disagrees(key, households, table, years):
    """How many ids' ``at_least(..., years)`` differs from ``age(...) >= years``."""
    wrong = 0
    for pid in range(households.size):
        h = households[pid]
        wrong += at_least(key, pid, h, table, years) != (age(key, pid, h, table) >= years)
    return wrong


@pytest.mark.parametrize("household_size", [None, 1, 3])
def test_at_least_says_what_the_age_says_at_every_minimum(household_size):
    """``at_least`` skips the ages of the grown below ``GROWN_MIN_AGE``: the same answers.

    Households of the census, everyone alone (no children at all) and all of three; every
    minimum from 0 to above the oldest age, so both of its ways and the band edges are taken.
    """
    sc = scslab.load_scenario("rongcheng").with_overrides(people=100_000, days=1)
    if household_size is not None:
        population = {**sc.raw.get("population", {}), "household_size": household_size}
        sc = scslab.scenario_from_dict({**sc.raw, "population": population})
    pop = Simulation(sc).pop
    key, households, table = pop.keys.age, pop.households, pop.age_table
    for years in range(0, 93):
        assert _at_least_disagrees(key, households, table, years) == 0, years
    ages = _ages(key, households, table)
    assert (ages < GROWN_MIN_AGE).any() == (household_size != 1)  # children, but for all alone


def test_ages_and_occupations_are_their_rules_step_by_step():
    """The kernels choose among values without branches; each person's is the rule's.

    Households of every size and position, and every band of age: a choice that took a wrong
    value for one kind of person would show here.
    """
    sc = scslab.load_scenario("rongcheng").with_overrides(people=20_000, days=1)
    pop = Simulation(sc).pop
    ages = _ages(pop.keys.age, pop.households, pop.age_table)
    by_rule = [
        _age_by_the_rule(pop.keys.age, pid, int(pop.households[pid]), pop.age_table)
        for pid in range(pop.n)
    ]
    np.testing.assert_array_equal(ages, by_rule)
    assert {0, 15, 17, 18, 59, 60, 90} <= set(ages.tolist())  # every branch was taken
    assert sorted(set((pop.households & 15).tolist()))[:2] == [0, 1]
    assert (ages == 14).any() and (ages == 15).any()
    for urban in (True, False):
        jobs = _occupations(pop.keys.occupation, ages, urban)
        by_rule = [
            _occupation_by_the_rule(pop.keys.occupation, pid, int(ages[pid]), urban)
            for pid in range(pop.n)
        ]
        np.testing.assert_array_equal(jobs, by_rule)
        assert set(jobs.tolist()) == (
            {CHILD, STUDENT, RETIRED, WORKER, CIVIL_SERVANT}
            if urban
            else {CHILD, STUDENT, RETIRED, WORKER, FARMER}
        )
