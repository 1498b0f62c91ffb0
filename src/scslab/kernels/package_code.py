"""The package's code as the kernel cache keys it: each module's syntax digest and its imports.

A kernel is cached under the code it depends on (``kernels/cache.py``): its module and every
package module that module imports at run time, each read as its syntax tree without docstrings,
so that comments, docstrings and moved lines change no key. This module owns that reading:

- ``module_name``, ``imported_names`` and ``runtime_imports``: what a module imports, anywhere in
  it (imports under ``if TYPE_CHECKING:`` are for type checkers and do not count);
- ``code_digest`` and ``dependencies``: a module's key, and the modules it covers; a module
  outside the package (a contributor's) is keyed with the modules of their own it imports too,
  directly or through others (``outside_modules``): every module not of the standard library or
  an installed distribution (not in their folders or a site-packages), wherever it lies;
- ``package_digest``: one digest of the whole package (checkpoints are resumed only by the code
  that wrote them).

Parsing and printing the syntax of the package's hundred modules takes about 0.6 s, which every
process paid as it imported ``scslab`` (a warm run, a first run's compile helper, each of a sweep's
workers). What a module's bytes give never changes, so it is kept in a small file, ``MEMO_NAME``,
beside the kernels' disk cache (``NUMBA_CACHE_DIR``, else the package's ``__pycache__``), keyed by
a hash of each module's bytes, not its time stamp: a module is read again exactly when its bytes
differ. The file also names this module's own bytes and the Python version (whose syntax trees
it holds); a file written by another is ignored. One that cannot be read reads as empty, one that
cannot be written is not, and it is replaced whole (written aside, then renamed), so two
processes never see half of one. Only what it holds is trusted: hashes and names, read as JSON.
It keeps a contributor's modules too, under their name and path (``name@path``), until their file
is gone.

This module must not import numba's compiler or any kernel: it reads source files only (and
numba's settings, for where its cache is).
"""

from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import importlib.util
import json
import os
import site
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from numba.core import config as numba_config

PACKAGE = Path(__file__).resolve().parent.parent
PACKAGE_NAME = "scslab"

MEMO_NAME = f"scslab-code.{sys.implementation.cache_tag}.json"
"""The file, beside the kernel cache, that keeps each module's digest and imports."""


def module_name(path: Path, package: Path = PACKAGE) -> str:
    """The dotted name of the module at ``path`` in ``package`` (a folder named like it)."""
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@dataclass(frozen=True)
class ImportedName:
    """One name an import statement reads: ``from source import alias`` (or ``import source``).

    A dataclass, not a NamedTuple: it never reaches a kernel, and it cannot be read by position.
    """

    source: str
    """The absolute dotted module named (a relative import resolved)."""
    alias: str | None
    """The name taken from it (``None`` for ``import source``)."""
    line: int
    typing_only: bool
    """Under ``if TYPE_CHECKING:``: read by type checkers, never run."""


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_names(tree: ast.Module, name: str, is_package: bool) -> list[ImportedName]:
    """Every name that module ``name`` imports, anywhere in it (functions too), in file order."""
    found: list[ImportedName] = []
    package = name.split(".") if is_package else name.split(".")[:-1]

    def visit(node: ast.AST, typing_only: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, True)
            for child in node.orelse:
                visit(child, typing_only)
            return
        if isinstance(node, ast.Import):
            found.extend(
                ImportedName(source=a.name, alias=None, line=node.lineno, typing_only=typing_only)
                for a in node.names
            )
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the module's own package, or above
                base = package[: len(package) - (node.level - 1)]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            found.extend(
                ImportedName(source=source, alias=a.name, line=node.lineno, typing_only=typing_only)
                for a in node.names
            )
        for child in ast.iter_child_nodes(node):
            visit(child, typing_only)

    visit(tree, False)
    return found


