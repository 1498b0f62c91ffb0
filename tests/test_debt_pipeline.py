"""The debt pipeline under way on day 0 (``debt.arrears_before_start``).

Drawn by the run's own rule over the court lag before day 0, the pipeline makes the judgments of
a run's first ``court_lag_days`` days what they are a lag later in a run that starts empty: the
same process, moved back by one lag. Without it nobody is judged before the lag has passed.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

import scslab
from conftest import busy_rongcheng

LAG = 40
"""The court lag of these runs (days)."""


def _run(before_start: bool, people: int = 40_000) -> scslab.RunResult:
    sc = busy_rongcheng(people=people, days=2 * LAG, seed=11)
    sc = sc.with_mechanism("debt", court_lag_days=LAG, arrears_before_start=before_start)
    return scslab.run(sc)


def _judgments(result: scslab.RunResult | pa.Table) -> np.ndarray:
    metrics = result if isinstance(result, pa.Table) else result.metrics
    return np.asarray(metrics["debt_judgments"].to_pylist(), np.int64)


def test_judgments_start_on_day_0_as_a_lag_later_without_the_pipeline():
    on, off = _run(True), _run(False)
    with_pipeline, empty = _judgments(on), _judgments(off)
    assert empty[:LAG].sum() == 0  # an empty pipeline judges nobody before the lag
    assert with_pipeline[:LAG].sum() > 300
    # the first lag with the pipeline is the second lag without it: the same process
    a, b = with_pipeline[:LAG].sum(), empty[LAG:].sum()
    assert abs(a - b) < 4 * np.sqrt(a + b), (a, b)
    # and the second lag's, both under way
    c = with_pipeline[LAG:].sum()
    assert abs(c - b) < 4 * np.sqrt(c + b), (c, b)


def test_the_summary_and_manifest_count_the_people_in_arrears_at_start():
    on = _run(True, people=5_000)
    carried = on.manifest["set_up"]["debt"]["in_arrears_at_start"]
    assert carried > 0
    assert f"debt: {carried:,} people in arrears on the start date" in on.summary()
    off = _run(False, people=5_000)
    assert "in arrears on the start date" not in off.summary()
    assert "debt" not in off.manifest["set_up"]


def test_a_cycle_that_starts_later_carries_its_pipeline_to_its_first_day():
    first = 25
    sc = busy_rongcheng(people=40_000, days=first + 2 * LAG, seed=11)
    since = sc.meta.start_date + dt.timedelta(days=first)
    sc = sc.with_mechanism("debt", court_lag_days=LAG, arrears_before_start=True, active_from=since)
    result = scslab.run(sc)
    assert set(result.metrics["debt_judgments"].to_pylist()[:first]) == {None}  # not started
    judged = _judgments(result.metrics.slice(first))
    a, b = judged[:LAG].sum(), judged[LAG:].sum()
    assert a > 300 and abs(a - b) < 4 * np.sqrt(a + b), (a, b)
    assert f"in arrears on its first day, {since.isoformat()}" in result.summary()
