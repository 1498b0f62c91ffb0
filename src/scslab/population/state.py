"""The per-person state registry: one compact array per declared variable, and packed flag bits.

Mechanisms declare their per-person state here during set-up; nothing else allocates per-person
memory. The registry is the single place that knows how many bytes a person costs, which is what
the architecture budget (12 bytes per person) is checked against.

Owns ``StateRegistry`` and its views (``Flag``, ``Counter``): where each per-person array,
record, flag and counter lives, and the bytes per person. It allocates and never writes a value
after that: what a variable means and who sets it are the declaring mechanism's, and each
array's owner is noted by ``engine/simulation.declare_all``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from scslab.kernels.structs import CounterBits, FlagBits


@dataclass(frozen=True)
class Flag:
    """One boolean per person, stored as a bit of a shared ``uint8`` array."""

    name: str
    array: np.ndarray
    mask: np.uint8

    def get(self, ids: np.ndarray | slice | None = None) -> np.ndarray:
        """The flag for ``ids`` (all people when ``None``) as booleans."""
        a = self.array if ids is None else self.array[ids]
        return (a & self.mask) != 0

    def count(self) -> int:
        """How many people have the flag set (a full pass: for tests and checks, not hot paths)."""
        return int(np.count_nonzero(self.array & self.mask))

    def bits(self) -> FlagBits:
        """The flag as kernels take it: its byte array and its bit, by name."""
        return FlagBits(flags=self.array, mask=self.mask)


@dataclass(frozen=True)
class Counter:
    """A small per-person count of ``width`` bits, packed in a shared ``uint8`` flag array.

    It wraps at ``2**width`` (kernels: ``kernels/bits.py``).
    """

    name: str
    array: np.ndarray
    shift: int
    width: int

    @property
    def mask(self) -> int:
        """The counter's bits in place."""
        return ((1 << self.width) - 1) << self.shift

    def get(self, ids: np.ndarray | slice | None = None) -> np.ndarray:
        """The counter for ``ids`` (all people when ``None``)."""
        a = self.array if ids is None else self.array[ids]
        return (a & np.uint8(self.mask)) >> np.uint8(self.shift)

    def bits(self) -> CounterBits:
        """The counter as kernels take it: its byte array, shift and mask, by name."""
        return CounterBits(flags=self.array, shift=np.int64(self.shift), mask=np.int64(self.mask))


