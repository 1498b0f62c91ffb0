"""Processes sharing a kernel cache compile each kernel once between them (``kernels/cache.py``).

Two fresh processes start at the same instant on an empty cache and build the same population,
which compiles a few of the package's kernels. With the compile lock, each of those kernels is
compiled by one process only; the other waits and loads it. The control run takes the lock away
(``LOCK_WAIT_S = 0``: a process that does not get the lock at once compiles anyway), and then
both compile the same kernels, so the test can fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter

_SCRIPT = """
import json, os, sys, time
from numba.core import event
compiled = []
class Seen(event.Listener):
    def on_start(self, ev): pass
    def on_end(self, ev):
        f = ev.data["dispatcher"].py_func
        if f.__module__.startswith("scslab."):
            compiled.append(f.__module__ + "." + f.__qualname__)
event.register("numba:compile", Seen())
import scslab.kernels.cache as cache
cache.LOCK_WAIT_S = float(sys.argv[2])
from scslab.population import Population, PopulationParams
while not os.path.exists(sys.argv[1]):
    time.sleep(0.005)
Population(n=1_000, seed=1, params=PopulationParams())
print(json.dumps(compiled))
"""


def _race(tmp_path, wait_s: float) -> Counter:
    """The package kernels the two processes compiled, counted over both."""
    go = tmp_path / "go"
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _SCRIPT, str(go), str(wait_s)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    time.sleep(3)  # both imported scslab and are waiting
    go.touch()
    outs = [json.loads(p.communicate(timeout=600)[0].strip().splitlines()[-1]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    return Counter(name for out in outs for name in out)


def test_two_processes_compile_each_kernel_once_between_them(tmp_path):
    counts = _race(tmp_path / "locked", wait_s=600)
    assert counts and max(counts.values()) == 1, counts  # nothing compiled twice
    control = _race(tmp_path / "unlocked", wait_s=0)
    assert max(control.values()) == 2, control  # without the lock both compile the same kernels
    assert set(control) == set(counts)
