"""The whole system of issue 13: ``integrated_2020`` with every adversary and every response on.

    python -m benchmarks --sections whole [--china]

``integrated_2020`` names no adversary and no response, so its row in ``RESULTS.md`` is the
2020 system of issues 11 and 12 only. Issue 13 asks for "integrated_2020 with all of the above"
at China's scale: this builds that scenario from the preset through the public API (no second
copy of the preset's file), with each added mechanism at its own defaults except where a default
would do nothing in 2020:

- the black market and collusion rings (their defaults), whose bought and traded records Sesame
  reads as its own data (as ``black_market_2017`` has it);
- a data breach: the default leak is the Shanghai police leak of July 2022, after 2020 ends, so
  the same share of people (1 billion of 1.41 billion) leaks on 2020-07-01 instead (a benchmark
  assumption: a leak inside the year, so that employers screen on leaked scores for half of it);
- evasion, deterrence and self-censorship (their defaults);
- the cut ties the preset already has, and a backlash with its default programme (every
  mechanism that punishes or rewards).

Owns the scenario and its name (``WHOLE_SYSTEM``); the timing is ``benchmarks.scslab_preset``'s
and the table ``benchmarks.__main__``'s. Must not change a mechanism's defaults or the preset.
"""

from __future__ import annotations

import scslab
from scslab.mechanisms.adversary.data_breaches import DataBreachesParams

WHOLE_SYSTEM = "integrated_2020+all"
"""The name the benchmark harness gives this scenario (``scslab_preset`` builds it by name)."""

LEAK_DATE = "2020-07-01"
"""The day the default leak's share of people leaks (assumption: inside the run's year)."""


def whole_system(people: int, days: int) -> scslab.Scenario:
    """``integrated_2020`` with the four adversaries, deterrence, self-censorship and backlash."""
    sc = scslab.load_scenario("integrated_2020").with_overrides(people=people, days=days)
    sesame = sc.mechanisms["sesame_credit"]
    sc = sc.with_mechanism(
        "sesame_credit",
        credit_sources=[*sesame.credit_sources, "black_market", "collusion"],
        activity_sources=[*sesame.activity_sources, "black_market", "collusion"],
    )
    sc = sc.with_mechanism("black_market").with_mechanism("collusion")
    share = DataBreachesParams().leaks[0].share  # the default leak's
    sc = sc.with_mechanism("data_breaches", leaks=[{"date": LEAK_DATE, "share": share}])
    for name in ("evasion", "deterrence", "self_censorship", "backlash"):
        sc = sc.with_mechanism(name)
    return sc
