"""What notebooks add to the API: tables as pandas or polars frames, and a progress bar.

``RunResult.to_pandas()``, ``RunResult.to_polars()``, ``Comparison.to_pandas()`` and
``scslab.run(..., progress=True)`` call the helpers here. pandas, polars and tqdm are optional:
a helper whose library is missing raises ``MissingExtraError``, whose one-line message names the
extra to install (``pip install 'scslab[notebook]'``), or polars itself, which no extra
installs. Owns these conversions and the bar; runs nothing and touches no table's contents.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa

NOTEBOOK_EXTRA = "notebook"


class MissingExtraError(ImportError):
    """An optional library is not installed; the message says which extra brings it."""


def need(
    module: str, what: str, extra: str | None = NOTEBOOK_EXTRA, package: str | None = None
) -> Any:
    """Import ``module`` for ``what``, or raise ``MissingExtraError`` naming what to install.

    ``extra``: the scslab extra that brings it; ``None`` for a library no extra installs, which
    the message then names itself (``package``, default ``module``).
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        name = package or module
        install = f"'scslab[{extra}]'" if extra else name
        raise MissingExtraError(f"{what} needs {name}: pip install {install}") from None


def to_pandas(table: pa.Table, what: str = "to_pandas()") -> Any:
    """``table`` as a ``pandas.DataFrame`` (needs pandas)."""
    need("pandas", what)
    return table.to_pandas()


def to_polars(table: pa.Table, what: str = "to_polars()") -> Any:
    """``table`` as a ``polars.DataFrame`` (needs polars, which no extra installs)."""
    pl = need("polars", what, extra=None)
    return pl.from_arrow(table)


ProgressCallbacks = tuple[Callable[[int], None], Callable[[int], None]]
"""``(on_day, on_compile)`` for ``api.run``."""


@contextlib.contextmanager
def progress_bar(total: int, label: str) -> Iterator[ProgressCallbacks]:
    """A bar of ``total`` days: tqdm's (a widget in Jupyter) when installed, else rich's.

    Yields the ``on_day`` and ``on_compile`` callbacks that ``api.run`` takes; the bar closes
    when the block ends, also on an error.
    """
    try:
        from tqdm.auto import tqdm
    except ImportError:
        tqdm = None
    if tqdm is not None:
        bar = tqdm(total=total, desc=label, unit="day", file=sys.stderr)

        def on_day(day: int) -> None:
            bar.set_description_str(label, refresh=False)
            bar.update(day - bar.n)

        def on_compile(count: int) -> None:
            bar.set_description_str(f"{label}: compiling kernels ({count}; first run only)")

        try:
            yield on_day, on_compile
        finally:
            bar.close()
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("days"),
        console=Console(stderr=True),
    )
    with progress:
        task = progress.add_task(label, total=total)
        yield (
            lambda day: progress.update(task, completed=day, description=label),
            lambda count: progress.update(
                task, description=f"{label}: compiling kernels ({count}; first run only)"
            ),
        )
