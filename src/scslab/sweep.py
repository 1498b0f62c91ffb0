"""Parameter sweeps on Dask ``distributed``: designs, replications, a run folder per run, one table.

A sweep file is TOML::

    [sweep]
    scenario = "rongcheng"      # a preset, or a scenario file (relative to the sweep file)
    people = 20_000             # optional overrides of the base scenario: people, days or
    days = 120                  # until (a last date), scale
    replications = 3            # runs per design point
    design = "grid"             # grid (lists of values), random or sobol (ranges; n points)
    seed = 1                    # seeds the design and the replications' seeds
    outputs = ["records_by_informant:sum", "court_list_size"]   # COLUMN[:STATISTIC]

    [parameters]
    "mechanisms.informants.report_prob" = [0.005, 0.01, 0.02]      # a grid's values
    "mechanisms.debt.arrears_rate" = { low = 1e-5, high = 1e-4, log = true }   # a range

Every path is checked against the base scenario before anything runs (an unknown key is one line
listing the keys allowed at that level), and so is every value (types are strict: ``true`` is no
number, ``1`` no boolean). So are the outputs' columns, against the metric columns of a one-day
run of the base scenario at 500 people (``check_outputs``; when a column is missing there, of the
base with each swept value in turn), before the runs start, and so is what each point's
mechanisms name of each other, by setting the point up without running a day
(``check_points_set_up``). Replication ``r`` runs on the same
seed at every design point (the seeds come from ``numpy.random.SeedSequence(seed)``), so that, as
in ``scslab compare``, points differ by their parameters and not by luck.

Each run is a pure function of (scenario, seed) executed through ``api.run`` on a Dask worker
(``run_task``). Its id is its place in the design (``p00003-r001``: point 3, replication 1), so
a retried run writes the same run folder ``OUT/runs/RUN_ID`` and the same row
``OUT/rows/RUN_ID.json``. A run that raises is a row with status ``failed`` and its error, not a
crash. A worker that dies mid-run has its run retried once on another worker
(``distributed.scheduler.allowed-failures = 1``); a second death records the run as failed. The
sweep writes ``OUT/sweep.parquet`` (a row per run: id, point, replication, seed, status, error,
seconds, run folder, the parameter values and the outputs) atomically at the end, and
``OUT/sweep.json`` (what ran, counts, status). Run again into the same folder, a sweep skips the
runs already done, so a killed sweep resumes and no run is ever counted twice.

``scslab.sensitivity`` and ``scslab.calibrate`` read their ``[sensitivity]`` and ``[calibrate]``
tables from the same file and run through ``execute``. Needs the ``sweep`` extra
(``pip install 'scslab[sweep]'``). Owns sweep files, designs and sweep folders; runs scenarios
only through ``api.run`` and touches no mechanism.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import difflib
import hashlib
import itertools
import json
import logging
import math
import os
import shutil
import signal
import threading
import time
import tomllib
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scslab.api import check_set_up, run
from scslab.errors import ScenarioError
from scslab.input_files import InputTooLargeError, read_input_text
from scslab.results import atomic_write, cannot_create, write_table
from scslab.scenario import (
    MAX_DAYS,
    MAX_PEOPLE,
    Scenario,
    load_scenario,
    preset_names,
    scenario_from_dict,
)
from scslab.version import __version__

EXTRA_HINT = "scslab sweep needs Dask distributed: pip install 'scslab[sweep]'"

STATISTICS = ("final", "mean", "sum", "max", "min")
"""What an output takes of a metric column over the days: its last value, mean, sum, max, min."""

MAX_POINTS = 100_000
MAX_RUNS = 1_000_000

WORKERS_PER_CORE = 4
"""The most local worker processes per core (``--workers``): more only queue for the cores."""

PROBE_PEOPLE = 500
"""People of the one-day run that finds a scenario's metric columns (``metric_columns``)."""

NO_WORKERS_S = 600.0
"""How long ``execute`` waits while the cluster has no worker at all before it stops the sweep
(``NoWorkers``): long enough for a batch queue to start a job, short enough that a cluster whose
jobs all ended does not hold the sweep for ever. ``--no-workers-timeout`` changes it."""

POLL_S = 1.0
"""How often ``execute`` looks at the cluster's workers while no run finishes."""

MAX_PROBES = 32
"""The most one-day runs ``check_outputs`` makes to find where an output's column comes from."""

TABLES = ("sweep", "parameters", "sensitivity", "calibrate")
"""The tables a sweep file may hold (``scslab sweep`` reads the first two)."""


class SweepError(ScenarioError):
    """A sweep file, flag or folder that cannot be used; the message is one line for the user."""


class NoWorkers(RuntimeError):  # noqa: N818 (what happened, as the message says)
    """The cluster had no worker for ``NO_WORKERS_S`` seconds (or the caller's) while runs waited.

    Not bad input: the sweep folder keeps the runs that finished, and the same command resumes
    it once the cluster has workers again.
    """


# --------------------------------------------------------------------------- the sweep file


class SweepTable(BaseModel):
    """The ``[sweep]`` table: the base scenario, its overrides, the design, the outputs."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    scenario: str = Field(description="A preset name, or a scenario file relative to the sweep.")
    people: int | None = Field(default=None, ge=1, le=MAX_PEOPLE)
    days: int | None = Field(default=None, ge=1, le=MAX_DAYS)
    until: dt.date | None = Field(
        default=None, strict=False, description="The last simulated date (instead of days)."
    )
    scale: int | None = Field(default=None, ge=1, le=10**9)
    replications: int = Field(default=1, ge=1, le=1000)
    design: Literal["grid", "random", "sobol"] = "grid"
    n: int | None = Field(default=None, ge=1, le=MAX_POINTS, description="Points (random, sobol).")
    seed: int = Field(default=0, ge=0, le=2**63 - 1)
    outputs: list[str] = Field(default_factory=list, description="COLUMN or COLUMN:STATISTIC.")


class Range(BaseModel):
    """A parameter's range: ``{low, high}``, sampled uniformly (``log = true``: log-uniformly)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    low: float
    high: float
    log: bool = False


@dataclass(frozen=True)
class Parameter:
    """One swept parameter: its dotted path, and its values (a list) or its range."""

    path: str
    values: tuple[Any, ...] | None
    range: Range | None
    integer: bool
    """The parameter holds an integer: sampled values are rounded (``round_half_up``); values
    the file gives (a list's, a range's bounds) must be whole numbers."""

    def at(self, u: float) -> Any:
        """The value at ``u`` in [0, 1): a quantile of the range, or one of the values."""
        if self.values is not None:
            return self.values[min(int(u * len(self.values)), len(self.values) - 1)]
        assert self.range is not None
        lo, hi = self.range.low, self.range.high
        x = (
            math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
            if self.range.log
            else (lo + u * (hi - lo))
        )
        return round_half_up(x) if self.integer else float(x)


