"""INSPECTOR_ROWS_FILE at scale: a CSV export of 100,000 and 1,000,000 attachment rows (names
with commas, quotes and unicode) checked whole and then streamed as the reader does, each in a
fresh process: rows/s of each read and the process's peak RSS, which must not grow with the file.

    python benchmarks/bench_rowsfile.py [--rows 100000,1000000]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys

from common import OUT, machine

MEASURE = r"""
import json, resource, sys, time
from pathlib import Path
from inspector.config import config as c
from inspector.sources.rowsfile import RowsFileSource
cfg = c.defaults(rows_file=Path(sys.argv[1]))
source = RowsFileSource(cfg, "bench")
t = time.perf_counter(); n = source.estimate(); checked = time.perf_counter() - t
t = time.perf_counter(); streamed = sum(len(b) for b in source.rows(0, 10**18, 1000)); took = time.perf_counter() - t
assert streamed == n
print(json.dumps({"rows": n, "check": n / checked, "stream": n / took,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def write(path, rows: int) -> None:
    rng = random.Random(3)
    with open(path, "w", encoding="utf-8", newline="") as out:
        w = csv.writer(out)
        w.writerow(
            [
                "id",
                "issue_id",
                "issue_exists",
                "issue_num",
                "project_id",
                "project_key",
                "original_key",
                "project_name",
                "issue_summary",
                "filename",
                "filesize",
                "mimetype",
                "author",
                "created",
            ]
        )
        for i in range(rows):
            w.writerow(
                [
                    100_000 + i,
                    10_000 + i // 2,
                    1,
                    i // 2 + 1,
                    10_000 + i % 20,
                    f"P{i % 20}",
                    f"P{i % 20}",
                    f'Project "{i % 20}", the one',
                    f"Issue {i}",
                    f"file, {i} ünïcødé.pdf",
                    rng.randrange(1, 10**7),
                    "application/pdf",
                    f"user{i % 50}",
                    1_600_000_000 + i,
                ]
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", default="100000,1000000")
    args = parser.parse_args()
    print(f"INSPECTOR_ROWS_FILE, {machine()}\n\n| rows | file | check (rows/s) | stream (rows/s) | peak RSS |")
    print("|---|---|---|---|---|")
    for rows in (int(r) for r in args.rows.split(",")):
        path = OUT / f"rows-{rows}.csv"
        OUT.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            write(path, rows)
        out = json.loads(subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True,
                                        check=True).stdout)  # fmt: skip
        print(
            f"| {rows:,} | {path.stat().st_size / 1e6:.0f} MB | {out['check']:,.0f} | {out['stream']:,.0f} "
            f"| {out['rss_mb']:.0f} MB |"
        )


if __name__ == "__main__":
    main()
