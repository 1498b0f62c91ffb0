"""scslab: a laboratory for social credit systems, simulated on synthetic populations.

Everything here works on synthetic people only: there is no loader for records about real people,
no identity resolution and no image processing. The public API:

- ``load_scenario(preset_or_path)`` / ``parse_scenario(text)``: validated scenarios;
- ``run(scenario, people=..., days=..., seed=..., out=...)``: run and get a ``RunResult``;
- ``Simulation``: step a scenario day by day;
- ``presets()``: the shipped presets with their descriptions.

Owns the public names (``__all__``) and ``presets()``; the rest of them are re-exported from
``api``, ``engine.simulation``, ``scenario`` and ``version``. Importing it first checks the
environment numba starts with (importing ``environment`` does), and keys the cache of every
kernel imported by then (``kernels.cache.key_package_caches``); it holds no rule and runs
no simulation itself.
"""

from __future__ import annotations

from scslab import environment  # noqa: F401 (first: it refuses a NUMBA_NUM_THREADS below 1)
from scslab.api import RunResult, resume, run
from scslab.engine.simulation import Simulation, plan_of
from scslab.kernels.cache import key_package_caches
from scslab.scenario import (
    Scenario,
    ScenarioError,
    load_scenario,
    parse_scenario,
    preset_names,
    scenario_from_dict,
    scenario_schema,
)
from scslab.version import __version__

key_package_caches()  # every kernel is imported by now: cache them under the sources' digest


def presets() -> dict[str, str]:
    """Shipped preset names with their one-line descriptions."""
    return {name: load_scenario(name).meta.description for name in preset_names()}


__all__ = [
    "RunResult",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "__version__",
    "load_scenario",
    "parse_scenario",
    "plan_of",
    "preset_names",
    "presets",
    "resume",
    "run",
    "scenario_from_dict",
    "scenario_schema",
]
