"""The walk-through of docs/architecture.md works as written: a new scorer read by a list."""

from __future__ import annotations

import contextlib
import importlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import scslab
from scslab.engine.mechanism import REGISTRY

DOC = Path(__file__).resolve().parent.parent / "docs" / "architecture.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def _forget(mechanism: str, module: str) -> None:
    """Unregister a test's own mechanism, and the kernels its module registered for its records
    (``tests/test_jit.py`` holds every registered kernel to be the package's)."""
    from scslab.engine.steps import KERNELS

    del REGISTRY[mechanism]
    for record in [r for r in KERNELS if getattr(r, "__module__", "") == module]:
        del KERNELS[record]
    sys.modules.pop(module, None)


@contextlib.contextmanager
def _the_doc_s_module(folder: Path, name: str = "strikes") -> Iterator[ModuleType]:
    """The walk-through's module, imported from ``folder`` as ``name``, then forgotten.

    A contributor who followed the walk-through has a ``strikes`` of their own registered (the
    doc puts it in the package): it is set aside while the doc's copy is tested, then put back.
    """
    module = _python_blocks()[0]
    (folder / f"{name}.py").write_text(module)
    sys.path.insert(0, str(folder))
    shipped = REGISTRY.pop("strikes", None)
    try:
        yield importlib.import_module(name)
    finally:
        sys.path.remove(str(folder))
        if "strikes" in REGISTRY:
            _forget("strikes", name)
        if shipped is not None:
            REGISTRY["strikes"] = shipped


@pytest.fixture
def strikes(tmp_path):
    with _the_doc_s_module(tmp_path) as module:
        yield module


def test_the_walkthrough_runs_beside_a_strikes_already_in_the_package(tmp_path) -> None:
    """Copying ``strikes.py`` into the package, as the doc says, registered a second "strikes",
    and this file's tests failed on a name registered twice."""
    (tmp_path / "ours").mkdir()
    with _the_doc_s_module(tmp_path / "ours", "package_copy_of_strikes") as packaged:
        ours = REGISTRY["strikes"]
        assert ours.__module__ == packaged.__name__
        with _the_doc_s_module(tmp_path, "strikes") as doc:
            assert REGISTRY["strikes"].__module__ == doc.__name__
        assert REGISTRY["strikes"] is ours  # the contributor's own is back
    assert "strikes" not in REGISTRY


def test_the_walkthrough_scorer_runs_compiled_and_its_list_reads_it(strikes, capsys) -> None:
    usage = _python_blocks()[1]
    exec(compile(usage, str(DOC), "exec"), {})  # the doc's own code, as a reader would run it
    engine, mean, size = capsys.readouterr().out.split()
    assert engine == "compiled"
    assert float(mean) < 100 and int(size) > 0  # records cost points; low scorers are listed
    sc = scslab.load_scenario("rongcheng").with_overrides(people=20_000, days=90)
    sc = sc.with_mechanism("strikes", points={"traffic_offence": 0})
    sc = sc.with_mechanism(
        "strikes_list", type="threshold_list", score="strikes", enter_below=80, exit_at=90
    )
    result = scslab.run(sc)
    assert result.metrics["strikes_mean"].to_pylist()[-1] == 100.0  # no points: nobody moves
    assert result.metrics["strikes_list_size"].to_pylist()[-1] == 0


def test_a_kernel_cache_index_loads_when_a_record_s_module_is_gone(tmp_path) -> None:
    """A shared kernel (``today_of``) cached for a contributor's record type, then called in a
    process that cannot import that module: the index still loads (its keys are text)."""
    import os
    import subprocess

    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    code = (
        "import sys; sys.path.insert(0, {path!r})\n"
        "import numpy as np; from numba import njit\n"
        "from scslab.engine.steps import today_of\n"
        "from scslab.kernels.structs import compiled_struct\n"
        "R = compiled_struct('Mine', ('today',), __name__)\n"
        "make = njit(lambda x: R(x))\n"
        "assert today_of(make(np.zeros(2)))[0] == 0\n"
    )
    for name in ("first", "later"):  # each from its own folder: the other's module is gone
        folder = tmp_path / name
        folder.mkdir()
        (folder / f"{name}_records.py").write_text(code.format(path=str(folder)))
        run = [sys.executable, "-c", f"import {name}_records"]
        subprocess.run(run, env=env, check=True, cwd=folder)


def test_the_walkthroughs_own_test_passes(strikes) -> None:
    namespace: dict = {}
    exec(compile(_python_blocks()[2], str(DOC), "exec"), namespace)
    namespace["test_strikes_cost_points_only_for_their_acts"]()


