"""`scslab report`: a self-contained HTML file and PNG/SVG charts from a run folder."""

from __future__ import annotations

import json
import re
import shutil
import sys

import pytest

import scslab
from scslab import api
from scslab.cli import main
from scslab.report import EXTRA_HINT, ReportError, write_report


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "run"
    api.run("integrated_2020", people=20_000, days=200, out=out)
    return out


def test_report_writes_html_png_and_svg(run_dir):
    folder = write_report(run_dir)
    names = {p.name for p in folder.iterdir()}
    charts = {n[:-4] for n in names if n.endswith(".png")}
    assert {"lists", "false_records_by_cause", "mean_scores"} <= charts
    assert {f"{c}.svg" for c in charts} <= names and "report.html" in names
    for c in charts:
        assert (folder / f"{c}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "<svg" in (folder / f"{c}.svg").read_text()[:500]
    page = (folder / "report.html").read_text()
    for c in charts:
        assert f'<div id="{c}" class="chart"></div>' in page
    assert "People on each list" in page and "Harm audit" in page
    assert "false records by cause" in page


def test_report_needs_no_network(run_dir):
    page = (write_report(run_dir) / "report.html").read_text()
    # nothing is loaded from elsewhere: the one script is inline and imports nothing, and the
    # page around it has no external script, style sheet, image or font
    head, rest = page.split('<script type="module">', 1)
    script, tail = rest.split("</script>", 1)
    assert not re.search(r"<(script|link|img)[^>]+(src|href)\s*=", head + tail)
    assert "@import" not in head + tail and "url(http" not in head + tail
    assert not re.search(r"""(import\s*\(|from)\s*["'`]https?:""", script)
    assert len(script) > 100_000  # Vega, Vega-Lite and Vega-Embed are in it


def test_report_refuses_what_it_cannot_read(run_dir, tmp_path, monkeypatch, capsys):
    with pytest.raises(ReportError, match="not a run folder"):
        write_report(tmp_path)  # a folder without a manifest
    partial = tmp_path / "partial"
    partial.mkdir()
    manifest = json.loads((run_dir / "manifest.json").read_text()) | {"status": "incomplete"}
    (partial / "manifest.json").write_text(json.dumps(manifest))
    (partial / "metrics.parquet").write_bytes((run_dir / "metrics.parquet").read_bytes())
    with pytest.raises(ReportError, match="incomplete"):
        write_report(partial)
    assert main(["report", str(partial)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "incomplete" in err
    assert not (partial / "report").exists()  # nothing half-written
    edited = manifest | {"status": "complete", "scenario": {"scenario": {"name": "x"}}}
    (partial / "manifest.json").write_text(json.dumps(edited))  # hand-edited: a KeyError once
    assert main(["report", str(partial)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a run's manifest (no scenario.scenario.people)" in err
    monkeypatch.setitem(sys.modules, "vl_convert", None)  # the extra is not installed
    with pytest.raises(ReportError, match=re.escape("pip install 'scslab[report]'")):
        write_report(run_dir)
    assert "scslab[report]" in EXTRA_HINT


def test_a_damaged_run_folder_is_one_line_naming_the_file(run_dir, tmp_path, capsys):
    def copy(name: str) -> None:
        shutil.copytree(run_dir, tmp_path / name, ignore=shutil.ignore_patterns("report"))

    copy("cut")
    (tmp_path / "cut" / "manifest.json").write_text('{"status": "compl')  # cut short
    copy("bare")
    (tmp_path / "bare" / "manifest.json").write_text('{"status": "complete"}')
    copy("garbage")
    (tmp_path / "garbage" / "metrics.parquet").write_bytes(b"not parquet at all")
    copy("file")
    (tmp_path / "file" / "report").write_text("a file where the report folder goes")
    for name, why in (
        ("cut", "manifest.json: not readable as a run's manifest"),
        ("bare", "manifest.json: not a run's manifest (no scenario, timings, plan)"),
        ("garbage", "metrics.parquet: not a readable Parquet table"),
        ("file", "report: is a file"),
    ):
        with pytest.raises(ReportError, match=re.escape(why)):
            write_report(tmp_path / name)
        assert main(["report", str(tmp_path / name)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and why in err, err
    with pytest.raises(ReportError, match="no such run folder"):
        write_report(tmp_path / "nowhere")


def test_a_run_without_its_audit_file_says_so(run_dir, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(run_dir, folder, ignore=shutil.ignore_patterns("report"))
    (folder / "harm_audit.parquet").unlink()
    page = (write_report(folder) / "report.html").read_text()
    assert "no harm_audit.parquet" in page and "Nothing to audit" not in page
    assert "false records by cause" in (write_report(run_dir) / "report.html").read_text()


def test_cli_report(run_dir, capsys):
    assert main(["report", str(run_dir)]) == 0
    assert "report.html" in capsys.readouterr().out


def test_charts_keep_a_stopped_sanction_and_leave_out_a_redlists_innocents():
    """A sector a backlash stopped charts its last day's count, as the audit does; a redlist,
    which the audit leaves out (its members are rewarded), has no innocents to chart."""
    pytest.importorskip("altair")
    import pyarrow as pa

    from scslab.audit import audit_table, harm_audit
    from scslab.report import charts_of

    metrics = pa.table(
        {
            "day": [0, 1, 2],
            "date": ["2020-01-01", "2020-01-02", "2020-01-03"],
            "flights_blocked": [3.0, 7.0, None],  # stopped after day 1
            "flights_blocked_innocent": [1.0, 2.0, None],
            **{
                f"{lst}_{c}": [0, 0, 0]
                for lst in ("court_list", "volunteers")
                for c in ("entries", "exits")
            },
            "court_list_size": [5, 5, 5],
            "court_list_innocents_listed": [1, 1, 1],
            "court_list_persons_ever_listed": [5, 5, 5],
            "volunteers_size": [9, 9, 9],
            "volunteers_innocents_listed": [2, 2, 2],
        }
    )
    audit = audit_table(harm_audit(metrics, frozenset({"volunteers"})))
    charts = charts_of(metrics, audit)
    blocked = charts["blocked_by_sector"].to_dict()["data"]["values"]
    assert blocked == [{"item": "flights", "value": 7.0}]
    series = {row["series"] for row in charts["innocents_listed"].to_dict()["data"]["values"]}
    assert series == {"court_list"}
    sizes = {row["series"] for row in charts["lists"].to_dict()["data"]["values"]}
    assert sizes == {"court_list", "volunteers"}  # a redlist is still a list


def test_a_run_whose_only_list_is_a_redlist_charts_no_innocents():
    pytest.importorskip("altair")
    import pyarrow as pa

    from scslab.audit import audit_table, harm_audit
    from scslab.report import charts_of

    metrics = pa.table(
        {
            "day": [0, 1],
            "date": ["2020-01-01", "2020-01-02"],
            "volunteers_size": [9, 9],
            "volunteers_innocents_listed": [2, 2],
            "volunteers_entries": [0, 0],
            "volunteers_exits": [0, 0],
        }
    )
    audit = audit_table(harm_audit(metrics, frozenset({"volunteers"})))
    assert audit.num_rows == 0  # nothing punishing to audit
    assert "innocents_listed" not in charts_of(metrics, audit)


def test_no_text_of_a_spec_can_end_the_report_s_script(run_dir, monkeypatch):
    """Only lower case "</script" was escaped: a series named "a</SCRIPT><h1>..." ended the
    script and put its markup in the page; escaping the specs alone was undone by the bundler,
    which wrote them back as "<" and "&". Mechanism names are now refused unless they make
    column names, and the page holds the specs as JSON data with no "<", ">" or "&"."""
    import altair as alt

    import scslab.report as report
    from scslab.report import inline_json

    nasty = "a</SCRIPT><h1>PWNED</h1><!--<script>&amp;"
    text = inline_json({"series": nasty})
    assert not re.search(r"[<>&]", text) and json.loads(text) == {"series": nasty}
    chart = alt.Chart(alt.Data(values=[{"x": 1}]), title=nasty).mark_point().encode(x="x:Q")
    monkeypatch.setattr(report, "charts", lambda folder: {"lists": chart})
    page = (write_report(run_dir) / "report.html").read_text()
    assert "PWNED</h1>" not in page and "<!--<script" not in page
    data = page.split('<script type="application/json" id="scslab-specs">', 1)[1]
    specs = json.loads(data.split("</script>", 1)[0])
    assert specs["lists"]["title"] == nasty  # the same text, for JSON.parse
    with pytest.raises(scslab.ScenarioError, match=r"mechanisms\.'a</SCRIPT>': a mechanism's"):
        scslab.load_scenario("rongcheng").with_mechanism("a</SCRIPT>", type="record_list")


def test_a_run_without_its_audit_file_charts_no_redlist_among_false_listings(tmp_path):
    """Without ``harm_audit.parquet`` the chart of people listed on a false record showed the
    volunteer redlist of ``state_outline_2014`` (whose members are rewarded) beside the
    blacklists; the manifest says which lists are redlists, audit or not."""
    pytest.importorskip("altair")
    from scslab.report import charts

    run = api.run("state_outline_2014", people=5_000, days=30, out=tmp_path / "run").run_dir
    assert json.loads((run / "manifest.json").read_text())["redlists"] == ["volunteer_redlist"]

    def series(folder):
        spec = charts(folder).get("innocents_listed")
        return {r["series"] for r in spec.to_dict()["data"]["values"]} if spec else set()

    punishing = series(run)
    assert punishing == {"court_list", "tax_blacklist"}
    (run / "harm_audit.parquet").unlink()
    assert series(run) == punishing
    # a folder whose manifest does not say (written before it did), nor an audit: no such chart
    manifest = json.loads((run / "manifest.json").read_text())
    del manifest["redlists"]
    (run / "manifest.json").write_text(json.dumps(manifest))
    assert series(run) == set()
    page = (write_report(run) / "report.html").read_text()
    assert '<div id="innocents_listed"' not in page and "no harm_audit.parquet" in page


def test_the_report_names_a_programme_a_backlash_ended_and_charts_the_whole_run(tmp_path):
    """The report of a run whose programme a backlash abandoned never said so, and its line
    charts' axis ended with the stopped series, so not even a gap showed."""
    out = tmp_path / "suining"
    result = api.run("suining_2010", people=10_000, out=out)
    ended = json.loads((out / "manifest.json").read_text())["ended"]
    assert ended, "suining_2010 ends by backlash under its defaults"
    page = (write_report(out) / "report.html").read_text()
    e = ended[0]
    assert f"<strong>Ended:</strong> {e['programme']} by {e['cause']} on {e['date']}" in page
    specs = json.loads(page.split('id="scslab-specs">', 1)[1].split("</script>", 1)[0])
    dates = [str(d) for d in result.metrics.column("date").to_pylist()]
    first, last = dates[0], dates[-1]
    domain = specs["mean_scores"]["encoding"]["x"]["scale"]["domain"]
    assert [(d["year"], d["month"], d["date"]) for d in domain] == [
        tuple(int(x) for x in first.split("-")),
        tuple(int(x) for x in last.split("-")),
    ]
    values = specs["mean_scores"]["data"]["values"]
    assert max(v["date"] for v in values) < last  # the series stops before the axis does


def test_a_run_that_ran_to_its_end_names_no_ending(run_dir):
    assert json.loads((run_dir / "manifest.json").read_text())["ended"] == []
    assert "Ended:" not in (write_report(run_dir) / "report.html").read_text()


def test_a_redlist_is_marked_among_the_lists():
    pytest.importorskip("altair")
    import pyarrow as pa

    from scslab.report import charts_of

    metrics = pa.table(
        {
            "day": [0, 1],
            "date": ["2020-01-01", "2020-01-02"],
            "court_list_size": [5, 6],
            "court_list_innocents_listed": [1, 1],
            "volunteers_size": [9, 9],
            "volunteers_innocents_listed": [0, 0],
        }
    )
    rows = charts_of(metrics, redlists=frozenset({"volunteers"}))["lists"].to_dict()
    assert {r["series"] for r in rows["data"]["values"]} == {"court_list", "volunteers (redlist)"}
    rows = charts_of(metrics, redlists=frozenset())["lists"].to_dict()
    assert {r["series"] for r in rows["data"]["values"]} == {"court_list", "volunteers"}
