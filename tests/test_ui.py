"""The explorer without a browser: its knobs, its command, and its page under Streamlit's AppTest.

The browser test (``test_ui_browser.py``) drives the served page in Chromium; here the page's
script runs in-process (``streamlit.testing``), which checks its widgets and results quickly.
"""

from __future__ import annotations

import sys

import pytest

import scslab
from scslab.cli import main
from scslab.errors import ScenarioError
from scslab.ui.knobs import MAIN, apply, knobs


@pytest.mark.parametrize("preset", scslab.preset_names())
def test_every_preset_has_main_knobs_that_round_trip(preset):
    sc = scslab.load_scenario(preset)
    found = knobs(sc)
    assert any(k.main for k in found), preset
    assert len({k.key for k in found}) == len(found)
    for k in found:
        assert k.kind in (int, float) and k.path[-1] and k.mechanism in sc.mechanisms
        assert k.low is None or k.low <= k.value
        assert k.high is None or k.value <= k.high
    # setting every knob to its own value changes nothing
    assert apply(sc, {k.key: k.value for k in found}) == sc


def test_apply_sets_nested_values_and_validates():
    sc = scslab.load_scenario("rongcheng")
    keys = {k.key: k for k in knobs(sc)}
    assert {"informants.report_prob", "data_sources.sources.bank.false_rate"} <= set(keys)
    assert keys["informants.report_prob"].main and "report_prob" in MAIN
    assert keys["informants.report_prob"].high == 1
    new = apply(sc, {"informants.report_prob": 0.05, "data_sources.sources.bank.false_rate": 0.01})
    assert new.mechanisms["informants"].report_prob == 0.05
    assert new.mechanisms["data_sources"].sources["bank"].false_rate == 0.01
    assert (
        new.mechanisms["data_sources"].sources["court"]
        == sc.mechanisms["data_sources"].sources["court"]
    )
    assert new.mechanisms["court_list"] == sc.mechanisms["court_list"]  # untouched (a copy: a
    # scenario owns its mechanisms, so that changing one never changes another's)
    with pytest.raises(ScenarioError, match=r"mechanisms\.informants\.report_prob"):
        apply(sc, {"informants.report_prob": 1.5})
    with pytest.raises(KeyError):
        apply(sc, {"informants.no_such_knob": 1})


def test_ui_without_streamlit_names_the_extra(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "streamlit", None)  # the extra is not installed
    monkeypatch.setitem(sys.modules, "streamlit.web", None)
    monkeypatch.setitem(sys.modules, "streamlit.web.cli", None)
    assert main(["ui"]) == 2
    err = capsys.readouterr().err
    assert err == "scslab: error: scslab ui needs Streamlit: pip install 'scslab[ui]'\n"


def test_ui_refuses_a_bad_port(capsys):
    assert main(["ui", "--port", "70000"]) == 2
    assert "--port" in capsys.readouterr().err


@pytest.fixture
def no_streamlit_server(monkeypatch):
    """Streamlit is there, but serving fails the test: the refusals come before it."""
    cli = pytest.importorskip("streamlit.web.cli", reason="needs the 'ui' extra")
    monkeypatch.setattr(cli, "main", lambda *a, **k: pytest.fail("Streamlit was started"))


