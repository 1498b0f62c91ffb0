"""Checkpoints: a simulation's whole state at the end of a day, written to one file and read back.

A checkpoint holds everything that the days after it read, so that a simulation restored from it
finishes with the results an uninterrupted run has, bit for bit (randomness is counter-based: the
state and the day number determine the rest). The walk below finds that state without knowing any
mechanism:

- the population's per-person arrays and flag bytes (``Population.state``), walked as plain data
  (dataclasses, dicts, lists, arrays, records);
- every compiled record: the board and each mechanism's record (``compiled_state_of``), and the
  records, arrays, scalars, named tuples and compiled dicts they hold, field by field
  (``kernels.structs.field_values``); a record reached twice (a list's record inside a sanction's)
  is one record;
- the engine: ``Simulation.last_days``, the day, the metric columns so far and their owners,
  and whether the Python loop runs because a kernel was not compiled yet (``plan_not_compiled``:
  a resumed run is built with that loop forced, and says the same as the run it finishes);
- observers: the attributes they carry between passes (``Observer.carried``).

A field of a type the walk does not know raises ``CheckpointError`` naming its path, so a new kind
of state cannot silently escape (``tests/test_checkpoint.py`` walks every preset).

Restoring builds the simulation from the scenario exactly as a new run does, then overwrites its
state: arrays in place where the new simulation has the same memory layout (every per-person
array), otherwise (a buffer a kernel grew) a new array put into its record; scalars and named
tuples by setting the record's fields (``set_field_values``); compiled dicts emptied and refilled.

Memory: arrays are written from their own memory and read back into the new simulation's arrays
(``readinto``), a few MiB at a time, with no copy of the state: a checkpoint at China's scale
does not double peak memory. The file is written beside its final name, flushed to disk
(``fsync``) and renamed over it, so the previous checkpoint stays valid until the new one is
complete. Each block of bytes and the header carry a CRC-32, and the padding between blocks
must be zeros where the writer puts it, so that every byte of the file is checked: a damaged file
is refused. So is a header whose progress (``day``, ``days``, ``checkpoint_every``) is not the
scenario's or not that of the metric columns saved with it.

File layout: ``MAGIC``, the memory regions, then the compiled dicts' keys and values (each block
at the next multiple of 64 bytes, zeros before it), the header (JSON) right after the last block,
then a trailer: the header's length and CRC-32 (8 and 4 bytes, little-endian) and ``MAGIC``.

Owns the file format, the walk and the restore. Does not own run folders or manifests (``api``),
nor any mechanism's rule or state layout.
"""

from __future__ import annotations

import copy
import ctypes
import dataclasses
import hashlib
import json
import os
import struct
import tempfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numba import types
from numba.core.errors import NumbaError
from numba.experimental.structref import StructRefProxy
from numba.np.numpy_support import as_dtype

from scslab.engine.mechanism import Observer
from scslab.engine.steps import compiled_state_of
from scslab.kernels.jit import kernel
from scslab.kernels.package_code import package_digest
from scslab.kernels.structs import field_values, fields_of, record_identity, set_field_values
from scslab.version import __version__

if TYPE_CHECKING:
    from scslab.engine.simulation import Simulation

CHECKPOINT_FILE = "checkpoint.scslab"
"""The checkpoint's name in a run folder."""

MAGIC = b"SCSLCKP1"
FORMAT = 1
ALIGN = 64
CHUNK = 64 * 2**20
"""Bytes written or read per call (the CRC is computed as they pass)."""
_TRAILER = struct.Struct("<QI8s")


class CheckpointError(ValueError):
    """A checkpoint that cannot be written or used; the message is one line for the user."""


# ---------------------------------------------------------------------------------------------
# The walk


class Node(NamedTuple):
    """One piece of state found by the walk, at ``path``."""

    path: str
    kind: str
    """``array``, ``scalar``, ``record``, ``same`` (a record met before), ``dict``, ``const``."""
    value: Any
    numba_type: Any = None
    """The field's numba type (record fields), else None."""
    put: Callable[[Any], None] | None = None
    """Replaces the value in its Python container (None: in a record, or cannot)."""


