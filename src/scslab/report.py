"""The run report: one self-contained HTML file of charts, and the same charts as PNG and SVG.

``write_report(run_dir)`` reads a run folder (``manifest.json``, ``metrics.parquet``,
``harm_audit.parquet``, ``groups.parquet`` when the run had group metrics) and writes, into
``run_dir/report/``:

- ``report.html``: the run's header, every chart and the harm audit, with the Vega, Vega-Lite and
  Vega-Embed scripts inlined (from vl-convert), so that it opens with no network;
- ``CHART.png`` and ``CHART.svg`` for each chart (rendered by vl-convert, no browser needed).

The heading names each programme a backlash ended, its day and what stopped (the manifest's
``ended``); line charts span the run's dates, so a stopped series ends where it stopped.
Charts (each only when the run has its columns): people on each list (a redlist marked so, the
manifest's ``redlists``); people on each punishing list on a false record (the manifest's
``redlists`` left out; for a manifest without them, the lists the harm audit counts; with no
audit either, no such chart); false records by cause;
blocked attempts by sector; mean scores; listing share by income quintile and by area.
``charts_of(metrics, harm_audit, groups, redlists)`` builds the same charts from a run's tables,
with no folder (``RunResult.charts()`` in a notebook, ``scslab ui``). Needs
the ``report`` extra (``pip install 'scslab[report]'``).
Reads a run folder and writes only under its ``report/``; owns no simulation code.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pyarrow as pa

from scslab.audit import LISTED_ON_A_FALSE_RECORD, audit_lines, last_value, shown
from scslab.engine.checkpoint import CHECKPOINT_FILE
from scslab.errors import ScenarioError
from scslab.results import RunDirError, atomic_write, read_manifest, read_run_table

EXTRA_HINT = "scslab report needs Altair and vl-convert: pip install 'scslab[report]'"


class ReportError(ScenarioError):
    """The run folder cannot be reported on; the message is one line for the user."""


def _libraries() -> tuple[Any, Any]:
    try:
        import altair as alt
        import vl_convert as vlc
    except ImportError:
        raise ReportError(EXTRA_HINT) from None
    return alt, vlc


def _long(metrics: pa.Table, columns: list[str], strip: str, name: str) -> list[dict[str, Any]]:
    """Rows (date, series, value) of ``columns``, the series named without ``strip``."""
    dates = [str(d) for d in metrics.column("date").to_pylist()]
    rows = []
    for col in columns:
        series = col.replace(strip, "") if strip else col
        for date, value in zip(dates, metrics.column(col).to_pylist(), strict=True):
            if value is not None and value == value:
                rows.append({"date": date, name: series, "value": value})
    return rows


_META_KEYS = ("name", "people", "days", "start_date", "seed", "scale")
"""What the report's heading reads of the manifest's ``scenario.scenario`` table."""


def _scenario_meta(run_dir: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest's ``scenario.scenario`` table, checked to hold what the heading reads.

    Raises:
        ReportError: a manifest without it (hand-edited, or of another program): one line.
    """
    scenario = manifest.get("scenario")
    meta = scenario.get("scenario") if isinstance(scenario, dict) else None
    missing = [k for k in _META_KEYS if not isinstance(meta, dict) or k not in meta]
    if missing:
        raise ReportError(
            f"{run_dir / 'manifest.json'}: not a run's manifest (no scenario.scenario.{missing[0]})"
        )
    assert isinstance(meta, dict)
    return meta


def inline_json(value: Any) -> str:
    """``value`` as JSON that can stand inside an HTML ``<script>``: no ``<``, ``>`` or ``&``.

    A spec's text (a series named after a scenario's mechanism, a source's item) could
    otherwise end the script (``</SCRIPT>``, in any case) or open a comment that swallows its
    end; escaped as JSON unicode escapes it is the same string to ``JSON.parse``.
    """
    text = json.dumps(value)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _altair() -> Any:
    try:
        import altair as alt
    except ImportError:
        raise ReportError(EXTRA_HINT) from None
    return alt


def read_tables(run_dir: Path) -> tuple[pa.Table, pa.Table | None, pa.Table | None]:
    """A run folder's metrics, harm audit and group tables (``None`` where the run has none)."""

    def table(name: str) -> pa.Table | None:
        return read_run_table(run_dir, name) if (run_dir / f"{name}.parquet").exists() else None

    return read_run_table(run_dir, "metrics"), table("harm_audit"), table("groups")


def charts(run_dir: Path) -> dict[str, Any]:
    """The report's Altair charts by file name, built from the run folder's tables.

    The run's redlists are its manifest's (``redlists``; a folder written before the manifest
    had them: none known).
    """
    known = read_manifest(run_dir).get("redlists")
    return charts_of(*read_tables(run_dir), frozenset(known) if known is not None else None)


