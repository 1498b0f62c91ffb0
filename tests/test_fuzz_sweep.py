"""Property-based: malformed sweep files and bad lines of the newer commands give one line, exit 2.

Hypothesis throws 1,250 generated inputs at the CLI:

- 700 sweep files for ``scslab sweep``, ``sensitivity`` and ``calibrate``, each a valid file broken
  by one generated mutation (a wrong type anywhere, an unknown key or table, a bad parameter path
  or value, a bad range, an empty grid, bad replications, overrides or design, a bad
  ``[sensitivity]`` or ``[calibrate]`` table, a bad base scenario, a broken calibration CSV);
- 100 files that are not TOML (random bytes, bad UTF-8, a cut or spliced file);
- 150 command lines of the three commands with bad flags, files and folders, and 50 runs of
  a calibration file into its own folder whose stored trials cannot be resumed from;
- 150 of ``scslab resume`` on folders that are no resumable run (manifests and checkpoints
  broken in generated ways);
- 100 of ``scslab run --checkpoint-every`` with a bad number, file or folder.

Each must end with exit status 2 and one line ``scslab: error: ...`` on stderr, and leave every
file under the case's folder as it was (nothing written, nothing half written). No simulation
runs: Dask's client and cluster, ``api.run`` and the resumed simulation are replaced by a guard
that fails the test, so an input the loaders accept (which would run) fails it too.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import struct
import types
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scslab
import scslab.api
import scslab.sweep
from conftest import value_paths
from scslab.calibrate import CalibrateTable, calibration_digest, rows_fitted
from scslab.cli import main
from scslab.engine.checkpoint import CHECKPOINT_FILE, FORMAT, MAGIC, package_digest
from scslab.version import __version__

pytest.importorskip("distributed")
pytest.importorskip("optuna")
pytest.importorskip("SALib")


def fuzz(examples: int) -> settings:
    """Settings of a fuzz test: ``examples`` inputs, reproducible, no deadline."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


class WouldRunError(Exception):
    """A generated input got past every check: it would have run (so it was not malformed)."""


def _would_run(*args: Any, **kwargs: Any) -> Any:
    raise WouldRunError(f"accepted and about to run: {args!r:.300}")


def _client(address: Any = None, *args: Any, **kwargs: Any) -> Any:
    """Dask's client on a scheduler address (which fails: none runs), else a failure."""
    if isinstance(address, str):
        import distributed

        return distributed.Client(address, timeout="1s")
    return _would_run(address)


@pytest.fixture
def no_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing runs: a local cluster, ``api.run`` or a resumed simulation fails the test.

    A client on a ``--scheduler`` address is Dask's own: no scheduler runs, so it fails.
    """
    fake = types.SimpleNamespace(Client=_client, LocalCluster=_would_run, as_completed=_would_run)
    monkeypatch.setattr(scslab.sweep, "_distributed", lambda: fake)
    monkeypatch.setattr(scslab.api, "run", _would_run)
    monkeypatch.setattr(scslab.api, "Simulation", _would_run)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b"<folder>"
        for p in sorted(folder.rglob("*"))
    }


def _refused(argv: list[str], folder: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``argv``: exit 2, one error line, every file under ``folder`` as it was."""
    before = _snapshot(folder)
    try:
        code = main(argv)
    except WouldRunError:
        pytest.fail(f"accepted, would run: {argv}")
    captured = capsys.readouterr()
    assert code == 2, (argv, captured.err, captured.out)
    assert captured.err.count("\n") == 1, (argv, captured.err)
    assert captured.err.startswith("scslab: error: "), (argv, captured.err)
    assert "Traceback" not in captured.err
    assert _snapshot(folder) == before, argv
    return captured.err


# --------------------------------------------------------------------------- valid bases