def all_runtime_imports(tree: ast.Module, name: str, is_package: bool) -> set[str]:
    """The modules (or names in them) that module ``name`` imports when it runs, any package's.

    Both the module an import names and the name taken from it (a submodule or not): a kernel's
    key counts every module that could hold code it runs.
    """
    found: set[str] = set()
    for imp in imported_names(tree, name, is_package):
        if not imp.typing_only:
            found.add(imp.source)
            if imp.alias is not None:
                found.add(f"{imp.source}.{imp.alias}")
    return found


def runtime_imports(tree: ast.Module, name: str, is_package: bool) -> set[str]:
    """The package modules (or names in them) that module ``name`` imports when it runs."""
    found = all_runtime_imports(tree, name, is_package)
    return {m for m in found if m == PACKAGE_NAME or m.startswith(PACKAGE_NAME + ".")}


def _is_text(statement: ast.stmt) -> bool:
    """Whether a statement is a string alone: a docstring, or an attribute's (after ``X = 1``)."""
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def without_docstrings(tree: ast.Module) -> ast.Module:
    """``tree`` with every statement that is a string alone taken out (in place).

    The docstrings of its module, classes and functions, and the string written on the line
    after a constant or a field to say what it is: none of them runs.
    """
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            statements = getattr(node, field, None)
            if isinstance(statements, list) and any(_is_text(s) for s in statements):
                kept = [s for s in statements if not _is_text(s)]
                setattr(node, field, kept or [ast.Pass()])
    return tree


def syntax_digest(tree: ast.Module) -> str:
    """A digest of ``tree``'s syntax without docstrings (comments and lines never reach a tree)."""
    return hashlib.sha256(ast.dump(without_docstrings(tree)).encode()).hexdigest()


class ModuleCode(NamedTuple):
    """What one module's bytes give: read once per version of the file (the memo's entries)."""

    source: str
    """A hash of the file's bytes: the memo's key."""
    code: str
    """``syntax_digest`` of the module."""
    imports: frozenset[str]
    """``runtime_imports`` of the module (package names, before they are matched to modules); of
    a module outside the package, ``all_runtime_imports``."""


def _read_module(path: Path, name: str, source: bytes, source_hash: str) -> ModuleCode:
    tree = ast.parse(source, str(path))
    imports = frozenset(runtime_imports(tree, name, path.name == "__init__.py"))
    return ModuleCode(source=source_hash, code=syntax_digest(tree), imports=imports)


def _reader() -> str:
    """What a memo must have been written by: this module's bytes, under this Python."""
    own = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    return f"{own}|{sys.version}"


def _load_memo(memo: Path | None, reader: str) -> dict[str, ModuleCode]:
    if memo is None:
        return {}
    try:
        held = json.loads(memo.read_text())
        if held["reader"] != reader:
            return {}
        return {
            name: ModuleCode(source=source, code=code, imports=frozenset(imports))
            for name, (source, code, imports) in held["modules"].items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):  # missing, torn, or odd
        return {}


def _save_memo(memo: Path, reader: str, modules: dict[str, ModuleCode]) -> None:
    held = {
        "reader": reader,
        "modules": {
            name: [m.source, m.code, sorted(m.imports)] for name, m in sorted(modules.items())
        },
    }
    aside = memo.with_name(f"{memo.name}.{os.getpid()}.tmp")  # made like any file (umask)
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        aside.write_text(json.dumps(held))
        os.replace(aside, memo)
    except OSError:  # a folder that cannot be written: every process reads the sources
        with contextlib.suppress(OSError):
            aside.unlink()


def memo_path(package: Path = PACKAGE) -> Path:
    """Where the memo of ``package``'s code lives: beside the kernels' disk cache."""
    cache_dir = numba_config.CACHE_DIR  # NUMBA_CACHE_DIR, as numba's own cache reads it
    return Path(cache_dir) / MEMO_NAME if cache_dir else package / "__pycache__" / MEMO_NAME


