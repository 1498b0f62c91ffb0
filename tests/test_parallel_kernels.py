"""Per-event kernels built twice (``kernels/parallel.py``): same values, chosen by size."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit, prange

from conftest import credit_rule, package_kernels
from scslab.kernels import parallel
from scslab.kernels.sampling import uniforms
from scslab.kernels.structs import FlagBits
from scslab.mechanisms.ages import ActorAges
from scslab.mechanisms.behaviour.debt import (
    ArrearsPeople,
    ArrearsRule,
    _arrears_keep,
)
from scslab.mechanisms.consequences.sectors import _blocked
from scslab.mechanisms.observation.evaders import no_evasion
from scslab.mechanisms.observation.sources import _observe
from scslab.mechanisms.reporting.informants import (
    InformantKeys,
    InformantRule,
    _reports,
)
from scslab.mechanisms.ties import TieCuts
from scslab.population.attributes import age_table
from scslab.population.census import HOUSEHOLD_SIZE_SHARES


def test_both_builds_draw_the_same_uniforms() -> None:
    ids = np.sort(np.random.default_rng(3).choice(10_000_000, 5000, replace=False))
    key = np.uint64(0xDEADBEEF)
    a = uniforms.threaded(key, 17, ids, 2)
    b = uniforms.one_thread(key, 17, ids, 2)
    assert np.array_equal(a, b)
    assert np.all((a >= 0) & (a < 1))


def test_both_builds_block_the_same_attempts() -> None:
    rng = np.random.default_rng(5)
    n = 30_000
    flags = (rng.random(n) < 0.05).astype(np.uint8)
    households = ((3 << 4) | np.arange(n) % 3).astype(np.uint8)  # size 3, place in household
    ids = np.sort(rng.choice(n, 6000, replace=False))
    flags |= ((rng.random(n) < 0.5) * 2).astype(np.uint8)  # bit 2: listed on a false record
    for family in (False, True):
        for enforcement in (1.0, 0.6):
            args = (ids, flags, np.uint8(1), flags, np.uint8(2), households, family)
            args += (np.uint64(4), 9, enforcement)
            a, b = _blocked.threaded(*args), _blocked.one_thread(*args)
            assert np.array_equal(a[0], b[0]) and a[1:] == b[1:]
            assert a[0].size > 0 and (a[1] > 0) == family and a[2] > 0


def test_both_builds_observe_the_same_acts() -> None:
    rng = np.random.default_rng(8)
    pids = np.sort(rng.choice(1_000_000, 5000, replace=False))
    acts = rng.integers(0, 3, pids.size).astype(np.int16)
    bounds = np.asarray([0, 400_000, 1_000_000], np.int64)
    cover = rng.random((3, 2, 2))
    order = np.asarray([4, 7], np.int64)
    seen = []
    for build in (_observe.threaded, _observe.one_thread):
        recorded = np.zeros(pids.size, np.bool_)
        room = [np.zeros(pids.size + 2, t) for t in (np.int64, np.int16, np.int16, np.bool_)]
        hits, ordered = build(
            np.uint64(99),
            3,
            pids,
            acts,
            recorded,
            bounds,
            order,
            cover,
            no_evasion(),
            False,
            *room,
            2,
        )
        seen.append((hits, ordered, *room, recorded))
    assert all(np.array_equal(a, b) for a, b in zip(*seen, strict=True))
    hits, ordered, pid, act, source, true, recorded = seen[0]
    assert 0 < hits < pids.size and ordered and true[2 : 2 + hits].all()
    assert np.array_equal(pid[2 : 2 + hits], pids[recorded]) and set(source[2 : 2 + hits]) <= {4, 7}
    assert np.array_equal(act[2 : 2 + hits], acts[recorded])


def test_both_builds_report_the_same_acts() -> None:
    rng = np.random.default_rng(9)
    pids = np.sort(rng.choice(1_000_000, 6000, replace=False))
    acts = rng.integers(0, 3, pids.size).astype(np.int16)
    bounds = np.asarray([0, 400_000, 1_000_000], np.int64)
    reportable = np.asarray([True, False, True])
    seen = []
    for build in (_reports.threaded, _reports.one_thread):
        recorded = rng.random(pids.size) < 0.5 if not seen else seen[0][-1].copy()
        before = recorded.copy()
        room = [np.zeros(pids.size + 1, t) for t in (np.int64, np.int16, np.int16, np.bool_)]
        keys = InformantKeys(*(np.uint64(k) for k in range(31, 31 + len(InformantKeys._fields))))
        rule = InformantRule(
            ties=8,
            locality=1000,
            report_prob=0.05,
            opportunism_weight=0.6,
            watchers=3,
            reject_true=0.0,
            reporter_min_age=14,  # households of three: children among the ties and watchers
            ages=ActorAges(
                age_key=np.uint64(99),
                households=((3 << 4) | np.arange(1_000_000) % 3).astype(np.uint8),
                age_table=age_table(np.asarray([0.0, 0.0, 1.0])),
            ),
        )
        informed = FlagBits(flags=np.zeros(1_000_000, np.uint8), mask=np.uint8(1))
        cut = np.random.default_rng(3).integers(0, 256, 1_000_000).astype(np.uint8)
        cut[::2] = 0  # half the people with some of their ties cut, half with none
        cuts = TieCuts(flags=cut, shift=0, stored=8, counts=np.zeros(2, np.int64))
        args = (keys, rule, 0.05, 4, pids, acts, recorded, reportable, bounds, 1_000_000)
        _, reports, _, ordered = build(*args, informed, cuts, *room, 1)
        seen.append((reports, ordered, *room, recorded, before))
    assert all(np.array_equal(a, b) for a, b in zip(*seen, strict=True))
    reports, ordered, pid, _, source, _, recorded, before = seen[0]
    assert reports > 0 and ordered and (source[1 : 1 + reports] == source[1]).all()
    assert np.array_equal(pid[1 : 1 + reports], pids[recorded & ~before])


def test_both_builds_keep_the_same_arrears_candidates() -> None:
    rng = np.random.default_rng(11)
    n = 200_000
    ids = np.sort(rng.choice(n, 6000, replace=False))
    households = ((3 << 4) | np.arange(n) % 3).astype(np.uint8)
    flags = (rng.random(n) < 0.1).astype(np.uint8)  # bit 1: already in debt
    people = ArrearsPeople(
        *(np.uint64(k) for k in (21, 22, 23, 24)),
        np.asarray([0, 90_000, n], np.int64),
        households,
        age_table(HOUSEHOLD_SIZE_SHARES),
    )
    rule = ArrearsRule(np.asarray([2.0, 1.5, 1.0, 0.6, 0.3]), compliance_weight=-0.5, top=3.0)
    args = (people, 5, ids, flags, np.uint8(1), rule)
    a, b = _arrears_keep.threaded(*args), _arrears_keep.one_thread(*args)
    assert np.array_equal(a, b)
    assert 0 < a.sum() < ids.size and not a[flags[ids] == 1].any()


@pytest.mark.parametrize(
    ("size", "build"), [(10, "one_thread"), (parallel.PARALLEL_MIN_ITEMS, "threaded")]
)
def test_the_events_count_picks_the_build(
    monkeypatch: pytest.MonkeyPatch, size: int, build: str
) -> None:
    used = []
    for name in ("threaded", "one_thread"):
        monkeypatch.setattr(uniforms, name, lambda *args, name=name: used.append(name))
    uniforms(np.uint64(1), 0, np.arange(size), 0)
    assert used == [build]


def _total(x):
    """The sum of ``x`` (a kernel for ``both_builds``)."""
    total = 0.0
    for i in prange(x.size):
        total += x[i]
    return total


_total_kernel = parallel.both_builds(_total)


@njit
def _total_of(threads, x):
    """A compiled caller of a kernel built twice, as a mechanism's step is."""
    return _total_kernel(threads, x.size, x)


