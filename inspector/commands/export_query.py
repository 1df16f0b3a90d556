"""``inspector export-query DATABASE [--schema NAME]``: print the one SELECT whose result, saved
as CSV, is an ``INSPECTOR_ROWS_FILE`` (the path for Jira on SQL Server or Oracle; the README
shows each database's command to save it)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import ConfigError
from ..sources import export
from ._common import EXIT_CODES


def add_parser(sub: Any, fmt: type) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "export-query",
        help="print the SELECT that exports the attachment rows as CSV, for INSPECTOR_ROWS_FILE",
        formatter_class=fmt,
        description="Print one SELECT (no trailing semicolon) in the dialect of Jira's database, with exactly "
        "the columns the inspector reads, ordered by id. Save its result as CSV (UTF-8, a header row; the "
        "README shows the command for each database) and scan with INSPECTOR_ROWS_FILE set to that file.",
        epilog=EXIT_CODES,
    )
    parser.add_argument("database", choices=export.DIALECTS, help="the database Jira runs on")
    parser.add_argument("--schema", help="the schema holding Jira's tables (SQL Server: often dbo)")
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        sys.stdout.write(export.query(args.database, args.schema) + "\n")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return 0