@pytest.mark.parametrize("host", ["999.1.1.1", "no-such-host.invalid", "8.8.8.8"])
def test_ui_refuses_a_host_it_cannot_listen_on(no_streamlit_server, capsys, host):
    assert main(["ui", "--host", host, "--port", "8599"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("scslab: error: --host: ") and err.count("\n") == 1, err
    assert host in err and "such as 127.0.0.1" in err, err


@pytest.mark.parametrize("host", ["", "  "])
def test_ui_refuses_an_empty_host_rather_than_serve_every_network(
    no_streamlit_server, capsys, host
):
    """``--host ""`` served on 0.0.0.0: a script with an unset variable opened the page to all."""
    assert main(["ui", "--host", host, "--port", "8599"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"scslab: error: --host: {host!r} is empty; give an address of this machine, such as "
        "127.0.0.1 (this machine only) or 0.0.0.0 (every network)\n"
    )


def test_ui_refuses_a_port_in_use(no_streamlit_server, capsys):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["ui", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err == f"scslab: error: --port: {port} is in use on 127.0.0.1; choose another --port\n"


def test_ui_serves_localhost_by_default():
    from scslab.ui import APP, streamlit_args

    args = streamlit_args()
    assert args[:2] == ["run", str(APP)] and APP.exists()
    assert args[args.index("--server.address") + 1] == "127.0.0.1"
    assert args[args.index("--browser.gatherUsageStats") + 1] == "false"


SMALL = {"people": 20_000, "days": 120}  # as in compare_informants.py: its kernels are compiled


@pytest.fixture(scope="module")
def page():
    testing = pytest.importorskip("streamlit.testing.v1", reason="needs the 'ui' extra")
    from scslab.ui import APP

    at = testing.AppTest.from_file(str(APP), default_timeout=600)
    return at.run()


def test_page_runs_a_scenario_and_shows_charts_and_the_audit(page):
    assert not page.exception
    assert page.sidebar.selectbox(key="preset").value == "rongcheng"
    assert any(n.label == "informants: report_prob" for n in page.sidebar.number_input)
    page.sidebar.slider(key="people").set_value(SMALL["people"])
    page.sidebar.slider(key="rongcheng:days").set_value(SMALL["days"])
    page.button(key="run").click().run()
    assert not page.exception and not page.error
    # the element's name changed across Streamlit releases
    charts = page.get("vega_lite_chart") or page.get("arrow_vega_lite_chart")
    assert len(charts) >= 3
    audit = page.table[0].value
    assert {"innocents punished", "false records by cause"} <= set(audit["section"])
    shown = dict(zip(audit["item"], audit["value"], strict=True))
    assert "bought record (black_market)" not in shown  # no black market here: no zero row
    assert all(v not in ("0", "n/a") for item, v in shown.items() if "share listed" not in item)
    assert any("20,000 synthetic people, 120 days" in c.value for c in page.caption)


def test_page_compares_with_a_mechanism_switched_off(page):
    page.selectbox(key="b_drop").set_value("informants")
    page.slider(key="replications").set_value(1)
    page.button(key="compare").click().run()
    assert not page.exception and not page.error
    table = page.dataframe[0].value
    assert "records_by_informant" in set(table["metric"])
    assert any("informant_reports" in c.value for c in page.caption)


def test_page_shows_a_scenario_that_cannot_run_as_one_line(page):
    # travel bans read the court list: without it the scenario is refused, in one line
    page.sidebar.multiselect(key="rongcheng:off").set_value(["court_list"])
    page.button(key="run").click().run()
    assert not page.exception
    assert page.error and "court_list" in page.error[0].value


def test_a_number_that_may_also_be_a_word_is_a_knob_with_its_bounds():
    from scslab.ui.knobs import knobs

    (gallery,) = [
        k for k in knobs(scslab.load_scenario("dragon_eye")) if k.path == ("gallery_size",)
    ]
    assert (gallery.kind, gallery.value, gallery.low, gallery.high) == (
        int,
        1_800_000_000,
        1,
        10**11,
    )


def test_knobs_offer_only_what_the_model_takes_and_every_number():
    keys = {k.key: k for k in knobs(scslab.load_scenario("facebook_credit_2016"))}
    persuasion = keys["backlash.persuasion"]  # lt=1: the box stops below 1
    assert persuasion.high is not None and persuasion.high < 1
    approval = next(k for key, k in keys.items() if key.endswith("approval_at_start"))
    assert approval.low > 0 and approval.high < 1  # gt=0, lt=1
    sesame = {k.key for k in knobs(scslab.load_scenario("sesame_credit"))}
    assert "sesame_credit.credit_history_weight" in sesame  # a float field whose default is 35
    integrated = {k.key for k in knobs(scslab.load_scenario("integrated_2020"))}
    # the preset redefines the camera in extra_sources, which replaces sources.camera
    assert "data_sources.extra_sources.camera.false_rate" in integrated
    assert not [k for k in integrated if k.startswith("data_sources.sources.camera.")]


def test_a_knob_the_scenario_takes_at_its_value_only_says_why():
    """Three knobs offered a box whose every other value the scenario refused: a source's false
    rate without a false act, a reward's chance on a score sector, a watchlist share in mode
    'act'. Each now says why; a knob with a rule on one side only (enter_below, below exit_at)
    and the same fields where the scenario takes them stay free."""
    integrated = {k.key: k for k in knobs(scslab.load_scenario("integrated_2020"))}
    why = {
        "data_sources.extra_sources.ecommerce.false_rate": "needs false_act",
        "rewards.sectors.cheaper_loans.chance": "chance is for list sectors",
        "face_recognition.watchlist_share": "only in mode 'watchlist'",
    }
    for key, reason in why.items():
        assert reason in integrated[key].fixed, (key, integrated[key].fixed)
    assert "\n" not in integrated["face_recognition.watchlist_share"].fixed  # one line
    free = [
        "data_sources.extra_sources.camera.false_rate",  # has a false act
        "face_recognition.false_match_rate",
        "tax_blacklist.appeal_share",
    ]
    assert not [key for key in free if integrated[key].fixed]
    reference = {k.key: k for k in knobs(scslab.load_scenario("reference"))}
    assert not reference["threshold_list.enter_below"].fixed  # only its upward side is refused
    outline = {k.key: k for k in knobs(scslab.load_scenario("state_outline_2014"))}
    list_sector = outline["redlist_rewards.sectors.redlist_loans.chance"]
    assert not list_sector.fixed  # a list sector's chance is a knob
    fixed = {k.key for k in integrated.values() if k.fixed}
    assert len(fixed) < len(integrated) / 10, sorted(fixed)


@pytest.fixture
def fresh_page():
    testing = pytest.importorskip("streamlit.testing.v1", reason="needs the 'ui' extra")
    from scslab.ui import APP

    at = testing.AppTest.from_file(str(APP), default_timeout=600)
    at.run()
    at.sidebar.slider(key="people").set_value(1_000)
    return at


def test_a_preset_keeps_its_values_when_another_is_picked_between(fresh_page):
    page = fresh_page
    box = next(n for n in page.sidebar.number_input if n.label == "informants: report_prob")
    box.set_value(0.02)
    page.sidebar.slider(key="rongcheng:days").set_value(100)
    page.run()
    page.sidebar.selectbox(key="preset").set_value("suining_2010").run()
    page.sidebar.selectbox(key="preset").set_value("rongcheng").run()
    assert not page.exception
    box = next(n for n in page.sidebar.number_input if n.label == "informants: report_prob")
    assert box.value == 0.02 and page.sidebar.slider(key="rongcheng:days").value == 100


def test_an_invalid_sidebar_keeps_the_last_results_and_says_so(fresh_page):
    page = fresh_page
    page.sidebar.selectbox(key="preset").set_value("reference").run()
    page.sidebar.slider(key="reference:days").set_value(30)
    page.button(key="run").click().run()
    assert page.table and not page.error
    entry = next(n for n in page.sidebar.number_input if n.label.endswith(": enter_below"))
    entry.set_value(990).run()  # above exit_at 950: the model refuses the pair
    assert not page.exception
    assert "exit_at must be at least enter_below" in page.error[0].value
    assert "last valid choices" in page.error[0].value
    assert page.table  # the last run's audit is still on the page
    assert not [b for b in page.button if b.key == "run"]  # nothing to run until it is fixed


def test_a_fixed_knob_is_greyed_out_and_says_why(fresh_page):
    page = fresh_page
    page.sidebar.selectbox(key="preset").set_value("reference").run()
    boxes = {n.label: n for n in page.sidebar.number_input}
    fixed = boxes["data_sources: sources.camera.false_rate"]  # the camera has no false act
    assert fixed.disabled and "needs false_act" in fixed.help
    assert not boxes["threshold_list: enter_below"].disabled


def test_a_value_out_of_range_is_refused_in_one_line_not_run_as_the_last_one(fresh_page):
    """A report_prob of 5 stayed in its box, marked red, while Run took the last value in range."""
    page = fresh_page
    page.sidebar.selectbox(key="preset").set_value("rongcheng").run()
    box = next(n for n in page.sidebar.number_input if n.label == "informants: report_prob")
    box.set_value(5.0).run()
    assert not page.exception
    assert "report_prob" in page.error[0].value and "less than or equal to" in page.error[0].value
    assert not [b for b in page.button if b.key == "run"]  # nothing to run until it is fixed
    box = next(n for n in page.sidebar.number_input if n.label == "informants: report_prob")
    box.set_value(0.01).run()
    assert not page.error and [b for b in page.button if b.key == "run"]


def test_the_page_marks_a_redlist_among_the_lists_as_the_report_does(fresh_page):
    page = fresh_page
    page.sidebar.selectbox(key="preset").set_value("state_outline_2014").run()
    page.sidebar.slider(key="state_outline_2014:days").set_value(60)
    page.button(key="run").click().run()
    assert not page.exception
    charts = [str(c.proto) for c in page.get("vega_lite_chart")]  # spec and data, as sent
    lists = next(c for c in charts if "People on each list" in c)
    assert "volunteer_redlist (redlist)" in lists and "tax_blacklist" in lists


def test_a_scaled_run_says_its_units_and_an_ended_programme_says_so(fresh_page):
    page = fresh_page
    page.sidebar.selectbox(key="preset").set_value("suining_2010").run()
    page.sidebar.slider(key="people").set_value(20_000)
    page.button(key="run").click().run()
    assert not page.exception and not page.error
    assert any(i.value.startswith("ended: suining by backlash") for i in page.info)
    page.sidebar.selectbox(key="preset").set_value("joint_punishment_2016").run()
    page.sidebar.slider(key="people").set_value(1_000)
    page.sidebar.slider(key="joint_punishment_2016:days").set_value(60)
    page.button(key="run").click().run()
    assert any(i.value.startswith("scale: each simulated person stands for") for i in page.info)
    assert any(h.value == "Harm audit (real-population units)" for h in page.header)


def test_a_refused_comparison_keeps_the_last_one_on_the_page(fresh_page):
    page = fresh_page
    page.sidebar.slider(key="rongcheng:days").set_value(30)
    page.selectbox(key="b_drop").set_value("informants")
    page.slider(key="replications").set_value(1)
    page.button(key="compare").click().run()
    shown = [h.value for h in page.subheader if h.value.startswith("B - A")]
    assert shown and not page.error
    page.selectbox(key="b_drop").set_value("court_list")  # travel bans need it: refused
    page.button(key="compare").click().run()
    assert not page.exception and "court_list" in page.error[0].value
    assert [h.value for h in page.subheader if h.value.startswith("B - A")] == shown  # kept
    assert any("One replication: no interval" in c.value for c in page.caption)


def test_a_sector_redefined_in_extra_sectors_has_one_knob():
    sc = scslab.load_scenario("joint_punishment_2016").with_mechanism(
        "joint_punishment", extra_sectors={"hotels": {"attempt_rate": 0.01, "enforcement": 0.5}}
    )
    keys = {k.key for k in knobs(sc)}
    assert "joint_punishment.extra_sectors.hotels.enforcement" in keys
    assert "joint_punishment.sectors.hotels.enforcement" not in keys  # it does nothing now
    assert "joint_punishment.sectors.loans.enforcement" in keys


def test_a_refused_run_keeps_the_last_one_and_another_start_date_is_not_compared(fresh_page):
    page = fresh_page
    page.sidebar.slider(key="rongcheng:days").set_value(30)
    page.button(key="run").click().run()
    assert page.table and not page.error
    page.sidebar.multiselect(key="rongcheng:off").set_value(["court_list"])
    page.button(key="run").click().run()  # travel bans need the court list: refused
    assert not page.exception and "court_list" in page.error[0].value
    assert page.table  # the last run's audit stays
    page.radio(key="b_kind").set_value("another preset").run()
    page.selectbox(key="b_preset").set_value("financial_only").run()
    assert any("starts on 2014-01-01 and A on 2013-10-01" in i.value for i in page.info)
    assert not [b for b in page.button if b.key == "compare"]
