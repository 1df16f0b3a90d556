"""Content hashing (--hash): the bandwidth cap holds, and a second pass re-reads nothing unchanged.

    python benchmarks/bench_hash.py --pairs 20 --mib 8 --cap 40

A cached world gets ``pairs`` pairs of identical random files of ``mib`` MiB (written once).
Three runs, each a full pass: uncapped, capped at ``--cap`` MB/s, and a second pass on the
capped run's state. The inspector's own log line ("hashing: N bytes read in T s") gives the
figures; the duplicate groups found must equal the pairs planted plus the world's own.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import stat

import psycopg
from common import OUT, cached_world, clean, inspector_cmd, machine, timed

HASHED = re.compile(r"hashing: (\d+) bytes read in ([\d.]+) s")


def _plant(w, pairs: int, mib: int) -> None:
    marker = w.base / f"hashset-{pairs}x{mib}.json"
    if marker.exists():
        return
    files = []
    for folder, _dirs, names in sorted(os.walk(w.root)):
        if os.stat(folder).st_mode & 0o005 != 0o005:
            continue  # a folder Jira cannot enter
        for name in sorted(names):
            path = os.path.join(folder, name)
            st = os.lstat(path)
            if name.isdigit() and int(name) < 900_000_000 and stat.S_ISREG(st.st_mode) and st.st_mode & 0o004:
                files.append((int(name), path))
    rng = random.Random(5)
    chosen = rng.sample(files, 2 * pairs)
    with psycopg.connect(w.cluster.dsn("jira"), autocommit=True) as conn:
        for i in range(pairs):
            data = rng.randbytes(mib * 1024 * 1024)
            for aid, path in chosen[2 * i : 2 * i + 2]:
                with open(path, "wb") as f:
                    f.write(data)
                conn.execute("UPDATE fileattachment SET filesize = %s WHERE id = %s", (len(data), aid))
    marker.write_text(json.dumps({"ids": [a for a, _ in chosen]}))


def _run(w, run_dir, fresh: bool, **extra: str) -> tuple[int, float, dict]:
    if fresh:
        clean(run_dir)
    _, result = timed([*inspector_cmd(), "run", "--hash"], w.env(run_dir, INSPECTOR_CHECKERS="2", **extra))
    m = HASHED.search(result.stderr)
    summary = json.loads((run_dir / "report/summary.json").read_text())
    return int(m[1]), float(m[2]), summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attachments", type=int, default=5000)
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--mib", type=int, default=8)
    parser.add_argument("--cap", type=float, default=40.0, help="INSPECTOR_HASH_MAX_MBPS of the capped run")
    args = parser.parse_args()
    with cached_world(args.attachments, seed=9) as w:
        _plant(w, args.pairs, args.mib)
        runs = OUT / "runs-hash"
        free_bytes, free_s, free = _run(w, runs / "uncapped", True)
        cap_bytes, cap_s, capped = _run(w, runs / "capped", True, INSPECTOR_HASH_MAX_MBPS=str(args.cap))
        again_bytes, again_s, again = _run(w, runs / "capped", False, INSPECTOR_HASH_MAX_MBPS=str(args.cap))
    if not (free["duplicate_groups"] == capped["duplicate_groups"] == again["duplicate_groups"] >= args.pairs):
        raise SystemExit(f"duplicate groups differ: {free['duplicate_groups']}, {capped['duplicate_groups']}, "
                         f"{again['duplicate_groups']}")  # fmt: skip
    rate = cap_bytes / cap_s / 1e6
    print(f"machine: {machine()}")
    print("| run | bytes read | hashing time | rate |")
    print("|---|---|---|---|")
    print(f"| uncapped | {free_bytes / 1e6:.1f} MB | {free_s:.2f} s | {free_bytes / free_s / 1e6:.1f} MB/s |")
    print(f"| cap {args.cap:g} MB/s | {cap_bytes / 1e6:.1f} MB | {cap_s:.2f} s | {rate:.1f} MB/s |")
    print(f"| second pass, nothing changed | {again_bytes} B | {again_s:.2f} s | - |")
    print(f"duplicate groups: {free['duplicate_groups']} ({free['duplicate_bytes'] / 1e6:.1f} MB in copies)")
    if rate > args.cap * 1.05:
        raise SystemExit(f"the cap was not honoured: {rate:.1f} MB/s > {args.cap} MB/s")
    if again_bytes:
        raise SystemExit(f"the second pass re-read {again_bytes} bytes of unchanged files")


if __name__ == "__main__":
    main()