SWEEP_GRID = {
    "sweep": {  # no people: the people are swept (both would be refused)
        "scenario": "rongcheng",
        "days": 30,
        "replications": 2,
        "seed": 1,
        "outputs": ["records_by_informant:sum", "acts"],
    },
    "parameters": {
        "mechanisms.informants.report_prob": [0.005, 0.01],
        "scenario.people": [1000, 2000],
    },
}
SWEEP_RANDOM = {
    "sweep": {"scenario": "rongcheng", "people": 2000, "days": 30, "design": "random", "n": 3},
    "parameters": {
        "mechanisms.informants.report_prob": {"low": 0.002, "high": 0.05},
        "mechanisms.debt.arrears_rate": {"low": 1e-5, "high": 1e-4, "log": True},
        "mechanisms.informants.ties": [4, 8],
    },
}
SWEEP_SOBOL = {
    "sweep": {"scenario": "rongcheng", "people": 2000, "until": dt.date(2013, 11, 1)},
    "parameters": {"mechanisms.informants.report_prob": {"low": 0.002, "high": 0.05}},
}
SWEEP_SOBOL["sweep"] |= {"design": "sobol", "n": 4, "seed": 3}
SENSITIVITY = {
    "sweep": {"scenario": "rongcheng", "people": 2000, "days": 30, "seed": 2},
    "parameters": {
        "mechanisms.informants.report_prob": {"low": 0.002, "high": 0.05},
        "mechanisms.travel_bans.train_attempt_rate": {"low": 1e-4, "high": 0.01, "log": True},
    },
    "sensitivity": {"method": "sobol", "n": 2, "outputs": ["records_by_informant:sum", "acts"]},
}
MORRIS = {
    "sweep": dict(SENSITIVITY["sweep"]),
    "parameters": dict(SENSITIVITY["parameters"]),
    "sensitivity": {"method": "morris", "n": 2, "levels": 4, "outputs": ["acts:mean"]},
}
CALIBRATE = {
    "sweep": {
        "scenario": "joint_punishment_2016",
        "people": 2000,
        "until": dt.date(2015, 6, 30),
        "scale": 282_000,
        "seed": 1,
    },
    "parameters": {"mechanisms.debt.arrears_rate": {"low": 1e-5, "high": 3e-4, "log": True}},
    "calibrate": {
        "targets": ["persons_ever_listed", "flight_purchases_blocked"],
        "trials": 3,
        "batch": 3,
        "sampler": "random",
    },
}

BASES: dict[str, tuple[str, dict[str, Any]]] = {
    "grid": ("sweep", SWEEP_GRID),
    "random": ("sweep", SWEEP_RANDOM),
    "sobol": ("sweep", SWEEP_SOBOL),
    "sensitivity": ("sensitivity", SENSITIVITY),
    "morris": ("sensitivity", MORRIS),
    "calibrate": ("calibrate", CALIBRATE),
}


def _copy(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_copy(v) for v in data]
    return data


