"""The text files a user gives (a scenario, a sweep file, calibration data), read with a bound.

Such a file is a few kilobytes. A path that never ends (``/dev/zero``, ``/dev/urandom``) or a
file of gigabytes given by mistake was read whole into memory, until the system's out-of-memory
killer ended the command, or another process beside it. ``read_input_text`` reads at most
``MAX_INPUT_BYTES`` and refuses a longer input in one line; a pipe (``scslab run <(...)``) is
read as a file is.

Owns that bound, that read and the byte-order mark some editors write first (dropped); what the
text means is the reader's (``scenario``, ``sweep``, ``calibrate``). It imports nothing of the
package (layer 0, ``tests/test_layers.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

MAX_INPUT_BYTES = 16 * 1024 * 1024
"""The longest input file read (an assumption: thousands of times a scenario file, or a
calibration table of a few hundred thousand rows)."""


class InputTooLargeError(ValueError):
    """An input file longer than ``MAX_INPUT_BYTES``; the message is one line for the user."""


def read_input_text(path: str | Path | Any, what: str, limit: int | None = None) -> str:
    """The UTF-8 text of ``path``, which the user gave as a ``what`` (a scenario file, ...).

    ``path`` may be a path or anything with ``open(mode)`` (a file of the package's data, as
    ``importlib.resources`` gives it).

    Raises:
        InputTooLargeError: It holds more than ``limit`` bytes (default ``MAX_INPUT_BYTES``);
            nothing more is read.
        OSError: It cannot be opened or read.
        UnicodeDecodeError: It is not UTF-8 text.
    """
    limit = MAX_INPUT_BYTES if limit is None else limit
    with Path(path).open("rb") if isinstance(path, str) else path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        bound = f"{limit / 2**20:g} MiB" if limit >= 2**20 else f"{limit:,} bytes"
        raise InputTooLargeError(
            f"{path}: more than {bound}, not a {what} (one is a few kilobytes); give the path "
            "of the file"
        )
    return without_bom(data.decode("utf-8"))


def without_bom(text: str) -> str:
    """``text`` without the byte-order mark that some editors (Windows Notepad) put first.

    TOML and CSV readers took it for part of the first key, and refused a valid file.
    """
    return text.removeprefix("\ufeff")
