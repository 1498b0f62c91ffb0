"""Every default that sets a value says where the value comes from, where ``scslab schema``
shows it.

A field whose default is a number, a list holding numbers or a table (a non-empty dict, or a
default made by a factory, which the JSON schema cannot show) must say in its description either
that the value is an assumption (the word "assumption") or which source gives it: a citation
("source: ..."), a file of ``data/calibration/`` (the text ``calibration/``), the census tables of
``data/SOURCES.md`` ("SOURCES.md" or "census"), or the seed article ("seed article"). The test
walks the whole schema, so that no future default slips by.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import scslab

SOURCE_MARKERS = ("assumption", "source:", "calibration/", "sources.md", "census", "seed article")
"""Text (lower case) that marks a description as giving its default's source or calling it an
assumption."""


def _has_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    if isinstance(value, list):
        return any(_has_number(v) for v in value)
    return isinstance(value, dict) and bool(value)  # an empty table sets no value


def _is_section(prop: dict[str, Any]) -> bool:
    """A field that is one sub-model (its own fields are checked where the model is defined)."""
    return "$ref" in prop or (
        "allOf" in prop and all("$ref" in p for p in prop["allOf"]) and len(prop["allOf"]) == 1
    )


def _models(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(title, schema) of every model in the schema: every node with fields, at any depth."""
    if isinstance(node, dict):
        if "properties" in node:
            yield node.get("title", where), node
        for key, value in node.items():
            if key not in ("default", "examples"):
                yield from _models(value, key)
    elif isinstance(node, list):
        for value in node:
            yield from _models(value, where)


def _valued_defaults(schema: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(model.field, its schema) for every field whose default sets a value or a table."""
    for title, model in _models(schema, where):
        required = set(model.get("required", ()))
        for name, prop in model["properties"].items():
            factory = "default" not in prop and name not in required and not _is_section(prop)
            if factory or _has_number(prop.get("default")):
                yield f"{title}.{name}", prop


def test_every_default_value_gives_its_source_or_says_assumption():
    schema = scslab.scenario_schema()
    found = dict(_valued_defaults(schema, "scenario"))
    assert len(found) > 100  # the walk reaches every mechanism's fields
    unsourced = sorted(
        name
        for name, prop in found.items()
        if not any(m in prop.get("description", "").lower() for m in SOURCE_MARKERS)
    )
    assert not unsourced, "defaults without a source or 'assumption': " + ", ".join(unsourced)


def test_the_walk_sees_tables_and_numbers():
    found = dict(_valued_defaults(scslab.scenario_schema(), "scenario"))
    # a table made by a factory (no default in the JSON), a number, a list of numbers
    assert "JointPunishmentParams.sectors" in found
    assert "InformantsParams.ties" in found
    assert "DebtParams.income_effect" in found
    assert "DebtParams.enabled" not in found and "DebtParams.listing_list" not in found


SCORER_SCALE = frozenset({"floor", "ceiling", "low_scores"})
"""Number fields on a scorer's own scale (300-850, 0-1000, points from a base) that have no bound
of their own: their range is the scorer's, checked against it where the scenario is set up. The
other thresholds on a score (grades' ``min_score``, ``below``, ``enter_below``, ``exit_at``,
``report_thresholds``) and a point system's ``base`` are bounded like any number."""


def _only_numbers(prop: dict[str, Any]) -> bool:
    kinds = {o.get("type") for o in prop.get("anyOf", [prop]) if isinstance(o, dict)}
    return bool(kinds & {"integer", "number"}) and not kinds & {"string", "object", "array"}


def _number_fields(schema: Any, where: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(model, field, its schema) for every field that takes only numbers (no text, no table),
    and for every list or table of numbers (``field[]``: the schema of its items or values)."""
    for title, model in _models(schema, where):
        for name, prop in model["properties"].items():
            if _only_numbers(prop):
                yield title, name, prop
            for option in prop.get("anyOf", [prop]):
                for part in ("items", "additionalProperties"):
                    inner = option.get(part) if isinstance(option, dict) else None
                    if isinstance(inner, dict) and _only_numbers(inner):
                        yield title, f"{name}[]", inner


def test_every_number_field_has_bounds():
    """docs/architecture.md: every number field has bounds (a scorer's scale is the scorer's)."""

    def bound(prop: dict[str, Any], *keys: str) -> bool:
        options = [o for o in prop.get("anyOf", [prop]) if isinstance(o, dict)]
        return any(k in o for o in [prop, *options] for k in keys)

    found = list(_number_fields(scslab.scenario_schema(), "scenario"))
    assert len(found) > 200
    unbounded = sorted(
        {
            f"{model}.{name}"
            for model, name, prop in found
            if name.removesuffix("[]") not in SCORER_SCALE
            and not (
                bound(prop, "minimum", "exclusiveMinimum")
                and bound(prop, "maximum", "exclusiveMaximum")
            )
        }
    )
    assert not unbounded, "number fields without both bounds: " + ", ".join(unbounded)
