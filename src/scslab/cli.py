"""The ``scslab`` command: a thin layer over ``scslab.api``.

Every user error (bad scenario, bad flag, unusable output folder) is printed as one line on stderr
and exits with status 2; nothing else is written.

Owns the commands, their flags and help texts, the default output folders under ``runs/``, the exit
statuses (2 for a user error, 130 for Ctrl-C, 143 for SIGTERM, 1 for a sweep with a failed run) and
what each command prints. It runs no day and computes no result: each command calls ``scslab.api``
or a tool beside it (``sweep``, ``sensitivity``, ``calibrate``, ``compare``, ``query``, ``report``,
``ui``), which write the files. Of the file system it only makes output folders (and ``runs/`` above
them), and removes one it made that a refusal or Ctrl-C left empty.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import errno
import io
import json
import math
import os
import re
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from scslab import api
from scslab.engine.checkpoint import CHECKPOINT_FILE, CheckpointError
from scslab.engine.footprint import check_fits
from scslab.engine.simulation import plan_of
from scslab.errors import ScenarioError
from scslab.results import RunDirError, cannot_create, check_run_dir, read_manifest
from scslab.scenario import load_scenario, preset_names, scenario_schema
from scslab.version import __version__

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="scslab: a laboratory for social credit systems on synthetic populations.",
)
out = Console()
err = Console(stderr=True)


def _print_version(wanted: bool) -> None:
    if wanted:
        out.print(f"scslab {__version__}", highlight=False)
        raise typer.Exit


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """scslab: a laboratory for social credit systems on synthetic populations."""


# Typer vendors click in recent releases: take its exception classes from Typer's own.
_ClickException = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


class UserError(Exception):
    """An error whose message is meant for the user (exit status 2)."""


class Interrupted(Exception):  # noqa: N818 (not an error: the user pressed Ctrl-C)
    """Ctrl-C during a command; the message says what it left behind (exit status 130).

    Not a ``KeyboardInterrupt``: Typer would turn that into a bare exit status.
    """


class Stopped(Exception):  # noqa: N818 (not bad input: the command could not go on)
    """A command stopped by what happened, not by its input (exit status 1); says what is kept."""


INTERRUPTED = 130
"""The exit status of a command stopped by Ctrl-C (128 + SIGINT), as shells use."""

TERMINATED = 143
"""The exit status of a command stopped by SIGTERM (128 + SIGTERM), as shells use."""


class Engine(enum.StrEnum):
    """Which loop runs the days (the same results either way)."""

    auto = "auto"
    compiled = "compiled"
    python = "python"


class _CountingProgress(Progress):
    """Rich's progress display whose tasks count ``unit`` unless an update names another."""

    def __init__(self, unit: str, quiet: bool) -> None:
        super().__init__(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[unit]}"),
            TimeRemainingColumn(),
            console=err,
            disable=quiet or not err.is_terminal,
            transient=True,
        )
        self.unit = unit

    def add_task(self, description: str, *args: Any, **fields: Any) -> TaskID:
        fields.setdefault("unit", self.unit)
        return super().add_task(description, *args, **fields)


def progress_bar(unit: str, quiet: bool) -> Progress:
    """A progress bar on stderr counting ``unit``; off with ``quiet`` or in a log or a pipe.

    An update may count something else for a while (``unit="points"``).
    """
    return _CountingProgress(unit, quiet)


def folder_path(value: str | Path) -> Path:
    """An ``--out`` folder, refused when empty (``Path("")`` is the current folder, silently).

    A leading ``~`` (quoted, so the shell left it) is the home folder, not a folder named ``~``.
    """
    if not str(value).strip():
        raise typer.BadParameter("an empty path; give a folder's path")
    return Path(value).expanduser()


def _load(spec: str):
    try:
        return load_scenario(spec)
    except ScenarioError as e:
        raise UserError(str(e)) from None


FOLDER_NAME_CHARS = 100
"""The longest scenario name a default run folder takes (a file name has at most 255 bytes, and
the folder adds a date, a seed and a number)."""


def folder_name(name: str) -> str:
    """``name`` as one folder's name: letters, digits, ``_`` and ``-`` (any other run: ``-``).

    A scenario's name is free text; a default run folder must stay under ``runs/`` whatever it
    holds (``../x``, ``/tmp/x``, a newline), and is cut to ``FOLDER_NAME_CHARS``.
    """
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")[:FOLDER_NAME_CHARS] or "scenario"