def charts_of(
    metrics: pa.Table,
    harm_audit: pa.Table | None = None,
    groups: pa.Table | None = None,
    redlists: frozenset[str] | None = None,
) -> dict[str, Any]:
    """The report's Altair charts by file name, built from a run's tables.

    Args:
        metrics: The daily metrics (``metrics.parquet``, ``RunResult.metrics``).
        harm_audit: The harm audit table (``harm_audit.parquet``); no cause chart without it.
        groups: The group metrics (``groups.parquet``); no group chart without it.
        redlists: The run's lists that reward their members (``api.redlists``, the manifest's
            ``redlists``), left out of the chart of people listed on a false record. Unknown
            (``None``): the lists the harm audit counts as punishing; with no audit either, no
            such chart, rather than one that may show a redlist among them.

    Raises:
        ReportError: Altair is not installed (the message names the extra).
    """
    alt = _altair()
    cols = metrics.column_names
    audit = harm_audit.to_pylist() if harm_audit is not None else []
    out: dict[str, Any] = {}
    width, height = 560, 220
    # every line chart spans the run's dates: a series a backlash stopped ends where it stopped
    dates = [str(d) for d in metrics.column("date").to_pylist()] if "date" in cols else []
    span = alt.Undefined
    if dates:
        span = alt.Scale(domain=[_utc_day(alt, dates[0]), _utc_day(alt, dates[-1])])

    def lines(
        name: str, columns: list[str], strip: str, title: str, what: str, tags: dict | None = None
    ) -> None:
        rows = _long(metrics, columns, strip, "series")
        for row in rows if tags else []:
            row["series"] += tags.get(row["series"], "")
        if rows:
            out[name] = (
                alt.Chart(alt.Data(values=rows), title=title)
                .mark_line()
                .encode(
                    x=alt.X("date:T", title=None, scale=span),
                    y=alt.Y("value:Q", title=what),
                    color=alt.Color("series:N", title=None),
                )
                .properties(width=width, height=height)
            )

    def bars(name: str, rows: list[dict[str, Any]], title: str, what: str) -> None:
        rows = [r for r in rows if r["value"] and r["value"] == r["value"]]  # no zero, no NaN
        if rows:
            out[name] = (
                alt.Chart(alt.Data(values=rows), title=title)
                .mark_bar()
                .encode(
                    y=alt.Y("item:N", sort="-x", title=None),
                    x=alt.X("value:Q", title=what),
                )
                .properties(width=width, height=max(40, 18 * len(rows)))
            )

    lists = [c[: -len("_innocents_listed")] for c in cols if c.endswith("_innocents_listed")]
    lines(
        "lists",
        [f"{lst}_size" for lst in lists],
        "_size",
        "People on each list",
        "people",
        {lst: " (redlist)" for lst in redlists or ()},
    )
    if redlists is not None:  # the punishing lists
        lists = [lst for lst in lists if lst not in redlists]
    elif harm_audit is not None:  # the lists the audit counts as punishing (not a redlist)
        audited = {r["item"] for r in audit if r["section"] == "innocents punished"}
        lists = [lst for lst in lists if f"{lst}{LISTED_ON_A_FALSE_RECORD}" in audited]
    else:  # which lists punish is not known: no chart
        lists = []
    lines(
        "innocents_listed",
        [f"{lst}_innocents_listed" for lst in lists],
        "_innocents_listed",
        "People on each list on a false record",
        "people",
    )
    bars(
        "false_records_by_cause",
        [
            {"item": r["item"], "value": r["value"]}
            for r in audit
            if r["section"] == "false records by cause"
        ],
        "False records by cause (whole run)",
        "false records",
    )
    blocked = [c for c in cols if c.endswith("_blocked")]
    bars(
        "blocked_by_sector",
        [
            {
                "item": c[: -len("_blocked")].replace("_", " "),
                "value": last_value(metrics, c),  # a sanction a backlash stopped: its last day
            }
            for c in blocked
        ],
        "Blocked attempts by sector (whole run)",
        "blocked attempts",
    )
    means = [c for c in cols if c.endswith("_mean") and not c.startswith("acts")]
    lines("mean_scores", means, "_mean", "Mean score of each scoring system", "mean score")
    if groups is not None:
        group_rows = groups.to_pylist()
        last = max((g["day"] for g in group_rows), default=None)
        rows = [
            {
                "group": f"{g['group_kind']}: {g['group']}",
                "list": g["system"],
                "share": g["listed"] / g["people"],
            }
            for g in group_rows
            if g["day"] == last
            and g["family"] == "lists"
            and g["listed"] is not None  # null: a list not running that day
            and g["group_kind"] in ("income", "area")
            and g["people"]
        ]
        if any(r["share"] for r in rows):
            out["listing_share_by_group"] = (
                alt.Chart(
                    alt.Data(values=rows), title="Share of each group on each list (last day)"
                )
                .mark_bar()
                .encode(
                    y=alt.Y("group:N", title=None),
                    x=alt.X(
                        "share:Q", title="share listed", axis=alt.Axis(format="%", tickCount=6)
                    ),
                    color=alt.Color("list:N", title=None),
                    yOffset="list:N",
                )
                .properties(width=width)
            )
    return out


