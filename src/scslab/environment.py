"""The environment variables scslab reads before numba starts: refused in one line if unusable.

numba reads ``NUMBA_NUM_THREADS`` once, as it is imported, and a value below 1 stops that import
with a traceback from deep inside numba (a value that is not a whole number it ignores, with a
warning, and takes every core: not what was asked for either). ``refuse_unusable_threads`` runs as
this module is imported, which the package's ``__init__`` does before anything that imports numba,
and names the variable, its value and what is allowed. From the command line (the ``scslab`` script
, ``python -m scslab`` or ``python -m scslab.cli``) that is one line on stderr and exit status 2,
as for any bad input, since the check runs before the command line's own error handling exists.

Owns that check only. It imports nothing of the package and nothing that imports numba, and it
must stay in layer 0 (``tests/test_layers.py``), so that the package's ``__init__`` can call it
first.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Mapping
from pathlib import PureWindowsPath

THREADS_VARIABLE = "NUMBA_NUM_THREADS"


class EnvironmentSettingError(RuntimeError):
    """An environment variable that scslab cannot start with; the message is one line.

    Not an ``ImportError``: scslab is installed, and a study's ``try: import scslab / except
    ImportError`` (an optional dependency's usual check) would hide the setting to change.
    """


def threads_problem(environ: Mapping[str, str]) -> str | None:
    """What is wrong with ``NUMBA_NUM_THREADS`` in ``environ``, or None if numba can start."""
    value = environ.get(THREADS_VARIABLE)
    if value is None:
        return None
    try:
        threads = int(value)
    except ValueError:
        threads = 0  # numba would warn and take every core: not what was asked for
    if threads >= 1:
        return None
    shown = value if value.strip() else repr(value)  # an empty value, named as one
    return (
        f"{THREADS_VARIABLE}={shown}: the number of threads must be a whole number of at least 1; "
        "unset it to use every core"
    )


COMMAND_MODULES = ("scslab", "scslab.cli")
"""The modules that ``python -m`` runs as the ``scslab`` command (``__main__.py``, ``cli.py``)."""


def _is_command_line(argv: list[str], orig_argv: list[str]) -> bool:
    """Whether a process with these arguments is the ``scslab`` command.

    Its script under any name an installer gives it (``scslab``, ``scslab.exe``,
    ``scslab-script.py``), or ``python -m`` with one of ``COMMAND_MODULES`` (``-m scslab`` or
    ``-mscslab``): Python's ``argv[0]`` is ``-m`` while it imports that module's package, and
    the interpreter's own ``-m`` is the first one among its arguments.
    """
    script = PureWindowsPath(argv[0]).name if argv else ""  # either kind of slash
    if script.split(".")[0].removesuffix("-script") == "scslab":
        return True
    if script != "-m":
        return False
    for first, second in itertools.pairwise([*orig_argv, ""]):
        if first == "-m":
            return second in COMMAND_MODULES
        if first.startswith("-m"):
            return first[2:] in COMMAND_MODULES
    return False


def refuse_unusable_threads() -> None:
    """Stop here, naming the variable, if numba could not start with this environment.

    From the command line: one line on stderr and exit status 2. Elsewhere (``import scslab``):
    ``EnvironmentSettingError`` with that line.
    """
    problem = threads_problem(os.environ)
    if problem is None:
        return
    if _is_command_line(list(sys.argv), list(getattr(sys, "orig_argv", ()))):
        sys.stderr.write(f"scslab: error: {problem}\n")
        raise SystemExit(2)
    raise EnvironmentSettingError(problem)


refuse_unusable_threads()
