"""numba's on-disk cache, keyed by the package's sources: no kernel ever runs stale code.

numba keys a cached kernel by its own bytecode and its file's time stamp, not by the kernels it
calls or inlines from other modules, whose machine code it embeds: after an edit of
``kernels/rng.py`` (or a ``git pull`` into an editable install) a kernel of an unchanged module
would keep the old random numbers, and a run would silently differ from a fresh install. Every
kernel of the package is therefore cached under a digest of the package's source files as well:
any change to them compiles every kernel again once (about a minute and a half on two cores), and
the same sources always load the same code. The outer layer (``OUTSIDE_KERNELS``: the command
line, the API, run folders, scenario files) feeds no kernel and is left out of the digest.
"""

from __future__ import annotations

import functools
import hashlib
import sys
from pathlib import Path
from typing import Any

from numba.core.caching import FunctionCache
from numba.core.registry import CPUDispatcher

PACKAGE = Path(__file__).resolve().parent.parent

OUTSIDE_KERNELS = frozenset(
    {"cli.py", "api.py", "results.py", "scenario.py", "errors.py", "version.py"}
)
"""Modules of the package that no kernel calls or reads a constant from."""


@functools.cache
def sources_digest() -> str:
    """A digest of the package's source files that kernels may depend on (any edit changes it)."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE).as_posix()
        if name not in OUTSIDE_KERNELS:
            digest.update(name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


class SourcesCache(FunctionCache):
    """numba's cache of one kernel, with entries that hold only for the package's sources."""

    def _index_key(self, sig, codegen):
        return (*super()._index_key(sig, codegen), sources_digest())


def key_by_sources(dispatcher: Any) -> bool:
    """Cache ``dispatcher`` under the package's sources if it caches at all; True if changed."""
    cache = getattr(dispatcher, "_cache", None)
    if type(cache) is not FunctionCache:  # not cached (NullCache), or keyed already
        return False
    dispatcher._cache = SourcesCache(dispatcher.py_func)
    return True


def key_package_caches() -> int:
    """Key the cache of every kernel in the package's imported modules; returns how many."""
    changed = 0
    for name, module in list(sys.modules.items()):
        if name != "scslab" and not name.startswith("scslab."):
            continue
        for value in list(vars(module).values()):
            for dispatcher in (
                value,
                getattr(value, "threaded", None),
                getattr(value, "one_thread", None),
            ):
                if isinstance(dispatcher, CPUDispatcher):
                    changed += key_by_sources(dispatcher)
    return changed