@dataclass
class StateRegistry:
    """Per-person arrays declared by mechanisms, and flags packed eight to a byte."""

    n: int
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    flags: dict[str, Flag] = field(default_factory=dict)
    counters: dict[str, Counter] = field(default_factory=dict)
    """Counters of a few bits packed in the flag bytes (``add_counter``)."""
    shared: dict[str, object] = field(default_factory=dict)
    """Records that the mechanisms sharing a flag share with it (its change log), and what they
    count between them (the lost income's sanction causes handed out), by name."""
    owners: dict[str, str] = field(default_factory=dict)
    """The mechanism that declared each of ``arrays`` (``engine/simulation.declare_all``)."""
    adopted: dict[str, np.ndarray] = field(default_factory=dict)
    """Arrays handed over by a burn-in (``adopt``), each taken as it is by the ``add`` of its
    name instead of a new one."""
    _flag_bytes: list[np.ndarray] = field(default_factory=list)

    def add(self, name: str, dtype: type | np.dtype, fill: int | float = 0) -> np.ndarray:
        """Allocate a per-person array named ``name`` filled with ``fill`` (or adopt it)."""
        if name in self.arrays:
            raise ValueError(f"per-person state {name!r} is declared twice")
        arr = self.adopted.pop(name, None)
        if arr is None:
            arr = np.zeros(self.n, dtype) if fill == 0 else np.full(self.n, fill, dtype)
        elif arr.shape != (self.n,) or arr.dtype != np.dtype(dtype):
            raise ValueError(f"per-person state {name!r} handed over with another shape or type")
        self.arrays[name] = arr
        return arr

    def adopt(self, arrays: dict[str, np.ndarray]) -> None:
        """Take ``arrays`` (a burn-in's) as they are when arrays of their names are declared."""
        self.adopted.update(arrays)

    def arrays_of(self, owners: Iterable[str]) -> dict[str, np.ndarray]:
        """The per-person arrays that the mechanisms ``owners`` declared, by name."""
        wanted = set(owners)
        return {k: a for k, a in self.arrays.items() if self.owners.get(k) in wanted}

    def add_record(self, name: str, fields: dict[str, type]) -> dict[str, np.ndarray]:
        """Allocate variables read together as one record per person (zero-filled).

        One record shares a cache line, so a kernel that reads every field of a random person
        pays one memory miss instead of one per field. Returns a view per field.
        """
        arr = self.add(name, np.dtype(list(fields.items())))
        return {f: arr[f] for f in fields}

    def add_flag(self, name: str) -> Flag:
        """Allocate one bit per person in the first flag byte with a free bit (or a new byte)."""
        return self.add_flags(name)[0]

    def shared_flag(self, name: str) -> Flag:
        """The flag ``name``, allocated by whichever mechanism asks first.

        For a flag that several mechanisms set, such as ``income_lost``.
        """
        return self.flags.get(name) or self.add_flag(name)

    def add_flags(self, *names: str) -> tuple[Flag, ...]:
        """Allocate up to eight flags guaranteed to share one byte (one ``array`` for all)."""
        if not 1 <= len(names) <= 8:
            raise ValueError("a flag group has 1 to 8 flags")
        for name in names:
            if name in self.flags or name in self.counters:
                raise ValueError(f"flag {name!r} is declared twice")
        arr, shift = self._place(len(names))
        out = []
        for k, name in enumerate(names):
            flag = Flag(name, arr, np.uint8(1 << (shift + k)))
            self.flags[name] = flag
            out.append(flag)
        return tuple(out)

    def add_counter(self, name: str, width: int) -> Counter:
        """Allocate a count of ``width`` (1 to 8) bits per person in the flag bytes.

        It takes ``width`` bits like a group of flags (in the first flag byte where they fit,
        else a new byte), so a few-bit counter costs bits, not a byte per person.
        """
        if not 1 <= width <= 8:
            raise ValueError("a counter has 1 to 8 bits")
        if name in self.counters or name in self.flags:
            raise ValueError(f"per-person state {name!r} is declared twice")
        arr, shift = self._place(width)
        counter = Counter(name, arr, shift, width)
        self.counters[name] = counter
        return counter

    def _place(self, width: int) -> tuple[np.ndarray, int]:
        """The first flag byte with ``width`` free bits, and the lowest of them (or a new byte).

        Bits are never given back, so each byte's used bits are its lowest ones and the free
        bits above them are one run: a group of flags or a counter takes bits next to each
        other. First fit: a flag or group declared after a large group fills the bits that the
        group left free in an earlier byte, instead of taking a new byte per person.
        """
        for arr in self._flag_bytes:
            used = self._used_bits(arr).bit_length()
            if used + width <= 8:
                return arr, used
        self._flag_bytes.append(np.zeros(self.n, np.uint8))
        return self._flag_bytes[-1], 0

    def _used_bits(self, arr: np.ndarray) -> int:
        used = 0
        for flag in self.flags.values():
            if flag.array is arr:
                used |= int(flag.mask)
        for counter in self.counters.values():
            if counter.array is arr:
                used |= counter.mask
        return used

    def bytes_per_person(self) -> float:
        """Stored bytes per person across all declared arrays and flag bytes."""
        total = sum(a.nbytes for a in self.arrays.values())
        total += sum(a.nbytes for a in self._flag_bytes)
        return total / max(self.n, 1)

    def layout(self) -> list[tuple[str, str, int]]:
        """(name, dtype, bytes per person) for every stored variable, for reports."""
        rows = [(k, str(a.dtype), a.itemsize) for k, a in self.arrays.items()]
        for arr in self._flag_bytes:
            names = [f.name for f in self.flags.values() if f.array is arr]
            names += [f"{c.name}:{c.width}" for c in self.counters.values() if c.array is arr]
            rows.append(("flags[" + ",".join(names) + "]", "uint8", 1))
        return rows
