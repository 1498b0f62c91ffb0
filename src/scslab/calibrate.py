"""Calibration: Optuna searches declared parameters against published figures.

A calibration file is a sweep file (``scslab.sweep``) whose parameters are ranges (or lists of
choices), with a ``[calibrate]`` table::

    [calibrate]
    targets = ["persons_ever_listed", "flight_purchases_blocked"]   # quantities of the data
    data = "blacklist_court_defaulters.csv"   # a file of data/calibration/, or a path
    until = 2018-12-31                        # the last row fitted (default: the run's end)
    trials = 40                               # Optuna trials
    batch = 4                                 # trials run at once (asked together)
    sampler = "tpe"                           # tpe (seeded by [sweep] seed) or random

The rows fitted are the data's cumulative rows of the target quantities dated after the
scenario's first day (day 0 is the initial state, which no parameter moves) and up to ``until``,
which may not be after the run's last day (rows past it would be left out unseen). A figure
given twice for one quantity and date (two sources citing it) is fitted once; two different
figures for one quantity and date among the rows fitted are refused, naming both.
A target is compared with the metric column of the same name on the row's date, in
real-population units (``[sweep] scale``). The loss of a trial is::

    loss = sum over rows of ((model - published) / published) ** 2

where ``model`` is the mean over the trial's replications (common seeds, as in a sweep). Each
trial's runs go through the sweep engine (``sweep.execute``: Dask, a run folder per run, a row
per run, a failed run recorded as data and its trial told to Optuna as failed).

Run again into the same folder, a calibration resumes if it is the same file, its number of
trials aside, and the same scslab version (``calibration_digest``), and is refused otherwise:
the trials stored in ``calibration.parquet`` are asked again in their order, checked to be the
same values, and told their stored results without running, so that the sampler asks next what
an uninterrupted calibration asks; a trial cut short reuses its runs already finished; then the
trials up to ``trials`` run. A finished calibration run again runs nothing.

The folder gets ``sweep.parquet`` (every run), ``calibration.parquet`` (a row per trial:
values, loss, model value per row fitted), ``calibration.json`` (the data file as found:
``calibration/NAME`` for a shipped one, else its path; the loss function, the rows fitted,
the best values and loss, the seed, the sampler) and ``calibration.png``/``.svg`` (the best
trial's series beside the published points; needs the ``report`` extra's Altair and
vl-convert, which the ``calibrate`` extra installs). Needs the ``calibrate`` extra
(``pip install 'scslab[calibrate]'``). Owns the search and the loss; runs scenarios only through
the sweep engine.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, model_validator

from scslab.input_files import InputTooLargeError, read_input_text
from scslab.results import atomic_write, write_table
from scslab.sweep import (
    NO_WORKERS_S,
    NewFolder,
    Output,
    RunTask,
    SweepError,
    SweepFile,
    check_no_workers_s,
    check_outputs,
    check_sweep_dir,
    dask_client,
    execute,
    load_sweep,
    make_folder,
    make_tasks,
    missing_value,
    param_key,
    read_row,
    retarget,
    table_of,
    validate_table,
    whole_row,
    write_json,
)
from scslab.version import __version__

EXTRA_HINT = "scslab calibrate needs Optuna: pip install 'scslab[calibrate]'"

LOSS = "sum over rows of ((model - published) / published) ** 2"
"""The loss, as written into ``calibration.json``."""


class CalibrateError(SweepError):
    """A calibration that cannot run; the message is one line for the user."""


class NoTrialCompleted(CalibrateError):  # noqa: N818 (the runs ended; no trial came of them)
    """Every trial's runs ended, and are in the folder, but none gave a loss.

    Not bad input refused before anything was written: the command line exits with status 1.
    """


class CalibrateTable(BaseModel):
    """The ``[calibrate]`` table."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)

    targets: list[str] = Field(min_length=1, description="Quantities of the data to fit.")
    data: str = Field(
        default="blacklist_court_defaulters.csv",
        description="A file of scslab/data/calibration/, or a CSV path relative to the file.",
    )
    from_: dt.date | None = Field(default=None, alias="from", strict=False)
    until: dt.date | None = Field(default=None, strict=False)
    trials: int = Field(default=40, ge=1, le=10_000)
    batch: int = Field(default=4, ge=1, le=1024, description="Trials asked and run at once.")
    sampler: Literal["tpe", "random"] = "tpe"
    startup: int = Field(default=10, ge=1, le=10_000, description="TPE's random first trials.")

    @model_validator(mode="after")
    def _used(self) -> CalibrateTable:
        """Refuse a target named twice (counted twice in the loss), or a setting unused.

        ``startup`` is TPE's; the random sampler would ignore it.
        """
        twice = sorted({t for t in self.targets if self.targets.count(t) > 1})
        if twice:
            raise ValueError(f"targets: {', '.join(twice)} named twice")
        if self.sampler == "random" and "startup" in self.model_fields_set:
            raise ValueError("startup is TPE's random first trials; sampler random has none")
        return self


