"""Global sensitivity analysis: Sobol or Morris indices (SALib) of outputs to parameters.

A sensitivity file is a sweep file (``scslab.sweep``) whose parameters are ranges, with a
``[sensitivity]`` table that sets the design::

    [sensitivity]
    method = "sobol"          # sobol (Saltelli's sampling, first-order and total indices)
                              # or morris (elementary effects: mu*, sigma)
    n = 16                    # base samples: Sobol runs n (d + 2) points, Morris n (d + 1)
    outputs = ["records_by_informant:sum"]   # COLUMN[:STATISTIC], as sweep outputs

SALib draws the points; they run through the sweep engine (``sweep.run_sweep``: Dask, a run
folder per run, ``sweep.parquet``, resumable), each point ``replications`` times on common
seeds; an output's value at a point is its mean over the replications. The indices go to
``sensitivity.parquet`` in the same folder (one row per output and parameter), and a chart of
them to ``sensitivity.png``/``.svg`` when Altair and vl-convert are there. Needs the
``sensitivity`` extra (``pip install 'scslab[sensitivity]'``). Owns the sampling and the
indices; runs scenarios only through the sweep engine.
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, model_validator

from scslab.results import atomic_write, write_table
from scslab.sweep import (
    MAX_POINTS,
    NO_WORKERS_S,
    NewFolder,
    SweepError,
    SweepFile,
    SweepResult,
    load_sweep,
    missing_value,
    param_key,
    parse_output,
    round_half_up,
    run_sweep,
    validate_table,
)

EXTRA_HINT = "scslab sensitivity needs SALib: pip install 'scslab[sensitivity]'"


class SensitivityError(SweepError):
    """A sensitivity analysis that cannot run or be analysed; one line for the user."""


class RunsUnusable(SensitivityError):  # noqa: N818 (the runs ended; the indices cannot follow)
    """The runs ended, and are in the folder, but the indices cannot be computed from them.

    Not bad input refused before anything was written: the command line exits with status 1.
    """


class SensitivityTable(BaseModel):
    """The ``[sensitivity]`` table."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    method: Literal["sobol", "morris"] = "sobol"
    n: int = Field(ge=1, le=MAX_POINTS, description="Base samples (Sobol: a power of 2).")
    outputs: list[str] = Field(min_length=1, description="COLUMN or COLUMN:STATISTIC.")
    levels: int = Field(default=4, ge=2, le=100, description="Morris grid levels.")
    second_order: bool = Field(default=False, description="Sobol second-order indices too.")
    resamples: int = Field(default=100, ge=10, le=10_000, description="Bootstrap resamples.")

    @model_validator(mode="after")
    def _settings_of_its_method(self) -> SensitivityTable:
        """Refuse a setting of the other method, which this one would ignore."""
        if self.method == "sobol" and "levels" in self.model_fields_set:
            raise ValueError("levels is Morris's grid; method is sobol, which has none")
        if self.method == "morris" and self.second_order:
            raise ValueError("second_order is Sobol's; method is morris, which has none")
        return self


@dataclass
class Sensitivity:
    """The indices, and the sweep that produced them."""

    method: str
    table: pa.Table
    """A row per (output, parameter): Sobol ``S1``, ``S1_conf``, ``ST``, ``ST_conf``; Morris
    ``mu``, ``mu_star``, ``mu_star_conf``, ``sigma``."""
    sweep: SweepResult
    chart: bool = False
    """Whether the chart was drawn (it needs Altair and vl-convert)."""
    pairs: pa.Table | None = None
    """Sobol with ``second_order``: a row per (output, parameter, other parameter), each pair
    once, with ``S2`` and ``S2_conf`` (``sensitivity_s2.parquet``); else None."""

    def lines(self) -> list[str]:
        """The indices as plain text, one line per output and parameter."""
        rows = self.table.to_pylist()
        if self.method == "sobol":
            head = f"  {'output':<32} {'parameter':<44} {'S1':>16} {'ST':>16}"
            cols = (("S1", "S1_conf"), ("ST", "ST_conf"))
        else:
            head = f"  {'output':<32} {'parameter':<44} {'mu*':>16} {'sigma':>10}"
            cols = (("mu_star", "mu_star_conf"),)
        out = [f"scslab sensitivity ({self.method}): {self.sweep.table.num_rows} runs", head]
        for r in rows:
            cells = " ".join(f"{_num(r[a]):>8} ±{_num(r[b]):<7}" for a, b in cols)
            if self.method == "morris":
                cells += f" {_num(r['sigma']):>10}"
            out.append(f"  {r['output']:<32} {r['parameter']:<44} {cells}")
        if self.pairs is not None:
            out.append(f"  {'output':<32} {'parameters':<44} {'S2':>16}")
            for r in self.pairs.to_pylist():
                both = f"{r['parameter']} x {r['other']}"
                out.append(
                    f"  {r['output']:<32} {both:<44} {_num(r['S2']):>8} ±{_num(r['S2_conf']):<7}"
                )
        return out


