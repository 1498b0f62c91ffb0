"""The data sources record the same acts whichever way ``_observe`` draws.

``_observe`` tries the sources source by source over all acts, or act by act with only the
sources that cover each act's kind when most draws would be for nothing
(``ACT_BY_ACT_PAYS``). Both must find, for every act, the first source in order whose draw
falls below its coverage (times an evader's factor), as trying every source in turn would.
"""

from __future__ import annotations

import numpy as np
import pytest

from scslab.catalogue import Act, Source
from scslab.kernels.rng import uniform
from scslab.mechanisms.ages import no_ages
from scslab.mechanisms.observation.evaders import CoverageEvasion, evades, no_evasion
from scslab.mechanisms.observation.sources import (
    ACT_BY_ACT_PAYS,
    _covering,
    _observe,
)

KEY = np.uint64(1234)
DAY = 5
BOUNDS = np.asarray([0, 300_000, 700_000, 1_000_000], np.int64)
ORDER = np.asarray([3, 1, 6, 2], np.int64)


def _every_source_in_turn(pids, acts, cover, evasion, evading_today):
    """The rule, one act and one source at a time: (first source that records, first at full)."""
    src = np.full(pids.size, -1, np.int16)
    full = np.full(pids.size, -1, np.int16)
    for i, (pid, act) in enumerate(zip(pids.tolist(), acts.tolist(), strict=True)):
        rural = (np.searchsorted(BOUNDS, pid, side="right") - 1) % 2
        evader = 1.0 if evading_today and evades(evasion, pid) else 0.0
        for j, source in enumerate(ORDER.tolist()):
            u = uniform(KEY, DAY, pid, act * 64 + j)
            c = cover[act, j, rural]
            factor = evasion.factor[source]
            if evading_today and factor != 1.0:
                if full[i] < 0 and u < c:
                    full[i] = source
                c = c * (evader * factor + (1.0 - evader))
            if src[i] < 0 and u < c:
                src[i] = source
    return src, full


def _evasion() -> CoverageEvasion:
    factor = np.ones(len(Source), np.float64)
    factor[ORDER[0]], factor[ORDER[2]] = 0.2, 0.5
    return CoverageEvasion(
        active=True,
        key=np.uint64(77),
        trait_key=np.uint64(78),
        share=0.5,
        weight=0.0,
        factor=factor,
        first_day=np.zeros(1, np.int64),
        lost=np.zeros(len(Act), np.int64),
        **no_ages()._asdict(),  # any age
        min_age=0,
    )


def _cover(sparse: bool) -> np.ndarray:
    """Coverage by kind, place and rurality: every source on every kind, or one or two a kind."""
    rng = np.random.default_rng(11)
    cover = rng.uniform(0.2, 0.9, (6, ORDER.size, 2))
    if sparse:
        keep = np.zeros((6, ORDER.size), bool)
        keep[np.arange(6), np.arange(6) % ORDER.size] = True
        keep[0, 2] = True  # kind 0: two sources
        cover *= keep[:, :, None]
    return cover


@pytest.mark.parametrize("sparse", [False, True], ids=["source_by_source", "act_by_act"])
@pytest.mark.parametrize("evading_today", [False, True], ids=["nobody_evades", "evaders"])
def test_every_way_of_drawing_records_the_first_source_that_hits(sparse, evading_today) -> None:
    rng = np.random.default_rng(12)
    pids = np.sort(rng.choice(1_000_000, 6000, replace=False))
    acts = rng.integers(0, 6, pids.size).astype(np.int16)
    cover = _cover(sparse)
    covering, _ = _covering(cover)
    draws = int(sum(covering[a + 1] - covering[a] for a in acts.tolist()))
    assert (draws * ACT_BY_ACT_PAYS <= pids.size * ORDER.size) == sparse  # the way under test
    evasion = _evasion() if evading_today else no_evasion()
    want_src, want_full = _every_source_in_turn(pids, acts, cover, evasion, evading_today)
    want_lost = np.bincount(acts[(want_full >= 0) & (want_src < 0)], minlength=len(Act))
    for build in (_observe.threaded, _observe.one_thread):
        evasion.lost[:] = 0
        recorded = np.zeros(pids.size, np.bool_)
        room = [np.zeros(pids.size, t) for t in (np.int64, np.int16, np.int16, np.bool_)]
        args = (KEY, DAY, pids, acts, recorded, BOUNDS, ORDER, cover, evasion, evading_today)
        hits, ordered = build(*args, *room, 0)
        assert ordered and hits == (want_src >= 0).sum() > 0
        assert np.array_equal(recorded, want_src >= 0)
        assert np.array_equal(room[0][:hits], pids[want_src >= 0])
        assert np.array_equal(room[2][:hits], want_src[want_src >= 0])
        assert np.array_equal(evasion.lost, want_lost if evading_today else 0 * want_lost)
    if evading_today:
        assert want_lost.sum() > 0  # evasion kept some acts from every source
