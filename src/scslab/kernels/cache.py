"""numba's on-disk cache, keyed by the code a kernel depends on: never stale, rarely recompiled.

numba keys a cached kernel by a hash of its own file and its first line number, not by the
kernels it calls or inlines from other modules, whose machine code it embeds: after an edit of
``kernels/rng.py`` (or a ``git pull`` into an editable install) a kernel of an unchanged module
would keep the old random numbers. And an edit of a docstring in its file, which moves its line,
compiles it again for nothing.

Here each kernel is cached under the *code* it depends on instead:

- its module and every module of the package that module imports, directly or through others
  (imports under ``if TYPE_CHECKING:`` are for type checkers and do not count), each read as its
  syntax tree without docstrings, so comments, docstrings and moved lines change nothing;
- the modules that define the compiled records in its signature (and in their fields): a
  generic kernel such as the compiled day plan, or a reader of any scorer's record, runs the
  kernels registered for those records' types, and is compiled again when one of them changes;
- its own code object (without its docstring and line numbers), which tells apart two kernels of
  one module with the same qualified name.

Reading the modules' code (their digests and imports) is ``kernels/package_code.py``'s; this
module keys and guards the cache with it.

Editing one mechanism thus recompiles that mechanism's kernels and the kernels that run them (the
day plan for scenarios with that mechanism), and editing a docstring or a comment recompiles
nothing. A ``@kernel`` of a module outside the package (a contributor's) keeps numba's key, its
file's time stamp, beside the code of the modules its module imports, directly or not (the
package's, and the contributor's own: ``package_code.outside_modules``), and is saved, like every
kernel here, with the ``compiled_once`` builds it calls, which are published again before it is
loaded (``PublishingCache``).

Processes that share a cache compile each kernel once between them. A kernel missing from the
cache is compiled under a lock file beside its index, one per (kernel, signature): a second
process that misses it meanwhile (a sweep's Dask workers, pytest-xdist's workers, a user's two
terminals) waits, then loads what the first one saved instead of compiling it again. The lock is
held from the miss to the save (or to the failed compile: ``_release_on_failure``), is released
by the system if its process dies, and is waited on at most ``LOCK_WAIT_S`` seconds, after which
the waiter compiles anyway. Locks nest only from a kernel to the kernels it calls, which form no
cycle, so two processes never wait on each other. A holder removes its lock file as it releases
it (``_CompileLock.discard``): a warm cache holds none. On a file system that has no locks
(``flock`` fails otherwise than busy: ``ENOLCK`` on a network file system mounted without a lock
service, ``EOPNOTSUPP`` or ``ENOSYS`` on some parallel ones, as a cluster's shared folders may
be) a process goes on as if it held the lock: two processes may then both compile a kernel, and
two saves of one kernel may overlap, which the entries' stamps and keys turn into misses (see
``_TolerantIndex``), never into another kernel's code.

Owns the cache's keys and locks: ``SourcesCache``, ``PublishingCache``, the index that is saved
safely and read tolerantly, the listener that releases a failed compile's locks (registered with
numba at import) and ``key_package_caches``, which swaps the cache of every kernel of the
package's imported modules. It changes where and under what key a kernel is cached, never what a
kernel computes. Of the package it imports only ``compiled_once`` and ``package_code``, and
nothing above the kernels (``tests/test_layers.py``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import os
import pickle
import sys
import time
import types as pytypes
from typing import Any, NamedTuple

from numba import types
from numba.core import event
from numba.core.caching import (
    CompileResultCacheImpl,
    FunctionCache,
    IndexDataCacheFile,
    InTreeCacheLocator,
    UserProvidedCacheLocator,
)
from numba.core.registry import CPUDispatcher

from scslab.kernels.compiled_once import Build, needed_by, publish_again
from scslab.kernels.package_code import PACKAGE_NAME, code_digest


def _code_identity(code: pytypes.CodeType, docstring: str | None) -> str:
    """What a code object computes: its bytecode, names and constants, not its lines."""
    parts = [code.co_code.hex(), repr(code.co_names), repr(code.co_varnames)]
    for const in code.co_consts:
        if isinstance(const, pytypes.CodeType):
            parts.append(_code_identity(const, None))
        elif not (docstring is not None and const is docstring):
            parts.append(repr(const))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def record_modules(typ: Any, found: set[str] | None = None, seen: set | None = None) -> set[str]:
    """The modules defining the compiled records in ``typ`` (a signature's type).

    Every record's fields are walked once per record type (``seen``), not once per module: a
    second record of a module whose fields hold a third module's record counts that module too.
    An optional field, a typed list or dict of records, count alike.
    """
    found = set() if found is None else found
    seen = set() if seen is None else seen
    if typ in seen:
        return found
    seen.add(typ)
    if isinstance(typ, types.StructRef):
        module = type(typ).__module__
        if not module.startswith("numba."):
            found.add(module)
            for field_type in typ.field_dict.values():
                record_modules(field_type, found, seen)
    elif isinstance(typ, types.BaseTuple):
        for item in typ.types:
            record_modules(item, found, seen)
    elif isinstance(typ, types.Optional):
        record_modules(typ.type, found, seen)
    elif isinstance(typ, types.ListType):
        record_modules(typ.item_type, found, seen)
    elif isinstance(typ, types.DictType):
        record_modules(typ.key_type, found, seen)
        record_modules(typ.value_type, found, seen)
    elif isinstance(typ, types.Dispatcher):
        found.add(typ.dispatcher.py_func.__module__)
    return found


class _CodeKeyedLocator:
    """A locator mixin: the function's dependencies' code as the stamp, its code as the name."""

    _py_func: Any

    def get_source_stamp(self) -> str:
        return code_digest(self._py_func.__module__)

    def get_disambiguator(self) -> str:
        func = self._py_func
        return _code_identity(func.__code__, func.__doc__)


class _InTreeLocator(_CodeKeyedLocator, InTreeCacheLocator):
    def __init__(self, py_func: Any, py_file: str) -> None:
        super().__init__(py_func, py_file)
        self._py_func = py_func


class _UserDirLocator(_CodeKeyedLocator, UserProvidedCacheLocator):
    def __init__(self, py_func: Any, py_file: str) -> None:
        super().__init__(py_func, py_file)
        self._py_func = py_func


class _PublishingImpl(CompileResultCacheImpl):
    """numba's cached compile results, with the ``compiled_once`` builds each one calls.

    A kernel that calls a ``compiled_once`` build holds its symbol, which must be published in
    this process before the kernel's machine code is loaded: each entry names those builds, and
    loading it publishes them first.
    """

    def reduce(self, cres: Any) -> Any:
        return CalledBuilds(builds=needed_by(cres.library), compiled=super().reduce(cres))

    def rebuild(self, target_context: Any, payload: Any) -> Any:
        if isinstance(payload, CalledBuilds):  # else an entry saved before there were any
            publish_again(payload.builds)
            payload = payload.compiled
        return super().rebuild(target_context, payload)


class _CodeKeyedImpl(_PublishingImpl):
    """A package kernel's cached results, found by the code it depends on (its locators)."""

    _locator_classes = [_UserDirLocator, _InTreeLocator]  # noqa: RUF012 (numba's own layout)


class CalledBuilds(NamedTuple):
    """A cache entry: numba's compiled kernel and the ``compiled_once`` builds it calls."""

    builds: list[Build]
    compiled: Any
    """What numba saves of a compiled kernel."""


class _Entry(NamedTuple):
    """A data file's contents: what it was saved for, and the compile result numba saves."""

    stamp: Any
    """The source stamp of the index that named it: the code version it was compiled from."""
    key: Any
    """The index key it was saved under (signature, machine, bytecode, records' code)."""
    data: Any


class _TolerantIndex(IndexDataCacheFile):
    """An index that reads as empty when it cannot be read; data files that say what they hold.

    An index that reads as empty has the kernel compiled again. One written by another version
    of this module may name a record type of a module that is not importable now; numba would
    raise in the middle of a run.

    An index holds one source stamp (one version of the code): another version's index reads as
    empty, so that version's save numbers its data files from 1 again, over the files the first
    version's index still names. Two versions sharing a cache folder (two checkouts, a ``git
    pull`` while a sweep runs) then wrote one version's machine code into the file that the
    other's reader was about to load, between its index read and its data read: it ran the other
    version's code. So each data file holds the stamp and the key it was saved for beside the
    compile result (``_Entry``), and a load whose file holds another stamp or key is a miss (the
    kernel is compiled again), whatever the order of the writes and reads around it. A data file
    of an earlier scslab, which holds no stamp, is a miss once and is then saved again. Data
    files keep numba's numbering, so there are never more of them per kernel than the most
    signatures one version saved: nothing to prune.
    """

    @classmethod
    def in_place_of(cls, plain: IndexDataCacheFile, suffix: str = "") -> _TolerantIndex:
        """The index that replaces numba's ``plain`` one: its files, their names plus ``suffix``."""
        return cls(
            cache_path=plain._cache_path,
            filename_base=plain._index_name[: -len(".nbi")] + suffix,
            source_stamp=plain._source_stamp,
        )

    def _load_index(self) -> dict:
        try:
            return super()._load_index()
        except (ImportError, AttributeError, EOFError, pickle.UnpicklingError):
            return {}

    def holds(self, key: str) -> bool:
        """Whether the index on disk names ``key`` (nothing is loaded)."""
        return key in self._load_index()

    def load(self, key: Any) -> Any:
        """The compile result saved for ``key`` under this stamp, or None (a miss)."""
        name = self._load_index().get(key)
        if name is None:
            return None
        try:
            entry = self._load_data(name)
        except (OSError, ImportError, AttributeError, EOFError, pickle.UnpicklingError):
            return None  # removed since the index named it, or not readable now
        if not isinstance(entry, _Entry) or entry.stamp != self._source_stamp or entry.key != key:
            return None  # another version's code, another signature's, or an earlier format
        return entry.data

    def save(self, key: str, data: Any) -> None:
        """The save of numba's index, made safe for processes that share the cache.

        numba reads the index, picks the first data file name it does not list, writes the index,
        then the data. Two processes saving two signatures of one kernel at once both pick the
        same name, and one index entry then names the other's machine code; a process reading
        the index between the two writes loads whatever that file held before (code of an
        earlier version). Either way a kernel runs on arguments of another type: a crash. Here
        saves of one kernel take turns under a lock beside its index, and the data is written
        before the index names it, with the stamp and key it is for (see the class): a reader
        that reaches it through another version's index, or another signature's, misses. A save
        that cannot get the lock in ``SAVE_WAIT_S`` is skipped: the kernel is compiled, only not
        cached this time.
        """
        try:
            lock = _CompileLock(f"{self._index_path}.save.lock")
        except OSError:  # a cache folder that cannot be written: nothing can be saved anyway
            return
        try:
            if not lock.acquire(SAVE_WAIT_S):
                return
            overloads = self._load_index()
            name = overloads.get(key)
            if name is None:
                taken = set(overloads.values())
                name = next(
                    self._data_name(i)
                    for i in itertools.count(1)
                    if self._data_name(i) not in taken
                )
            self._save_data(name, _Entry(stamp=self._source_stamp, key=key, data=data))
            if overloads.get(key) != name:
                overloads[key] = name
                self._save_index(overloads)
        finally:
            lock.close()


SAVE_WAIT_S = 60.0
"""The longest a process waits for another's save of the same kernel (saves take milliseconds)."""

LOCK_WAIT_S = 900.0
"""The longest a process waits for another to compile a kernel before it compiles it too."""

_LOCK_POLL_S = 0.05


class _CompileLock:
    """An exclusive ``flock`` on one file, taken without blocking forever."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)

    def acquire(self, wait_s: float) -> bool:
        """Take the lock, waiting at most ``wait_s`` seconds; True if taken."""
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(_LOCK_POLL_S)
            except OSError:  # a file system without locks: go on as the holder (the module)
                return True

    def close(self) -> None:
        """Release the lock (if held) and close the file."""
        os.close(self._fd)  # closing the descriptor drops its flock

    def discard(self) -> None:
        """Remove the file, then release the lock: for a holder whose kernel is saved (or failed).

        Lock files are named by the code's digest, so a file left behind would never be used
        again: one per kernel, signature and version of the code, in every cache folder, for
        ever. A process waiting on the removed file takes the lock next and finds the kernel
        saved; one that arrives after makes a new file and finds it too. Only after a failed
        compile can two waiters then compile at once, and their saves take turns (``save``).
        """
        with contextlib.suppress(OSError):  # removed by another holder: nothing left to do
            os.unlink(self.path)
        self.close()


class SourcesCache(FunctionCache):
    """numba's cache of one kernel, keyed by the code it depends on (see the module docstring)."""

    _impl_class = _CodeKeyedImpl

    def __init__(self, py_func: Any) -> None:
        super().__init__(py_func)
        self._cache_file = _TolerantIndex.in_place_of(self._cache_file)
        self._held: dict[str, _CompileLock] = {}
        """Lock files held by this process, by index key: misses being compiled here."""

    def _lock_path(self, key: str) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()[:20]
        return os.path.join(self._cache_path, f"{self._cache_file._index_name}.{digest}.lock")

    def load_overload(self, sig: Any, target_context: Any) -> Any:
        """Load ``sig`` from the cache; on a miss, hold its lock until it is saved.

        A miss waits for any process compiling the same kernel, then looks again: if that
        process saved it, it is loaded and nothing is compiled here.
        """
        found = self._checked(super().load_overload(sig, target_context), sig)
        if found is not None:
            return found
        key = self._index_key(sig, target_context.codegen())
        if key in self._held:  # compiling it already (a recursive kernel)
            return None
        try:
            os.makedirs(self._cache_path, exist_ok=True)
            lock = _CompileLock(self._lock_path(key))
        except OSError:  # a cache folder that cannot be written: compile without a lock
            return None
        if not lock.acquire(LOCK_WAIT_S):
            lock.close()
            return None
        found = self._checked(super().load_overload(sig, target_context), sig)  # saved meanwhile?
        if found is not None:
            lock.discard()
            return found
        self._held[key] = lock
        return None

    @staticmethod
    def _checked(found: Any, sig: Any) -> Any:
        """``found`` if it was compiled for ``sig``'s argument types, else None (compile it).

        A cache file is machine code for the types it was compiled for; one written by another
        version of the code, or by the race ``_TolerantIndex.save`` closes in files written
        before it, must not run on other types.
        """
        if found is None:
            return None
        args = tuple(sig.args) if hasattr(sig, "args") else tuple(sig)
        return found if tuple(found.signature.args) == args else None

    def holds(self, sig: Any, target_context: Any) -> bool:
        """Whether ``sig`` is in the cache on disk; nothing is loaded, locked or compiled."""
        return self._cache_file.holds(self._index_key(sig, target_context.codegen()))

    def save_overload(self, sig: Any, data: Any) -> None:
        """Save ``sig``'s compiled kernel, then release its lock."""
        try:
            super().save_overload(sig, data)
        finally:
            self.release(self._index_key(sig, data.codegen))

    def release(self, key: str | None = None) -> None:
        """Release the lock of ``key`` (every lock this kernel holds when ``None``)."""
        for k in [key] if key is not None else list(self._held):
            lock = self._held.pop(k, None)
            if lock is not None:
                lock.discard()

    def _index_key(self, sig: Any, codegen: Any) -> str:
        """Numba's key (signature, machine, bytecode) and the records' code, as text.

        Text, not numba's tuple of types: an index pickles every key it holds, and a key naming
        the record type of a module that is not importable now (a contributor's mechanism run
        once from another folder) would make the whole index fail to load.
        """
        modules: set[str] = set()
        for typ in sig if isinstance(sig, tuple) else getattr(sig, "args", ()):
            record_modules(typ, modules)
        records = tuple(sorted((m, code_digest(m)) for m in modules))
        return repr((*super()._index_key(sig, codegen), records))


class _DependencyStampedLocator:
    """A locator mixin for a kernel outside the package: two stamps, not one.

    numba's stamp of its own file, and the code of the modules its module imports, directly or
    not: the package's, and the contributor's own outside the interpreter's folders
    (``code_digest``). With numba's stamp alone a contributor's kernel kept the machine code of
    the package's helpers it was compiled with (a draw of ``kernels/rng.py`` inlined into it)
    after the package changed: its results silently those of the old code; with the package's
    code alone, the machine code of a helper in another module of the contributor's.
    """

    def __init__(self, py_func: Any, py_file: str) -> None:
        super().__init__(py_func, py_file)  # type: ignore[call-arg]
        self._py_func = py_func

    def get_source_stamp(self) -> Any:
        own = super().get_source_stamp()  # type: ignore[misc]
        return (own, code_digest(self._py_func.__module__))


def _dependency_stamped(base: type) -> type:
    """``base`` (one of numba's locators) with ``_DependencyStampedLocator``'s stamp."""
    return type(f"_DependencyStamped{base.__name__}", (_DependencyStampedLocator, base), {})


class _OutsideImpl(_PublishingImpl):
    """A kernel outside the package: numba's locators, stamped with its imports' code too."""

    _locator_classes = [  # noqa: RUF012 (numba's own layout)
        _dependency_stamped(c) for c in CompileResultCacheImpl._locator_classes
    ]


class PublishingCache(FunctionCache):
    """numba's cache of a kernel outside the package, which publishes the builds it calls.

    A contributor's kernel (``@kernel`` in a module of their own) is cached as numba caches it,
    under its file's time stamp and the code of the modules it imports, the package's and the
    contributor's own (``_DependencyStampedLocator``); but one that calls a ``compiled_once``
    kernel (the board's ``records_of``, a sort of ``kernels/sorting.py``) must have that build
    published before its machine code is loaded in a new process, or the call jumps to nowhere:
    a crash, unless some package kernel happened to publish the same build first. Its entries
    are numba's with the builds named (``_PublishingImpl``), in an index of their own, so that
    an entry saved by numba's plain cache, which names no builds, is never loaded.
    """

    _impl_class = _OutsideImpl

    def __init__(self, py_func: Any) -> None:
        super().__init__(py_func)
        self._cache_file = _TolerantIndex.in_place_of(self._cache_file, "-published")


def publish_called_builds(dispatcher: Any) -> Any:
    """Cache a kernel of a module outside the package with ``PublishingCache``; returns it.

    Kernels of the package are keyed by their code instead, once imported (``key_package_caches``).
    """
    module = getattr(dispatcher.py_func, "__module__", "") or ""
    outside = module != PACKAGE_NAME and not module.startswith(PACKAGE_NAME + ".")
    if outside and type(getattr(dispatcher, "_cache", None)) is FunctionCache:
        dispatcher._cache = PublishingCache(dispatcher.py_func)
    return dispatcher


class _ReleaseOnFailure(event.Listener):
    """Releases a kernel's compile locks when its compilation fails (nothing will be saved)."""

    def on_start(self, ev: event.Event) -> None:
        pass

    def on_end(self, ev: event.Event) -> None:
        # Not ``ev.is_failed``: numba 0.6x answers it the wrong way round (True on success),
        # which released the lock between the compile and its save. A compile that succeeded
        # has added its overload before its end event; one that failed has not.
        dispatcher = ev.data.get("dispatcher")
        cache = getattr(dispatcher, "_cache", None)
        if isinstance(cache, SourcesCache) and tuple(ev.data["args"]) not in dispatcher.overloads:
            cache.release()


_release_on_failure = _ReleaseOnFailure()
event.register("numba:compile", _release_on_failure)


def built_or_cached(dispatcher: Any, args: tuple) -> bool:
    """Whether ``dispatcher`` has a build for ``args`` in this process or in the disk cache.

    Nothing is compiled, loaded or locked.
    """
    if args in dispatcher.overloads:
        return True
    cache = getattr(dispatcher, "_cache", None)
    return isinstance(cache, SourcesCache) and cache.holds(args, dispatcher.targetctx)


def key_by_sources(dispatcher: Any) -> bool:
    """Cache ``dispatcher`` under the code it depends on if it caches at all; True if changed."""
    cache = getattr(dispatcher, "_cache", None)
    if type(cache) is not FunctionCache:  # not cached (NullCache), or keyed already
        return False
    dispatcher._cache = SourcesCache(dispatcher.py_func)
    return True


def key_package_caches() -> int:
    """Key the cache of every kernel in the package's imported modules; returns how many."""
    changed = 0
    for name, module in list(sys.modules.items()):
        if name != PACKAGE_NAME and not name.startswith(PACKAGE_NAME + "."):
            continue
        for value in list(vars(module).values()):
            for dispatcher in (
                value,
                getattr(value, "dispatcher", None),  # a compiled_once kernel's
                getattr(value, "threaded", None),
                getattr(value, "one_thread", None),
            ):
                if isinstance(dispatcher, CPUDispatcher):
                    changed += key_by_sources(dispatcher)
    return changed
