"""How people respond to the system: approval of its programmes and the backlash that ends them.

A response mechanism steps after every consequence of the day (the ``response`` family) and reads
what the other mechanisms did through their records; it never re-implements their rules.
"""
