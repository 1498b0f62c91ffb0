"""Where a whole run's processor time goes, kernel by kernel, from Linux ``perf`` samples.

    python -m benchmarks.kernel_profile PRESET --people N [--days D] [--top K]

``day_cost`` times each mechanism's phase and ``kernel_cost`` the kernels that Python calls; the
kernels that kernels call (a monthly pass inside a step, a sort inside a merge) and the set-up's
passes over everyone show in neither. This runs ``scslab run PRESET`` under ``perf record`` (499
samples a second in each thread) and names every sample in compiled code by the kernel it
belongs to: numba's code has no symbols ``perf`` can read, so the run writes the map that
``perf`` reads for code made at run time (``/tmp/perf-PID.map``), one line per compiled
function, named ``kernel|function``, where the kernel is numba's code library (the kernel's own
name; a threaded build's loops are its ``parfor_gufunc`` functions). Code loaded from the kernel
cache is named as well as code compiled in the run.

It prints each kernel's share of all samples (every thread's, so with two threads busy a kernel
can hold more of them than of the wall time), the share of all compiled code, and the rest
(Python, compiling, the system). Samples are taken while the process runs, set-up and writing
included; a share is of the whole run, not of a day. It needs ``perf`` (Debian's ``linux-perf``)
and ``kernel.perf_event_paranoid`` at most 2; it says so and stops otherwise.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

SAMPLES_A_SECOND = 499
"""perf's sampling rate: odd, so that it does not beat with a timer of the run."""
MAX_SIZE = 1 << 22
"""The most bytes a function is taken to span (its size is the gap to the next one)."""


def perf_map_lines(functions: dict[int, str]) -> list[str]:
    """The map lines perf reads (``START SIZE NAME``, hexadecimal) of functions at these addresses.

    A function spans to the next one's address (at most ``MAX_SIZE``; the last one 64 KiB):
    numba places a library's functions together, and a sample falls in the one it starts after.
    """
    starts = sorted(functions)
    lines = []
    for i, start in enumerate(starts):
        size = starts[i + 1] - start if i + 1 < len(starts) else 1 << 16
        lines.append(f"{start:x} {min(size, MAX_SIZE):x} {functions[start]}")
    return lines


class CodeMap:
    """Every compiled function's address and ``kernel|function`` name, written for ``perf``."""

    def __init__(self) -> None:
        self.libraries: list[Any] = []

    def install(self, write_at_exit: bool = True) -> None:
        """Record every code library numba finishes from now on, compiled or loaded from cache.

        With ``write_at_exit``, perf's map of this process is written when it exits.
        """
        from numba.core.codegen import CPUCodeLibrary

        finish = self._finish = CPUCodeLibrary._finalize_final_module
        libraries = self.libraries

        def recorded(library: Any) -> Any:
            result = finish(library)
            libraries.append(library)
            return result

        CPUCodeLibrary._finalize_final_module = recorded
        if write_at_exit:
            atexit.register(self.write, Path(f"/tmp/perf-{os.getpid()}.map"))

    def uninstall(self) -> None:
        """Stop recording (the libraries recorded so far stay)."""
        from numba.core.codegen import CPUCodeLibrary

        CPUCodeLibrary._finalize_final_module = self._finish

    def functions(self) -> dict[int, str]:
        """Address -> ``kernel|function`` of every function defined in the recorded libraries."""
        found: dict[int, str] = {}
        for library in self.libraries:
            # Compiled: the final module. Loaded from the cache: an empty final module, and the
            # module kept for linking, which defines the same functions.
            modules = (library._final_module, getattr(library, "_shared_module", None))
            defined = [f for m in modules if m is not None for f in m.functions]
            for function in defined:
                if function.is_declaration:
                    continue
                try:
                    address = library.get_pointer_to_function(function.name)
                except Exception:  # a symbol the engine does not hold: not ours to map
                    continue
                if address:
                    found[address] = f"{library.name}|{function.name[:80]}"
        return found

    def write(self, path: Path) -> None:
        """Write perf's map of this process."""
        path.write_text("\n".join(perf_map_lines(self.functions())) + "\n")


def kernel_shares(report: str) -> tuple[dict[str, float], float]:
    """Percent of samples per kernel, and of all compiled code, from ``perf report --stdio``.

    Reads the lines ``PCT% [.] NAME`` of a report sorted by symbol; a name ``kernel|function``
    from the map counts to its kernel.
    """
    shares: dict[str, float] = defaultdict(float)
    for line in report.splitlines():
        fields = line.split()
        if len(fields) < 3 or not fields[0].endswith("%") or "|" not in fields[2]:
            continue
        shares[fields[2].split("|", 1)[0]] += float(fields[0][:-1])
    return dict(shares), sum(shares.values())


def _profiled_run(preset: str, people: int, days: int) -> None:
    """The child: map the compiled code, then run the preset as ``scslab run`` does."""
    CodeMap().install()
    import scslab

    with tempfile.TemporaryDirectory() as out:
        result = scslab.run(preset, people=people, days=days, out=Path(out) / "run")
    timings = result.manifest["timings"]
    print(f"set-up {timings['init_s']:.1f} s, run {timings['run_s']:.1f} s", file=sys.stderr)


def _refusal() -> str | None:
    """Why ``perf`` cannot profile here (None: it can)."""
    if shutil.which("perf") is None:
        return "perf is not installed (Debian: apt install linux-perf)"
    paranoid = Path("/proc/sys/kernel/perf_event_paranoid")
    if paranoid.exists() and int(paranoid.read_text()) > 2:
        return "kernel.perf_event_paranoid is above 2: perf may not sample this user's processes"
    return None


def main() -> None:
    """Command line: run the preset under perf, print each kernel's share."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset")
    parser.add_argument("--people", type=int, required=True)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _profiled_run(args.preset, args.people, args.days)
        return
    import scslab

    if args.preset not in scslab.preset_names():
        parser.error(f"no preset {args.preset!r}; presets: {', '.join(scslab.preset_names())}")
    if args.people < 1 or args.days < 1:
        parser.error("--people and --days must be at least 1")
    refusal = _refusal()
    if refusal:
        parser.error(refusal)
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "perf.data"
        child = [sys.executable, "-m", "benchmarks.kernel_profile", args.preset, "--child"]
        child += ["--people", str(args.people), "--days", str(args.days)]
        record = ["perf", "record", "-q", "-F", str(SAMPLES_A_SECOND), "-o", str(data), *child]
        subprocess.run(record, check=True)
        report = subprocess.run(
            ["perf", "report", "-i", str(data), "--stdio", "--sort", "sym"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    shares, compiled = kernel_shares(report)
    print(f"{args.preset}, {args.people:,} people x {args.days} days: share of all samples")
    for name, share in sorted(shares.items(), key=lambda kv: -kv[1])[: args.top]:
        print(f"  {share:6.2f}%  {name}")
    print(f"  {compiled:6.2f}%  all compiled code")
    print(f"  {100 - compiled:6.2f}%  the rest: Python, compiling, the system")


if __name__ == "__main__":
    main()
