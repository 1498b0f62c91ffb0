"""Run directories: ``manifest.json`` and ``metrics.parquet``, written atomically.

A run directory is created with a manifest whose ``status`` is ``"incomplete"`` before the first
day. Every file is written beside its final name and renamed into place, and the manifest is
switched to ``"complete"`` only after the metrics are in place; so an interrupted or crashed run
can never look complete.

Owns the run folder's layout, the manifest, the metrics table (counts scaled to real people by
``scale``) and the checks that a folder may be used. It computes no metric and reads no
simulation state beyond the columns and manifest it is given.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq


class RunDirError(ValueError):
    """The output folder cannot be used; the message is one line for the user."""


CHOOSE_ANOTHER = "choose another output folder (--out, or out= in Python)"
"""What to do about an output folder refused here, said for the command line and for Python."""


def check_run_dir(path: Path) -> Path:
    """Refuse a run directory that already has files, or that cannot be made (leaves nothing)."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise RunDirError(f"{path}: is a file, not a folder; {CHOOSE_ANOTHER}")
    if path.exists() and any(path.iterdir()):
        raise RunDirError(f"{path}: already exists and is not empty; {CHOOSE_ANOTHER}")
    why = cannot_create(path)
    if why is not None:
        raise RunDirError(why)
    return path


def cannot_create(path: Path) -> str | None:
    """Why the missing folder ``path`` cannot be made, in one line; None if it can be.

    A file above it, a folder that takes no writes (``/proc``), a symbolic link to nothing or
    in a loop. A folder of a unique name is made in the nearest folder above that exists, and
    removed again, so that what only ``mkdir`` knows (a read-only or virtual file system) is
    found before anything runs; nothing is left either way.
    """
    path = Path(path)
    if path.exists():
        return None
    for part in (path, *path.parents):  # a link to nothing on the way: mkdir says "exists"
        if part.is_symlink() and not part.exists():
            where = "is" if part == path else f"is under {part}, which is"
            return f"{path}: {where} a symbolic link to nothing (or in a loop); {CHOOSE_ANOTHER}"
    above = next((p for p in path.absolute().parents if p.exists()), None)
    if above is None:
        return None
    if not above.is_dir():
        return f"{path}: cannot be created: {above} is a file; {CHOOSE_ANOTHER}"
    if not os.access(above, os.W_OK | os.X_OK):
        return f"{path}: cannot be created: {above} is not writable; {CHOOSE_ANOTHER}"
    try:  # a folder of a unique name: no other command's path is ever made or removed here
        os.rmdir(tempfile.mkdtemp(prefix=".scslab-probe-", dir=above))
    except OSError as err:
        return f"{path}: cannot be created ({err.strerror}); {CHOOSE_ANOTHER}"
    return None


@contextlib.contextmanager
def writing(run_dir: Path) -> Iterator[None]:
    """Hold the run folder ``run_dir`` for writing: one process at a time.

    A ``flock`` on the folder itself (no file is added to it), released by the system if the
    process dies. Without it ``resume`` of a run that was still going wrote the same folder
    beside it: two processes, one manifest. Where the file system cannot lock a folder (NFS
    emulates ``flock`` with write locks, which a folder cannot take: ``EBADF``; ``ENOLCK``
    without a lock service) the run goes on unguarded, as it would have before the lock.

    Raises:
        RunDirError: Another process is writing the folder (one line).
    """
    fd = os.open(run_dir, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunDirError(
                f"{run_dir}: another process is writing this run now; wait until it stops"
            ) from None
        except OSError:  # no lock on this file system: nobody can be kept out
            pass
        yield
    finally:
        os.close(fd)  # closing the descriptor drops its lock


def prepare_run_dir(path: Path) -> Path:
    """Create an empty run directory; refuse to overwrite one that has files."""
    path = check_run_dir(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise RunDirError(f"{path}: cannot create the run folder ({err.strerror})") from None
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: Path, write: Any) -> None:
    """Write ``path`` by calling ``write(tmp)`` on a file beside it, then renaming it into place.

    A crash leaves the old file or none, never half of one; the file gets the usual permissions
    (0666 less the umask), not the private ones of a temporary file.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_manifest(run_dir: Path, manifest: dict[str, Any]) -> None:
    """Atomically (re)write ``manifest.json``."""

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(manifest, fh, indent=2, default=str)
            fh.write("\n")

    atomic_write(run_dir / "manifest.json", write)


MONEY_SUFFIX = "_yuan"
"""A float metric column so named is a sum of money over people, scaled like a count."""


def metrics_table(columns: dict[str, list[Any]], scale: int = 1) -> pa.Table:
    """Daily metric columns as an Arrow table (one row per simulated day).

    With ``scale`` K (one simulated person stands for K real people) every integer column but
    ``day`` is a count of people or events and is multiplied by K: real-population units. So is a
    sum of money (a float column named ``..._yuan``: yuan paid to people). Other float columns
    (means, shares) are unchanged.
    """
    out = {}
    for k, v in columns.items():
        arr = pa.array(v)
        if scale != 1 and k != "day" and pa.types.is_integer(arr.type):
            arr = pa.array([None if x is None else x * scale for x in v], pa.int64())
        elif scale != 1 and k.endswith(MONEY_SUFFIX) and pa.types.is_floating(arr.type):
            arr = pa.array([None if x is None else x * scale for x in v], pa.float64())
        out[k] = arr
    return pa.table(out)


def write_table(run_dir: Path, name: str, table: pa.Table) -> None:
    """Atomically write ``NAME.parquet``."""
    atomic_write(run_dir / f"{name}.parquet", lambda tmp: pq.write_table(table, tmp))


def write_metrics(run_dir: Path, table: pa.Table) -> None:
    """Atomically write ``metrics.parquet``."""
    write_table(run_dir, "metrics", table)


MANIFEST_KEYS = ("status", "scenario", "timings", "plan")
"""Keys every run's manifest has, complete or not (``api._manifest`` writes them)."""


def read_manifest(run_dir: Path) -> dict[str, Any]:
    """Read a run's manifest.

    Raises:
        RunDirError: No ``manifest.json``, one that is not JSON (cut short, damaged), or one
            without a run's keys (one line, naming the file).
    """
    path = Path(run_dir) / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunDirError(f"{run_dir}: not a run folder (no manifest.json)") from None
    except (OSError, ValueError) as err:  # UnicodeDecodeError and JSONDecodeError included
        raise RunDirError(f"{path}: not readable as a run's manifest ({err})") from None
    missing = [
        key for key in MANIFEST_KEYS if not isinstance(manifest, dict) or key not in manifest
    ]
    if missing:
        raise RunDirError(f"{path}: not a run's manifest (no {', '.join(missing)})")
    return manifest


def read_run_table(run_dir: Path, name: str) -> pa.Table:
    """Read ``NAME.parquet`` of a run folder.

    Raises:
        RunDirError: The file is missing or not a readable Parquet table (one line).
    """
    path = Path(run_dir) / f"{name}.parquet"
    try:
        return pq.read_table(path)
    except FileNotFoundError:
        raise RunDirError(f"{run_dir}: the run has no {name}.parquet") from None
    except (OSError, pa.ArrowException) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise RunDirError(f"{path}: not a readable Parquet table ({reason})") from None
