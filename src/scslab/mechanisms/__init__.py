"""Every mechanism, one folder per family; importing this package registers them all.

Where things go:
- ``behaviour/``: what people do (acts, debts);
- ``observation/``: data sources that record acts;
- ``reporting/``: citizens reporting each other;
- ``scoring/``: scoring systems (a new scoring system is a new module here);
- ``lists/``: blacklists and redlists;
- ``consequences/``: sanctions and rewards (a new sanction is a new module here);
- ``metrics/``: observers that only count.
"""

from scslab.mechanisms.behaviour import debt, everyday
from scslab.mechanisms.consequences import joint_punishment, travel_bans
from scslab.mechanisms.lists import court_list, threshold_list
from scslab.mechanisms.metrics import ledger
from scslab.mechanisms.observation import sources
from scslab.mechanisms.reporting import informants
from scslab.mechanisms.scoring import points, recovering

__all__ = [
    "court_list",
    "debt",
    "everyday",
    "informants",
    "joint_punishment",
    "ledger",
    "points",
    "recovering",
    "sources",
    "threshold_list",
    "travel_bans",
]
