"""The explorer's knobs: a scenario's numeric parameters, found from its pydantic models.

``knobs(scenario)`` walks every mechanism's parameters (and the models nested in them, such as each
data source of ``data_sources.sources``) and returns one ``Knob`` per bounded ``int`` or ``float``
field, with its value, bounds and description; ``MAIN`` names the fields shown first (the ones
the issue asks to explore: informants' report rate, the sources' false rates, a list's
thresholds, appeals, enforcement). A knob the scenario takes at its value only (a source's
``false_rate`` without a ``false_act``, a reward's ``chance`` on a score sector, a face search's
``watchlist_share`` in mode 'act') says why in ``Knob.fixed``: it is found by asking the scenario
to take a value on either side (``_fixed``), so the rule stays the model's. ``apply(scenario,
values)`` returns a copy with changed knobs set, validated like a scenario file. Owns no widget
(``app.py`` draws them) and no rule.
"""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass, replace
from typing import Any

import annotated_types
from pydantic import BaseModel

from scslab.errors import ScenarioError
from scslab.scenario import Scenario

MAIN = frozenset(
    {
        "report_prob",
        "false_rate",
        "false_match_rate",
        "enter_below",
        "exit_at",
        "appeal_share",
        "appeal_success_false",
        "enforcement",
        "naming_rate",
        "opt_in_share",
        "arrears_rate",
    }
)
"""Field names shown as main parameters, wherever they are in a scenario."""


@dataclass(frozen=True)
class Knob:
    """One numeric parameter of one mechanism of a scenario."""

    mechanism: str
    """The mechanism's table name in the scenario (``court_list``, ``tax_blacklist``...)."""
    path: tuple[str, ...]
    """The field's path in the mechanism's parameters (``("sources", "bank", "false_rate")``)."""
    kind: type
    """``int`` or ``float``."""
    value: float
    """The scenario's value."""
    low: float | None
    """The smallest allowed value (``None``: unbounded)."""
    high: float | None
    """The largest allowed value (``None``: unbounded)."""
    description: str
    fixed: str = ""
    """Why the scenario takes no other value here (its one-line refusal); empty when it does."""

    @property
    def key(self) -> str:
        """A unique name: ``mechanism.path``."""
        return ".".join((self.mechanism, *self.path))

    @property
    def main(self) -> bool:
        """Whether the field is one of ``MAIN``."""
        return self.path[-1] in MAIN


def _bounds(metadata: list[Any], kind: type) -> tuple[float | None, float | None]:
    """The smallest and largest values a number box may take.

    A strict bound (``gt``, ``lt``) moves inside by one (an ``int``) or to the next float, so
    that the box never offers a value the model refuses (``persuasion`` below 1, a price above 0).
    """
    low = high = None
    for m in metadata:
        if isinstance(m, annotated_types.Ge):
            low = m.ge
        elif isinstance(m, annotated_types.Gt):
            low = m.gt + 1 if kind is int else math.nextafter(float(m.gt), math.inf)
        elif isinstance(m, annotated_types.Le):
            high = m.le
        elif isinstance(m, annotated_types.Lt):
            high = m.lt - 1 if kind is int else math.nextafter(float(m.lt), -math.inf)
    return low, high


def _numeric(info: Any) -> tuple[type, list[Any]] | None:
    """A field's number type and its bounds' metadata (None: not a number field).

    ``int`` and ``float`` fields, and the number of a union with words (``gallery_size``: a
    number, or ``"wanted"``).
    """
    if info.annotation in (int, float):
        return info.annotation, list(info.metadata)
    for arg in typing.get_args(info.annotation):  # Annotated[int, Field(...)] | Literal[...]
        base, *extra = typing.get_args(arg) or (arg,)
        if base in (int, float) and typing.get_origin(arg) is typing.Annotated:
            return base, [m for e in extra for m in getattr(e, "metadata", [e])]
        if arg in (int, float):
            return arg, []
    return None


