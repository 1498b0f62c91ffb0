"""Reproduce ``benchmarks/RESULTS.md``: agreement, peers side by side, scaling, presets.

    python -m benchmarks            # everything up to 100 million people (about 10 minutes)
    python -m benchmarks --china    # also all 1.41 billion people of China, for the reference
                                    # model and for `rongcheng` (add about 15 minutes)
    python -m benchmarks --quick    # small sizes only, to check the harness
    python -m benchmarks --sections face --face-people 10000000   # face recognition's cost

Every measurement runs in its own process (so peak memory is its own) through the same harness
(``peers/_cli.py``): a tiny warm-up model first, then construction and the run timed separately.
Peers and scslab alternate within one invocation, so ratios are measured on the same machine
under the same load. Results go to ``benchmarks/results.json``, ``benchmarks/RESULTS.md`` and
``benchmarks/scaling.svg``/``.png``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.whole_system import WHOLE_SYSTEM
from scslab.engine.compile_ahead import helpers_wanted

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CHINA = 1_410_000_000
DAYS = 365


def _machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    import numba
    import numpy

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        outputs = [f":!benchmarks/{f}" for f in ("RESULTS.md", "results.json", "scaling.*")]
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", *outputs],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        commit, dirty = "", ""
    return {
        "commit": (commit + " (with uncommitted changes)" if dirty else commit) or "unknown",
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem / 2**30, 1),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "numba": numba.__version__,
        "date": dt.date.today().isoformat(),
    }


def _harness(module: str, people: int, days: int, seed: int = 1, timeout: int = 3600) -> dict:
    cmd = [
        sys.executable,
        "-m",
        module,
        "--people",
        str(people),
        "--days",
        str(days),
        "--seed",
        str(seed),
    ]
    print("  $", " ".join(cmd[1:]), flush=True)
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        return {
            "error": res.stderr.strip().splitlines()[-1] if res.stderr else "failed",
            "people": people,
            "days": days,
            "module": module,
        }
    out = json.loads(res.stdout.strip().splitlines()[-1])
    print(
        f"    {out['framework']}: {out['person_days_per_s'] / 1e6:,.1f} M person-days/s, "
        f"{out['resident_bytes_per_person']:.1f} B/person, run {out['run_s']:.2f} s",
        flush=True,
    )
    return out


def _preset(preset: str, people: int, days: int) -> dict:
    """Run a preset through the public API (``benchmarks.scslab_preset``) and read its manifest.

    The same process first runs a small warm-up of the preset, so that loading and compiling
    kernels is not timed.
    """
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        cmd = [sys.executable, "-m", "benchmarks.scslab_preset", preset]
        cmd += ["--people", str(people), "--days", str(days), "--out", str(out)]
        print("  $", " ".join(cmd[1:]), flush=True)
        done = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True)
        wall = json.loads(done.stdout.strip().splitlines()[-1])["wall_s"]
        m = json.loads((out / "manifest.json").read_text())
    return {
        "preset": preset,
        "people": people,
        "days": days,
        "wall_s": wall,
        "init_s": m["timings"]["init_s"],
        "run_s": m["timings"]["run_s"],
        "peak_rss_bytes": m["peak_rss_bytes"],
        "bytes_per_person": m["bytes_per_person"],
        "status": m["status"],
        "engine": m.get("engine", ""),
    }


def _fill_kernel_cache() -> None:
    """Compile every kernel of the measured presets once, into numba's on-disk cache.

    Each measurement still warms up in its own process, but then only loads kernels: the peak
    memory it reports is the model's, not the compiler's.
    """
    # large enough that draws take their many-thread path too (SERIAL_CANDIDATES); the other
    # builds of the per-event kernels (kernels/parallel.py) are compiled explicitly
    code = (
        "import scslab\n"
        "from scslab.kernels.parallel import THREADED_RUN_PEOPLE as MANY\n"
        "from scslab.kernels.parallel import compile_other_builds, threads_as_for\n"
        "for preset in ('reference', 'rongcheng'):\n"
        f"    scslab.run(preset, people=200_000, days={DAYS})\n"
        "    with threads_as_for(MANY):  # and as the runs of a million people or more\n"
        f"        scslab.run(preset, people=200_000, days={DAYS})\n"
        "compile_other_builds()\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True)


SECTIONS = ("agreement", "peers", "scaling", "presets", "integrated", "whole", "compile", "face")

INTEGRATED_SIZES = (1_000_000, 10_000_000, 100_000_000)
"""Sizes of the ``integrated_2020`` rows (the whole 2020 system; ``--china`` adds China), and
of the ``whole`` rows (``integrated_2020`` with every adversary and response on)."""

SYSTEMS = (("integrated", "integrated_2020"), ("whole", WHOLE_SYSTEM))
"""The whole-system sections and what each runs: the 2020 preset, and it with every adversary
and response on (``benchmarks/whole_system.py``)."""

FACE_PEOPLE = 10_000_000
"""People of the ``face`` rows by default: a city (``dragon_eye`` is Shanghai, 24.9 million)."""

FACE_DAYS = 10
"""Days of each ``face`` row: its cost a day is what the table shows."""

FIRST_RUNS = (("rongcheng", 200_000), ("integrated_2020", 200_000))
"""The first runs timed on an empty kernel cache: the README's command and the whole system."""