def round_half_up(x: float) -> int:
    """A value sampled for an integer parameter, rounded: to the nearest integer, a half up.

    2.5 is 3 and -2.5 is -2 (Python's ``round`` takes halves to the even neighbour, so 2.5 was
    2: a Morris level halfway between two integers went down, looking truncated). Integer
    bounds keep a rounded value within the range.
    """
    return math.floor(x + 0.5)


@dataclass(frozen=True)
class Output:
    """A number taken from a run's metrics: a statistic of a column, or its value on a day."""

    column: str
    stat: str
    day: int | None = None
    """For ``stat`` ``at`` (the value on ``day``) and ``cumsum_at`` (the sum of days 0..day)."""
    label: str = ""
    """The name of its column in the sweep table (default ``COLUMN:STAT``)."""

    @property
    def name(self) -> str:
        """Its column name in the sweep table."""
        return self.label or f"{self.column}:{self.stat}"

    def of(self, metrics: pa.Table) -> float:
        """Its value in a run's metrics table.

        Raises:
            SweepError: The run has no such column, or fewer days.
        """
        if self.column not in metrics.column_names:
            near = [c for c in metrics.column_names if c not in ("day", "date")]
            raise SweepError(
                f"output {self.name}: {self.column!r} is not a metric of this run; it has "
                + ", ".join(near[:12])
                + (f" ... ({len(near)} in all)" if len(near) > 12 else "")
            )
        values = metrics.column(self.column).to_numpy(zero_copy_only=False).astype(np.float64)
        if self.day is not None:
            if self.day < 0:
                raise SweepError(f"output {self.name}: day {self.day} is before the run's first")
            if self.day >= values.size:
                raise SweepError(f"output {self.name}: day {self.day} is past the run's last day")
            if self.stat == "at":
                return float(values[self.day])
            window = values[: self.day + 1]  # cumsum_at; NaN where it never ran in the window
            return math.nan if np.all(np.isnan(window)) else float(np.nansum(window))
        if values.size == 0 or np.all(np.isnan(values)):
            return math.nan
        reduce = {
            "final": lambda v: v[~np.isnan(v)][-1],  # its last day that ran (a stop: null)
            "mean": np.nanmean,
            "sum": np.nansum,
            "max": np.nanmax,
            "min": np.nanmin,
        }[self.stat]
        return float(reduce(values))


def missing_value(value: Any) -> bool:
    """Whether a run's value of an output is missing: absent, null, or NaN.

    ``Output.of`` gives NaN for a column that is null on every day it reads (a mechanism off, or
    not running then); calibration and sensitivity analysis both read rows through this.
    """
    return value is None or (isinstance(value, float | np.floating) and math.isnan(value))


def parse_output(spec: str, where: str) -> Output:
    """``COLUMN`` (its final value) or ``COLUMN:STATISTIC`` as an ``Output``."""
    column, _, stat = spec.partition(":")
    stat = stat or "final"
    if not column or stat not in STATISTICS:
        raise SweepError(
            f"{where}: {spec!r} is not COLUMN or COLUMN:STATISTIC; statistics: "
            + ", ".join(STATISTICS)
        )
    return Output(column, stat)


@dataclass(frozen=True)
class SweepFile:
    """A validated sweep file: the base scenario (overrides applied), parameters and tables."""

    source: str
    spec: SweepTable
    base: Scenario
    parameters: tuple[Parameter, ...]
    outputs: tuple[Output, ...]
    tables: dict[str, Any] = field(default_factory=dict)
    """The raw ``[sensitivity]`` and ``[calibrate]`` tables (validated by their modules)."""
    home: Path = field(default_factory=Path.cwd)
    """The sweep file's folder, where its relative paths start."""


def _format(source: str, err: ValidationError, prefix: str, model: type[BaseModel]) -> str:
    errors = err.errors()
    e = next((x for x in errors if x["type"] == "extra_forbidden"), errors[0])
    loc = ".".join(str(p) for p in e["loc"])
    path = f"{prefix}.{loc}" if loc else prefix
    if e["type"] == "extra_forbidden":
        keys = [f.alias or name for name, f in model.model_fields.items()]
        return f"{source}: {path}: unknown key; allowed: {', '.join(keys)}"
    if e["type"] == "missing":
        return f"{source}: {path}: missing required key"
    msg = e["msg"].removeprefix("Value error, ")
    got = e.get("input")
    return (
        f"{source}: {path}: {msg} (got {got!r})"
        if not isinstance(got, dict)
        else (f"{source}: {path}: {msg}")
    )


def validate_table(source: str, name: str, model: type[BaseModel], value: Any) -> Any:
    """Validate one table of a sweep file against ``model`` (one-line ``SweepError``)."""
    if not isinstance(value, dict):
        raise SweepError(f"{source}: {name}: must be a table")
    try:
        return model.model_validate(value)
    except ValidationError as err:
        raise SweepError(_format(source, err, name, model)) from None


def _base_scenario(spec: SweepTable, folder: Path, source: str) -> Scenario:
    target = spec.scenario
    local = folder / target
    if target not in preset_names() and not local.exists():
        raise SweepError(
            f"{source}: sweep.scenario: {target!r} is no preset and no file beside the sweep "
            f"file; presets: {', '.join(preset_names())}"
        )
    try:
        if target in preset_names() and not local.exists():
            sc = load_scenario(target)
        else:
            sc = load_scenario(local)
    except ScenarioError as err:
        raise SweepError(f"{source}: sweep.scenario: {err}") from None
    if spec.days is not None and spec.until is not None:
        raise SweepError(f"{source}: sweep.until: give days or until, not both")
    days = spec.days
    if spec.until is not None:
        days = (spec.until - sc.meta.start_date).days + 1
        if days < 1:
            raise SweepError(
                f"{source}: sweep.until: {spec.until} is before the scenario's start date "
                f"{sc.meta.start_date}"
            )
    try:
        return sc.with_overrides(people=spec.people, days=days, scale=spec.scale)
    except ScenarioError as err:
        raise SweepError(f"{source}: sweep: {err}") from None


def param_key(path: str) -> str:
    """How errors name a parameter: its key in the ``[parameters]`` table, quoted as in TOML."""
    return f'parameters."{path}"'


