"""``benchmarks.day_cost --without-act``: the act is left out of everyday acts, and nothing else.

A measurement tool, but one whose numbers go in ``benchmarks/README.md``: a left-out act must not
be drawn at all, and an act the preset does not draw must fail before any run, by name.
"""

from __future__ import annotations

import pytest
from benchmarks.day_cost import _scenario

import scslab


def test_a_left_out_act_is_drawn_by_nobody_and_the_rest_are_unchanged() -> None:
    full = _scenario("integrated_2020", 2_000, 30, ())
    without = _scenario("integrated_2020", 2_000, 30, ("online_purchase",))
    rates = full.mechanisms["everyday_acts"].model_dump()
    kept = without.mechanisms["everyday_acts"].model_dump()
    assert "online_purchase" in rates["extra_acts"]
    assert "online_purchase" not in kept["extra_acts"]
    assert kept["acts"] == rates["acts"]
    rates["extra_acts"].pop("online_purchase")
    assert kept["extra_acts"] == rates["extra_acts"]
    with_all = scslab.run(full).metrics
    left_out = scslab.run(without).metrics
    assert sum(with_all.column("acts_online_purchase").to_pylist()) > 0
    assert "acts_online_purchase" not in left_out.column_names  # not drawn, not counted
    for act in ("traffic_offence", "jaywalking", "tax_evasion"):  # drawn as before
        column = f"acts_{act}"
        assert left_out.column(column).to_pylist() == with_all.column(column).to_pylist()


def test_an_act_the_preset_does_not_draw_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"draws no act 'no_such_act'; it draws .*online_purchase"):
        _scenario("integrated_2020", 2_000, 30, ("no_such_act",))
