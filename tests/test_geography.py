"""Regions as id ranges: the region lookups agree with a sorted search."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from scslab.population.geography import region_of, regions_of_sorted


@settings(max_examples=200, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 50), min_size=1, max_size=70),
    probes=st.lists(st.integers(0, 4000), min_size=1, max_size=20),
)
def test_region_of_is_the_last_region_starting_at_or_before_the_person(sizes, probes):
    bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)  # empty regions included
    for pid in probes:
        pid = min(pid, int(bounds[-1]) - 1) if bounds[-1] > 0 else 0
        expected = np.searchsorted(bounds, pid, side="right") - 1
        assert region_of(bounds, pid) == expected
        if bounds[-1] > 0:  # a person lives in a region that is not empty
            r = region_of(bounds, pid)
            assert bounds[r] <= pid < bounds[r + 1]


@settings(max_examples=200, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 50), min_size=1, max_size=70),
    probes=st.lists(st.integers(0, 4000), max_size=60),
)
def test_regions_of_sorted_people_are_each_persons_region(sizes, probes):
    bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    if bounds[-1] == 0:
        return  # nobody lives anywhere
    pids = np.sort(np.minimum(np.asarray(probes, np.int64), bounds[-1] - 1))
    expected = np.searchsorted(bounds, pids, side="right") - 1
    assert regions_of_sorted(bounds, pids).tolist() == expected.tolist()