def _walk(data: dict[str, Any], path: str, source: str) -> Any:
    """The current value at a dotted path of a resolved scenario, or one line naming the level."""
    node: Any = data
    done: list[str] = []
    for part in path.split("."):
        if not isinstance(node, dict):
            raise SweepError(
                f"{source}: {param_key(path)}: {'.'.join(done)} is a value, not a table; "
                "give the path of one parameter"
            )
        allowed = [k for k in node if not (done and done[0] == "mechanisms" and k == "type")]
        if part not in allowed:
            level = ".".join(done) or "the scenario"
            raise SweepError(
                f"{source}: {param_key(path)}: unknown key {part!r} in {level}; allowed: "
                + ", ".join(allowed)
            )
        node = node[part]
        done.append(part)
    if len(done) < 2:
        raise SweepError(f"{source}: {param_key(path)}: a table; give the path of one parameter")
    return node


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = data
    for part in parts[:-1]:
        node = node[part]
    node[parts[-1]] = value


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str | dt.date):  # a date written as TOML's date or as "YYYY-MM-DD"
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "table"
    return "value"


def apply(base: Scenario, values: dict[str, Any], source: str = "<sweep>") -> Scenario:
    """The base scenario with parameters set by dotted path (validated like a scenario file).

    Raises:
        SweepError: A value is not allowed (one line naming the parameter).
    """
    data = base.resolved()
    for path, value in values.items():
        _walk(data, path, source)
        _set(data, path, value)
    try:
        return scenario_from_dict(data, base.source)
    except ScenarioError as err:
        raise SweepError(f"{source}: parameters: {err}") from None


def _check_value(base: Scenario, path: str, current: Any, value: Any, where: str) -> None:
    want, got = _kind(current), _kind(value)
    if current is not None and want != got:
        try:  # a field of two kinds (gallery_size: a number or "wanted") takes either
            apply(base, {path: value}, where)
        except SweepError as err:  # with the scenario's reason: the kind may fit elsewhere
            raise SweepError(
                f"{where}: {value!r} is a {got}; {path} takes a {want} here ({_reason(err, base)})"
            ) from None
        return
    if current is None and got == "boolean":
        raise SweepError(f"{where}: {value!r} is a boolean; {path} takes no boolean")
    try:
        apply(base, {path: value}, where)
    except SweepError as err:
        raise SweepError(f"{where}: {_reason(err, base).removeprefix(f'{path}: ')}") from None


def _reason(err: SweepError, base: Scenario) -> str:
    """The scenario's own reason in an ``apply`` error, without the file and ``parameters:``."""
    return str(err).split(": parameters: ", 1)[-1].removeprefix(f"{base.source}: ")


def _same(a: Any, b: Any) -> bool:
    """Whether two values of a list are the same point: ``1`` and ``1.0`` are, not ``True``, 1."""
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def _check_whole(where: str, path: str, value: Any) -> None:
    """Refuse a number with a decimal point that the file gives an integer parameter.

    The rule of scenario files (``scenario._refuse_lax_conversions``): ``2.5`` is never cut to 2,
    and ``8.0`` is refused too, in a list and in a range's bounds alike.

    Raises:
        SweepError: One line naming the value, the parameter and what it takes.
    """
    if isinstance(value, float):
        raise SweepError(
            f"{where}: must be a whole number, without a decimal point (got {value!r}); {path} "
            "takes integers"
        )


def _parameter(base: Scenario, source: str, path: str, value: Any, design: str) -> Parameter:
    where = f"{source}: {param_key(path)}"
    if not isinstance(path, str) or not path:
        raise SweepError(f"{source}: parameters: keys must be dotted paths")
    if path.startswith("scenario.") and path.split(".")[1] in ("name", "description"):
        raise SweepError(f"{where}: not a parameter; sweep scenario.people, days, seed, scale...")
    current = _walk(base.resolved(), path, source)
    if isinstance(current, dict):
        raise SweepError(f"{where}: is a table; allowed: {', '.join(current)}")
    integer = isinstance(current, int) and not isinstance(current, bool)
    if isinstance(value, list):
        if not value:
            raise SweepError(f"{where}: an empty list; give at least one value")
        for i, v in enumerate(value):
            if integer:
                _check_whole(f"{where}[{i}]", path, v)
            _check_value(base, path, current, v, f"{where}[{i}]")
            if any(_same(v, earlier) for earlier in value[:i]):  # a point run twice over
                raise SweepError(f"{where}[{i}]: {v!r} is in the list already; give each once")
        return Parameter(path, tuple(value), None, integer)
    if isinstance(value, dict):
        rng = validate_table(source, f"{param_key(path)}", Range, value)
        if design == "grid":
            raise SweepError(
                f"{where}: a range needs design = random or sobol; a grid takes a list of values"
            )
        if _kind(current) != "number":
            raise SweepError(
                f"{where}: a range needs a number parameter; {path} is a "
                f"{_kind(current)}: give a list of values"
            )
        if not rng.low < rng.high:
            raise SweepError(f"{where}: low {rng.low} must be below high {rng.high}")
        if rng.log and rng.low <= 0:
            raise SweepError(f"{where}: log = true needs low > 0 (got {rng.low})")
        for name in ("low", "high"):
            if integer:  # as the file wrote it: the range's model holds floats
                _check_whole(f"{where}.{name}", path, value.get(name))
        for bound in (rng.low, rng.high):
            _check_value(base, path, current, int(bound) if integer else bound, where)
        return Parameter(path, None, rng, integer)
    raise SweepError(
        f"{where}: give a list of values or a range {{ low = ..., high = ... }} (got {value!r})"
    )


def load_sweep(path: str | Path, kind: str = "sweep") -> SweepFile:
    """Read and validate a sweep file: tables, base scenario, every parameter path and value.

    ``kind`` is the command that reads it: ``sweep`` (its design comes from ``[sweep]``),
    ``sensitivity`` or ``calibrate`` (whose table sets the design: parameters are ranges).

    Raises:
        SweepError: One line naming the file, the key and what is allowed.
    """
    source = str(path)
    p = Path(path)
    if p.is_dir():
        raise SweepError(f"{source}: is a folder; give the sweep's .toml file")
    if not p.is_file():
        raise SweepError(f"{source}: no such sweep file")
    try:
        data = tomllib.loads(read_input_text(p, f"{kind} file"))
    except InputTooLargeError as err:
        raise SweepError(str(err)) from None
    except (OSError, UnicodeDecodeError) as err:
        raise SweepError(f"{source}: cannot be read as UTF-8 text ({err})") from None
    except tomllib.TOMLDecodeError as err:
        raise SweepError(f"{source}: not valid TOML: {err}") from None
    return sweep_from_dict(data, source, p.resolve().parent, kind)


