"""How a day's table is put in person order: a stable merge of the sorted runs its posts make.

Owns the ordering of the board's two tables (``order_acts``, ``order_records``), which
``engine/board.py`` calls when a table is first read. Must not know what a row means: it moves
person ids and the columns beside them, and keeps posting order among rows of one person.

A table is a few sorted runs, one per post, and they are merged in one of two ways:

- **Into the columns where they lie**, when the runs other than the longest hold at most a
  ``SHORT_SHARE``-th of the rows. That is a day's usual shape: everyday acts' long run and a few
  dozen rows after it (debt, the black market), or the data sources' records and the few that
  informants, cameras and debt add. The rows outside the long run are copied out and ordered
  (memory for those rows only); then, in the columns themselves, the long run's rows move right
  in blocks to make room for the rows after it (a merge from the back), and left in blocks to
  take in the rows before it (a merge from the front). Each column is read and written once or
  twice in blocks, and no temporary has the table's size: at 200,000,000 people a day's 7.2
  million acts took 160 ms to order by merging into fresh arrays (memory the system hands out
  page by page, every day), and take about 30 ms this way (2026-12-04, integrated_2020).
- **Pass by pass** otherwise (``_merged_runs``): neighbouring runs merged into fresh arrays of
  keys and packed row values, until one run is left.

The readers reach the ordering through ``board.acts_of`` and ``board.records_of``, each compiled
once (``kernels/compiled_once.py``), so the ordering code is compiled once, not into every
reader. The records took the pass-by-pass way only while every reader carried that code.

A stable order by person is unique, so which way a table takes never changes a result.
"""

from __future__ import annotations

import numpy as np

from scslab.kernels.jit import kernel
from scslab.kernels.sorting import stable_order

SHORT_SHARE = 8
"""The longest run is merged with the rest in place when the rest is at most 1/8 of the rows
(speed only: both ways give the same order)."""


@kernel
def _runs(keys, n):
    """Where the sorted runs of ``keys[:n]`` lie: run r is ``[bounds[r], bounds[r + 1])``."""
    runs = 1
    for i in range(1, n):
        runs += keys[i] < keys[i - 1]
    bounds = np.empty(runs + 1, np.int64)
    bounds[0], bounds[runs] = 0, n
    r = 1
    for i in range(1, n):
        if keys[i] < keys[i - 1]:
            bounds[r] = i
            r += 1
    return bounds


@kernel
def _copy_rows(src_keys, src_rows, dst_keys, dst_rows, lo, hi, to):
    """Rows ``lo .. hi - 1`` of the sources to ``to ..`` of the destinations."""
    for z in range(lo, hi):
        dst_keys[to + z - lo], dst_rows[to + z - lo] = src_keys[z], src_rows[z]
    return to + hi - lo


@kernel
def _gallop(keys, lo, hi, key, after_equal):
    """The first position in the sorted ``keys[lo:hi]`` above ``key`` (``after_equal``) or at it.

    It probes 1, 2, 4... ahead of ``lo``, then halves, so that a nearby answer costs a few reads
    near ``lo``.
    """
    step = 1
    top = lo
    while top < hi and (keys[top] <= key if after_equal else keys[top] < key):
        lo = top + 1
        top = lo + step
        step *= 2
    top = min(top, hi)
    while lo < top:  # the answer is in [lo, top]
        half = (lo + top) // 2
        if keys[half] <= key if after_equal else keys[half] < key:
            lo = half + 1
        else:
            top = half
    return lo


@kernel
def _gallop_back(keys, lo, hi, key):
    """The first position in the sorted ``keys[lo:hi]`` above ``key``, searched from ``hi`` down.

    It probes 1, 2, 4... back from ``hi``, then halves, so that a nearby answer costs a few reads
    near ``hi``.
    """
    top = hi  # keys[top:hi] are all above key
    step = 1
    probe = hi - 1
    while probe >= lo and keys[probe] > key:
        top = probe
        probe = top - step
        step *= 2
    bottom = max(probe + 1, lo)  # keys[bottom - 1] is at most key (or bottom is lo)
    while bottom < top:
        half = (bottom + top) // 2
        if keys[half] > key:
            top = half
        else:
            bottom = half + 1
    return top


