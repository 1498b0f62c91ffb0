"""Policy comparison on common random numbers: what changes when one thing in a scenario changes.

``compare(a, b, replications=R)`` runs both scenarios on the same seeds (replication ``r`` uses
``seed + r`` for both). Every random stream in scslab is keyed by (seed, mechanism, stream, day,
person), so a mechanism that both scenarios share draws the same numbers in both: the same people
commit the same acts and make the same attempts, and each difference between the two runs comes
from the difference in policy, not from the luck of the draw. The paired differences over the
replications give each metric's mean difference and a 95% t-interval.

Two statistics are compared for every metric column the two runs share: its mean over the days
on which both runs have a value (a count per day, or the average level of a running total) and
its value on the last day, null where a backlash stopped the mechanism in that run. A value in
one run only counts as changed: a last day null in one run only, or values with no day in common.
Owns
the comparison; runs scenarios only through ``api.run`` and touches no mechanism.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from scslab.api import check_takes, run
from scslab.errors import ScenarioError
from scslab.results import prepare_run_dir, write_manifest, write_table
from scslab.scenario import MAX_SEED, Scenario, load_scenario

STATISTICS = ("mean_per_day", "final")
"""What is compared of each metric column: its mean over the days on which both runs have a value,
and its last day's value."""

_NOT_METRICS = ("day", "date")


