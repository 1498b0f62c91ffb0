"""The day's board: rows ordered by person (stably), and arrays once read never change."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scslab.engine.board import Board, written_in_order
from scslab.engine.table_order import _long_run, _runs


def test_records_are_ordered_by_person_keeping_posting_order_within_a_person():
    board = Board()
    board.post_records(np.asarray([5, 9]), 1, 0, True)
    board.post_records(np.asarray([2, 5]), np.asarray([2, 3]), 4, np.asarray([False, True]))
    rec = board.records
    assert rec["pid"].tolist() == [2, 5, 5, 9]
    assert rec["act"].tolist() == [2, 1, 3, 1]  # person 5: the first post's record first
    assert rec["source"].tolist() == [4, 0, 4, 0]
    assert rec["true"].tolist() == [False, True, True, True]


def test_arrays_once_read_keep_their_contents_through_later_posts_and_days():
    board = Board()
    board.post_records(np.arange(300), 1, 0, True)  # past the first buffer: it grows
    first = board.records["pid"]
    board.post_records(np.asarray([0]), 2, 0, False)  # out of order: the next read re-sorts
    assert board.records["pid"][:3].tolist() == [0, 0, 1]
    assert first.tolist() == list(range(300))
    board.clear()
    board.post_records(np.asarray([7, 8]), 1, 0, True)
    assert board.records["pid"].tolist() == [7, 8]
    assert first.tolist() == list(range(300))


def _record_buffer_address(board: Board) -> int:
    return board.record_room(0)[0].ctypes.data  # room for nothing: the buffer as it is


def test_a_day_whose_arrays_nobody_holds_reuses_its_buffers():
    board = Board()
    board.post_records(np.asarray([4, 2]), 1, 0, True)
    assert board.records["pid"].tolist() == [2, 4]  # read (and sorted), then let go
    address = _record_buffer_address(board)
    board.clear()
    board.post_records(np.asarray([9, 1]), 1, 0, True)
    kept_view = board.records["pid"]
    assert _record_buffer_address(board) == address  # nothing read yesterday is held: reused
    board.clear()
    assert _record_buffer_address(board) != address  # held through the day: not reused
    board.post_records(np.asarray([6, 5]), 1, 0, True)
    assert board.records["pid"].tolist() == [5, 6]
    assert kept_view.tolist() == [1, 9]


def test_a_view_of_a_view_counts_as_held():
    board = Board()
    board.post_records(np.asarray([3, 7]), 1, 0, True)
    part = board.records["pid"][1:]  # only a view of the board's view survives
    board.clear()
    board.post_records(np.asarray([8, 2]), 1, 0, True)
    assert board.records["pid"].tolist() == [2, 8]
    assert part.tolist() == [7]


def test_records_written_in_place_join_the_posted_ones_in_person_order():
    board = Board()
    board.post_records(np.asarray([2, 8]), 1, 0, True)
    held = board.records["pid"]
    pid, act, source, true, first = board.record_room(300)  # past the first buffer: it grows
    assert first == 2 and pid.size >= 302
    pid[2:5], act[2:5], source[2:5], true[2:5] = [4, 6, 9], 5, 3, False
    board.records_written(3, written_in_order(pid, 2, 3))  # 4 after 8: not in order
    rec = board.records
    assert rec["pid"].tolist() == [2, 4, 6, 8, 9]
    assert rec["act"].tolist() == [1, 5, 5, 1, 5] and rec["true"].tolist()[:2] == [True, False]
    assert held.tolist() == [2, 8]
    assert written_in_order(np.asarray([1, 3, 5]), 1, 2) and written_in_order(pid, 0, 0)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.integers(0, 4), min_size=1, max_size=40).map(lambda v: np.asarray(v, np.int64)),
    st.data(),
)
def test_written_rows_are_in_order_exactly_when_each_follows_the_one_before(pid, data) -> None:
    n = data.draw(st.integers(0, pid.size))
    k = data.draw(st.integers(0, pid.size - n))
    rows = pid[max(n - 1, 0) : n + k]  # the last row before them, and theirs
    assert written_in_order(pid, n, k) == bool(k == 0 or np.all(np.diff(rows) >= 0))


def test_acts_start_unrecorded_and_must_all_be_posted_before_reading():
    board = Board()
    board.post_acts(np.asarray([3, 1]), 4)
    acts = board.acts
    assert acts["pid"].tolist() == [1, 3] and not acts["recorded"].any()
    acts["recorded"][0] = True
    assert board.acts["recorded"].tolist() == [True, False]
    with pytest.raises(RuntimeError, match="post every act"):
        board.post_acts(np.asarray([2]), 4)
    with pytest.raises(ValueError, match="equal length"):
        board.post_records(np.asarray([1, 2]), np.asarray([1]), 0, True)


def test_values_may_be_lists_scalars_or_arrays_of_other_types():
    board = Board()
    board.post_records([3, 4], [1, 2], 3, [True, False])
    board.post_records(np.asarray([5]), np.asarray([7.0]), np.int64(2), np.bool_(True))
    rec = board.records
    assert rec["pid"].tolist() == [3, 4, 5] and rec["act"].tolist() == [1, 2, 7]
    assert rec["source"].tolist() == [3, 3, 2] and rec["true"].tolist() == [True, False, True]


@settings(max_examples=60, deadline=None)
@given(posts=st.lists(st.lists(st.integers(0, 30), max_size=12), min_size=1, max_size=6))
def test_rows_of_any_posts_are_ordered_stably_by_person(posts):
    board = Board()
    rows = []  # (person, post number): the stable order is by person, then post
    for j, pids in enumerate(posts):
        board.post_records(np.asarray(pids, np.int64), j, 0, True)
        rows += [(pid, j) for pid in pids]
    rec = board.records
    expected = sorted(rows, key=lambda row: row[0])  # Python's sort is stable
    assert list(zip(rec["pid"].tolist(), rec["act"].tolist(), strict=True)) == expected


def test_a_long_run_and_a_short_one_merge_stably_either_way_round():
    rng = np.random.default_rng(4)
    long_run = np.sort(rng.integers(0, 500, 3000))  # many ties within and across the runs
    short_run = np.sort(rng.integers(0, 500, 40))
    for posts in ((long_run, short_run), (short_run, long_run), (long_run, short_run, long_run)):
        board = Board()
        rows = []
        for j, pids in enumerate(posts):
            board.post_records(pids, j, 0, True)
            rows += [(int(pid), j) for pid in pids]
        rec = board.records
        expected = sorted(rows, key=lambda row: row[0])
        assert list(zip(rec["pid"].tolist(), rec["act"].tolist(), strict=True)) == expected


@settings(max_examples=60, deadline=None)
@given(
    long_run=st.lists(st.integers(0, 40), min_size=240, max_size=320),
    before=st.lists(st.lists(st.integers(0, 40), max_size=5), max_size=3),
    after=st.lists(st.lists(st.integers(0, 40), max_size=5), max_size=3),
)
def test_short_runs_around_a_long_one_merge_in_place_stably(long_run, before, after):
    """A long run with a few short ones before and after it, many ties, in every column of both
    tables (both merged in place, ``engine/table_order``)."""
    posts = [*before, sorted(long_run), *after]
    pids = np.concatenate([np.asarray(p, np.int64) for p in posts])
    bounds = _runs(pids, pids.size)
    start, stop = _long_run(bounds, pids.size)
    assert bounds.size == 2 or stop - start >= len(long_run)  # one run, or merged in place
    board = Board()
    rows = []  # (person, post, row within the post): the stable order is by person only
    for j, p in enumerate(posts):
        true = np.arange(len(p)) % 2 == 0
        board.post_records(np.asarray(p, np.int64), j, np.arange(len(p)), true)
        board.post_acts(np.asarray(p, np.int64), np.arange(len(p)) + 100 * j)
        rows += [(pid, j, i) for i, pid in enumerate(p)]
    expected = sorted(rows, key=lambda row: row[0])
    rec = board.records
    got = zip(rec["pid"].tolist(), rec["act"].tolist(), rec["source"].tolist(), strict=True)
    assert list(got) == expected
    assert rec["true"].tolist() == [i % 2 == 0 for _, _, i in expected]
    acts = board.acts
    assert acts["pid"].tolist() == [pid for pid, _, _ in expected]
    assert acts["act"].tolist() == [100 * j + i for _, j, i in expected]


def test_acts_withdrawn_before_anyone_reads_them_leave_the_rest_in_order():
    board = Board()
    board.post_acts(np.asarray([1, 4, 6]), np.asarray([1, 6, 7]))
    board.post_acts(np.asarray([2, 9]), 5)
    posted = board.posted_acts()  # in posting order: not sorted
    assert posted["pid"].tolist() == [1, 4, 6, 2, 9] and posted["act"].tolist() == [1, 6, 7, 5, 5]
    assert board.withdraw_acts(np.asarray([True, False, True, True, False])) == 2
    assert board.withdraw_acts(np.ones(3, np.bool_)) == 0  # keeping all changes nothing
    acts = board.acts
    assert acts["pid"].tolist() == [1, 2, 6] and acts["act"].tolist() == [1, 5, 7]
    with pytest.raises(RuntimeError, match="before any mechanism reads"):
        board.withdraw_acts(np.ones(3, np.bool_))
    with pytest.raises(RuntimeError, match="before any mechanism reads"):
        board.posted_acts()
    board.clear()
    board.post_acts(np.asarray([3]), 1)
    with pytest.raises(ValueError, match="one keep flag per posted act"):
        board.withdraw_acts(np.ones(2, np.bool_))


@settings(max_examples=60, deadline=None)
@given(
    posts=st.lists(st.lists(st.integers(0, 30), max_size=12), min_size=1, max_size=4),
    seed=st.integers(0, 2**32 - 1),
)
def test_withdrawn_acts_leave_the_others_as_if_only_they_were_posted(posts, seed):
    keep = np.random.default_rng(seed).random(sum(map(len, posts))) < 0.5
    board = Board()
    for j, pids in enumerate(posts):
        board.post_acts(np.asarray(pids, np.int64), j)
    board.withdraw_acts(keep)
    rows = [(pid, j) for j, pids in enumerate(posts) for pid in pids]
    expected = sorted(
        (row for row, kept in zip(rows, keep, strict=True) if kept), key=lambda r: r[0]
    )
    acts = board.acts
    assert list(zip(acts["pid"].tolist(), acts["act"].tolist(), strict=True)) == expected