@kernel
def _merge_two(src_keys, src_rows, dst_keys, dst_rows, x, mid, hi):
    """Merge the sorted runs ``[x, mid)`` and ``[mid, hi)`` stably into ``dst[x:hi]``.

    Runs of like lengths are merged step by step without branches (which run is next is a coin
    toss); a run much shorter than the other has its rows placed by galloping searches and the
    long run copied in blocks between them (a day's few informants' records among a camera's).
    On a tie the earlier run's row comes first.
    """
    y, k = mid, x
    if 8 * (hi - mid) < mid - x:  # a short later run: its rows go after equal keys of the first
        for j in range(mid, hi):
            at = _gallop(src_keys, x, mid, src_keys[j], True)
            k = _copy_rows(src_keys, src_rows, dst_keys, dst_rows, x, at, k)
            dst_keys[k], dst_rows[k] = src_keys[j], src_rows[j]
            x, k = at, k + 1
        _copy_rows(src_keys, src_rows, dst_keys, dst_rows, x, mid, k)
        return
    if 8 * (mid - x) < hi - mid:  # a short earlier run: its rows go before equal keys
        for j in range(x, mid):
            at = _gallop(src_keys, y, hi, src_keys[j], False)
            k = _copy_rows(src_keys, src_rows, dst_keys, dst_rows, y, at, k)
            dst_keys[k], dst_rows[k] = src_keys[j], src_rows[j]
            y, k = at, k + 1
        _copy_rows(src_keys, src_rows, dst_keys, dst_rows, y, hi, k)
        return
    while x < mid and y < hi:
        kx, ky = src_keys[x], src_keys[y]
        take_y = ky < kx
        dst_keys[k] = ky if take_y else kx
        dst_rows[k] = src_rows[y] if take_y else src_rows[x]
        y += take_y
        x += 1 - take_y
        k += 1
    k = _copy_rows(src_keys, src_rows, dst_keys, dst_rows, x, mid, k)
    _copy_rows(src_keys, src_rows, dst_keys, dst_rows, y, hi, k)


@kernel
def _merged_runs(keys, payload, n, bounds):
    """``keys[:n]`` and ``payload[:n]`` ordered stably by key, as new arrays of ``n`` rows.

    ``bounds``: the runs (``_runs``). Neighbouring runs are merged pass by pass (``_merge_two``),
    each step moving a key and its row's packed values (the day's 3.2 million records at China's
    scale, a long run and a short one: 46-72 -> about 10 ms, 2026-12-01, against merging an order
    and gathering every column through it).
    """
    runs = bounds.size - 1
    bounds = bounds.copy()
    src_keys, src_rows = keys[:n].copy(), payload
    dst_keys, dst_rows = np.empty(n, keys.dtype), np.empty(n, payload.dtype)
    while runs > 1:
        j = 0
        for r in range(0, runs - 1, 2):  # merge runs r and r + 1
            x, mid, hi = bounds[r], bounds[r + 1], bounds[r + 2]
            _merge_two(src_keys, src_rows, dst_keys, dst_rows, x, mid, hi)
            bounds[j] = bounds[r]
            j += 1
        if runs % 2:  # the last run has no partner this pass
            _copy_rows(
                src_keys, src_rows, dst_keys, dst_rows, bounds[runs - 1], n, bounds[runs - 1]
            )
            bounds[j] = bounds[runs - 1]
            j += 1
        bounds[j] = n
        runs = j
        src_keys, dst_keys = dst_keys, src_keys
        src_rows, dst_rows = dst_rows, src_rows
    return src_keys, src_rows


@kernel
def _long_run(bounds, n):
    """The longest run as ``(start, stop)``, or ``(0, 0)`` to merge pass by pass.

    The longest run is merged in place when the others hold at most 1/``SHORT_SHARE`` of the rows.
    """
    best = 0
    for r in range(1, bounds.size - 1):
        if bounds[r + 1] - bounds[r] > bounds[best + 1] - bounds[best]:
            best = r
    length = bounds[best + 1] - bounds[best]
    if SHORT_SHARE * (n - length) <= length:
        return bounds[best], bounds[best + 1]
    return 0, 0


@kernel
def _outside(keys, start, stop, n):
    """Positions of the rows before ``start``, then from ``stop``, each part stably by key."""
    before = stable_order(keys[:start])
    after = stable_order(keys[stop:n]) + stop
    return np.concatenate((before, after))


@kernel
def _move(column, src, dst, length):
    """Rows ``src .. src + length - 1`` of ``column`` to ``dst ..`` (the ranges may overlap)."""
    if dst > src:
        for z in range(length - 1, -1, -1):
            column[dst + z] = column[src + z]
    elif dst < src:
        for z in range(length):
            column[dst + z] = column[src + z]


