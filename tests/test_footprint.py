"""Runs that cannot fit in memory are refused before they start; running out mid-run is one line."""

from __future__ import annotations

import json
import resource
import subprocess
import sys

import pytest

import scslab
from scslab.cli import main
from scslab.engine import footprint
from scslab.engine.footprint import NotEnoughMemoryError, memory_needed, stored_bytes_per_person


@pytest.mark.parametrize("ties", [1, 4])
def test_stored_bytes_match_a_real_population(ties):
    """A backlash places its flags in its set-up: with four stored ties they take a 13th byte
    (the estimate said 12 before it counted them)."""
    sc = scslab.load_scenario("integrated_2020").with_overrides(people=5_000, days=2)
    sc = sc.with_mechanism("tie_cutting", ties=ties).with_mechanism("backlash")
    result = scslab.run(sc)
    assert result.manifest["bytes_per_person"] == 12 + (ties == 4)
    assert stored_bytes_per_person(sc) == pytest.approx(result.manifest["bytes_per_person"])


def test_need_grows_with_people():
    sc = scslab.load_scenario("rongcheng")
    small = memory_needed(sc.with_overrides(people=1_000_000))
    big = memory_needed(sc.with_overrides(people=100_000_000))
    assert small < big and big - small == pytest.approx(99_000_000 * 7 * 1.15, rel=1e-6)


def test_a_run_too_big_is_refused_before_anything_is_written(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(footprint, "available_memory", lambda: 2**30)  # a 1 GiB machine
    with pytest.raises(NotEnoughMemoryError, match=r"need about .* GiB .* 1\.0 GiB free"):
        scslab.run("integrated_2020", people=500_000_000)
    out = tmp_path / "run"
    assert main(["run", "integrated_2020", "--people", "500000000", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "would fit (--people)" in err
    assert not out.exists()


def test_under_a_real_address_space_limit(tmp_path):
    """As a user would: ``ulimit -v`` 4 GB and 500 million people: one line, exit 2."""

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (4 * 10**9, 4 * 10**9))

    proc = subprocess.run(
        [sys.executable, "-m", "scslab.cli", "run", "integrated_2020", "--people", "500000000"],
        capture_output=True,
        text=True,
        preexec_fn=limit,
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "need about" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_out_of_memory_mid_run_is_one_line_and_an_incomplete_folder(tmp_path, monkeypatch, capsys):
    from scslab.engine.simulation import Simulation

    def run_out(self, *args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(Simulation, "run", run_out)
    out = tmp_path / "run"
    assert main(["run", "rongcheng", "--people", "2000", "--days", "5", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "out of memory" in err and "incomplete" in err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "incomplete" and manifest["error"] == "MemoryError"


def test_out_of_memory_in_the_set_up_names_no_folder_it_removed(tmp_path, monkeypatch, capsys):
    """The message said the default run folder was marked incomplete, then removed it empty."""
    from scslab.engine.simulation import Simulation

    def run_out(self, *args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(Simulation, "__init__", run_out)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "rongcheng", "--people", "2000", "--days", "5"]) == 2
    err = capsys.readouterr().err
    assert err == "scslab: error: out of memory after 0 of 5 days; run fewer --people\n"
    assert list(tmp_path.iterdir()) == []


def _full_disk_at(monkeypatch, writer: str) -> None:
    """Make ``api``'s ``writer`` fail as a full disk does (ENOSPC)."""
    import errno

    from scslab import api

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(api, writer, full)


def test_a_full_disk_after_the_last_day_is_one_line_and_an_incomplete_folder(
    tmp_path, monkeypatch, capsys
):
    """Writing the results failed after every day had run: a 62-line traceback, and a
    manifest that said 0 days completed and gave no error."""
    _full_disk_at(monkeypatch, "write_metrics")
    out = tmp_path / "run"
    assert main(["run", "rongcheng", "--people", "2000", "--days", "5", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"scslab: error: could not write to {out}: No space left on device; the run folder "
        f"{out} is marked incomplete (no checkpoint to resume from: run with "
        "--checkpoint-every to keep one)\n"
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "incomplete" and manifest["days_completed"] == 5
    assert manifest["error"] == ("writing the results: OSError: [Errno 28] No space left on device")


def test_a_full_disk_at_the_first_checkpoint_does_not_say_to_keep_checkpoints(
    tmp_path, monkeypatch, capsys
):
    """A run with --checkpoint-every whose first checkpoint could not be written was told to
    "run with --checkpoint-every to keep one"."""
    _full_disk_at(monkeypatch, "write_checkpoint")
    out = tmp_path / "run"
    args = ["run", "rongcheng", "--people", "2000", "--days", "9", "--checkpoint-every", "4"]
    assert main([*args, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"scslab: error: could not write to {out}: No space left on device; the run folder "
        f"{out} is marked incomplete (no checkpoint to resume from: it stopped before its "
        "first, after 4 days, was written)\n"
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "incomplete" and not (out / "checkpoint.scslab").exists()


def test_a_cgroup_s_reclaimable_page_cache_counts_as_free(tmp_path):
    """memory.current counts the page cache; its inactive files are reclaimed before the kernel
    refuses memory. A limit of 8 GiB with 7.5 GiB current, 5.5 GiB of it inactive files, read
    as 0.5 GiB free, and refused runs that fit."""
    from scslab.engine.footprint import _cgroup_free

    gib = 2**30
    (tmp_path / "memory.max").write_text(f"{8 * gib}\n")
    (tmp_path / "memory.current").write_text(f"{int(7.5 * gib)}\n")
    (tmp_path / "memory.stat").write_text(f"anon {2 * gib}\ninactive_file {int(5.5 * gib)}\n")
    assert _cgroup_free(tmp_path) == 6 * gib
    (tmp_path / "memory.stat").unlink()  # no stat to read: the current figure as it is
    assert _cgroup_free(tmp_path) == gib // 2
    (tmp_path / "memory.max").write_text("max\n")
    assert _cgroup_free(tmp_path) is None