def test_a_caller_without_threads_never_compiles_the_threaded_build() -> None:
    x = np.ones(parallel.PARALLEL_MIN_ITEMS)
    assert _total_of(None, x) == x.size
    assert _total_kernel.one_thread.signatures and not _total_kernel.threaded.signatures
    assert _total_of(True, x) == x.size  # a caller for a big run has both
    assert _total_kernel.threaded.signatures


@pytest.mark.parametrize(
    ("threads", "size", "build"),
    [
        (None, parallel.PARALLEL_MIN_ITEMS, "one_thread"),
        (True, parallel.PARALLEL_MIN_ITEMS - 1, "one_thread"),
        (True, parallel.PARALLEL_MIN_ITEMS, "threaded"),
    ],
)
def test_threads_and_the_events_count_pick_the_build(
    threads: bool | None, size: int, build: str
) -> None:
    kernel = parallel.both_builds(_total)  # builds of its own: only the build picked is made
    assert kernel(threads, size, np.ones(size)) == size  # from Python
    made = {name for name in ("threaded", "one_thread") if getattr(kernel, name).signatures}
    assert made == {build}


def test_the_two_builds_have_their_own_cache_names() -> None:
    assert uniforms.threaded.py_func.__qualname__ == "uniforms"
    assert uniforms.one_thread.py_func.__qualname__ == "uniforms_one_thread"
    assert uniforms.threaded.targetoptions.get("parallel")
    assert not uniforms.one_thread.targetoptions.get("parallel")