def _leaves(value: Any, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every (path, value) of a resolved scenario's non-null values outside lists."""
    out = []
    for k, v in value.items():
        path = (*prefix, k)
        if isinstance(v, dict):
            out += _leaves(v, path)
        elif v is not None and not (k == "type" and path[0] == "mechanisms"):
            out.append((path, v))
    return [
        (p, v) for p, v in out if p[:2] not in (("scenario", "name"), ("scenario", "description"))
    ]


LEAVES = {
    name: _leaves(scslab.load_scenario(name).resolved())
    for name in ("rongcheng", "joint_punishment_2016")
}


def _preset(data: dict[str, Any]) -> str:
    return data["sweep"]["scenario"]


# --------------------------------------------------------------------------- mutations


def _wrong(value: Any, rng: random.Random) -> Any:
    """A value of the wrong kind for ``value``'s place."""
    if isinstance(value, bool):
        return rng.choice([1, "yes", [True], {"x": 1}, 0.0])
    if isinstance(value, int | float):
        return rng.choice(["x1", True, False, [1], {"x": 1}, "", "1e999x"])
    if isinstance(value, str):
        return rng.choice([12345, True, [value], {"x": value}, 1.5])
    if isinstance(value, list):
        return rng.choice(["not a list", 7, True, {"x": 1}])
    if isinstance(value, dict):
        broken = dict(value)
        broken[rng.choice(["zz_unknown", "zz unknown", "ZZ", ""])] = rng.choice([1, "x", True])
        return broken
    if isinstance(value, dt.date):
        return rng.choice(["soon", "2020-13-45", True, [value], 1.5])
    return "x"


def _get(data: Any, path: tuple) -> Any:
    for part in path:
        data = data[part]
    return data


def _set(data: Any, path: tuple, value: Any) -> None:
    _get(data, path[:-1])[path[-1]] = value


def wrong_type(data: dict[str, Any], rng: random.Random, folder: Path) -> None:
    """A value anywhere in the file (a table, a list, an element) of the wrong kind."""
    path = rng.choice(value_paths(data))
    _set(data, path, _wrong(_get(data, path), rng))


def unknown_key(data: dict[str, Any], rng: random.Random, folder: Path) -> None:
    """An unknown key in a table, a range, or an unknown table."""
    key = rng.choice(["zz", "peple", "Seed", "parameter", "sweep ", "trails", "design_"])
    tables = [k for k in data if isinstance(data[k], dict) and k != "parameters"]
    ranges = [p for p, v in data.get("parameters", {}).items() if isinstance(v, dict)]
    where = rng.choice(["top", "table", "range"] if ranges else ["top", "table"])
    if where == "top":
        data[rng.choice(["sweeps", "param", "calibration", "Sensitivity", "zz"])] = {"x": 1}
    elif where == "table":
        data[rng.choice(tables)][key] = rng.choice([1, "x", True, 0.5])
    else:
        data["parameters"][rng.choice(ranges)][rng.choice(["hi", "lo", "step", "Log"])] = 1


def _bad_path(preset: str, rng: random.Random) -> str:
    """A dotted path that names no parameter of ``preset``."""
    path = list(rng.choice(LEAVES[preset])[0])
    how = rng.choice(["segment", "table", "deeper", "type", "odd", "meta"])
    if how == "segment":
        path[rng.randrange(len(path))] = rng.choice(["zz", "", "Mechanisms", "debt ", "0"])
    elif how == "table":
        path = path[: rng.randrange(1, len(path))]
    elif how == "deeper":
        path += [rng.choice(["x", "0", "low", "type"])]
    elif how == "type" and path[0] == "mechanisms":
        path = [*path[:2], "type"]
    elif how == "odd":
        return rng.choice(["", ".", "..", " ", "a..b", "mechanisms..debt", "scenario.", "*"])
    else:
        return rng.choice(["scenario.name", "scenario.description", "scenario"])
    return ".".join(path)


def bad_path(data: dict[str, Any], rng: random.Random, folder: Path) -> None:
    """A parameter whose dotted path names no value of the scenario."""
    data.setdefault("parameters", {})[_bad_path(_preset(data), rng)] = [1]


def bad_value(data: dict[str, Any], rng: random.Random, folder: Path) -> None:
    """A real parameter given a value of the wrong kind (in a list of otherwise good values)."""
    path, value = rng.choice(LEAVES[_preset(data)])
    values = [value, _wrong(value, rng)]
    rng.shuffle(values)
    data.setdefault("parameters", {})[".".join(path)] = values


def _numeric_leaf(preset: str, rng: random.Random) -> tuple[str, Any]:
    leaves = [(p, v) for p, v in LEAVES[preset] if _is_number(v)]
    path, value = rng.choice(leaves)
    return ".".join(path), value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def bad_range(data: dict[str, Any], rng: random.Random, folder: Path) -> None:
    """A range that cannot be sampled: reversed, empty, infinite, not numbers, on a non-number."""
    preset = _preset(data)
    path, current = _numeric_leaf(preset, rng)
    how = rng.choice(
        ["reversed", "equal", "log", "infinite", "nan", "kinds", "missing", "integer", "kind"]
    )
    x = abs(float(current)) or 1.0
    if how == "reversed":
        rng_ = {"low": x * 2 + 1, "high": x}
    elif how == "equal":
        rng_ = {"low": x, "high": x}
    elif how == "log":
        rng_ = {"low": rng.choice([0.0, -1.0, -x]), "high": x + 1, "log": True}
    elif how == "infinite":
        rng_ = rng.choice([{"low": 0.0, "high": float("inf")}, {"low": float("-inf"), "high": x}])
    elif how == "nan":
        rng_ = rng.choice([{"low": float("nan"), "high": x}, {"low": 0.0, "high": float("nan")}])
    elif how == "kinds":
        rng_ = {"low": rng.choice(["0", True, [0.0]]), "high": x}
    elif how == "missing":
        rng_ = rng.choice([{"low": 0.0}, {"high": x}, {}])
    elif how == "integer":
        ints = [(p, v) for p, v in LEAVES[preset] if _is_number(v) and isinstance(v, int)]
        p, v = rng.choice(ints)
        path, rng_ = ".".join(p), {"low": v + 0.5, "high": v + 10.25}
    else:
        others = [(p, v) for p, v in LEAVES[preset] if not _is_number(v)]
        p, _ = rng.choice(others)
        path, rng_ = ".".join(p), {"low": 0.0, "high": 1.0}
    data.setdefault("parameters", {})[path] = rng_
    if data["sweep"].get("design", "grid") == "grid" and "sensitivity" not in data:
        data["sweep"] |= {"design": "random", "n": 2}


def empty(data: dict[str, Any], rng: random.Random, folder: Path) -> None:
    """An empty list of values, no parameters where some are needed, or a table gone."""
    params = data.get("parameters", {})
    how = rng.choice(["list", "no parameters", "no sweep", "no scenario", "empty file"])
    if how == "list":
        params[rng.choice(list(params))] = []
    elif how == "no parameters" and data["sweep"].get("design", "grid") != "grid":
        rng.choice([lambda: data.pop("parameters"), lambda: data.update(parameters={})])()
    elif how == "no sweep":
        data.pop("sweep")
    elif how == "no scenario":
        data["sweep"].pop("scenario")
    else:
        data.clear()


def replications(data: dict[str, Any], rng: random.Random, folder: Path) -> None:
    """Replications that are not 1 to 1,000, or more than one with the seed swept."""
    bad = rng.choice([0, -1, 1001, 2**40, 1.5, "2", True, [2], "many"])
    if rng.random() < 0.2:
        data["parameters"]["scenario.seed"] = [1, 2]
        bad = rng.choice([2, 3, 10])
    data["sweep"]["replications"] = bad


def overrides(data: dict[str, Any], rng: random.Random, folder: Path) -> None:
    """[sweep] overrides out of range: people, days, until, scale, seed."""
    sweep = data["sweep"]
    key, value = rng.choice(
        [
            ("people", 0),
            ("people", -5),
            ("people", 2**31),
            ("days", 0),
            ("days", 60_001),
            ("scale", 0),
            ("scale", 10**10),
            ("seed", -1),
            ("until", dt.date(1999, 1, 1)),
            ("until", "soon"),
            ("until", "2015-02-30"),
            ("days_and_until", None),
        ]
    )
    if key == "days_and_until":
        sweep |= {"days": 30, "until": dt.date(2016, 1, 1)}
    else:
        sweep[key] = value


def design(data: dict[str, Any], rng: random.Random, folder: Path) -> None:
    """A design that does not fit: unknown, n with a grid, no n, n not a power of 2, n too big."""
    sweep = data["sweep"]
    if "sensitivity" in data or "calibrate" in data:
        sweep[rng.choice(["design", "n"])] = rng.choice(["random", 4])
        return
    how = rng.choice(["name", "n", "no n", "power", "zero", "huge"])
    if how == "name":
        sweep["design"] = rng.choice(["latin", "Grid", "", "sobol "])
    elif how == "n" and sweep.get("design", "grid") == "grid":
        sweep["n"] = rng.choice([1, 4])
    elif how in ("no n", "n") and sweep.get("design", "grid") != "grid":
        sweep.pop("n")
    elif how == "power":
        sweep |= {"design": "sobol", "n": rng.choice([3, 5, 6, 7, 12])}
        data["parameters"] = {"mechanisms.informants.report_prob": {"low": 0.01, "high": 0.02}}
    elif how == "zero":
        sweep |= {"design": "random", "n": rng.choice([0, -4])}
    else:
        sweep |= {"design": "random", "n": 100_001}


def outputs(data: dict[str, Any], rng: random.Random, folder: Path) -> None:
    """Outputs that are not COLUMN[:STATISTIC], or a name given twice."""
    table = data.get("sensitivity", data["sweep"])
    if "calibrate" in data:
        table = data["sweep"]
    bad = rng.choice(
        [["acts:median"], [":sum"], ["acts:max:"], ["acts:sum:max"], [1], "acts", ["acts", "acts"]]
    )
    table["outputs"] = bad if rng.random() < 0.5 else ["acts:sum", *bad] if bad != "acts" else bad


def sensitivity(data: dict[str, Any], rng: random.Random, folder: Path) -> None:
    """A bad [sensitivity] table: method, n, outputs, levels, resamples, kinds, a list param."""
    table = data["sensitivity"]
    key, value = rng.choice(
        [
            ("method", "fast"),
            ("method", "Sobol"),
            ("n", 0),
            ("n", -2),
            ("n", 100_001),
            ("n", "4"),
            ("n", 2.0),
            ("outputs", []),
            ("levels", 1),
            ("levels", 101),
            ("resamples", 5),
            ("second_order", "yes"),
            ("second_order", 1),
            ("table", [1]),
            ("table", "sobol"),
            ("no n", None),
            ("list", None),
        ]
    )
    if key == "n" and value == 0 and table["method"] == "sobol" and rng.random() < 0.5:
        value = rng.choice([3, 6, 12])
    if key == "table":
        data["sensitivity"] = value
    elif key == "no n":
        table.pop("n")
    elif key == "list":
        path = rng.choice(list(data["parameters"]))
        data["parameters"][path] = [0.01, 0.02]
    else:
        table[key] = value


def _bad_csv(rng: random.Random) -> str:
    """A calibration CSV whose rows of the targets are broken or absent."""
    head = rng.choice(
        ["as_of,quantity,value", "as_of,quantity,value,kind,source", "date,quantity,value", ""]
    )
    if rng.random() < 0.3:  # one row, on a good date, whose value is no finite number
        value = rng.choice(["inf", "-inf", "1e999", "abc", "", "0x10"])
        return f"as_of,quantity,value\n2014-03-10,persons_ever_listed,{value}\n"
    rows = []
    for _ in range(rng.randrange(0, 4)):
        as_of = rng.choice(["2014-03-10", "2014-13-01", "yesterday", "", "2014-03-10T00:00"])
        value = rng.choice(["87079", "abc", "", "1,000", "inf", "-5", "0", "nan"])
        row = [as_of, "persons_ever_listed", value]
        if as_of == "2014-03-10" and value == "87079":
            row[2] = "abc"  # never a good row
        rows.append(",".join(row[: rng.choice([1, 2, 3, 3, 3])]))
    return "\n".join([head, *rows]) + rng.choice(["", "\n", "\n\n"])


def calibrate(data: dict[str, Any], rng: random.Random, folder: Path) -> None:
    """A bad [calibrate] table: targets, data, dates, trials, batch, sampler, a broken CSV."""
    table = data["calibrate"]
    key, value = rng.choice(
        [
            ("targets", []),
            ("targets", ["flights"]),
            ("targets", "persons_ever_listed"),
            ("targets", [1]),
            ("data", "nope.csv"),
            ("data", ""),
            ("data", "c.toml"),
            ("data", "."),
            ("data", 5),
            ("from", dt.date(2030, 1, 1)),
            ("until", dt.date(2000, 1, 1)),
            ("until", "soon"),
            ("from_until", None),
            ("trials", 0),
            ("trials", 10_001),
            ("trials", "3"),
            ("trials", 2.5),
            ("batch", 0),
            ("batch", 1025),
            ("sampler", "cmaes"),
            ("startup", 0),
            ("table", ["x"]),
            ("no targets", None),
            ("list of lists", None),
        ]
    )
    if key == "table":
        data["calibrate"] = value
    elif key == "no targets":
        table.pop("targets")
    elif key == "from_until":
        table |= {"from": dt.date(2015, 1, 1), "until": dt.date(2014, 1, 1)}
    elif key == "list of lists":
        data["parameters"]["mechanisms.debt.income_effect"] = [[1.0, 1.0, 1.0, 1.0, 1.0]]
    else:
        table[key] = value


def calibration_csv(data: dict[str, Any], rng: random.Random, folder: Path) -> None:
    """A calibration CSV beside the file whose rows of the target are broken or absent."""
    (folder / "published.csv").write_bytes(
        _bad_csv(rng).encode() if rng.random() < 0.9 else bytes([0xFF, 0xFE, 0x00, 0x81])
    )
    data["calibrate"] |= {"data": "published.csv", "targets": ["persons_ever_listed"]}


def base_scenario(data: dict[str, Any], rng: random.Random, folder: Path) -> None:
    """A base scenario that is no preset and no usable file."""
    how = rng.choice(["nowhere", "folder", "itself", "broken", "bytes", "empty"])
    if how == "nowhere":
        data["sweep"]["scenario"] = rng.choice(["nowhere", "rongcheng.toml", "Rongcheng", " "])
    elif how == "folder":
        (folder / "sub").mkdir()
        data["sweep"]["scenario"] = rng.choice(["", ".", "sub", ".."])
    elif how == "itself":
        data["sweep"]["scenario"] = "c.toml"
    else:
        text = {"broken": "[scenario\n", "bytes": "\udcff", "empty": ""}[how]
        (folder / "base.toml").write_bytes(text.encode("utf-8", "surrogateescape"))
        data["sweep"]["scenario"] = "base.toml"


MUTATIONS: dict[str, tuple[Callable[[dict[str, Any], random.Random, Path], None], set[str]]] = {
    "wrong_type": (wrong_type, set(BASES)),
    "unknown_key": (unknown_key, set(BASES)),
    "bad_path": (bad_path, set(BASES)),
    "bad_value": (bad_value, set(BASES)),
    "bad_range": (bad_range, set(BASES)),
    "empty": (empty, set(BASES)),
    "replications": (replications, set(BASES)),
    "overrides": (overrides, set(BASES)),
    "design": (design, set(BASES)),
    "outputs": (outputs, {"grid", "random", "sobol", "sensitivity", "morris"}),
    "sensitivity": (sensitivity, {"sensitivity", "morris"}),
    "calibrate": (calibrate, {"calibrate"}),
    "calibration_csv": (calibration_csv, {"calibrate"}),
    "base_scenario": (base_scenario, set(BASES)),
}


def _write(folder: Path, data: dict[str, Any]) -> Path:
    file = folder / "c.toml"
    file.write_text(tomli_w.dumps(data))
    return file


@pytest.mark.parametrize("base", sorted(BASES))
def test_the_unbroken_bases_get_as_far_as_running(base, tmp_path, capsys, no_runs):
    """The mutations start from valid files: what breaks them is the one change."""
    command, data = BASES[base]
    file = _write(tmp_path, data)
    with pytest.raises(WouldRunError):
        main([command, str(file), "--out", str(tmp_path / "out"), "--quiet"])
    assert not (tmp_path / "out").exists()


@fuzz(700)
@given(mutation=st.sampled_from(sorted(MUTATIONS)), seed=st.integers(0, 2**32 - 1))
def test_broken_sweep_files_exit_2_with_one_line(mutation, seed, tmp_path_factory, capsys, no_runs):
    bases = sorted(MUTATIONS[mutation][1])
    command, data = BASES[bases[seed % len(bases)]]
    data = _copy(data)
    folder = tmp_path_factory.mktemp("fuzz")
    MUTATIONS[mutation][0](data, random.Random(seed), folder)
    file = _write(folder, data)
    _refused([command, str(file), "--out", str(folder / "out"), "--quiet"], folder, capsys)


JUNK = ["[", "= =", "[[parameters", 'x = "', "a.b = 1\na.b = 2", "\x00", "]]", "[sweep]"]


@fuzz(100)
@given(
    base=st.sampled_from(sorted(BASES)),
    how=st.sampled_from(["bytes", "cut", "junk", "utf8"]),
    at=st.integers(0, 10_000),
    blob=st.binary(min_size=1, max_size=64),
)
def test_files_that_are_no_toml_exit_2_with_one_line(
    base, how, at, blob, tmp_path_factory, capsys, no_runs
):
    command, data = BASES[base]
    text = tomli_w.dumps(data).encode()
    if how == "bytes":
        raw = blob + b"\xff"
    elif how == "cut":  # cut inside a line, which breaks it (a cut at a line's end may not)
        cuts = [i for i in range(1, len(text)) if text[i] != 10 and text[i - 1] != 10]
        raw = text[: cuts[at % len(cuts)]] + b" = = "
    elif how == "junk":
        lines = text.decode().splitlines()
        lines.insert(at % (len(lines) + 1), JUNK[at % len(JUNK)])
        raw = "\n".join(lines).encode()
        if JUNK[at % len(JUNK)] == "[sweep]":
            raw += b"\n[sweep]\n"  # a table given twice
    else:
        raw = text[: at % len(text)] + b"\xc3\x28" + text[at % len(text) :]
    folder = tmp_path_factory.mktemp("fuzz")
    file = folder / "c.toml"
    file.write_bytes(raw)
    _refused([command, str(file), "--out", str(folder / "out"), "--quiet"], folder, capsys)


# --------------------------------------------------------------------------- command lines


def _bad_out(kind: str, folder: Path, rng: random.Random) -> str:
    """An --out that the command must refuse: it holds other files, is a file, is under a file."""
    how = rng.choice(["other files", "file", "under a file", "another kind", "another digest"])
    out = folder / "out"
    if how == "file":
        out.write_text("mine")
    elif how == "under a file":
        (folder / "plain").write_text("mine")
        out = folder / "plain" / rng.choice(["out", "a/b"])
    else:
        out.mkdir()
        if how == "other files":
            (out / "keep.txt").write_text("mine")
        else:
            other = {"sweep": "sensitivity", "sensitivity": "calibration", "calibrate": "sweep"}
            manifest = {"kind": other[kind] if how == "another kind" else kind, "digest": "x"}
            if kind == "calibrate" and how == "another digest":
                manifest["kind"] = "calibration"
            (out / "sweep.json").write_text(json.dumps(manifest))
    return str(out)


SCHEDULERS = ["bogus", "", "tcp://[::1", "inproc://x", "http://host:8786", "tcp://h:port"]
"""Scheduler addresses that Dask refuses at once (an unreachable one waits for its timeout)."""


def _calibration_digest() -> str:
    sweep = scslab.sweep.sweep_from_dict(_copy(CALIBRATE), "c.toml", Path.cwd(), "calibrate")
    table = CalibrateTable.model_validate(sweep.tables["calibrate"])
    return calibration_digest(sweep, table, rows_fitted(sweep, table, sweep.home))


DIGEST = _calibration_digest()


@fuzz(50)
@given(
    how=st.sampled_from(["bytes", "folder", "numbers", "state", "loss", "values", "no trial"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_calibration_folder_that_cannot_resume_exits_2_with_one_line(
    how, seed, tmp_path_factory, capsys, no_runs
):
    """The same file into its folder, whose stored trials are damaged or not its sampler's."""
    rng = random.Random(seed)
    folder = tmp_path_factory.mktemp("fuzz")
    out = folder / "out"
    out.mkdir()
    manifest = {"kind": "calibration", "digest": DIGEST, "status": "incomplete"}
    (out / "sweep.json").write_text(json.dumps(manifest))
    path = out / "calibration.parquet"
    rate = "mechanisms.debt.arrears_rate"
    good = {"trial": 0, rate: 5e-5, "state": "complete", "loss": 1.5, "error": None}
    rows = [dict(good), dict(good, trial=1)]
    if how == "numbers":
        rows[0]["trial"] = rng.choice([1, 2, -1])
    elif how == "state":
        rows[1]["state"] = rng.choice(["running", "", None])
    elif how == "loss":
        rows[0]["loss"] = rng.choice([float("nan"), float("inf"), None])
    elif how == "values":  # what the sampler asks first is no round number
        rows[0][rate] = rng.choice([1e-5, 3e-4, 1e-4])
    elif how == "no trial":
        rows = [{k: v for k, v in r.items() if k != "trial"} for r in rows]
    if how == "bytes":
        path.write_bytes(rng.randbytes(rng.randrange(0, 64)))
    elif how == "folder":
        path.mkdir()
    else:
        pq.write_table(pa.Table.from_pylist(rows), path)
    file = _write(folder, CALIBRATE)
    err = _refused(["calibrate", str(file), "--out", str(out), "--quiet"], folder, capsys)
    assert "calibration.parquet" in err or "other values" in err, err


OTHER_KIND = {"sweep": "sensitivity", "sensitivity": "grid", "calibrate": "random"}


@fuzz(150)
@given(
    command=st.sampled_from(["sweep", "sensitivity", "calibrate"]),
    bads=st.lists(
        st.sampled_from(
            [
                *("file", "workers", "out", "option", "missing value", "extra", "kind"),
                *("scheduler", "address"),
            ]
        ),
        min_size=1,
        max_size=3,
        unique=True,
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_bad_sweep_command_lines_exit_2_with_one_line(
    command, bads, seed, tmp_path_factory, capsys, no_runs, monkeypatch
):
    rng = random.Random(seed)
    folder = tmp_path_factory.mktemp("fuzz")
    monkeypatch.chdir(folder)  # a default --out would go here
    base = {"sweep": "grid", "sensitivity": "sensitivity", "calibrate": "calibrate"}[command]
    file = str(_write(folder, BASES[base][1]))
    out = str(folder / "out")
    flags: list[str] = ["--quiet"] if rng.random() < 0.5 else []
    last: list[str] = []
    for bad in bads:
        if bad == "file":
            file = rng.choice(["missing.toml", str(folder), "", "-", "c.TOML"])
        elif bad == "kind":
            file = str(_write(folder, BASES[OTHER_KIND[command]][1]))
        elif bad == "workers":
            flags += ["--workers", rng.choice(["0", "-1", "1025", "abc", "1.5", "", "2**3"])]
        elif bad == "out":
            out = _bad_out(command, folder, rng)
        elif bad == "option":
            flags += [rng.choice(["--bogus", "--out-dir", "-x", "--worker", "--seed"])]
        elif bad == "missing value":
            last = [rng.choice(["--workers", "--out", "--scheduler"])]
        elif bad == "extra":
            flags += [rng.choice(["second.toml", "rongcheng", "1"])]
        elif bad == "address":
            flags += ["--scheduler", rng.choice(SCHEDULERS)]
        else:  # a scheduler option without its value
            last = ["--scheduler"]
    argv = [command, file, "--out", out, *flags, *last]
    if rng.random() < 0.1:
        argv = [command]  # no file at all
    _refused(argv, folder, capsys)


def _container(header: bytes, crc: int | None = None, body: bytes = b"") -> bytes:
    """A checkpoint file: magic, body, header, trailer (length, CRC-32 of the header, magic)."""
    trailer = struct.pack("<QI8s", len(header), zlib.crc32(header) if crc is None else crc, MAGIC)
    return MAGIC + body + header + trailer


SCENARIO = scslab.load_scenario("rongcheng").with_overrides(people=2000, days=20).resolved()


def _header(rng: random.Random, scenario: Any) -> bytes:
    """A checkpoint header that is broken: no JSON, no table, other format, version or code."""
    good = {
        "format": FORMAT,
        "scslab_version": __version__,
        "code": package_digest(),
        "scenario": scenario,
        "scenario_source": "rongcheng (preset)",
    }
    how = rng.choice(["text", "json", "format", "version", "code", "no source", "no scenario"])
    if how == "text":
        return rng.choice([b"not json", b"{", b"\xff\xfe", b""])
    if how == "json":
        return json.dumps(rng.choice([[1], 5, "x", None, True])).encode()
    if how == "format":
        good["format"] = rng.choice([0, 2, "1", None])
    elif how == "version":
        good["scslab_version"] = rng.choice(["0.0.1", None, 1])
    elif how == "code":
        good["code"] = rng.choice(["0" * 64, None, 5])
    elif how == "no source":
        good.pop("scenario_source")
        good["scenario"] = {"scenario": {"people": 0}}
    else:
        good.pop("scenario")
    return json.dumps(good).encode()


def _bad_scenario(rng: random.Random) -> Any:
    """A scenario in a manifest and checkpoint that does not validate."""
    broken = _copy(SCENARIO)
    how = rng.choice(["people", "unknown", "kind", "list", "number", "string", "null", "table"])
    if how == "people":
        broken["scenario"]["people"] = rng.choice([0, -1, "many"])
        return broken
    if how == "unknown":
        broken["zz"] = {}
        return broken
    if how == "kind":
        broken["mechanisms"] = rng.choice([[1], "x", 5])
        return broken
    return {"list": [1, 2], "number": 5, "string": "rongcheng", "null": None, "table": {}}[how]


@fuzz(150)
@given(
    how=st.sampled_from(
        [
            "missing",
            "file",
            "empty",
            "manifest bytes",
            "manifest kind",
            "manifest folder",
            "complete",
            "no checkpoint",
            "checkpoint folder",
            "checkpoint bytes",
            "short",
            "no trailer",
            "crc",
            "header",
            "other scenario",
            "bad scenario",
            "argv",
        ]
    ),
    seed=st.integers(0, 2**32 - 1),
    blob=st.binary(max_size=96),
)
def test_bad_resume_exits_2_with_one_line(how, seed, blob, tmp_path_factory, capsys, no_runs):
    rng = random.Random(seed)
    folder = tmp_path_factory.mktemp("fuzz")
    run = folder / "run"
    manifest: Any = {"status": "incomplete", "scenario": SCENARIO}
    checkpoint: bytes | None = None
    argv_extra: list[str] = []
    if how == "missing":
        pass
    elif how == "file":
        run.write_bytes(blob)
    else:
        run.mkdir()
    if how in ("missing", "file", "empty"):
        manifest = None
    elif how == "manifest bytes":
        (run / "manifest.json").write_bytes(blob + b"\xff")
        manifest = None
    elif how == "manifest kind":
        manifest = rng.choice([[1], 5, "x", None, True, {"status": ["complete"]}])
    elif how == "manifest folder":
        (run / "manifest.json").mkdir()
        manifest = None
    elif how == "complete":
        manifest["status"] = "complete"
    elif how == "checkpoint folder":
        (run / CHECKPOINT_FILE).mkdir()
    elif how == "checkpoint bytes":
        checkpoint = rng.choice([blob, MAGIC + blob, blob + MAGIC])
    elif how == "short":
        checkpoint = _container(json.dumps({"format": FORMAT}).encode())[: rng.randrange(0, 28)]
    elif how == "no trailer":
        good = _container(b"{}")
        checkpoint = good[:-8] + rng.choice([b"SCSLCKP2", b"\x00" * 8])
    elif how == "crc":
        header = json.dumps({"format": FORMAT, "scenario": SCENARIO}).encode()
        checkpoint = _container(header, crc=(zlib.crc32(header) + 1 + seed) % 2**32)
    elif how == "header":
        checkpoint = _container(_header(rng, SCENARIO), body=blob)
    elif how == "other scenario":
        other = _copy(SCENARIO)
        other["scenario"]["seed"] += 1
        checkpoint = _container(_header(rng, other) if rng.random() < 0.3 else _good(other))
    elif how == "bad scenario":
        bad = _bad_scenario(rng)
        manifest["scenario"] = bad
        checkpoint = _container(_good(bad))
    elif how == "argv":
        manifest = None
        argv_extra = rng.choice([["--bogus"], ["extra"], ["--quiet", "--quiet=2"]])
    if manifest is not None:
        (run / "manifest.json").write_text(json.dumps(manifest))
    if checkpoint is not None:
        (run / CHECKPOINT_FILE).write_bytes(checkpoint)
    argv = ["resume", str(run), *argv_extra] if how != "argv" or rng.random() < 0.8 else ["resume"]
    _refused(argv, folder, capsys)


def _good(scenario: Any) -> bytes:
    return json.dumps(
        {
            "format": FORMAT,
            "scslab_version": __version__,
            "code": package_digest(),
            "scenario": scenario,
            "scenario_source": "rongcheng (preset)",
        }
    ).encode()


@fuzz(100)
@given(
    every=st.sampled_from(["0", "-1", "-30", "abc", "1.5", "", "1e3", "0x10", "ten", None, "ok"]),
    bads=st.lists(
        st.sampled_from(["file", "out", "people", "days", "until", "engine"]),
        max_size=2,
        unique=True,
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_bad_checkpoint_command_lines_exit_2_with_one_line(
    every, bads, seed, tmp_path_factory, capsys, no_runs, monkeypatch
):
    rng = random.Random(seed)
    folder = tmp_path_factory.mktemp("fuzz")
    monkeypatch.chdir(folder)
    if every == "ok" and not bads:
        bads = ["out"]
    scenario, out = "rongcheng", str(folder / "run")
    flags = ["--people", "2000", "--days", "10", "--quiet"]
    for bad in bads:
        if bad == "file":
            scenario = rng.choice(["missing.toml", str(folder), "", "Rongcheng"])
        elif bad == "out":
            out = _bad_run_out(folder, rng)
        elif bad in ("people", "days"):
            flags[flags.index(f"--{bad}") + 1] = rng.choice(["0", "-3", "x", "70000"])
        elif bad == "until":
            flags += ["--until", rng.choice(["2001-01-01", "soon", "2014-02-30"])]
        else:
            flags += ["--engine", rng.choice(["turbo", "", "Compiled"])]
    checkpoint = ["--checkpoint-every", "7" if every == "ok" else every]
    argv = ["run", scenario, "--out", out, *flags]
    if every is None:
        argv += ["--checkpoint-every"]  # no value
    else:
        argv[2:2] = checkpoint
    _refused(argv, folder, capsys)


def _bad_run_out(folder: Path, rng: random.Random) -> str:
    how = rng.choice(["other files", "file", "under a file"])
    out = folder / "run"
    if how == "file":
        out.write_text("mine")
    elif how == "under a file":
        (folder / "plain").write_text("mine")
        out = folder / "plain" / "run"
    else:
        out.mkdir()
        (out / "keep.txt").write_text("mine")
    return str(out)
