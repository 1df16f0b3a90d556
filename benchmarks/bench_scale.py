"""Scale: memory per process at 100k and 1M attachments, the reader's query plan and database
connections, and the time of ``inspector report`` on each state (``--report-runs`` runs, the median
and every run printed: one run says little on a machine this noisy).

    python benchmarks/bench_scale.py --small 100000 --large 1000000

Peak RSS is each process's VmHWM (read by the process itself at its end); connections are
sampled from pg_stat_activity every 20 ms while the scan runs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import threading
import time

import psycopg
from common import OUT, REPORT_END, STAGE_END, cached_world, clean, failure_lines, inspector_cmd, machine

from inspector import sqlfiles


def scan(w, pool_size: str, report_runs: int) -> dict:
    runs = OUT / f"runs-scale-{w.expected['total_attachments']}"
    clean(runs)
    env = w.env(runs, INSPECTOR_LOG_LEVEL="DEBUG", INSPECTOR_DB_POOL_SIZE=pool_size)
    peak_conns, stop = [0], threading.Event()

    def sample():
        with psycopg.connect(w.cluster.dsn("jira"), autocommit=True) as conn:
            while not stop.is_set():
                (n,) = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'jira-attachment-inspector%'"
                ).fetchone()
                peak_conns[0] = max(peak_conns[0], n)
                time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    result = subprocess.run(inspector_cmd(), env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    stop.set()
    sampler.join()
    if result.returncode != 0:
        raise SystemExit(f"the scan failed ({result.returncode}):\n{failure_lines(result.stderr)}")
    peaks: dict[str, float] = {}
    for name, _, _, _, mb in STAGE_END.findall(result.stderr):
        peaks[name] = max(peaks.get(name, 0.0), float(mb))
    _, parent_mb = REPORT_END.search(result.stderr).groups()
    peaks["parent"] = float(parent_mb)
    rebuilds = []
    for _ in range(report_runs):
        t0 = time.perf_counter()
        rebuilt = subprocess.run([*inspector_cmd(), "report"], env=env, capture_output=True, text=True)
        rebuilds.append(time.perf_counter() - t0)
        if rebuilt.returncode != 0:
            raise SystemExit(f"inspector report failed ({rebuilt.returncode}):\n{failure_lines(rebuilt.stderr)}")
    return {"seconds": elapsed, "peaks": peaks, "connections": peak_conns[0], "report_rebuilds": rebuilds}


def plan(w) -> str:
    """The plan of the reader's cursor as PostgreSQL runs it. Explained as a cursor, not as a
    plain SELECT: a cursor gets no parallel workers and is planned for fetching in parts, so
    a plain EXPLAIN shows another plan (at 1M, a parallel one) than the reader's."""
    with psycopg.connect(w.cluster.dsn("jira", user="inspector_ro")) as conn, conn.transaction():
        rows = conn.execute(
            "EXPLAIN (ANALYZE, BUFFERS) DECLARE inspector_attachments NO SCROLL CURSOR FOR "
            + sqlfiles.load("postgres/attachments_segment"),
            {"after": 0, "until": 10**18 - 1, "limit": 100_000, "shards": 1, "shard": 0},
        ).fetchall()
    return "\n".join(r[0] for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--pool-size", default="2")
    parser.add_argument("--report-runs", type=int, default=5, help="`inspector report` runs timed per state")
    args = parser.parse_args()
    results = {}
    for n in (args.small, args.large):
        with cached_world(n) as w:
            results[n] = scan(w, args.pool_size, args.report_runs)
            if n == args.large:
                query_plan = plan(w)
    small, large = results[args.small], results[args.large]
    print(f"machine: {machine()}\n")
    print(f"| process | peak RSS at {args.small} | peak RSS at {args.large} | ratio |\n|---|---|---|---|")
    for name in sorted(large["peaks"]):
        a, b = small["peaks"].get(name, 0), large["peaks"][name]
        print(f"| {name} | {a:.1f} MB | {b:.1f} MB | {b / a:.2f} |")
    for n, r in results.items():
        runs = ", ".join(f"{t:.2f}" for t in r["report_rebuilds"])
        print(f"\n{n} attachments: scan {r['seconds']:.1f} s, `inspector report` median "
              f"{statistics.median(r['report_rebuilds']):.2f} s ({runs} s), "
              f"at most {r['connections']} database connections (pool size {args.pool_size})")  # fmt: skip
    print(f"\nreader query plan, one 100k-row segment of {args.large}:\n{query_plan}")


if __name__ == "__main__":
    main()