def sweep_from_dict(
    data: dict[str, Any], source: str, folder: Path | None = None, kind: str = "sweep"
) -> SweepFile:
    """Validate a sweep file given as parsed TOML (``folder``: where relative paths start)."""
    for key in data:
        if key not in TABLES:
            raise SweepError(f"{source}: {key}: unknown table; allowed: {', '.join(TABLES)}")
    if "sweep" not in data:
        raise SweepError(f'{source}: sweep: missing table; it needs at least scenario = "..."')
    spec = validate_table(source, "sweep", SweepTable, data["sweep"])
    if kind != "sweep":
        if kind not in data:
            raise SweepError(f"{source}: {kind}: missing table; scslab {kind} needs it")
        for key in ("design", "n"):
            if key in spec.model_fields_set:
                raise SweepError(f"{source}: sweep.{key}: [{kind}] sets the design; remove it")
        if "outputs" in spec.model_fields_set:  # read from [sensitivity] or [calibrate] alone
            what = "outputs" if kind == "sensitivity" else "targets"
            raise SweepError(
                f"{source}: sweep.outputs: scslab {kind} does not read it; name them in "
                f"{kind}.{what}"
            )
    base = _base_scenario(spec, folder or Path.cwd(), source)
    params = data.get("parameters", {})
    if not isinstance(params, dict):
        raise SweepError(f"{source}: parameters: must be a table of dotted paths")
    design = spec.design if kind == "sweep" else kind
    parameters = tuple(_parameter(base, source, k, v, design) for k, v in params.items())
    for key in ("people", "days", "scale"):  # set twice: the parameter would win in silence
        if f"scenario.{key}" in params and getattr(spec, key) is not None:
            raise SweepError(
                f"{source}: {param_key(f'scenario.{key}')}: swept, and set in [sweep] too "
                f"({key} = {getattr(spec, key)!r}); keep one of them"
            )
    if "scenario.days" in params and spec.until is not None:
        raise SweepError(
            f"{source}: {param_key('scenario.days')}: swept, and [sweep] until sets the days "
            "too; keep one of them"
        )
    if "scenario.seed" in params and spec.replications != 1:
        raise SweepError(
            f"{source}: {param_key('scenario.seed')}: the seed is swept, so replications must be 1 "
            f"(got {spec.replications}); or drop it and let replications draw the seeds"
        )
    outputs = tuple(parse_output(o, f"{source}: sweep.outputs") for o in spec.outputs)
    if len({o.name for o in outputs}) != len(outputs):
        raise SweepError(f"{source}: sweep.outputs: an output is named twice")
    tables = {k: data[k] for k in ("sensitivity", "calibrate") if k in data}
    return SweepFile(source, spec, base, parameters, outputs, tables, folder or Path.cwd())


# --------------------------------------------------------------------------- designs


def design_points(sweep: SweepFile) -> list[dict[str, Any]]:
    """The design's points in order: each a mapping of parameter path to value.

    Raises:
        SweepError: The design does not fit its parameters (a grid of ranges, no ``n``...).
    """
    spec, params, source = sweep.spec, sweep.parameters, sweep.source
    if spec.design == "grid":
        if spec.n is not None:
            raise SweepError(f"{source}: sweep.n: a grid has every combination; remove n")
        size = math.prod(len(p.values or ()) for p in params)
        if size > MAX_POINTS:
            raise SweepError(
                f"{source}: parameters: the grid has {size:,} points; at most {MAX_POINTS:,}"
            )
        combos = itertools.product(*(p.values or () for p in params))
        return [dict(zip((p.path for p in params), c, strict=True)) for c in combos]
    if spec.n is None:
        raise SweepError(f"{source}: sweep.n: a {spec.design} design needs n, its number of points")
    if not params:
        raise SweepError(f"{source}: parameters: a {spec.design} design needs parameters")
    if spec.design == "random":
        unit = np.random.default_rng(np.random.SeedSequence(spec.seed)).random(
            (spec.n, len(params))
        )
    else:
        if spec.n & (spec.n - 1):
            lower = 1 << (spec.n.bit_length() - 1)
            raise SweepError(
                f"{source}: sweep.n: a Sobol design needs a power of 2 (got "
                f"{spec.n}; try {lower} or {2 * lower})"
            )
        unit = sobol_unit(spec.n, len(params), spec.seed)
    return [{p.path: p.at(float(u[j])) for j, p in enumerate(params)} for u in unit]


def sobol_unit(n: int, d: int, seed: int) -> np.ndarray:
    """``n`` points of a scrambled Sobol sequence in [0, 1)^d (scipy, from the ``sweep`` extra)."""
    try:
        from scipy.stats import qmc
    except ImportError:
        raise SweepError("a Sobol design needs scipy: pip install 'scslab[sweep]'") from None
    return qmc.Sobol(d, scramble=True, rng=np.random.default_rng(seed)).random(n)


def replication_seeds(seed: int, replications: int) -> list[int]:
    """The seeds of the replications: drawn from ``SeedSequence(seed)``, the same at every point."""
    words = np.random.SeedSequence(seed).generate_state(replications, np.uint64)
    return [int(w) & (2**63 - 1) for w in words]


# --------------------------------------------------------------------------- runs


@dataclass(frozen=True)
class RunTask:
    """One run: what a worker needs, and nothing else (a pure function of scenario and seed)."""

    run_id: str
    scenario: dict[str, Any]
    """The resolved scenario, parameters and seed applied (``Scenario.resolved()``)."""
    folder: str
    """The sweep folder (absolute; on a cluster, a shared file system)."""
    point: int
    replication: int
    seed: int
    values: dict[str, Any]
    """The parameter values of its point."""
    outputs: tuple[Output, ...]
    key: str
    """The Dask key: the run id under the sweep's digest, unique on a shared scheduler."""


ROW_FIELDS = ("run_id", "point", "replication", "seed", "status", "error", "seconds", "run_dir")


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    text = f"{type(err).__name__}: {text}" if text else type(err).__name__
    return text if len(text) <= 500 else text[:497] + "..."


def read_row(path: Path) -> dict[str, Any] | None:
    """A run's row ``rows/RUN_ID.json``, or None if it is missing or unreadable."""
    try:
        row = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return row if isinstance(row, dict) and "status" in row else None


def done_row(folder: Path, task: RunTask) -> dict[str, Any] | None:
    """``task``'s row if its run ended ok and all it wrote is still there, else None (run it)."""
    return whole_row(folder, task, read_row(folder / "rows" / f"{task.run_id}.json"))


def whole_row(folder: Path, task: RunTask, row: dict[str, Any] | None) -> dict[str, Any] | None:
    """``row`` (``task``'s, as ``read_row`` read it) if its run ended ok and is whole, else None.

    A row is whole when it holds every field, the point's values and every output, and its run
    folder holds a manifest: a row file cut down by hand, or whose run folder was deleted,
    would have been skipped as done, its outputs null in the table.
    """
    if row is None or row["status"] != "ok":
        return None
    needed = [*ROW_FIELDS, *task.values, *(o.name for o in task.outputs)]
    if any(key not in row for key in needed):
        return None
    if not (folder / str(row["run_dir"]) / "manifest.json").is_file():
        return None
    return row


