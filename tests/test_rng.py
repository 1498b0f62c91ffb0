"""Counter-based randomness and event sampling."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scslab.kernels.rng import (
    draw_bits,
    float_of_bits,
    geometric_days,
    hash4,
    log_complement,
    log_fraction,
    stream_key,
    subject_bits,
    uniform,
)
from scslab.kernels.sampling import (
    BLOCK,
    bernoulli_ids,
    compiled_bernoulli_ids,
    compiled_bernoulli_ids_where,
    compiled_labelled_ids,
    labelled_ids,
    thinned_ids,
    uniforms,
)


def test_stream_keys_depend_on_every_part_of_the_path():
    keys = {
        stream_key(1, "a", "b"),
        stream_key(2, "a", "b"),
        stream_key(1, "a", "c"),
        stream_key(1, "ab"),
        stream_key(1, "a", "b", 0),
    }
    assert len(keys) == 5
    assert stream_key(1, "a", "b") == stream_key(1, "a", "b")


def test_uniforms_are_uniform_and_counter_based():
    key = stream_key(5, "test")
    ids = np.arange(200_000, dtype=np.int64)
    u = uniforms(key, 3, ids, 0)
    assert u.min() >= 0.0 and u.max() < 1.0
    # mean of U(0,1) over n draws: standard error 1/sqrt(12 n); allow 5 standard errors
    assert abs(u.mean() - 0.5) < 5 / math.sqrt(12 * ids.size)
    # a draw is a pure function of (key, day, subject, index)
    assert u[12345] == uniform(key, 3, 12345, 0)
    assert uniforms(key, 4, ids[:10], 0).tolist() != u[:10].tolist()


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 3 * BLOCK), p=st.floats(0.0, 1.0), day=st.integers(0, 5000))
def test_bernoulli_ids_are_sorted_unique_and_in_range(n, p, day):
    ids = bernoulli_ids(stream_key(1, "prop"), day, n, p)
    assert ids.dtype == np.int64
    assert np.all(np.diff(ids) > 0)
    if ids.size:
        assert ids[0] >= 0 and ids[-1] < n
    if p == 1.0:
        assert ids.size == n
    if p == 0.0:
        assert ids.size == 0


def _walked_one_skip_at_a_time(key, day, n, p, thin_key, trait_key, weight):
    """The definition of a (thinned) draw, one skip and one decision at a time, in Python."""
    from scslab.kernels.traits import trait_factor

    ids = []
    for b in range((n + BLOCK - 1) // BLOCK):
        end, pos, k = min(n, (b + 1) * BLOCK), b * BLOCK - 1, 0
        while True:
            gap = log_complement(key, day, b, k) / math.log1p(-p) if p < 1.0 else 0.0
            k += 1
            if gap >= end - pos or pos + 1 + int(gap) >= end:
                break
            pos += 1 + int(gap)
            top = 1.0 + abs(weight)
            if weight == 0.0 or uniform(thin_key, day, pos, 0) * top < trait_factor(
                trait_key, pos, weight
            ):
                ids.append(pos)
    return ids


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 2 * BLOCK + 7),
    p=st.sampled_from([1e-6, 3e-4, 0.006, 0.05, 0.5, 1.0]),
    weight=st.sampled_from([0.0, -1 / 3, 1.0]),
    day=st.integers(0, 5000),
)
def test_chunked_walks_draw_exactly_the_defined_ids(n, p, weight, day):
    keys = (stream_key(1, "walk"), stream_key(1, "thin"), stream_key(1, "trait"))
    ids = thinned_ids(keys[0], day, n, p, keys[1], keys[2], weight)
    assert ids.tolist() == _walked_one_skip_at_a_time(keys[0], day, n, p, *keys[1:], weight)


def test_the_walk_s_logarithm_is_libm_s_within_a_few_units_in_the_last_place():
    key = stream_key(3, "log")
    worst = 0.0
    for i in range(20_000):
        u = uniform(key, 7, 11, i)
        ours, exact = log_complement(key, 7, 11, i), math.log(1.0 - u)
        worst = max(worst, abs(ours - exact) / max(abs(exact), 1e-300))
    ns = [1, 2, 3, 2**26 + 1, 2**52 - 1, 2**52, 2**52 + 1, 2**53 - 1]
    ns += np.random.default_rng(2).integers(1, 2**53, 2000).tolist()
    for n in ns:
        exact = math.log(n / 2**53)
        worst = max(worst, abs(log_fraction(np.uint64(n)) - exact) / abs(exact))
    assert worst < 5e-16
    assert log_fraction(np.uint64(2**53)) == 0.0  # u = 0: log 1


@pytest.mark.parametrize(("n", "p"), [(3 * BLOCK + 5, 0.004), (400_000, 0.03)])  # 1 and 2 threads
def test_a_draw_where_a_flag_is_set_is_the_draw_filtered(n, p):
    flags = (np.random.default_rng(4).random(n) < 0.1).astype(np.uint8) * np.uint8(4)
    key = stream_key(2, "where")
    for day in range(3):
        every = compiled_bernoulli_ids(key, day, n, p, True)  # threads for a big draw
        where = compiled_bernoulli_ids_where(key, day, n, p, flags, np.uint8(4), True)
        assert where.tolist() == every[flags[every] == 4].tolist() and where.size > 0
        none = compiled_bernoulli_ids_where(key, day, n, p, flags, np.uint8(2), True)
        assert none.size == 0


def test_a_threaded_draw_over_several_batches_of_blocks_is_the_one_thread_draw():
    from scslab.kernels.sampling import (
        _EVERYONE,
        BATCH_BLOCKS,
        _walked_in_batches,
        _walked_in_one_thread,
    )

    n = (BATCH_BLOCKS + 50) * BLOCK + 123  # a full batch, then a short one
    keys = (stream_key(1, "batches"), stream_key(1, "thin"), stream_key(1, "trait"))
    for p, weight in ((1e-4, 0.0), (2e-4, 0.5)):
        batched = _walked_in_batches(keys[0], 3, n, p, keys[1], keys[2], weight, _EVERYONE)
        serial = _walked_in_one_thread(keys[0], 3, n, p, keys[1], keys[2], weight, _EVERYONE)
        assert batched.size > 1000 and np.array_equal(batched, serial)


def test_bernoulli_count_matches_binomial_within_sampling_error():
    n, p, days = 500_000, 0.003, 20
    counts = [bernoulli_ids(stream_key(9, "count"), d, n, p).size for d in range(days)]
    mean = n * p
    sd = math.sqrt(n * p * (1 - p))
    total_err = abs(sum(counts) - days * mean)
    assert total_err < 5 * sd * math.sqrt(days)
    # successes spread evenly over the id range (no block boundary artefacts)
    ids = np.concatenate([bernoulli_ids(stream_key(9, "count"), d, n, p) for d in range(days)])
    hist = np.bincount(ids * 10 // n, minlength=10)
    expected = ids.size / 10
    assert np.all(np.abs(hist - expected) < 5 * math.sqrt(expected))


def test_one_extra_person_changes_only_the_tail():
    key = stream_key(3, "extra")
    for day in range(30):
        a = bernoulli_ids(key, day, 100_000, 0.01)
        b = bernoulli_ids(key, day, 100_001, 0.01)
        assert b[: a.size].tolist() == a.tolist()
        assert b.size - a.size in (0, 1)
        if b.size > a.size:
            assert b[-1] == 100_000


def test_invalid_probability_is_refused():
    import pytest

    with pytest.raises(ValueError, match="probability"):
        bernoulli_ids(stream_key(1, "x"), 0, 10, 1.5)


def test_a_tiny_probability_draws_nobody_instead_of_overflowing() -> None:
    # the geometric gap exceeds any integer: found by the property test above
    assert bernoulli_ids(stream_key(1, "tiny"), 0, 513, 1.1518020938904327e-124).size == 0
    assert bernoulli_ids(stream_key(1, "tiny"), 3, 10**7, 1e-15).size == 0


def test_a_tiny_hazard_waits_practically_forever() -> None:
    days = [geometric_days(stream_key(1, "wait"), 0, pid, 0, 1e-300) for pid in range(50)]
    assert min(days) == 1 << 40
    assert 1 <= geometric_days(stream_key(1, "wait"), 0, 7, 0, 0.01) < 5000


def test_labelled_draws_are_the_single_draws_merged_by_person() -> None:
    n, day = 3 * BLOCK + 17, 11
    keys = np.asarray([stream_key(1, "a"), stream_key(1, "b"), stream_key(1, "c")], np.uint64)
    ps = np.asarray([0.01, 0.0, 0.02])
    thin = np.asarray([stream_key(1, "thin"), 0, stream_key(1, "thin2")], np.uint64)
    traits = np.asarray([stream_key(1, "trait"), 0, stream_key(1, "trait")], np.uint64)
    weights = np.asarray([-0.5, 0.0, 0.8])
    labels = np.asarray([7, 8, 9], np.int16)
    ids, label, counts = labelled_ids(keys, day, n, ps, thin, traits, weights, labels)
    singles = [
        thinned_ids(keys[j], day, n, ps[j], thin[j], traits[j], weights[j]) for j in range(3)
    ]
    assert counts.tolist() == [s.size for s in singles] and counts[0] > 0 and counts[1] == 0
    for j, single in enumerate(singles):
        assert np.array_equal(ids[label == labels[j]], single)
    assert np.all(np.diff(ids) >= 0)
    both = np.intersect1d(singles[0], singles[2])  # one person drawn twice: in draw order
    assert both.size and all(label[ids == pid].tolist() == [7, 9] for pid in both[:5])


@pytest.mark.parametrize("draws", [2, 5, 11, 17])
def test_labelled_draws_are_ordered_by_person_then_draw_for_any_number_of_draws(draws) -> None:
    """The merge of many runs (the shortest two first) is the sort by (person, draw)."""
    n, day = 2 * BLOCK + 5, 3
    keys = np.asarray([stream_key(2, "many", j) for j in range(draws)], np.uint64)
    ps = np.asarray([(0.3, 0.0, 0.001, 0.05, 0.2, 0.6)[j % 6] for j in range(draws)])
    zeros = np.zeros(draws, np.uint64)
    labels = np.arange(100, 100 + draws, dtype=np.int16)
    ids, label, counts = labelled_ids(keys, day, n, ps, zeros, zeros, np.zeros(draws), labels)
    singles = [thinned_ids(keys[j], day, n, ps[j], zeros[j], zeros[j], 0.0) for j in range(draws)]
    every_id = np.concatenate(singles)
    every_draw = np.concatenate([np.full(x.size, j) for j, x in enumerate(singles)])
    order = np.lexsort((every_draw, every_id))
    assert counts.tolist() == [x.size for x in singles]
    assert np.array_equal(ids, every_id[order])
    assert np.array_equal(label, labels[every_draw[order]])


def test_labelled_draws_are_the_same_in_threads() -> None:
    """A big run's merges (each in threaded parts, the last into ids and labels) give the rows
    of a small run's, one thread throughout."""
    n, day, draws = 3 * BLOCK + 17, 5, 6
    keys = np.asarray([stream_key(3, "threads", j) for j in range(draws)], np.uint64)
    ps = np.asarray([0.3, 0.02, 0.0, 0.05, 0.001, 0.6])
    zeros = np.zeros(draws, np.uint64)
    labels = np.arange(10, 10 + draws, dtype=np.int16)
    args = (keys, day, n, ps, zeros, zeros, np.zeros(draws), labels)
    in_threads = compiled_labelled_ids(*args, True)
    one_thread = compiled_labelled_ids(*args, None)
    assert in_threads[0].size > 100_000  # the threaded builds run (from 4,096 rows)
    for a, b in zip(in_threads, one_thread, strict=True):
        assert np.array_equal(a, b)


def test_labelled_draws_refuse_a_probability_outside_zero_one() -> None:
    one = np.zeros(1, np.uint64)
    with pytest.raises(ValueError, match="probability"):
        labelled_ids(one, 0, 100, np.asarray([1.5]), one, one, np.zeros(1), np.zeros(1, np.int16))


_EDGES = [0, 1, 2**32 - 1, 2**32, 2**52 - 1, 2**52, 2**53 - 1, 2**53, 2**53 + 1, 2**63, 2**64 - 1]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.integers(0, 2**64 - 1), st.sampled_from(_EDGES)))
def test_float_of_bits_is_float_rounded_once_as_python_rounds_it(n: int) -> None:
    assert float_of_bits(np.uint64(n)) == float(n)


def test_a_subject_s_shared_hash_gives_hash4_s_draws():
    key = stream_key(3, "ties")
    for subject in (0, 1, 12_345_678_901):
        shared = np.uint64(subject_bits(key, 7, subject))  # as kernels hold it
        assert [draw_bits(shared, i) for i in range(5)] == [
            hash4(key, 7, subject, i) for i in range(5)
        ]