@dataclass(frozen=True)
class Row:
    """A published figure fitted: its date, quantity and value, and the day it falls on."""

    as_of: dt.date
    quantity: str
    value: float
    day: int
    source: str

    @property
    def name(self) -> str:
        """Its output column in the tables: ``quantity@date``."""
        return f"{self.quantity}@{self.as_of.isoformat()}"


@dataclass
class Calibration:
    """The trials, the best of them, and where they were written."""

    folder: Path
    rows: list[Row]
    trials: pa.Table
    best: dict[str, Any]
    """``trial``, ``loss``, ``values`` (parameter path -> value), ``model`` (row -> value)."""
    chart: bool
    """Whether the chart was drawn (it needs Altair and vl-convert)."""
    data: str = "calibration/blacklist_court_defaulters.csv"
    """The calibration file fitted: ``calibration/NAME`` for a shipped one, else its path."""
    resumed: int = 0
    """Trials done by an earlier run into the same folder, replayed rather than run."""

    def lines(self) -> list[str]:
        """The fit as plain text: best values, loss, and each row fitted."""
        b = self.best
        ok = sum(1 for s in self.trials.column("state").to_pylist() if s == "complete")
        out = [
            f"scslab calibrate: {self.trials.num_rows} trials ({ok} complete"
            + (f", {self.resumed} done before, not run again" if self.resumed else "")
            + f"); best trial "
            f"{b['trial']}, loss {b['loss']:.6g} ({LOSS})",
            "  fitted values:",
            *(f"    {k} = {v!r}" for k, v in b["values"].items()),
            f"  {'date':<12} {'quantity':<32} {'published':>14} {'model':>14} {'rel. error':>10}",
        ]
        for r in self.rows:
            m = b["model"][r.name]
            out.append(
                f"  {r.as_of.isoformat():<12} {r.quantity:<32} {r.value:>14,.0f} {m:>14,.0f} "
                f"{(m - r.value) / r.value:>+10.1%}"
            )
        return out


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise CalibrateError(EXTRA_HINT) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def data_file(name: str, folder: Path) -> tuple[Any, str] | None:
    """Where ``calibrate.data`` is, and the name to show; None when it is nowhere.

    A file beside the calibration file first, else the shipped ``calibration/NAME``.
    """
    local = folder / name
    if local.is_file():
        return local, str(local)
    packaged = resources.files("scslab.data").joinpath("calibration", name)
    return (packaged, f"calibration/{name}") if packaged.is_file() else None


def data_name(name: str, folder: Path) -> str:
    """How the header and ``calibration.json`` name ``calibrate.data``: as ``data_file`` found it.

    The path of a file beside the calibration file (even one named like a shipped file), else
    ``calibration/NAME``; ``name`` itself when it is nowhere (``read_data`` refuses it then).
    """
    found = data_file(name, folder)
    return found[1] if found is not None else name


