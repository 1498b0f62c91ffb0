"""Processes sharing a kernel cache compile each kernel once between them (``kernels/cache.py``).

Two fresh processes start at the same instant on an empty cache and build the same population,
which compiles a few of the package's kernels. With the compile lock, each of those kernels is
compiled by one process only; the other waits and loads it. The control run takes the lock away
(``LOCK_WAIT_S = 0``: a process that does not get the lock at once compiles anyway), and then
both compile the same kernels, so the test can fail.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from collections import Counter

import pytest
from numba.core import event

_SCRIPT = """
import json, os, sys, time
from numba.core import event
compiled = []
class Seen(event.Listener):
    def on_start(self, ev): pass
    def on_end(self, ev):
        f = ev.data["dispatcher"].py_func
        if f.__module__.startswith("scslab."):
            compiled.append(f.__module__ + "." + f.__qualname__)
event.register("numba:compile", Seen())
import scslab.kernels.cache as cache
cache.LOCK_WAIT_S = float(sys.argv[2])
from scslab.population import Population, PopulationParams
while not os.path.exists(sys.argv[1]):
    time.sleep(0.005)
Population(n=1_000, seed=1, params=PopulationParams())
print(json.dumps(compiled))
"""


def _race(tmp_path, wait_s: float) -> Counter:
    """The package kernels the two processes compiled, counted over both."""
    go = tmp_path / "go"
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _SCRIPT, str(go), str(wait_s)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    time.sleep(3)  # both imported scslab and are waiting
    go.touch()
    outs = [json.loads(p.communicate(timeout=600)[0].strip().splitlines()[-1]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    return Counter(name for out in outs for name in out)


def test_two_processes_compile_each_kernel_once_between_them(tmp_path):
    counts = _race(tmp_path / "locked", wait_s=600)
    assert counts and max(counts.values()) == 1, counts  # nothing compiled twice
    control = _race(tmp_path / "unlocked", wait_s=0)
    assert max(control.values()) == 2, control  # without the lock both compile the same kernels
    assert set(control) == set(counts)


_KERNELS = """
from numba import njit

@njit(cache=True)
def doubled(x):
    return 2 * x

@njit(cache=True)
def broken(x):
    return x + "text"
"""


def _kernels(tmp_path, monkeypatch):
    """A module of two cached kernels in ``tmp_path``, keyed by their sources like the package's.

    Their cache is in ``tmp_path`` too, wherever the caller's ``NUMBA_CACHE_DIR`` points.
    """
    import importlib.util

    import numba

    from scslab.kernels.cache import SourcesCache, key_by_sources

    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "lock_kernels.py"
    path.write_text(_KERNELS)
    spec = importlib.util.spec_from_file_location("lock_kernels", path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "lock_kernels", module)
    spec.loader.exec_module(module)
    for kernel in (module.doubled, module.broken):
        assert key_by_sources(kernel) and isinstance(kernel._cache, SourcesCache)
    return module


class _HeldAtEnd(event.Listener):
    """Records, at the end of each compile, whether the kernel still holds its compile lock."""

    def __init__(self) -> None:
        self.held: list[bool] = []

    def on_start(self, ev: event.Event) -> None:
        pass

    def on_end(self, ev: event.Event) -> None:
        self.held.append(bool(ev.data["dispatcher"]._cache._held))


def test_the_lock_is_held_from_the_compile_to_the_save(tmp_path, monkeypatch):
    """A successful compile keeps its lock until its kernel is saved, then drops it."""
    module = _kernels(tmp_path, monkeypatch)
    seen = _HeldAtEnd()
    with event.install_listener("numba:compile", seen):
        assert module.doubled(21) == 42
    assert seen.held == [True]  # still locked when the compile ended: nobody compiles it twice
    assert not module.doubled._cache._held  # and released once saved
    assert list(tmp_path.rglob("*doubled*.nbi"))
    # its lock file goes with it: lock files are named by the code, and were left by the
    # thousand (one per kernel, signature and version); only the index's save lock stays
    locks = {p.name.split(".nbi.")[-1] for p in tmp_path.rglob("*doubled*.lock")}
    assert locks == {"save.lock"}


def test_a_failed_compile_releases_its_lock(tmp_path, monkeypatch):
    """A compile that fails saves nothing, and drops its lock at once (no waiter is stuck)."""
    import pytest
    from numba.core.errors import TypingError

    from scslab.kernels.cache import _CompileLock

    module = _kernels(tmp_path, monkeypatch)
    taken = []
    real_init = _CompileLock.__init__

    def seen(self, path):
        real_init(self, path)
        taken.append(self)

    monkeypatch.setattr(_CompileLock, "__init__", seen)
    with pytest.raises(TypingError):
        module.broken(1)
    assert not module.broken._cache._held
    assert len(taken) == 1, "the miss took a lock"
    assert not os.path.exists(taken[0].path)  # released, and its file removed
    other = _CompileLock(taken[0].path)  # the next miss takes it at once
    try:
        assert other.acquire(0)
    finally:
        other.discard()


@pytest.mark.parametrize("error", [errno.ENOLCK, errno.EOPNOTSUPP])
def test_a_file_system_without_locks_compiles_saves_and_loads(tmp_path, monkeypatch, error):
    """A cluster's shared folder may have no locks: ``flock`` fails with ENOLCK (NFS mounted
    without a lock service) or EOPNOTSUPP, and every kernel's first compile failed on it. A
    process now goes on as the lock's holder: the kernel compiles, is saved, and loads."""
    from scslab.kernels import cache

    def no_locks(fd: int, operation: int) -> None:
        raise OSError(error, os.strerror(error))

    monkeypatch.setattr(cache.fcntl, "flock", no_locks)
    module = _kernels(tmp_path, monkeypatch)
    seen = _HeldAtEnd()
    with event.install_listener("numba:compile", seen):
        assert module.doubled(21) == 42
    assert seen.held == [True] and not module.doubled._cache._held
    assert list(tmp_path.rglob("*doubled*.nbi"))
    again = _kernels(tmp_path, monkeypatch)  # a fresh module over the same cache
    loaded = _HeldAtEnd()
    with event.install_listener("numba:compile", loaded):
        assert again.doubled(21) == 42
    assert loaded.held == []  # loaded from the cache, not compiled