def _first_run(preset: str, people: int) -> dict:
    """``scslab run PRESET`` in a fresh process on an empty kernel cache, as a new user's first.

    Its wall time is then mostly compiling: the same command on the warm cache, measured right
    after, is subtracted to give the compile time (set-up and run both compile in the Python
    loop, which compiles each kernel when it first calls it).
    """
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, NUMBA_CACHE_DIR=str(Path(tmp) / "cache"))
        times = []
        for attempt in ("cold", "warm"):
            out = Path(tmp) / attempt
            cmd = [sys.executable, "-m", "scslab.cli", "run", preset, "--people", str(people)]
            cmd += ["--days", str(DAYS), "--out", str(out), "--quiet"]
            print("  $", " ".join(cmd[1:]), f"({attempt} cache)", flush=True)
            t0 = time.perf_counter()
            subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
            wall = time.perf_counter() - t0
            m = json.loads((out / "manifest.json").read_text())
            times.append((wall, m["timings"]["init_s"], m["timings"]["run_s"]))
    (cold_wall, cold_init, cold_run), (warm_wall, _, _) = times
    return {
        "preset": preset,
        "people": people,
        "days": DAYS,
        "first_wall_s": round(cold_wall, 1),
        "first_setup_s": round(cold_init, 1),
        "first_run_s": round(cold_run, 1),
        "warm_wall_s": round(warm_wall, 1),
        "compile_s": round(cold_wall - warm_wall, 1),
        "helpers": helpers_wanted(),
    }