def new_folder(base: Path) -> Path:
    """Create and return the empty folder ``base``, or ``base-2``, ``base-3``... if it is taken.

    ``mkdir`` without ``exist_ok`` is atomic: two commands started in the same second (parallel
    runs) never get the same folder.
    """
    why = cannot_create(base)
    if why is not None:
        raise UserError(why)
    try:
        base.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"{base.parent}: cannot be created ({e.strerror}); choose --out") from None
    for n in range(1, 1000):
        path = base if n == 1 else base.with_name(f"{base.name}-{n}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        except OSError as e:
            raise UserError(f"{path}: cannot be created ({e.strerror}); choose --out") from None
        return path
    raise UserError(f"{base}: 999 folders of this name exist already; choose --out")


@contextlib.contextmanager
def dropped_if_left_empty(
    folder: Path, made: bool, parents_made: Iterable[Path] = ()
) -> Iterator[None]:
    """Remove ``folder`` if this command ``made`` it and a refusal or Ctrl-C left it empty.

    ``parents_made``, the folders above it that the command made too (``runs/``), deepest
    first, go the same way when left empty.
    """
    try:
        yield
    except BaseException:
        if made:
            for empty in (folder, *parents_made):
                with contextlib.suppress(OSError):
                    empty.rmdir()  # only an empty folder: never anything written into it
        raise


FLAGS = {
    "people": "--people",
    "days": "--days",
    "seed": "--seed",
    "scale": "--scale",
    "burn_in_days": "--burn-in",
}
"""The ``run`` flag that sets each ``[scenario]`` key."""


def _with_flags(sc, until: str | None, **values: int | None):
    """``sc`` with the run flags' values; an error names the flag (``--people: ...``)."""
    for key, value in values.items():
        if value is None:
            continue
        try:
            sc.with_overrides(**{key: value})
        except ScenarioError as e:
            marker = f"scenario.{key}: "
            if marker not in str(e):
                continue  # not this value alone: the combined check below says why
            detail = str(e).split(marker, 1)[1]
            if key == "days" and until is not None:
                raise UserError(f"--until: {until} makes {value:,} days; {detail}") from None
            raise UserError(f"{FLAGS[key]}: {detail}") from None
    try:
        return sc.with_overrides(**values)
    except ScenarioError as e:
        raise UserError(str(e)) from None


@app.command()
def run(
    scenario: Annotated[str, typer.Argument(help="A preset name or a scenario TOML file.")],
    people: Annotated[int | None, typer.Option(help="Number of synthetic people.")] = None,
    days: Annotated[int | None, typer.Option(help="Number of simulated days.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of every random stream.")] = None,
    scale: Annotated[
        int | None, typer.Option(help="Real people per simulated person (metrics in real units).")
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            parser=folder_path,
            help="Run folder (default: runs/NAME-TIMESTAMP-sSEED, -2, -3... if taken).",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
    until: Annotated[
        str | None,
        typer.Option(help="Last simulated date, YYYY-MM-DD (instead of --days)."),
    ] = None,
    burn_in: Annotated[
        int | None,
        typer.Option(
            "--burn-in",
            help="Days before the start date whose records every score starts from "
            "(the scenario's burn_in_days; 0: scores start fresh).",
        ),
    ] = None,
    engine: Annotated[
        Engine,
        typer.Option(
            help="The compiled day plan (compiled for these mechanisms if it is not yet), the "
            "Python loop, or (auto) the plan when it is compiled already and the loop "
            "otherwise; the results are the same."
        ),
    ] = Engine.auto,
    checkpoint_every: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Write a checkpoint into the run folder every this many days; "
            "'scslab resume RUN' finishes an interrupted run from it.",
        ),
    ] = None,
) -> None:
    """Run a scenario and print a summary; results go to a run folder."""
    sc = _load(scenario)
    if until is not None:
        days = _days_until(until, days, sc.meta.start_date)
    sc = _with_flags(
        sc, until, people=people, days=days, seed=seed, scale=scale, burn_in_days=burn_in
    )
    try:  # before the progress bar: a refusal is the only line printed
        if out_dir is not None:
            check_run_dir(out_dir)
        check_fits(sc)
    except (ScenarioError, RunDirError) as e:
        raise UserError(str(e)) from None
    made, parents_made = out_dir is None, []
    if out_dir is None:  # NAME-TIMESTAMP-sSEED, and -2, -3... when parallel runs share them
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        base = Path("runs") / f"{folder_name(sc.meta.name)}-{stamp}-s{sc.meta.seed}"
        parents_made = [p for p in base.parents if not p.exists()]  # runs/, deepest first
        out_dir = new_folder(base)
    progress = progress_bar("days", quiet)
    with dropped_if_left_empty(out_dir, made, parents_made), progress:
        task = progress.add_task(f"{sc.meta.name}", total=sc.meta.days)

        def compiling(count: int) -> None:
            progress.update(
                task,
                description=f"{sc.meta.name}: compiling kernels ({count}; first run only, "
                "then cached)",
            )

        def on_day(day: int) -> None:
            progress.update(task, completed=day, description=sc.meta.name)

        try:
            result = api.run(
                sc,
                out=out_dir,
                on_day=on_day,
                on_compile=compiling,
                compiled={"auto": None, "compiled": True, "python": False}[engine.value],
                checkpoint_every=checkpoint_every,
            )
        except (ScenarioError, RunDirError, CheckpointError) as e:
            raise UserError(str(e)) from None
        except KeyboardInterrupt:
            raise Interrupted(_left_behind(out_dir, checkpoint_every)) from None
        except OSError as e:  # a full disk, a file size limit: not the input's fault
            left = _left_behind(out_dir, checkpoint_every)
            raise Stopped(f"could not write to {out_dir}: {_os_reason(e)}; {left}") from None
        except MemoryError:
            where = (
                f"; the run folder {out_dir} is marked incomplete"
                if (out_dir / "manifest.json").exists()  # an empty one made here is removed
                else ""
            )
            raise UserError(
                f"out of memory after {progress.tasks[0].completed:,.0f} of {sc.meta.days:,} "
                f"days{where}; run fewer --people"
            ) from None
    out.print(result.summary(), highlight=False, markup=False, soft_wrap=True)