def read_package(package: Path, memo: Path | None) -> dict[str, ModuleCode]:
    """Each module of ``package`` (by dotted name) with its digest and imports.

    A module whose bytes the memo at ``memo`` holds is not parsed; the memo is rewritten when
    anything read differs from it (``memo=None``: none is read or written).
    """
    reader = _reader()
    known = _load_memo(memo, reader)
    outside = {name: m for name, m in known.items() if _OUTSIDE in name}  # kept as they are
    found: dict[str, ModuleCode] = {}
    for path in sorted(package.rglob("*.py")):
        name = module_name(path, package)
        source = path.read_bytes()
        source_hash = hashlib.sha256(source).hexdigest()
        held = known.get(name)
        found[name] = (
            held
            if held is not None and held.source == source_hash
            else _read_module(path, name, source, source_hash)
        )
    if memo is not None and {**outside, **found} != known:
        _save_memo(memo, reader, {**outside, **found})
    return found


@functools.cache
def _package() -> tuple[dict[str, str], dict[str, frozenset[str]]]:
    """Every module's code digest (syntax without docstrings) and runtime package imports."""
    modules = read_package(PACKAGE, memo_path())
    code = {name: m.code for name, m in modules.items()}
    return code, {
        name: frozenset(dep for dep in m.imports if dep in code) for name, m in modules.items()
    }


@functools.cache
def dependencies(module: str) -> frozenset[str]:
    """``module`` and every package module it imports at run time, directly or not."""
    _, imports = _package()
    seen = {module}
    todo = [module]
    while todo:
        for dep in imports.get(todo.pop(), ()):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return frozenset(seen)


_OUTSIDE = "@"
"""Joins a module outside the package to its path in the memo's names (no module name has one)."""


_INSTALLED_PARTS = frozenset({"site-packages", "dist-packages"})
"""Folder names that installers put distributions in, wherever they are on ``sys.path``."""


@functools.cache
def _installed_folders() -> tuple[str, ...]:
    """The folders of installed code: the standard library's and the site-packages (with a slash).

    Not the interpreter's prefixes: a contributor's project may be one (a virtual environment made
    as its folder, ``python -m venv .``) or lie under one (a system Python's ``/usr`` and a project
    in ``/usr/src/app``), and its modules are theirs.
    """
    paths = sysconfig.get_paths()
    folders = {paths.get(key) for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    with contextlib.suppress(AttributeError):  # an old virtualenv's ``site`` has neither
        folders.update(site.getsitepackages())
        folders.add(site.getusersitepackages())
    return tuple(sorted({os.path.join(os.path.realpath(f), "") for f in folders if f}))


def _installed(real: str) -> bool:
    """Whether the file at ``real`` (a real path) is the standard library's or installed code."""
    return real.startswith(_installed_folders()) or not _INSTALLED_PARTS.isdisjoint(
        Path(real).parts
    )


def _source_of(name: str) -> str | None:
    """The source file of module ``name``, loaded or not yet (nothing is imported), or None.

    A module the kernel's module imports after the kernel is defined is not loaded when the
    kernel is stamped; its file is found as an import would find it, if its package is loaded.
    """
    module = sys.modules.get(name)
    if module is not None:
        return getattr(module, "__file__", None)
    parent = name.rpartition(".")[0]
    if parent and parent not in sys.modules:
        return None  # finding it would import its package
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, AttributeError, ValueError):  # a name in a module, not a submodule
        return None
    return spec.origin if spec is not None and spec.has_location else None


def _outside_code(
    name: str, known: dict[str, ModuleCode], anywhere: bool = False
) -> tuple[str, ModuleCode] | None:
    """The memo's name and the code of module ``name``, if it is a contributor's source file.

    One that is not a ``.py`` file that can be read and parsed gives None, and so does one of
    the standard library or of an installed distribution (in its folder or a site-packages,
    ``_installed``) unless ``anywhere``. Anything else is a contributor's, under the
    interpreter's prefix or not; an editable install's modules are read where they are, in
    their project's folder, so they are its.
    """
    path = _source_of(name)
    if not path or not path.endswith(".py"):
        return None
    real = os.path.realpath(path)
    if not anywhere and _installed(real):
        return None
    try:
        source = Path(real).read_bytes()
        source_hash = hashlib.sha256(source).hexdigest()
        entry = f"{name}{_OUTSIDE}{real}"
        held = known.get(entry)
        if held is not None and held.source == source_hash:
            return entry, held
        tree = ast.parse(source, real)
    except (OSError, SyntaxError, ValueError):
        return None
    imports = frozenset(all_runtime_imports(tree, name, Path(real).name == "__init__.py"))
    return entry, ModuleCode(source=source_hash, code=syntax_digest(tree), imports=imports)