def _face_cost(people: int) -> list[dict]:
    """``python -m benchmarks.face_cost`` in its own process: its rows, one a run."""
    cmd = [sys.executable, "-m", "benchmarks.face_cost", "--people", str(people)]
    cmd += ["--days", str(FACE_DAYS)]
    print("  $", " ".join(cmd[1:]), flush=True)
    done = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(
    quick: bool,
    china: bool,
    mesa_days_at_1m: int,
    sections: tuple[str, ...],
    results: dict,
    face_people: int = FACE_PEOPLE,
) -> dict:
    """Run the chosen sections, updating ``results`` (the earlier raw results) in place.

    A run of every section states the machine and commit; a partial run keeps them and says in
    ``remeasured`` (written by ``main``) what it measured, when and at which commit.
    """
    if set(sections) == set(SECTIONS) or "machine" not in results:
        results["machine"] = _machine()
    _fill_kernel_cache()
    if "agreement" in sections:
        print("agreement (scslab vs Mesa vs Starsim)", flush=True)
        from benchmarks.agreement import check

        results["agreement"] = check(
            3_000 if quick else 30_000, 100 if quick else DAYS, 3 if quick else 5
        )
        print("  ok" if results["agreement"]["ok"] else "  DISAGREE", flush=True)
    if "peers" in sections:
        print("peers side by side", flush=True)
        peers = []
        for n in [10_000, 100_000] if quick else [100_000, 1_000_000]:
            mesa_days = DAYS if n <= 100_000 else mesa_days_at_1m
            for module, days in (
                ("benchmarks.scslab_reference", DAYS),
                ("benchmarks.peers.starsim_reference", DAYS),
                ("benchmarks.peers.mesa_reference", mesa_days),
                ("benchmarks.scslab_reference", DAYS),
            ):
                peers.append(_harness(module, n, days))
        results["peers"] = peers
    sizes = [100_000, 1_000_000] if quick else [100_000, 1_000_000, 10_000_000, 100_000_000]
    if china:
        sizes.append(CHINA)
    if "scaling" in sections:
        print("scaling", flush=True)
        rows = [
            _best(lambda n=n: _harness("benchmarks.scslab_reference", n, DAYS), n) for n in sizes
        ]
        results["scaling"] = _merged_rows(results.get("scaling", []), rows)
    if "presets" in sections:
        print("presets", flush=True)
        rows = [_best(lambda n=n: _preset("rongcheng", n, DAYS), n) for n in sizes]
        results["presets"] = _merged_rows(results.get("presets", []), rows)
    for section, preset in SYSTEMS:
        if section not in sections:
            continue
        print(preset, flush=True)
        sizes = [100_000] if quick else list(INTEGRATED_SIZES)
        sizes += [CHINA] if china else []
        rows = [_best(lambda n=n, p=preset: _preset(p, n, DAYS), n) for n in sizes]
        results[section] = _merged_rows(results.get(section, []), rows)
    if "compile" in sections:
        print("first runs on an empty kernel cache", flush=True)
        results["compile"] = [_first_run(preset, people) for preset, people in FIRST_RUNS]
    if "face" in sections:
        print("face recognition: run time against probes and alerts a day", flush=True)
        results["face"] = _face_cost(100_000 if quick else face_people)
    return results


SMALL = 1_000_000
"""Up to this many people a run takes well under a second: the best of ``REPEATS`` is kept."""
REPEATS = 5
"""Five: on this shared machine five processes timing the same 100,000-person run spread over
0.94-1.41 ns per person-day (2026-11-27), so the best of three was often a slow one."""


def _best(measure_once: Callable[[], dict], people: int) -> dict:
    """The fastest of ``REPEATS`` runs for small sizes (the machine is shared), else one run."""
    runs = [measure_once() for _ in range(REPEATS if people <= SMALL else 1)]
    ok = [r for r in runs if "error" not in r]
    return min(ok, key=lambda r: r["run_s"]) if ok else runs[0]


def _merged_rows(earlier: list[dict], rows: list[dict]) -> list[dict]:
    """``rows``, plus the earlier rows of sizes not measured this time (``--china`` left out)."""
    measured = {r["people"] for r in rows}
    kept = [r for r in earlier if r["people"] not in measured]
    return sorted(kept + rows, key=lambda r: r["people"])


def _ratio_rows(peers: list[dict]) -> list[str]:
    rows = []
    by_n: dict[int, dict[str, list[dict]]] = {}
    for r in peers:
        if "error" in r:
            continue
        by_n.setdefault(r["people"], {}).setdefault(r["framework"], []).append(r)
    for n, fws in sorted(by_n.items()):
        best = {fw: max(rs, key=lambda r: r["person_days_per_s"]) for fw, rs in fws.items()}
        s = best.get("scslab")
        for fw in ("scslab", "starsim", "mesa"):
            if fw not in best:
                continue
            r = best[fw]
            ratio = s["person_days_per_s"] / r["person_days_per_s"] if s else float("nan")
            rows.append(
                f"| {n:,} | {fw} | {r['days']} | {r['person_days_per_s'] / 1e6:,.2f} | "
                f"{ratio:,.0f}x | {r['resident_bytes_per_person']:,.1f} | "
                f"{r['peak_rss_bytes'] / 2**20:,.0f} |"
            )
    return rows