def _utc_day(alt: Any, date: str) -> Any:
    """An ISO date as Vega-Lite's date-time at UTC midnight, as it reads the data's dates."""
    year, month, day = (int(part) for part in date[:10].split("-"))
    return alt.DateTime(year=year, month=month, date=day, utc=True)


def _ended_html(manifest: dict[str, Any]) -> str:
    """A paragraph naming each programme a backlash ended, and what stopped; none if none did."""
    ended = manifest.get("ended") or []
    items = [
        f"{html.escape(str(e['programme']))} by {html.escape(str(e['cause']))} on "
        f"{html.escape(str(e['date']))} (day {int(e['day'])}); stopped from the next day: "
        f"{html.escape(', '.join(e['mechanisms']))}"
        for e in ended
    ]
    if not items:
        return ""
    return (
        "<p><strong>Ended:</strong> "
        + "; ".join(items)
        + ". Their charts stop on that day, and the audit counts them to it.</p>"
    )


def _atomic(path: Path, data: bytes) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


def _audit_html(audit: list[dict[str, Any]] | None) -> str:
    if audit is None:
        return "<p>The run folder has no harm_audit.parquet: no audit to show.</p>"
    if not audit:
        return f"<p>{html.escape(audit_lines([])[0].capitalize())}.</p>"
    rows = []
    section = None
    for r in audit:
        if r["section"] != section:
            section = r["section"]
            rows.append(f'<tr><th colspan="3">{html.escape(section)}</th></tr>')
        value = r["value"]
        rows.append(
            f"<tr><td>{html.escape(r['item'])}</td><td class='n'>{shown(value)}</td>"
            f"<td>{html.escape(r['note'] or '')}</td></tr>"
        )
    return "<table class='audit'>" + "".join(rows) + "</table>"


def write_report(run_dir: str | Path) -> Path:
    """Write ``report/report.html`` and each chart's PNG and SVG; returns the report folder.

    Raises:
        ReportError: The extra is missing, or ``run_dir`` is not a complete run folder.
    """
    _, vlc = _libraries()
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        what = "a file, not a run folder" if run_dir.exists() else "no such run folder"
        raise ReportError(f"{run_dir}: {what}")
    try:
        manifest = read_manifest(run_dir)
        if manifest["status"] != "complete":
            raise ReportError(
                f"{run_dir}: the run is {manifest['status']}; report a complete run"
                + (" (scslab resume it first)" if (run_dir / CHECKPOINT_FILE).exists() else "")
            )
        built = charts(run_dir)
    except RunDirError as e:
        raise ReportError(str(e)) from None
    meta = _scenario_meta(run_dir, manifest)
    folder = run_dir / "report"
    if folder.exists() and not folder.is_dir():
        raise ReportError(f"{folder}: is a file; the report goes in a folder of that name")
    folder.mkdir(exist_ok=True)
    for name, chart in built.items():
        spec = chart.to_dict()
        _atomic(folder / f"{name}.svg", vlc.vegalite_to_svg(spec).encode())
        _atomic(folder / f"{name}.png", vlc.vegalite_to_png(spec, scale=2))
    audit_path = run_dir / "harm_audit.parquet"
    audit = read_run_table(run_dir, "harm_audit").to_pylist() if audit_path.exists() else None
    divs = "\n".join(f'<div id="{name}" class="chart"></div>' for name in built)
    # the specs as data, apart from the code: the bundler would write their escapes back as
    # "<" and "&" (a spec's "<!--<script" would then reach the page)
    specs = inline_json({name: chart.to_dict() for name, chart in built.items()})
    # the Vega libraries and this snippet, bundled into one script: no network needed
    bundle = vlc.javascript_bundle(
        'const specs = JSON.parse(document.getElementById("scslab-specs").textContent);\n'
        "for (const [name, spec] of Object.entries(specs)) {\n"
        '  vegaEmbed("#" + name, spec, {actions: false});\n'
        "}\n"
    )
    bundle = re.sub(r"</(script)", r"<\\/\1", bundle, flags=re.IGNORECASE)  # nor the library's
    title = f"scslab report: {meta['name']}"
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; max-width: 60rem; margin: 2rem auto; color: #222; }}
table.audit {{ border-collapse: collapse; }} table.audit td, table.audit th {{ padding: 2px 8px; }}
table.audit th {{ text-align: left; background: #eee; }} td.n {{ text-align: right; }}
.chart {{ margin: 1.5rem 0; }}
</style>
<script type="application/json" id="scslab-specs">{specs}</script>
<script type="module">
{bundle}
</script></head>
<body>
<h1>{html.escape(title)}</h1>
<p>{html.escape(meta.get("description", ""))}</p>
<p>{meta["people"]:,} synthetic people &times; {meta["days"]:,} days from {meta["start_date"]},
seed {meta["seed"]}; scale {meta["scale"]:,} (counts in real-population units).
Synthetic people only: no record describes a real person.</p>
{_ended_html(manifest)}
{divs}
<h2>Harm audit</h2>
{_audit_html(audit)}
</body></html>
"""
    _atomic(folder / "report.html", page.encode())
    return folder
