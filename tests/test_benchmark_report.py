"""The benchmark report says which machine measured a row, and how long the China rows take.

``benchmarks/RESULTS.md`` keeps rows measured in different runs; a partial re-measure on another
machine must say so, or its rows read as comparable with the full run's.
"""

from __future__ import annotations

from benchmarks.__main__ import (
    CHINA,
    _china_minutes,
    _china_verdict,
    _first_run_verdict,
    _other_machine,
    section_sources,
)

INTEL = {"cpu": "Intel(R) Xeon(R) Processor", "cores": 2, "memory_gib": 23.5, "commit": "a"}


def test_a_re_measure_names_its_machine_only_where_it_differs() -> None:
    assert _other_machine(INTEL, {**INTEL, "commit": "b"}) == ""
    assert _other_machine(None, INTEL) == ""  # no full run to differ from
    amd = {**INTEL, "cpu": "AMD EPYC"}
    assert _other_machine(INTEL, amd) == " on AMD EPYC, 2 cores, 23.5 GiB"
    assert _other_machine(INTEL, {**INTEL, "cores": 4}) == (
        " on Intel(R) Xeon(R) Processor, 4 cores, 23.5 GiB"
    )


def test_the_china_minutes_are_the_measured_rows() -> None:
    assert _china_minutes({}) == ""
    small = {"integrated": [{"people": 1_000_000, "wall_s": 9_000.0}]}
    assert _china_minutes(small) == ""  # only 1.41 billion rows count
    results = {
        "scaling": [{"people": CHINA, "init_s": 2.0, "run_s": 238.0}],  # no wall time: the two
        "presets": [{"people": CHINA, "wall_s": 210.0}],
        "integrated": [{"people": CHINA, "wall_s": 2_600.0}, {"people": 10, "wall_s": 1e6}],
    }
    assert _china_minutes(results) == " in about 51 more minutes"


def test_each_section_names_where_its_rows_were_last_measured() -> None:
    """RESULTS.md keeps rows of many runs: each section (and its China rows, which a re-measure
    without ``--china`` keeps) names the date, commit, machine and command that measured it."""
    full = {**INTEL, "date": "2026-12-01", "commit": "aaa"}
    results = {
        "machine": full,
        "argv": ["--china"],
        "agreement": {},
        "integrated": [],
        "compile": [],
        "remeasured": [
            "integrated on 2026-12-03 at commit bbb on AMD EPYC, 2 cores, 23.5 GiB (python -m "
            "benchmarks --sections integrated --china; sizes not measured again keep their rows)",
            "integrated,compile on 2026-12-04 at commit ccc (with uncommitted changes) (python -m "
            "benchmarks --sections integrated,compile; sizes not measured again keep their rows)",
        ],
    }
    intel = "Intel(R) Xeon(R) Processor, 2 cores, 23.5 GiB"
    amd = "AMD EPYC, 2 cores, 23.5 GiB"
    newest = ("2026-12-04", "ccc (uncommitted changes)", intel)
    assert section_sources(results) == [
        ("agreement", "2026-12-01", "aaa", intel, "python -m benchmarks --china"),
        ("integrated", *newest, "python -m benchmarks --sections integrated,compile"),
        (
            "integrated, 1.41 billion",
            "2026-12-03",
            "bbb",
            amd,
            "python -m benchmarks --sections integrated --china",
        ),
        ("compile", *newest, "python -m benchmarks --sections integrated,compile"),
    ]
    # a later --quick measure replaced the small sizes only: a row of its own
    results["remeasured"].append(
        "compile on 2026-12-05 at commit ddd (python -m benchmarks --sections compile --quick; "
        "sizes not measured again keep their rows)"
    )
    rows = section_sources(results)
    assert rows[-2][:3] == ("compile", "2026-12-04", "ccc (uncommitted changes)")
    assert rows[-1][:3] == ("compile, --quick sizes", "2026-12-05", "ddd")
    del results["remeasured"][1:]  # the China re-measure is now the last: one row
    assert [row[0] for row in section_sources(results)] == ["agreement", "integrated", "compile"]


def test_compile_cost_counts_a_stage_inside_another_once() -> None:
    """numba's ``add_ir_module`` runs ``_optimize_functions``: its seconds count to that stage."""
    import time

    from benchmarks.compile_cost import LlvmShare

    share = LlvmShare()
    passes = share._timed("_optimize_functions", lambda library: time.sleep(0.2))

    def add_ir_module(library: object) -> None:
        time.sleep(0.01)
        passes(library)

    share._timed("add_ir_module", add_ir_module)(None)
    assert share.seconds["_optimize_functions"] >= 0.2
    assert 0.01 <= share.seconds["add_ir_module"] < 0.2  # counted with the passes: 0.21 or more


