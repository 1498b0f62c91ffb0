"""The explorer's page (a Streamlit script; ``scslab ui`` serves it).

The sidebar picks a preset, its size (people, days, seed), mechanisms to switch off and its
numeric parameters (``knobs.py``: the main ones first, every other one per mechanism). The Run tab
runs the scenario with a progress bar and shows the report's charts (``report.charts_of``) and the
harm audit; the Compare tab runs it against the same scenario with a mechanism switched off, or
against another preset, on common random numbers (``compare.compare``). Runs are kept, keyed by
the resolved scenario, so that an unchanged scenario is never run twice. Synthetic people only.
Owns the page; computes nothing that the API does not.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pyarrow as pa
import streamlit as st

from scslab.api import redlists, run
from scslab.audit import Harm, shown, summary_sections
from scslab.compare import Comparison, compare
from scslab.errors import ScenarioError
from scslab.report import charts_of
from scslab.scenario import Scenario, load_scenario, preset_names
from scslab.ui.knobs import Knob, apply, knobs


class SliderRange(NamedTuple):
    """A slider's smallest, largest and default values and its step, by name."""

    low: int
    high: int
    default: int
    step: int


# (Constants are commented, not documented by strings: Streamlit would show a bare string.)
DEFAULT_PRESET = "rongcheng"
PEOPLE = SliderRange(low=1_000, high=50_000, default=10_000, step=1_000)  # runs in seconds
KEPT = 16  # runs and comparisons kept in memory, the least recently used dropped first


@dataclass
class Store:
    """Finished runs and comparisons by key, and a lock: one simulation at a time.

    numba's thread pool is not re-entrant, and each browser session runs in its own thread.
    """

    lock: threading.Lock = field(default_factory=threading.Lock)
    items: OrderedDict[str, Any] = field(default_factory=OrderedDict)

    def get(self, key: str) -> Any:
        """The item kept under ``key`` (``None`` if none), now the most recently used."""
        if key in self.items:
            self.items.move_to_end(key)
        return self.items.get(key)

    def put(self, key: str, value: Any) -> None:
        """Keep ``value`` under ``key``, dropping the least recently used past ``KEPT``."""
        self.items[key] = value
        while len(self.items) > KEPT:
            self.items.popitem(last=False)


@st.cache_resource
def store() -> Store:
    """The one store of this server."""
    return Store()


def key_of(*scenarios: Scenario, **extra: Any) -> str:
    """A digest of the resolved scenarios (every default filled in) and ``extra``."""
    data = [sc.resolved() for sc in scenarios], extra
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _step(value: float, low: float | None, high: float | None) -> float:
    """A box's step: the value's order of magnitude, and never more than a tenth of its range."""
    if value > 0:
        step = 10.0 ** math.floor(math.log10(value))
    else:
        step = 0.01 if high is not None and high <= 1 else 1.0
    if low is not None and high is not None and high > low:
        step = min(step, 10.0 ** math.floor(math.log10((high - low) / 10)))
    return step


def _restored(key: str) -> bool:
    """Put back a widget's value that Streamlit dropped while the widget was not drawn.

    Streamlit forgets the value of a widget that a run of the page does not draw (another
    preset's knobs). Every value drawn is kept here too, under the widget's key; a widget drawn
    again gets it back before it is made. True when it did (the widget then takes no default).
    """
    kept = st.session_state.setdefault("kept_values", {})
    if key not in st.session_state and key in kept:
        st.session_state[key] = kept[key]
        return True
    return False


def _keep(key: str, value: Any, default: Any = None) -> Any:
    """Keep a widget's value for ``_restored``; an emptied box counts as its default."""
    if value is None:
        value = default
    st.session_state.setdefault("kept_values", {})[key] = value
    return value


def knob_input(knob: Knob, preset: str) -> float:
    """One number input for ``knob``, keyed by preset so that each preset keeps its values.

    The box has no bounds of its own: a value out of Streamlit's bounds stayed in the box, marked
    red, while the run took the last value in them. The scenario refuses a value out of range
    in one line (``knobs.apply``), and there is no Run button until it is fixed. A knob that the
    scenario takes at its value only (``Knob.fixed``) is drawn greyed out, its help saying why.
    """
    label = f"{knob.mechanism}: {'.'.join(knob.path)}"
    key = f"{preset}:{knob.key}"
    restored = _restored(key)
    why = f"Fixed in this scenario: {knob.fixed}" if knob.fixed else ""
    help_text = "\n\n".join(t for t in (why, knob.description) if t) or None
    if knob.kind is int:
        return _keep(
            key,
            st.number_input(
                label,
                value=None if restored else int(knob.value),
                step=1,
                key=key,
                help=help_text,
                disabled=bool(knob.fixed),
            ),
            knob.value,
        )
    return _keep(
        key,
        st.number_input(
            label,
            value=None if restored else float(knob.value),
            step=_step(float(knob.value), knob.low, knob.high),
            format="%g",
            key=key,
            help=help_text,
            disabled=bool(knob.fixed),
        ),
        knob.value,
    )


