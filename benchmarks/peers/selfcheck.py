"""Statistical agreement check between the Mesa and Starsim reference models.

Runs several seeds of each peer at a given size and compares the daily
mean_score, list_size and household_members_of_listed trajectories: for each
day, z = (mean_mesa - mean_starsim) / sqrt(se_mesa^2 + se_starsim^2) over
seeds (for the count metrics the per-day variance is floored at the Poisson
variance, since a handful of seeds badly underestimates it when counts are
small). The pass/fail verdict uses the final-day z only (|z| < 4); the max |z|
over days is informational (days are strongly correlated). Also checks offence
and record rates against their analytic values
(offences 0.0045 and records 0.0045 * (0.5 + 0.5 * (1 - 0.99**8)) ~= 0.002424
per person-day).

    python -m benchmarks.peers.selfcheck --people 3000 --days 365 --seeds 5
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from benchmarks.peers import mesa_reference, starsim_reference

METRICS = ["mean_score", "list_size", "household_members_of_listed", "blocked_purchases"]
P_OFFENCE = 0.003 * 1.5
P_RECORD = P_OFFENCE * (0.5 + 0.5 * (1 - 0.99**8))


def _runs(people: int, days: int, seeds: list[int]):
    out = {"mesa": [], "starsim": []}
    rates = {"mesa": [0, 0], "starsim": [0, 0]}
    for seed in seeds:
        m = mesa_reference.build(people, days, seed)
        out["mesa"].append(m.run())
        rates["mesa"][0] += m.offences
        rates["mesa"][1] += m.records
        s = starsim_reference.build(people, days, seed)
        out["starsim"].append(s.run())
        res = s.sim.results.socialcredit
        rates["starsim"][0] += int(res.new_offences.values.sum())
        rates["starsim"][1] += int(res.new_records.values.sum())
    return out, rates


def check(people: int, days: int, n_seeds: int, z_limit: float = 4.0) -> dict:
    seeds = list(range(1, n_seeds + 1))
    out, rates = _runs(people, days, seeds)
    person_days = people * days * n_seeds
    report = {"people": people, "days": days, "seeds": n_seeds, "metrics": {}, "rates": {}}
    ok = True
    for fw, (off, rec) in rates.items():
        # Binomial z-scores against the analytic per-person-day rates.
        z_off = (off - P_OFFENCE * person_days) / np.sqrt(P_OFFENCE * (1 - P_OFFENCE) * person_days)
        z_rec = (rec - P_RECORD * person_days) / np.sqrt(P_RECORD * (1 - P_RECORD) * person_days)
        report["rates"][fw] = {
            "offences_per_person_day": off / person_days,
            "records_per_person_day": rec / person_days,
            "z_offences": round(float(z_off), 2),
            "z_records": round(float(z_rec), 2),
        }
        ok &= abs(z_off) < z_limit and abs(z_rec) < z_limit
    for metric in METRICS:
        a = np.stack([df[metric].to_numpy(float) for df in out["mesa"]])
        b = np.stack([df[metric].to_numpy(float) for df in out["starsim"]])
        va, vb = a.var(axis=0, ddof=1), b.var(axis=0, ddof=1)
        if metric != "mean_score":
            # Counts: floor the (few-seed) sample variance at the Poisson variance, else
            # days with tiny counts (e.g. 3,3,3,3 vs 2,2,2,2) give spuriously huge z.
            va, vb = np.maximum(va, a.mean(axis=0)), np.maximum(vb, b.mean(axis=0))
        se = np.sqrt(va / n_seeds + vb / n_seeds)
        diff = a.mean(axis=0) - b.mean(axis=0)
        valid = se > 0
        z = np.zeros_like(diff)
        z[valid] = diff[valid] / se[valid]
        report["metrics"][metric] = {
            "final_mesa": float(a[:, -1].mean()),
            "final_starsim": float(b[:, -1].mean()),
            "final_z": round(float(z[-1]), 2),
            "max_abs_z": round(float(np.abs(z).max()), 2),
            "frac_days_abs_z_gt_3": round(float((np.abs(z) > 3).mean()), 3),
        }
        ok &= abs(z[-1]) < z_limit
    report["ok"] = bool(ok)
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=3000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(check(args.people, args.days, args.seeds), indent=1))
