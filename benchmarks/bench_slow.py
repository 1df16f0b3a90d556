"""Slow network storage: every metadata call costs a fixed latency, as on NFS.

    python benchmarks/bench_slow.py --attachments 20000 --latency-us 1000

Runs the baseline and the inspector on the same world with every stat, open and listing
under the attachments root costing one round trip, then on a mixed tree where one project is
slow and the others are local disk. Prints times and ratios; both must report the same counts.
Then the ceiling: the inspector on the same world with no latency at all (median of three
warm runs). No run on slow storage can be quicker than that, so the all-slow baseline's time
divided by it is the highest ratio this machine allows.

Two emulators (``--emulator``):
- ``shim`` (default): jiraworld/native/latencyshim.c, an LD_PRELOAD library that sleeps in the
  calling thread, so calls in flight overlap the way RPCs do on a real NFS client.
- ``fuse``: jiraworld/native/latencyfs.c, a FUSE pass-through that sleeps in each request (remounted
  before each run, so each starts cold). This kernel's FUSE answers lookups in one folder one
  at a time and serves a few thousand requests a second in all, so it measures FUSE, not us.
  Needs root, /dev/fuse, fuse3 and libfuse3-dev.
"""

from __future__ import annotations

import argparse
import contextlib
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
    median,
    shim_env,
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


def run_pair(w, root, slow, label, extra):
    """``slow()`` is a context giving the extra environment of one run on slow storage."""
    runs = OUT / "runs-slow"
    clean(runs)
    with slow() as env:
        t_base, b = timed(baseline_cmd(), w.env(runs / "baseline", root=root, **env))
    with slow() as env:
        t_ours, _ = timed(inspector_cmd(), w.env(runs / "inspector", root=root, **extra, **env))
    got_b, got_o = counts_of_baseline(b.stdout), counts_of_inspector(runs / "inspector/report")
    if got_b != got_o:
        raise SystemExit(f"the two disagree on {label}: baseline {got_b}, inspector {got_o}")
    print(f"| {label} | {t_base:.1f} s | {t_ours:.1f} s | {t_base / t_ours:.1f}x |", flush=True)
    return got_o, t_base


def ceiling(w, extra, t_slow_base: float, counts: dict) -> None:
    """The inspector without latency: what the all-slow run could at best come down to."""
    runs = OUT / "runs-slow"
    times = []
    for i in range(4):  # the first run only warms the page cache
        clean(runs)
        t, _ = timed(inspector_cmd(), w.env(runs / "inspector", **extra))
        if counts_of_inspector(runs / "inspector/report") != counts:
            raise SystemExit("the inspector without latency found other counts")
        if i:
            times.append(t)
    best = median(times)
    print(f"\nceiling: the inspector with no latency at all takes {best:.2f} s (median of 3), so no run on "
          f"slow storage beats the all-slow baseline by more than {t_slow_base / best:.1f}x here; "
          f"100x would need {t_slow_base / 100:.2f} s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attachments", type=int, default=20_000)
    parser.add_argument("--latency-us", type=int, default=1000)
    parser.add_argument("--emulator", choices=("shim", "fuse"), default="shim")
    parser.add_argument("--checkers", default="2")
    # The product's default (INSPECTOR_CHECKER_THREADS). 128 was used until session 7: with the
    # threads kept between batches, 64 per process is quicker (at 128 more CPU goes to
    # handing the GIL between threads than the extra calls in flight save).
    parser.add_argument("--threads", default="64")
    parser.add_argument("--skip-mixed", action="store_true")
    args = parser.parse_args()
    extra = {"INSPECTOR_CHECKERS": args.checkers, "INSPECTOR_CHECKER_THREADS": args.threads}
    with cached_world(args.attachments) as w:
        print(f"{args.attachments} attachments, {args.latency_us} µs per metadata call ({args.emulator}), "
              f"{machine()}, inspector with {args.checkers} checkers x {args.threads} threads")  # fmt: skip
        print("| tree | baseline | inspector | ratio |\n|---|---|---|---|")
        if args.emulator == "shim":

            def slow(*prefixes):
                return lambda: contextlib.nullcontext(shim_env(args.latency_us, *prefixes))

            counts, t_slow_base = run_pair(w, w.root, slow(w.root), "all on slow storage", extra)
            if not args.skip_mixed:
                run_pair(w, w.root, slow(w.root / "ALPHA"), "ALPHA slow, the rest local", extra)
        else:
            mountpoint = OUT / "slow-mount"

            @contextlib.contextmanager
            def mounted():
                with latency_mount(w.root, mountpoint, args.latency_us):
                    yield {}

            counts, t_slow_base = run_pair(w, mountpoint, mounted, "all on slow storage", extra)
            if not args.skip_mixed:
                run_pair(w, mixed_root(w.root, mountpoint, "ALPHA"), mounted, "ALPHA slow, the rest local", extra)
        print(f"counts (identical in both): {counts}")
        ceiling(w, extra, t_slow_base, counts)


if __name__ == "__main__":
    main()