def _num(x: float | None) -> str:
    return "nan" if missing_value(x) else f"{x:.3g}"


def _salib() -> Any:
    try:
        import SALib  # noqa: F401
        from SALib.analyze import morris as morris_analyze
        from SALib.analyze import sobol as sobol_analyze
        from SALib.sample import morris as morris_sample
        from SALib.sample import sobol as sobol_sample
    except ImportError:
        raise SensitivityError(EXTRA_HINT) from None
    return sobol_sample, sobol_analyze, morris_sample, morris_analyze


def _problem(sweep: SweepFile) -> dict[str, Any]:
    names, bounds = [], []
    for p in sweep.parameters:
        if p.range is None:
            raise SensitivityError(
                f"{sweep.source}: {param_key(p.path)}: sensitivity needs a range "
                "{ low = ..., high = ... }, not a list of values"
            )
        lo, hi = p.range.low, p.range.high
        names.append(p.path)
        bounds.append([math.log(lo), math.log(hi)] if p.range.log else [lo, hi])
    if not names:
        raise SensitivityError(f"{sweep.source}: parameters: sensitivity needs ranges to vary")
    return {"num_vars": len(names), "names": names, "bounds": bounds}


def sample(sweep: SweepFile, table: SensitivityTable) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """SALib's sample (in SALib's coordinates: log ranges as logarithms) and the design points."""
    sobol_sample, _, morris_sample, _ = _salib()
    problem = _problem(sweep)
    seed = sweep.spec.seed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if table.method == "sobol":
            if table.n & (table.n - 1):
                lower = 1 << (table.n.bit_length() - 1)
                raise SensitivityError(
                    f"{sweep.source}: sensitivity.n: Sobol needs a power of 2 (got {table.n}; "
                    f"try {lower} or {2 * lower})"
                )
            x = sobol_sample.sample(
                problem, table.n, calc_second_order=table.second_order, seed=seed
            )
        else:
            x = morris_sample.sample(problem, table.n, num_levels=table.levels, seed=seed)
    points = []
    for row in x:
        point = {}
        for j, p in enumerate(sweep.parameters):
            value = math.exp(row[j]) if p.range is not None and p.range.log else float(row[j])
            point[p.path] = round_half_up(value) if p.integer else value
        points.append(point)
    return x, points


def analyse(
    sweep: SweepFile, table: SensitivityTable, x: np.ndarray, runs: pa.Table
) -> tuple[pa.Table, pa.Table | None]:
    """The indices of each output from the sweep table ``runs`` (every run must be ``ok``).

    Raises:
        RunsUnusable: A run failed or is missing, or has no value of an output (the indices
            need every point).
    """
    _, sobol_analyze, _, morris_analyze = _salib()
    rows = runs.to_pylist()
    bad = [r for r in rows if r["status"] != "ok"]
    if bad:
        raise RunsUnusable(
            f"{len(bad)} of {len(rows)} runs did not finish ok (first: {bad[0]['run_id']}: "
            f"{bad[0]['error'] or bad[0]['status']}); the indices need every run: see "
            "sweep.parquet, then run the same command again to rerun them"
        )
    problem = _problem(sweep)
    outputs = [parse_output(o, "sensitivity.outputs") for o in table.outputs]
    out: dict[str, list[Any]] = {"output": [], "parameter": [], "method": []}
    names = (
        ("S1", "S1_conf", "ST", "ST_conf")
        if table.method == "sobol"
        else ("mu", "mu_star", "mu_star_conf", "sigma")
    )
    out.update({n: [] for n in names})
    second = table.method == "sobol" and table.second_order
    pairs: dict[str, list[Any]] = {k: [] for k in ("output", "parameter", "other", "S2", "S2_conf")}
    for o in outputs:
        y = np.zeros(len(x))
        count = np.zeros(len(x))
        for r in rows:
            value = r[o.name]
            if missing_value(value):  # null on every day it reads
                raise RunsUnusable(
                    f"output {o.name}: run {r['run_id']} has no value of it (a mechanism off at "
                    "that point, or not running on the days it reads); the indices need a value "
                    "at every point: choose an output every run writes"
                )
            y[r["point"]] += r[o.name]
            count[r["point"]] += 1
        y /= count
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            if np.ptp(y) == 0:  # the output does not move: no parameter matters
                d = len(sweep.parameters)
                res = {n: np.zeros(d) for n in names} | {
                    "S2": np.zeros((d, d)),
                    "S2_conf": np.zeros((d, d)),
                }
            elif table.method == "sobol":
                res = sobol_analyze.analyze(
                    problem,
                    y,
                    calc_second_order=table.second_order,
                    num_resamples=table.resamples,
                    seed=sweep.spec.seed,
                )
            else:
                res = morris_analyze.analyze(
                    problem,
                    x,
                    y,
                    num_levels=table.levels,
                    num_resamples=table.resamples,
                    seed=sweep.spec.seed,
                )
        for j, p in enumerate(sweep.parameters):
            out["output"].append(o.name)
            out["parameter"].append(p.path)
            out["method"].append(table.method)
            for n in names:
                out[n].append(float(np.asarray(res[n])[j]))
        if second:  # each pair once: SALib fills the upper triangle
            for j, p in enumerate(sweep.parameters):
                for k in range(j + 1, len(sweep.parameters)):
                    pairs["output"].append(o.name)
                    pairs["parameter"].append(p.path)
                    pairs["other"].append(sweep.parameters[k].path)
                    pairs["S2"].append(float(np.asarray(res["S2"])[j, k]))
                    pairs["S2_conf"].append(float(np.asarray(res["S2_conf"])[j, k]))
    return pa.table(out), pa.table(pairs) if second else None