def read_data(name: str, folder: Path, source: str) -> tuple[list[dict[str, str]], str]:
    """The rows of a calibration CSV (a file of ``data/calibration`` or a path), and its name."""
    found = data_file(name, folder)
    try:
        if found is not None:
            text, where = read_input_text(found[0], "calibration table"), found[1]
        else:
            shipped = sorted(
                p.name
                for p in resources.files("scslab.data").joinpath("calibration").iterdir()
                if p.name.endswith(".csv")
            )
            raise CalibrateError(
                f"{source}: calibrate.data: {name}: no such file here or in data/calibration "
                f"(shipped: {', '.join(shipped)})"
            )
    except InputTooLargeError as err:
        raise CalibrateError(f"{source}: calibrate.data: {err}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise CalibrateError(f"{source}: calibrate.data: {name}: cannot be read ({err})") from None
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or not {"as_of", "quantity", "value"} <= set(rows[0]):
        raise CalibrateError(
            f"{source}: calibrate.data: {name}: needs the columns as_of, quantity, value"
        )
    for i, row in enumerate(rows, start=1):
        if None in row or None in row.values():  # csv's marks of too many or too few fields
            more = "more" if None in row else "fewer"
            raise CalibrateError(
                f"{source}: calibrate.data: {name}: row {i} has {more} fields than the header"
            )
    return rows, where


def rows_fitted(sweep: SweepFile, table: CalibrateTable, folder: Path) -> list[Row]:
    """The published rows the calibration fits (see the module docstring).

    Raises:
        CalibrateError: A target is not a cumulative quantity of the data, or no row is left.
    """
    data, where = read_data(table.data, folder, sweep.source)
    meta = sweep.base.meta
    cumulative = sorted(
        {r["quantity"] for r in data if r.get("kind", "cumulative") == "cumulative"}
    )
    for target in table.targets:
        if target not in cumulative:
            allowed = (
                f"allowed: {', '.join(cumulative)}"
                if cumulative
                else "it has none (a row whose kind is cumulative, or a table without a kind "
                "column)"
            )
            raise CalibrateError(
                f"{sweep.source}: calibrate.targets: {target!r} is not a cumulative quantity of "
                f"{where}; {allowed}"
            )
    if table.from_ is not None and table.from_ <= meta.start_date:
        raise CalibrateError(
            f"{sweep.source}: calibrate.from: {table.from_} is not after the scenario's start "
            f"{meta.start_date}; rows are fitted from the day after it on (leave from out for "
            "that)"
        )
    first = table.from_ or meta.start_date + dt.timedelta(days=1)
    last_day = meta.start_date + dt.timedelta(days=meta.days - 1)
    if table.until is not None and table.until > last_day:
        raise CalibrateError(
            f"{sweep.source}: calibrate.until: {table.until} is after the run's last day "
            f"{last_day}; the rows after it would be left out of the fit (run more days: the "
            "sweep's until or days, or leave until out to fit up to the run's end)"
        )
    last = table.until or last_day
    if table.from_ and table.until and table.from_ > table.until:
        raise CalibrateError(
            f"{sweep.source}: calibrate: from {table.from_} is after until {table.until}"
        )
    rows = []
    zeros = []
    seen: dict[tuple[str, str], str] = {}
    for r in data:
        if r["quantity"] not in table.targets or r.get("kind", "cumulative") != "cumulative":
            continue
        try:
            as_of, value = dt.date.fromisoformat(r["as_of"]), float(r["value"])
            if not math.isfinite(value):
                raise ValueError(value)
        except ValueError:
            raise CalibrateError(
                f"{where}: row {r['as_of']} {r['quantity']}: not a date and a number"
            ) from None
        if not first <= as_of <= last:  # not fitted: whatever it says cannot matter
            continue
        key = (as_of.isoformat(), r["quantity"])
        if key in seen:  # the same figure twice (two sources citing it) is fitted once
            if float(seen[key]) != value:
                raise CalibrateError(
                    f"{where}: {r['quantity']} on {as_of} is given twice, {seen[key]} and "
                    f"{r['value']}; keep the one to fit (or give the other another quantity name)"
                )
            continue
        seen[key] = r["value"]
        if value > 0:
            day = (as_of - meta.start_date).days
            rows.append(Row(as_of, r["quantity"], value, day, r.get("source", "")))
        else:
            zeros.append(f"{r['as_of']} {r['quantity']}")
    if not rows:
        why = (
            f" (rows of value 0 or less, which a relative error cannot fit: {', '.join(zeros)})"
            if zeros
            else ""
        )
        raise CalibrateError(
            f"{sweep.source}: calibrate: no row of {where} for {', '.join(table.targets)} "
            f"between {first} and {last}{why}; set from/until or the run's days"
        )
    return sorted(rows, key=lambda r: (r.quantity, r.as_of))


def _suggest(trial: Any, sweep: SweepFile) -> dict[str, Any]:
    values = {}
    for p in sweep.parameters:
        if p.values is not None:
            values[p.path] = trial.suggest_categorical(p.path, list(p.values))
        elif p.integer:
            assert p.range is not None
            values[p.path] = trial.suggest_int(
                p.path, int(p.range.low), int(p.range.high), log=p.range.log
            )
        else:
            assert p.range is not None
            values[p.path] = trial.suggest_float(p.path, p.range.low, p.range.high, log=p.range.log)
    return values


def loss_of(rows: list[Row], model: dict[str, float]) -> float:
    """The loss of model values (by row name) against the published rows."""
    return float(sum(((model[r.name] - r.value) / r.value) ** 2 for r in rows))


def run_calibration(
    sweep: SweepFile | str | Path,
    out: str | Path | NewFolder,
    *,
    client: Any = None,
    scheduler: str | None = None,
    workers: int | None = None,
    on_trial: Callable[[int, int, dict[str, Any]], None] | None = None,
    no_workers_s: float = NO_WORKERS_S,
) -> Calibration:
    """Search the parameters with Optuna, each trial's runs on the sweep engine, into ``out``.

    Args:
        sweep: The calibration file (or its path).
        out: A new or empty folder, or the folder of an earlier run of the same file, which
            resumes it: its stored trials are replayed to the sampler, not run again; or a
            function that makes a new folder (``sweep.NewFolder``), called once every check
            passed.
        client: A Dask client (default: one from ``scheduler`` and ``workers``).
        scheduler: The address of an existing Dask scheduler (default: a local cluster).
        workers: Worker processes of the local cluster (default: one per core).
        on_trial: Called with (trials done, trials in all, the trial's row) after each trial.
        no_workers_s: How long the cluster may have no worker while runs wait
            (``sweep.execute``, which raises ``NoWorkers``; the folder resumes).

    Raises:
        CalibrateError: The file, the data, the extra or the folder (one holding another
            calibration) cannot be used (nothing is written then, and a ``NewFolder`` is not
            called).
    """
    check_no_workers_s(no_workers_s)
    if not isinstance(sweep, SweepFile):
        sweep = load_sweep(sweep, kind="calibrate")
    table = validate_table(sweep.source, "calibrate", CalibrateTable, sweep.tables.get("calibrate"))
    rows = rows_fitted(sweep, table, sweep.home)
    where = data_name(table.data, sweep.home)
    outputs = tuple(Output(r.quantity, "at", r.day, r.name) for r in rows)
    sweep = dataclasses.replace(sweep, outputs=outputs)
    check_outputs(sweep, "calibrate.targets")  # a target no run writes: before any trial
    if not sweep.parameters:
        raise CalibrateError(f"{sweep.source}: parameters: calibrate needs parameters to search")
    for p in sweep.parameters:
        if p.values is not None and any(isinstance(v, list | dict) for v in p.values):
            raise CalibrateError(
                f"{sweep.source}: {param_key(p.path)}: Optuna chooses among numbers, strings and "
                "booleans, not lists"
            )
    optuna = _optuna()
    make = out if callable(out) else None
    folder = Path() if callable(out) else Path(out)  # a placeholder until ``make`` makes it
    digest = calibration_digest(sweep, table, rows)
    resumed = make is None and check_sweep_dir(folder, digest, kind="calibration")
    stored = _stored_trials(folder) if resumed else []
    goal = max(table.trials, len(stored))  # a folder never loses the trials it holds
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    if resumed:
        started = json.loads((folder / "sweep.json").read_text()).get("started", started)
    seed = sweep.spec.seed
    sampler = (
        optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=table.startup, constant_liar=table.batch > 1
        )
        if table.sampler == "tpe"
        else optuna.samplers.RandomSampler(seed=seed)
    )
    study = optuna.create_study(direction="minimize", sampler=sampler)
    manifest: dict[str, Any] = {
        "kind": "calibration",
        "status": "running",
        "file": sweep.source,
        "base_scenario": sweep.spec.scenario,
        "scenario": {
            "people": sweep.base.meta.people,
            "days": sweep.base.meta.days,
            "start_date": sweep.base.meta.start_date,
            "scale": sweep.base.meta.scale,
        },
        "data": where,
        "targets": table.targets,
        "loss": LOSS,
        "rows_fitted": [
            {"as_of": r.as_of, "quantity": r.quantity, "published": r.value, "source": r.source}
            for r in rows
        ],
        "parameters": {
            p.path: (
                {"low": p.range.low, "high": p.range.high, "log": p.range.log}
                if p.range is not None
                else list(p.values or ())
            )
            for p in sweep.parameters
        },
        "trials": goal,
        "trials_resumed": len(stored),
        "batch": table.batch,
        "replications": sweep.spec.replications,
        "sampler": table.sampler,
        "seed": seed,
        "digest": digest,
        "scslab_version": __version__,
        "started": started,
    }
    trial_rows: list[dict[str, Any]] = []
    all_tasks: list[RunTask] = []
    run_rows: dict[str, dict[str, Any]] = {}

    def ask() -> tuple[list[Any], list[dict[str, Any]], list[RunTask]]:
        k = min(table.batch, goal - len(trial_rows))
        asked = [study.ask() for _ in range(k)]
        points = [_suggest(t, sweep) for t in asked]
        tasks = []
        for t, values in zip(asked, points, strict=True):
            tasks += make_tasks(sweep, folder, [values], prefix="t", first=t.number)
        all_tasks.extend(tasks)
        return asked, points, tasks

    def tell(asked: list[Any], points: list[dict[str, Any]], by_trial: dict[int, list]) -> None:
        for t, values in zip(asked, points, strict=True):
            if t.number < len(stored):
                trial_rows.append(_retell(study, t, stored[t.number]))
            else:
                trial_rows.append(_tell(study, t, values, by_trial[t.number], rows))
            if on_trial is not None:
                on_trial(len(trial_rows), goal, trial_rows[-1])

    # Replay the trials an earlier run of this file left in the folder, before anything starts:
    # the sampler, seeded alike, asks them again in the same order and is told their stored
    # results, so that the trials after them are those an uninterrupted calibration asks.
    pending = None
    while len(trial_rows) < goal:
        asked, points, tasks = ask()
        _check_replay(folder, stored, asked, points)
        for task in tasks:
            if task.point >= len(stored):
                continue
            row = read_row(folder / "rows" / f"{task.run_id}.json")
            if row is not None:
                run_rows[task.run_id] = row
        if asked[-1].number >= len(stored):
            pending = (asked, points, tasks)
            break
        tell(asked, points, {})
    if pending is None:  # every trial is stored: nothing runs
        ctx: Any = contextlib.nullcontext(None)
    elif client is None:
        ctx = dask_client(scheduler, workers)
    else:
        ctx = contextlib.nullcontext(client)
    status, written = "incomplete", False
    try:
        with ctx as c:
            if make is not None:  # every check passed: the new folder now
                folder = make()
                all_tasks[:] = retarget(all_tasks, folder)
                if pending is not None:
                    pending = (pending[0], pending[1], retarget(pending[2], folder))
            make_folder(folder)
            write_json(folder / "sweep.json", manifest)
            written = True
            try:
                while pending is not None or len(trial_rows) < goal:
                    asked, points, tasks = pending or ask()
                    pending = None
                    by_trial: dict[int, list[dict[str, Any]]] = {t.number: [] for t in asked}
                    todo = []
                    for task in tasks:
                        if task.point < len(stored):
                            continue  # a stored trial: told from the table, its runs not run
                        row = _finished_row(folder, task)
                        if row is None:
                            todo.append(task)
                        else:  # finished before an interruption
                            run_rows[task.run_id] = row
                            by_trial[task.point].append(row)
                    for row in execute(c, todo, no_workers_s=no_workers_s) if todo else ():
                        run_rows[row["run_id"]] = row
                        by_trial[row["point"]].append(row)
                    tell(asked, points, by_trial)
                    _write_trials(folder, trial_rows)
                status = "complete"
            finally:
                trials = _write_trials(folder, trial_rows)
                best = _best(trial_rows, rows, [p.path for p in sweep.parameters])
                manifest |= {
                    "status": status,
                    "best": best,
                    "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                }
                write_json(folder / "sweep.json", manifest)
                write_json(folder / "calibration.json", manifest)
    finally:  # the runs' table once the cluster closed: a run in flight may have ended as it did
        if written:
            for task in all_tasks if status != "complete" else ():
                if task.run_id not in run_rows and (row := _finished_row(folder, task)):
                    run_rows[task.run_id] = row
            write_table(folder, "sweep", table_of(all_tasks, run_rows))
    if not best:
        raise NoTrialCompleted(
            f"no trial completed (first error: {_first_error(run_rows)}); see "
            f"{folder}/sweep.parquet"
        )
    chart = write_chart(folder, rows, best, sweep)
    return Calibration(folder, rows, trials, best, chart, where, len(stored))


def calibration_digest(sweep: SweepFile, table: CalibrateTable, rows: list[Row]) -> str:
    """What a calibration's trials depend on, hashed: all of the file but its number of trials."""
    what = {
        "scenario": sweep.base.resolved(),
        "parameters": [
            (p.path, p.values, p.range.model_dump() if p.range else None, p.integer)
            for p in sweep.parameters
        ],
        "rows": [(r.as_of, r.quantity, r.value, r.day) for r in rows],
        "calibrate": table.model_dump(exclude={"trials", "data"}),
        "replications": sweep.spec.replications,
        "seed": sweep.spec.seed,
        "scslab_version": __version__,
    }
    return hashlib.sha256(json.dumps(what, default=str, sort_keys=True).encode()).hexdigest()


def _stored_trials(folder: Path) -> list[dict[str, Any]]:
    """The trials in ``calibration.parquet`` of a calibration folder, by number (none: [])."""
    path = folder / "calibration.parquet"
    if not path.exists():
        return []
    try:
        if not path.is_file():
            raise ValueError("not a file")
        stored = pq.read_table(path).to_pylist()
    except (OSError, ValueError) as err:
        why = " ".join(str(err).split())
        raise CalibrateError(f"{path}: cannot be read ({why}); choose another --out") from None
    if [t.get("trial") for t in stored] != list(range(len(stored))):
        raise CalibrateError(f"{path}: its trials are not numbered 0, 1, ...; choose another --out")
    for t in stored:
        loss = t.get("loss")
        if t.get("state") == "failed" or (
            t.get("state") == "complete" and isinstance(loss, float) and math.isfinite(loss)
        ):
            continue
        raise CalibrateError(
            f"{path}: trial {t['trial']} has no state and loss to resume from; choose another --out"
        )
    return stored


def _check_replay(
    folder: Path, stored: list[dict[str, Any]], asked: list[Any], points: list[dict[str, Any]]
) -> None:
    """Refuse a resume whose sampler asks other values than the stored trials hold."""
    for t, values in zip(asked, points, strict=True):
        if t.number < len(stored) and any(stored[t.number].get(k) != v for k, v in values.items()):
            raise CalibrateError(
                f"{folder}: trial {t.number} is asked with other values than it holds (another "
                "Optuna version?); choose another --out"
            )


def _retell(study: Any, trial: Any, record: dict[str, Any]) -> dict[str, Any]:
    """Tell the sampler a stored trial's result (its loss, or that it failed)."""
    import optuna

    if record["state"] == "complete":
        study.tell(trial, record["loss"])
    else:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
    return record


def _finished_row(folder: Path, task: RunTask) -> dict[str, Any] | None:
    """The ok row of a run finished before an interruption, with this task's seed and values.

    An ok row of other values (an earlier attempt asked others) is removed, so that the run
    runs again rather than ``run_task`` returning it.
    """
    path = folder / "rows" / f"{task.run_id}.json"
    row = read_row(path)
    if row is None or row["status"] != "ok":
        return None
    if row.get("seed") == task.seed and all(row.get(k) == v for k, v in task.values.items()):
        return whole_row(folder, task, row)  # None where part of it is gone: it runs again
    path.unlink(missing_ok=True)
    return None


def _first_error(run_rows: dict[str, dict[str, Any]]) -> str:
    for r in run_rows.values():
        if r["status"] != "ok":
            return f"{r['run_id']}: {r['error']}"
    return "none"


def _tell(
    study: Any, trial: Any, values: dict[str, Any], runs: list[dict[str, Any]], rows: list[Row]
) -> dict[str, Any]:
    import optuna

    record: dict[str, Any] = {"trial": trial.number, **values}
    failed = [r for r in runs if r["status"] != "ok"]
    blank = [r.name for r in rows if any(missing_value(run.get(r.name)) for run in runs)]
    if failed or not runs or blank:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        why = (
            failed[0]["error"]
            if failed
            else f"no value of {blank[0]}: this trial's runs do not write it on its day (or "
            "its mechanism did not run that day)"
            if blank
            else "no run"
        )
        record |= {"state": "failed", "loss": math.nan, "error": why}
        record |= {r.name: math.nan for r in rows}
        return record
    model = {r.name: sum(run[r.name] for run in runs) / len(runs) for r in rows}
    loss = loss_of(rows, model)
    study.tell(trial, loss)
    record |= {"state": "complete", "loss": loss, "error": None, **model}
    return record


def _write_trials(folder: Path, trial_rows: list[dict[str, Any]]) -> pa.Table:
    table = (
        pa.Table.from_pylist(trial_rows)
        if trial_rows
        else pa.table({"trial": pa.array([], pa.int64())})
    )
    write_table(folder, "calibration", table)
    return table


def _best(trial_rows: list[dict[str, Any]], rows: list[Row], paths: list[str]) -> dict[str, Any]:
    done = [t for t in trial_rows if t["state"] == "complete" and not missing_value(t["loss"])]
    if not done:
        return {}
    b = min(done, key=lambda t: t["loss"])
    return {
        "trial": b["trial"],
        "loss": b["loss"],
        "values": {k: b[k] for k in paths},
        "model": {r.name: b[r.name] for r in rows},
    }


def write_chart(folder: Path, rows: list[Row], best: dict[str, Any], sweep: SweepFile) -> bool:
    """Draw the best trial's series beside the published points (``calibration.png``/``.svg``).

    Returns False (and draws nothing) without Altair and vl-convert.
    """
    quantities = sorted({r.quantity for r in rows})
    tables = [
        pq.read_table(run_dir / "metrics.parquet", columns=["day", *quantities])
        for run_dir in sorted((folder / "runs").glob(f"t{best['trial']:05d}-r*"))
    ]
    title = (
        f"{sweep.base.meta.name}: best trial {best['trial']} (loss {best['loss']:.4g}) "
        "beside the published figures"
    )
    return write_fit_chart(
        folder / "calibration", rows, tables, sweep.base.meta.start_date, title, "best trial"
    )


def write_fit_chart(
    stem: Path, rows: list[Row], runs: list[Any], start: dt.date, title: str, label: str
) -> bool:
    """Draw the mean over ``runs``, weekly, beside the published points of ``rows``.

    ``runs`` are metric tables with ``day`` and the rows' quantities; the chart is written to
    ``STEM.png``, ``STEM.svg`` and ``STEM.vl.json``.

    Used by ``scslab calibrate`` (the best trial's replications) and by
    ``benchmarks/calibration_check.py`` (the shipped preset over many seeds). Returns False (and
    draws nothing) without Altair and vl-convert.
    """
    try:
        import altair as alt
        import vl_convert as vlc
    except ImportError:
        return False
    quantities = sorted({r.quantity for r in rows})
    series: dict[str, dict[int, list[float]]] = {q: {} for q in quantities}
    for metrics in runs:
        days = metrics.column("day").to_pylist()
        for q in quantities:
            for d, v in zip(days, metrics.column(q).to_pylist(), strict=True):
                if (d % 7 == 0 or d == days[-1]) and not missing_value(v):  # null: not running
                    series[q].setdefault(d, []).append(float(v))
    data = [
        {
            "date": (start + dt.timedelta(days=d)).isoformat(),
            "quantity": q,
            "value": sum(vs) / len(vs),
            "what": f"model ({label})",
        }
        for q in quantities
        for d, vs in sorted(series[q].items())
    ]
    data += [
        {"date": r.as_of.isoformat(), "quantity": r.quantity, "value": r.value, "what": "published"}
        for r in rows
    ]
    base = alt.Chart(alt.Data(values=data)).encode(
        x=alt.X("date:T", title=None),
        y=alt.Y("value:Q", title=None),
        color=alt.Color("what:N", title=None, legend=alt.Legend(orient="top")),
    )
    line = base.transform_filter(alt.datum.what != "published").mark_line()
    points = base.transform_filter(alt.datum.what == "published").mark_point(filled=True, size=60)
    chart = (
        alt.layer(line, points)
        .properties(width=320, height=200)
        .facet(facet=alt.Facet("quantity:N", title=None), columns=2)
        .resolve_scale(y="independent")
        .properties(title=title)
    )
    spec = chart.to_dict()
    for suffix, payload in (
        (".svg", vlc.vegalite_to_svg(spec).encode()),
        (".png", vlc.vegalite_to_png(spec, scale=2)),
        (".vl.json", json.dumps(spec).encode()),
    ):
        target = stem.with_name(stem.name + suffix)
        atomic_write(target, lambda tmp, p=payload: Path(tmp).write_bytes(p))
    return True


def preset_lines(calibration: Calibration) -> list[str]:
    """TOML comment and table lines recording the fit in a preset file."""
    b = calibration.best
    lines = [
        f"# Calibrated with scslab calibrate (scslab {__version__}): loss {b['loss']:.4g} "
        f"({LOSS}),",
        f"# fitted to the rows of {calibration.data}:",
        *(
            f"#   {r.as_of} {r.quantity} = {r.value:,.0f} (model {b['model'][r.name]:,.0f})"
            for r in calibration.rows
        ),
    ]
    lines.append("# set these values in the preset, each in its table:")
    tables: dict[str, list[str]] = {}
    for path, value in b["values"].items():
        parts = path.split(".")
        tables.setdefault(".".join(parts[:-1]), []).append(f"{parts[-1]} = {toml_value(value)}")
    for name, assignments in tables.items():
        lines += [f"[{name}]", *assignments]
    return lines


def toml_value(value: Any) -> str:
    """``value`` written as TOML: ``true``, ``2014-01-01``, ``"text"``, ``0.25``.

    Raises:
        TypeError: A value that is none of a boolean, number, date or text.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        if not -(2**63) <= int(value) < 2**63:
            raise TypeError(f"cannot write {value!r} as a TOML value: beyond 64 bits")
        return str(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)  # numpy's floats too
        if not math.isfinite(value):
            return "nan" if value != value else ("inf" if value > 0 else "-inf")
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string: JSON's escapes are TOML's
    raise TypeError(f"cannot write {value!r} as a TOML value")