def test_a_missing_size_argument_is_named() -> None:
    def kernel(ids, day):
        return ids

    with pytest.raises(ValueError, match="kernel has no argument 'pids'"):
        parallel.sized_kernel("pids")(kernel)


def test_other_builds_are_readied_for_the_signatures_used() -> None:
    ids = np.arange(5)
    uniforms(np.uint64(1), 0, ids, 0)  # a small call: the one-thread build
    parallel.compile_other_builds()
    for kernel in (uniforms.threaded, uniforms.one_thread):
        assert any(sig[2] == uniforms.one_thread.signatures[0][2] for sig in kernel.signatures)
    assert parallel.compile_other_builds() == 0  # nothing left to compile


def test_a_run_uses_threads_from_a_million_people_or_as_a_bigger_run() -> None:
    many = parallel.THREADED_RUN_PEOPLE
    assert parallel.run_threads(many - 1) is None and parallel.run_threads(many) is True
    with parallel.threads_as_for(many):  # a warm-up for a big run: built as the big run
        assert parallel.run_threads(1000) is True
        with parallel.threads_as_for(10):
            assert parallel.run_threads(1000) is None
        assert parallel.run_threads(1000) is True
    assert parallel.run_threads(1000) is None


def _filled(result: tuple, block: int) -> tuple:
    """Of ``(values, counts)`` per block of ``block``, the values written (the rest is unset)."""
    values, counts = result
    return counts, np.concatenate([values[b * block :][: counts[b]] for b in range(counts.size)])


