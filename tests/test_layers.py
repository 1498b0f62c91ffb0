"""Layers import downward only, and no module of the package imports in a circle.

The test reads every module of ``src/scslab`` with ``ast`` (none is imported; the reading is
``kernels.package_code.imported_names``, which keys the kernel cache too) and builds the
graph of the package's own imports: ``import scslab.x.y``, ``from scslab.x import y`` (an edge to
the module ``scslab.x.y`` when that is a module, else to ``scslab.x``), relative forms
(``from . import x``, ``from ..y import z``), imports inside functions, and the modules a package
``__init__`` imports by walking its folder with ``pkgutil.walk_packages`` (``scslab.mechanisms``).
Imports under ``if TYPE_CHECKING:`` do not run and form no cycle, but they must respect the
layers too. A package's ``__init__``, which Python runs before any module below it, is not an edge
of every import of that module: only what a file names is.
"""

from __future__ import annotations

import ast
from pathlib import Path

from scslab.kernels.package_code import imported_names, module_name

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "scslab"

LAYERS: dict[str, int] = {
    "scslab.errors": 0,
    "scslab.version": 0,
    "scslab.environment": 0,
    "scslab.input_files": 0,
    "scslab.parameter_tables": 0,
    "scslab.kernels": 1,
    "scslab.population": 2,
    "scslab.catalogue": 3,
    "scslab.engine": 4,
    "scslab.mechanisms": 5,
    "scslab.results": 6,
    "scslab.scenario": 7,
    "scslab.api": 8,
    "scslab.compare": 8,
    "scslab.audit": 6,
    "scslab.query": 8,
    "scslab.report": 8,
    "scslab.sweep": 8,
    "scslab.sensitivity": 8,
    "scslab.calibrate": 8,
    "scslab.notebook": 8,
    "scslab.cli": 9,
    "scslab.ui": 9,
    "scslab": 9,
}
"""Layer rank by module prefix (the longest matching prefix wins); a module may import only
modules of its own rank or lower.

0. ``errors``, ``version``, ``environment``, ``input_files``, ``parameter_tables``: the
   exception types the user sees (``ScenarioError``), the version string, the check of the
   environment numba starts with, the bounded read of a file the user gives and the base of every
   validated scenario table, so that any layer may use them; they import nothing of the package.
1. ``kernels``: compiled building blocks (randomness, sampling, records, caches); they know no
   person, no mechanism.
2. ``population``: the synthetic people (households, geography, attributes, per-person state),
   built from kernels.
3. ``catalogue``: the shared vocabulary of events (acts and data sources) that mechanisms
   exchange; plain data, below the engine so that a future engine table may name acts.
4. ``engine``: the plug-in contract (``Mechanism``, families, registry), the board and calendar,
   the compiled plan and the loop. It knows no concrete mechanism and no scenario module: it takes
   a scenario by its shape (``engine.simulation.ScenarioLike``).
5. ``mechanisms``: every concrete mechanism, registered by defining it.
6. ``results``: run folders (manifest, Parquet tables); plain I/O that reads no scenario.
   ``audit`` reads run folders beside it.
7. ``scenario``: scenario files validated against the registered mechanisms' models; it imports
   ``scslab.mechanisms`` to register them.
8. ``api``: build, run and record a scenario (what notebooks and tests use); beside it the
   tools built on it (``compare``, ``query``, ``report``, ``sweep``, ``sensitivity``,
   ``calibrate``) and ``notebook`` (its pandas/polars tables and progress bar).
9. ``cli``, ``ui`` (the Streamlit explorer) and the package's ``__init__`` (the public facade):
   thin layers over the API and the tools beside it.
"""


MODULES: dict[str, Path] = {module_name(p, PACKAGE): p for p in sorted(PACKAGE.rglob("*.py"))}


def is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def layer_of(name: str) -> int:
    """The rank of a module: its longest prefix in ``LAYERS``."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in LAYERS:
            return LAYERS[prefix]
    raise AssertionError(f"{name}: no layer in LAYERS; give its prefix a rank")


def _target(name: str) -> str | None:
    """The package module that ``name`` (a dotted name) refers to, if any: longest known prefix."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in MODULES:
            return prefix
    return None


