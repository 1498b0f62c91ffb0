"""The scripts in ``examples/`` run as written and print what they promise."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _run(monkeypatch, capsys, name: str, *args: str) -> str:
    monkeypatch.setattr(sys, "argv", [str(EXAMPLES / name), *args])
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    return capsys.readouterr().out


def test_every_example_is_tested():
    tested = {"quickstart.py", "compare_informants.py", "charts.py"}
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested


def test_quickstart(monkeypatch, capsys):
    out = _run(monkeypatch, capsys, "quickstart.py")
    assert "scslab integrated_2020: 20,000 synthetic people, 365 days" in out
    assert "Harm audit:" in out and "innocents punished: court_list:" in out
    assert "false records by cause: data error (camera)" in out
    informants = next(line for line in out.splitlines() if line.startswith("records from inf"))
    assert int(informants.split(": ")[1].replace(",", "")) > 0
    assert "court_list_innocents_listed" in out


def test_compare_informants(monkeypatch, capsys):
    out = _run(monkeypatch, capsys, "compare_informants.py")
    assert "B = rongcheng without informants" in out
    assert "only A has" in out and "informant_reports" in out
    rows = [line.split() for line in out.splitlines() if line.startswith("records_by_informant")]
    assert rows and rows[0][1] == "mean_per_day"  # the frame's row
    _metric, _statistic, a_mean, b_mean, diff = rows[0]
    assert float(b_mean) == 0 and float(a_mean) > 0 and float(diff) == -float(a_mean)


def test_charts(monkeypatch, capsys, tmp_path):
    out = _run(monkeypatch, capsys, "charts.py", str(tmp_path / "png"))
    written = sorted((tmp_path / "png").glob("*.png"))
    assert {"lists.png", "mean_scores.png"} <= {p.name for p in written}
    for p in written:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and str(p) in out
