"""``inspector report``: the report files built again from the state (also while a scan
runs), one report of a pass split into shards (``--merge``), or the user's own DuckDB query
over the state's views (``--sql``)."""

from __future__ import annotations

import argparse
import csv
import sys
from typing import Any

import orjson

from ..config import config
from ..errors import ConfigError
from ._common import EXIT_CODES, setup_logging


def add_parser(sub: Any, fmt: type) -> argparse.ArgumentParser:
    rep = sub.add_parser(
        "report",
        help="rebuild the report files, or run your own query",
        formatter_class=fmt,
        description="Rebuild the report files from the state file (also while a scan runs), or with "
        "--sql run a DuckDB query over it.\n\nviews for --sql (columns in the README):\n" + _views_help(),
        epilog="uses INSPECTOR_STATE_DB and INSPECTOR_REPORT_DIR only\n\n" + EXIT_CODES,
    )
    rep.add_argument("--sql", help="a DuckDB query over the state; prints the result instead of writing files")
    rep.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output of --sql")
    rep.add_argument(
        "--hash", action="store_true",
        help="with --merge: finish the duplicate search across shards (reads the files whose size only another "
        "shard shares; needs INSPECTOR_ATTACHMENTS_ROOT or the Cloud site, read-only)",
    )  # fmt: skip
    rep.add_argument("--pass", dest="pass_id", type=int, help="report this pass id (default: the newest)")
    rep.add_argument(
        "--merge", nargs="+", metavar="STATE",
        help="one report from the state files of a pass split into shards (files or globs, e.g. "
        "'/state/shard-*.sqlite'); written to INSPECTOR_REPORT_DIR with merged-state.sqlite (with --sql: "
        "the query runs over the merged pass)",
    )  # fmt: skip

    return rep


def run(args: argparse.Namespace) -> int:
    from ..report import merge

    settings = config.report_settings()
    state_db, report_dir = settings.state_db, settings.report_dir
    setup_logging("INFO")
    if args.merge:
        if args.pass_id is not None:
            raise ConfigError("--merge reports each shard's last finished pass: --pass does not apply")
        state_db = merge.merge(args.merge, report_dir)  # with --sql, the query then reads the merged pass
        if args.hash:
            merge.complete_duplicates(state_db)
    elif args.hash:
        raise ConfigError("report --hash completes the duplicate search of a --merge")
    if args.sql is None:
        from ..report import build as report  # DuckDB: imported by the commands that use it

        settle = merge.size_orphans(state_db) if args.merge else None
        summary = report.build(state_db, report_dir, args.pass_id, settle)
        sys.stdout.write(report.summary_text(summary, report_dir))
        return 0
    from ..report.query import query

    names, rows = query(state_db, args.sql, args.pass_id)
    if args.format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(names)
        writer.writerows(rows)
    elif args.format == "json":
        data = [dict(zip(names, row, strict=True)) for row in rows]
        sys.stdout.write(orjson.dumps(data, default=str, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        _print_table(names, rows)
    return 0


def _print_table(names: list[str], rows: list[tuple]) -> None:
    cells = [[("NULL" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(n)] + [len(r[i]) for r in cells]) for i, n in enumerate(names)]
    out = sys.stdout
    out.write("  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)).rstrip() + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for r in cells:
        out.write("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n")
    out.write(f"({len(rows)} row{'s' if len(rows) != 1 else ''})\n")


def _views_help() -> str:
    """The views a --sql query may use, read from the SQL that makes them (so never out of date)."""
    import re

    from .. import sqlfiles

    internal = {"checked", "storage_facts"}
    names = []
    for name in ("report/views", "report/analytics"):
        names += re.findall(r"CREATE OR REPLACE VIEW (\w+)", sqlfiles.load(name))
    shown = [n for n in dict.fromkeys(names) if n not in internal]
    lines, line = [], " "
    for n in shown:
        if len(line) + len(n) + 2 > 100:
            lines.append(line)
            line = " "
        line += f" {n},"
    return "\n".join([*lines, line.rstrip(",")])
