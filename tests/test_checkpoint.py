"""Checkpoints: a run killed with SIGKILL and resumed ends bit for bit as an uninterrupted run.

The kill is real: ``scslab run --checkpoint-every`` runs as a process, which is sent SIGKILL as
soon as its first checkpoint is on disk (somewhere in the following days, not at a chosen point);
``scslab resume`` then finishes it, and every output table must equal, byte for byte, the tables
of the same scenario run without interruption. The in-process tests check the Python API, that
the restored state is what makes the results (a restore that leaves out the per-person state
gives other results), that every preset's state is walked, and that bad checkpoints are refused
with one line and exit status 2, leaving the run folder as it was.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from numba import types

import scslab
from conftest import busy_rongcheng
from scslab import api
from scslab.cli import main
from scslab.engine import checkpoint as ck
from scslab.engine.checkpoint import CHECKPOINT_FILE, CheckpointError, read_header, walk
from scslab.engine.mechanism import REGISTRY, Behaviour
from scslab.engine.simulation import Simulation
from scslab.mechanisms.metrics.groups import Groups
from scslab.scenario import scenario_from_dict

PEOPLE, DAYS, EVERY = 20_000, 400, 100


def _outputs(folder: Path) -> dict[str, bytes]:
    """Every output table of a run folder, as bytes."""
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.parquet"))}


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scslab.cli", *args], capture_output=True, text=True
    )


def _kill_after_first_checkpoint(folder: Path, *args: str) -> int:
    """Start ``scslab run ARGS --out folder``; SIGKILL it once a checkpoint exists; its day."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "scslab.cli", "run", *args, "--out", str(folder), "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    path = folder / CHECKPOINT_FILE
    deadline = time.monotonic() + 300
    while not path.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    _, err = proc.communicate()
    assert proc.returncode == -signal.SIGKILL, f"the run was not killed: {err.decode()[-500:]}"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "incomplete"
    return read_header(path)["day"]