def outside_modules(module: str, package: frozenset[str]) -> dict[str, ModuleCode]:
    """``module``, outside the package, and the modules it imports, directly or not, by name.

    ``module``'s file wherever it is, and of its imports and theirs, each that is a
    contributor's source file: not the standard library's or an installed distribution's
    (``_outside_code``: by the folder the file is in, not by the interpreter's prefix, which a
    project may hold or lie under), unless it is in ``module``'s own top-level package (a
    contributor's package installed in site-packages is still theirs). Their other top-level
    modules and packages count wherever the project lies. A module of ``package`` ends the walk
    (its dependencies are the package's). Empty when ``module``'s own source cannot be read (in
    a zip, a notebook's). What is read is kept in the memo, which forgets the modules whose file
    is gone.
    """
    memo = memo_path()
    reader = _reader()
    known = _load_memo(memo, reader)
    first = _outside_code(module, known, anywhere=True)
    if first is None:
        return {}
    top = module.partition(".")[0]
    read = dict([first])
    found = {module: first[1]}
    seen = {module}
    todo = [first[1]]
    while todo:
        for name in sorted(todo.pop().imports - seen):
            seen.add(name)
            if name in package or name == PACKAGE_NAME or name.startswith(PACKAGE_NAME + "."):
                continue
            sibling = name.partition(".")[0] == top  # their own package, wherever installed
            got = _outside_code(name, known, anywhere=sibling)
            if got is not None:
                read[got[0]] = found[name] = got[1]
                todo.append(got[1])
    kept = {
        entry: code
        for entry, code in known.items()
        if _OUTSIDE not in entry or os.path.exists(entry.partition(_OUTSIDE)[2])
    }
    if len(kept) < len(known) or any(known.get(entry) != code for entry, code in read.items()):
        _save_memo(memo, reader, {**kept, **read})
    return found


@functools.cache
def code_digest(module: str) -> str:
    """A digest of the code of ``module`` and of its dependencies (docstrings left out).

    A module outside the package (a contributor's own mechanism) counts with its own file, the
    modules of their own it imports, directly or through others (``outside_modules``: not the
    standard library or installed distributions), and the package modules all of these import.
    """
    code, _ = _package()
    outside: dict[str, str] = {}
    if module in code:
        names = dependencies(module)
        own = ""
    else:  # a module whose source cannot be read counts as empty: its imports unknown
        modules = outside_modules(module, frozenset(code))
        own = modules[module].code if module in modules else syntax_digest(ast.Module([], []))
        deps = {dep for m in modules.values() for dep in m.imports if dep in code}
        names = frozenset().union(*(dependencies(dep) for dep in deps))
        outside = {name: m.code for name, m in modules.items() if name != module}
    digest = hashlib.sha256(f"{module}:{own};".encode())
    for name in sorted(names):
        digest.update(f"{name}:{code[name]};".encode())
    for name in sorted(outside):
        digest.update(f"{name}{_OUTSIDE}{outside[name]};".encode())
    return digest.hexdigest()


def package_digest() -> str:
    """A digest of the code of every module of the package (docstrings and comments left out).

    Two processes with the same digest run the same kernels (a checkpoint written by one can be
    resumed by the other with the same results).
    """
    code, _ = _package()
    digest = hashlib.sha256()
    for name in sorted(code):
        digest.update(f"{name}:{code[name]};".encode())
    return digest.hexdigest()