def _slow_index_writes(monkeypatch) -> None:
    """Make each index write wait, so that two saves overlap as on a busy machine."""
    from scslab.kernels import cache

    write = cache.IndexDataCacheFile._save_index

    def slow(self, overloads):
        time.sleep(0.3)
        write(self, overloads)

    monkeypatch.setattr(cache.IndexDataCacheFile, "_save_index", slow)


def test_two_saves_of_one_kernel_at_once_keep_each_its_own_code(tmp_path, monkeypatch) -> None:
    """Two signatures saved at once: each index entry names its own data, never the other's.

    numba's own save picks the data file name, then writes the index, then the data; two saves
    at once pick the same name, and one signature's entry names the other's machine code. The
    save under ``_TolerantIndex`` takes turns: run without its lock (numba's), this test fails.
    """
    import threading

    from scslab.kernels.cache import IndexDataCacheFile, _TolerantIndex

    _slow_index_writes(monkeypatch)

    def saves(index_class) -> dict:
        folder = tmp_path / index_class.__name__
        folder.mkdir()
        index = [index_class(str(folder), "kernel", "stamp") for _ in range(2)]
        threads = [
            threading.Thread(target=index[i].save, args=(f"sig{i}", f"code for sig{i}"))
            for i in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        reader = index_class(str(folder), "kernel", "stamp")
        return {key: reader.load(key) for key in ("sig0", "sig1")}

    assert saves(_TolerantIndex) == {"sig0": "code for sig0", "sig1": "code for sig1"}
    assert saves(IndexDataCacheFile) != {"sig0": "code for sig0", "sig1": "code for sig1"}


def test_a_cache_file_of_other_argument_types_is_not_loaded() -> None:
    from numba import types

    from scslab.kernels.cache import SourcesCache

    class Found:
        class signature:  # noqa: N801 (numba's attribute name)
            args = (types.int64, types.float64)

    found = Found()
    assert SourcesCache._checked(found, (types.int64, types.float64)) is found
    assert SourcesCache._checked(found, (types.int64, types.int64)) is None
    assert SourcesCache._checked(None, (types.int64,)) is None


def test_a_version_s_save_never_feeds_another_version_s_reader(tmp_path, monkeypatch) -> None:
    """Two code versions share a cache folder: a reader of one never loads the other's code.

    An index holds one version's stamp; the other version's save read it as empty and numbered
    its data file 1 again, the file the first version's index still named, then rewrote the
    index. A reader of the first version between those two writes, or one that had read its
    index just before the save, loaded the other version's machine code (``uniform`` gave
    0.0658 where its own code gives 0.1316). Now each data file holds its stamp and key.
    """
    from numba.core.caching import IndexDataCacheFile

    from scslab.kernels.cache import _TolerantIndex

    folder = str(tmp_path)
    old = _TolerantIndex(folder, "kernel", "old code")
    new = _TolerantIndex(folder, "kernel", "new code")
    old.save("sig", "old machine code")
    assert old.load("sig") == "old machine code"
    index_before = old._load_index()

    read_in_the_window = []
    write_index = _TolerantIndex._save_index

    def paused(self, overloads):  # the new version's data is written, its index not yet
        read_in_the_window.append(old.load("sig"))
        write_index(self, overloads)

    monkeypatch.setattr(_TolerantIndex, "_save_index", paused)
    new.save("sig", "new machine code")
    assert read_in_the_window == [None]
    assert new.load("sig") == "new machine code"
    assert old.load("sig") is None  # the index is the new version's now

    monkeypatch.setattr(old, "_load_index", lambda: index_before)  # read before the save
    assert old.load("sig") is None
    assert old.load("another sig") is None

    plain = IndexDataCacheFile(folder, "earlier", "old code")  # a file saved with no stamp
    plain.save("sig", "earlier machine code")
    assert _TolerantIndex(folder, "earlier", "old code").load("sig") is None
