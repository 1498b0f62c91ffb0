"""The calibrated ``joint_punishment_2016`` over many seeds, beside the figures it was fitted to.

    python -m benchmarks.calibration_check [SEEDS] [--first-seed K] [--until 2019-07-09]
        [--chart docs/calibration_joint_punishment_2016] > table.md

Runs the preset as shipped (200,000 people x scale 7,050) on seeds K..K+SEEDS-1 (default 1..10;
seeds the fit never saw, such as 11..20, check it out of sample) and
prints, as Markdown, each figure of ``calibrate_joint_punishment_2016.toml``'s rows (the
calibration's own choice of rows, read by ``scslab.calibrate.rows_fitted``): the published value,
the model's mean over the seeds, its 95% t-interval (``scslab.compare.t_quantile``) and the
relative error of the mean, flagged when beyond 15%. With ``--until DATE`` it also runs the preset
past 2018 and prints the model's values on DATE: the prediction, which this script does not set
against any published figure. With ``--chart STEM`` it draws the seeds' mean series beside the
published points (``STEM.svg``/``.png``/``.vl.json``, ``scslab.calibrate.write_fit_chart``).
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from importlib import resources
from pathlib import Path

import numpy as np

TOLERANCE = 0.15
"""Issue 14's target: within 15% of every figure from 2016 to 2018 that was fitted."""


def _values(table, quantity: str, days: list[int]) -> list[float]:
    column = table.column(quantity).to_pylist()
    return [float(column[d]) for d in days]


def _interval(mean: float, half: float) -> str:
    """The 95% interval's cell: n/a for one seed."""
    return "n/a" if math.isnan(half) else f"{mean - half:,.0f} to {mean + half:,.0f}"


def main(argv: list[str]) -> int:
    """Print the table (and the prediction with ``--until DATE``); returns the exit code."""
    import scslab
    from scslab.calibrate import CalibrateTable, rows_fitted, write_fit_chart
    from scslab.compare import t_quantile
    from scslab.sweep import load_sweep, validate_table

    options: dict[str, str] = {}
    for flag in ("--until", "--first-seed", "--chart"):
        if flag in argv:
            i = argv.index(flag)
            options[flag] = argv[i + 1]
            argv = argv[:i] + argv[i + 2 :]
    until = dt.date.fromisoformat(options["--until"]) if "--until" in options else None
    first = int(options.get("--first-seed", 1))
    seeds = int(argv[0]) if argv else 10
    chosen = range(first, first + seeds)
    path = resources.files("scslab.data.calibration") / "calibrate_joint_punishment_2016.toml"
    sweep = load_sweep(str(path), kind="calibrate")
    table = validate_table(sweep.source, "calibrate", CalibrateTable, sweep.tables["calibrate"])
    rows = rows_fitted(sweep, table, sweep.home)
    base = scslab.load_scenario("joint_punishment_2016")
    start = base.meta.start_date
    by_seed, runs = [], []
    for seed in chosen:
        metrics = scslab.run(base.with_overrides(seed=seed)).metrics
        by_seed.append([_values(metrics, r.quantity, [r.day])[0] for r in rows])
        runs.append(metrics)
        print(f"seed {seed} done", file=sys.stderr, flush=True)
    if "--chart" in options:
        title = (
            f"joint_punishment_2016 as shipped, mean of seeds {first}-{first + seeds - 1}, "
            "beside the published figures"
        )
        label = f"mean of {seeds} seeds"
        write_fit_chart(Path(options["--chart"]), rows, runs, start, title, label)
    values = np.array(by_seed)
    t = t_quantile(0.975, seeds - 1) if seeds > 1 else math.nan  # one seed: no interval
    print(f"Seeds {first} to {first + seeds - 1}.")
    print()
    print(f"| as of | figure | published | model, mean of {seeds} seeds | 95% interval | error |")
    print("|---|---|---:|---:|---:|---:|")
    for j, r in enumerate(rows):
        mean = values[:, j].mean()
        half = t * values[:, j].std(ddof=1) / math.sqrt(seeds) if seeds > 1 else math.nan
        err = (mean - r.value) / r.value
        flag = " **beyond 15%**" if abs(err) > TOLERANCE and r.as_of.year >= 2016 else ""
        print(
            f"| {r.as_of} | {r.quantity} | {r.value:,.0f} | {mean:,.0f} | "
            f"{_interval(mean, half)} | {err:+.1%}{flag} |"
        )
    if until is not None:
        day = (until - start).days
        quantities = sorted({r.quantity for r in rows})
        predicted = []
        for seed in chosen:
            metrics = scslab.run(base.with_overrides(seed=seed, days=day + 1)).metrics
            predicted.append([_values(metrics, q, [day])[0] for q in quantities])
            print(f"seed {seed} to {until} done", file=sys.stderr, flush=True)
        later = np.array(predicted)
        print()
        print(f"Predicted for {until} (`scslab run joint_punishment_2016 --until {until}`):")
        print()
        print(f"| figure | model, mean of {seeds} seeds | 95% interval |")
        print("|---|---:|---:|")
        for k, q in enumerate(quantities):
            mean = later[:, k].mean()
            half = t * later[:, k].std(ddof=1) / math.sqrt(seeds) if seeds > 1 else math.nan
            print(f"| {q} | {mean:,.0f} | {_interval(mean, half)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
