"""Shared command-line harness for the peer reference models.

Each peer module supplies ``build(people, days, seed)``, which returns a model
with ``simulate()`` (run every day), ``outputs() -> pandas.DataFrame`` (the
shared daily outputs) and ``run()`` (both). The harness times construction,
the simulation (``run_s``, the figure every ratio uses) and the conversion of
the outputs to a data frame (``outputs_s``, a fixed cost of pandas, about
1.5 ms, which is not the model's) separately, and measures memory:

* ``bytes_per_person``: process RSS after building the model minus RSS just
  before, divided by the number of people (psutil).
* ``resident_bytes_per_person``: the same after the run, when lazily allocated
  arrays have been written (the larger of the two), divided by people.
* ``peak_rss_bytes``: peak RSS of the whole process (``VmHWM`` on Linux).

A warm-up model (up to ``WARM_UP_PEOPLE`` people for up to ``WARM_UP_DAYS``
days) is built and run first (unless ``--no-warmup``) so that lazy imports,
numba JIT/cache loading etc. are excluded from both the timings and the RSS
baseline. It is the same for every framework. A framework whose compiled code depends on the
size of the run (scslab's threads: ``kernels/parallel.py``) passes ``warm_up_as_for``, a context
in which the warm-up model is built as for the timed size.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

import pandas as pd
import psutil

WARM_UP_PEOPLE = 100_000
WARM_UP_DAYS = 60

COLUMNS = [
    "day",
    "mean_score",
    "list_size",
    "blocked_purchases",
    "household_members_of_listed",
]


def _rss() -> int:
    return psutil.Process().memory_info().rss


def _peak_rss() -> int:
    # VmHWM on Linux: ru_maxrss there includes the peak of the benchmark driver that started this
    # process. (Not scslab's helper: the peers' processes must not import scslab.)
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux, bytes on macOS
    return int(peak if sys.platform == "darwin" else peak * 1024)


def main(
    framework: str,
    build: Callable[[int, int, int], Any],
    argv: list[str] | None = None,
    warm_up_as_for: Callable[[int], contextlib.AbstractContextManager[Any]] | None = None,
) -> dict:
    parser = argparse.ArgumentParser(description=f"{framework} reference model benchmark")
    parser.add_argument("--people", type=int, required=True)
    parser.add_argument("--days", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="optional parquet file for the daily outputs")
    parser.add_argument("--no-warmup", action="store_true", help="skip the tiny warm-up run")
    args = parser.parse_args(argv)
    if args.people < 9 or args.days < 1:
        parser.error("need --people >= 9 and --days >= 1")

    warm_up = None
    if not args.no_warmup:
        # Large and long enough to take every code path the timed run takes (lists filling up,
        # exits, blocked purchases; scslab switches some draws to all cores from a size on). It
        # stays alive until the end, so the measured model cannot reuse its memory.
        as_for = warm_up_as_for or (lambda people: contextlib.nullcontext())
        with as_for(args.people):
            warm_up = build(
                min(args.people, WARM_UP_PEOPLE), min(args.days, WARM_UP_DAYS), args.seed + 1
            )
            warm_up.run()
        getattr(warm_up, "after_warm_up", lambda: None)()

    gc.collect()
    rss_before = _rss()
    t0 = time.perf_counter()
    model = build(args.people, args.days, args.seed)
    init_s = time.perf_counter() - t0
    gc.collect()
    rss_after = _rss()

    t0 = time.perf_counter()
    model.simulate()
    run_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    df = model.outputs()
    outputs_s = time.perf_counter() - t0
    gc.collect()
    rss_run = _rss()
    del warm_up  # alive until here: its memory was not the measured model's to reuse

    if args.out:
        df.to_parquet(args.out, index=False)

    final = df.iloc[-1]
    record = {
        "framework": framework,
        "people": args.people,
        "days": args.days,
        "seed": args.seed,
        "init_s": round(init_s, 4),
        "run_s": round(run_s, 4),
        "outputs_s": round(outputs_s, 4),
        "person_days_per_s": args.people * args.days / run_s if run_s > 0 else None,
        "peak_rss_bytes": _peak_rss(),
        "bytes_per_person": (rss_after - rss_before) / args.people,
        # memory that allocates lazily (numpy zeros) is resident only once written: count it after
        # the run too, and take the larger
        "resident_bytes_per_person": (max(rss_after, rss_run) - rss_before) / args.people,
        "stored_bytes_per_person": getattr(model, "stored_bytes_per_person", None),
        "day": int(final["day"]),
        "mean_score": float(final["mean_score"]),
        "list_size": int(final["list_size"]),
        "blocked_purchases": int(final["blocked_purchases"]),
        "household_members_of_listed": int(final["household_members_of_listed"]),
    }
    print(json.dumps(record))
    return record


def as_frame(rows: dict[str, list]) -> pd.DataFrame:
    """Normalise daily outputs to the shared column order and dtypes."""
    df = pd.DataFrame(rows)[COLUMNS]
    return df.astype(
        {
            "day": "int64",
            "mean_score": "float64",
            "list_size": "int64",
            "blocked_purchases": "int64",
            "household_members_of_listed": "int64",
        }
    ).reset_index(drop=True)