@pytest.mark.parametrize("preset", ["integrated_2020", "rongcheng"])
def test_a_run_killed_and_resumed_gives_the_uninterrupted_outputs(tmp_path, preset):
    sizes = ("--people", str(PEOPLE), "--days", str(DAYS))
    whole = _cli("run", preset, *sizes, "--out", str(tmp_path / "whole"), "--quiet")
    assert whole.returncode == 0, whole.stderr
    killed = tmp_path / "killed"
    day = _kill_after_first_checkpoint(killed, preset, *sizes, "--checkpoint-every", str(EVERY))
    assert day % EVERY == 0 and 0 < day < DAYS  # the first, unless this process was held up
    resumed = _cli("resume", str(killed), "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    expected, got = _outputs(tmp_path / "whole"), _outputs(killed)
    assert "metrics.parquet" in expected and "harm_audit.parquet" in expected
    assert got.keys() == expected.keys()
    for name in expected:
        assert got[name] == expected[name], f"{name} differs after a kill and a resume"
    metrics = pq.read_table(killed / "metrics.parquet")
    assert metrics.num_rows == DAYS
    listed = [c for c in metrics.column_names if c.endswith("_size")]
    assert listed and any(metrics.column(c)[-1].as_py() for c in listed)  # lists held people
    manifest = json.loads((killed / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["resumed_from_days"] == [day]
    names = sorted(p.name for p in killed.iterdir())  # the checkpoint gone, nothing left over
    assert names == sorted(p.name for p in (tmp_path / "whole").iterdir())


class _StopError(Exception):
    pass


def _interrupted(sc, folder: Path, after: int, every: int, compiled=None) -> None:
    """Run ``sc`` with checkpoints into ``folder``, stopped by an exception after day ``after``."""

    def on_day(day: int) -> None:
        if day > after:
            raise _StopError

    with pytest.raises(_StopError):
        api.run(sc, out=folder, checkpoint_every=every, on_day=on_day, compiled=compiled)


def test_resume_in_process_equals_the_uninterrupted_run(tmp_path):
    sc = busy_rongcheng(days=240)
    whole = api.run(sc, out=tmp_path / "whole")
    _interrupted(sc, tmp_path / "part", after=80, every=70)
    assert read_header(tmp_path / "part" / CHECKPOINT_FILE)["day"] == 70
    stopped = json.loads((tmp_path / "part" / "manifest.json").read_text())
    assert "_StopError" in stopped["error"] and stopped["checkpoint"]["day"] == 70  # both noted

    def again(day: int) -> None:  # the resumed run is interrupted too, after its checkpoint
        if day > 150:
            raise _StopError

    def early(day: int) -> None:  # stopped before its first checkpoint: the note it resumed from
        if day > 75:
            raise _StopError

    with pytest.raises(_StopError):
        api.resume(tmp_path / "part", on_day=early)
    stopped = json.loads((tmp_path / "part" / "manifest.json").read_text())
    assert stopped["checkpoint"]["day"] == 70 and "_StopError" in stopped["error"]
    with pytest.raises(_StopError):
        api.resume(tmp_path / "part", on_day=again)
    assert read_header(tmp_path / "part" / CHECKPOINT_FILE)["day"] == 140
    seen: list[int] = []  # the days the resume steps: from the checkpoint on, not from day 0
    resumed = api.resume(tmp_path / "part", on_day=seen.append)
    assert (min(seen), max(seen)) == (140, 240)  # a restart from day 0 gave the same outputs
    assert _outputs(tmp_path / "part") == _outputs(tmp_path / "whole")
    assert resumed.manifest["resumed_from_days"] == [70, 70, 140]
    assert "checkpoint" not in resumed.manifest  # gone with the checkpoint, once complete
    assert resumed.manifest["ended"] == whole.manifest["ended"]
    assert whole.metrics.column("court_list_size")[-1].as_py() > 20  # lists at work
    assert sum(whole.metrics.column("court_list_appeals_filed").to_pylist()) > 0
    assert whole.metrics.column("flight_purchases_blocked")[-1].as_py() > 0


def test_the_python_loop_resumes_in_the_python_loop(tmp_path):
    sc = scslab.load_scenario("rongcheng").with_overrides(people=5_000, days=90)
    api.run(sc, out=tmp_path / "whole", compiled=False)
    _interrupted(sc, tmp_path / "part", after=50, every=40, compiled=False)
    resumed = api.resume(tmp_path / "part")
    assert resumed.manifest["engine"] == "python"
    assert _outputs(tmp_path / "part") == _outputs(tmp_path / "whole")


def test_a_resumed_fallback_run_records_what_the_uninterrupted_one_does(tmp_path, monkeypatch):
    """A run that took the Python loop because a kernel was not compiled yet says so in its
    manifest after a resume too (the resume, built with the loop forced, said it was not)."""
    from scslab.engine import compiled_plan

    monkeypatch.setattr(compiled_plan.CompiledPlan, "kernels_compiled", lambda self: False)
    sc = scslab.load_scenario("rongcheng").with_overrides(people=2_000, days=30)
    whole = api.run(sc, out=tmp_path / "whole")
    assert whole.manifest["engine"] == "python" and whole.manifest["plan_not_compiled"]
    _interrupted(sc, tmp_path / "part", after=15, every=10)
    resumed = api.resume(tmp_path / "part")
    for key in ("engine", "plan_not_compiled", "python_only_mechanisms"):
        assert resumed.manifest[key] == whole.manifest[key], key
    assert "are not compiled yet, so the Python loop ran" in resumed.summary()
    assert _outputs(tmp_path / "part") == _outputs(tmp_path / "whole")


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "python"])
def test_the_restored_state_is_what_makes_the_results(tmp_path, compiled):
    """The control: leave the per-person state out of a restore, and the results differ.

    One header restores two simulations in turn: the first one's run must not reach the second
    through the header's columns.
    """
    sc = busy_rongcheng(days=240)
    whole = api.run(sc, compiled=compiled).metrics
    _interrupted(sc, tmp_path / "part", after=150, every=70, compiled=compiled)
    path = tmp_path / "part" / CHECKPOINT_FILE
    header = read_header(path)
    for leave_out in (False, True):
        sim = Simulation(scenario_from_dict(header["scenario"]), compiled=compiled)
        ck.restore(sim, header, path)
        assert len(sim.columns["day"]) == 140
        if leave_out:
            for array in sim.pop.state.arrays.values():
                array[...] = 0
            for flag in sim.pop.state.flags.values():
                flag.array[...] = 0
        sim.run()
        assert sim.columns["day"] == list(range(240))
        same = all(
            sim.columns[c] == whole.column(c).to_pylist()
            for c in whole.column_names
            if not c.endswith(("_ratio_rural_urban", "_ratio_q1_q5"))  # NaN != NaN
        )
        assert same is not leave_out


@pytest.mark.parametrize("preset", sorted(scslab.presets()))
def test_every_preset_is_walked_and_resumes_bit_for_bit(tmp_path, preset):
    sc = scslab.load_scenario(preset).with_overrides(people=3_000, days=120)
    sim = Simulation(sc)
    nodes = walk(sim)
    assert {"array", "scalar", "record"} <= {n.kind for n in nodes}
    records = {n.path.split("/")[1] for n in nodes if n.path.startswith("mechanisms/")}
    assert records == {n for n, m in sim.mechanisms.items() if not isinstance(m, Groups)}
    assert any(n.path.startswith("population/") and n.kind == "array" for n in nodes)
    api.run(sc, out=tmp_path / "whole")
    _interrupted(sc, tmp_path / "part", after=60, every=50)
    api.resume(tmp_path / "part")
    assert _outputs(tmp_path / "part") == _outputs(tmp_path / "whole")


def test_a_field_of_an_unknown_type_fails_loudly():
    with pytest.raises(CheckpointError, match="x/name: cannot checkpoint a record field"):
        list(ck._walk_field(types.unicode_type, "text", "x/name", {}))
    with pytest.raises(CheckpointError, match="x/list: cannot checkpoint"):
        list(ck._walk_field(types.ListType(types.int64), None, "x/list", {}))
    with pytest.raises(CheckpointError, match=r"cannot checkpoint a builtins\.set"):
        list(ck._walk_python({"seen": {1, 2}}, "population", {}, None))


def test_an_observer_that_declares_no_state_cannot_be_checkpointed(tmp_path, monkeypatch):
    sc = scslab.load_scenario("integrated_2020").with_overrides(people=2_000, days=20)
    monkeypatch.setattr(Groups, "carried", None)
    with pytest.raises(CheckpointError, match="observer 'groups' does not declare"):
        api.run(sc, out=tmp_path / "run", checkpoint_every=5)
    assert not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def stopped(tmp_path_factory) -> Path:
    """A rongcheng run stopped after day 45, with its checkpoint of day 40."""
    folder = tmp_path_factory.mktemp("stopped") / "run"
    sc = scslab.load_scenario("rongcheng").with_overrides(people=3_000, days=80)
    _interrupted(sc, folder, after=45, every=20)
    assert read_header(folder / CHECKPOINT_FILE)["day"] == 40
    return folder


def _refused(folder: Path, capsys, expected: str) -> None:
    """``scslab resume folder`` exits 2 with one line, and changes nothing in the folder."""
    before = {p.name: p.read_bytes() for p in folder.iterdir()} if folder.is_dir() else None
    code = main(["resume", str(folder), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("scslab: error: ") and expected in err, err
    after = {p.name: p.read_bytes() for p in folder.iterdir()} if folder.is_dir() else None
    assert after == before


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for p in src.iterdir():
        (dst / p.name).write_bytes(p.read_bytes())
    return dst


def test_bad_resumes_give_one_line_and_exit_2(tmp_path, stopped, capsys):
    _refused(tmp_path / "nothing", capsys, "not a run folder")
    no_checkpoint = _copy(stopped, tmp_path / "no_checkpoint")
    (no_checkpoint / CHECKPOINT_FILE).unlink()
    _refused(no_checkpoint, capsys, "no checkpoint")

    cut = _copy(stopped, tmp_path / "cut")
    data = (cut / CHECKPOINT_FILE).read_bytes()
    (cut / CHECKPOINT_FILE).write_bytes(data[: len(data) // 2])
    _refused(cut, capsys, "damaged checkpoint")

    flipped = _copy(stopped, tmp_path / "flipped")
    header = read_header(flipped / CHECKPOINT_FILE)
    region = max(header["regions"], key=lambda r: r["size"])
    raw = bytearray(data)
    raw[region["offset"] + region["size"] // 2] ^= 0x10
    (flipped / CHECKPOINT_FILE).write_bytes(bytes(raw))
    _refused(flipped, capsys, "checksum differs")

    other = _copy(stopped, tmp_path / "other")
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["scenario"]["scenario"]["seed"] += 1
    (other / "manifest.json").write_text(json.dumps(manifest))
    _refused(other, capsys, "of another scenario")

    # a manifest cut short is damaged, not missing ("not a run folder (no readable ...)")
    torn = _copy(stopped, tmp_path / "torn")
    text = (torn / "manifest.json").read_text()
    (torn / "manifest.json").write_text(text[: len(text) // 2])
    _refused(torn, capsys, "manifest.json: not readable as a run's manifest (")


def _blocks(header: dict) -> list[tuple[int, int]]:
    """Where the blocks of a checkpoint lie (offset, size), by offset."""
    blocks = [(r["offset"], r["size"]) for r in header["regions"]]
    for spec in header["dicts"].values():
        blocks += [(spec["keys"]["offset"], spec["keys"]["size"])]
        blocks += [(spec["values"]["offset"], spec["values"]["size"])]
    return sorted(blocks)


def _flipped(data: bytes, at: int) -> bytes:
    raw = bytearray(data)
    raw[at] ^= 0x10
    return bytes(raw)


def test_a_flipped_byte_in_the_padding_is_refused(tmp_path, stopped, capsys):
    """The zeros between blocks, which no CRC covers, are checked too: a byte flipped anywhere
    is refused (here the first and the last byte of every gap before a block)."""
    data = (stopped / CHECKPOINT_FILE).read_bytes()
    blocks = _blocks(read_header(stopped / CHECKPOINT_FILE))
    assert len(ck.MAGIC) <= 50 < blocks[0][0]  # byte 50: between MAGIC and the first block
    folder = _copy(stopped, tmp_path / "padding")
    (folder / CHECKPOINT_FILE).write_bytes(_flipped(data, 50))
    _refused(folder, capsys, "damaged checkpoint")

    probe = tmp_path / CHECKPOINT_FILE
    gaps, pos = 0, len(ck.MAGIC)
    for offset, size in blocks:
        if offset > pos:
            gaps += 1
            for at in (pos, offset - 1):
                probe.write_bytes(_flipped(data, at))
                with pytest.raises(CheckpointError, match="damaged checkpoint"):
                    read_header(probe)
        pos = max(pos, offset + size)
    assert gaps > 10  # the regions of a rongcheng run: padding between most of them


def _forged(src: Path, dst: Path, **changes) -> Path:
    """A copy of run folder ``src`` whose checkpoint's header has ``changes`` (its CRC made anew:
    a header written by hand, not a damaged one)."""
    folder = _copy(src, dst)
    path = folder / CHECKPOINT_FILE
    raw = path.read_bytes()
    length, _, magic = ck._TRAILER.unpack(raw[-ck._TRAILER.size :])
    start = len(raw) - ck._TRAILER.size - length
    text = json.dumps(json.loads(raw[start : start + length]) | changes).encode()
    path.write_bytes(raw[:start] + text + ck._TRAILER.pack(len(text), zlib.crc32(text), magic))
    return folder


def test_a_header_rewritten_as_it_was_resumes(tmp_path, stopped):
    """The control of the test below: a header rewritten by ``_forged`` unchanged is accepted."""
    folder = _forged(stopped, tmp_path / "same")
    assert api.resume(folder).manifest["resumed_from_days"] == [40]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"day": 250}, "(day 250 of 80)"),
        ({"day": -1}, "(day -1 of 80)"),
        ({"day": 40.0}, "(day 40.0 of 80)"),
        ({"day": 60}, "(day 60, not the days of its metric columns)"),
        ({"days": 200, "day": 150}, "(a run of 200 days; the scenario has 80)"),
        ({"checkpoint_every": 0}, "(checkpoint_every 0)"),
        ({"checkpoint_every": "20"}, "(checkpoint_every '20')"),
        ({"run_s": None}, "(run_s None)"),
    ],
    ids=["past-end", "negative", "float", "columns", "days", "every-0", "every-str", "run_s"],
)
def test_a_header_with_impossible_progress_is_refused(tmp_path, stopped, capsys, changes, expected):
    """A header's day, days and pace of checkpoints are checked against the scenario and the
    metric columns saved with it before anything in the folder changes (a day past the run's
    end resumed, and wrote outputs; a pace of 0 days stopped on a ZeroDivisionError)."""
    folder = _forged(stopped, tmp_path / "forged", **changes)
    _refused(folder, capsys, "damaged checkpoint " + expected)


def test_a_checkpoint_of_other_code_is_refused(tmp_path, stopped, capsys, monkeypatch):
    folder = _copy(stopped, tmp_path / "old")
    sim = Simulation(scslab.load_scenario("rongcheng").with_overrides(people=3_000, days=80))
    monkeypatch.setattr(ck, "__version__", "0.0.1")
    ck.write_checkpoint(sim, folder / CHECKPOINT_FILE, 20)
    monkeypatch.undo()
    _refused(folder, capsys, "written by scslab 0.0.1")


def test_a_checkpoint_naming_a_mechanism_not_registered_here_is_not_called_damaged(
    tmp_path, stopped, capsys, monkeypatch
):
    """As a mechanism of the user's own module that this process has not imported."""
    folder = _copy(stopped, tmp_path / "run")
    monkeypatch.delitem(REGISTRY, "rongcheng_points")
    _refused(
        folder,
        capsys,
        "the checkpoint's scenario names mechanism 'rongcheng_points', not known here; a "
        "mechanism from your own module must be imported first",
    )
    with pytest.raises(CheckpointError) as e:
        api.resume(folder)
    assert "damaged" not in str(e.value)


@pytest.fixture
def python_only():
    """A mechanism that keeps its state in Python (no compiled record), for one test."""

    class PythonOnly(Behaviour):
        name = "test_checkpoint_python_only"
        description = "a prototype with no compiled record"

        def step(self, sim: Simulation, day: int) -> None:
            self.days = getattr(self, "days", 0) + 1

    yield PythonOnly.name
    del REGISTRY[PythonOnly.name]


def test_checkpoints_of_a_python_only_mechanism_say_what_to_do(tmp_path, capsys, python_only):
    path = tmp_path / "scenario.toml"
    path.write_text(
        '[scenario]\nname = "mini"\npeople = 2000\ndays = 10\n\n'
        f"[mechanisms.everyday_acts]\n[mechanisms.{python_only}]\n"
    )
    code = main(["run", str(path), "--checkpoint-every", "5", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert err.startswith(
        f"scslab: error: {path}: mechanisms.{python_only}: keeps its state in Python"
    ), err
    assert "run without --checkpoint-every (checkpoint_every in Python)" in err
    assert "or give the mechanism a compiled record" in err
    assert not (tmp_path / "r").exists()


def test_a_complete_run_has_nothing_to_resume(tmp_path, capsys):
    folder = tmp_path / "run"
    sc = scslab.load_scenario("rongcheng").with_overrides(people=2_000, days=30)
    api.run(sc, out=folder, checkpoint_every=10)
    assert not (folder / CHECKPOINT_FILE).exists()
    _refused(folder, capsys, "the run is complete")


def test_a_checkpoint_is_replaced_atomically(tmp_path, stopped, monkeypatch):
    """A write that fails half way leaves the previous checkpoint whole, and no temporary file."""
    folder = _copy(stopped, tmp_path / "run")
    before = (folder / CHECKPOINT_FILE).read_bytes()
    sim = Simulation(scslab.load_scenario("rongcheng").with_overrides(people=3_000, days=80))

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(ck, "_write_bytes", fail)
    with pytest.raises(OSError, match="disk full"):
        ck.write_checkpoint(sim, folder / CHECKPOINT_FILE, 20)
    assert (folder / CHECKPOINT_FILE).read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in stopped.iterdir())
