"""Compare Rongcheng with and without rewarded reporting, on common random numbers.

Both arms run on the same seeds, so the same people commit the same acts in both: every
difference comes from switching informants off. Run with
``python examples/compare_informants.py`` (``pip install 'scslab[notebook]'`` for the frame).
"""

from __future__ import annotations

from scslab.compare import compare

comparison = compare(
    "rongcheng",
    "rongcheng",
    drop_b=["informants"],
    replications=3,
    people=20_000,
    days=120,
)
print("\n".join(comparison.lines(limit=8)))

changed = comparison.to_pandas(changed_only=True)  # B - A per metric, as a pandas DataFrame
by_informant = changed[changed["metric"] == "records_by_informant"]
print(by_informant[["metric", "statistic", "a_mean", "b_mean", "diff_mean"]].to_string(index=False))