def state_roots(sim: Simulation) -> list[tuple[str, Any]]:
    """The roots of the walk, in a fixed order: the population's state, the engine, the records.

    Raises:
        CheckpointError: A mechanism has no compiled record (a Python-only prototype); the
            message starts as a scenario error does (``SOURCE: mechanisms.NAME: ``).
    """
    roots: list[tuple[str, Any]] = [
        ("population", sim.pop.state),
        ("engine/last_days", sim.last_days),
        ("board", sim.board.native),
    ]
    for name, m in sim.mechanisms.items():
        if isinstance(m, Observer):
            if m.carried is None:
                raise CheckpointError(
                    f"observer {name!r} does not declare the state it carries between passes "
                    "(Observer.carried): a scenario with it cannot be checkpointed"
                )
            continue
        record = compiled_state_of(m)
        if record is None:
            raise CheckpointError(  # a scenario error's shape: where, then what and what to do
                f"{sim.scenario.source}: mechanisms.{name}: keeps its state in Python (no "
                "compiled record), so the run cannot be checkpointed; run without "
                "--checkpoint-every (checkpoint_every in Python), or give the mechanism a "
                "compiled record (compiled_mechanism, docs/architecture.md)"
            )
        roots.append((f"mechanisms/{name}", record))
    return roots


def walk(sim: Simulation) -> list[Node]:
    """Every piece of state of ``sim``, in a fixed order (the same for the same scenario)."""
    seen: dict[int, str] = {}
    nodes: list[Node] = []
    for path, root in state_roots(sim):
        nodes.extend(_walk_python(root, path, seen, None))
    return nodes


_CONSTANTS = (str, int, float, bool, np.generic, type(None))