def test_the_walkthrough_module_meets_the_house_style() -> None:
    """Put in the package as the doc says, the module passes the project's own checks."""
    import ast
    import shutil
    import subprocess

    module = _python_blocks()[0]
    assert "owns" in (ast.get_docstring(ast.parse(module)) or "").lower()
    ruff = Path(sys.executable).with_name("ruff")
    ruff = str(ruff) if ruff.exists() else shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is installed with the [test] extra")
    root = DOC.parent.parent
    where = "src/scslab/mechanisms/scoring/strikes.py"  # read as if it were there
    for args in (["check"], ["format", "--check"]):
        res = subprocess.run(
            [ruff, *args, "--stdin-filename", where, "-"],
            cwd=root,
            input=module,
            capture_output=True,
            text=True,
        )
        assert res.returncode == 0, res.stdout + res.stderr


def test_a_record_without_registered_kernels_is_named_at_set_up() -> None:
    import numpy as np

    from scslab.engine.steps import daily_kernels
    from scslab.kernels.structs import compiled_struct

    Forgotten = compiled_struct("ForgottenState", ("today",), __name__)
    with pytest.raises(
        TypeError,
        match=r"ForgottenState: no step and metrics kernels .*"
        r"compiled_mechanism\(ForgottenState, step, metrics\)",
    ):
        daily_kernels(Forgotten(np.zeros(1)), None)


def _plugin(folder: Path, module: str) -> None:
    """An installed package naming ``module`` under the entry-point group, as pip would leave it."""
    info = folder / "strikes_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: strikes-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[scslab.mechanisms]\nstrikes = {module}\n")


def test_a_plugin_s_mechanism_is_known_to_every_command_and_only_then(tmp_path) -> None:
    """A mechanism of one's own module was for Python only: ``scslab run`` said "unknown
    mechanism". Named under the entry-point group ``scslab.mechanisms`` by an installed package,
    it runs from the command line and ``scslab schema`` shows it; not named, it is unknown and
    the line says how to fix it; a plug-in that fails to import is a warning, and the line that
    refuses a scenario naming its mechanism says why."""
    import os
    import subprocess

    (tmp_path / "strikes.py").write_text(_python_blocks()[0])
    (tmp_path / "broken.py").write_text("raise RuntimeError('half-written')\n")
    scenario = tmp_path / "town.toml"
    scenario.write_text(
        '[scenario]\nname = "town"\npeople = 2000\ndays = 30\n'
        "[mechanisms.everyday_acts]\n[mechanisms.data_sources]\n"
        "[mechanisms.strikes]\npoints = { traffic_offence = -30 }\n"
    )
    env = dict(os.environ, PYTHONPATH=str(tmp_path))

    def scslab_(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "scslab.cli", *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path)

    unknown = scslab_("run", str(scenario), "--quiet", "--out", str(tmp_path / "a"))
    assert unknown.returncode == 2 and "entry-point group 'scslab.mechanisms'" in unknown.stderr
    _plugin(tmp_path, "strikes")
    ran = scslab_("run", str(scenario), "--quiet", "--out", str(tmp_path / "b"))
    assert ran.returncode == 0, ran.stderr
    import pyarrow.parquet as pq

    mean = pq.read_table(tmp_path / "b" / "metrics.parquet")["strikes_mean"].to_pylist()[-1]
    assert mean < 100  # traffic offences cost points
    assert "strikes" in scslab_("schema").stdout
    (tmp_path / "strikes_plugin-0.1.dist-info" / "entry_points.txt").write_text(
        "[scslab.mechanisms]\nstrikes = broken\n"
    )
    schema = scslab_("schema")  # the package's own mechanisms still work, with a warning
    assert schema.returncode == 0 and "court_list" in schema.stdout
    assert "plug-in 'strikes' (broken) failed to import" in schema.stderr
    broken = scslab_("run", str(scenario), "--quiet", "--out", str(tmp_path / "c"))
    assert broken.returncode == 2 and not (tmp_path / "c").exists()
    line = broken.stderr.strip().splitlines()[-1]  # after the import's warning
    assert "unknown mechanism" in line and "RuntimeError: half-written" in line


@pytest.mark.parametrize(
    ("left_out", "message"),
    [
        ("        self.float_metrics = frozenset(self.metric_columns)\n", "which is not a count"),
        ("        self.today = today_of(self.state)\n", "its init sets no today"),
    ],
)
@pytest.mark.parametrize("compiled", [True, False])
def test_a_line_left_out_of_the_walkthrough_is_named_not_silent(
    tmp_path, monkeypatch, left_out, message, compiled
) -> None:
    """Without ``float_metrics`` the mean score was cut to 99 in both engines without a word;
    without ``today`` the compiled plan failed with a bare AttributeError."""
    module = _python_blocks()[0]
    assert left_out in module
    name = f"strikes_{abs(hash((left_out, compiled))) % 10**6}"
    (tmp_path / f"{name}.py").write_text(
        module.replace(left_out, "").replace('name = "strikes"', f'name = "{name}"')
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module(name)
    try:
        sc = scslab.load_scenario("rongcheng").with_overrides(people=20_000, days=30)
        sc = sc.with_mechanism(name, points={"traffic_offence": -30})
        with pytest.raises(TypeError, match=message):
            scslab.run(sc, compiled=compiled)
    finally:
        _forget(name, name)
