"""Slow network storage: every metadata request costs a fixed latency (latencyfs, FUSE).

    python benchmarks/bench_slow.py --attachments 20000 --latency-us 1000

Runs the baseline and the inspector on the same world served through latencyfs (remounted
before each run, so each starts with cold kernel caches), then on a mixed tree where one
project lives on the slow mount and the others on local disk. Prints times and ratios.
Needs root, /dev/fuse, gcc, fuse3 and libfuse3-dev.
"""

from __future__ import annotations

import argparse
import os
import shutil

from common import (
    OUT,
    baseline_cmd,
    cached_world,
    clean,
    counts_of_baseline,
    counts_of_inspector,
    inspector_cmd,
    latency_mount,
    machine,
    timed,
)  # fmt: skip


def mixed_root(world_root, mount, slow_project: str):
    """A root whose project folders are symlinks: one to the slow mount, the rest local."""
    root = OUT / "mixed-root"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    os.chown(root, 2001, 2001)
    for entry in sorted(os.listdir(world_root)):
        target = (mount if entry == slow_project else world_root) / entry
        os.symlink(target, root / entry)
    return root


def run_pair(w, root, mount_source, mountpoint, latency_us, label, extra):
    runs = OUT / "runs-slow"
    clean(runs)
    with latency_mount(mount_source, mountpoint, latency_us):
        t_base, b = timed(baseline_cmd(), w.env(runs / "baseline", root=root))
    with latency_mount(mount_source, mountpoint, latency_us):
        t_ours, _ = timed(inspector_cmd(), w.env(runs / "inspector", root=root, **extra))
    got_b, got_o = counts_of_baseline(b.stdout), counts_of_inspector(runs / "inspector/report")
    if got_b != got_o:
        raise SystemExit(f"the two disagree on {label}: baseline {got_b}, inspector {got_o}")
    print(f"| {label} | {t_base:.1f} s | {t_ours:.1f} s | {t_base / t_ours:.1f}x |", flush=True)
    return got_o


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attachments", type=int, default=20_000)
    parser.add_argument("--latency-us", type=int, default=1000)
    parser.add_argument("--checkers", default="2")
    parser.add_argument("--threads", default="64")
    parser.add_argument("--skip-mixed", action="store_true")
    args = parser.parse_args()
    extra = {"INSPECTOR_CHECKERS": args.checkers, "INSPECTOR_CHECKER_THREADS": args.threads}
    with cached_world(args.attachments) as w:
        mountpoint = OUT / "slow-mount"
        print(f"{args.attachments} attachments, {args.latency_us} µs per request, {machine()}, "
              f"inspector with {args.checkers} checkers x {args.threads} threads")  # fmt: skip
        print("| tree | baseline | inspector | ratio |\n|---|---|---|---|")
        counts = run_pair(w, mountpoint, w.root, mountpoint, args.latency_us, "all on slow storage", extra)
        if not args.skip_mixed:
            root = mixed_root(w.root, mountpoint, "ALPHA")
            run_pair(w, root, w.root, mountpoint, args.latency_us, "ALPHA slow, the rest local", extra)
        print(f"counts (identical in both): {counts}")


if __name__ == "__main__":
    main()