@app.command()
def resume(
    run_dir: Annotated[Path, typer.Argument(help="An interrupted run folder with a checkpoint.")],
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Finish an interrupted run (run with --checkpoint-every) from its last checkpoint."""
    progress = progress_bar("days", quiet)
    with progress:
        task = progress.add_task(f"resume {run_dir}", total=None)

        def on_day(day: int) -> None:
            progress.update(task, completed=day, description=f"resume {run_dir}")

        try:
            result = api.resume(run_dir, on_day=on_day)
        except (ScenarioError, CheckpointError) as e:
            raise UserError(str(e)) from None
        except KeyboardInterrupt:
            raise Interrupted(_left_behind(run_dir)) from None
        except OSError as e:  # a full disk, a file size limit: not the input's fault
            raise Stopped(
                f"could not write to {run_dir}: {_os_reason(e)}; {_left_behind(run_dir)}"
            ) from None
        except MemoryError:
            raise UserError(
                f"out of memory after {progress.tasks[0].completed:,.0f} days; the run folder "
                f"{run_dir} is marked incomplete and keeps its last checkpoint"
            ) from None
    out.print(result.summary(), highlight=False, markup=False, soft_wrap=True)


def _os_reason(err: OSError) -> str:
    """An ``OSError`` in words, without its file (said apart)."""
    return err.strerror or str(err) or type(err).__name__


def _left_behind(run_dir: Path, checkpoint_every: int | None = None) -> str:
    """What an interrupted run left in ``run_dir``, and how to finish it.

    ``checkpoint_every``: the run's ``--checkpoint-every``, if it had one (a run that had one
    and stopped before its first checkpoint was written was told to run with it).
    """
    if not (run_dir / "manifest.json").exists():
        return f"nothing was written to {run_dir}"
    if (run_dir / CHECKPOINT_FILE).exists():
        return (
            f"the run folder {run_dir} is marked incomplete; finish it from its last "
            f"checkpoint: scslab resume {run_dir}"
        )
    if checkpoint_every:
        return (
            f"the run folder {run_dir} is marked incomplete (no checkpoint to resume from: it "
            f"stopped before its first, after {checkpoint_every:,} days, was written)"
        )
    return (
        f"the run folder {run_dir} is marked incomplete (no checkpoint to resume from: "
        "run with --checkpoint-every to keep one)"
    )


def _days_until(until: str, days: int | None, start: dt.date) -> int:
    """The days from ``start`` through the date ``until`` (refusing ``--days`` beside it)."""
    if days is not None:
        raise UserError("--until: give --days or --until, not both")
    try:
        last = dt.date.fromisoformat(until)
    except ValueError:
        raise UserError(f"--until: {until!r} is not a date; give YYYY-MM-DD") from None
    if last < start:
        raise UserError(f"--until: {last} is before the scenario's start date {start}")
    return (last - start).days + 1


class DefaultFolder:
    """The default folder ``runs/KIND-FILE-TIMESTAMP`` of a sweep, sensitivity or calibration.

    Made (``new_folder``: ``-2``, ``-3``... when taken) only when called, which ``run_sweep`` and
    ``run_calibration`` do once every check of the input has passed (``sweep.NewFolder``): bad
    input leaves no folder, not even ``runs/``.
    """

    def __init__(self, base: Path) -> None:
        why = cannot_create(base)
        if why is not None:
            raise UserError(why)
        self.base = base
        self.made: Path | None = None
        """The folder, once made."""

    def __call__(self) -> Path:
        """Make the folder and return it."""
        self.made = new_folder(self.base)
        return self.made


def _sweep_out(out_dir: Path | None, file: Path, kind: str) -> Path | DefaultFolder:
    """The folder of a sweep, sensitivity or calibration: ``--out``, else the default's maker."""
    if out_dir is not None:
        return out_dir
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return DefaultFolder(Path("runs") / f"{kind}-{file.stem}-{stamp}")


