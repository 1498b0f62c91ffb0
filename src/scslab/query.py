"""SQL over run folders: DuckDB views of every run's manifest and Parquet tables.

``query(sql, runs="runs")`` finds every run folder under ``runs`` (a folder holding a
``manifest.json`` with a scenario, at any depth) and answers ``sql`` over these views:

- ``runs``: one row per run: ``run`` (its folder, relative to ``runs``), ``scenario``, ``people``,
  ``days``, ``seed``, ``scale``, ``start_date``, ``status``, ``engine``, ``run_s``;
- ``metrics``: every run's ``metrics.parquet``, one row per run and day, with a ``run`` column
  (runs with different mechanisms have different columns: missing ones are NULL);
- one view per other table the runs wrote (``groups``...), the same way.

A table file DuckDB cannot read (a damaged ``metrics.parquet``) is left out of its view, with a
one-line warning naming it (``on_skip``), so that the other runs can still be queried.

Reads run folders and writes nothing: the SQL may hold only ``SELECT`` (``SHOW``, ``DESCRIBE``,
``SUMMARIZE``...) and ``EXPLAIN`` statements, and once the views are made the connection reads
no file but the runs' tables (DuckDB's ``enable_external_access = false`` with those files as
``allowed_paths``; ``COPY ... TO``, ``ATTACH``, ``INSTALL`` and reading other files are refused).
Needs the ``query`` extra (``pip install 'scslab[query]'``). Owns no simulation code.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

from scslab.errors import ScenarioError

EXTRA_HINT = "scslab query needs DuckDB: pip install 'scslab[query]'"

READ_ONLY = ("SELECT", "EXPLAIN")
"""The statement types a query may hold (DuckDB's ``StatementType`` names; SHOW, DESCRIBE and
SUMMARIZE are SELECTs)."""


class QueryError(ScenarioError):
    """The query or the runs folder cannot be used; the message is one line for the user."""


def _duckdb() -> Any:
    try:
        import duckdb
    except ImportError:
        raise QueryError(EXTRA_HINT) from None
    return duckdb


def run_folders(runs: Path, on_skip: Callable[[str], None] | None = None) -> list[Path]:
    """Run folders under ``runs``: folders with a run's ``manifest.json``, in name order.

    A ``manifest.json`` that cannot be read (damaged, or half-written by a crash) is left out and
    reported to ``on_skip`` (default: a ``UserWarning``), one line naming it. Hidden folders
    (``.NAME``: a sweep run's partial folder, which its retry replaces) are not runs.
    """
    skip = on_skip or _warn
    found = []
    for manifest in sorted(Path(runs).rglob("manifest.json")):
        if any(part.startswith(".") for part in manifest.relative_to(runs).parts):
            continue  # a hidden folder: a sweep run's partial folder, killed mid-run
        try:
            data = json.loads(manifest.read_text())
        except (OSError, ValueError) as err:
            why = err.strerror if isinstance(err, OSError) else "not valid JSON"
            skip(f"{manifest}: cannot be read ({why}); its run is left out")
            continue
        if isinstance(data, dict) and "scenario" in data:
            found.append(manifest.parent)
    return found


def _run_row(runs: Path, folder: Path) -> dict[str, Any]:
    data = json.loads((folder / "manifest.json").read_text())
    meta = data.get("scenario", {})
    meta = meta.get("scenario", meta) if isinstance(meta, dict) else {}
    timings = data.get("timings", {}) or {}
    return {
        "run": folder.relative_to(runs).as_posix(),
        "scenario": meta.get("name"),
        "people": meta.get("people"),
        "days": meta.get("days"),
        "seed": meta.get("seed"),
        "scale": meta.get("scale"),
        "start_date": str(meta.get("start_date")) if meta.get("start_date") else None,
        "status": data.get("status"),
        "engine": data.get("engine"),
        "run_s": timings.get("run_s"),
    }


def _warn(message: str) -> None:
    warnings.warn(message, stacklevel=3)


def connect(runs: str | Path = "runs", on_skip: Callable[[str], None] | None = None) -> Any:
    """A read-only DuckDB connection with the views ``runs``, ``metrics`` and the other tables.

    A table file DuckDB cannot read is left out of its view and reported to ``on_skip`` as one
    line naming it (default: a ``UserWarning``). The connection can read the runs' tables only,
    and write nothing (see the module docstring).

    Raises:
        QueryError: DuckDB is missing, ``runs`` is not a folder, or it holds no run.
    """
    return _connect(runs, on_skip)[0]


def _connect(runs: str | Path, on_skip: Callable[[str], None] | None) -> tuple[Any, set[str]]:
    """``connect``'s connection, and the tables left with no view: every file unreadable."""
    duckdb = _duckdb()
    root = Path(runs)
    if not root.is_dir():
        raise QueryError(f"{root}: not a folder; give the folder that holds run folders (--runs)")
    skip = on_skip or _warn
    folders = run_folders(root, skip)
    if not folders:
        raise QueryError(f"{root}: no run folders (folders with a run's manifest.json) under it")
    con = duckdb.connect(":memory:")
    con.register("runs_arrow", pa.Table.from_pylist([_run_row(root, f) for f in folders]))
    con.execute("CREATE TABLE runs AS SELECT * FROM runs_arrow")
    con.unregister("runs_arrow")
    tables: dict[str, list[tuple[str, str]]] = {}
    unreadable: set[str] = set()
    for folder in folders:
        for parquet in sorted(folder.glob("*.parquet")):
            if not parquet.stem.isidentifier() or parquet.stem == "runs":
                continue  # not a name SQL can use bare
            path = str(parquet.resolve())
            try:  # reads the file's footer, as the view does
                con.execute(f"DESCRIBE SELECT * FROM read_parquet({_quote(path)})")
            except duckdb.Error as err:
                reason = " ".join(str(err).split("LINE 1:")[0].split())
                reason = reason if len(reason) <= 200 else reason[:197] + "..."
                skip(
                    f"{parquet}: not a readable Parquet file ({reason}); left out of the view "
                    f"{parquet.stem}"
                )
                unreadable.add(parquet.stem)
                continue
            tables.setdefault(parquet.stem, []).append((path, folder.relative_to(root).as_posix()))
    for name, files in tables.items():
        union = " UNION ALL BY NAME ".join(
            f"SELECT {_quote(run)} AS run, * FROM read_parquet({_quote(path)})"
            for path, run in files
        )
        con.execute(f'CREATE VIEW "{name}" AS {union}')
    _lock(con, duckdb, [path for files in tables.values() for path, _ in files])
    return con, unreadable - set(tables)


def _lock(con: Any, duckdb: Any, paths: list[str]) -> None:
    """Let ``con`` read the files ``paths`` and no other file, and change no setting."""
    try:
        con.execute("SET allowed_paths = " + "[" + ", ".join(_quote(p) for p in paths) + "]")
    except duckdb.Error:  # DuckDB before 1.2: no allowed paths; the statement check remains
        return
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def _check_statements(sql: str, duckdb: Any) -> None:
    """Refuse empty SQL, more than one statement, or one that could write files.

    Of several statements only the last one's answer would be shown; any statement but SELECT,
    SHOW, DESCRIBE, SUMMARIZE and EXPLAIN could write files.
    """
    if not sql.strip():
        raise QueryError('empty SQL; give a query such as "SELECT * FROM runs"')
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as err:
        raise QueryError(f"query failed: {' '.join(str(err).split())}") from None
    if not statements:
        raise QueryError(
            'empty SQL (only comments or ";"); give a query such as "SELECT * FROM runs"'
        )
    for statement in statements:
        kind = getattr(statement.type, "name", str(statement.type))
        if kind not in READ_ONLY:
            # DuckDB files CHECKPOINT (and other pragmas) under CALL, INSTALL under LOAD: such a
            # statement is named by its first word; any other by its type (WITH ... INSERT)
            words = str(getattr(statement, "query", "")).split()
            named = kind
            if kind in ("CALL", "LOAD") and words and words[0].isalpha():
                named = words[0].upper()
            raise QueryError(
                f"{named} statements are not allowed: scslab query only reads (SELECT, SHOW, "
                "DESCRIBE, SUMMARIZE, EXPLAIN)"
            )
    if len(statements) > 1:  # only the last one's answer would be shown
        raise QueryError(
            f"{len(statements)} statements; scslab query answers one at a time (run it once "
            "for each)"
        )


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def query(
    sql: str, runs: str | Path = "runs", on_skip: Callable[[str], None] | None = None
) -> pa.Table:
    """Answer ``sql`` over the run folders under ``runs`` (see the module docstring).

    ``on_skip`` is told, one line each, of the table files left out because DuckDB cannot read
    them (default: a ``UserWarning``).

    Raises:
        QueryError: DuckDB is missing, there are no runs, the SQL is empty or would write, or it
            fails (one line, DuckDB's own message).
    """
    duckdb = _duckdb()
    _check_statements(sql, duckdb)
    con, unreadable = _connect(runs, on_skip)
    try:
        relation = con.sql(sql)
        if relation is None:  # a statement with no answer (SET, CREATE ...)
            return pa.table({})
        # DuckDB 2 names it to_arrow_table; DuckDB 1 arrow
        to_arrow = getattr(relation, "to_arrow_table", None) or relation.arrow
        return to_arrow()
    except duckdb.Error as err:
        message = " ".join(str(err).split())
        views = ", ".join(sorted(r[0] for r in con.execute("SHOW TABLES").fetchall()))
        lost = sorted(name for name in unreadable if f"with name {name} does not" in message)
        if lost:  # DuckDB's "does not exist! Did you mean ...?" hides why
            raise QueryError(
                f"query failed: no run's {lost[0]}.parquet could be read (each was left out, "
                f"as warned); views: {views}"
            ) from None
        raise QueryError(f"query failed: {message} (views: {views})") from None
    finally:
        con.close()
