"""`scslab sensitivity`: SALib indices on the sweep engine, checked where the answer is known.

In ``rongcheng`` the informants' ``report_prob`` drives ``records_by_informant``, and the train
ban's attempt rate cannot reach it (travel bans cost no income there): on common seeds the
second parameter leaves the output exactly unchanged, so its indices are 0.
"""

from __future__ import annotations

import sys
from contextlib import nullcontext
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import scslab.sweep as sweep_module
from scslab.cli import main
from scslab.sensitivity import SensitivityError, run_sensitivity
from scslab.sweep import SweepError, dask_client, load_sweep

pytest.importorskip("SALib")
pytest.importorskip("distributed")

FILE = """
[sweep]
scenario = "rongcheng"
people = 5000
days = 60
seed = 2

[parameters]
"mechanisms.informants.report_prob" = { low = 0.002, high = 0.05 }
"mechanisms.travel_bans.train_attempt_rate" = { low = 0.0001, high = 0.01, log = true }

[sensitivity]
method = "sobol"
n = 8
outputs = ["records_by_informant:sum", "acts:sum"]
"""

REPORT = "mechanisms.informants.report_prob"
TRAINS = "mechanisms.travel_bans.train_attempt_rate"


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def client():
    with dask_client(workers=2) as c:
        yield c


def _indices(table, output):
    return {r["parameter"]: r for r in table.to_pylist() if r["output"] == output}


def test_sobol_finds_the_parameter_that_matters(tmp_path, client):
    result = run_sensitivity(_file(tmp_path, FILE), tmp_path / "out", client=client)
    assert result.sweep.table.num_rows == 8 * (2 + 2)  # Saltelli: n (d + 2) points
    informant = _indices(result.table, "records_by_informant:sum")
    assert informant[REPORT]["S1"] > 0.5 and informant[REPORT]["ST"] > 0.5
    assert informant[TRAINS]["S1"] == 0 and informant[TRAINS]["ST"] == 0
    acts = _indices(result.table, "acts:sum")  # acts move with neither (common seeds)
    assert all(r["S1"] == 0 and r["ST"] == 0 for r in acts.values())
    assert pq.read_table(tmp_path / "out/sensitivity.parquet").equals(result.table)
    assert any("records_by_informant:sum" in line for line in result.lines())
    assert result.chart and (tmp_path / "out/sensitivity.png").stat().st_size > 0
    svg = (tmp_path / "out/sensitivity.svg").read_text()
    assert "informants.report_prob" in svg and "records_by_informant:sum" in svg


def test_morris_through_the_cli(tmp_path, client, capsys, monkeypatch):
    text = FILE.replace('method = "sobol"', 'method = "morris"').replace("n = 8", "n = 4")
    monkeypatch.setattr(sweep_module, "dask_client", lambda *a, **k: nullcontext(client))
    out = tmp_path / "out"
    assert main(["sensitivity", str(_file(tmp_path, text)), "--out", str(out), "--quiet"]) == 0
    assert "scslab sensitivity (morris): 12 runs" in capsys.readouterr().out
    informant = _indices(pq.read_table(out / "sensitivity.parquet"), "records_by_informant:sum")
    assert informant[REPORT]["mu_star"] > 0 and informant[TRAINS]["mu_star"] == 0