@contextlib.contextmanager
def _sweep_folder_kept(folder: Path | DefaultFolder) -> Iterator[None]:
    """Remove the default folder if it was made and a refusal or Ctrl-C left it empty."""
    try:
        yield
    except BaseException:
        if isinstance(folder, DefaultFolder) and folder.made is not None:
            with contextlib.suppress(OSError):
                folder.made.rmdir()  # only an empty folder: never anything written into it
        raise


def _check_workers(
    workers: int | None, no_workers_s: float | None = None, scheduler: str | None = None
) -> dict[str, float]:
    """Refuse ``--workers`` or ``--no-workers-timeout`` out of range; the keyword to pass on.

    ``--workers`` beside ``--scheduler`` is refused too: an existing cluster keeps its own.
    """
    from scslab.sweep import check_no_workers_s, check_workers

    try:
        check_workers(workers, scheduler)
        if no_workers_s is not None:
            check_no_workers_s(no_workers_s)
    except ScenarioError as e:
        raise UserError(str(e)) from None
    return {} if no_workers_s is None else {"no_workers_s": no_workers_s}


def _resumable(kind: str, folder: Path | DefaultFolder, finished: str = "runs") -> str:
    """What an interrupted sweep, sensitivity or calibration keeps, and how to resume it."""
    if isinstance(folder, DefaultFolder):
        if folder.made is None:
            return f"nothing was written (the {kind} had not started)"
        folder = folder.made
    return (
        f"the {kind} folder {folder} keeps the {finished} that finished; the same command with "
        f"--out {folder} resumes it"
    )


SchedulerOption = Annotated[
    str | None,
    typer.Option(
        help="Address of a running Dask scheduler (tcp://HOST:8786); default: a local cluster."
    ),
]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        help="Worker processes of the local cluster (default: one per core; at most 4 per core)."
    ),
]
NoWorkersOption = Annotated[
    float | None,
    typer.Option(
        "--no-workers-timeout",
        help="Seconds the cluster may have no worker while runs wait before the command stops "
        "(exit status 1; the folder resumes) (default: 600).",
    ),
]


@app.command()
def sweep(
    file: Annotated[Path, typer.Argument(help="A sweep file (TOML: \\[sweep], \\[parameters]).")],
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            parser=folder_path,
            help="Sweep folder (default: runs/sweep-FILE-TIMESTAMP); the same "
            "folder again resumes an interrupted sweep.",
        ),
    ] = None,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = None,
    no_workers_timeout: NoWorkersOption = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Run a grid, random or Sobol design of runs on Dask; one table with a status per run.

    Exits with status 1 when a run failed (the same command again reruns the failed runs).
    """
    from scslab.sweep import NoWorkers, load_sweep, run_sweep

    wait = _check_workers(workers, no_workers_timeout, scheduler)
    try:
        spec = load_sweep(file)
    except ScenarioError as e:
        raise UserError(str(e)) from None
    folder = _sweep_out(out_dir, file, "sweep")
    progress = progress_bar("runs", quiet)
    failed = 0
    with _sweep_folder_kept(folder), progress:
        task = progress.add_task(f"sweep {file.stem}", total=None)

        def on_row(done: int, total: int, row: dict) -> None:
            nonlocal failed
            failed += row.get("status") == "failed"
            note = f" ({failed} failed)" if failed else ""
            progress.update(
                task, completed=done, total=total, description=f"sweep{note}", unit="runs"
            )

        def on_check(checked: int, points: int) -> None:
            progress.update(
                task, completed=checked, total=points, description="checking", unit="points"
            )

        try:
            result = run_sweep(
                spec,
                folder,
                scheduler=scheduler,
                workers=workers,
                on_row=on_row,
                on_check=on_check,
                **wait,
            )
        except ScenarioError as e:
            raise UserError(str(e)) from None
        except NoWorkers as e:
            raise Stopped(f"{e}; {_resumable('sweep', folder)}") from None
        except KeyboardInterrupt:
            raise Interrupted(_resumable("sweep", folder)) from None
    counts = result.counts()
    out.print(
        f"scslab sweep: {result.table.num_rows} runs: "
        + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        + (f" ({result.skipped} done before, skipped)" if result.skipped else ""),
        highlight=False,
    )
    for row in result.table.to_pylist():
        if row["status"] == "failed":
            out.print(
                f"  {row['run_id']}: {row['error']}", highlight=False, markup=False, soft_wrap=True
            )
    out.print(f"Results: {result.folder}/ (sweep.parquet, sweep.json, runs/)", highlight=False)
    if counts.get("failed"):
        err.print(
            f"scslab: error: {counts['failed']} of {result.table.num_rows} runs failed (their "
            "errors are above and in sweep.parquet); the same command again reruns them",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)


@app.command()
def sensitivity(
    file: Annotated[
        Path, typer.Argument(help="A sweep file with ranges and a \\[sensitivity] table.")
    ],
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out", parser=folder_path, help="Folder (default: runs/sensitivity-FILE-TIMESTAMP)."
        ),
    ] = None,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = None,
    no_workers_timeout: NoWorkersOption = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Sobol or Morris indices (SALib) of outputs to parameters, runs on the sweep engine."""
    from scslab.sensitivity import RunsUnusable, run_sensitivity
    from scslab.sweep import NoWorkers, load_sweep

    wait = _check_workers(workers, no_workers_timeout, scheduler)
    try:
        spec = load_sweep(file, kind="sensitivity")
    except ScenarioError as e:
        raise UserError(str(e)) from None
    folder = _sweep_out(out_dir, file, "sensitivity")
    progress = progress_bar("runs", quiet)
    with _sweep_folder_kept(folder), progress:
        task = progress.add_task(f"sensitivity {file.stem}", total=None)
        try:
            result = run_sensitivity(
                spec,
                folder,
                scheduler=scheduler,
                workers=workers,
                on_row=lambda done, total, row: progress.update(
                    task,
                    completed=done,
                    total=total,
                    description=f"sensitivity {file.stem}",
                    unit="runs",
                ),
                on_check=lambda checked, points: progress.update(
                    task, completed=checked, total=points, description="checking", unit="points"
                ),
                **wait,
            )
        except RunsUnusable as e:  # the runs are written: not a refusal of the input
            raise Stopped(str(e)) from None
        except ScenarioError as e:
            raise UserError(str(e)) from None
        except NoWorkers as e:
            raise Stopped(f"{e}; {_resumable('sensitivity', folder)}") from None
        except KeyboardInterrupt:
            raise Interrupted(_resumable("sensitivity", folder)) from None
    out.print("\n".join(result.lines()), highlight=False, markup=False, soft_wrap=True)
    files = "sensitivity.parquet, sweep.parquet" + _chart_files("sensitivity", result.chart)
    out.print(f"Results: {result.sweep.folder}/ ({files})", highlight=False, markup=False)