def _t_within(t: float, df: int) -> float:
    """P(|T| < t) for Student's t with an integer number ``df`` of degrees of freedom.

    The finite sums of Abramowitz and Stegun (1964), 26.7.3 (odd ``df``) and 26.7.4 (even).
    """
    theta = math.atan(t / math.sqrt(df))
    c2 = math.cos(theta) ** 2
    if df % 2:  # odd
        total, term = 0.0, 1.0
        if df > 1:
            total = 1.0
            for k in range(1, (df - 3) // 2 + 1):
                term *= c2 * (2 * k) / (2 * k + 1)
                total += term
            total *= math.sin(theta) * math.cos(theta)
        return 2 / math.pi * (theta + total)
    total, term = 1.0, 1.0
    for k in range(1, (df - 2) // 2 + 1):
        term *= c2 * (2 * k - 1) / (2 * k)
        total += term
    return math.sin(theta) * total


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile (``0.5 < p < 1``) of Student's t with ``df >= 1`` degrees of freedom.

    Inverts the exact distribution function (``_t_within``) by bisection: a confidence interval
    needs nothing more, and the core install stays without scipy.
    """
    if df < 1 or not 0.5 < p < 1:
        raise ValueError(f"need df >= 1 and 0.5 < p < 1, got df={df}, p={p}")
    target = 2 * p - 1
    lo, hi = 0.0, 1.0
    while _t_within(hi, df) < target:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if _t_within(mid, df) < target:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12 * hi:
            break
    return (lo + hi) / 2


@dataclass
class Comparison:
    """Two scenarios run on common random numbers, metric by metric."""

    a: str
    """What A is (its name and changes)."""
    b: str
    """What B is."""
    seeds: list[int]
    """The seeds of the replications (both arms ran each)."""
    table: pa.Table
    """One row per (metric, statistic): A's and B's means over the replications, and B - A
    with its 95% interval (NaN with one replication)."""
    only_in_a: list[str]
    """Metric columns that only A's runs have (a mechanism that B does not run)."""
    only_in_b: list[str]
    """Metric columns that only B's runs have."""

    def changed(self) -> pa.Table:
        """The rows that differ in some replication, or have a value in one arm only.

        A value in one arm only: a mechanism that a backlash stopped in the other.
        """
        return self.table.filter(pc.field("changed"))

    def to_pandas(self, changed_only: bool = False) -> Any:
        """The table (or the rows that changed) as a ``pandas.DataFrame`` (``notebook`` extra)."""
        from scslab.notebook import to_pandas

        return to_pandas(self.changed() if changed_only else self.table, "Comparison.to_pandas()")

    def lines(self, show_all: bool = False, limit: int = 40) -> list[str]:
        """A plain-text report: the metrics that changed (or all), then what only one arm has."""
        rows = (self.table if show_all else self.changed()).to_pylist()
        reps = len(self.seeds)
        head = [
            f"scslab compare: A = {self.a}",
            f"                B = {self.b}",
            f"  {reps} replication{'s' if reps != 1 else ''} on common random numbers "
            f"(seeds {', '.join(map(str, self.seeds))}); B - A with a 95% t-interval"
            + ("" if reps > 1 else " (one replication: no interval)"),
            "",
        ]
        if not rows:
            head.append("  no metric the two share differs: the change has no effect here")
        width = max((len(r["metric"]) for r in rows[:limit]), default=10)
        if rows:  # a header over no row reads as a table that failed to print
            head.append(
                f"  {'metric':<{width}}  {'statistic':<12} {'A':>14} {'B':>14} {'B - A':>26}"
            )
        for r in rows[:limit]:
            interval = (
                f"[{r['diff_low']:,.4g}, {r['diff_high']:,.4g}]"
                if r["diff_low"] == r["diff_low"]
                else ""
            )
            head.append(
                f"  {r['metric']:<{width}}  {r['statistic']:<12} {r['a_mean']:>14,.4g} "
                f"{r['b_mean']:>14,.4g} {r['diff_mean']:>+12,.4g} {interval}"
            )
        if len(rows) > limit:
            head.append(f"  ... and {len(rows) - limit} more rows (--out writes them all)")
        for arm, cols in (("A", self.only_in_a), ("B", self.only_in_b)):
            if cols:
                shown = ", ".join(cols[:12]) + (" ..." if len(cols) > 12 else "")
                head.append(f"  only {arm} has {len(cols)} metric columns: {shown}")
        return head


def _label(spec: str | Scenario, dropped: list[str]) -> str:
    name = spec.meta.name if isinstance(spec, Scenario) else str(spec)
    return name + "".join(f" without {d}" for d in dropped)


def _scenario(spec: str | Scenario, dropped: list[str]) -> Scenario:
    sc = spec if isinstance(spec, Scenario) else load_scenario(spec)
    for name in dropped:
        sc = sc.without_mechanism(name)
    return sc


def _metric_columns(table: pa.Table) -> dict[str, np.ndarray]:
    """Each metric column's daily values as floats (NaN where a day has none)."""
    return {
        col: table.column(col).to_numpy(zero_copy_only=False).astype(np.float64)
        for col in table.column_names
        if col not in _NOT_METRICS
    }


def _paired_statistics(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A's and B's statistics of one column, in ``STATISTICS`` order (NaN where none).

    The mean is over the days on which both arms have a value, so that two arms are averaged
    over the same days: a mechanism stopped in one arm (a programme ended by backlash) has no
    value from the day after, and its mean over its own days alone would compare a shorter
    window with a longer one. The final value is each arm's last day as it is: null where the
    mechanism had stopped.
    """
    both = ~np.isnan(a) & ~np.isnan(b)

    def stats(values: np.ndarray) -> np.ndarray:
        days = values[both]
        return np.asarray(
            [days.mean() if days.size else np.nan, values[-1] if values.size else np.nan]
        )

    return stats(a), stats(b)


def _apart(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether an arm has values but no day in common with the other (so no mean to compare)."""
    has_a, has_b = ~np.isnan(a), ~np.isnan(b)
    return bool((has_a.any() or has_b.any()) and not (has_a & has_b).any())


def _names(names: str | list[str] | tuple[str, ...] | None, what: str) -> list[str]:
    """Mechanism names to drop: one name or a list of them."""
    if names is None:
        return []
    if isinstance(names, str):
        return [names]
    if not isinstance(names, list | tuple) or not all(isinstance(name, str) for name in names):
        raise TypeError(f"{what}: expected a mechanism name or a list of names, not {names!r}")
    return list(dict.fromkeys(names))  # a name given twice is dropped once


def _run_arm(sc: Scenario, seed: int, arm: str, dropped: list[str]) -> Any:
    """One arm's run; a refusal that follows from what the arm drops says so."""
    try:
        return run(sc, seed=seed)
    except ScenarioError as err:
        if not dropped:
            raise
        raise ScenarioError(f"{err} (in {arm}, which drops {', '.join(dropped)})") from None


def compare(
    a: str | Scenario,
    b: str | Scenario,
    *,
    replications: int = 3,
    people: int | None = None,
    days: int | None = None,
    seed: int | None = None,
    scale: int | None = None,
    drop_a: str | list[str] | None = None,
    drop_b: str | list[str] | None = None,
    on_run: Callable[[int, int], None] | None = None,
) -> Comparison:
    """Run ``a`` and ``b`` (presets, files or scenarios) on common random numbers and compare.

    Args:
        a: The baseline.
        b: The alternative.
        replications: Seeds to run (``seed``, ``seed + 1``, ...); both arms run each.
        people: Override both scenarios' people.
        days: Override both scenarios' days.
        seed: The first seed (default: A's).
        scale: Override both scenarios' scale (real people per synthetic person).
        drop_a: Mechanisms to switch off in A (a name or a list of names).
        drop_b: Mechanisms to switch off in B (a name or a list of names).
        on_run: Called with (runs done, runs in all) after each run.

    Raises:
        ScenarioError: A scenario, an override or a dropped mechanism is invalid (one line).
        TypeError: ``drop_a``/``drop_b`` or ``on_run`` of the wrong type (one line).
    """
    if isinstance(replications, bool) or not isinstance(replications, numbers.Integral):
        raise ScenarioError(f"replications: a whole number, 1 to 1000 (got {replications!r})")
    if not 1 <= replications <= 1000:
        raise ScenarioError(f"replications: {replications} is out of range; allowed: 1 to 1000")
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0
    ):
        raise ScenarioError(f"seed: a whole number, 0 or more (got {seed!r})")
    check_takes("on_run", on_run, "(runs done, runs in all)", 2)  # a TypeError, as run()'s
    drop_a, drop_b = _names(drop_a, "drop_a"), _names(drop_b, "drop_b")
    sc_a = _scenario(a, drop_a).with_overrides(people=people, days=days, scale=scale)
    sc_b = _scenario(b, drop_b).with_overrides(people=people, days=days, scale=scale)
    if sc_a.meta.start_date != sc_b.meta.start_date:
        raise ScenarioError(
            f"A starts on {sc_a.meta.start_date} and B on {sc_b.meta.start_date}: compare "
            "scenarios over the same days (scenario files with the same start_date)"
        )
    if sc_a.meta.scale != sc_b.meta.scale:
        raise ScenarioError(
            f"A's scale is {sc_a.meta.scale:,} and B's {sc_b.meta.scale:,} (real people per "
            "synthetic person): their counts are in different units; compare them at one scale "
            "(set --scale)"
        )
    if sc_a.meta.people != sc_b.meta.people:
        raise ScenarioError(
            f"A has {sc_a.meta.people:,} people and B {sc_b.meta.people:,}: common random "
            "numbers need the same synthetic people in both; compare them at one size (set "
            "--people)"
        )
    if sc_a.meta.days != sc_b.meta.days:
        raise ScenarioError(
            f"A runs {sc_a.meta.days} days and B {sc_b.meta.days}: compare scenarios over the "
            "same days (set --days)"
        )
    first = sc_a.meta.seed if seed is None else int(seed)
    if first + replications - 1 > MAX_SEED:  # refused before any run, not at the last one
        raise ScenarioError(
            f"seed: {first} with {replications} replications runs seeds up to "
            f"{first + replications - 1}; allowed: seed + replications - 1 <= {MAX_SEED}"
        )
    seeds = [first + r for r in range(replications)]
    days_a, days_b = [], []
    for r, s in enumerate(seeds):
        days_a.append(_metric_columns(_run_arm(sc_a, s, "A", drop_a).metrics))
        if on_run:
            on_run(2 * r + 1, 2 * len(seeds))
        days_b.append(_metric_columns(_run_arm(sc_b, s, "B", drop_b).metrics))
        if on_run:
            on_run(2 * r + 2, 2 * len(seeds))
    shared = [c for c in days_a[0] if c in days_b[0]]
    t = t_quantile(0.975, replications - 1) if replications > 1 else math.nan
    rows: dict[str, list] = {
        k: []
        for k in (
            "metric",
            "statistic",
            "a_mean",
            "b_mean",
            "diff_mean",
            "diff_low",
            "diff_high",
            "changed",
        )
    }
    pairs = list(zip(days_a, days_b, strict=True))  # each replication's two arms
    for col in shared:
        paired = [_paired_statistics(a[col], b[col]) for a, b in pairs]
        # a value in one arm only, by statistic: no day in common though one arm measured
        # something (the mean), or a last day null in one arm only (a mechanism stopped there)
        one_arm = (
            any(_apart(a[col], b[col]) for a, b in pairs),
            any(np.isnan(a[col][-1]) != np.isnan(b[col][-1]) for a, b in pairs if a[col].size),
        )
        va = np.stack([a_stats for a_stats, _ in paired])  # (replications, statistics)
        vb = np.stack([b_stats for _, b_stats in paired])
        diff = vb - va
        for j, stat in enumerate(STATISTICS):
            d = diff[:, j]
            mean = float(d.mean())
            half = float(t * d.std(ddof=1) / math.sqrt(replications)) if replications > 1 else 0.0
            rows["metric"].append(col)
            rows["statistic"].append(stat)
            rows["a_mean"].append(float(va[:, j].mean()))
            rows["b_mean"].append(float(vb[:, j].mean()))
            rows["diff_mean"].append(mean)
            rows["diff_low"].append(mean - half if replications > 1 else math.nan)
            rows["diff_high"].append(mean + half if replications > 1 else math.nan)
            # changed: a difference, or a value in one arm only (a mechanism stopped in the other)
            rows["changed"].append(one_arm[j] or bool(np.any(np.nan_to_num(d) != 0)))
    return Comparison(
        a=_label(a, drop_a),
        b=_label(b, drop_b),
        seeds=seeds,
        table=pa.table(rows),
        only_in_a=[c for c in days_a[0] if c not in days_b[0]],
        only_in_b=[c for c in days_b[0] if c not in days_a[0]],
    )


def write_comparison(out: Path, comparison: Comparison) -> Path:
    """Write ``comparison.parquet`` and ``manifest.json`` into the new folder ``out``."""
    folder = prepare_run_dir(Path(out))
    write_table(folder, "comparison", comparison.table)
    write_manifest(
        folder,
        {
            "status": "complete",
            "kind": "comparison",
            "a": comparison.a,
            "b": comparison.b,
            "seeds": comparison.seeds,
            "only_in_a": comparison.only_in_a,
            "only_in_b": comparison.only_in_b,
        },
    )
    return folder
