"""Adversaries: people and third parties who game, corrupt or misuse the system's records.

- ``black_market``: boosted profiles of fake positive records bought for a price; detection and a
  penalty;
- ``collusion``: rings in local groups whose members post positive records for each other;
- ``data_breaches``: leaks that expose people's scores to third parties (employers), who screen
  on them outside any appeal;
- ``evasion``: "creative resistance", avoiding cameras and platforms, which lowers the coverage
  of those who do it (the rule the data sources apply is ``observation/evaders.py``).

Bought and traded records are false records with their own data sources (``black_market``,
``collusion``), so that the ledger attributes them; scoring systems read them as any record
from a source they read. Every mechanism here is off unless a scenario names it, and changes
nothing then. The model, parameters and sources are in ``docs/adversaries.md``.

Owns nothing but the package's name: each adversary is a mechanism of its own module. Outside
this folder only the walk of ``scslab.mechanisms`` imports them: no scorer or list names one, and
the engine names no mechanism (``tests/test_layers.py``).
"""