@app.command()
def calibrate(
    file: Annotated[
        Path, typer.Argument(help="A sweep file with ranges and a \\[calibrate] table.")
    ],
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            parser=folder_path,
            help="Folder (default: runs/calibrate-FILE-TIMESTAMP); the same folder again "
            "resumes an interrupted calibration.",
        ),
    ] = None,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = None,
    no_workers_timeout: NoWorkersOption = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Fit parameters to published figures with Optuna; trials run on the sweep engine."""
    from scslab.calibrate import NoTrialCompleted, preset_lines, run_calibration
    from scslab.sweep import NoWorkers, load_sweep

    wait = _check_workers(workers, no_workers_timeout, scheduler)
    try:
        spec = load_sweep(file, kind="calibrate")
    except ScenarioError as e:
        raise UserError(str(e)) from None
    folder = _sweep_out(out_dir, file, "calibrate")
    progress = progress_bar("trials", quiet)
    with _sweep_folder_kept(folder), progress:
        task = progress.add_task(f"calibrate {file.stem}", total=None)

        def on_trial(done: int, total: int, row: dict) -> None:
            loss = row.get("loss")
            note = f" (last loss {loss:.4g})" if loss == loss and loss is not None else ""
            progress.update(task, completed=done, total=total, description=f"calibrate{note}")

        try:
            result = run_calibration(
                spec, folder, scheduler=scheduler, workers=workers, on_trial=on_trial, **wait
            )
        except NoTrialCompleted as e:  # the runs are written: not a refusal of the input
            raise Stopped(str(e)) from None
        except ScenarioError as e:
            raise UserError(str(e)) from None
        except NoWorkers as e:
            raise Stopped(f"{e}; {_resumable('calibration', folder, 'trials')}") from None
        except KeyboardInterrupt:
            raise Interrupted(_resumable("calibration", folder, "trials")) from None
    lines = [*result.lines(), "", "In a preset:", *preset_lines(result)]
    out.print("\n".join(lines), highlight=False, markup=False, soft_wrap=True)
    files = "calibration.parquet, calibration.json, sweep.parquet" + _chart_files(
        "calibration", result.chart
    )
    out.print(f"Results: {result.folder}/ ({files})", highlight=False, markup=False)


def _chart_files(name: str, drawn: bool) -> str:
    """The chart's files in a Results line, or why there is none (its libraries are missing)."""
    if drawn:
        return f", {name}.png, {name}.svg"
    return "; no chart: it needs Altair and vl-convert (pip install 'scslab[report]')"


