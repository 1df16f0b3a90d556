"""Disasters: every attachment flagged, as after a bad ``chown -R``; every file an orphan, as
with an attachments root one level too deep.

    python benchmarks/bench_disaster.py --attachments 1000000 --copies 1 5

Scans the world once (a warm local-disk run), then builds ``inspector report`` from that
state as it is, and from copies of it in which every result row is flagged (Jira cannot read
the file), the rows repeated ``--copies`` times with new ids. Then scans the world once more
with the root set to one project's folder: every row is missing and every file of that project
an orphan. Prints the time of each and the peak memory of the process that builds the report,
so that what a disaster needs can be read against the normal state's in the same run: it must
stay bounded however many rows are flagged or files orphaned.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from common import OUT, REPORT_END, cached_world, clean, failure_lines, inspector_cmd, machine

# `inspector report`, then its own peak RSS on stderr (VmHWM; getrusage of children would
# also count the scan's processes).
REPORT_WITH_PEAK = (
    "import atexit, runpy, sys\n"
    "def peak():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            print('peak_rss_kb', line.split()[1], file=sys.stderr)\n"
    "atexit.register(peak)\n"
    "sys.argv = ['inspector', 'report']\n"
    "runpy.run_module('inspector', run_name='__main__')\n"
)


def flag_everything(src: Path, dst: Path, copies: int) -> int:
    """A copy of the state in which every row is flagged (permissions), the rows ``copies``
    times over with new ids and issues; returns the number of rows."""
    shutil.copy(src, dst)
    with sqlite3.connect(dst) as db:
        db.execute(
            "UPDATE results SET flags = flags | 2, "
            "detail = coalesce(detail || '; ', '') || 'Jira cannot read ' || coalesce(relpath, '?') || ' (bad chown)'"
        )
        columns = [r[1] for r in db.execute("PRAGMA table_info(results)")]
        (top,) = db.execute("SELECT max(id) + 1 FROM results").fetchone()
        shifted = {c: f"{c} + {{k}} * {{top}}" for c in ("id", "issue_id", "issue_num")}
        for k in range(1, copies):
            select = ", ".join(shifted.get(c, c).format(k=k, top=top) for c in columns)
            db.execute(f"INSERT INTO results ({', '.join(columns)}) SELECT {select} FROM results WHERE id < {top}")
        db.commit()
        (rows,) = db.execute("SELECT count(*) FROM results").fetchone()
    return rows


def build_report(env: dict[str, str]) -> tuple[float, float, str]:
    """Seconds and peak RSS (MB) of `inspector report`, and whether it was built again."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", REPORT_WITH_PEAK], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"inspector report failed ({result.returncode}):\n{failure_lines(result.stderr)}")
    peak = next(int(line.split()[1]) for line in result.stderr.splitlines() if line.startswith("peak_rss_kb"))
    again = "yes" if "building it again" in result.stderr else "no"
    return elapsed, peak / 1024, again


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attachments", type=int, default=1_000_000)
    parser.add_argument("--copies", type=int, nargs="+", default=[1, 5], help="how many times the rows are repeated")
    args = parser.parse_args()
    with cached_world(args.attachments) as w:
        runs = OUT / "runs-disaster"
        clean(runs)
        env = w.env(runs)
        scan = subprocess.run(inspector_cmd(), env=env, capture_output=True, text=True)
        if scan.returncode != 0:
            raise SystemExit(f"the scan failed ({scan.returncode}):\n{failure_lines(scan.stderr)}")
        state = runs / "state.sqlite"
        print(f"{args.attachments} attachments scanned; {machine()}\n")
        print("| state | rows | flagged | `inspector report` | peak RSS | built again |\n|---|---|---|---|---|---|")
        seconds, peak, again = build_report(env)
        print(f"| as scanned | {args.attachments} | the world's faults | {seconds:.1f} s | {peak:.1f} MB | {again} |")
        for copies in args.copies:
            flagged = runs / f"flagged-{copies}" / "state.sqlite"
            flagged.parent.mkdir()
            rows = flag_everything(state, flagged, copies)
            env_f = {**env, "INSPECTOR_STATE_DB": str(flagged), "INSPECTOR_REPORT_DIR": str(flagged.parent / "report")}
            seconds, peak, again = build_report(env_f)
            print(f"| every row flagged | {rows} | {rows} | {seconds:.1f} s | {peak:.1f} MB | {again} |")
            shutil.rmtree(flagged.parent)
        os.remove(state)

        wrong = runs / "wrong-root"
        project = sorted(p for p in w.root.iterdir() if p.is_dir())[0]
        env_w = w.env(wrong, root=project, INSPECTOR_LOG_LEVEL="DEBUG")
        started = time.perf_counter()
        scan = subprocess.run(inspector_cmd(), env=env_w, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if scan.returncode != 0:
            raise SystemExit(f"the wrong-root scan failed ({scan.returncode}):\n{failure_lines(scan.stderr)}")
        s = json.loads((wrong / "report/summary.json").read_text())
        peak, report_s = REPORT_END.search(scan.stderr).groups()[::-1]
        print(
            f"\nroot one level too deep ({project.name}/): whole scan {seconds:.1f} s, {s['missing']} missing, "
            f"{s['orphans']} orphans; orphans sized and report written in {report_s} s, parent peak {peak} MB"
        )


if __name__ == "__main__":
    main()