def run_sensitivity(
    sweep: SweepFile | str | Path,
    out: str | Path | NewFolder,
    *,
    client: Any = None,
    scheduler: str | None = None,
    workers: int | None = None,
    on_row: Callable[[int, int, dict[str, Any]], None] | None = None,
    on_check: Callable[[int, int], None] | None = None,
    no_workers_s: float = NO_WORKERS_S,
) -> Sensitivity:
    """Sample the ranges with SALib, run the points on the sweep engine, write the indices.

    ``sensitivity.parquet`` goes beside ``sweep.parquet`` in ``out`` (a folder, or a function
    that makes a new one once every check passed: ``sweep.NewFolder``). ``on_row`` and
    ``on_check`` report progress as in ``sweep.run_sweep``. ``no_workers_s`` is how long
    the cluster may have no worker while runs wait (``sweep.execute``, which raises ``NoWorkers``).

    Raises:
        SensitivityError: The file, the extra or a run makes the indices impossible (one line;
            nothing is written when the file or the folder is refused).
    """
    if not isinstance(sweep, SweepFile):
        sweep = load_sweep(sweep, kind="sensitivity")
    table = validate_table(
        sweep.source, "sensitivity", SensitivityTable, sweep.tables.get("sensitivity")
    )
    outputs = tuple(parse_output(o, f"{sweep.source}: sensitivity.outputs") for o in table.outputs)
    if len({o.name for o in outputs}) != len(outputs):
        raise SensitivityError(f"{sweep.source}: sensitivity.outputs: an output is named twice")
    sweep = dataclasses.replace(sweep, outputs=outputs)
    x, points = sample(sweep, table)
    result = run_sweep(
        sweep,
        out,
        client=client,
        scheduler=scheduler,
        workers=workers,
        on_row=on_row,
        on_check=on_check,
        points=points,
        kind="sensitivity",
        no_workers_s=no_workers_s,
    )
    indices, pairs = analyse(sweep, table, x, result.table)
    write_table(result.folder, "sensitivity", indices)
    if pairs is not None:
        write_table(result.folder, "sensitivity_s2", pairs)
    chart = write_chart(result.folder, indices, table.method, sweep.base.meta.name)
    return Sensitivity(table.method, indices, result, chart, pairs)


def write_chart(folder: Path, indices: pa.Table, method: str, scenario: str) -> bool:
    """Draw the indices, a bar per parameter with its interval, a panel per output.

    Sobol: the total index ``ST``; Morris: ``mu*``. Writes ``sensitivity.png``, ``.svg`` and
    ``.vl.json``. Returns False (and draws nothing) without Altair and vl-convert.
    """
    try:
        import altair as alt
        import vl_convert as vlc
    except ImportError:
        return False
    value, conf, label = (
        ("ST", "ST_conf", "total Sobol index ST")
        if method == "sobol"
        else (
            "mu_star",
            "mu_star_conf",
            "Morris mu*",
        )
    )
    data = [
        {
            "output": r["output"],
            "parameter": r["parameter"].rsplit(".", 2)[-2]
            + "."
            + r["parameter"].rsplit(".", 1)[-1],
            "value": r[value],
            "low": r[value] - (r[conf] or 0.0),
            "high": r[value] + (r[conf] or 0.0),
        }
        for r in indices.to_pylist()
    ]
    base = alt.Chart(alt.Data(values=data)).encode(y=alt.Y("parameter:N", title=None))
    bars = base.mark_bar().encode(x=alt.X("value:Q", title=label))
    rules = base.mark_rule().encode(x="low:Q", x2="high:Q")
    chart = (
        alt.layer(bars, rules)
        .properties(width=320, height=25 * len({d["parameter"] for d in data}))
        .facet(row=alt.Row("output:N", title=None))
        .resolve_scale(x="independent")
        .properties(title=f"{scenario}: {label} with its 95% interval")
    )
    spec = chart.to_dict()
    for name, payload in (
        ("sensitivity.svg", vlc.vegalite_to_svg(spec).encode()),
        ("sensitivity.png", vlc.vegalite_to_png(spec, scale=2)),
        ("sensitivity.vl.json", json.dumps(spec).encode()),
    ):
        atomic_write(folder / name, lambda tmp, p=payload: Path(tmp).write_bytes(p))
    return True
