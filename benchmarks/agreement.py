"""Do scslab, Mesa and Starsim implement the same reference model? A statistical check.

Each framework runs the reference model for several seeds; for every daily output we compare the
mean over seeds of scslab with each peer's, in units of the standard error of the difference
(count outputs have their variance floored at the Poisson variance, since a few seeds
underestimate it). The verdict uses the final day (|z| < 4); the largest |z| over all days is
reported too, but days are strongly correlated, so it is information, not a test.

    python -m benchmarks.agreement --people 30000 --days 365 --seeds 5
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from benchmarks import scslab_reference
from benchmarks.peers import mesa_reference, starsim_reference

METRICS = ["mean_score", "list_size", "household_members_of_listed", "blocked_purchases"]
BUILDERS = {
    "scslab": scslab_reference.build,
    "mesa": mesa_reference.build,
    "starsim": starsim_reference.build,
}


def check(people: int, days: int, n_seeds: int, z_limit: float = 4.0) -> dict:
    """Run every framework for ``n_seeds`` seeds and compare scslab with each peer."""
    runs = {
        fw: [build(people, days, seed).run() for seed in range(1, n_seeds + 1)]
        for fw, build in BUILDERS.items()
    }
    report: dict = {"people": people, "days": days, "seeds": n_seeds, "pairs": {}, "ok": True}
    base = {m: np.stack([df[m].to_numpy(float) for df in runs["scslab"]]) for m in METRICS}
    for peer in ("mesa", "starsim"):
        rows = {}
        for m in METRICS:
            a = base[m]
            b = np.stack([df[m].to_numpy(float) for df in runs[peer]])
            va, vb = a.var(axis=0, ddof=1), b.var(axis=0, ddof=1)
            if m != "mean_score":
                va, vb = np.maximum(va, a.mean(axis=0)), np.maximum(vb, b.mean(axis=0))
            se = np.sqrt(va / n_seeds + vb / n_seeds)
            diff = a.mean(axis=0) - b.mean(axis=0)
            z = np.divide(diff, se, out=np.zeros_like(diff), where=se > 0)
            rows[m] = {
                "scslab": round(float(a[:, -1].mean()), 3),
                peer: round(float(b[:, -1].mean()), 3),
                "final_z": round(float(z[-1]), 2),
                "max_abs_z": round(float(np.abs(z).max()), 2),
            }
            report["ok"] &= bool(abs(z[-1]) < z_limit)
        report["pairs"][peer] = rows
    return report


def main() -> None:
    """Command line: print the agreement report as one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=30_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(check(args.people, args.days, args.seeds)))


if __name__ == "__main__":
    main()