def test_the_targets_are_judged_from_the_measured_rows_both_ways() -> None:
    row = {"people": CHINA, "wall_s": 2_528.0, "peak_rss_bytes": 17.93 * 2**30}
    line = _china_verdict([{"people": 10, "wall_s": 1.0}, {**row, "bytes_per_person": 12.0}])[-1]
    assert line == (
        "All of China: 42.1 min of wall time (target 15: **not met**), peak 17.93 GiB (target 20: "
        "met), 12.0 stored bytes a person (target 12: met)."
    )
    fast = _china_verdict([{**row, "wall_s": 900.0, "bytes_per_person": 12.5}])[-1]
    assert "(target 15: met)" in fast and "(target 12: **not met**)" in fast
    assert "not measured" in _china_verdict([{"people": 10}])[-1]
    assert _first_run_verdict([{"preset": "rongcheng", "compile_s": 24.8}])[-1].endswith(
        "24.8 s of compiling (target 20: **not met**)."
    )
    assert (
        "(target 20: met)" in _first_run_verdict([{"preset": "rongcheng", "compile_s": 19.9}])[-1]
    )
    assert _first_run_verdict([{"preset": "integrated_2020", "compile_s": 1.0}]) == []


def test_the_whole_system_has_its_own_table_and_china_row() -> None:
    """Issue 13's target is judged on ``integrated_2020+all``, not on the preset alone: its rows
    get a table and a verdict of their own, and its China row is named where it comes from."""
    from benchmarks.__main__ import _whole_lines

    assert _whole_lines({"integrated": [{"people": CHINA}]}) == []  # never measured: no table
    row = {"people": CHINA, "days": 365, "wall_s": 3_000.0, "init_s": 60.0, "run_s": 2_900.0}
    row |= {"peak_rss_bytes": 19.0 * 2**30, "bytes_per_person": 12.0, "engine": "compiled"}
    lines = _whole_lines({"whole": [row]})
    assert "| 1,410,000,000 | 365 | 3000.0 | 60.0 | 2900.0 | 5.63 | 12.0 | 19.00 | compiled |" in (
        lines
    )
    assert lines[-1].startswith("All of China: 50.0 min of wall time (target 15: **not met**)")
    assert _china_minutes({"whole": [row]}) == " in about 50 more minutes"
    full = {**INTEL, "date": "2026-12-01", "commit": "aaa"}
    results = {
        "machine": full,
        "argv": [],
        "whole": [row],
        "remeasured": [
            "whole on 2026-12-07 at commit eee (python -m benchmarks --sections whole --china; "
            "sizes not measured again keep their rows)",
            "whole on 2026-12-08 at commit fff (python -m benchmarks --sections whole; sizes not "
            "measured again keep their rows)",
        ],
    }
    assert [row[:3] for row in section_sources(results)] == [
        ("whole", "2026-12-08", "fff"),
        ("whole, 1.41 billion", "2026-12-07", "eee"),
    ]


def test_the_whole_system_is_the_preset_with_every_adversary_and_response() -> None:
    """What the ``whole`` rows measure: every mechanism of the adversary and response families,
    deterrence and self-censorship, on top of ``integrated_2020`` unchanged, with its leak inside
    the run and the bought and traded records read by Sesame."""
    import datetime as dt
    import pkgutil

    from benchmarks.whole_system import whole_system

    import scslab
    import scslab.mechanisms.adversary as adversary
    import scslab.mechanisms.response as response
    from scslab.engine.mechanism import REGISTRY

    preset = scslab.load_scenario("integrated_2020")
    sc = whole_system(3_000, 5)
    families = {
        f"{p.__name__}.{m.name}"
        for p in (adversary, response)
        for m in pkgutil.iter_modules(p.__path__)
    }
    wanted = {name for name, cls in REGISTRY.items() if cls.__module__ in families}
    wanted |= {"deterrence", "self_censorship"}
    assert wanted >= {"black_market", "collusion", "data_breaches", "evasion", "backlash"}
    assert wanted <= set(sc.mechanisms) and all(sc.mechanisms[m].enabled for m in wanted)
    for name, params in preset.mechanisms.items():
        if name != "sesame_credit":
            assert sc.mechanisms[name] == params, name
    sesame = sc.mechanisms["sesame_credit"]
    assert {"black_market", "collusion"} <= set(sesame.credit_sources) & set(
        sesame.activity_sources
    )
    (leak,) = sc.mechanisms["data_breaches"].leaks
    end = sc.meta.start_date + dt.timedelta(days=preset.meta.days)
    assert sc.meta.start_date < leak.date < end and 0.7 < leak.share < 0.71