@app.command()
def plan(
    target: Annotated[str, typer.Argument(help="A preset, a scenario file, or a run folder.")],
    check: Annotated[
        bool,
        typer.Option(
            help=f"Set a scenario file up at {api.CHECK_PEOPLE} people to check what its "
            "mechanisms name of each other, as a run would (the first time, its set-up kernels "
            "compile: 27 s for rongcheng's on 2 cores; a run then loads them)."
        ),
    ] = True,
) -> None:
    """Print the daily phase plan; for a run folder, with seconds spent per phase.

    For a scenario it is the order the mechanisms run in. A scenario file is also set up small
    (``api.check_set_up``), so that one a run would refuse (a sanction reading a list that is
    not there) is refused here, in the same line; a preset is not (each is tested).
    """
    path = Path(target)
    if target not in preset_names() and path.is_dir() and (path / "manifest.json").exists():
        try:
            manifest = read_manifest(path)
            table = Table(title=f"plan of run {path} ({manifest['status']})")
            for col in ("#", "family", "mechanism", "seconds", "share"):
                table.add_column(col)
            phases = manifest["timings"].get("phases_s", {})
            total = sum(float(s) for s in phases.values()) or 1.0
            for row in manifest["plan"]:
                s = float(phases.get(row["mechanism"], 0.0))
                table.add_row(
                    str(row["order"]),
                    str(row["family"]),
                    str(row["mechanism"]),
                    f"{s:.3f}",
                    f"{s / total:.0%}",
                )
        except RunDirError as e:
            raise UserError(str(e)) from None
        except (AttributeError, KeyError, TypeError, ValueError) as e:  # damaged, or not ours
            raise UserError(
                f"{path / 'manifest.json'}: not a run's manifest (its plan or timings cannot be "
                f"read: {type(e).__name__}: {e})"
            ) from None
        out.print(table)
        return
    if path.is_dir() and target not in preset_names():  # a preset's bare name is the preset
        raise UserError(
            f"{target}: a folder without a run's manifest.json; give a run folder, a .toml "
            "scenario file or a preset name"
        )
    sc = _load(target)
    if check and target not in preset_names():
        with err.status("checking the scenario", spinner="dots") as status:

            def compiling(count: int) -> None:
                status.update(f"checking the scenario: compiling kernels ({count}; first time)")

            try:
                api.check_set_up(sc, on_compile=compiling)
            except ScenarioError as e:
                raise UserError(str(e)) from None
    table = Table(title=f"daily plan of {sc.meta.name}")
    for col in ("#", "family", "mechanism", "from", "what it does"):
        table.add_column(col)
    for row in plan_of(sc):
        since = (sc.meta.start_date + dt.timedelta(days=row.first_day)).isoformat()
        table.add_row(str(row.order), row.family, row.mechanism, since, row.description)
    out.print(table)