def _other_machine(first: dict | None, now: dict) -> str:
    """`` on CPU, N cores, M GiB`` where ``now`` is not the machine of the full run, else ``""``."""
    fields = ("cpu", "cores", "memory_gib")
    if first is None or all(first.get(f) == now[f] for f in fields):
        return ""
    return f" on {now['cpu']}, {now['cores']} cores, {now['memory_gib']} GiB"


CHINA_SECTIONS = ("scaling", "presets", "integrated", "whole")
"""The sections that ``--china`` gives a row of 1.41 billion people."""


def _china_minutes(results: dict) -> str:
    """`` in about N more minutes``: the wall time of the measured 1.41 billion rows, if any."""
    seconds = sum(
        row.get("wall_s") or row.get("init_s", 0.0) + row.get("run_s", 0.0)
        for section in CHINA_SECTIONS
        for row in results.get(section, [])
        if row.get("people") == CHINA
    )
    return f" in about {round(seconds / 60)} more minutes" if seconds else ""


_REMEASURE = re.compile(
    r"^(?P<sections>[a-z,]+) on (?P<date>[0-9-]+) at commit (?P<commit>\w+)"
    r"(?P<dirty> \(with uncommitted changes\))?(?: on (?P<machine>[^(]+))? "
    r"\((?P<command>python -m benchmarks[^;]*);"
)


def section_sources(results: dict) -> list[tuple[str, str, str, str, str]]:
    """Where each section's rows were last measured: (section, date, commit, machine, command).

    A partial re-measure (``remeasured``, written by ``main``) replaces the rows of the sizes it
    measured; its 1.41 billion rows come from the last measure with ``--china``, which is a row
    of its own ("integrated, 1.41 billion") where it is an earlier one, and a later ``--quick``
    one replaced its small sizes only (a row "..., --quick sizes"). Sections never measured are
    left out.
    """
    m = results["machine"]
    full_machine = f"{m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB"
    full_command = f"python -m benchmarks {' '.join(results.get('argv', []))}".rstrip()
    measures = [
        (tuple(SECTIONS), m["date"], str(m.get("commit", "unknown")), full_machine, full_command)
    ]
    for text in results.get("remeasured", []):
        found = _REMEASURE.match(text)
        if found is None:  # written by another version of this harness: shown as it is
            measures.append((tuple(SECTIONS), "", "", "", text))
            continue
        commit = found["commit"] + (" (uncommitted changes)" if found["dirty"] else "")
        machine = (found["machine"] or "").strip() or full_machine
        measures.append(
            (tuple(found["sections"].split(",")), found["date"], commit, machine, found["command"])
        )
    rows = []
    for section in SECTIONS:
        if section not in results:
            continue
        mine = [x for x in measures if section in x[0]]
        full = [x for x in mine if "--quick" not in x[4]]  # --quick replaces its small sizes
        last = (full or mine)[-1]
        rows.append((section, *last[1:]))
        china = [x for x in full if "--china" in x[4]]
        if section in CHINA_SECTIONS and china and china[-1] is not last:
            rows.append((f"{section}, 1.41 billion", *china[-1][1:]))
        quick = [x for x in mine if "--quick" in x[4]]
        if quick and full and mine.index(quick[-1]) > mine.index(last):
            rows.append((f"{section}, --quick sizes", *quick[-1][1:]))
    return rows


def _provenance_lines(results: dict) -> list[str]:
    """The table of where each section's rows come from, when some were measured again."""
    if not results.get("remeasured"):
        return []
    lines = [
        f"Sections were measured again since ({len(results['remeasured'])} times; each is in "
        "`remeasured` of results.json). A partial re-measure replaces the rows of the sizes it "
        "measured, so each section's rows come from:",
        "",
        "| section | measured | commit | machine | command |",
        "|---|---|---|---|---|",
    ]
    for section, date, commit, machine, command in section_sources(results):
        lines.append(f"| {section} | {date} | {commit} | {machine} | `{command}` |")
    return [*lines, ""]


