"""The Python API that the CLI, the tests and notebooks share: load, run, summarise.

    >>> import scslab
    >>> result = scslab.run("rongcheng", people=20_000, days=30)
    >>> result.metrics.column_names[:3]
    ['day', 'date', 'acts_traffic_offence']

``run`` writes a run directory when ``out`` is given (see ``scslab.results``) and always returns a
``RunResult`` holding the metrics table, the manifest and the finished simulation. In a notebook,
``run(..., progress=True)`` shows a progress bar, ``result.to_pandas(name)`` gives a result table
as a pandas frame and ``result.charts()`` the report's Altair charts (``scslab.notebook``).

Owns ``run``, ``resume`` and ``RunResult``, the manifest's contents, the end-of-run summary and
which lists count as redlists. It computes no metric and runs no mechanism's rule: the days run
in ``Simulation.run`` and the harm audit is ``scslab.audit``'s. It writes the run folder only
through ``scslab.results`` and ``engine/checkpoint.py``, and removes the checkpoint and any
left-over temporary files once the run is complete. Of the mechanisms it names only ``Rewards``
and ``ListBase``, to find the redlists.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import inspect
import numbers
import os
import platform
import resource
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numba
import pyarrow as pa
from numba.core import event

from scslab.audit import Harm, audit_lines, audit_table, harm_audit
from scslab.engine.checkpoint import (
    CHECKPOINT_FILE,
    CheckpointError,
    read_header,
    restore,
    walk,
    write_checkpoint,
)
from scslab.engine.footprint import check_fits
from scslab.engine.mechanism import REGISTRY
from scslab.engine.simulation import Simulation
from scslab.errors import ScenarioError
from scslab.mechanisms.consequences.rewards import Rewards
from scslab.mechanisms.lists.base import ListBase
from scslab.results import (
    RunDirError,
    check_run_dir,
    metrics_table,
    prepare_run_dir,
    read_manifest,
    write_manifest,
    write_metrics,
    write_table,
    writing,
)
from scslab.scenario import (
    Scenario,
    declared_type,
    load_scenario,
    plain_bool,
    scenario_from_dict,
)
from scslab.version import __version__


@dataclass
class RunResult:
    """What a run produced."""

    scenario: Scenario
    simulation: Simulation
    metrics: pa.Table
    manifest: dict[str, Any]
    run_dir: Path | None
    tables: dict[str, pa.Table]
    """Extra result tables by name (see ``Mechanism.tables``)."""

    def summary(self) -> str:
        """A one-screen plain-text summary of the run."""
        return "\n".join(summary_lines(self))

    def harm_audit(self) -> list[Harm]:
        """Who the run punished without cause, why, whom it reached, how people left lists."""
        return harm_audit(self.metrics, redlists(self.simulation), left_how(self.simulation))

    def table(self, name: str = "metrics") -> pa.Table:
        """One result table by name: ``metrics``, ``harm_audit``, or a mechanism's (``groups``).

        Raises:
            TypeError: ``name`` is not a string.
            KeyError: The run has no such table (the message lists those it has).
        """
        if not isinstance(name, str):
            raise TypeError(f"name: one table's name, a string (got {name!r})")
        if name == "metrics":
            return self.metrics
        if name not in self.tables:
            raise KeyError(f"no table {name!r}; this run has: metrics, {', '.join(self.tables)}")
        return self.tables[name]

    def to_pandas(self, name: str = "metrics") -> Any:
        """A result table (see ``table``) as a ``pandas.DataFrame`` (the ``notebook`` extra)."""
        from scslab.notebook import to_pandas

        return to_pandas(self.table(name), "RunResult.to_pandas()")

    def to_polars(self, name: str = "metrics") -> Any:
        """A result table (see ``table``) as a ``polars.DataFrame``; needs polars."""
        from scslab.notebook import to_polars

        return to_polars(self.table(name), "RunResult.to_polars()")

    def charts(self) -> dict[str, Any]:
        """The charts of ``scslab report`` as Altair charts by name (the ``notebook`` extra).

        A chart left last in a notebook cell displays; ``chart.save("x.png")`` writes it.
        """
        from scslab.notebook import need
        from scslab.report import charts_of

        need("altair", "RunResult.charts()")
        return charts_of(
            self.metrics,
            self.tables.get("harm_audit"),
            self.tables.get("groups"),
            redlists(self.simulation),
        )


def whole_days(columns: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """The metric columns cut to the days every column has.

    A run stopped part way through a day's metrics (an interrupt, an error) has some columns a
    value longer than others.
    """
    days = min((len(values) for values in columns.values()), default=0)
    return {name: values[:days] for name, values in columns.items()}


def redlists(sim: Simulation) -> frozenset[str]:
    """The run's redlists: lists that rewards read and nothing punishing does.

    A list is read by a reward sector (``Rewards.lists``) or by what punishes through it (a
    sanction, public naming, debt: their ``list``); a list that only rewards read rewards its
    members, so the harm audit leaves it out.
    """
    mechanisms = list(sim.mechanisms.values())
    rewarded = {lst.name for m in mechanisms if isinstance(m, Rewards) for lst in m.lists.values()}
    punishing = {
        m.list.name
        for m in mechanisms
        if not isinstance(m, Rewards) and isinstance(getattr(m, "list", None), ListBase)
    }
    return frozenset(rewarded - punishing)


def left_how(sim: Simulation) -> dict[str, str]:
    """How a member of each of the run's lists leaves it on their own, in words.

    The harm audit's note on those exits (``ListBase.left_on_their_own``).
    """
    return {
        m.name: m.left_on_their_own() for m in sim.mechanisms.values() if isinstance(m, ListBase)
    }


def _peak_rss_bytes() -> int:
    """This process's peak resident memory.

    On Linux from ``VmHWM``: ``ru_maxrss`` there carries the parent's peak into a child started
    from a big process (a benchmark driver, a notebook), which would be reported as the run's own.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def _manifest(sim: Simulation, status: str, started: str, extra: dict[str, Any]) -> dict[str, Any]:
    sc = sim.scenario
    return {
        "status": status,
        "scslab_version": __version__,
        "scenario_source": sc.source,
        "scenario": sc.resolved(),
        "seed": sc.meta.seed,
        "people": sc.meta.people,
        "days": sc.meta.days,
        "days_completed": sim.day,
        "started": started,
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "timings": {
            "init_s": round(sim.init_s, 6),
            "burn_in_s": round(sim.burn_in_s, 6),
            "run_s": round(sim.run_s, 6),
            "phases_s": {row.mechanism: round(row.seconds, 6) for row in sim.plan},
        },
        "plan": [
            {"order": r.order, "family": r.family, "mechanism": r.mechanism} for r in sim.plan
        ],
        "engine": "compiled" if sim.compiled_plan is not None else "python",
        "plan_not_compiled": sim.plan_not_compiled,
        "python_only_mechanisms": sim.python_only,
        "idle_settings": sim.idle,
        "observers_in_python": sim.observers,
        "bytes_per_person": sim.pop.bytes_per_person(),
        "state_layout": [
            {"name": n, "dtype": d, "bytes_per_person": b} for n, d, b in sim.pop.layout()
        ],
        "ended": [
            {
                "programme": e.programme,
                "day": e.day,
                "date": sim.date_of(e.day).isoformat(),
                "cause": e.cause,
                "mechanisms": list(e.mechanisms),
            }
            for e in sim.endings()
        ],
        "set_up": {name: notes for name, m in sim.mechanisms.items() if (notes := m.set_up())},
        "redlists": sorted(redlists(sim)),
        "peak_rss_bytes": _peak_rss_bytes(),
        "environment": {
            "python": platform.python_version(),
            "numba": numba.__version__,
            "numba_threads": numba.get_num_threads(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
        },
        **extra,
    }


class _CompileCounter(event.Listener):
    """Counts numba's compilations and tells ``report`` the count as each one starts."""

    def __init__(self, report: Callable[[int], None]) -> None:
        self.report = report
        self.started = 0

    def on_start(self, ev: event.Event) -> None:
        self.started += 1
        self.report(self.started)

    def on_end(self, ev: event.Event) -> None:
        pass


CHECK_PEOPLE = 500
"""People a scenario is set up with to check what its mechanisms name of each other
(``check_set_up``; an assumption: a few households of every kind, set up in milliseconds)."""


def check_set_up(sc: Scenario, on_compile: Callable[[int], None] | None = None) -> None:
    """Refuse ``sc`` if its mechanisms do not fit together, as a run would, running nothing.

    A scenario's values are checked as it is loaded, but what mechanisms name of each other
    (the list a sanction reads, the score a list reads: ``Simulation.get``) only as it is set
    up. It is set up here at ``CHECK_PEOPLE`` of its people (no day run, no burn-in run), and
    once more at its own people if refused there, so that a check that depends on who is there
    cannot refuse a scenario that would run. Any other error is left to the run, which reports
    it. Takes 5-35 ms on a warm kernel cache; the first time, the set-up's kernels compile
    (``on_compile`` is told, as in ``run``), and a run then loads them.

    Raises:
        ScenarioError: The run's own refusal (one line).
    """
    small = sc.with_overrides(people=min(sc.meta.people, CHECK_PEOPLE))
    with compile_events(on_compile):
        try:
            Simulation(small, compiled=False, burn_in=False)
            return
        except ScenarioError as err:
            refused = err
        except Exception:  # not the scenario's fault: its run will say what it is
            return
        try:
            check_fits(sc)  # as a run would, before setting up everyone
        except ScenarioError:  # too big to set up here: the reason found small is the one
            raise refused from None
        Simulation(sc, compiled=False, burn_in=False)


@contextlib.contextmanager
def compile_events(report: Callable[[int], None] | None) -> Iterator[None]:
    """Within the block, call ``report(count)`` whenever numba starts compiling a kernel."""
    if report is None:
        yield
        return
    with event.install_listener("numba:compile", _CompileCounter(report)):
        yield


def run(
    scenario: Scenario | str | Path,
    *,
    people: int | None = None,
    days: int | None = None,
    seed: int | None = None,
    scale: int | None = None,
    burn_in_days: int | None = None,
    out: str | Path | None = None,
    on_day: Callable[[int], None] | None = None,
    compiled: bool | None = None,
    on_compile: Callable[[int], None] | None = None,
    progress: bool = False,
    checkpoint_every: int | None = None,
) -> RunResult:
    """Run a scenario (a ``Scenario``, a preset name or a TOML path).

    Args:
        scenario: What to run.
        people: Override the number of people.
        days: Override the number of days.
        seed: Override the seed.
        scale: Override how many real people each simulated person stands for.
        burn_in_days: Override the days before the start date whose records every score
            starts from (``engine/burn_in.py``; 0: scores start fresh).
        out: Write a run directory here (must not exist or be empty).
        on_day: Called with the number of days done after each day (progress bars; the
            compiled day plan calls it after each of about 100 chunks of days).
        compiled: Run the compiled day plan (``True``: compile its kernels first if needed,
            and refuse a scenario with a mechanism that has no compiled kernels), the Python
            loop (``False``), or (``None``) the plan when the scenario's daily kernels are
            compiled by the end of the set-up (cached, or compiled by a first run's helpers)
            and the loop otherwise. Both give the same results.
        on_compile: Called with the number of kernels compiled so far each time numba starts
            compiling one (a first run compiles what the scenario uses; later runs load it from
            the disk cache and never call it): a progress display can say why it waits.
        progress: Show a progress bar of the days (tqdm's, a widget in Jupyter, when tqdm is
            installed; else rich's on stderr); ``on_day`` and ``on_compile`` are called too.
        checkpoint_every: Write a checkpoint into the run folder (``out``, required) every this
            many days; ``resume(out)`` finishes an interrupted run from the last one, with the
            results of an uninterrupted run (``engine/checkpoint.py``). Removed once the run is
            complete.

    Returns:
        The metrics, the manifest and the finished simulation.

    Raises:
        ScenarioError: The scenario or an override is invalid, or the run would not fit in
            memory (``engine.footprint.NotEnoughMemoryError``; one-line message).
        RunDirError: ``out`` cannot be used (one-line message).
        CheckpointError: ``checkpoint_every`` without ``out``, or a scenario whose state cannot
            be checkpointed (one-line message; nothing written).
    """
    _check_progress(progress)
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    sc = sc.with_overrides(
        people=people, days=days, seed=seed, scale=scale, burn_in_days=burn_in_days
    )
    _check_callbacks(on_day, on_compile)
    if progress:
        from scslab.notebook import progress_bar

        with progress_bar(sc.meta.days, sc.meta.name) as (bar_day, bar_compile):
            return run(
                sc,
                out=out,
                on_day=_both(bar_day, on_day),
                compiled=compiled,
                on_compile=_both(bar_compile, on_compile),
                checkpoint_every=checkpoint_every,
            )
    if checkpoint_every is not None:  # the value first: a folder would not mend a bad one
        whole = isinstance(checkpoint_every, numbers.Integral) and not isinstance(
            checkpoint_every, bool
        )
        if not whole or checkpoint_every < 1:
            raise CheckpointError(
                f"checkpoint_every: a whole number of days, 1 or more (got {checkpoint_every!r})"
            )
        if out is None:
            raise CheckpointError("checkpoints go into the run folder: give out (--out)")
    _check_callbacks(on_day, on_compile)
    if out is not None:
        _check_path("out", out)
        check_run_dir(Path(out))  # fail before the (possibly long) set-up ("~" expanded)
    check_fits(sc)  # refuse a run that cannot fit before allocating anything
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    with compile_events(on_compile):
        sim = Simulation(sc, compiled=compiled)  # a scenario error leaves no run folder behind
        if checkpoint_every is not None:
            walk(sim)  # refuse state that cannot be checkpointed before writing anything
    run_dir = prepare_run_dir(Path(out)) if out is not None else None
    with _held(run_dir):
        return _run_and_write(sim, run_dir, started, on_day, on_compile, checkpoint_every, {})


def _both(
    bar: Callable[[int], None], callback: Callable[[int], None] | None
) -> Callable[[int], None]:
    """The progress bar's callback, then the caller's own (``progress`` with ``on_day``)."""
    if callback is None:
        return bar

    def both(count: int) -> None:
        bar(count)
        callback(count)

    return both


def _check_callbacks(on_day: object, on_compile: object) -> None:
    """Refuse, in one line, a progress callback that is not a function of one count.

    One that cannot take a count (``lambda: None``) failed only when first called, after the
    whole set-up, leaving a run folder marked incomplete.
    """
    for name, callback in (("on_day", on_day), ("on_compile", on_compile)):
        check_takes(name, callback, "a count", 1)


def check_takes(name: str, callback: object, what: str, count: int) -> None:
    """Refuse, in one line, a callback that is not None or a function of ``count`` values.

    One whose signature cannot be read (a builtin, some C functions) is taken as it is.
    """
    if callback is None:
        return
    if not callable(callback):
        raise TypeError(
            f"{name}: a function called with {what}, or None (got {type(callback).__name__})"
        )
    try:
        signature = inspect.signature(callback)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return
    try:
        signature.bind(*range(count))
    except TypeError:
        raise TypeError(
            f"{name}: a function called with {what}; {callback!r} cannot take "
            f"{count} value{'s' * (count > 1)}"
        ) from None


def _check_path(name: str, value: object) -> None:
    """Refuse, in one line, a folder argument that is not a path, or an empty one.

    An empty string is not the current folder: ``Path("")`` would make it so, silently.
    """
    if not isinstance(value, str | os.PathLike):
        raise TypeError(f"{name}: a folder's path (a str or a Path) (got {value!r})")
    if not str(os.fspath(value)).strip():
        raise RunDirError(f"{name}: an empty path; give a folder's path")


def resume(
    run_dir: str | Path,
    *,
    on_day: Callable[[int], None] | None = None,
    on_compile: Callable[[int], None] | None = None,
    progress: bool = False,
) -> RunResult:
    """Finish an interrupted run from the last checkpoint in its folder (``checkpoint_every``).

    The simulation is built from the checkpoint's scenario as a new run builds it, its state is
    read from the checkpoint, and the remaining days run; the run folder ends with the files an
    uninterrupted run writes, the same bit for bit (the manifest's timings aside).

    Raises:
        CheckpointError: No run folder, no checkpoint, a complete run, a checkpoint of another
            scenario or written by other code, one whose scenario names a mechanism not
            registered in this process (import its module first), or a damaged one (one-line
            message; nothing in the folder changed), or one another process is writing.
        ScenarioError: The run would not fit in memory (one-line message).
        RunDirError: ``run_dir`` is an empty path.
        TypeError: ``run_dir`` is not a path, or a callback is not a function.
    """
    _check_progress(progress)
    _check_path("run_dir", run_dir)
    _check_callbacks(on_day, on_compile)
    folder = Path(run_dir).expanduser()
    try:
        manifest = read_manifest(folder)
    except RunDirError as err:  # no manifest, a damaged one, or not a run's: says which
        raise CheckpointError(str(err)) from None
    if manifest.get("status") == "complete":
        raise CheckpointError(f"{folder}: the run is complete; nothing to resume")
    path = folder / CHECKPOINT_FILE
    header = read_header(path)
    if manifest.get("scenario") != header.get("scenario"):
        raise CheckpointError(f"{path}: the checkpoint is of another scenario than {folder}'s run")
    unknown = _not_registered(header.get("scenario"))
    if unknown:  # not damaged: written where a mechanism of the user's own module was imported
        names = ", ".join(repr(name) for name in unknown)
        raise CheckpointError(
            f"{path}: the checkpoint's scenario names mechanism{'s' * (len(unknown) > 1)} "
            f"{names}, not known here; a mechanism from your own module must be imported first "
            "(which registers it), then the run resumed in Python (scslab.resume), or its "
            "package must name it under the entry-point group 'scslab.mechanisms' for the "
            "scslab command"
        )
    try:
        sc = scenario_from_dict(header["scenario"], header["scenario_source"])
    except (KeyError, ScenarioError) as err:
        raise CheckpointError(f"{path}: damaged checkpoint (scenario: {err})") from None
    if progress:
        from scslab.notebook import progress_bar

        with progress_bar(sc.meta.days, sc.meta.name) as (bar_day, bar_compile):
            return resume(
                folder, on_day=_both(bar_day, on_day), on_compile=_both(bar_compile, on_compile)
            )
    with contextlib.ExitStack() as held:  # the folder, from before the set-up to the end
        try:
            held.enter_context(writing(folder))
        except RunDirError as err:  # a run still going, or another resume of it
            raise CheckpointError(str(err)) from None
        check_fits(sc)
        with compile_events(on_compile):
            # no burn-in: the scores it would make are in the checkpoint
            sim = Simulation(sc, compiled=header.get("engine") == "compiled", burn_in=False)
            restore(sim, header, path)
        if on_day is not None:
            on_day(sim.day)
        resumed = [*manifest.get("resumed_from_days", []), sim.day]
        extra = {"resumed_from_days": resumed}
        if isinstance(manifest.get("checkpoint"), dict):
            extra["checkpoint"] = manifest["checkpoint"]  # the one it resumes from, till the next
        started = manifest.get("started") or dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        every = header.get("checkpoint_every")
        return _run_and_write(sim, folder, started, on_day, on_compile, every, extra)


def _not_registered(scenario: object) -> list[str]:
    """The mechanism types a scenario's tables name that no class in this process registered.

    A table's type is its ``type``, else its name (as ``scenario_from_dict`` reads it); anything
    not of that shape is left to ``scenario_from_dict`` to refuse.
    """
    tables = scenario.get("mechanisms") if isinstance(scenario, dict) else None
    if not isinstance(tables, dict):
        return []
    kinds = (declared_type(v) or k for k, v in tables.items())
    return sorted({kind for kind in kinds if isinstance(kind, str) and kind not in REGISTRY})


def _held(run_dir: Path | None) -> contextlib.AbstractContextManager[None]:
    """The run folder held for writing while a run writes it (``results.writing``), if any.

    Raises:
        RunDirError: Another process is writing the folder.
    """
    return writing(run_dir) if run_dir is not None else contextlib.nullcontext()


def _run_and_write(
    sim: Simulation,
    run_dir: Path | None,
    started: str,
    on_day: Callable[[int], None] | None,
    on_compile: Callable[[int], None] | None,
    every: int | None,
    extra: dict[str, Any],
) -> RunResult:
    """Run the remaining days of ``sim`` and write its run folder (checkpoints on the way).

    The caller holds the folder (``_held``).
    """
    sc = sim.scenario
    extra = dict(extra)
    last: dict[str, Any] = {"checkpoint": extra.pop("checkpoint")} if "checkpoint" in extra else {}
    """The last checkpoint's note (a resumed run's, from its manifest), kept in the manifest
    whatever stops the run later, and dropped with the checkpoint when the run completes."""
    if run_dir is not None:
        write_manifest(run_dir, _manifest(sim, "incomplete", started, extra | last))

    def checkpoint(sim: Simulation) -> None:
        assert run_dir is not None and every is not None
        t0 = time.perf_counter()
        size = write_checkpoint(sim, run_dir / CHECKPOINT_FILE, every)
        seconds = round(time.perf_counter() - t0, 3)
        last["checkpoint"] = {"day": sim.day, "every_days": every, "bytes": size, "s": seconds}
        write_manifest(run_dir, _manifest(sim, "incomplete", started, extra | last))

    try:
        with compile_events(on_compile):  # a kernel first used later in the run
            sim.run(on_day, every, checkpoint if every is not None else None)
    except BaseException as err:
        if run_dir is not None:
            reason = type(err).__name__ + (f": {err}" if str(err) else "")
            # never hide what stopped the run: a metrics table that cannot be written is left out
            with contextlib.suppress(Exception):
                write_metrics(run_dir, metrics_table(whole_days(sim.columns), sc.meta.scale))
            write_manifest(
                run_dir, _manifest(sim, "incomplete", started, extra | last | {"error": reason})
            )
        raise
    t0 = time.perf_counter()
    table = metrics_table(sim.columns, sc.meta.scale)
    tables = {}
    for m in sim.mechanisms.values():
        for name, t in m.tables().items():
            if name in tables or name == "metrics":
                raise RuntimeError(f"result table {name!r} is written by two mechanisms")
            tables[name] = t
    tables["harm_audit"] = audit_table(harm_audit(table, redlists(sim), left_how(sim)))
    manifest = _manifest(sim, "complete", started, extra | {"tables": ["metrics", *tables]})
    if run_dir is not None:
        try:
            for name, t in tables.items():
                write_table(run_dir, name, t)
            write_metrics(run_dir, table)
            manifest["timings"]["write_s"] = round(time.perf_counter() - t0, 6)
            write_manifest(run_dir, manifest)
        except OSError as err:  # a full disk, a file size limit: every day ran, not written
            reason = f"writing the results: {type(err).__name__}: {err}"
            with contextlib.suppress(Exception):
                write_manifest(
                    run_dir, _manifest(sim, "incomplete", started, extra | last | {"error": reason})
                )
            raise
        (run_dir / CHECKPOINT_FILE).unlink(missing_ok=True)  # complete: nothing to resume
        for stale in run_dir.glob(".*.tmp"):  # files a kill cut short (atomic writes' temps)
            stale.unlink(missing_ok=True)
    return RunResult(sc, sim, table, manifest, run_dir, tables)


def _seconds(value: float) -> str:
    """Seconds to one decimal, or to three significant digits below a tenth (a small run)."""
    return f"{value:.1f} s" if value >= 0.1 else f"{value:.3g} s"


def _rate(millions: float) -> str:
    """Millions of person-days a second: one decimal, or three significant digits below one."""
    return f"{millions:,.1f}" if millions >= 1 else f"{millions:.3g}"


def _check_progress(progress: object) -> None:
    """Refuse a ``progress`` that is not a yes or no (``"no"`` would count as yes)."""
    progress = plain_bool(progress)
    if not isinstance(progress, bool | int) or progress not in (True, False):
        raise TypeError(f"progress: True or False (got {progress!r})")


def summary_lines(result: RunResult) -> list[str]:
    """The end-of-run summary as lines of text."""
    sim, m = result.simulation, result.manifest
    meta = result.scenario.meta
    first = sim.date_of(0).isoformat()
    last = sim.date_of(meta.days - 1).isoformat()
    t = m["timings"]
    lines = [
        f"scslab {meta.name}: {meta.people:,} synthetic people, {meta.days:,} days "
        f"({first} to {last}), seed {meta.seed}",
        *([f"  {meta.description}"] if meta.description else []),
        *(
            [
                f"  scores start from a burn-in of {meta.burn_in_days:,} days "
                f"({sim.date_of(-meta.burn_in_days).isoformat()} to {sim.date_of(-1).isoformat()}"
                f", {t.get('burn_in_s', 0.0):.1f} s): the records of those days, no metrics"
            ]
            if meta.burn_in_days
            else []
        ),
        f"  time: set-up {t['init_s']:.1f} s, simulation {_seconds(t['run_s'])} "
        f"({_rate(meta.people * meta.days / max(t['run_s'], 1e-9) / 1e6)} million person-days/s, "
        f"{'compiled day plan' if m['engine'] == 'compiled' else 'Python loop'}); "
        f"{m['bytes_per_person']:.1f} bytes stored per person",
        *(
            [
                "  these mechanisms' kernels are not compiled yet, so the Python loop ran (the "
                "same results), compiling those it reached; a run takes the compiled day plan "
                "once all are compiled; --engine compiled compiles them first"
            ]
            if sim.plan_not_compiled
            else []
        ),
        *(
            [
                "  Python-only mechanisms (no compiled kernels, so every day runs in the Python "
                f"loop): {', '.join(sim.python_only)}"
            ]
            if sim.python_only
            else []
        ),
        *(f"  does nothing in this scenario: {line}" for line in sim.idle),
        *(
            [
                f"  scale: each simulated person stands for {meta.scale:,} people; the counts "
                "under What happened are simulated, the harm audit and metrics.parquet are in "
                f"real-population units ({meta.people * meta.scale:,} people)"
            ]
            if meta.scale != 1
            else []
        ),
        *(
            f"  ended: {e['programme']} by {e['cause']} on {e['date']} (day {e['day']}); "
            f"stopped from the next day: {', '.join(e['mechanisms'])}"
            for e in m.get("ended", [])
        ),
        "",
        "What happened:",
    ]
    lines += [f"  {line}" for line in sim.summary_lines()]
    units = f" (real-population units: x {meta.scale:,})" if meta.scale != 1 else ""
    lines += [
        "",
        f"Harm audit{units}:",
        *(f"  {line}" for line in audit_lines(result.harm_audit())),
    ]
    if result.run_dir is not None:
        files = ", ".join(["manifest.json", *(f"{t}.parquet" for t in m.get("tables", []))])
        lines += ["", f"Results: {result.run_dir}/ ({files})"]
    return lines