def _write_row(path: Path, row: dict[str, Any]) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(row, fh, default=str)

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, write)


def _row(task: RunTask, status: str, error: str | None, seconds: float | None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "run_id": task.run_id,
        "point": task.point,
        "replication": task.replication,
        "seed": task.seed,
        "status": status,
        "error": error,
        "seconds": seconds,
        "run_dir": f"runs/{task.run_id}",
    }
    row.update(task.values)
    row.update({o.name: None for o in task.outputs})  # set by a run that ends ok
    return row


def run_task(task: RunTask) -> dict[str, Any]:
    """Run one sweep run into ``runs/RUN_ID`` and write its row ``rows/RUN_ID.json``.

    The run writes into a hidden partial folder that is renamed into place when it ends, so a
    worker killed mid-run leaves no half-written run folder under the run's name, and a retried
    run replaces whatever an earlier attempt left. A run that raises is returned as a row with
    status ``failed`` and its error (the traceback goes to ``traceback.txt`` in its folder).
    """
    folder = Path(task.folder)
    row_path = folder / "rows" / f"{task.run_id}.json"
    done = done_row(folder, task)
    if done is not None:
        return done  # an earlier attempt finished; its worker died before it could say so
    runs = folder / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    for stale in runs.glob(f".{task.run_id}.partial-*"):
        shutil.rmtree(stale, ignore_errors=True)
    partial = runs / f".{task.run_id}.partial-{uuid.uuid4().hex[:8]}"
    t0 = time.perf_counter()
    try:
        sc = scenario_from_dict(task.scenario, f"sweep run {task.run_id}")
        result = run(sc, out=partial)
        # an output whose column this run lacks (a mechanism switched off at this point) is
        # null; check_outputs refused one that no point's run has
        outputs = {
            o.name: o.of(result.metrics) if o.column in result.metrics.column_names else None
            for o in task.outputs
        }
        row = _row(task, "ok", None, round(time.perf_counter() - t0, 3))
        row.update(outputs)
    except Exception as err:  # a failed run is data, not a crash
        row = _row(task, "failed", _one_line(err), round(time.perf_counter() - t0, 3))
        partial.mkdir(parents=True, exist_ok=True)
        (partial / "traceback.txt").write_text(traceback.format_exc())
    final = runs / task.run_id
    if final.exists():
        shutil.rmtree(final)
    os.replace(partial, final)
    _write_row(row_path, row)
    return row


def make_tasks(
    sweep: SweepFile,
    folder: Path,
    points: list[dict[str, Any]],
    prefix: str = "p",
    first: int = 0,
) -> list[RunTask]:
    """The runs of ``points`` times the replications, in design order, with their ids.

    Point ``i`` of the list is numbered ``first + i`` (its id ``{prefix}{number:05d}-r{rep:03d}``).

    Raises:
        SweepError: A point's values do not make a valid scenario together.
    """
    spec = sweep.spec
    swept_seed = any(p.path == "scenario.seed" for p in sweep.parameters)
    seeds = replication_seeds(spec.seed, spec.replications)
    if len(points) * spec.replications > MAX_RUNS:
        raise SweepError(
            f"{sweep.source}: {len(points) * spec.replications:,} runs; at most {MAX_RUNS:,}"
        )
    folder = Path(folder).resolve()
    tasks = []
    for i, values in enumerate(points, start=first):
        sc = apply(sweep.base, values, sweep.source)
        for r, seed in enumerate(seeds):
            run_sc = sc if swept_seed else sc.with_overrides(seed=seed)
            run_id = f"{prefix}{i:05d}-r{r:03d}"
            tasks.append(
                RunTask(
                    run_id=run_id,
                    scenario=run_sc.resolved(),
                    folder=str(folder),
                    point=i,
                    replication=r,
                    seed=run_sc.meta.seed,
                    values=values,
                    outputs=sweep.outputs,
                    key=_task_key(folder, run_id),
                )
            )
    return tasks


def _task_key(folder: Path, run_id: str) -> str:
    """A run's Dask key: its id under a digest of its (absolute) sweep folder."""
    return f"scslab-{hashlib.sha256(str(folder).encode()).hexdigest()[:10]}-{run_id}"


def retarget(tasks: list[RunTask], folder: Path) -> list[RunTask]:
    """``tasks`` made for a placeholder folder, moved into ``folder`` (made once they checked)."""
    folder = Path(folder).resolve()
    return [
        dataclasses.replace(t, folder=str(folder), key=_task_key(folder, t.run_id)) for t in tasks
    ]


# --------------------------------------------------------------------------- outputs


def metric_columns(sc: Scenario) -> set[str] | None:
    """The metric columns that runs of ``sc`` write (``day`` and ``date`` left out).

    Found by a one-day run of at most ``PROBE_PEOPLE`` of its people in this process (the
    columns depend on the mechanisms and their parameters, not on the size). None when that
    run fails: the sweep's own runs then say why.
    """
    small = sc.with_overrides(people=min(sc.meta.people, PROBE_PEOPLE), days=1, burn_in_days=0)
    try:
        columns = run(small).metrics.column_names
    except Exception:
        return None
    return set(columns) - {"day", "date"}


def _variants(sweep: SweepFile) -> Iterator[dict[str, Any]]:
    """The base with one swept parameter set, for each parameter and value (a range: its ends)."""
    for p in sweep.parameters:
        if p.values is not None:
            values: Iterable[Any] = p.values
        else:
            assert p.range is not None
            values = (p.at(0.0), p.at(1.0))
        for v in values:
            yield {p.path: v}


