"""Example analysis for the SPE demo: a crosstab of cancer stage by vital status.

Runs inside a workspace job (no network; data/ is read-only). Reads the staged, pseudonymised demo
registry and writes an aggregate table to outputs/, the only place egress can take files from.
Usage in the workspace: python3 home/crosstab.py
"""
import collections
import csv
import pathlib

DATA = pathlib.Path("data/ds-oncology-demo/registry.csv")
OUT = pathlib.Path("outputs/stage_by_vital_status.csv")

with DATA.open(newline="", encoding="utf-8") as f:
    rows = list(csv.DictReader(f))

counts = collections.Counter((r["stage"], r["vital_status"]) for r in rows)
stages = sorted({s for s, _ in counts})
statuses = sorted({v for _, v in counts})

OUT.parent.mkdir(exist_ok=True)
with OUT.open("w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["stage", *statuses, "total"])
    for s in stages:
        row = [counts[(s, v)] for v in statuses]
        w.writerow([s, *row, sum(row)])

print(f"{len(rows)} records; wrote {OUT} ({len(stages)} stages x {len(statuses)} statuses)")
