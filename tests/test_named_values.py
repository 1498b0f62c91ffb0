"""Values cross the Python/kernel border by name, never by position (``kernels/structs.py``).

A value that Python builds for a kernel is a compiled record's field or a ``typing.NamedTuple``
read by field at both ends: a field that one side renames fails to compile, a keyword that does
not exist fails where the value is built. What is left to check is the code itself, read with
``ast``: no kernel unpacks a record's field by position, every named tuple of the package is
built by keyword, and every field of one is read by name somewhere.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "scslab"

KNOWN_POSITIONAL: frozenset[tuple[str, str]] = frozenset(
    {
        # kernels/sampling: ``where`` is built and read inside that one module's kernels
        ("kernels/sampling.py", "flags, mask = where"),
        # numba's typing API hands a signature's argument types as a tuple
        ("kernels/memory.py", "state_type, index_type = signature.args"),
        ("kernels/memory.py", "state_type, ids_type, i_type = signature.args"),
        ("kernels/structs.py", "record_type, values_type = signature.args"),
    }
)
"""Unpackings by position that are known: each names its reason. A new one fails the test."""


def _modules() -> dict[str, ast.Module]:
    return {
        p.relative_to(PACKAGE).as_posix(): ast.parse(p.read_text(encoding="utf-8"))
        for p in sorted(PACKAGE.rglob("*.py"))
    }


MODULES = _modules()


def _named_tuples() -> dict[str, tuple[str, list[str]]]:
    """Every ``NamedTuple`` class of the package: name -> (module, fields)."""
    found = {}
    for module, tree in MODULES.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and any(
                ast.unparse(b).endswith("NamedTuple") for b in node.bases
            ):
                fields = [
                    s.target.id
                    for s in node.body
                    if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
                ]
                found[node.name] = (module, fields)
    return found


NAMED_TUPLES = _named_tuples()


def test_no_unpacking_of_a_field_by_position() -> None:
    # ``a, b, c = s.rule`` reads a value by position: a record's field or a parameter's tuple
    found = set()
    for module, tree in MODULES.items():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.targets[0], ast.Tuple)
                and isinstance(node.value, ast.Attribute | ast.Name)
                and not ast.unparse(node.value).startswith("self.")  # a Python object's pair
            ):
                found.add((module, ast.unparse(node)))
    new = sorted(found - KNOWN_POSITIONAL)
    assert not new, "unpacked by position (give the value a NamedTuple or record fields):\n" + (
        "\n".join(f"{m}: {code}" for m, code in new)
    )


def test_named_tuples_are_built_by_keyword() -> None:
    positional = []
    for module, tree in MODULES.items():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in NAMED_TUPLES
                and len(NAMED_TUPLES[node.func.id][1]) > 1
                and node.args
            ):
                positional.append(f"{module}:{node.lineno}: {ast.unparse(node)[:90]}")
    assert not positional, "built by position:\n" + "\n".join(positional)


READ_BY_GETATTR = frozenset({"AttributeKeys"})
"""Named tuples whose fields are also read by a name held in data: a scenario names the trait
that modulates a rate, read with ``getattr(pop.keys, trait)``."""


def test_every_field_of_a_named_tuple_is_read_by_name() -> None:
    read = {
        node.attr
        for tree in MODULES.values()
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load)
    }
    unread = [
        f"{module}: {name}.{field}"
        for name, (module, fields) in NAMED_TUPLES.items()
        for field in fields
        if field not in read and name not in READ_BY_GETATTR
    ]
    assert not unread, "fields nobody reads by name (read by position?):\n" + "\n".join(unread)


def test_the_checks_see_the_border_values() -> None:
    assert {"SectorRules", "InformantRule", "LabelledDraws", "FlagBits"} <= set(NAMED_TUPLES)
    assert NAMED_TUPLES["SectorRules"][1][0] == "attempt_keys"
