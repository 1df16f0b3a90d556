"""Warm local disk: the whole ``python -m inspector`` run against the baseline, same world.

    python benchmarks/bench_local.py --attachments 200000 --repeat 3

Both produce the full report (lists, orphans) and must agree on every count; each is run
once to warm the page cache, then they alternate. Prints the medians and the ratio.
"""

from __future__ import annotations

import argparse

from common import (
    OUT,
    baseline_cmd,
    cached_world,
    clean,
    counts_of_baseline,
    counts_of_inspector,
    inspector_cmd,
    machine,
    median,
    timed,
)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attachments", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with cached_world(args.attachments) as w:
        runs = OUT / "runs-local"
        ours, base = [], []
        for i in range(args.repeat + 1):  # the first round only warms the caches
            clean(runs)
            t_base, b = timed(baseline_cmd(), w.env(runs / "baseline"))
            t_ours, _ = timed(inspector_cmd(), w.env(runs / "inspector"))
            got_b, got_o = counts_of_baseline(b.stdout), counts_of_inspector(runs / "inspector/report")
            if got_b != got_o:
                raise SystemExit(f"the two disagree: baseline {got_b}, inspector {got_o}")
            if i:
                base.append(t_base)
                ours.append(t_ours)
            print(f"round {i}: baseline {t_base:.2f} s, inspector {t_ours:.2f} s{'' if i else ' (warm-up)'}")
        b, o = median(base), median(ours)
        print(f"\n{args.attachments} attachments, warm local disk, {machine()}")
        print(f"| baseline | inspector | ratio |\n|---|---|---|\n| {b:.2f} s | {o:.2f} s | {b / o:.2f}x |")
        print(f"counts (identical in both): {got_o}")


if __name__ == "__main__":
    main()