def check_outputs(sweep: SweepFile, where: str = "sweep.outputs") -> None:
    """Refuse an output whose column no run of the sweep writes, before anything runs.

    The columns are those of the base scenario (``metric_columns``); when an output's column is
    not among them, also those of the base with each swept value in turn (a parameter may turn
    a mechanism on), up to ``MAX_PROBES`` one-day runs. Nothing is refused when the base's
    small run fails.

    Raises:
        SweepError: One line naming the output and listing the columns there are.
    """
    if not sweep.outputs:
        return
    columns = metric_columns(sweep.base)
    if columns is None:
        return
    missing = [o for o in sweep.outputs if o.column not in columns]
    for values in itertools.islice(_variants(sweep), MAX_PROBES) if missing else ():
        try:
            variant = apply(sweep.base, values, sweep.source)
        except SweepError:
            continue
        columns |= metric_columns(variant) or set()
        missing = [o for o in missing if o.column not in columns]
        if not missing:
            return
    if not missing:
        return
    o = missing[0]
    near = difflib.get_close_matches(o.column, sorted(columns), n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    raise SweepError(
        f"{sweep.source}: {where}: {o.name!r}: {o.column!r} is not a metric column of "
        f"{sweep.base.meta.name}{hint}; its columns: {', '.join(sorted(columns))}"
    )


def check_points_set_up(
    sweep: SweepFile,
    tasks: list[RunTask],
    kind: str = "sweep",
    on_check: Callable[[int, int], None] | None = None,
) -> None:
    """Refuse a point whose mechanisms do not fit together, before anything runs.

    A point's values pass the scenario's validation (``apply``), but what mechanisms name of
    each other (the list a sanction reads, the score a list reads: ``Simulation.get``) is
    checked only where a simulation is set up, and a point that switched off what another
    mechanism reads failed as a run, after the sweep had started. Each point of ``tasks`` is set
    up here once, as its first run's scenario (``api.check_set_up``: at ``CHECK_PEOPLE`` of its
    people, and at its own if refused there; no day run). Any other error is left to the
    point's runs, which record it as they did.

    It takes 5-35 ms a point (``docs/sweeps.md``), minutes for a design of many thousands:
    ``on_check`` is called with (points checked, points to check) after each point, for a
    progress display.

    Raises:
        SweepError: One line naming the point, its values and the scenario's reason.
    """
    first_runs: dict[int, RunTask] = {}  # each point's first run, in the order of ``tasks``
    for task in tasks:
        first_runs.setdefault(task.point, task)
    for checked, task in enumerate(first_runs.values(), start=1):
        _check_point_set_up(sweep, task, kind)
        if on_check is not None:
            on_check(checked, len(first_runs))


def _check_point_set_up(sweep: SweepFile, task: RunTask, kind: str) -> None:
    """``check_points_set_up`` for one point, set up as ``task`` (its first run) is."""
    sc = scenario_from_dict(task.scenario, sweep.base.source)
    try:
        check_set_up(sc)
    except ScenarioError as err:
        values = ", ".join(
            f"{param_key(k)} = {json.dumps(v, default=str)}" for k, v in task.values.items()
        )  # a TOML date as its ISO text
        reason = str(err).removeprefix(f"{sc.source}: ")
        raise SweepError(
            f"{sweep.source}: {kind} point {task.point} ({values}) cannot run: {reason}"
        ) from None


# --------------------------------------------------------------------------- Dask


def max_workers() -> int:
    """The most local worker processes: ``WORKERS_PER_CORE`` per core this process may use."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return WORKERS_PER_CORE * max(1, cores)


def check_workers(workers: int | None, scheduler: str | None = None) -> None:
    """Refuse a number of local workers out of range, or any beside an existing ``scheduler``.

    The range is 1 to ``max_workers()``; an existing scheduler keeps its own workers.

    Raises:
        SweepError: One line naming ``--workers`` and what is allowed.
    """
    if workers is None:
        return
    if scheduler is not None:
        raise SweepError(
            "--workers: sets the local cluster's workers; an existing --scheduler keeps its own "
            "(give one of them)"
        )
    top = max_workers()
    if not 1 <= workers <= top:
        raise SweepError(
            f"--workers: {workers} is out of range; allowed: 1 to {top} "
            f"({WORKERS_PER_CORE} per core of this machine)"
        )


def check_no_workers_s(seconds: float) -> None:
    """Refuse a wait for workers that is not a number of seconds above 0.

    Raises:
        SweepError: One line naming ``--no-workers-timeout`` and what is allowed.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
        raise SweepError(
            f"--no-workers-timeout: {seconds!r} is not allowed; give seconds above 0 "
            f"(default {NO_WORKERS_S:g})"
        )


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise SweepError(EXTRA_HINT) from None
    return distributed


def dask_setup(worker: Any) -> None:
    """Preload of the local cluster's worker processes (``dask_client``): Ctrl-C stays quiet.

    A terminal's Ctrl-C reaches every process of the command, the workers too, whose
    ``KeyboardInterrupt`` tracebacks, and then their complaints about the scheduler going away,
    buried the command's one line. The command's own process handles it: it stops the runs in
    flight and closes the cluster, which ends the workers. Here a Ctrl-C only silences the
    worker's loggers; a worker starts with it ignored (``_ctrl_c_ignored``) until this runs.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, lambda signum, frame: _silence_logs())


QUIET_LOGGERS = ("distributed", "tornado", "asyncio")
"""The loggers of a cluster: silenced while an interrupted sweep shuts it down."""


def _silence_logs() -> None:
    """Silence the cluster's loggers in this process, and every logger under them."""
    names = [*QUIET_LOGGERS, *logging.root.manager.loggerDict]
    for name in names:
        if name.split(".")[0] in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)


