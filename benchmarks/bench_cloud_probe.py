"""The cost of one Cloud probe (the size and upload time a hash pass asks the state for, per
file) as the state grows: 10,000 to 500,000 rows, against the lookup by relpath it replaced,
in the same run. The per-probe cost must stay flat.

    python benchmarks/bench_cloud_probe.py [--rows 10000,100000,500000] [--probes 2000]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import time

from common import OUT, machine

from inspector.runtime import readonly
from inspector.state import State
from inspector.storage.cloud import CloudStorage

OLD = "SELECT filesize, created FROM results WHERE relpath = ? ORDER BY pass_id DESC LIMIT 1"


def _state(rows: int):
    path = OUT / f"cloud-probe-{rows}" / "state.sqlite"
    if not path.exists():
        shutil.rmtree(path.parent, ignore_errors=True)
        path.parent.mkdir(parents=True)
        State(path).close()
        with sqlite3.connect(path) as conn:
            conn.execute("INSERT INTO passes (pass_id, status, started_at, attachments_root, jira_url, jira_uid, "
                         "jira_gids) VALUES (1, 'finished', '2026-12-07', 'https://acme.atlassian.net', "
                         "'https://acme.atlassian.net', 0, '0')")  # fmt: skip
            conn.executemany(
                "INSERT INTO results (pass_id, id, issue_exists, filesize, created, relpath, flags) "
                "VALUES (1, ?, 1, ?, 1700000000, ?, 0)",
                ((50_000 + i, i % 9_999, f"P{i % 40}/10000/P{i % 40}-{i // 3}/{50_000 + i}") for i in range(rows)),
            )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", default="10000,100000,500000")
    parser.add_argument("--probes", type=int, default=2000)
    args = parser.parse_args()
    print(f"Cloud probes against the state, {args.probes} random attachments a size, {machine()}")
    print("| rows | by id (now) | by relpath (before) | ratio |\n|---|---|---|---|")
    for rows in (int(n) for n in args.rows.split(",")):
        path = _state(rows)
        rng = random.Random(rows)
        picks = [rng.randrange(rows) for _ in range(args.probes)]
        rels = [f"P{i % 40}/10000/P{i % 40}-{i // 3}/{50_000 + i}" for i in picks]
        storage = CloudStorage(api=None, state_db=path)
        started = time.perf_counter()
        for rel in rels:
            assert storage.probe(rel).errno == 0
        now = (time.perf_counter() - started) / len(rels)
        conn = readonly.connect(path)
        old_probes = rels[: max(20, args.probes // 100)]  # the old lookup is slow: fewer probes
        started = time.perf_counter()
        for rel in old_probes:
            assert conn.execute(OLD, (rel,)).fetchone() is not None
        before = (time.perf_counter() - started) / len(old_probes)
        print(f"| {rows:,} | {now * 1e6:.0f} µs | {before * 1e6:,.0f} µs | {before / now:,.0f}x |")


if __name__ == "__main__":
    main()
