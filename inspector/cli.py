"""Command line: ``inspector [run]``, ``report``, ``status``, ``restore``, ``demo``.

Argument parsing only: each command lives in ``commands/`` (its parser beside its story, as
borg's ``archiver/*_cmd.py`` do). Configuration comes from ``INSPECTOR_*`` variables (see
``inspector --help``); options only choose what to do. Every failure the user can fix prints
one line and exits with the code of its error class (README, "Exit codes").
"""

from __future__ import annotations

import argparse
import sys

from . import __version__
from .commands import demo, export_query, report, restore, run, status
from .commands._common import EXIT_CODES
from .config import config
from .errors import ConfigError, InspectorError

COMMANDS = {
    "run": run, "report": report, "status": status, "restore": restore, "demo": demo, "export-query": export_query,
}  # fmt: skip


def _variables_help() -> str:
    """Every variable of config.SETTINGS, by section (a source, a storage, the scan, ...)."""
    width = max(len(s.variable) for s in config.SETTINGS)
    lines = ["environment variables:"]
    for section in config.SECTIONS:
        lines.append(f" {section}")
        for s in config.SETTINGS:
            if s.section == section:
                lines.append(f"  {s.variable:<{width}}  {s.help} [default: {s.shown_default()}]")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="inspector",
        description="Check every Jira attachment row against the file on disk: missing, unreadable "
        "for the Jira account, wrong size; and find files no attachment owns.",
        epilog=_variables_help() + "\n\n" + EXIT_CODES,
        formatter_class=fmt,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    parser.set_defaults(commands={name: module.add_parser(sub, fmt) for name, module in COMMANDS.items()})
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = _parser()
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv = ["run", *argv]
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:  # said by the command's own parser: its usage, not the top level's
            args.commands[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:  # argparse already printed its one-line usage error
        return int(exc.code or 0) and ConfigError.exit_code
    try:
        return COMMANDS[args.command].run(args)
    except InspectorError as exc:
        for line in str(exc).splitlines():
            print(f"inspector: error: {line}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:  # Ctrl-C outside a pass
        print("inspector: interrupted", file=sys.stderr)
        return 130