def _built_both_ways() -> list[tuple[str, object, tuple]]:
    """(name, kernel, arguments[, view]) of kernels built both ways that no other test here runs.

    The passes over everyone (households, points' enrolment and misverified users, backlash's
    opinion histograms, a leak's exposure; the commercial score's opt-in sum and periodic pass;
    the group metrics' four passes; the tie network's components; who evades) were threaded-only
    before runs
    below a million people took one thread; each runs over more than one block here (1 << 20
    people where it blocks). ``view``: what of the result to compare (default: all of it);
    arguments may be a function that makes them, where they are results of other kernels.
    """
    from scslab.catalogue import Act, Source
    from scslab.kernels import sampling
    from scslab.mechanisms.adversary.data_breaches import BreachRule, _exposed_in
    from scslab.mechanisms.behaviour.debt import _delays, _weight_sums
    from scslab.mechanisms.consequences.public_naming import _ties_cut
    from scslab.mechanisms.metrics import groups
    from scslab.mechanisms.observation.evaders import _evaders_in
    from scslab.mechanisms.response.backlash import _initial_histograms
    from scslab.mechanisms.response.tie_cutting import _pair_ties
    from scslab.mechanisms.scoring import commercial
    from scslab.mechanisms.scoring.dangan import _rejected
    from scslab.mechanisms.scoring.points import _count_enrolled, _misverified_users
    from scslab.mechanisms.surveillance.face_recognition import Sighting, _identify
    from scslab.mechanisms.ties import _largest_in_parts, _largest_of_regions, leaving_room
    from scslab.population.attributes import AttributeKeys
    from scslab.population.census import HOUSEHOLD_SIZE_SHARES
    from scslab.population.households import _generated_households, size_cdf

    key, many, n = np.uint64(77), 1_200_000, 300_000
    rng = np.random.default_rng(21)
    ids = np.sort(rng.choice(n, 6000, replace=False))
    bounds = np.asarray([0, 120_000, n], np.int64)
    households = ((3 << 4) | np.arange(n) % 3).astype(np.uint8)
    ages = age_table(HOUSEHOLD_SIZE_SHARES)
    rule = BreachRule(
        exposure_key=key,
        leak_days=np.asarray([0, 5], np.int64),
        shares=np.asarray([0.3, 0.2]),
        screen_below=550,
        application_key=key,
        screening_key=key,
        age_key=key,
        age_table=ages,
        application_rate=0.0,
        screening_share=0.0,
    )
    everyone = ArrearsPeople(  # 1,200,000 people: more than one block of sums
        *(np.uint64(k) for k in (21, 22, 23, 24)),
        np.asarray([0, 500_000, many], np.int64),
        ((3 << 4) | np.arange(many) % 3).astype(np.uint8),
        ages,
    )
    arrears = ArrearsRule(np.asarray([2.0, 1.5, 1.0, 0.6, 0.3]), compliance_weight=-0.5, top=3.0)
    signing_up = (16, np.uint64(25), everyone.households, ages)  # children among the many
    cut = rng.integers(0, 256, n).astype(np.uint8)
    cuts = TieCuts(flags=cut, shift=0, stored=8, counts=np.zeros(2, np.int64))
    dossier = rng.integers(0, 256, n).astype(np.uint8)
    scale = np.asarray([1.5, 1.2, 1.0, 0.8, 0.6])
    keys = AttributeKeys(*(np.uint64(31 + k) for k in range(len(AttributeKeys._fields))))
    factors = np.asarray([1.0, 0.9, 0.7, 0.5, 0.3])
    opt = commercial._OptIn(key, 1.0, factors, 1.2, 0.5, ages)
    score_rule = credit_rule()
    users = np.where(rng.random(n) < 0.5, rng.integers(350, 951, n), 0).astype(np.int16)
    packed = rng.integers(0, 256, n).astype(np.uint8)
    passed = (score_rule, opt, keys, households, bounds, 1000, cuts, users, packed)
    geo = groups.CellKeys(bounds, households, ages, key, key + np.uint64(1), key, key)
    scores = rng.integers(0, 3, (2, n))
    scored = (rng.random((2, n)) < 0.9).astype(np.uint8)
    usual = (np.asarray([1, 1], np.int64), np.asarray([1, 0], np.uint8))
    on_list = (rng.integers(0, 4, (1, n)).astype(np.uint8), np.asarray([1], np.uint8))
    hits = (n, groups.BLOCK, scores, scored, *usual, *on_list)

    def found() -> tuple:
        return groups._hits.one_thread(*hits)

    def tallied() -> tuple:
        cells = groups._cells_at.one_thread(0, *found(), groups.BLOCK, geo)
        grades = (np.asarray([[0.5, 1.5], [0.5, 1.5]]), np.asarray([2, 0], np.int64))
        return (*found(), cells, groups.BLOCK, scores, scored, *usual, *grades, *on_list, *on_list)

    def cells_of_hits() -> tuple:
        return (0, *found(), groups.BLOCK, geo)

    acted = np.sort(rng.choice(n, 50_000)).astype(np.int64)
    act_kinds = rng.integers(0, len(Act), acted.size).astype(np.int16)
    enforced, recorded = rng.random(len(Act)) < 0.3, rng.random(acted.size) < 0.1

    def identified() -> tuple:
        """A day's acts by person (some people with several), a third of the kinds enforced by
        cameras, a tenth recorded already, evaders seen at half the coverage; 5 rows before."""
        rows = [np.zeros(acted.size + 5, t) for t in (np.int64, np.int16, np.int16, np.bool_)]
        cameras = evasion._replace(factor=np.full(len(Source), 0.5))
        seen = Sighting(key, enforced, bounds, np.asarray([0.7, 0.3]), 0.99, True, 0.5)
        return (9, seen, cameras, acted, act_kinds, recorded, *rows, 5)

    records = np.sort(rng.choice(n, 40_000))  # by person, some people with several records
    credit = (
        rng.integers(-2, 3, 20),  # penalty units per act
        rng.random(12) < 0.8,  # sources feeding the credit history
        rng.random((20, 12)) < 0.5,  # records that count as activity
        7.5,
    )
    record_rows = (rng.integers(0, 20, records.size), rng.integers(0, 12, records.size))
    records_applied = (records, *record_rows, rng.random(records.size) < 0.9, users, packed)
    hist = np.zeros(601, np.int64)
    block_of = functools.partial(_filled, block=groups.BLOCK)
    factor = np.ones(len(Source), np.float64)
    evasion = no_evasion()._replace(active=True, key=key, trait_key=key, share=0.3, weight=0.5)
    evasion = evasion._replace(factor=factor)
    # A day's acts in two runs of one draw's ids each (keys id << 4 | draw), the short one
    # interleaved; merged into keys, or, as the last merge, into ids and labels.
    long_run = np.sort(rng.choice(n, 200_000, replace=False)).astype(np.int64)
    short_run = np.sort(rng.choice(n, 30_000, replace=False)).astype(np.int64)
    runs = (long_run, (4, 0), short_run, (4, 3))
    merged = np.zeros(long_run.size + short_run.size, np.int64)
    act_labels = np.arange(100, 116, dtype=np.int16)
    act_rows = (np.zeros(merged.size + 7, np.int64), np.zeros(merged.size + 7, np.int16), 7)
    return [
        ("merged keys", sampling._merged, (*runs, merged, False, 4, act_labels, *act_rows)),
        ("merged acts", sampling._merged, (*runs, merged[:0], True, 4, act_labels, *act_rows)),
        ("households", _generated_households, (key, n, size_cdf(HOUSEHOLD_SIZE_SHARES))),
        ("enrolled", _count_enrolled, (key, many, 0.8, 0.05, *signing_up)),
        ("misverified", _misverified_users, (key, many, 0.8, 0.05, 0.01, *signing_up)),
        ("opinions", _initial_histograms, (key, many, np.asarray([0.2, 0.5]), 0.3)),
        ("leak", _exposed_in, (rule, 1, 100_000, 300_000, np.zeros(200_000, np.bool_))),
        ("debtors", _weight_sums, (everyone, arrears, np.ones(5), many)),
        ("repayments", _delays, (key, 9, ids, 0.01, 0.002, 60, key, bounds, scale)),
        ("dossiers", _rejected, (key, key, ages, 9, ids, households, dossier, 0.3)),
        ("naming", _ties_cut, (key, 9, ids, 8, 0.3)),
        ("low scores", _pair_ties, (cuts, bounds, key, 1000, ids, ids % 8, ids % 3 > 0)),
        ("opt-in", commercial._propensity_sum, (opt, keys, everyone.households, everyone.bounds)),
        ("rescoring", commercial._recompute, (*passed, np.zeros(601, np.int64), True, 1.0, 1)),
        ("cells", groups._cell_people, (0, n, groups.BLOCK, geo)),
        ("hits", groups._hits, hits, block_of),
        ("cells of hits", groups._cells_at, cells_of_hits, lambda c: block_of((c, found()[1]))),
        ("group tallies", groups._tally, tallied),
        ("components", _largest_of_regions, (cuts, key, bounds, 1000, np.arange(2))),
        ("component parts", _largest_in_parts, (cuts, key, 0, 120_000, 40, 3, leaving_room(40))),
        ("faces identified", _identify, identified),
        ("evaders", _evaders_in, (evasion, bounds)),
        ("credit records", commercial._apply_records, (*records_applied, *credit, 350, 950, hist)),
        ("credit scores read", commercial._scores_at, (users, records)),
        ("credit users read", commercial._users_at, (users, records)),
        ("clean credit read", commercial._clean_at, (packed, records)),
    ]


