"""One world, three sources: bench_local's 200k world read from PostgreSQL, from MySQL
(MariaDB on 127.0.0.1:3306, the rows copied as they are) and from a CSV export (psql's
\\copy of ``inspector export-query postgres``), in the same run.

For each source: the rows/s of the source alone (its rows streamed in a fresh process, as the
reader does) and the whole ``python -m inspector`` run on the warm disk, alternating, median of
3 after a warm-up; every run must give the same counts.

    python benchmarks/bench_sources.py [--attachments 200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import pymysql
from common import OUT, cached_world, clean, counts_of_inspector, inspector_cmd, machine, median, timed

from inspector.sources import export
from jiraworld import mysqlworld

STREAM = r"""
import json, os, sys, time
from pathlib import Path
from inspector.config import config as c
from inspector.sources import MAX_ID, open_source
cfg = c.from_env()
source = open_source(cfg, "bench")
t = time.perf_counter(); n = sum(len(b) for b in source.rows(0, MAX_ID, 1000)); took = time.perf_counter() - t
source.close()
print(json.dumps({"rows": n, "per_second": n / took}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attachments", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with cached_world(args.attachments) as w:
        root = pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=True)
        name = "bench_sources"
        root.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        started = time.perf_counter()
        mysqlworld.create(root, name)
        mysqlworld.copy_from_postgres(w.cluster.dsn("jira"), root, name)
        rows = OUT / "bench-sources-rows.csv"
        query = " ".join(export.query("postgres").split())
        w.cluster.psql("jira", "-c", f"\\copy ({query}) TO '{rows}' WITH (FORMAT csv, HEADER)")
        print(f"(MySQL copy and CSV export made in {time.perf_counter() - started:.0f} s)", file=sys.stderr)
        runs = OUT / "runs-sources"
        sources = {
            "PostgreSQL": {},
            "MySQL (MariaDB 10.11, PyMySQL)": {"INSPECTOR_DB_DSN": f"mysql://root@127.0.0.1:3306/{name}"},
            "CSV export (INSPECTOR_ROWS_FILE)": {"INSPECTOR_DB_DSN": "", "INSPECTOR_ROWS_FILE": str(rows)},
        }

        def env(label: str, run_dir):
            e = w.env(run_dir, **sources[label])
            if not e["INSPECTOR_DB_DSN"]:
                del e["INSPECTOR_DB_DSN"]
            return e

        rates = {}
        for label in sources:
            clean(runs)
            out = subprocess.run([sys.executable, "-c", STREAM], env=env(label, runs), capture_output=True,
                                 text=True, check=True).stdout  # fmt: skip
            got = json.loads(out)
            assert got["rows"] == args.attachments, got
            rates[label] = got["per_second"]
        walls: dict[str, list[float]] = {label: [] for label in sources}
        counts = None
        for i in range(args.repeat + 1):
            for label in sources:
                clean(runs)
                took, _ = timed(inspector_cmd(), env(label, runs))
                got = counts_of_inspector(runs / "report")
                if counts is not None and got != counts:
                    raise SystemExit(f"{label} disagrees: {got} vs {counts}")
                counts = got
                if i:
                    walls[label].append(took)
        root.cursor().execute(f"DROP DATABASE `{name}`")
    print(f"{args.attachments} attachments, warm local disk, {machine()}\n")
    print("| source | rows/s of the source alone | whole run (median) |\n|---|---|---|")
    for label in sources:
        print(f"| {label} | {rates[label]:,.0f} | {median(walls[label]):.2f} s |")
    print(f"\ncounts (identical in every run): {counts}")


if __name__ == "__main__":
    main()
