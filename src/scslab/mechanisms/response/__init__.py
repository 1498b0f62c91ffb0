"""How people respond to the system: approval of its programmes and the backlash that ends them.

A response mechanism steps after every consequence of the day (the ``response`` family) and reads
what the other mechanisms did through their records; it never re-implements their rules.

Owns nothing but the package's name: each response is a mechanism of its own module
(``backlash``, ``tie_cutting``). Outside this folder only the walk of ``scslab.mechanisms``
imports them, and the engine names neither (``tests/test_layers.py``).
"""