@contextlib.contextmanager
def _ctrl_c_ignored() -> Iterator[None]:
    """Ignore Ctrl-C while the local cluster starts (a second or two): the workers inherit that.

    A Ctrl-C then reached worker processes still importing, whose tracebacks ``dask_setup``
    cannot silence yet, and left a half-started cluster that no one closed. Ignored, it is not
    held back either: one pressed during the start is lost, and the next one is taken. Only in
    the main thread (where Python takes it, and may set its handler).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_DFL if before is None else before)


def _local_client(distributed: Any, workers: int | None) -> tuple[Any, Any]:
    """A client on a new local cluster, and the cluster (see ``dask_client``)."""
    cluster = distributed.LocalCluster(
        n_workers=workers or os.cpu_count() or 1,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        # one thread a worker, and no compile helpers: the workers fill the cores
        env={"NUMBA_NUM_THREADS": "1", "SCSLAB_COMPILE_HELPERS": "0"},
        silence_logs=logging.ERROR,
        preload=[__name__],  # dask_setup: a worker leaves Ctrl-C to this process
    )
    try:
        return distributed.Client(cluster), cluster
    except BaseException:
        cluster.close()
        raise


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None) -> Iterator[Any]:
    """A Dask client on a local cluster, or on an existing cluster's ``scheduler``.

    The local cluster has a worker process per core (``workers``), each with one thread and one
    numba thread. It retries the run of a dead worker once (``allowed-failures = 1``) and gives
    each worker one run at a time (``worker-saturation = 1.0``), so that a worker's death counts
    against the run it was running only. An existing scheduler keeps its own settings. Ctrl-C
    (``KeyboardInterrupt``) closes the local cluster with its loggers silenced, and its workers
    print nothing (``dask_setup``): the command's one line is all that shows.

    Raises:
        SweepError: The extra is missing, ``workers`` is out of range (``check_workers``), or the
            scheduler cannot be reached.
    """
    check_workers(workers, scheduler)
    distributed = _distributed()
    import dask

    settings = {
        "distributed.scheduler.allowed-failures": 1,
        "distributed.scheduler.worker-saturation": 1.0,
    }
    client = cluster = None
    interrupted = False
    try:
        with dask.config.set(settings):
            if scheduler is not None:
                client = _remote_client(distributed, scheduler)
            else:
                with _ctrl_c_ignored():
                    client, cluster = _local_client(distributed, workers)
        yield client
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        if interrupted:
            _silence_logs()
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()


def _remote_client(distributed: Any, scheduler: str) -> Any:
    """A client on an existing cluster's scheduler.

    Raises:
        SweepError: The scheduler cannot be reached (one line with the address's form).
    """
    try:
        return distributed.Client(scheduler, timeout="10s")
    except (OSError, TimeoutError, ValueError, TypeError) as err:
        raise SweepError(
            f"--scheduler {scheduler}: cannot connect ({_one_line(err)}); give the "
            "address the scheduler prints, such as tcp://10.0.0.5:8786"
        ) from None


def execute(
    client: Any,
    tasks: Iterable[RunTask],
    fn: Callable[[RunTask], dict[str, Any]] = run_task,
    no_workers_s: float = NO_WORKERS_S,
) -> Iterator[dict[str, Any]]:
    """Run every task on Dask and yield each run's row as it finishes (in finishing order).

    At most one run per worker thread is in flight (re-counted as runs finish, so workers that
    join or leave an adaptive cluster are followed), so a worker that dies takes down the run it
    was running and no other. ``fn`` runs a task on a worker (``run_task``; tests pass one that
    kills its worker). A task whose function raises is retried once; one that still fails, or
    whose run killed a worker twice (``KilledWorker``), is yielded as a failed row, which is also
    written to ``rows/``.

    Raises:
        NoWorkers: The cluster had no worker for ``no_workers_s`` seconds in a row while runs
            were waiting (a cluster that lost every worker, or never had one). The rows yielded
            so far are written; the runs in flight are cancelled.
    """
    check_no_workers_s(no_workers_s)
    distributed = _distributed()
    waiting = iter(list(tasks))
    running: dict[Any, RunTask] = {}
    no_workers_since: float | None = None

    def submit() -> None:
        limit = max(1, sum(client.nthreads().values()))
        while len(running) < limit:
            task = next(waiting, None)
            if task is None:
                return
            future = client.submit(fn, task, key=task.key, retries=1, pure=False)
            running[future] = task

    try:
        submit()
        while running:
            try:
                done = distributed.wait(
                    list(running), timeout=min(POLL_S, no_workers_s), return_when="FIRST_COMPLETED"
                ).done
            except TimeoutError:
                done = set()
            if not done:
                if client.nthreads():
                    no_workers_since = None
                    continue
                now = time.monotonic()
                no_workers_since = now if no_workers_since is None else no_workers_since
                if now - no_workers_since >= no_workers_s:
                    left = len(running) + sum(1 for _ in waiting)
                    raise NoWorkers(
                        f"the cluster has had no worker for {no_workers_s:g} s; {left} "
                        f"{'run' if left == 1 else 'runs'} had not finished"
                    )
                continue
            no_workers_since = None
            for future in sorted(done, key=lambda f: running[f].key):
                task = running.pop(future)
                try:
                    row = future.result()
                except Exception as err:
                    row = _row(task, "failed", _one_line(err), None)
                    _write_row(Path(task.folder) / "rows" / f"{task.run_id}.json", row)
                future.release()
                submit()
                yield row
    finally:
        if running:
            client.cancel(list(running))


# --------------------------------------------------------------------------- the sweep folder


@dataclass
class SweepResult:
    """What a sweep produced: its folder and table, and how many runs ran or were skipped."""

    folder: Path
    table: pa.Table
    ran: int
    skipped: int
    """Runs already done in this folder by an earlier, interrupted sweep."""

    def counts(self) -> dict[str, int]:
        """Runs by status."""
        out: dict[str, int] = {}
        for s in self.table.column("status").to_pylist():
            out[s] = out.get(s, 0) + 1
        return out


def _digest(tasks: list[RunTask]) -> str:
    """What a sweep folder holds: its runs, their scenarios and outputs, and scslab's version."""
    blob = json.dumps(
        [__version__, *((t.run_id, t.scenario, [o.name for o in t.outputs]) for t in tasks)],
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def check_sweep_dir(folder: Path, digest: str | None = None, kind: str = "sweep") -> bool:
    """Whether ``folder`` resumes a sweep (True), is new or empty (False), or is refused.

    Raises:
        SweepError: The folder has files but is not this same sweep's folder, or cannot be made.
    """
    folder = Path(folder)
    why = cannot_create(folder)
    if why is not None:
        raise SweepError(why)
    if not folder.exists() or (folder.is_dir() and not any(folder.iterdir())):
        return False
    manifest = folder / "sweep.json"
    data = _read_json(manifest)
    if data is None or data.get("kind") != kind:
        raise SweepError(
            f"{folder}: already exists and is not a {kind} folder; choose another --out"
        )
    if digest is not None and data.get("digest") != digest:
        raise SweepError(
            f"{folder}: holds a different {kind} (another file, design or scslab version); "
            "choose another --out, or run the same file to resume it"
        )
    return True


def make_folder(folder: Path) -> None:
    """Make the checked ``folder`` (``check_sweep_dir``), or refuse it in one line.

    Raises:
        SweepError: It cannot be made after all (made impossible since the check: a disk
            unmounted, a quota reached).
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SweepError(f"{folder}: cannot be created ({err.strerror})") from None


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Atomically write a JSON file."""

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, default=str)
            fh.write("\n")

    atomic_write(path, write)


def table_of(tasks: list[RunTask], rows: dict[str, dict[str, Any]]) -> pa.Table:
    """The sweep table: a row per task in design order; runs without a row are ``pending``.

    A run's parameter values are its task's, as the design made them, not as its row file kept
    them (JSON keeps a date as text): a resumed sweep's table is the same as an uninterrupted
    one's. A column whose values are of two kinds (a field that takes a number or a word, such
    as ``gallery_size``) is written as text.
    """
    out = [(rows.get(t.run_id) or _row(t, "pending", None, None)) | t.values for t in tasks]
    columns = list(ROW_FIELDS)
    for r in out:
        columns += [k for k in r if k not in columns]
    return pa.table({c: _column([r.get(c) for r in out]) for c in columns})


def _column(values: list[Any]) -> pa.Array:
    """One column of the sweep table: its values' own type, or text where they mix kinds.

    Booleans among numbers count as numbers, ``True`` as 1 and ``False`` as 0, whichever comes
    first (Arrow alone refuses ``[True, 1]`` and takes ``[2.5, True]``): beside integers they
    make an integer column, beside a float a float column. Only booleans stay a boolean column;
    numbers beside words or dates are text.
    """
    try:
        return pa.array(_numbers_of(values))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())