def write_report(results: dict) -> None:
    """Write RESULTS.md and the scaling chart from raw results."""
    m = results["machine"]
    lines = [
        "# Benchmark results",
        "",
        f"Measured {m['date']} on {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, "
        f"Python {m['python']}, numpy {m['numpy']}, numba {m['numba']}; code at commit "
        f"{m.get('commit', 'unknown')}.",
        "The machine is shared and noisy: compare ratios within one table, not across runs.",
        "",
        "Reproduce (from the repository root; about 10 minutes, `--china` adds the 1.41 billion "
        f"rows{_china_minutes(results)}):",
        "",
        "```sh",
        "python3 -m venv .venv-bench && .venv-bench/bin/pip install -e . -r "
        "benchmarks/requirements.txt",
        f".venv-bench/bin/python -m benchmarks {' '.join(results['argv'])}".rstrip(),
        "```",
        "",
        "The model is the reference model of `benchmarks/README.md` (preset `reference`), "
        "implemented in scslab, Mesa 3 and Starsim 3.",
        "",
        *_provenance_lines(results),
        "## Agreement",
        "",
    ]
    ag = results["agreement"]
    lines += [
        f"{ag['seeds']} seeds each at {ag['people']:,} people x {ag['days']} days; z is the "
        "difference of the final-day means over seeds in standard errors (verdict: |z| < 4 for "
        f"every output): **{'agree' if ag['ok'] else 'DISAGREE'}**.",
        "",
        "| output | peer | scslab | peer value | final-day z | max daily abs z |",
        "|---|---|---|---|---|---|",
    ]
    for peer, rows in ag["pairs"].items():
        for metric, r in rows.items():
            lines.append(
                f"| {metric} | {peer} | {r['scslab']:,} | {r[peer]:,} | {r['final_z']} | "
                f"{r['max_abs_z']} |"
            )
    lines += [
        "",
        "## Peers side by side",
        "",
        "Best of the runs in this invocation for each framework and size. Person-days per "
        "second time the simulation alone; turning its daily outputs into a data frame "
        "(`outputs_s` in results.json, 1-15 ms) is timed apart for every framework. Ratio = scslab "
        "person-days per second / the framework's. Bytes/person = resident memory added by "
        "building and running the model, divided by people (small sizes are dominated by "
        "fixed costs).",
        "",
        "| people | framework | days | million person-days/s | scslab speed-up | bytes/person "
        "| peak RSS MiB |",
        "|---|---|---|---|---|---|---|",
        *_ratio_rows(results["peers"]),
        "",
        "## Scaling (scslab, reference model, 365 days)",
        "",
        f"Up to {SMALL:,} people the fastest of {REPEATS} runs (each under a second).",
        "",
        "| people | run s | init s | million person-days/s | ns per person-day | stored "
        "bytes/person | resident bytes/person | peak RSS GiB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results["scaling"]:
        if "error" in r:
            lines.append(f"| {r['people']:,} | failed: {r['error']} | | | | | | |")
            continue
        pds = r["person_days_per_s"]
        lines.append(
            f"| {r['people']:,} | {r['run_s']:,.1f} | {r['init_s']:,.1f} | {pds / 1e6:,.0f} | "
            f"{1e9 / pds:.2f} | {r['stored_bytes_per_person']:.0f} | "
            f"{r['resident_bytes_per_person']:.1f} | {r['peak_rss_bytes'] / 2**30:.2f} |"
        )
    lines += [
        "",
        "![scaling](scaling.svg)",
        "",
        _flatness(results["scaling"], lambda r: 1e9 / r["person_days_per_s"]),
        "",
        "## Presets (the `rongcheng` world through the public API, 365 days)",
        "",
        "Each size in its own process (`python -m benchmarks.scslab_preset`), after a warm-up run "
        "of up to 200,000 people that loads the compiled kernels. Wall time is set-up, run and "
        "writing the run folder; ns per person-day is the run time (`timings.run_s` of the "
        f"manifest) per person-day. Up to {SMALL:,} people the fastest of {REPEATS} runs.",
        "",
        "| preset | people | days | wall s | init s | run s | ns per person-day | stored "
        "bytes/person | peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["presets"]:
        lines.append(
            f"| {r['preset']} | {r['people']:,} | {r['days']} | {r['wall_s']:.1f} | "
            f"{r['init_s']:.1f} | {r['run_s']:.1f} | {_ns_preset(r):.2f} | "
            f"{r['bytes_per_person']:.1f} | {r['peak_rss_bytes'] / 2**20:,.0f} |"
        )
    lines += ["", _flatness(results["presets"], _ns_preset)]
    lines += _integrated_lines(results)
    lines += _face_lines(results)
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")
    _chart(results)


def _integrated_lines(results: dict) -> list[str]:
    """The whole 2020 system's rows and the first runs' compile times."""
    lines: list[str] = [
        "",
        "## The whole 2020 system (`integrated_2020` through the public API, 365 days)",
        "",
        "Every source shared, every list, sanction, score and reward on (no adversary and no "
        "response, which it does not name), in the compiled day plan (its group metrics step in "
        "Python between "
        "compiled stretches of days). Measured like the presets above; one run a size. Targets "
        "(issues 11 and 12; issue 13's are the next table's): 1,410,000,000 people in at most "
        "15 minutes of wall time, peak memory at most 20 GiB, at most 12 stored bytes per "
        "person.",
        "",
        *_system_table(results.get("integrated", [])),
        *_china_verdict(results.get("integrated", [])),
        *_whole_lines(results),
    ]
    if results.get("compile"):
        lines += [
            "",
            "## First runs: compiling on an empty kernel cache",
            "",
            "`scslab run PRESET --people 200000 --days 365` in a fresh process with an empty "
            "`NUMBA_CACHE_DIR`, as a new user's first run, then the same command again (warm "
            "cache). Compile = the first wall time minus the warm one: a run in the Python loop "
            "compiles each kernel when it first calls it, in the run as well as in the set-up. "
            "Helpers: the processes that compile the day's kernels beside the run "
            "(`engine/compile_ahead.py`; one per other core by default). "
            "Target (issue 11): at most 20 s for `rongcheng`.",
            "",
            "| preset | first run wall s | first set-up s | compile s | warm run wall s "
            "| helpers |",
            "|---|---|---|---|---|---|",
        ]
        for r in results["compile"]:
            lines.append(
                f"| {r['preset']} | {r['first_wall_s']:.1f} | {r['first_setup_s']:.1f} | "
                f"{r['compile_s']:.1f} | {r['warm_wall_s']:.1f} | {r.get('helpers', 0)} |"
            )
        lines += _first_run_verdict(results["compile"])
    return lines


def _system_table(rows: list[dict]) -> list[str]:
    """The rows of a whole-system table: one a size, with its time, memory and engine."""
    lines = [
        "| people | days | wall s | init s | run s | ns per person-day | stored bytes/person | "
        "peak RSS GiB | engine |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['people']:,} | failed: {r['error']} | | | | | | | |")
            continue
        lines.append(
            f"| {r['people']:,} | {r['days']} | {r['wall_s']:.1f} | {r['init_s']:.1f} | "
            f"{r['run_s']:.1f} | {_ns_preset(r):.2f} | {r['bytes_per_person']:.1f} | "
            f"{r['peak_rss_bytes'] / 2**30:.2f} | {r.get('engine', '')} |"
        )
    return lines


def _whole_lines(results: dict) -> list[str]:
    """Issue 13's whole system: ``integrated_2020`` with every adversary and response on."""
    if not results.get("whole"):
        return []
    return [
        "",
        "## With every adversary and response (`integrated_2020+all`, 365 days)",
        "",
        'Issue 13\'s "integrated_2020 with all of the above": the preset with the black market, '
        "collusion rings, a data breach (the Shanghai police leak's share of people, on "
        "2020-07-01), evasion, deterrence, self-censorship and a backlash on, beside its cut "
        "ties (`benchmarks/whole_system.py`). Measured like the rows above; one run a size. "
        "Targets (issue 13): 1,410,000,000 people in at most 15 minutes of wall time, peak "
        "memory at most 20 GiB, at most 12 stored bytes per person.",
        "",
        *_system_table(results["whole"]),
        *_china_verdict(results["whole"]),
    ]


CHINA_WALL_S, CHINA_PEAK_GIB, CHINA_BYTES = 15 * 60, 20.0, 12.0
"""The targets for ``integrated_2020`` at all of China's people: wall seconds, GiB, bytes."""
FIRST_RUN_COMPILE_S = 20.0
"""The target for compiling in ``rongcheng``'s first run (issue 11)."""


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _china_verdict(rows: list[dict]) -> list[str]:
    """One line: the whole 2020 system at China's scale against its three targets."""
    china = [r for r in rows if r.get("people") == CHINA and "error" not in r]
    if not china:
        return ["", "All of China (1,410,000,000 people): not measured in this table."]
    r = china[-1]
    gib = r["peak_rss_bytes"] / 2**30
    return [
        "",
        f"All of China: {r['wall_s'] / 60:.1f} min of wall time (target 15: "
        f"{_met(r['wall_s'] <= CHINA_WALL_S)}), peak {gib:.2f} GiB (target 20: "
        f"{_met(gib <= CHINA_PEAK_GIB)}), {r['bytes_per_person']:.1f} stored bytes a person "
        f"(target 12: {_met(r['bytes_per_person'] <= CHINA_BYTES)}).",
    ]


def _first_run_verdict(rows: list[dict]) -> list[str]:
    """One line: ``rongcheng``'s first-run compiling against its target."""
    first = [r for r in rows if r.get("preset") == "rongcheng"]
    if not first:
        return []
    compile_s = first[-1]["compile_s"]
    return [
        "",
        f"`rongcheng`'s first run: {compile_s:.1f} s of compiling (target 20: "
        f"{_met(compile_s <= FIRST_RUN_COMPILE_S)}).",
    ]


def _face_lines(results: dict) -> list[str]:
    """Face recognition's cost a day against probes and alerts a day, if measured."""
    if not results.get("face"):
        return []
    from benchmarks.face_cost import table

    rows = results["face"]
    return [
        "",
        f"## Face recognition: run time against probes a day (`dragon_eye`, {rows[0]['days']} "
        "days)",
        "",
        "`python -m benchmarks.face_cost`: Shanghai's crossing cameras against 1.8 billion "
        "images, switched off, then at rising probes a day with the false alerts held fixed (the "
        "threshold tightened: FPIR = alerts / probes), then at the preset's threshold (FPIR 0.356: "
        "alerts rise with probes), then with street cameras that search for the public screen's "
        "members (mode 'watchlist' with `wanted_list`, FPIR 0.003; wanted a day: the screen's "
        "mean size). Face recognition's milliseconds a day are its phase's (the street cameras' "
        "in the list-watch rows); the whole day's include the acts and the public screen. Target "
        "(issue 12): the work grows with alerts, not probes.",
        "",
        *table(rows),
    ]


def _ns_preset(r: dict) -> float:
    """Simulated nanoseconds per person-day of a preset run."""
    return 1e9 * r["run_s"] / (r["people"] * r["days"])


def _flatness(rows: list[dict], ns: Callable[[dict], float]) -> str:
    """One line: how far the cost per person-day moves across sizes (target: within 2x)."""
    ok = [(r["people"], ns(r)) for r in rows if "error" not in r]
    if len(ok) < 2:
        return ""
    lo, hi = min(ok, key=lambda x: x[1]), max(ok, key=lambda x: x[1])
    ratio = hi[1] / lo[1]
    verdict = "met" if ratio <= 2.0 else "not met"
    return (
        f"Cost per person-day from {ok[0][0]:,} to {ok[-1][0]:,} people: highest {hi[1]:.2f} ns "
        f"(at {hi[0]:,}) / lowest {lo[1]:.2f} ns (at {lo[0]:,}) = **{ratio:.2f}x** "
        f"(target: within 2x: {verdict})."
    )


def _chart(results: dict) -> None:
    try:
        import altair as alt
        import pandas as pd
        import vl_convert as vlc
    except ImportError:
        print("altair/vl-convert not installed: no chart", flush=True)
        return
    rows = [
        {
            "model": "reference",
            "people": r["people"],
            "ns per person-day": 1e9 / r["person_days_per_s"],
        }
        for r in results["scaling"]
        if "error" not in r
    ] + [
        {"model": r["preset"], "people": r["people"], "ns per person-day": _ns_preset(r)}
        for r in results.get("presets", [])
    ]
    chart = (
        alt.Chart(pd.DataFrame(rows), title="scslab: cost per person-day (365 days)")
        .mark_line(point=True)
        .encode(
            x=alt.X("people:Q", scale=alt.Scale(type="log")),
            y=alt.Y("ns per person-day:Q", scale=alt.Scale(zero=True)),
            color="model:N",
        )
        .properties(width=480, height=260)
    )
    spec = chart.to_json()
    (HERE / "scaling.svg").write_text(vlc.vegalite_to_svg(spec))
    (HERE / "scaling.png").write_bytes(vlc.vegalite_to_png(spec, scale=2))


def main() -> None:
    """Command line: measure (or re-report) and write RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument("--china", action="store_true", help="add 1.41 billion people")
    parser.add_argument(
        "--mesa-days-at-1m",
        type=int,
        default=30,
        help="days for Mesa at 1,000,000 people (throughput is per person-day)",
    )
    parser.add_argument(
        "--face-people",
        type=int,
        default=FACE_PEOPLE,
        help=f"people of the face recognition rows (default {FACE_PEOPLE:,}: a city)",
    )
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite RESULTS.md from benchmarks/results.json"
    )
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help="comma-separated sections to measure; the others keep their values from "
        f"results.json ({', '.join(SECTIONS)})",
    )
    args = parser.parse_args()
    raw = HERE / "results.json"
    sections = tuple(s for s in args.sections.split(",") if s)
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section {unknown[0]!r}; allowed: {', '.join(SECTIONS)}")
    results = json.loads(raw.read_text()) if raw.exists() else {}
    if not args.report_only:
        if set(sections) != set(SECTIONS) and not results:
            parser.error("measuring only some sections needs an earlier results.json")
        if set(sections) == set(SECTIONS):
            results["argv"] = sys.argv[1:]
            results.pop("remeasured", None)
        else:
            flags = " --china" if args.china else ""
            flags += " --quick" if args.quick else ""  # its sizes only: section_sources
            if "peers" in sections and args.mesa_days_at_1m != 30:
                flags += f" --mesa-days-at-1m {args.mesa_days_at_1m}"
            if "face" in sections and args.face_people != FACE_PEOPLE:
                flags += f" --face-people {args.face_people}"
            now = _machine()
            results.setdefault("remeasured", []).append(
                f"{','.join(sections)} on {dt.date.today().isoformat()} at commit "
                f"{now['commit']}{_other_machine(results.get('machine'), now)} "
                f"(python -m benchmarks --sections {','.join(sections)}"
                f"{flags}; sizes not measured again keep their rows)"
            )
        results = measure(
            args.quick, args.china, args.mesa_days_at_1m, sections, results, args.face_people
        )
        raw.write_text(json.dumps(results, indent=1) + "\n")
    write_report(results)
    print(f"wrote {HERE / 'RESULTS.md'}", flush=True)


if __name__ == "__main__":
    main()
