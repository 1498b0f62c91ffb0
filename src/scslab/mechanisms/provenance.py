"""Provenance of innocents' harm: which data source's false record put a person on a list.

A list marks a person listed on a false record (``{list}_false``, see ``lists/base.py``). This
module says which source made that record, so that harm to innocents can be told apart by cause:
a bank's data error, a camera's false match, an informant's malicious report. Each list keeps, for
the people it holds on a false record, the source of that record (``false_sources``, a compiled
dict: memory grows with innocents listed, not with the population), and every list and sector
sanction adds to one record per population (``ProvenanceState``):

- ``listings[source]``: list entries on a false record from ``source``, so far;
- ``sanctions[source]``: blocked attempts of people listed on a false record from ``source``, so
  far (a sector's ``_blocked_innocent`` attempts, by cause).

The cause of an entry is the false record that made it: for a list entered on records
(``record_list``, ``court_list``) the entering record; for a list entered on a score
(``threshold_list``) the person's first false record of the day, when they had no true one, or
``UNATTRIBUTED`` when they had no record that day (a score that moved on its own).

Owns: the record, its constructor (one per population, made by whichever mechanism asks first,
``provenance``) and the kernels that count and read a cause. Does not own who is listed (the
lists) or who is blocked (the sanctions).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import types
from numba.typed import Dict

from scslab.catalogue import Source
from scslab.kernels.jit import kernel
from scslab.kernels.structs import compiled_struct

if TYPE_CHECKING:
    from scslab.population import Population

PROVENANCE = "false_record_provenance"
"""Name under which the population shares the record (``pop.state.shared``)."""

NOT_FALSE = np.int16(-1)
"""The cause of an entry on a true record: none."""
UNATTRIBUTED = np.int16(len(Source))
"""The cause of an entry on no true record and no false one either (a score list's own move)."""
CAUSES = len(Source) + 1
"""Causes counted: every source code, then ``UNATTRIBUTED``."""

ProvenanceState = compiled_struct("ProvenanceState", ("listings", "sanctions"), __name__)
"""List entries on a false record, and blocked attempts of people so listed, so far, by the
false record's source (``CAUSES`` counters each, int64)."""


@kernel
def _new_state():
    return ProvenanceState(np.zeros(CAUSES, np.int64), np.zeros(CAUSES, np.int64))


@kernel
def no_provenance():
    """A record nobody shares (for a reader whose list is optional): counts nobody."""
    return _new_state()


@kernel
def no_false_sources():
    """An empty map from person to the source of the false record that listed them."""
    return Dict.empty(key_type=types.int64, value_type=types.int16)


@kernel
def false_source_of(false_sources, pid):
    """The source of the false record that listed ``pid`` (``UNATTRIBUTED`` if not recorded)."""
    if pid in false_sources:
        return false_sources[pid]
    return UNATTRIBUTED


@kernel
def count_sanctions(provenance, false_sources, ids, flags, false_mask):
    """Count, by cause, the blocked attempts ``ids`` of people listed on a false record."""
    for pid in ids:
        if flags[pid] & false_mask:
            provenance.sanctions[false_source_of(false_sources, pid)] += 1


@kernel
def _shared(s):
    return s.listings, s.sanctions


def provenance(pop: Population) -> object:
    """The population's provenance record; made by whichever caller is first (in ``declare``)."""
    rec = pop.state.shared.get(PROVENANCE)
    if rec is None:
        rec = pop.state.shared[PROVENANCE] = _new_state()
    return rec


def counts(rec: object) -> tuple[np.ndarray, np.ndarray]:
    """The record's ``listings`` and ``sanctions`` counters (shared with it), for Python."""
    return _shared(rec)
