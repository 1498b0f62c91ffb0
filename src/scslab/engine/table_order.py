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
  page by page, every day), and take about 30 ms this way (2026-12-04, integrated_2020). Every
  column takes each step as the keys do, and a block moves as memmove (``memory.move_rows``):
  a day's 160,740 records at 10 million people (10,000 camera records before the data sources'
  150,000, 740 after them) took 2.45 ms when the other columns replayed the keys' steps one row
  at a time, and 0.84 ms now (2026-12-07). The rows outside are usually one post each side, in
  order already, and are then not sorted again (``_in_order``).
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
from scslab.kernels.memory import move_rows
from scslab.kernels.sorting import descents, stable_order

SHORT_SHARE = 8
"""The longest run is merged with the rest in place when the rest is at most 1/8 of the rows
(speed only: both ways give the same order)."""


@kernel
def _runs(keys, n):
    """Where the sorted runs of ``keys[:n]`` lie: run r is ``[bounds[r], bounds[r + 1])``."""
    runs = 1 + descents(keys[:n])
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
def _in_order(keys):
    """The positions of ``keys`` stably by key: ``0, 1, ...`` without a sort when they are in order.

    The rows around a long run are usually one post, in order already (a day's camera records
    before the data sources' run).
    """
    return np.arange(keys.size) if descents(keys) == 0 else stable_order(keys)


@kernel
def _outside(keys, start, stop, n):
    """Positions of the rows before ``start``, then from ``stop``, each part stably by key."""
    before = _in_order(keys[:start])
    after = _in_order(keys[stop:n]) + stop
    return np.concatenate((before, after))


@kernel
def _move_rows(keys, a, b, c, src, dst, length):
    """``move_rows`` on the keys and each other column (``c`` may be empty: a table of three)."""
    move_rows(keys, src, dst, length)
    move_rows(a, src, dst, length)
    move_rows(b, src, dst, length)
    if c.size:
        move_rows(c, src, dst, length)


@kernel
def _put_row(keys, a, b, c, at, out, y):
    """Row ``y`` of the rows copied out (``out``: their keys and columns) to row ``at``."""
    keys[at], a[at], b[at] = out[0][y], out[1][y], out[2][y]
    if c.size:
        c[at] = out[3][y]


@kernel
def _after_in_place(keys, a, b, c, start, stop, n, out):
    """Merge the rows copied out from ``[stop, n)`` (``out``) into ``[start, n)``, in place.

    From the back: each copied row's place in the run is found by a search from the run's end
    (``_gallop_back``), the run's rows after it move right in a block, and on equal keys the
    copied rows go last. Rows after a day's long run are few (the debts' and informants'): a
    search and a block move each.
    """
    x, y = stop, n - stop  # out's rows after the run follow its ``start`` rows before it
    while y > 0:
        key = out[0][start + y - 1]
        p = _gallop_back(keys, start, x, key)  # the run's rows from p on go after this row
        if p < x:
            _move_rows(keys, a, b, c, p, p + y, x - p)
        _put_row(keys, a, b, c, p + y - 1, out, start + y - 1)
        x, y = p, y - 1


@kernel
def _before_in_place(keys, a, b, c, start, n, out):
    """Merge the rows copied out from ``[0, start)`` (``out``) with ``[start, n)``, in place.

    From the front, writing from row 0: each copied row's place among the ordered rows is found
    by a search from the last one's (``_gallop``), the ordered rows before it move left in a
    block, and on equal keys the copied rows come first. The writing never passes the reading
    (the copied rows not yet written are the gap between them).
    """
    x, k = start, 0
    for y in range(start):
        q = _gallop(keys, x, n, out[0][y], False)  # the ordered rows before q come first
        if q > x:
            _move_rows(keys, a, b, c, x, k, q - x)
            k += q - x
        _put_row(keys, a, b, c, k, out, y)
        k, x = k + 1, q


@kernel
def _merged_in_place(keys, a, b, c, start, stop, n):
    """Merge the long run ``[start, stop)`` with the other rows of every column, in place.

    The rows outside the run are copied out, each part ordered stably (``_outside``), and then
    put in: those after the run from the back (``_after_in_place``), those before it from the
    front (``_before_in_place``). ``c`` may be empty (a table of three columns).
    """
    outside = _outside(keys, start, stop, n)
    out = (keys[outside], a[outside], b[outside], c[outside] if c.size else c)
    _after_in_place(keys, a, b, c, start, stop, n, out)
    _before_in_place(keys, a, b, c, start, n, out)


_LOW16 = np.uint64(0xFFFF)


@kernel
def order_acts(pid_buf, act_buf, recorded_buf, n):
    """Order the first ``n`` acts by person, in place (stably: posting order within a person)."""
    bounds = _runs(pid_buf, n)
    if bounds.size <= 2:
        return  # one run: in order already
    start, stop = _long_run(bounds, n)
    if stop > start:
        no_column = np.empty(0, np.bool_)
        _merged_in_place(pid_buf, act_buf, recorded_buf, no_column, start, stop, n)
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
        _merged_in_place(pid_buf, act_buf, source_buf, true_buf, start, stop, n)
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
