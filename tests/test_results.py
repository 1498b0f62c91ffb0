"""Run folders: atomic, honest about completeness."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import scslab


def test_interrupted_run_is_marked_incomplete(tmp_path):
    sc = scslab.load_scenario("rongcheng").with_overrides(people=2000, days=50)

    def stop(day):
        if day == 10:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        scslab.run(sc, out=tmp_path / "r", on_day=stop)
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["status"] == "incomplete"
    assert manifest["days_completed"] == 10
    assert "KeyboardInterrupt" in manifest["error"]
    assert pq.read_table(tmp_path / "r" / "metrics.parquet").num_rows == 10
    assert not [p for p in (tmp_path / "r").iterdir() if p.name.endswith(".tmp")]


def test_crash_mid_run_is_marked_incomplete(tmp_path):
    sc = scslab.load_scenario("rongcheng").with_overrides(people=2000, days=30)

    def crash(day):
        if day == 5:
            raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        scslab.run(sc, out=tmp_path / "r", on_day=crash)
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["status"] == "incomplete" and "disk on fire" in manifest["error"]


def test_an_interrupt_part_way_through_a_day_s_metrics_keeps_the_whole_days(tmp_path, monkeypatch):
    from scslab.mechanisms.metrics.ledger import Ledger

    metrics = Ledger.metrics

    def interrupted(self, day):
        if day == 5:  # after every other mechanism wrote day 5's metrics
            raise KeyboardInterrupt
        return metrics(self, day)

    monkeypatch.setattr(Ledger, "metrics", interrupted)
    sc = scslab.load_scenario("rongcheng").with_overrides(people=2000, days=30)
    with pytest.raises(KeyboardInterrupt):  # the interrupt, not an error writing the metrics
        scslab.run(sc, out=tmp_path / "r", compiled=False)
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["status"] == "incomplete" and manifest["error"] == "KeyboardInterrupt"
    table = pq.read_table(tmp_path / "r" / "metrics.parquet")
    assert table.num_rows == 5 and table["day"].to_pylist() == [0, 1, 2, 3, 4]


def test_api_returns_tables_and_bytes_per_person():
    r = scslab.run("reference", people=3000, days=15)
    assert r.metrics.num_rows == 15
    assert r.manifest["bytes_per_person"] <= 12
    assert "recovering_score" in r.summary()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="Linux only")
def test_peak_memory_is_the_run_s_own_not_the_parent_s(tmp_path):
    # A child started from a big process inherits its ru_maxrss on Linux; the manifest must not.
    ballast = bytearray(400 * 2**20)
    ballast[::4096] = b"\x01" * len(ballast[::4096])
    code = (
        "import sys, scslab\n"
        "r = scslab.run('reference', people=3000, days=5, out=sys.argv[1])\n"
        "print(r.manifest['peak_rss_bytes'])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "run")], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split()[-1]) < 380 * 2**20
    del ballast