def _arrays(value: object) -> list[np.ndarray]:
    """A result as a list of arrays (tuples and named tuples flattened; None: none)."""
    if value is None:
        return []
    if isinstance(value, tuple):
        return [a for v in value for a in _arrays(v)]
    return [np.asarray(value)]


@pytest.mark.parametrize("case", range(26))
def test_both_builds_agree(case: int) -> None:
    name, kernel, args, *view = _built_both_ways()[case]
    args = args() if callable(args) else args
    seen = []
    for build in (kernel.threaded, kernel.one_thread):
        own = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)  # fresh outputs
        result = build(*own)
        seen.append((_arrays(view[0](result) if view else result), own))
    (threaded, after_threaded), (one_thread, after_one) = seen
    assert len(threaded) == len(one_thread), name
    assert all(np.array_equal(a, b) for a, b in zip(threaded, one_thread, strict=True)), name
    outputs = [(a, b) for a, b in zip(after_threaded, after_one, strict=True)]
    assert all(np.array_equal(a, b) for a, b in outputs if isinstance(a, np.ndarray)), name
    written = any(  # not an empty result: values returned, or arguments written
        not np.array_equal(a, given)
        for a, given in zip(after_threaded, args, strict=True)
        if isinstance(a, np.ndarray)
    )
    assert any(np.any(a) for a in threaded) or written, name


