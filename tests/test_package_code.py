"""The package's code as the kernel cache keys it, read once per version of each file.

``kernels/package_code.read_package`` keeps each module's digest and imports in a memo keyed by a
hash of the module's bytes. These tests hold it to what parsing the sources gives, show that the
memo is really read (a planted entry comes back while the bytes match) and really bypassed (not
once they differ), and that a memo that is torn, foreign or cannot be written changes nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from scslab.kernels import package_code
from scslab.kernels.package_code import read_package

MODULES = {
    "__init__.py": '"""A package."""\n',
    "b.py": '"""Module b."""\nfrom scslab import c\n\n\ndef f(x):\n    return c.g(x) + 1\n',
    "c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import scslab.b\n\n\n"
    "def g(x):\n    return 2 * x\n",
}


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    package = tmp_path / "scslab"  # only the package's own imports count
    package.mkdir()
    for name, text in MODULES.items():
        (package / name).write_text(text)
    return package


def _codes(modules: dict[str, package_code.ModuleCode]) -> dict[str, str]:
    return {name: m.code for name, m in modules.items()}


def test_the_memo_gives_what_reading_the_sources_gives(lab: Path, tmp_path: Path) -> None:
    memo = tmp_path / "cache" / "memo.json"
    parsed = read_package(lab, None)
    assert set(parsed) == {"scslab", "scslab.b", "scslab.c"}
    assert "scslab.c" in parsed["scslab.b"].imports and "scslab.b" not in parsed["scslab.c"].imports
    assert read_package(lab, memo) == parsed  # written
    assert memo.exists()
    assert read_package(lab, memo) == parsed  # read back


def test_a_module_is_read_from_the_memo_while_its_bytes_match_and_parsed_once_they_differ(
    lab: Path, tmp_path: Path
) -> None:
    memo = tmp_path / "memo.json"
    original = read_package(lab, memo)
    held = json.loads(memo.read_text())
    held["modules"]["scslab.c"][1] = "planted"
    memo.write_text(json.dumps(held))
    assert read_package(lab, memo)["scslab.c"].code == "planted"  # the memo is what was read

    (lab / "c.py").write_text(MODULES["c.py"].replace("2 * x", "3 * x"))
    changed = read_package(lab, memo)
    assert changed["scslab.c"].code not in {"planted", original["scslab.c"].code}
    assert changed == read_package(lab, None)
    assert json.loads(memo.read_text())["modules"]["scslab.c"][1] == changed["scslab.c"].code

    before = _codes(changed)
    edited = MODULES["c.py"].replace("2 * x", "3 * x")
    (lab / "c.py").write_text('"""Now with a docstring."""\n# and a comment\n' + edited)
    assert _codes(read_package(lab, memo)) == before  # new bytes, same code


@pytest.mark.parametrize("damage", ["torn", "foreign", "shape"])
def test_a_torn_or_foreign_memo_is_read_as_empty_and_rewritten(
    lab: Path, tmp_path: Path, damage: str
) -> None:
    memo = tmp_path / "memo.json"
    read_package(lab, memo)
    held = json.loads(memo.read_text())
    for entry in held["modules"].values():
        entry[1] = "planted"
    if damage == "torn":
        memo.write_text(json.dumps(held)[:40])
    elif damage == "foreign":  # written by another version of the reader, or another Python
        held["reader"] = "another"
        memo.write_text(json.dumps(held))
    else:
        memo.write_text(json.dumps({"reader": held["reader"], "modules": [1, 2]}))
    assert read_package(lab, memo) == read_package(lab, None)
    assert "planted" not in memo.read_text()


def test_a_memo_that_cannot_be_written_changes_nothing(lab: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")
    memo = blocker / "memo.json"  # its folder cannot be made
    assert read_package(lab, memo) == read_package(lab, None)
    assert not any(p.name.endswith(".tmp") for p in tmp_path.rglob("*"))


def test_the_package_s_memo_lives_beside_the_kernel_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    from numba.core import config

    monkeypatch.setattr(config, "CACHE_DIR", "/somewhere/cache")
    assert package_code.memo_path() == Path("/somewhere/cache") / package_code.MEMO_NAME
    monkeypatch.setattr(config, "CACHE_DIR", "")
    assert package_code.memo_path() == package_code.PACKAGE / "__pycache__" / package_code.MEMO_NAME


def test_a_contributor_s_modules_are_walked_kept_in_the_memo_and_forgotten_once_gone(
    lab: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``outside_modules``: a contributor's module and the modules of their own it imports, one
    hop or two, not the standard library or installed packages; read from the memo while their
    bytes match, kept there by the package's reading, and dropped once their file is gone."""
    import importlib
    import sys

    from numba.core import config

    own = tmp_path / "own"
    own.mkdir()
    (own / "walk_a.py").write_text("import os\nimport numpy as np\nfrom walk_b import f\n")
    (own / "walk_b.py").write_text("import json\nimport walk_c\n\n\ndef f(x):\n    return x\n")
    (own / "walk_c.py").write_text("from scslab.kernels import rng\n")
    monkeypatch.syspath_prepend(str(own))
    for name in ("walk_a", "walk_b", "walk_c"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    importlib.import_module("walk_a")
    monkeypatch.setattr(config, "CACHE_DIR", str(tmp_path / "cache"))
    memo = package_code.memo_path()

    found = package_code.outside_modules("walk_a", frozenset({"scslab.kernels.rng"}))
    assert set(found) == {"walk_a", "walk_b", "walk_c"}
    assert "scslab.kernels.rng" in found["walk_c"].imports
    held = json.loads(memo.read_text())["modules"]
    entries = {name.partition("@")[0]: name for name in held}
    assert set(entries) == {"walk_a", "walk_b", "walk_c"}

    held[entries["walk_c"]][1] = "planted"
    memo.write_text(json.dumps({**json.loads(memo.read_text()), "modules": held}))
    read_package(lab, memo)  # the package's reading keeps them
    assert json.loads(memo.read_text())["modules"][entries["walk_c"]][1] == "planted"
    assert package_code.outside_modules("walk_a", frozenset())["walk_c"].code == "planted"

    (own / "walk_c.py").unlink()
    assert set(package_code.outside_modules("walk_a", frozenset())) == {"walk_a", "walk_b"}
    assert entries["walk_c"] not in json.loads(memo.read_text())["modules"]


def test_a_contributor_s_own_package_is_walked_even_where_packages_are_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A contributor's package installed among the interpreter's packages (or a virtual
    environment made in their project's folder) is still theirs: its modules count; another
    installed module does not."""
    import importlib
    import sys

    from numba.core import config

    installed = tmp_path / "site"
    (installed / "mylab").mkdir(parents=True)
    (installed / "mylab" / "__init__.py").write_text("")
    (installed / "mylab" / "mech.py").write_text("import mylab.helper\nimport othermod\n")
    (installed / "mylab" / "helper.py").write_text("def f(x):\n    return x\n")
    (installed / "othermod.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(installed))
    for name in ("mylab", "mylab.mech", "mylab.helper", "othermod"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    importlib.import_module("mylab.mech")
    monkeypatch.setattr(config, "CACHE_DIR", str(tmp_path / "cache"))
    folder = os.path.join(os.path.realpath(installed), "")
    monkeypatch.setattr(package_code, "_installed_folders", lambda: (folder,))
    found = package_code.outside_modules("mylab.mech", frozenset())
    assert set(found) == {"mylab.mech", "mylab.helper"}  # before: {"mylab.mech"} alone


@pytest.mark.parametrize("prefix", ["project", "above"])
def test_a_contributor_s_other_modules_count_where_the_interpreter_s_folders_hold_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefix: str
) -> None:
    """A contributor's project in the interpreter's prefix: a virtual environment made as the
    project's folder (``python -m venv .``, ``project``), or a system Python's prefix above it
    (``/usr`` and ``/usr/src/app``, ``above``). Their other modules, top-level or a second
    package of theirs, still count, and an edit of one changes what keys the kernel; the
    standard library's and site-packages' modules do not, nor one in a dist-packages that is
    not the interpreter's (another environment's, on ``PYTHONPATH``)."""
    import importlib
    import site
    import sys
    import sysconfig

    from numba.core import config

    root = tmp_path / "usr" if prefix == "above" else tmp_path / "project"
    project = root / "src" / "app" if prefix == "above" else root
    stdlib = root / "lib" / "python3"
    installed = stdlib / "site-packages"
    elsewhere = tmp_path / "other" / "dist-packages"
    for folder in (project / "ownlib_v", installed, elsewhere):
        folder.mkdir(parents=True)
    (project / "mech_v.py").write_text(
        "import helpers_v\nfrom ownlib_v import tools\nimport theirlib_v\nimport std_v\n"
        "import farlib_v\n"
    )
    (project / "helpers_v.py").write_text("def f(x):\n    return x\n")
    (project / "ownlib_v" / "__init__.py").write_text("")
    (project / "ownlib_v" / "tools.py").write_text("Y = 2\n")
    (installed / "theirlib_v.py").write_text("X = 1\n")
    (stdlib / "std_v.py").write_text("Z = 3\n")
    (elsewhere / "farlib_v.py").write_text("W = 4\n")
    for folder in (elsewhere, installed, stdlib, project):
        monkeypatch.syspath_prepend(str(folder))
    names = ("mech_v", "helpers_v", "ownlib_v", "ownlib_v.tools", "theirlib_v", "std_v", "farlib_v")
    for name in names:
        monkeypatch.delitem(sys.modules, name, raising=False)
    importlib.import_module("mech_v")

    for name in ("prefix", "exec_prefix", "base_prefix", "base_exec_prefix"):
        monkeypatch.setattr(sys, name, str(root))
    monkeypatch.setattr(site, "getsitepackages", lambda: [str(installed)])
    monkeypatch.setattr(site, "getusersitepackages", lambda: str(tmp_path / "user"))
    layout = {"stdlib": stdlib, "platstdlib": stdlib, "purelib": installed, "platlib": installed}
    paths = {**sysconfig.get_paths(), **{key: str(path) for key, path in layout.items()}}
    monkeypatch.setattr(sysconfig, "get_paths", lambda: dict(paths))
    uncached = package_code._installed_folders.__wrapped__  # reads the folders set above
    monkeypatch.setattr(package_code, "_installed_folders", uncached)
    monkeypatch.setattr(config, "CACHE_DIR", str(tmp_path / "cache"))

    found = package_code.outside_modules("mech_v", frozenset())
    assert set(found) == {"mech_v", "helpers_v", "ownlib_v", "ownlib_v.tools"}  # before: mech_v

    (project / "helpers_v.py").write_text("def f(x):\n    return 2 * x\n")
    edited = package_code.outside_modules("mech_v", frozenset())
    assert edited["helpers_v"].code != found["helpers_v"].code
