"""Every mechanism, one folder per family; importing this package registers them all.

Where things go:
- ``behaviour/``: what people do (acts, debts);
- ``surveillance/``: cameras and face search, modelled by their error rates;
- ``observation/``: data sources that record acts;
- ``reporting/``: citizens reporting each other;
- ``adversary/``: black markets, collusion rings, data breaches, evasion;
- ``scoring/``: scoring systems (a new scoring system is a new module here);
- ``lists/``: blacklists and redlists;
- ``consequences/``: sanctions and rewards (a new sanction is a new module here);
- ``response/``: how people respond (approval of programmes, backlash);
- ``metrics/``: observers that only count.

Every module below this package is imported here, so a new module registers its mechanisms
without any edit elsewhere. A mechanism of a package of one's own is a plug-in: its package names
the module that defines it under the entry-point group ``scslab.mechanisms`` (``PLUGIN_GROUP``),
and that module is imported here too, so that every command (``scslab run``, ``plan``,
``schema``, ``resume``, ``sweep``'s workers, the explorer) knows it (docs/architecture.md). A
plug-in that fails to import is a warning, not a stop, and ``PLUGIN_FAILURES`` keeps why, for the
line that refuses a scenario naming one of its mechanisms.

Owns the walk that imports every module below and the plug-ins' import; it defines no mechanism
and names none. The engine must not import this package or any module below it
(``tests/test_layers.py``): the scenario module imports it to register the mechanisms.
"""

import importlib
import pkgutil
import warnings
from importlib.metadata import entry_points

PLUGIN_GROUP = "scslab.mechanisms"
"""The entry-point group under which an installed package names its mechanisms' modules."""

for _module in pkgutil.walk_packages(__path__, prefix=f"{__name__}."):
    importlib.import_module(_module.name)

PLUGIN_FAILURES: dict[str, str] = {}
"""Plug-ins that failed to import, by entry-point name: one line each (a warning at import, and
part of a scenario's "unknown mechanism" line)."""

for _plugin in entry_points(group=PLUGIN_GROUP):
    try:
        _plugin.load()
    except Exception as _error:
        PLUGIN_FAILURES[_plugin.name] = (
            f"plug-in {_plugin.name!r} ({_plugin.value}) failed to import: "
            f"{type(_error).__name__}: {' '.join(str(_error).split())}"
        )
        warnings.warn(f"scslab: {PLUGIN_FAILURES[_plugin.name]}", stacklevel=1)
