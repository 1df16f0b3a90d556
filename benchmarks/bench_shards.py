"""Shards: the same world on slow storage (every metadata call 1 ms, the LD_PRELOAD latency
shim) checked by one run and by 3 shards (INSPECTOR_SHARDS=3, three processes on this one
machine, as three pods), then merged with ``inspector report --merge``.

On one machine the shards share its two cores and its one emulated storage, so they cannot
show the speedup of three nodes; what this shows is that the merge costs little and that the
shares are balanced: each shard's rows and walked folders against an equal share (target:
within 10%), and the merged counts equal to the single run's. Output: Markdown for RESULTS.md.
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import time

from common import OUT, cached_world, clean, counts_of_inspector, inspector_cmd, machine, shim_env, timed

SHARDS = 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attachments", type=int, default=100_000)
    parser.add_argument("--latency-us", type=int, default=1000)
    args = parser.parse_args()
    with cached_world(args.attachments) as w:
        runs = OUT / "runs-shards"
        clean(runs)
        slow = shim_env(args.latency_us, w.root)
        single_s, _ = timed(inspector_cmd(), w.env(runs / "single", **slow))
        # One shard with the machine to itself: what each pod on its own node would take.
        alone_env = w.env(runs / "alone", **slow, INSPECTOR_SHARDS=str(SHARDS), INSPECTOR_SHARD_INDEX="0")
        alone_s, _ = timed(inspector_cmd(), alone_env)
        started = time.perf_counter()
        procs = []
        for i in range(SHARDS):
            env = w.env(runs / f"shard-{i}", **slow, INSPECTOR_SHARDS=str(SHARDS), INSPECTOR_SHARD_INDEX=str(i))
            procs.append(subprocess.Popen(inspector_cmd(), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                          text=True))  # fmt: skip
        for proc in procs:
            _, err = proc.communicate()
            if proc.returncode:
                raise SystemExit(err[-3000:])
        shards_s = time.perf_counter() - started
        merge_env = w.env(runs / "merged")
        states = [str(runs / f"shard-{i}" / "state.sqlite") for i in range(SHARDS)]
        merge_s, _ = timed([*inspector_cmd(), "report", "--merge", *states], merge_env)
        single, merged = counts_of_inspector(runs / "single/report"), counts_of_inspector(runs / "merged/report")
        if single != merged:
            raise SystemExit(f"merged counts differ: single {single}, merged {merged}")
        rows, folders = [], []
        for state in states:
            with sqlite3.connect(state) as conn:
                rows.append(conn.execute("SELECT count(*) FROM results").fetchone()[0])
                walked = {"/".join(r[0].split("/")[:3]) for r in conn.execute("SELECT relpath FROM disk_files")}
                folders.append(len(walked))
    print(f"{args.attachments} attachments, every metadata call {args.latency_us} µs (latency shim), {machine()}")
    print("| run | wall |\n|---|---|")
    print(f"| one run | {single_s:.1f} s |")
    print(f"| one shard of 3 alone (a pod with its own node) | {alone_s:.1f} s |")
    print(f"| 3 shards at once, same machine | {shards_s:.1f} s |")
    print(f"| merge of the 3 (report included) | {merge_s:.1f} s |")
    for name, shares in (("rows", rows), ("issue folders walked", folders)):
        equal = sum(shares) / SHARDS
        worst = max(abs(s - equal) / equal for s in shares)
        print(f"\n{name} per shard: {shares} (equal share {equal:.0f}; worst {worst:.1%} off)")
    print(f"\ncounts: {single} (single run and merge alike)")


if __name__ == "__main__":
    main()
