"""Property-based: malformed scenario files and CLI arguments always give one line and exit 2.

Hypothesis throws 1,200 generated inputs at the CLI: 700 scenario files made by breaking one
value of a shipped preset's resolved scenario (a wrong type, an unknown key, a bad date...), 100
files whose TOML is broken, and 400 command lines with at least one bad argument. Each must end
with exit status 2 and a single line ``scslab: error: ...`` on stderr, never a traceback.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scslab
from conftest import value_paths
from scslab.cli import main

PRESETS = ["integrated_2020", "rongcheng", "sesame_credit", "state_outline_2014", "dangan"]


def fuzz(examples: int) -> settings:
    """Settings of a fuzz test: ``examples`` inputs, reproducible, no deadline."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value if v is not None]
    return value


BASES = {name: _without_none(scslab.load_scenario(name).resolved()) for name in PRESETS}


def _wrong(value: Any, rng: random.Random) -> Any:
    """A value of the wrong kind for ``value``'s place."""
    if isinstance(value, bool):
        return rng.choice([1, "yes", [True], {"x": 1}])
    if isinstance(value, int | float):
        return rng.choice(["x1", True, False, [1], {"x": 1}, "", "1e999x"])
    if isinstance(value, str):
        if value[:2] in ("19", "20") and value[4:5] == "-":  # a date
            return rng.choice(["2020-13-45", "yesterday", 20200101, True])
        return rng.choice([12345, True, [value], {"x": value}])
    if isinstance(value, list):
        return rng.choice(["not a list", 7, True, {"x": 1}])
    if isinstance(value, dict):
        broken = dict(value)
        broken[rng.choice(["zz_unknown", "zz unknown", "ZZ"])] = rng.choice([1, "x", True])
        return broken
    return "x"


def _set(data: dict, path: tuple, value: Any) -> None:
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("scslab: error: "), err
    assert "Traceback" not in err
    return err


ARGS = ["--people", "200", "--days", "2", "--quiet", "--engine", "python"]


@fuzz(700)
@given(preset=st.sampled_from(PRESETS), seed=st.integers(0, 2**32 - 1))
def test_broken_scenario_files_exit_2_with_one_line(preset, seed, tmp_path_factory, capsys):
    rng = random.Random(seed)
    data = _without_none(scslab.load_scenario(preset).resolved())
    path = rng.choice(value_paths(data))
    old = data
    for part in path:
        old = old[part]
    _set(data, path, _wrong(old, rng))
    folder = tmp_path_factory.mktemp("fuzz")
    file = folder / "broken.toml"
    file.write_text(tomli_w.dumps(data))
    assert main(["run", str(file), *ARGS, "--out", str(folder / "run")]) == 2
    _one_error_line(capsys)
    assert not (folder / "run").exists()  # nothing written


@fuzz(100)
@given(
    preset=st.sampled_from(PRESETS),
    line=st.integers(0, 10_000),
    junk=st.sampled_from(["[", "= =", "[[mechanisms", 'x = "', "a.b = 1\na.b = 2", "\x00", "]]"]),
)
def test_broken_toml_exits_2_with_one_line(preset, line, junk, tmp_path_factory, capsys):
    lines = tomli_w.dumps(BASES[preset]).splitlines()
    lines.insert(line % (len(lines) + 1), junk)
    file = Path(tmp_path_factory.mktemp("fuzz")) / "broken.toml"
    file.write_text("\n".join(lines))
    assert main(["run", str(file), *ARGS]) == 2
    _one_error_line(capsys)


BAD_ARGUMENTS = [
    ["--people", "0"],
    ["--people", "-5"],
    ["--people", "abc"],
    ["--people", "3000000000"],
    ["--days", "0"],
    ["--days", "1e3"],
    ["--days", "70000"],
    ["--seed", "-1"],
    ["--scale", "0"],
    ["--engine", "turbo"],
    ["--bogus"],
    ["--people"],
    ["no_such_preset"],
]
COMMANDS = ["run", "plan", "compare", "query", "report", "resume", "nonsense", ""]


@fuzz(400)
@given(
    command=st.sampled_from(COMMANDS),
    bad=st.sampled_from(BAD_ARGUMENTS),
    extra=st.lists(
        st.sampled_from(["--quiet", "--days", "3", "--seed", "2", "rongcheng"]), max_size=4
    ),
    where=st.integers(0, 10),
)
def test_bad_command_lines_exit_2_with_one_line(command, bad, extra, where, tmp_path, capsys):
    argv = [command, "rongcheng", *extra] if command else []
    at = where % (len(argv) + 1)
    argv = argv[:at] + bad + argv[at:]
    if command == "run":
        argv += ["--out", str(tmp_path / "run")]
    code = main(argv)
    assert code == 2, argv
    _one_error_line(capsys)


@pytest.mark.parametrize("preset", PRESETS)
def test_the_unbroken_bases_are_valid(preset, tmp_path):
    """The mutations start from valid files: what breaks them is the one change."""
    file = tmp_path / "ok.toml"
    file.write_text(tomli_w.dumps(BASES[preset]))
    assert scslab.load_scenario(file).meta.name == preset