def _walk_python(obj: Any, path: str, seen: dict[int, str], put: Any) -> Iterator[Node]:
    """Python-side state: arrays, records, and the containers holding them."""
    if isinstance(obj, np.ndarray):
        yield Node(path=path, kind="array", value=obj, put=put)
    elif isinstance(obj, StructRefProxy):
        yield from _walk_record(obj, path, seen)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield from _walk_python(
                getattr(obj, f.name), f"{path}/{f.name}", seen, _attr_setter(obj, f.name)
            )
    elif isinstance(obj, dict):
        for key, value in obj.items():
            if not isinstance(key, str):
                raise CheckpointError(f"{path}: a dict with a key of type {type(key).__name__}")
            yield from _walk_python(value, f"{path}/{key}", seen, _item_setter(obj, key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield from _walk_python(value, f"{path}/{i}", seen, _item_setter(obj, i))
    elif isinstance(obj, tuple):
        for i, value in enumerate(obj):
            yield from _walk_python(value, f"{path}/{i}", seen, None)
    elif isinstance(obj, _CONSTANTS):
        yield Node(path=path, kind="const", value=obj)
    else:
        raise CheckpointError(
            f"{path}: cannot checkpoint a {type(obj).__module__}.{type(obj).__qualname__}"
        )


def _attr_setter(obj: Any, name: str) -> Callable[[Any], None]:
    return lambda value: object.__setattr__(obj, name, value)


def _item_setter(obj: Any, key: Any) -> Callable[[Any], None]:
    return lambda value: obj.__setitem__(key, value)


def _walk_record(record: Any, path: str, seen: dict[int, str]) -> Iterator[Node]:
    identity = record_identity(record)
    if identity in seen:
        yield Node(path=path, kind="same", value=seen[identity])
        return
    seen[identity] = path
    yield Node(path=path, kind="record", value=record)
    for (name, numba_type), value in zip(fields_of(record), field_values(record), strict=True):
        yield from _walk_field(numba_type, value, f"{path}/{name}", seen)


def _walk_field(numba_type: Any, value: Any, path: str, seen: dict[int, str]) -> Iterator[Node]:
    """A record field (or an element of a tuple field), by its numba type."""
    if isinstance(numba_type, types.Array):
        yield Node(path=path, kind="array", value=value, numba_type=numba_type)
    elif isinstance(numba_type, types.Integer | types.Float | types.Boolean):
        yield Node(path=path, kind="scalar", value=value, numba_type=numba_type)
    elif isinstance(numba_type, types.StructRef):
        yield from _walk_record(value, path, seen)
    elif isinstance(numba_type, types.BaseTuple):
        for i, (item_type, item) in enumerate(zip(numba_type.types, value, strict=True)):
            yield from _walk_field(item_type, item, f"{path}/{i}", seen)
    elif isinstance(numba_type, types.DictType) and all(
        isinstance(t, types.Integer | types.Float | types.Boolean)
        for t in (numba_type.key_type, numba_type.value_type)
    ):
        yield Node(path=path, kind="dict", value=value, numba_type=numba_type)
    elif isinstance(numba_type, types.NoneType):
        yield Node(path=path, kind="const", value=None, numba_type=numba_type)
    else:
        raise CheckpointError(f"{path}: cannot checkpoint a record field of type {numba_type}")


# ---------------------------------------------------------------------------------------------
# Compiled dicts


@kernel
def _dict_size(d):
    return len(d)


@kernel
def _dict_items(d, keys, values):
    i = 0
    for k, v in d.items():
        keys[i] = k
        values[i] = v
        i += 1  # noqa: SIM113 (a compiled dict's items cannot be enumerated)


@kernel
def _dict_refill(d, keys, values):
    d.clear()
    for i in range(keys.size):
        d[keys[i]] = values[i]


def _dict_arrays(node: Node) -> tuple[np.ndarray, np.ndarray]:
    """A compiled dict's keys and values, in its iteration order (insertion order)."""
    t = node.numba_type
    n = _dict_size(node.value)
    keys, values = np.empty(n, as_dtype(t.key_type)), np.empty(n, as_dtype(t.value_type))
    _dict_items(node.value, keys, values)
    return keys, values


# ---------------------------------------------------------------------------------------------
# Memory regions: arrays that share memory are written once, and restored sharing it


def _extent(a: np.ndarray) -> tuple[int, int] | None:
    """The first and the past-the-end address of an array's bytes (None: no bytes)."""
    if a.size == 0:
        return None
    ptr = a.__array_interface__["data"][0]
    low = ptr + sum((n - 1) * s for n, s in zip(a.shape, a.strides, strict=True) if s < 0)
    high = ptr + sum((n - 1) * s for n, s in zip(a.shape, a.strides, strict=True) if s > 0)
    return low, high + a.itemsize


class Region(NamedTuple):
    """Memory that one or more arrays of the walk lie in (overlapping arrays share one)."""

    low: int
    high: int
    members: list[tuple[int, int]]
    """(node index, the array's data address minus ``low``)."""


def regions_of(nodes: list[Node]) -> list[Region]:
    """The memory regions of the walk's arrays, by address; arrays that overlap share one."""
    spans = []
    for i, node in enumerate(nodes):
        if node.kind == "array":
            extent = _extent(node.value)
            if extent is not None:
                spans.append((extent[0], extent[1], i))
    spans.sort()
    out: list[Region] = []
    for low, high, i in spans:
        ptr = nodes[i].value.__array_interface__["data"][0]
        if out and low < out[-1].high:
            last = out[-1]
            last.members.append((i, ptr - last.low))
            out[-1] = last._replace(high=max(last.high, high))
        else:
            out.append(Region(low=low, high=high, members=[(i, ptr - low)]))
    return out


def _memory(address: int, size: int) -> memoryview:
    """The bytes at ``address`` as a writable view (no copy); the owner must stay alive."""
    return memoryview((ctypes.c_char * size).from_address(address)).cast("B")


# ---------------------------------------------------------------------------------------------
# Writing


def scenario_fingerprint(resolved: dict[str, Any], engine: str) -> str:
    """A digest of a resolved scenario and the engine that runs it."""
    text = json.dumps({"scenario": resolved, "engine": engine}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def engine_of(sim: Simulation) -> str:
    """``compiled`` or ``python``: the loop a simulation runs in."""
    return "compiled" if sim.compiled_plan is not None else "python"


def _header(sim: Simulation, nodes: list[Node], every: int | None) -> dict[str, Any]:
    resolved = sim.scenario.resolved()
    entries = []
    for node in nodes:
        entry: dict[str, Any] = {"path": node.path, "kind": node.kind}
        if node.kind == "array":
            a = node.value
            entry |= {"dtype": str(a.dtype), "shape": list(a.shape), "strides": list(a.strides)}
        elif node.kind == "scalar":
            entry |= {"dtype": as_dtype(node.numba_type).str, "value": node.value}
        elif node.kind == "record":
            entry["type"] = type(node.value).__name__
        elif node.kind == "same":
            entry["as"] = node.value
        elif node.kind == "const":
            entry["value"] = node.value.item() if isinstance(node.value, np.generic) else node.value
        entries.append(entry)
    observers = {
        name: {attr: getattr(m, attr) for attr in m.carried}
        for name, m in sim.mechanisms.items()
        if isinstance(m, Observer)
    }
    return {
        "format": FORMAT,
        "scslab_version": __version__,
        "code": package_digest(),
        "scenario_source": sim.scenario.source,
        "scenario": resolved,
        "fingerprint": scenario_fingerprint(resolved, engine_of(sim)),
        "engine": engine_of(sim),
        "plan_not_compiled": sim.plan_not_compiled,
        "day": sim.day,
        "days": sim.days,
        "checkpoint_every": every,
        "run_s": sim.run_s,
        "columns": sim.columns,
        "column_owner": sim.column_owner,
        "observers": observers,
        "entries": entries,
    }


def write_checkpoint(sim: Simulation, path: Path, every: int | None = None) -> int:
    """Write ``sim``'s state at the end of its last day to ``path``, atomically; returns bytes.

    The file is written beside ``path``, flushed to disk and renamed over it: the checkpoint
    that was there stays valid until this one is complete.

    Raises:
        CheckpointError: Some state cannot be checkpointed (the message names it).
    """
    path = Path(path)
    nodes = walk(sim)
    header = _header(sim, nodes, every)
    regions = regions_of(nodes)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC)
            table = []
            dicts = {}
            for region in regions:
                table.append(_write_bytes(f, _memory(region.low, region.high - region.low)))
                table[-1] |= {
                    "align": region.low % ALIGN,
                    "members": [[nodes[i].path, offset] for i, offset in region.members],
                }
            for node in nodes:
                if node.kind == "dict":
                    keys, values = _dict_arrays(node)
                    dicts[node.path] = {
                        "keys": _write_bytes(f, memoryview(keys).cast("B")) | {"n": keys.size},
                        "values": _write_bytes(f, memoryview(values).cast("B")),
                    }
            header["regions"] = table
            header["dicts"] = dicts
            text = json.dumps(header, default=_plain).encode()
            f.write(text)
            f.write(_TRAILER.pack(len(text), zlib.crc32(text), MAGIC))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)
    return path.stat().st_size


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write a {type(value).__name__} in a checkpoint header")


def _write_bytes(f: Any, data: memoryview) -> dict[str, int]:
    """Pad ``f`` to ``ALIGN``, write ``data`` in chunks; where, how long, and its CRC-32."""
    pad = -f.tell() % ALIGN
    f.write(b"\0" * pad)
    offset, crc = f.tell(), 0
    for start in range(0, len(data), CHUNK):
        chunk = data[start : start + CHUNK]
        crc = zlib.crc32(chunk, crc)
        f.write(chunk)
    return {"offset": offset, "size": len(data), "crc": crc}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------
# Reading


def read_header(path: Path) -> dict[str, Any]:
    """A checkpoint's header, checked: format, version and code of the package, CRC, layout.

    The layout: the run's progress (``_check_progress``), and every byte before the header a
    block or zero padding (``_check_padding``); the blocks' own CRCs are checked as ``restore``
    reads them.

    Raises:
        CheckpointError: No checkpoint, a damaged one, or one written by other code.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            if size < len(MAGIC) + _TRAILER.size:
                raise CheckpointError(f"{path}: not a complete checkpoint (too short)")
            f.seek(0)
            if f.read(len(MAGIC)) != MAGIC:
                raise CheckpointError(f"{path}: not a scslab checkpoint")
            f.seek(size - _TRAILER.size)
            length, crc, magic = _TRAILER.unpack(f.read(_TRAILER.size))
            if magic != MAGIC or length > size - _TRAILER.size - len(MAGIC):
                raise CheckpointError(f"{path}: damaged checkpoint (no trailer; cut short?)")
            f.seek(size - _TRAILER.size - length)
            text = f.read(length)
    except FileNotFoundError:
        raise CheckpointError(
            f"{path.parent}: no checkpoint to resume ({path.name}; a run writes one with "
            "--checkpoint-every)"
        ) from None
    except OSError as err:
        raise CheckpointError(f"{path}: cannot be read ({err.strerror})") from None
    if zlib.crc32(text) != crc:
        raise CheckpointError(f"{path}: damaged checkpoint (header checksum differs)")
    try:
        header = json.loads(text)
    except ValueError:
        raise CheckpointError(f"{path}: damaged checkpoint (header is not JSON)") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: damaged checkpoint (header is not a JSON object)")
    if header.get("format") != FORMAT:
        raise CheckpointError(
            f"{path}: checkpoint format {header.get('format')}; this scslab reads {FORMAT}"
        )
    if header.get("scslab_version") != __version__ or header.get("code") != package_digest():
        raise CheckpointError(
            f"{path}: written by scslab {header.get('scslab_version')} "
            f"(code {str(header.get('code'))[:12]}); this is scslab {__version__} "
            f"(code {package_digest()[:12]}); resume it with the scslab that wrote it"
        )
    _check_progress(path, header)
    _check_padding(path, header, size - _TRAILER.size - length)
    return header


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_progress(path: Path, header: dict[str, Any]) -> None:
    """The header's day, days, pace of checkpoints and time run are of a run that can go on."""
    day, days, every = header.get("day"), header.get("days"), header.get("checkpoint_every")
    if not (_whole(day) and _whole(days) and 0 <= day <= days):
        raise CheckpointError(f"{path}: damaged checkpoint (day {day!r} of {days!r})")
    if every is not None and not (_whole(every) and every >= 1):
        raise CheckpointError(f"{path}: damaged checkpoint (checkpoint_every {every!r})")
    run_s = header.get("run_s")
    if not (isinstance(run_s, int | float) and not isinstance(run_s, bool) and run_s >= 0):
        raise CheckpointError(f"{path}: damaged checkpoint (run_s {run_s!r})")


def _blocks(header: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The header's blocks in the order they were written: regions, then dicts' keys, values."""
    yield from header["regions"]
    for spec in header["dicts"].values():
        yield spec["keys"]
        yield spec["values"]


def _check_padding(path: Path, header: dict[str, Any], end: int) -> None:
    """Every byte before the header (at ``end``) is ``MAGIC``, a block, or ``_write_bytes``'s zeros.

    No CRC covers the padding: checked here, a flipped byte anywhere is found (in a block, by
    its CRC as ``restore`` reads it). A few small reads, one per block.
    """
    pos, gaps = len(MAGIC), []
    try:
        for block in _blocks(header):
            offset, size = block["offset"], block["size"]
            if not (_whole(offset) and _whole(size) and _whole(block["crc"]) and size >= 0):
                raise CheckpointError(f"{path}: damaged checkpoint (header: a block {block!r})")
            if offset != pos + (-pos % ALIGN):
                raise CheckpointError(f"{path}: damaged checkpoint (a block out of place)")
            if offset > pos:
                gaps.append((pos, offset - pos))
            pos = offset + size
    except (KeyError, TypeError, AttributeError) as err:  # a header made by hand
        raise CheckpointError(f"{path}: damaged checkpoint (header: {err!r})") from None
    if pos != end:
        raise CheckpointError(f"{path}: damaged checkpoint (the blocks do not reach the header)")
    try:
        with open(path, "rb") as f:
            for start, size in gaps:
                f.seek(start)
                if f.read(size) != bytes(size):
                    raise CheckpointError(f"{path}: damaged checkpoint (padding is not zeros)")
    except OSError as err:
        raise CheckpointError(f"{path}: cannot be read ({err.strerror})") from None


def restore(sim: Simulation, header: dict[str, Any], path: Path) -> None:
    """Overwrite the state of ``sim`` (new, built from the checkpoint's scenario) from ``path``.

    Raises:
        CheckpointError: The checkpoint is of another scenario or set-up, or damaged; ``sim``
            is then half restored and must be dropped.
    """
    path = Path(path)
    try:
        _restore(sim, header, path)
    except (KeyError, TypeError, IndexError, AttributeError) as err:  # a header made by hand
        raise CheckpointError(f"{path}: damaged checkpoint (header: {err!r})") from None


def _restore(sim: Simulation, header: dict[str, Any], path: Path) -> None:
    fingerprint = scenario_fingerprint(sim.scenario.resolved(), engine_of(sim))
    if fingerprint != header["fingerprint"]:
        raise CheckpointError(f"{path}: the checkpoint is of another scenario or engine")
    _check_day(path, header, sim)
    nodes = walk(sim)
    entries = header["entries"]
    _check_layout(path, nodes, entries)
    index = {node.path: i for i, node in enumerate(nodes)}
    replaced: dict[int, np.ndarray] = {}
    with open(path, "rb") as f:
        fresh = {tuple(sorted(i for i, _ in r.members)): r for r in regions_of(nodes)}
        for region in header["regions"]:
            members = [(index[p], offset) for p, offset in region["members"]]
            same = fresh.get(tuple(sorted(i for i, _ in members)))
            if same is not None and _same_layout(same, members, nodes, entries, region):
                _read_into(f, path, region, _memory(same.low, region["size"]))
                continue
            base = np.empty(region["size"] + ALIGN, np.uint8)
            skip = (region["align"] - base.ctypes.data) % ALIGN
            _read_into(f, path, region, memoryview(base[skip : skip + region["size"]]))
            for i, offset in members:
                e = entries[i]
                replaced[i] = np.ndarray(
                    tuple(e["shape"]),
                    nodes[i].value.dtype,  # checked to be the checkpoint's (``_check_layout``)
                    buffer=base,
                    offset=skip + offset,
                    strides=tuple(e["strides"]),
                )
        for i, node in enumerate(nodes):
            e = entries[i]
            if node.kind == "array" and 0 in e["shape"] and tuple(e["shape"]) != node.value.shape:
                replaced[i] = np.empty(tuple(e["shape"]), node.value.dtype)
        for p, spec in header.get("dicts", {}).items():
            node = nodes[index[p]]
            t = node.numba_type
            keys = np.empty(spec["keys"]["n"], as_dtype(t.key_type))
            values = np.empty(spec["keys"]["n"], as_dtype(t.value_type))
            _read_into(f, path, spec["keys"], memoryview(keys).cast("B"))
            _read_into(f, path, spec["values"], memoryview(values).cast("B"))
            _dict_refill(node.value, keys, values)
    for i, array in replaced.items():
        node = nodes[i]
        if node.put is not None:
            node.put(array)
        elif node.numba_type is None:
            raise CheckpointError(f"{path}: cannot restore {node.path} (held in a tuple)")
    _repoint(sim, nodes, replaced)
    _set_records(path, nodes, entries, replaced)
    sim.day = header["day"]
    sim.run_s = header["run_s"]
    # the Python loop because a kernel was not compiled yet, as the run that was interrupted
    # chose it: the resumed run is built with the loop forced, which alone would say otherwise
    sim.plan_not_compiled = bool(header["plan_not_compiled"])
    # copies: the run appends to its columns, and the header may restore another simulation
    sim.columns = {name: list(column) for name, column in header["columns"].items()}
    sim.column_owner = dict(header["column_owner"])
    sim._known.clear()
    for name, state in header["observers"].items():
        m = sim.mechanisms[name]
        for attr, value in state.items():
            setattr(m, attr, copy.deepcopy(value))


def _check_day(path: Path, header: dict[str, Any], sim: Simulation) -> None:
    """The header's days are the scenario's, and its day that of the metric columns saved.

    A checkpoint is written at the end of a day: every column has a value for each day done.
    """
    if header["days"] != sim.days:
        raise CheckpointError(
            f"{path}: damaged checkpoint (a run of {header['days']} days; "
            f"the scenario has {sim.days})"
        )
    day, columns = header["day"], header["columns"]
    if not isinstance(columns, dict) or "day" not in columns:
        raise CheckpointError(f"{path}: damaged checkpoint (no metric columns)")
    if columns["day"] != list(range(day)) or any(
        not isinstance(column, list) or len(column) != day for column in columns.values()
    ):
        raise CheckpointError(
            f"{path}: damaged checkpoint (day {day}, not the days of its metric columns)"
        )


def _repoint(sim: Simulation, nodes: list[Node], replaced: dict[int, np.ndarray]) -> None:
    """Point the mechanisms' own references to a replaced array at its replacement.

    A mechanism may keep, in Python, an array its record holds (to read it without a compiled
    call); a replaced array (a buffer the run grew) is found by its address and shape.
    """
    if not replaced:
        return
    by_address = {}
    for i, array in replaced.items():
        old = nodes[i].value
        if old.size:
            by_address[(old.__array_interface__["data"][0], old.shape, old.dtype.str)] = array
    for m in sim.mechanisms.values():
        for attr, value in list(vars(m).items()):
            if isinstance(value, np.ndarray) and value.size:
                key = (value.__array_interface__["data"][0], value.shape, value.dtype.str)
                if key in by_address:
                    setattr(m, attr, by_address[key])


def _check_layout(path: Path, nodes: list[Node], entries: list[dict[str, Any]]) -> None:
    """The new simulation's state has the checkpoint's shape: same paths, kinds and types."""
    problem = None
    if len(nodes) != len(entries):
        problem = f"{len(entries)} pieces of state, the scenario's set-up {len(nodes)}"
    for node, e in zip(nodes, entries, strict=False):
        if problem:
            break
        if node.path != e["path"] or node.kind != e["kind"]:
            problem = f"{e['path']} ({e['kind']}) where the set-up has {node.path} ({node.kind})"
        elif node.kind == "array" and (
            e["dtype"] != str(node.value.dtype) or len(e["shape"]) != node.value.ndim
        ):
            problem = f"{node.path}: another array type"
        elif node.kind == "record" and e["type"] != type(node.value).__name__:
            problem = f"{node.path}: a {e['type']} where the set-up has another record"
        elif node.kind == "same" and e["as"] != node.value:
            problem = f"{node.path}: shared with {e['as']}, in the set-up with {node.value}"
        elif node.kind == "const" and e["value"] != node.value:
            problem = f"{node.path}: {e['value']!r} where the set-up has {node.value!r}"
    if problem:
        raise CheckpointError(f"{path}: does not match the scenario's set-up: {problem}")


def _same_layout(
    fresh: Region,
    members: list[tuple[int, int]],
    nodes: list[Node],
    entries: list[dict[str, Any]],
    region: dict[str, Any],
) -> bool:
    """Whether a region can be read in place: same size, arrays and places in it."""
    if fresh.high - fresh.low != region["size"]:
        return False
    offsets = dict(fresh.members)
    for i, offset in members:
        a, e = nodes[i].value, entries[i]
        layout = [list(a.shape), list(a.strides)]
        if offsets.get(i) != offset or layout != [e["shape"], e["strides"]]:
            return False
    return True


def _read_into(f: Any, path: Path, where: dict[str, int], out: memoryview) -> None:
    """Read a block of the file into ``out`` (its own memory), checking its CRC-32."""
    f.seek(where["offset"])
    crc, done = 0, 0
    while done < where["size"]:
        got = f.readinto(out[done : min(done + CHUNK, where["size"])])
        if not got:
            raise CheckpointError(f"{path}: damaged checkpoint (cut short)")
        crc = zlib.crc32(out[done : done + got], crc)
        done += got
    if crc != where["crc"]:
        raise CheckpointError(f"{path}: damaged checkpoint (a block's checksum differs)")


def _set_records(
    path: Path, nodes: list[Node], entries: list[dict[str, Any]], replaced: dict[int, np.ndarray]
) -> None:
    """Set every record's scalars, named tuples and replaced arrays (deepest records first)."""
    index = {node.path: i for i, node in enumerate(nodes)}
    records = [i for i, node in enumerate(nodes) if node.kind == "record"]
    for i in reversed(records):
        record, prefix = nodes[i].value, nodes[i].path
        values = []
        for (name, numba_type), value in zip(fields_of(record), field_values(record), strict=True):
            values.append(_field(f"{prefix}/{name}", numba_type, value, index, entries, replaced))
        try:
            set_field_values(record, tuple(values))
        except NumbaError as err:
            first = str(err).strip().splitlines()[0]
            raise CheckpointError(f"{path}: cannot restore {prefix} ({first})") from None


def _field(
    path: str,
    numba_type: Any,
    value: Any,
    index: dict[str, int],
    entries: list[dict[str, Any]],
    replaced: dict[int, np.ndarray],
) -> Any:
    """A field's restored value (its checkpoint value, in the field's exact type)."""
    if isinstance(numba_type, types.Array):
        return replaced.get(index[path], value)
    if isinstance(numba_type, types.Integer | types.Float):
        return as_dtype(numba_type).type(entries[index[path]]["value"])
    if isinstance(numba_type, types.Boolean):
        return bool(entries[index[path]]["value"])
    if isinstance(numba_type, types.BaseTuple):
        items = [
            _field(f"{path}/{k}", t, item, index, entries, replaced)
            for k, (t, item) in enumerate(zip(numba_type.types, value, strict=True))
        ]
        return type(value)(*items) if isinstance(numba_type, types.BaseNamedTuple) else tuple(items)
    return value  # a record, a dict (restored in place), None
