"""Lost incomes: the per-person flag that sanctions and employers set and ``debt`` reads.

Several mechanisms can cost a person their income: a job sector of ``joint_punishment`` that
blocks a listed person, an employer who rejects an applicant on the dang'an or on a leaked score.
``debt`` draws a listed debtor's repayment at a lower hazard while the flag is set, so it must
redraw that repayment on the day the flag changes, whichever mechanism changed it. Hence every
change of the flag goes through the kernels here: they set or clear the bit and, while a reader
listens (``listen``), note the person and the bit's old value in a log. The reader takes the log
once a step with ``take_changes``, which returns each person whose flag differs from before the
first change since the last take.

Two kinds of cause, one bit a person (the 12 bytes a person of ``integrated_2020`` hold no
second one):

- an employer's rejection costs the income for good (``lose_income``);
- a sanction costs it while its list holds the person, and gives it back when the list lets them
  go (``lose_income_to_sanction``, ``regain_income_from_sanction``), unless something else took
  it too. Each sanction mechanism has a cause bit of its own (``sanction_cause``), and the people
  whose income sanctions alone took are kept with their sanctions' bits (``to_sanctions``, a
  compiled dict: memory grows with the people sanctioned, not with the population). An
  employer's rejection takes a person out of it, so leaving a list never gives back an income
  that an employer took; one sanction's list letting a person go gives back nothing that
  another's still takes.

Owns: the flag's name, the record (flag byte, mask, the sanctions' people, log; one per
population, made by whichever mechanism asks first, ``income_loss``), the cause bits and the
kernels that change the flag. A mechanism never writes the bit itself. Does not own who loses
income (the setters) or what follows (``debt``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import types
from numba.typed import Dict

from scslab.errors import ScenarioError
from scslab.kernels.compact import grown
from scslab.kernels.compiled_once import compiled_once
from scslab.kernels.jit import kernel
from scslab.kernels.sorting import stable_order
from scslab.kernels.structs import compiled_struct

if TYPE_CHECKING:
    from scslab.population import Population

INCOME_LOST = "income_lost"
"""Name of the per-person flag set when a mechanism costs someone their income."""

INCOME_CAUSES = "income_lost/sanction_causes"
"""Name under which the population keeps how many sanctions' cause bits are handed out."""

MAX_SANCTION_CAUSES = 15
"""Sanction mechanisms that may cost income in one run: one bit each of an int16 (the value
type of the lists' map of false records' sources: numba compiles a map's code once per type)."""

IncomeLossState = compiled_struct(
    "IncomeLossState",
    ("flags", "mask", "to_sanctions", "log", "was", "size", "listening"),
    __name__,
)
"""The flag byte per person and the flag's mask (0: no mechanism costs income); the people whose
income sanctions alone took, with those sanctions' cause bits; the log of changes (person,
whether the flag was set before; ``size`` of them); whether a reader listens (no log otherwise)."""


@kernel
def _new_state(flags, mask):
    return IncomeLossState(
        flags,
        np.uint8(mask),
        Dict.empty(key_type=types.int64, value_type=types.int16),
        np.empty(64, np.int64),
        np.empty(64, np.bool_),
        0,
        False,
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


@compiled_once
@kernel
def lose_income(s, pid):
    """An employer costs ``pid`` the income for good; whether it was newly lost (then noted).

    If only sanctions had taken it, it is the employer's too now: their lists letting ``pid`` go
    will not give it back.
    """
    if not s.mask:  # mask 0: nobody can lose income
        return False
    if pid in s.to_sanctions:
        del s.to_sanctions[pid]
    if s.flags[pid] & s.mask:
        return False
    s.flags[pid] |= s.mask
    _note(s, pid, _WAS_CLEAR)
    return True


@compiled_once
@kernel
def lose_income_to_sanction(s, pid, cause):
    """The sanction ``cause`` (its bit) costs ``pid`` the income; whether it was newly lost."""
    if not s.mask:
        return False
    if s.flags[pid] & s.mask:
        if pid in s.to_sanctions:  # sanctions alone took it: this one too
            s.to_sanctions[pid] = np.int16(s.to_sanctions[pid] | cause)
        return False  # else an employer took it, for good
    s.flags[pid] |= s.mask
    s.to_sanctions[pid] = np.int16(cause)
    _note(s, pid, _WAS_CLEAR)
    return True


@compiled_once
@kernel
def regain_income_from_sanction(s, pid, cause):
    """The sanction ``cause`` lets ``pid`` go; whether the income came back (then noted).

    It comes back only if sanctions alone took it and no other sanction still takes it.
    """
    if pid not in s.to_sanctions:
        return False  # not lost, or lost to an employer too
    left = np.int16(s.to_sanctions[pid] & ~cause)
    if left:
        s.to_sanctions[pid] = left
        return False
    del s.to_sanctions[pid]
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


def sanction_cause(pop: Population, name: str) -> np.int16:
    """A cause bit of its own for sanction mechanism ``name``, which costs income (in ``declare``).

    Raises:
        ScenarioError: more than ``MAX_SANCTION_CAUSES`` sanction mechanisms ask for one.
    """
    given = pop.state.shared.get(INCOME_CAUSES, 0)
    if given == MAX_SANCTION_CAUSES:
        raise ScenarioError(
            f"mechanisms.{name}: a sector costs income, but at most {MAX_SANCTION_CAUSES} "
            "sanction mechanisms may cost income in one run; set income_loss = false in its sectors"
        )
    pop.state.shared[INCOME_CAUSES] = given + 1
    return np.int16(1 << given)


def listen(pop: Population) -> object | None:
    """The lost-income record, logging changes from now on (for a reader); ``None``: no setter.

    Call it in ``init``, when every mechanism has declared its state.
    """
    rec = pop.state.shared.get(INCOME_LOST)
    if rec is not None:
        _listen(rec)
    return rec