BATCHES_OF_A_THREADED_DRAW = {
    "scslab.kernels.sampling._walk_batch",
    "scslab.kernels.sampling._gather_batch",
}
"""Threaded kernels called only by ``_walked_in_batches``, the threaded half of the draws' walk
(``threads_or_one(_walked_in_batches, _walked_in_one_thread)``)."""


def test_every_threaded_kernel_is_the_threaded_build_of_a_pair() -> None:
    """A run below ``THREADED_RUN_PEOPLE`` compiles no threaded build (``kernels/parallel.py``).

    So every ``parallel=True`` kernel of the package is the threaded build of ``both_builds`` or
    ``sized_kernel``, with a one-thread build beside it, or is called only from the threaded half
    of a ``threads_or_one`` pair.
    """
    kernels, paired = package_kernels()
    threaded = {name: k for name, k in kernels.items() if k.targetoptions.get("parallel")}
    unpaired = {name for name, k in threaded.items() if k not in paired}
    assert unpaired == BATCHES_OF_A_THREADED_DRAW, sorted(unpaired)


@settings(max_examples=80, deadline=None)
@given(
    pids=st.lists(st.integers(0, 12), max_size=60).map(sorted),
    parts=st.integers(1, 20),
)
def test_person_parts_cover_the_rows_and_split_no_person(pids, parts):
    ids = np.asarray(pids, np.int64)
    bounds = parallel.person_parts(ids, parts)
    assert bounds[0] == 0 and bounds[-1] == ids.size and 2 <= bounds.size <= max(parts, 1) + 1
    assert np.all(np.diff(bounds) >= 0)
    for cut in bounds[1:-1]:  # no person on both sides of a cut
        assert cut in (0, ids.size) or ids[cut] != ids[cut - 1]
    if len(set(pids)) >= parts:  # rows enough: cuts near each share, a person's rows apart
        assert bounds.size == parts + 1


@settings(max_examples=100, deadline=None)
@given(
    first=st.sets(st.integers(0, 60), max_size=60),
    second=st.sets(st.integers(0, 60), max_size=60),
    last=st.booleans(),
)
def test_a_merge_in_parts_is_the_merge_of_the_two_runs(first, second, last):
    """Each part starts where the merge path puts it (``kernels/sampling._co_rank``): the parts
    of ``_merged`` together are the whole merge, for runs of any length (none, shorter than the
    parts, one empty), in either build. Two draws' ids read as keys ``id << 1 | draw``: a person
    in both draws makes neighbouring keys, so that a split often falls between neighbours."""
    from scslab.kernels import sampling

    a, b = (np.asarray(sorted(ids), np.int64) for ids in (first, second))
    keys = np.sort(np.concatenate([a << 1, (b << 1) | 1]))
    labels = np.asarray([7, 9], np.int16)
    for build in (sampling._merged.threaded, sampling._merged.one_thread):
        out = np.full(keys.size, -1, np.int64)
        ids, label = np.full(keys.size + 2, -1, np.int64), np.zeros(keys.size + 2, np.int16)
        build(a, (1, 0), b, (1, 1), out[: 0 if last else None], last, 1, labels, ids, label, 2)
        if last:
            assert np.array_equal(ids[2:], keys >> 1) and ids[:2].tolist() == [-1, -1]
            assert np.array_equal(label[2:], labels[keys & 1])
        else:
            assert np.array_equal(out, keys)


