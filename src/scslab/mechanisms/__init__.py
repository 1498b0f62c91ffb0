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
without any edit elsewhere.

Owns the walk that imports every module below; it defines no mechanism and names none. The
engine must not import this package or any module below it (``tests/test_layers.py``): the
scenario module imports it to register the mechanisms.
"""

import importlib
import pkgutil

for _module in pkgutil.walk_packages(__path__, prefix=f"{__name__}."):
    importlib.import_module(_module.name)