def sidebar() -> Scenario | None:
    """The scenario the sidebar describes (``None`` after showing why it is invalid)."""
    names = preset_names()
    st.sidebar.title("scslab explorer")
    st.sidebar.caption("Synthetic people only: no record describes a real person.")
    preset = st.sidebar.selectbox("Preset", names, index=names.index(DEFAULT_PRESET), key="preset")
    base = load_scenario(preset)
    st.sidebar.caption(base.meta.description)
    people = st.sidebar.slider(
        "People", PEOPLE.low, PEOPLE.high, PEOPLE.default, step=PEOPLE.step, key="people"
    )
    days_key, off_key = f"{preset}:days", f"{preset}:off"
    days = _keep(
        days_key,
        st.sidebar.slider(
            "Days",
            30,
            max(3650, base.meta.days),
            None if _restored(days_key) else base.meta.days,
            key=days_key,
            help=f"From {base.meta.start_date}; the preset runs {base.meta.days:,} days.",
        ),
    )
    seed = st.sidebar.number_input("Seed", 0, 2**31 - 1, base.meta.seed, key="seed")
    _restored(off_key)
    off = _keep(
        off_key,
        st.sidebar.multiselect(
            "Switch off",
            list(base.mechanisms),
            default=None,  # none, or what this preset had (restored)
            key=off_key,
            help="Mechanisms not to run.",
        ),
    )
    found = knobs(base)
    values: dict[str, float] = {}
    with st.sidebar:
        st.subheader("Main parameters")
        for knob in found:
            if knob.main:
                values[knob.key] = knob_input(knob, preset)
        st.subheader("Every parameter")
        for mechanism in base.mechanisms:
            mine = [k for k in found if k.mechanism == mechanism and not k.main]
            if mine:
                with st.expander(mechanism):
                    for knob in mine:
                        values[knob.key] = knob_input(knob, preset)
    try:
        sc = apply(base, values).with_overrides(people=people, days=days, seed=int(seed))
        for name in off:
            sc = sc.without_mechanism(name)
    except ScenarioError as e:
        st.error(f"{e} (the results below are of the last valid choices; fix this to run again)")
        return None
    return sc


def _audit_frame(audit: pa.Table) -> Any:
    """The audit as the summary shows it (``audit.summary_sections``); "none" for a section.

    Every zero row would read as if the run had mechanisms it does not (a black market's bought
    records).
    """
    rows = []
    for section, items in summary_sections([Harm(**r) for r in audit.to_pylist()]).items():
        for h in items:  # values as the summary and the report show them
            rows.append(
                {"section": section, "item": h.item, "value": shown(h.value), "note": h.note}
            )
        if not items:
            rows.append({"section": section, "item": "none", "value": "", "note": ""})
    return pa.Table.from_pylist(rows).to_pandas() if rows else None


def _header(summary: str) -> list[str]:
    """What a reader must know before the numbers: the run, its units and what ended early."""
    lines = summary.splitlines()
    return [lines[0], *(x.strip() for x in lines[1:] if x.startswith(("  scale:", "  ended:")))]


def run_tab(sc: Scenario | None) -> None:
    """Run the scenario (or show its kept run): charts, then the harm audit.

    ``None`` (the sidebar is invalid): no Run button, the last run shown stays.
    """
    kept = store()
    key = key_of(sc) if sc is not None else None
    if sc is not None and st.button("Run", type="primary", key="run"):
        if kept.get(key) is None:
            bar = st.progress(0.0, text="waiting for the simulation to be free")
            days = sc.meta.days

            def on_day(day: int) -> None:
                bar.progress(min(day / days, 1.0), text=f"day {day:,} of {days:,}")

            def on_compile(count: int) -> None:
                bar.progress(0.0, text=f"compiling kernels ({count}; first run only, then cached)")

            try:
                with kept.lock:
                    result = run(sc, on_day=on_day, on_compile=on_compile)
            except ScenarioError as e:
                st.error(str(e))  # the last run shown, if any, stays below
                result = None
            bar.empty()
            if result is not None:
                kept.put(
                    key,
                    {
                        "metrics": result.metrics,
                        "tables": result.tables,
                        "summary": result.summary(),
                        "redlists": redlists(result.simulation),
                        "seconds": result.manifest["timings"]["run_s"],
                    },
                )
        if kept.get(key) is not None:
            st.session_state["shown_run"] = key
    shown = st.session_state.get("shown_run")
    done = kept.get(shown) if shown else None
    if done is None:
        st.info("Pick a preset and its parameters in the sidebar, then press Run.")
        return
    if key is not None and shown != key:
        st.warning("The sidebar has changed since this run: press Run to run the new scenario.")
    header = _header(done["summary"])
    st.caption(header[0] + f" — simulated in {done['seconds']:.2f} s")
    for line in header[1:]:  # the units of every count below; a programme ended early
        st.info(line)
    tables = done["tables"]
    for name, chart in charts_of(
        done["metrics"], tables.get("harm_audit"), tables.get("groups"), done["redlists"]
    ).items():
        # fit the page's width, keep the report's heights: Streamlit's default ("fit" both)
        # would leave a short bar chart no room under its title and axis
        fit_x = {"type": "fit-x", "contains": "padding"}
        st.altair_chart(chart.properties(autosize=fit_x), key=f"chart:{name}")
    scaled = any(line.startswith("scale:") for line in header)
    st.header("Harm audit" + (" (real-population units)" if scaled else ""))
    audit = _audit_frame(tables["harm_audit"])
    if audit is None:
        st.write("Nothing to audit: the run has no list, sanction or false record.")
    else:
        st.table(audit)
    with st.expander("Summary as text"):
        st.code(done["summary"], language=None)