@kernel
def _merge_in_place(keys, start, stop, n, outside_keys, moves):
    """Merge the run ``keys[start:stop]`` with the other rows of ``keys[:n]``, in place.

    ``outside_keys``: the keys of the rows before the run (``start`` of them) then of those after
    it, each part ordered stably. On equal keys rows before the run come first and rows after it
    last. Each step is written to ``moves`` as ``(from, to, rows)`` (``from < 0``: the outside
    row ``-from - 1``) so that the other columns can take the same steps (``_replay``); returns
    how many steps.
    """
    steps = 0
    x, y = stop, n - stop  # from the back, in [start, n): the rows after the run go after ties
    while y > 0:
        key = outside_keys[start + y - 1]
        p = _gallop_back(keys, start, x, key)  # the run's rows from p on go after this row
        if p < x:
            moves[steps, 0], moves[steps, 1], moves[steps, 2] = p, p + y, x - p
            _move(keys, p, p + y, x - p)
            steps += 1
        moves[steps, 0], moves[steps, 1], moves[steps, 2] = -(start + y - 1) - 1, p + y - 1, 1
        keys[p + y - 1] = key
        steps += 1
        x, y = p, y - 1
    x, k = start, 0  # from the front, in [0, n): the rows before the run go before ties
    for y in range(start):
        key = outside_keys[y]
        q = _gallop(keys, x, n, key, False)  # the merged rows before q come first
        if q > x:
            moves[steps, 0], moves[steps, 1], moves[steps, 2] = x, k, q - x
            _move(keys, x, k, q - x)
            steps += 1
            k += q - x
        moves[steps, 0], moves[steps, 1], moves[steps, 2] = -y - 1, k, 1
        keys[k] = key
        steps += 1
        k, x = k + 1, q
    return steps


@kernel
def _replay(column, outside, moves, steps):
    """Take on ``column`` the ``steps`` that ``_merge_in_place`` took on the keys."""
    for s in range(steps):
        src, dst, length = moves[s, 0], moves[s, 1], moves[s, 2]
        if src < 0:
            column[dst] = outside[-src - 1]
        else:
            _move(column, src, dst, length)


@kernel
def _ordered_in_place(keys, start, stop, n):
    """Merge the long run ``[start, stop)`` with the other rows, in ``keys`` only.

    Returns what the other columns need to take the same steps (``_replay``): the positions of
    the rows outside the run, the steps and their count.
    """
    outside = _outside(keys, start, stop, n)
    moves = np.empty((2 * outside.size, 3), np.int64)
    steps = _merge_in_place(keys, start, stop, n, keys[outside], moves)
    return outside, moves, steps


_LOW16 = np.uint64(0xFFFF)


@kernel
def order_acts(pid_buf, act_buf, recorded_buf, n):
    """Order the first ``n`` acts by person, in place (stably: posting order within a person)."""
    bounds = _runs(pid_buf, n)
    if bounds.size <= 2:
        return  # one run: in order already
    start, stop = _long_run(bounds, n)
    if stop > start:
        outside, moves, steps = _ordered_in_place(pid_buf, start, stop, n)  # moves the ids only
        _replay(act_buf, act_buf[outside], moves, steps)
        _replay(recorded_buf, recorded_buf[outside], moves, steps)
        return
    rows = np.empty(n, np.uint64)  # act and recorded of each row, packed
    for i in range(n):
        rows[i] = (np.uint64(np.uint16(act_buf[i]))) | (np.uint64(recorded_buf[i]) << 16)
    pid, rows = _merged_runs(pid_buf, rows, n, bounds)
    for i in range(n):
        pid_buf[i] = pid[i]
        act_buf[i] = np.int16(np.uint16(rows[i] & _LOW16))
        recorded_buf[i] = (rows[i] >> 16) != 0


@kernel
def order_records(pid_buf, act_buf, source_buf, true_buf, n):
    """Order the first ``n`` records by person, in place (stably)."""
    bounds = _runs(pid_buf, n)
    if bounds.size <= 2:
        return
    start, stop = _long_run(bounds, n)
    if stop > start:
        outside, moves, steps = _ordered_in_place(pid_buf, start, stop, n)  # moves the ids only
        _replay(act_buf, act_buf[outside], moves, steps)
        _replay(source_buf, source_buf[outside], moves, steps)
        _replay(true_buf, true_buf[outside], moves, steps)
        return
    rows = np.empty(n, np.uint64)  # act, source and true of each row, packed
    for i in range(n):
        act, source = np.uint64(np.uint16(act_buf[i])), np.uint64(np.uint16(source_buf[i]))
        rows[i] = act | (source << 16) | (np.uint64(true_buf[i]) << 32)
    pid, rows = _merged_runs(pid_buf, rows, n, bounds)
    for i in range(n):
        pid_buf[i] = pid[i]
        act_buf[i] = np.int16(np.uint16(rows[i] & _LOW16))
        source_buf[i] = np.int16(np.uint16((rows[i] >> 16) & _LOW16))
        true_buf[i] = (rows[i] >> 32) != 0