@app.command()
def compare(
    a: Annotated[str, typer.Argument(help="Scenario A (the baseline): a preset or a TOML file.")],
    b: Annotated[str, typer.Argument(help="Scenario B (the alternative): a preset or a file.")],
    replications: Annotated[
        int,
        typer.Option(
            min=1,
            max=1000,
            help="Seeds to run; both scenarios run each (common random numbers).",
        ),
    ] = 3,
    people: Annotated[int | None, typer.Option(help="Synthetic people in both.")] = None,
    days: Annotated[int | None, typer.Option(help="Simulated days in both.")] = None,
    seed: Annotated[int | None, typer.Option(help="First seed (default: A's).")] = None,
    scale: Annotated[
        int | None, typer.Option(help="Real people per synthetic person in both.")
    ] = None,
    drop_a: Annotated[
        list[str] | None, typer.Option("--drop-a", help="Switch off this mechanism in A.")
    ] = None,
    drop_b: Annotated[
        list[str] | None, typer.Option("--drop-b", help="Switch off this mechanism in B.")
    ] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Show every metric, not only those that changed.")
    ] = False,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out", parser=folder_path, help="Write comparison.parquet to this new folder."
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Compare two scenarios on common random numbers: B - A per metric, with 95% intervals."""
    from scslab.compare import compare as compare_runs
    from scslab.compare import write_comparison

    if out_dir is not None:
        try:
            check_run_dir(out_dir)
        except RunDirError as e:
            raise UserError(str(e)) from None
    try:  # a bad flag's error names the flag, as run's do
        _with_flags(load_scenario(a), None, people=people, days=days, seed=seed, scale=scale)
    except ScenarioError as e:
        raise UserError(str(e)) from None
    progress = progress_bar("runs", quiet)
    with progress:
        task = progress.add_task("compare", total=2 * replications)
        try:
            result = compare_runs(
                a,
                b,
                replications=replications,
                people=people,
                days=days,
                seed=seed,
                scale=scale,
                drop_a=drop_a,
                drop_b=drop_b,
                on_run=lambda done, total: progress.update(task, completed=done),
            )
        except ScenarioError as e:
            raise UserError(str(e)) from None
        except KeyboardInterrupt:
            raise Interrupted("no comparison was written") from None
    out.print("\n".join(result.lines(show_all)), highlight=False, markup=False, soft_wrap=True)
    if out_dir is not None:
        try:
            folder = write_comparison(out_dir, result)
        except RunDirError as e:
            raise UserError(str(e)) from None
        out.print(f"\nResults: {folder}/ (comparison.parquet, manifest.json)", highlight=False)


def _json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities as null: JSON has no such numbers.

    A NaN is common: a listing ratio with too few people listed to compare.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


class Format(enum.StrEnum):
    """How ``query`` prints its answer."""

    table = "table"
    csv = "csv"
    json = "json"


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="SQL over the views runs, metrics and other tables.")],
    runs: Annotated[Path, typer.Option(help="Folder holding run folders.")] = Path("runs"),
    fmt: Annotated[Format, typer.Option("--format", help="How to print the answer.")] = (
        Format.table
    ),
    limit: Annotated[int, typer.Option(min=1, help="Most rows printed as a table.")] = 50,
) -> None:
    """Query every run under a folder with SQL (DuckDB; needs the 'query' extra); reads only."""
    from scslab.query import query as run_query

    def skipped(message: str) -> None:
        err.print(f"scslab: warning: {message}", highlight=False, markup=False, soft_wrap=True)

    try:
        table = run_query(sql, runs, on_skip=skipped)
    except ScenarioError as e:
        raise UserError(str(e)) from None
    if fmt is Format.csv:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        nested = [f.name for f in table.schema if pa.types.is_nested(f.type)]
        if nested:
            raise UserError(
                f"--format csv: column {', '.join(nested)} holds lists or structs, which CSV "
                "cannot; use --format json, or select scalar columns"
            )
        sink = io.BytesIO()
        pacsv.write_csv(table, sink)
        sys.stdout.write(sink.getvalue().decode())
        return
    if fmt is Format.json:
        rows = _json_safe(table.to_pylist())
        sys.stdout.write(json.dumps(rows, default=str, allow_nan=False) + "\n")
        return
    shown = Table(title=f"{table.num_rows:,} rows")
    for name in table.column_names:
        shown.add_column(name)
    for row in table.slice(0, limit).to_pylist():
        shown.add_row(*("" if v is None else str(v) for v in row.values()))
    out.print(shown)
    if table.num_rows > limit:
        out.print(f"({table.num_rows - limit:,} more rows: --limit or --format csv)")


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A complete run folder (scslab run --out).")],
) -> None:
    """Write a run's report: one self-contained HTML file, and each chart as PNG and SVG."""
    from scslab.report import write_report

    try:
        folder = write_report(run_dir)
    except ScenarioError as e:
        raise UserError(str(e)) from None
    files = len(list(folder.iterdir()))
    out.print(f"Report: {folder / 'report.html'} ({files} files in {folder}/)", highlight=False)


@app.command()
def ui(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8501,
    host: Annotated[
        str, typer.Option(help="Address to listen on (another than localhost shares the page).")
    ] = "127.0.0.1",
) -> None:
    """Serve the explorer in a browser: pick a preset, run it small, see charts and the audit."""
    from scslab.notebook import MissingExtraError
    from scslab.ui import AddressError, check_port, launch

    try:
        check_port(port)  # before the extra is looked for: a bad flag is named first
        launch(host, port)  # checks the host and port first: Streamlit's errors are tracebacks
    except (MissingExtraError, AddressError) as e:
        raise UserError(str(e)) from None


@app.command()
def presets() -> None:
    """List the presets shipped with scslab."""
    table = Table(title="scslab presets")
    table.add_column("preset")
    table.add_column("what it models")
    for name in preset_names():
        table.add_row(name, load_scenario(name).meta.description)
    out.print(table)


