"""Lost incomes: the per-person flag that sanctions and employers set and ``debt`` reads.

Several mechanisms can cost a person their income: a job sector of ``joint_punishment`` that
blocks a listed person, an employer who rejects an applicant on the dang'an. ``debt`` draws a
listed debtor's repayment at a lower hazard while the flag is set, so it must redraw that
repayment on the day the flag changes, whichever mechanism changed it. Hence every change of the
flag goes through ``lose_income`` or ``regain_income`` here: they set or clear the bit and, while
a reader listens (``listen``), note the person and the bit's old value in a log. The reader takes
the log once a step with ``take_changes``, which returns each person whose flag differs from
before the first change since the last take.

The flag is one bit for every cause, within the 12 bytes a person of ``integrated_2020``: a
sanction that gives the income back when its list lets the person go (``regain_income``) also
gives back one that an employer's rejection on the dang'an took. A bit per cause would tell them
apart, at a bit a person each.

Owns: the flag's name, the record (flag byte, mask, log; one per population, made by whichever
mechanism asks first, ``income_loss``) and the kernels that change the flag. A mechanism never
writes the bit itself. Does not own who loses income (the setters) or what follows (``debt``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from scslab.kernels.compact import grown
from scslab.kernels.compiled_once import compiled_once
from scslab.kernels.jit import kernel
from scslab.kernels.sorting import stable_order
from scslab.kernels.structs import compiled_struct

if TYPE_CHECKING:
    from scslab.population import Population

INCOME_LOST = "income_lost"
"""Name of the per-person flag set when a mechanism costs someone their income."""

IncomeLossState = compiled_struct(
    "IncomeLossState", ("flags", "mask", "log", "was", "size", "listening"), __name__
)
"""The flag byte per person and the flag's mask (0: no mechanism costs income); the log of
changes (person, whether the flag was set before; ``size`` of them); whether a reader listens
(no log otherwise)."""


@kernel
def _new_state(flags, mask):
    return IncomeLossState(
        flags, np.uint8(mask), np.empty(64, np.int64), np.empty(64, np.bool_), 0, False
    )


@kernel
def no_income_loss(flags):
    """The record of a population where nobody can lose income (``flags``: any byte array)."""
    return _new_state(flags, 0)


_WAS_CLEAR, _WAS_SET = np.bool_(False), np.bool_(True)
"""A flag's state before a change, as values (a literal would compile ``_note`` twice)."""


@kernel
def _note(s, pid, was):
    if not s.listening:
        return
    if s.size == s.log.size:
        s.log = grown(s.log, s.size, s.size + 1)
        s.was = grown(s.was, s.size, s.size + 1)
    s.log[s.size] = pid
    s.was[s.size] = was
    s.size += 1


@kernel
def lose_income(s, pid):
    """Set ``pid``'s flag; whether it was newly set (and then noted for the reader)."""
    if not s.mask or s.flags[pid] & s.mask:  # mask 0: nobody can lose income
        return False
    s.flags[pid] |= s.mask
    _note(s, pid, _WAS_CLEAR)
    return True


@kernel
def regain_income(s, pid):
    """Clear ``pid``'s flag; whether it was set (and then noted for the reader)."""
    if not s.flags[pid] & s.mask:
        return False
    s.flags[pid] &= ~s.mask
    _note(s, pid, _WAS_SET)
    return True


@compiled_once
@kernel
def take_changes(s):
    """People whose flag changed since the last take, by id (each once); empties the log.

    A flag set and cleared again (or the reverse) in between is no change.
    """
    n = s.size
    s.size = 0
    ids = s.log[:n]
    order = stable_order(ids)  # a person's first change comes first
    keep = np.zeros(n, np.bool_)
    for j in range(n):
        i = order[j]
        if j > 0 and ids[order[j - 1]] == ids[i]:
            continue
        keep[j] = ((s.flags[ids[i]] & s.mask) != 0) != s.was[i]
    return ids[order][keep]


@kernel
def _listen(s):
    s.listening = True


def income_loss(pop: Population) -> object:
    """The population's lost-income record, with its flag; made by whichever caller is first.

    Call it in ``declare`` from a mechanism that sets the flag.
    """
    rec = pop.state.shared.get(INCOME_LOST)
    if rec is None:
        flag = pop.state.shared_flag(INCOME_LOST)
        rec = pop.state.shared[INCOME_LOST] = _new_state(flag.array, flag.mask)
    return rec


def listen(pop: Population) -> object | None:
    """The lost-income record, logging changes from now on (for a reader); ``None``: no setter.

    Call it in ``init``, when every mechanism has declared its state.
    """
    rec = pop.state.shared.get(INCOME_LOST)
    if rec is not None:
        _listen(rec)
    return rec
