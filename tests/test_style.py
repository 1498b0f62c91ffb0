"""The code base passes its own linters (ruff lint and format) and its house style's checkable rule:
every module says in its docstring what it owns."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _ruff():
    exe = Path(sys.executable).with_name("ruff")
    return str(exe) if exe.exists() else shutil.which("ruff")


@pytest.mark.skipif(_ruff() is None, reason="ruff is installed with the [test] extra")
@pytest.mark.parametrize("args", [["check"], ["format", "--check"]])
def test_ruff(args):
    res = subprocess.run(
        [_ruff(), *args, "src", "tests", "benchmarks", "examples"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stdout + res.stderr


def _modules_with_code() -> list[Path]:
    """The package's modules that hold more than a docstring."""
    out = []
    for path in sorted((ROOT / "src" / "scslab").rglob("*.py")):
        body = ast.parse(path.read_text(encoding="utf-8")).body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]
        if body:
            out.append(path)
    return out


def test_every_module_says_what_it_owns():
    """House style: a module's docstring says what it owns (and what it must not touch), so that
    a newcomer finds the room for a new rule. A module of a docstring alone is exempt."""
    modules = _modules_with_code()
    assert len(modules) > 80  # the walk sees the package
    silent = [
        str(path.relative_to(ROOT))
        for path in modules
        if "owns"
        not in (ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or "").lower()
    ]
    assert not silent, "module docstrings that do not say what the module owns: " + ", ".join(
        silent
    )