def compare_tab(sc: Scenario | None) -> None:
    """Compare the sidebar's scenario (A) with a variant (B) on common random numbers.

    ``None`` (the sidebar is invalid): the last comparison shown stays, with no new one.
    """
    kept = store()
    if sc is None:
        shown = st.session_state.get("shown_compare")
        if shown and kept.get(shown) is not None:
            _show_comparison(kept.get(shown))
        return
    st.write(
        "A is the scenario of the sidebar. Both run on the same seeds, so that every "
        "difference comes from the policy, not from luck."
    )
    how = st.radio(
        "B is", ["A with a mechanism switched off", "another preset"], key="b_kind", horizontal=True
    )
    drop: list[str] = []
    comparable = True
    if how == "another preset":
        other = st.selectbox("Preset B", preset_names(), key="b_preset")
        sc_b = load_scenario(other).with_overrides(
            people=sc.meta.people, days=sc.meta.days, seed=sc.meta.seed, scale=sc.meta.scale
        )
        st.caption("B runs with A's people, days, seeds and scale: both are measured alike.")
        if sc_b.meta.start_date != sc.meta.start_date:  # as scslab compare: a preset's dates are
            st.info(  # part of it (a rule that starts on a date), so it is not moved
                f"{other} starts on {sc_b.meta.start_date} and A on {sc.meta.start_date}: the "
                "explorer compares presets over the same days; for others, write scenario files "
                "with one start_date and use scslab compare"
            )
            comparable = False
    else:
        drop = [st.selectbox("Switch off in B", list(sc.mechanisms), key="b_drop")]
        sc_b = sc
    replications = st.slider("Replications (seeds)", 1, 5, 2, key="replications")
    key = key_of(sc, sc_b, drop=drop, replications=replications)
    if comparable and st.button("Compare", type="primary", key="compare"):
        if kept.get(key) is None:
            bar = st.progress(0.0, text="waiting for the simulation to be free")

            def on_run(done: int, total: int) -> None:
                bar.progress(done / total, text=f"run {done} of {total}")

            try:
                with kept.lock:
                    result = compare(
                        sc, sc_b, replications=replications, drop_b=drop, on_run=on_run
                    )
            except ScenarioError as e:
                bar.empty()
                st.error(str(e))  # the last comparison shown, if any, stays below
                result = None
            bar.empty()
            if result is not None:
                kept.put(key, result)
        if kept.get(key) is not None:
            st.session_state["shown_compare"] = key
    shown = st.session_state.get("shown_compare")
    comparison: Comparison | None = kept.get(shown) if shown else None
    if comparison is None:
        return
    if shown != key:
        st.warning("The choices have changed since this comparison: press Compare again.")
    _show_comparison(comparison)


def _show_comparison(comparison: Comparison) -> None:
    st.subheader(f"B - A: {comparison.b} minus {comparison.a}")
    if len(comparison.seeds) == 1:
        st.caption("One replication: no interval (diff_low and diff_high are empty).")
    changed = comparison.changed()
    if changed.num_rows:
        st.dataframe(changed.drop_columns(["changed"]).to_pandas(), hide_index=True)
    else:
        st.write("No metric the two share differs: the change has no effect here.")
    for arm, cols in (("A", comparison.only_in_a), ("B", comparison.only_in_b)):
        if cols:
            st.caption(f"Only {arm} has {len(cols)} metric columns: {', '.join(cols)}")


def main() -> None:
    """Draw the page."""
    st.set_page_config(page_title="scslab explorer", layout="wide")
    sc = sidebar()  # None: invalid; the tabs keep showing the last results, without running
    tab_run, tab_compare = st.tabs(["Run", "Compare"])
    with tab_run:
        run_tab(sc)
    with tab_compare:
        compare_tab(sc)


main()