def imports_of(name: str) -> list[tuple[str, int, bool]]:
    """The package modules that module ``name`` imports: (module, line, only when type checking)."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[tuple[str, int, bool]] = []
    for imp in imported_names(tree, name, is_package(name)):
        if imp.alias is None:
            target = _target(imp.source)
        else:
            target = _target(f"{imp.source}.{imp.alias}") or _target(imp.source)
        if target is not None:
            found.append((target, imp.line, imp.typing_only))
    if is_package(name):  # importlib over pkgutil.walk_packages(__path__): every module below
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("walk_packages"):
                found.extend((m, node.lineno, False) for m in MODULES if m.startswith(f"{name}."))
    return sorted({(t, line, typing) for t, line, typing in found if t != name})


GRAPH: dict[str, list[tuple[str, int, bool]]] = {m: imports_of(m) for m in MODULES}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                cycle = walk(nxt)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state:
            cycle = walk(node)
            if cycle:
                return cycle
    return None


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each group of modules that import each other (each strongly connected
    component of more than one module), so that a failure shows every circle at once."""
    reach: dict[str, set[str]] = {}

    def reachable(start: str) -> set[str]:
        if start not in reach:
            seen, todo = set(), [start]
            while todo:
                for nxt in edges.get(todo.pop(), ()):
                    if nxt not in seen:
                        seen.add(nxt)
                        todo.append(nxt)
            reach[start] = seen
        return reach[start]

    found, done = [], set()
    for node in sorted(edges):
        if node in done or node not in reachable(node):
            continue
        group = {m for m in reachable(node) if node in reachable(m)}
        done |= group
        found.append(find_cycle({m: edges[m] & group for m in group}) or [])
    return found


def test_every_module_has_a_layer() -> None:
    for name in MODULES:
        layer_of(name)


def test_no_import_cycles() -> None:
    edges = {m: {t for t, _, typing in GRAPH[m] if not typing} for m in GRAPH}
    circles = cycles(edges)
    assert not circles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in circles)


def test_no_import_cycles_between_packages() -> None:
    # kernels/ and population/ importing each other is a circle even when no two modules are
    def top(m: str) -> str:
        return ".".join(m.split(".")[:2])

    edges: dict[str, set[str]] = {}
    for m, targets in GRAPH.items():
        edges.setdefault(top(m), set()).update(
            top(t) for t, _, typing in targets if not typing and top(t) != top(m)
        )
    circles = cycles(edges)
    assert not circles, "package cycles:\n" + "\n".join(" -> ".join(c) for c in circles)


def test_imports_go_downward() -> None:
    upward = [
        f"{m} (layer {layer_of(m)}) imports {t} (layer {layer_of(t)}) at line {line}"
        + (" under TYPE_CHECKING" if typing else "")
        for m, targets in GRAPH.items()
        for t, line, typing in targets
        if layer_of(t) > layer_of(m)
    ]
    assert not upward, "imports against the layers:\n" + "\n".join(upward)


def test_the_engine_names_no_mechanism() -> None:
    named = [
        f"{m} imports {t}"
        for m, targets in GRAPH.items()
        if m.startswith("scslab.engine")
        for t, _, _ in targets
        if t.startswith(("scslab.mechanisms", "scslab.scenario"))
    ]
    assert not named, "\n".join(named)


def test_the_walker_sees_known_imports() -> None:
    # the graph is only as good as the parser: known edges of each form must be in it
    def targets(m: str) -> set[str]:
        return {t for t, _, _ in GRAPH[m]}

    assert "scslab.kernels.rng" in targets("scslab.population.attributes")  # from a.b import c
    assert "scslab.api" in targets("scslab.cli")  # from scslab import api (a module)
    assert "scslab.mechanisms.behaviour.debt" in targets("scslab.mechanisms")  # walk_packages
    assert "scslab.engine.simulation" in {  # under TYPE_CHECKING
        t for t, _, typing in GRAPH["scslab.engine.mechanism"] if typing
    }


def test_find_cycle_reports_the_circle() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(edges) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert cycles({**edges, "e": {"f"}, "f": {"e"}}) == [["a", "b", "c", "a"], ["e", "f", "e"]]
