"""Digests of every metric column of every preset: the check that a change left results alone.

    python -m benchmarks.digests OUT.json [PRESET ...]        # write digests (all presets)
    python -m benchmarks.digests --compare BEFORE.json AFTER.json

Each preset runs at 60,000 people for 400 days (long enough for lists, appeals and periodic
passes to act); each column's values are hashed (SHA-256 of their ``repr``, so NaN and None
differ). Run it on two commits and compare: "identical" on every preset means bit for bit.
"""

from __future__ import annotations

import hashlib
import json
import sys

PEOPLE, DAYS = 60_000, 400


def digests(out: str, names: list[str]) -> None:
    """Write ``{preset: {column: digest}}`` for ``names`` (all presets when empty) to ``out``."""
    import scslab

    result = {}
    for name in names or sorted(scslab.presets()):
        sc = scslab.load_scenario(name).with_overrides(people=PEOPLE, days=DAYS)
        table = scslab.run(sc).metrics
        result[name] = {
            col: hashlib.sha256(repr(table.column(col).to_pylist()).encode()).hexdigest()[:16]
            for col in table.column_names
        }
        print(name, flush=True)
    with open(out, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)


def compare(before: str, after: str) -> None:
    """Print, per preset, "identical" or the shared columns that differ, then added or lost ones.

    A new mechanism adds columns (a new data source adds the ledger's ``records_by_*``): the
    verdict is on the columns both runs have, and the new ones are listed apart.
    """
    with open(before) as f:
        a = json.load(f)
    with open(after) as f:
        b = json.load(f)
    for name in sorted(set(a) | set(b)):
        ca, cb = a.get(name, {}), b.get(name, {})
        diff = [c for c in sorted(set(ca) & set(cb)) if ca[c] != cb[c]]
        gone, new = sorted(set(ca) - set(cb)), sorted(set(cb) - set(ca))
        verdict = "identical" if not diff else f"DIFFERS in {len(diff)} columns: {diff[:12]}"
        extra = (f"; new columns: {new[:12]}" if new else "") + (
            f"; columns gone: {gone[:12]}" if gone else ""
        )
        print(name, verdict + extra)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--compare":
        compare(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 2 and not sys.argv[1].startswith("-"):
        digests(sys.argv[1], sys.argv[2:])
    else:
        sys.exit(__doc__)