@app.command()
def schema() -> None:
    """Print the JSON schema of scenario files."""
    sys.stdout.write(json.dumps(scenario_schema(), indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI; a user error is one line and exit status 2, Ctrl-C 130.

    SIGTERM stops a command as Ctrl-C does, and its status is 143 (128 + SIGTERM), as a batch
    scheduler reads it. A command may also end with another status (``sweep``: 1 when a run
    failed; a sweep, sensitivity or calibration whose cluster had no worker for
    ``--no-workers-timeout``: 1).
    """
    with _terminate_as_interrupt() as terminated:
        status = _main(argv)
    return TERMINATED if status == INTERRUPTED and terminated else status


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[list[int]]:
    """SIGTERM (a batch scheduler's time limit, ``kill``) ends a command as Ctrl-C does.

    Without it the process died where it stood: a sweep's ``sweep.json`` kept ``"status":
    "running"``, and a run wrote nothing of what it had done. Only in the main thread, where
    Python takes signals, and not where SIGTERM is ignored (a parent's choice, kept). Yields a
    list that holds the signal once SIGTERM has arrived.
    """
    terminated: list[int] = []
    ignored = signal.getsignal(signal.SIGTERM) == signal.SIG_IGN  # a parent's choice: kept
    if threading.current_thread() is not threading.main_thread() or ignored:
        yield terminated
        return

    def interrupt(signum: int, frame: object) -> None:
        terminated.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield terminated
    finally:  # None: a handler not set from Python (an embedding program's); the default then
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def _a_value(word: str) -> bool:
    """Whether an unknown option ``word`` reads as a value (SQL, a number), not a mistyped flag."""
    if any(c.isspace() for c in word):
        return True
    try:
        float(word)
    except ValueError:
        return False
    return True


def _main(argv: list[str] | None) -> int:
    """``main``'s body: run the command and turn what it raised into a status."""
    try:
        status = app(args=argv, standalone_mode=False)
    except UserError as e:
        err.print(f"scslab: error: {e}", highlight=False, markup=False, soft_wrap=True)
        return 2
    except Stopped as e:
        err.print(f"scslab: error: {e}", highlight=False, markup=False, soft_wrap=True)
        return 1
    except Interrupted as e:
        err.print(f"scslab: interrupted; {e}", highlight=False, markup=False, soft_wrap=True)
        return INTERRUPTED
    except (typer.Abort, KeyboardInterrupt):
        err.print("scslab: interrupted", highlight=False, markup=False, soft_wrap=True)
        return INTERRUPTED
    except _ClickException as e:
        # no message: no command given, and the help listing the commands is printed above
        message = " ".join(e.format_message().split()) or "no command given; see scslab --help"
        unknown = str(getattr(e, "option_name", "") or "")  # click keeps "-1" of "-1 + 2"
        given = next(
            (a for a in (sys.argv[1:] if argv is None else argv) if a.startswith(unknown)), ""
        )
        if unknown and _a_value(given):
            message += f"; a value that starts with '-' goes after --, as in: -- {given!r}"
        err.print(f"scslab: error: {message}", highlight=False, markup=False, soft_wrap=True)
        return 2
    except OSError as e:
        if e.errno in OUTPUT_FAILURES:
            return _io_failed(e)
        if e.errno != errno.ENAMETOOLONG:  # anything else: not the input's, nor the output's
            raise
        name = str(e.filename or "a path")
        shown = name if len(name) <= 80 else f"{name[:60]}...{name[-17:]}"
        err.print(
            f"scslab: error: {shown}: file name too long ({len(name):,} characters); give a "
            "shorter path",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        return 2
    if status == INTERRUPTED:  # Typer turns Ctrl-C outside a command's own handler into 130
        err.print("scslab: interrupted", highlight=False, markup=False, soft_wrap=True)
        return INTERRUPTED
    return status if isinstance(status, int) else 0


OUTPUT_FAILURES = frozenset(
    {errno.EPIPE, errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EFBIG}
)
"""What a write can fail with that is neither the input's fault nor a bug: a full disk (or
``> /dev/full``), a quota, a lost device, a read-only mount, a closed pipe (EIO: a read too)."""

_WRITE_ONLY = OUTPUT_FAILURES - {errno.EIO}


def _io_failed(e: OSError) -> int:
    """One line for a command whose read or write failed (none for a closed pipe); status 1."""
    if e.errno == errno.EPIPE:
        return 1
    where = f"{e.filename}: " if e.filename else "cannot write: " if e.errno in _WRITE_ONLY else ""
    err.print(f"scslab: error: {where}{e.strerror}", highlight=False, markup=False, soft_wrap=True)
    return 1


def _silence_stdout() -> None:
    """Point standard output at ``os.devnull``, once writing to it failed.

    What its buffer still holds is dropped, and does not fail again as Python exits, with a
    traceback of its own.
    """
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def entry() -> None:
    """Console-script entry point.

    Standard output is flushed here, not as Python exits: a write that fails then (``scslab
    presets > /dev/full``) is one line and status 1, as in a command (``OUTPUT_FAILURES``), and
    none more where the command already said it failed.
    """
    status = main()
    try:
        sys.stdout.flush()
    except OSError as e:
        if e.errno not in OUTPUT_FAILURES:
            raise
        _silence_stdout()
        if status == 0:
            status = _io_failed(e)
    sys.exit(status)


if __name__ == "__main__":
    entry()
