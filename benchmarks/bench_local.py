"""Warm local disk: the whole ``python -m inspector`` run against the baseline, same world.

    python benchmarks/bench_local.py --attachments 200000 --repeat 3

Both produce the full report (lists, orphans) and must agree on every count; each is run
once to warm the page cache, then they alternate. Prints the best wall and CPU of each (all
processes, user + sys) and the ratios, then where the inspector's time goes in one more run
at DEBUG: the report, and the CPU its stages spend, which on this machine's cores cannot
take less than CPU / cores of wall time.
"""

from __future__ import annotations

import argparse
import os

from common import (
    OUT,
    REPORT_END,
    STAGE_END,
    baseline_cmd,
    cached_world,
    clean,
    counts_of_baseline,
    counts_of_inspector,
    inspector_cmd,
    machine,
    timed,
    timed_cpu,
)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attachments", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with cached_world(args.attachments) as w:
        runs = OUT / "runs-local"
        ours, base, cpu_ours, cpu_base = [], [], [], []
        for i in range(args.repeat + 1):  # the first round only warms the caches
            clean(runs)
            t_base, c_base, b = timed_cpu(baseline_cmd(), w.env(runs / "baseline"))
            t_ours, c_ours, _ = timed_cpu(inspector_cmd(), w.env(runs / "inspector"))
            got_b, got_o = counts_of_baseline(b.stdout), counts_of_inspector(runs / "inspector/report")
            if got_b != got_o:
                raise SystemExit(f"the two disagree: baseline {got_b}, inspector {got_o}")
            if i:
                base.append(t_base)
                ours.append(t_ours)
                cpu_base.append(c_base)
                cpu_ours.append(c_ours)
            print(f"round {i}: baseline {t_base:.2f} s ({c_base:.2f} s CPU), inspector {t_ours:.2f} s "
                  f"({c_ours:.2f} s CPU){'' if i else ' (warm-up)'}")  # fmt: skip
        b, o = min(base), min(ours)
        cb, co = min(cpu_base), min(cpu_ours)
        us = 1e6 / args.attachments
        print(f"\n{args.attachments} attachments, warm local disk, {machine()}, best of {args.repeat}")
        print("| | wall | CPU (user + sys, all processes) | CPU per attachment |\n|---|---|---|---|")
        print(f"| baseline | {b:.2f} s | {cb:.2f} s | {cb * us:.1f} µs |")
        print(f"| inspector | {o:.2f} s | {co:.2f} s | {co * us:.1f} µs |")
        print(f"| ratio | **{b / o:.2f}x** | {cb / co:.2f}x | |")
        print(f"counts (identical in both): {got_o}")
        breakdown(w, runs, b)


def breakdown(w, runs, t_base: float) -> None:
    """One more inspector run at DEBUG: what its report and its stages' CPU take."""
    clean(runs)
    _, result = timed(inspector_cmd(), w.env(runs / "inspector", INSPECTOR_LOG_LEVEL="DEBUG"))
    stages = [(name, float(user) + float(system)) for name, _, user, system, _ in STAGE_END.findall(result.stderr)]
    report = REPORT_END.search(result.stderr)
    if not stages or not report:
        raise SystemExit("the DEBUG run logged no stage or report timings")
    cpu = sum(seconds for _, seconds in stages)
    cores = os.cpu_count() or 1
    per_stage = ", ".join(f"{name} {seconds:.2f}" for name, seconds in stages)
    print(f"\nwhere the time goes (one run at DEBUG): report {float(report.group(1)):.2f} s; the stages' CPU "
          f"{cpu:.2f} s ({per_stage}), at least {cpu / cores:.2f} s of wall time on {cores} cores; "
          f"3x the baseline needs the whole run in {t_base / 3:.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