BAD = [
    (FILE.replace("{ low = 0.002, high = 0.05 }", "[0.01, 0.02]"), "sensitivity needs a range"),
    (FILE.replace("n = 8", "n = 6"), "sensitivity.n: Sobol needs a power of 2 (got 6; try 4 or 8)"),
    (FILE.replace('method = "sobol"', 'method = "fast"'), "sensitivity.method: Input should be"),
    (FILE.replace("seed = 2", "seed = 2\ndesign = 'random'"), "sweep.design: [sensitivity] sets"),
    (FILE.split("[sensitivity]")[0], "sensitivity: missing table"),
    (FILE.replace("outputs = [", "outputs = ['acts:median', "), "not COLUMN or COLUMN:STATISTIC"),
    # settings of the other method were ignored in silence
    (FILE.replace("n = 8", "n = 8\nlevels = 4"), "levels is Morris's grid; method is sobol"),
    (
        FILE.replace('method = "sobol"', 'method = "morris"').replace("n = 8", "n = 4")
        + "second_order = true\n",
        "second_order is Sobol's; method is morris",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_sensitivity_file_exits_2_nothing_written(tmp_path, capsys, text, message):
    out = tmp_path / "out"
    assert main(["sensitivity", str(_file(tmp_path, text)), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in " ".join(err.split()), err
    assert not out.exists()


def test_missing_extra_names_it(tmp_path, monkeypatch):
    sweep = load_sweep(_file(tmp_path, FILE), kind="sensitivity")
    monkeypatch.setitem(sys.modules, "SALib", None)
    with pytest.raises(SensitivityError, match=r"pip install 'scslab\[sensitivity\]'"):
        run_sensitivity(sweep, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert issubclass(SensitivityError, SweepError)


def test_an_unknown_output_is_refused_before_anything_runs(tmp_path, capsys, monkeypatch):
    """A typo in the outputs is one line before the first run, not after all of them."""
    monkeypatch.setattr(sweep_module, "dask_client", lambda *a, **k: nullcontext(object()))
    monkeypatch.setattr(sweep_module, "execute", lambda *a, **k: pytest.fail("a run started"))
    text = FILE.replace("people = 5000\ndays = 60", "people = 1000\ndays = 5")
    text = text.replace('"acts:sum"]', '"court_list_sise:final"]')
    out = tmp_path / "out"
    assert main(["sensitivity", str(_file(tmp_path, text)), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "sensitivity.outputs: 'court_list_sise:final': 'court_list_sise' is not a metric " in err
    assert "(did you mean 'court_list_size'?)" in err
    assert not out.exists()


def test_second_order_indices_are_written_for_each_pair(tmp_path, monkeypatch):
    """``second_order = true`` runs n (2d + 2) points; their S2 indices, one row per pair, go to
    ``sensitivity_s2.parquet`` and are printed (they were computed and dropped)."""
    from scslab.sweep import run_task

    monkeypatch.setattr(sweep_module, "dask_client", lambda *a, **k: nullcontext(object()))
    monkeypatch.setattr(
        sweep_module, "execute", lambda client, tasks, fn=run_task, *_: (fn(t) for t in tasks)
    )
    text = FILE.replace("n = 8", "n = 2\nsecond_order = true").replace("days = 60", "days = 20")
    result = run_sensitivity(_file(tmp_path, text), tmp_path / "out")
    assert result.sweep.table.num_rows == 2 * (2 * 2 + 2)
    pairs = pq.read_table(tmp_path / "out" / "sensitivity_s2.parquet").to_pylist()
    assert [(r["output"], r["parameter"], r["other"]) for r in pairs] == [
        ("records_by_informant:sum", REPORT, TRAINS),
        ("acts:sum", REPORT, TRAINS),
    ]
    assert all(r["S2"] == r["S2"] for r in pairs)  # a number, not NaN
    assert any(f"{REPORT} x {TRAINS}" in line for line in result.lines())
    assert result.pairs is not None and result.pairs.num_rows == 2


def _point_1_without_acts(monkeypatch, missing: float | None) -> str:
    """Runs here, in turn, whose point 1 has ``missing`` for ``acts:sum``; the file to run."""
    from scslab.sweep import run_task

    def without_output(task):
        row = run_task(task)
        return row | {"acts:sum": missing} if task.point == 1 else row

    monkeypatch.setattr(sweep_module, "dask_client", lambda *a, **k: nullcontext(object()))
    monkeypatch.setattr(
        sweep_module, "execute", lambda client, tasks, fn=run_task, *_: map(without_output, tasks)
    )
    return FILE.replace("n = 8", "n = 2").replace("days = 60", "days = 10")


@pytest.mark.parametrize("missing", [None, float("nan")])
def test_an_output_some_points_lack_is_refused_by_name(tmp_path, monkeypatch, missing):
    """A run that ends ok without an output's column has a null output (``sweep.run_task``), and
    one whose mechanism did not run on the days the output reads has NaN; the indices need a
    value at every point, so the analysis refuses either, naming the output. NaN read as indices
    of exactly 0, which the docs call "as they must be"."""
    text = _point_1_without_acts(monkeypatch, missing)
    with pytest.raises(
        SensitivityError, match=r"output acts:sum: run p00001-r000 has no value of it"
    ):
        run_sensitivity(_file(tmp_path, text), tmp_path / "out")


def test_runs_the_indices_cannot_use_exit_1_not_2_their_folder_kept(tmp_path, monkeypatch, capsys):
    """Exit status 2 says the input was refused and nothing written; these runs are written."""
    text = _point_1_without_acts(monkeypatch, None)
    out = tmp_path / "out"
    assert main(["sensitivity", str(_file(tmp_path, text)), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "output acts:sum: run p00001-r000 has no value of it" in err
    assert (out / "sweep.parquet").exists() and not (out / "sensitivity.parquet").exists()


def test_sweep_outputs_in_a_sensitivity_file_are_refused_not_ignored(tmp_path, capsys):
    """A sensitivity file's ``[sweep] outputs`` were accepted and never read, misspelled or not."""
    text = FILE.replace("[parameters]", "outputs = ['actz']\n[parameters]", 1)
    out = tmp_path / "out"
    assert main(["sensitivity", str(_file(tmp_path, text)), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.endswith(
        "sweep.outputs: scslab sensitivity does not read it; name them in sensitivity.outputs\n"
    )
    assert err.count("\n") == 1 and not out.exists()


def test_a_morris_level_halfway_between_integers_is_rounded_up(tmp_path):
    """Morris draws ties in [1, 3] at 1 and 2.5 here: 2.5 runs as 3 (``round`` made it 2)."""
    from scslab.sensitivity import SensitivityTable, sample

    text = FILE.split("[parameters]")[0] + (
        "[parameters]\n'mechanisms.informants.ties' = { low = 1, high = 3 }\n"
        "[sensitivity]\nmethod = 'morris'\nn = 4\nlevels = 3\noutputs = ['acts:sum']\n"
    )
    sweep = load_sweep(_file(tmp_path, text), kind="sensitivity")
    x, points = sample(sweep, SensitivityTable.model_validate(sweep.tables["sensitivity"]))
    ran = [p["mechanisms.informants.ties"] for p in points]
    assert {(float(d), r) for d, r in zip(x[:, 0], ran, strict=True)} == {(1.0, 1), (2.5, 3)}
    assert all(isinstance(r, int) for r in ran)
