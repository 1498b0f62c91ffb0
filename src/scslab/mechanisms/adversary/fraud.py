"""The flag of people detected manipulating their records, shared by the adversaries that set it.

A buyer of black-market records (``black_market``) or a member of a collusion ring
(``collusion``) who is detected is marked here: the platforms bar them, so they buy no more
boosts, receive no more bought records and trade no more in a ring, whichever mechanism caught
them. One bit per person, in the population's flag bytes, made by whichever mechanism asks
first (``pop.state.shared_flag``). Owns the flag's name; each mechanism counts its own
detections.
"""

from __future__ import annotations

FRAUD_DETECTED = "fraud_detected"
"""Name of the per-person flag set when an adversary's manipulation is detected."""
