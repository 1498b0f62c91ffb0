"""The base of every validated table of a scenario: fixed once validated, refused in one line.

A scenario's tables (``[scenario]``, ``[population]``, each mechanism's parameters and the tables
nested in them: a leak, a grade, a programme, a data source...) are pydantic models that forbid
unknown keys, infinities and NaN, and are frozen: a run reads them while it runs, and a copy of a
scenario must never change the original. Pydantic refuses a change of a frozen field in four
lines with a link; ``ParameterTable`` refuses it in one that says how to make a changed copy
instead (``CHANGE_HINT``, which each kind of table words for itself).

Owns ``ParameterTable`` and its configuration. Imports nothing of the package (layer 0), so that
every layer's tables may share it; it knows no table's fields.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class ParameterTable(BaseModel):
    """A validated scenario table: no unknown keys, no infinity or NaN, fixed once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    CHANGE_HINT: ClassVar[str] = (
        "make a changed copy of the scenario with sc.with_mechanism(NAME, FIELD=...), giving in "
        "full the mechanism's field that holds this table"
    )
    """How to make a changed copy instead; ``{name}`` is the field the user tried to set."""

    def __setattr__(self, name: str, value: Any) -> None:
        """Refuse in one line: pydantic's own refusal of a frozen field takes four."""
        raise TypeError(
            f"{type(self).__name__}.{name}: parameters are fixed once validated; "
            + self.CHANGE_HINT.format(name=name)
        )
