"""SQL over run folders: DuckDB views of every run's manifest and Parquet tables.

``query(sql, runs="runs")`` finds every run folder under ``runs`` (a folder holding a
``manifest.json`` with a scenario, at any depth) and answers ``sql`` over these views:

- ``runs``: one row per run: ``run`` (its folder, relative to ``runs``), ``scenario``, ``people``,
  ``days``, ``seed``, ``scale``, ``start_date``, ``status``, ``engine``, ``run_s``;
- ``metrics``: every run's ``metrics.parquet``, one row per run and day, with a ``run`` column
  (runs with different mechanisms have different columns: missing ones are NULL);
- one view per other table the runs wrote (``groups``...), the same way.

Needs the ``query`` extra (``pip install 'scslab[query]'``). Reads run folders and writes
nothing; owns no simulation code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa

from scslab.errors import ScenarioError

EXTRA_HINT = "scslab query needs DuckDB: pip install 'scslab[query]'"


class QueryError(ScenarioError):
    """The query or the runs folder cannot be used; the message is one line for the user."""


def _duckdb() -> Any:
    try:
        import duckdb
    except ImportError:
        raise QueryError(EXTRA_HINT) from None
    return duckdb


def run_folders(runs: Path) -> list[Path]:
    """Run folders under ``runs``: folders with a run's ``manifest.json``, in name order."""
    found = []
    for manifest in sorted(Path(runs).rglob("manifest.json")):
        try:
            data = json.loads(manifest.read_text())
        except (OSError, ValueError):
            continue  # not a run's manifest (or half-written by a crash): skip it
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


def connect(runs: str | Path = "runs") -> Any:
    """A DuckDB connection with the views ``runs``, ``metrics`` and the runs' other tables.

    Raises:
        QueryError: DuckDB is missing, ``runs`` is not a folder, or it holds no run.
    """
    duckdb = _duckdb()
    root = Path(runs)
    if not root.is_dir():
        raise QueryError(f"{root}: not a folder; give the folder that holds run folders (--runs)")
    folders = run_folders(root)
    if not folders:
        raise QueryError(f"{root}: no run folders (folders with a run's manifest.json) under it")
    con = duckdb.connect(":memory:")
    con.register("runs_arrow", pa.Table.from_pylist([_run_row(root, f) for f in folders]))
    con.execute("CREATE TABLE runs AS SELECT * FROM runs_arrow")
    con.unregister("runs_arrow")
    tables: dict[str, list[tuple[str, str]]] = {}
    for folder in folders:
        for parquet in sorted(folder.glob("*.parquet")):
            tables.setdefault(parquet.stem, []).append(
                (str(parquet), folder.relative_to(root).as_posix())
            )
    for name, files in tables.items():
        if not name.isidentifier() or name == "runs":
            continue  # not a name SQL can use bare
        union = " UNION ALL BY NAME ".join(
            f"SELECT {_quote(run)} AS run, * FROM read_parquet({_quote(path)})"
            for path, run in files
        )
        con.execute(f'CREATE VIEW "{name}" AS {union}')
    return con


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def query(sql: str, runs: str | Path = "runs") -> pa.Table:
    """Answer ``sql`` over the run folders under ``runs`` (see the module docstring).

    Raises:
        QueryError: DuckDB is missing, there are no runs, or the SQL fails (one line, DuckDB's
            own message).
    """
    con = connect(runs)
    duckdb = _duckdb()
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
        raise QueryError(f"query failed: {message} (views: {views})") from None
    finally:
        con.close()
