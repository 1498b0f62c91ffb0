"""Quickstart: load a preset, change a parameter in code, run it small, read the harm audit.

Run with ``python examples/quickstart.py`` (needs the ``notebook`` extra for the pandas table:
``pip install 'scslab[notebook]'``). The same lines work in a notebook cell, where
``progress=True`` shows a progress widget and the last line's frame displays as a table.
"""

from __future__ import annotations

import scslab

# The planned 2020 system, every mechanism on, at 20,000 synthetic people for a year.
scenario = scslab.load_scenario("integrated_2020").with_overrides(people=20_000, days=365, seed=3)
# Twice the default rate of rewarded reporting; validated like a scenario file.
scenario = scenario.with_mechanism("informants", report_prob=0.02)

result = scslab.run(scenario, progress=True)

print(result.summary().splitlines()[0])
print("Harm audit:")
for harm in result.harm_audit():
    if harm.section in ("innocents punished", "false records by cause"):
        print(f"  {harm.section}: {harm.item}: {harm.value:,.0f}")

metrics = result.to_pandas()  # one row per day, as a pandas DataFrame
print(f"records from informants: {metrics['records_by_informant'].sum():,.0f}")
print(metrics[["date", "court_list_size", "court_list_innocents_listed"]].tail(3).to_string())
