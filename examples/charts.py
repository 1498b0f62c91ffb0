"""Save the report's charts of a small run as PNG files, with no run folder.

``python examples/charts.py [FOLDER]`` writes ``FOLDER/NAME.png`` for each chart (default
folder: ``charts``). Needs Altair and vl-convert: ``pip install 'scslab[notebook]'``. In a
notebook, ``result.charts()["lists"]`` left last in a cell shows the chart itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

import scslab

folder = Path(sys.argv[1] if len(sys.argv) > 1 else "charts")
folder.mkdir(parents=True, exist_ok=True)

result = scslab.run("rongcheng", people=5_000, days=120, seed=2)
for name, chart in result.charts().items():
    path = folder / f"{name}.png"
    chart.save(path, scale_factor=1.5)  # rendered by vl-convert, no browser
    print(f"{path} ({path.stat().st_size:,} bytes)")