def _numbers_of(values: list[Any]) -> list[Any]:
    """``values`` with booleans as the integers 1 and 0 where numbers are among them."""
    present = [v for v in values if v is not None]
    numbers = all(isinstance(v, int | float) for v in present)
    if not numbers or all(isinstance(v, bool) for v in present):
        return values
    return [int(v) if isinstance(v, bool) else v for v in values]


NewFolder = Callable[[], Path]
"""Makes and returns a new, empty folder: ``run_sweep`` and ``calibrate.run_calibration`` take
one as ``out`` (the CLI's default ``runs/KIND-FILE-TIMESTAMP``) and call it once every check has
passed, so that bad input leaves no folder behind."""


def prepare(
    sweep: SweepFile, folder: Path | None, points: list[dict[str, Any]], kind: str = "sweep"
) -> tuple[list[RunTask], str, bool]:
    """The tasks of ``points`` in ``folder``, their digest, and whether the folder resumes them.

    Creates nothing: every check (values, folder) happens before anything is written. ``folder``
    None: a folder not made yet (a ``NewFolder``), new by definition; the tasks are then for a
    placeholder, to ``retarget`` once it is made.
    """
    why = None if folder is None else cannot_create(folder)
    if why is not None:  # before the tasks resolve its path (a symbolic link in a loop)
        raise SweepError(why)
    tasks = make_tasks(sweep, Path() if folder is None else folder, points)
    digest = _digest(tasks)
    resumed = False if folder is None else check_sweep_dir(folder, digest, kind)
    return tasks, digest, resumed


def _done_rows(folder: Path, tasks: list[RunTask]) -> dict[str, dict[str, Any]]:
    """The rows of the ``tasks`` that ended ok in ``folder`` before (a resumed sweep skips them)."""
    rows = {}
    for t in tasks:
        done = done_row(folder, t)
        if done is not None:
            rows[t.run_id] = done
    return rows


def run_sweep(
    sweep: SweepFile,
    out: str | Path | NewFolder,
    *,
    client: Any = None,
    scheduler: str | None = None,
    workers: int | None = None,
    on_row: Callable[[int, int, dict[str, Any]], None] | None = None,
    on_check: Callable[[int, int], None] | None = None,
    fn: Callable[[RunTask], dict[str, Any]] = run_task,
    points: list[dict[str, Any]] | None = None,
    kind: str = "sweep",
    no_workers_s: float = NO_WORKERS_S,
) -> SweepResult:
    """Run a sweep into the folder ``out`` on Dask, resuming it if ``out`` holds it already.

    Args:
        sweep: The validated sweep file (``load_sweep``).
        out: The sweep folder: new, empty, or this sweep's folder from an interrupted run; or
            a function that makes a new one (``NewFolder``), called once every check passed.
        client: A Dask client to use (default: one made from ``scheduler`` and ``workers``).
        scheduler: The address of an existing Dask scheduler (default: a local cluster).
        workers: Worker processes of the local cluster (default: one per core).
        on_row: Called with (runs done, runs in all, the row) as each run finishes.
        on_check: Called with (points checked, points to check) as the points still to run are
            set up, before any run (``check_points_set_up``).
        fn: What runs a task on a worker (tests only).
        points: The design's points (default: the file's design); ``scslab sensitivity`` gives
            SALib's.
        kind: What the folder holds (``sweep``, ``sensitivity``), checked when resuming.
        no_workers_s: How long the cluster may have no worker while runs wait (``execute``).

    Raises:
        SweepError: The design, the folder, an output, the extra or the scheduler cannot be used
            (nothing is written then, and a ``NewFolder`` is not called).
        NoWorkers: The cluster had no worker for ``no_workers_s`` seconds; the folder keeps the
            runs that finished, with status ``incomplete``, and the same call resumes it.
    """
    check_no_workers_s(no_workers_s)
    make = out if callable(out) else None
    folder = None if callable(out) else Path(out)
    points = design_points(sweep) if points is None else points
    tasks, digest, _ = prepare(sweep, folder, points, kind)
    if client is None:
        check_workers(workers)
        _distributed()
    rows = {} if folder is None else _done_rows(folder, tasks)
    skipped = len(rows)
    todo = [t for t in tasks if t.run_id not in rows]
    check_points_set_up(sweep, todo, kind, on_check)  # before a cluster starts (a queue's jobs)
    manifest = {
        "kind": kind,
        "status": "running",
        "file": sweep.source,
        "base_scenario": sweep.spec.scenario,
        "design": sweep.spec.design if kind == "sweep" else kind,
        "points": len(points),
        "replications": sweep.spec.replications,
        "runs": len(tasks),
        "seed": sweep.spec.seed,
        "parameters": [p.path for p in sweep.parameters],
        "outputs": [o.name for o in sweep.outputs],
        "digest": digest,
        "scslab_version": __version__,
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    before = _read_json(folder / "sweep.json") if folder is not None and rows else None
    if before is not None and isinstance(before.get("started"), str):
        manifest["started"] = before["started"]  # a resumed sweep started when it first did
    idle = not todo and make is None  # every run done: no cluster to start
    ctx = (
        contextlib.nullcontext(client)
        if client is not None or idle
        else dask_client(scheduler, workers)
    )
    status, written = "incomplete", None
    try:
        with ctx as c:  # connect (or start the cluster) before the folder is made
            if todo:
                check_outputs(sweep, f"{kind}.outputs")
            if make is not None:  # every check passed: the new folder now
                folder = make()
                tasks = todo = retarget(tasks, folder)  # a new folder has no run done
            assert folder is not None
            make_folder(folder)
            write_json(folder / "sweep.json", manifest)
            written = folder
            if on_row is not None and skipped:
                on_row(skipped, len(tasks), {})
            for row in execute(c, todo, fn, no_workers_s) if todo else ():
                rows[row["run_id"]] = row
                if on_row is not None:
                    on_row(len(rows), len(tasks), row)
            status = "complete"
    finally:  # after the cluster closed: a run in flight may have finished while it did
        if written is not None:
            if status != "complete":
                rows = _done_rows(written, tasks) | rows
            table = table_of(tasks, rows)
            write_table(written, "sweep", table)
            counts: dict[str, int] = {}
            for s in table.column("status").to_pylist():
                counts[s] = counts.get(s, 0) + 1
            manifest |= {
                "status": status,
                "counts": counts,
                "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            }
            write_json(written / "sweep.json", manifest)
    assert folder is not None
    return SweepResult(folder, table, len(todo), skipped)