def _walk(model: BaseModel, mechanism: str, path: tuple[str, ...]) -> list[Knob]:
    found: list[Knob] = []
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            found += _walk(value, mechanism, (*path, name))
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, BaseModel):
                    found += _walk(item, mechanism, (*path, name, str(key)))
        elif (numeric := _numeric(info)) is not None and (
            type(value) is numeric[0] or (numeric[0] is float and type(value) is int)
        ):  # a float field's whole-number default (pydantic keeps a default as written) too
            low, high = _bounds(numeric[1], numeric[0])
            found.append(
                Knob(
                    mechanism,
                    (*path, name),
                    numeric[0],
                    numeric[0](value),
                    low,
                    high,
                    (info.description or "").strip(),
                )
            )
    return found


def knobs(scenario: Scenario) -> list[Knob]:
    """Every ``int`` and ``float`` parameter of the scenario's mechanisms, in file order.

    ``None``-able fields and lists are left out: a number input cannot say "none". A knob that
    the scenario takes at its value only says why in ``fixed``.
    """
    return [replace(k, fixed=_fixed(scenario, k)) for k in _found(scenario)]


def _found(scenario: Scenario) -> list[Knob]:
    found: list[Knob] = []
    for name, params in scenario.mechanisms.items():
        shadowed = _shadowed(params)
        found += [k for k in _walk(params, name, ()) if k.path[:2] not in shadowed]
    return found


def _fixed(scenario: Scenario, knob: Knob) -> str:
    """The scenario's refusal of a value on each side of ``knob``'s (empty: one was taken).

    A cross-field rule refuses one side only (``enter_below`` above ``exit_at``), so a knob is
    fixed only when both sides are refused; a knob at a bound has one side to try.
    """
    refusal = ""
    for value in _either_side(knob):
        try:
            _set(scenario, [(knob, value)])
        except ScenarioError as e:
            refusal = refusal or str(e)
        else:
            return ""
    return refusal


def _either_side(knob: Knob) -> list[float]:
    """A value above and one below ``knob.value`` within its bounds (halfway to a bound)."""
    out: list[float] = []
    for bound, sign in ((knob.high, 1), (knob.low, -1)):
        if bound is not None and bound == knob.value:
            continue
        if knob.kind is int:
            out.append(knob.value + sign)
        elif bound is None:
            out.append(knob.value + sign * max(1.0, abs(knob.value)))
        else:
            out.append((knob.value + bound) / 2)
    return [v for v in out if v != knob.value]


def _shadowed(params: BaseModel) -> set[tuple[str, ...]]:
    """(table, key) pairs whose parameters do nothing: ``extra_X`` redefines key ``K`` of ``X``.

    The rule of ``data_sources.extra_sources`` and ``joint_punishment.extra_sectors``: a name in
    both tables takes the ``extra_`` table's parameters (``X | extra_X``).
    """
    out: set[tuple[str, ...]] = set()
    for field in type(params).model_fields:
        base = field.removeprefix("extra_")
        if base != field and base in type(params).model_fields:
            out |= {(base, str(key)) for key in getattr(params, field) or ()}
    return out


def apply(scenario: Scenario, values: dict[str, float]) -> Scenario:
    """A copy of ``scenario`` with the knobs named in ``values`` (by ``Knob.key``) set.

    Only mechanisms with a changed value are rebuilt (validated like a scenario file).

    Raises:
        ScenarioError: A value is out of range (one line naming the key).
        KeyError: ``values`` names no knob of the scenario.
    """
    by_key = {k.key: k for k in _found(scenario)}
    return _set(scenario, [(by_key[key], value) for key, value in values.items()])


def _set(scenario: Scenario, edits: list[tuple[Knob, float]]) -> Scenario:
    """``scenario`` with each knob of ``edits`` set to its value (validated)."""
    changed: dict[str, list[tuple[Knob, float]]] = {}
    for knob, value in edits:
        if value != knob.value:
            changed.setdefault(knob.mechanism, []).append((knob, value))
    for mechanism, mine in changed.items():
        data = scenario.mechanisms[mechanism].model_dump()
        tops = set()
        for knob, value in mine:
            node = data
            for part in knob.path[:-1]:
                node = node[part]
            node[knob.path[-1]] = knob.kind(value)
            tops.add(knob.path[0])
        scenario = scenario.with_mechanism(mechanism, **{t: data[t] for t in tops})
    return scenario