def _points_state(misverified: bool, rng: np.random.Generator) -> object:
    """A point system's record over 300,000 people (offsets, grades, stats), with or without
    users misverified as someone else."""
    from scslab.mechanisms.scoring import points

    n = 300_000
    offset = rng.integers(-40, 40, n).astype(np.int16)
    mins = np.asarray([50, 0, -50, -points.OFFSET_LIMIT], np.int64)
    counts = np.bincount([points._grade(mins, o) for o in offset[:1000]], minlength=4)
    users = np.sort(rng.choice(n, 300 if misverified else 0, replace=False)).astype(np.int64)
    matched = rng.integers(0, n, users.size)
    order = np.argsort(matched, kind="stable")
    wrong = points.Misverified(users, matched[order], users[order], np.zeros(users.size, np.int64))
    enrolment = points.Enrolment(
        key=np.uint64(5),
        everyone=False,
        share=0.8,
        failure=0.05,
        base=1000,
        enrolled=n,
        min_age=16,
        ages=ActorAges(
            age_key=np.uint64(6),
            households=((3 << 4) | np.arange(n) % 3).astype(np.uint8),
            age_table=age_table(np.asarray([0.0, 0.0, 1.0])),
        ),
    )
    return points._new_state(
        offset,
        rng.integers(-30, 31, 20),
        rng.random(12) < 0.8,
        points.Bounds(lo=-200, hi=100),
        mins,
        counts.astype(np.int64),
        enrolment,
        wrong,
        True,
        8,
    )


@pytest.mark.parametrize("misverified", [False, True])
def test_both_builds_add_the_same_points(misverified: bool) -> None:
    """A point system's records (``points._apply``): parts of whole people in the threaded
    build, one part where misverified users make a record move someone else's score."""
    from scslab.mechanisms.scoring import points

    rng = np.random.default_rng(8)
    records = np.sort(rng.choice(300_000, 50_000))
    rows = (records, rng.integers(0, 20, records.size), rng.integers(0, 12, records.size))
    true = rng.random(records.size) < 0.9
    states = []
    for build in (points._apply.threaded, points._apply.one_thread):
        state = _points_state(misverified, np.random.default_rng(3))
        build(*rows, true, state)
        states.append(state)
    threaded, one_thread = (_arrays(points._shared(s)) for s in states)
    assert all(np.array_equal(a, b) for a, b in zip(threaded, one_thread, strict=True))
    offsets = [points._state_own_scores(s, np.arange(300_000), 0) for s in states]
    assert np.array_equal(*offsets)
    assert not np.array_equal(
        offsets[0],
        points._state_own_scores(
            _points_state(misverified, np.random.default_rng(3)), np.arange(300_000), 0
        ),
    )  # the records moved scores
    if misverified:
        assert np.array_equal(*(points._misverified_of(s).own_offset for s in states))
        assert np.any(points._misverified_of(states[0]).own_offset)


def test_both_builds_of_the_threshold_re_check_find_the_same_people() -> None:
    """A threshold list's re-check of everyone (``threshold_list._crossing``) over more than one
    wave of chunks finds who crosses, the same in both builds."""
    import scslab
    from scslab.mechanisms.lists import threshold_list

    n = threshold_list.RESCAN_CHUNK * (threshold_list.RESCAN_WAVE + 2) - 123
    scenario = scslab.load_scenario("reference").with_overrides(people=n, days=1)
    sim = scslab.Simulation(scenario, compiled=True)
    sim.run()
    lst = sim.mechanisms["threshold_list"]
    flags = lst.flag.array
    flags[:] = np.random.default_rng(2).integers(0, 256, n).astype(flags.dtype)
    scores = sim.mechanisms["recovering_score"].scores(np.arange(n), 0)
    listed = (flags & lst.flag.mask) != 0
    found = [
        build(lst.state, 0)
        for build in (threshold_list._crossing.threaded, threshold_list._crossing.one_thread)
    ]
    assert np.array_equal(*found)
    crossing = np.where(listed, scores >= 950, scores < 900)  # everyone is scored
    assert np.array_equal(found[0], np.flatnonzero(crossing))
    assert 0 < found[0].size < n
