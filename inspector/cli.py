"""Command line: ``inspector [run]``, ``inspector report [--sql]``, ``inspector demo``.

Configuration comes from ``INSPECTOR_*`` variables (see ``inspector --help``); options only
choose what to do. Every failure the user can fix prints one line and exits with the code
of its error class (README, "Exit codes").
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import logging
import logging.handlers
import sys
import time

import orjson

from . import __version__, config, report
from .errors import ConfigError, InspectorError
from .settings import unknown_variables

log = logging.getLogger("inspector")

EXIT_CODES = """exit codes:
  0  finished          2  configuration or usage error   3  database error
  4  state file error  5  a pipeline process failed      6  report or query error
  7  the attachments storage stopped answering (stats hang past INSPECTOR_STAT_TIMEOUT, or S3 failed
     for INSPECTOR_RETRY_TIMEOUT), or restore's backup did (INSPECTOR_RESTORE_RETRY_TIMEOUT)
  8  restore finished, but some attachments could not be copied (restore-plan.txt says why)
  130/143  stopped by SIGINT/SIGTERM (progress kept; the next run resumes)
  1  unexpected internal error (a bug: please report it with the traceback)"""


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

    run = sub.add_parser(
        "run",
        help="scan once and write the report (the default command)",
        formatter_class=fmt,
        description="Scan Jira's attachments, resuming an unfinished pass, then write the report.",
        epilog="settings come from INSPECTOR_* variables: `inspector --help` lists them all\n\n" + EXIT_CODES,
    )
    run.add_argument("--fresh", action="store_true", help="abandon an unfinished pass and start a new one")
    run.add_argument(
        "--hash", action="store_true",
        help="also find duplicates by content (as INSPECTOR_HASH=1): reads files that share a size",
    )  # fmt: skip
    run.add_argument(
        "--loop", action="store_true",
        help="run pass after pass (INSPECTOR_REPEAT apart, default 24h); each pass checks new attachments first",
    )  # fmt: skip

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

    status = sub.add_parser(
        "status",
        help="show the current or last pass (safe while a scan runs)",
        formatter_class=fmt,
        description="Show the current or last pass from the state file: its phase, how far the reader is, "
        "what it has found so far, and the maintenance windows. Reads the state read-only: safe while a scan "
        "runs.",
        epilog="uses INSPECTOR_STATE_DB only\n\n" + EXIT_CODES,
    )
    status.add_argument("--json", action="store_true", help="print JSON instead of text")

    restore = sub.add_parser(
        "restore",
        help="bring missing and corrupted attachments back from a backup (a plan, or --apply)",
        formatter_class=fmt,
        description="Look up the attachments a finished pass flagged missing or corrupted in a backup "
        "of Jira's attachments folder, and write the plan (restore-plan.txt, and restore-permissions.sh "
        "for files only Jira's account cannot read). With --apply, copy every restorable file into place: "
        "verified, never over a good file, resumable.",
        epilog="uses INSPECTOR_ATTACHMENTS_ROOT, INSPECTOR_STATE_DB, INSPECTOR_REPORT_DIR, the restore "
        "settings and, for s3://, the AWS variables (inspector --help lists them)\n\n" + EXIT_CODES,
    )
    restore.add_argument(
        "--from", dest="source", required=True, metavar="SOURCE",
        help="the backup: a folder holding a copy of the attachments tree, sftp://user@host[:port]/path "
        "or s3://bucket/prefix",
    )  # fmt: skip
    restore.add_argument("--apply", action="store_true", help="copy the restorable files (default: only plan)")
    restore.add_argument("--pass", dest="pass_id", type=int, help="restore the findings of this pass "
                         "(default: the last finished one)")  # fmt: skip
    restore.add_argument("--only", default="missing,corrupted", help="findings to restore [missing,corrupted]")

    demo = sub.add_parser(
        "demo",
        help="build a small Jira world with known faults in a throwaway PostgreSQL and scan it",
        formatter_class=fmt,
        description="Build a small Jira world with known faults (missing, unreadable, wrong-size files, "
        "orphans, duplicates) in a throwaway PostgreSQL, scan it with duplicate hashing on, and print what "
        "was planted beside what was found. Only ever in a new or empty folder, or one a demo made.",
        epilog=EXIT_CODES,
    )
    demo.add_argument("--dir", help="folder for the demo (default: a new temporary folder)")
    demo.add_argument("--attachments", type=int, default=400, help="attachments to generate [400]")
    demo.add_argument("--keep", action="store_true", help="leave PostgreSQL running and print how to reach it")
    demo.add_argument("--build-only", action="store_true", help="build the world, print its variables, no scan")
    demo.add_argument(
        "--storage", choices=("folder", "s3"), default="folder",
        help="where the attachments are: a folder, or a bucket in a local S3 server (SeaweedFS) [folder]",
    )  # fmt: skip
    parser.set_defaults(commands={"run": run, "report": rep, "status": status, "restore": restore, "demo": demo})
    return parser


def _views_help() -> str:
    """The views a --sql query may use, read from the SQL that makes them (so never out of date)."""
    import re

    from . import sqlfiles

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


def _setup_logging(level: str, cfg: config.Config | None = None) -> None:
    """stderr, plus a size-rotated file when INSPECTOR_LOG_FILE is set. Stage processes log
    through the parent (a queue), so these handlers see every line."""
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if cfg is not None and cfg.log_file is not None:
        try:
            handlers.append(
                logging.handlers.RotatingFileHandler(
                    cfg.log_file, maxBytes=cfg.log_max_bytes, backupCount=cfg.log_backups, encoding="utf-8"
                )
            )
        except OSError as exc:
            raise ConfigError(f"INSPECTOR_LOG_FILE: cannot open '{cfg.log_file}': {exc.strerror}") from None
    for handler in handlers:
        handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, close in unknown_variables():
        log.warning("%s is not a setting of the inspector and is ignored%s", name,
                    f": did you mean {close}?" if close else " (inspector --help lists them)")  # fmt: skip


def _one_pass(cfg: config.Config, fresh: bool, notifier):
    from .pipeline import run_pass

    notifier.send("start", f"Jira attachment inspection started: {cfg.attachments_root}")
    try:
        if cfg.windows:
            from .service import serve

            outcome = serve(cfg, fresh=fresh, notifier=notifier)
        else:
            outcome = run_pass(cfg, fresh=fresh)
    except InspectorError as exc:
        notifier.send("failure", f"Jira attachment inspection stopped: {exc}")
        raise
    text = report.summary_text(outcome.summary, cfg.report_dir)
    notifier.send("finish", text, outcome.summary)
    sys.stdout.write(text)
    sys.stdout.flush()
    return outcome


def _wait(seconds: float) -> None:
    """Sleep until the next pass is due, as a `schedule` job (signals end the wait at once)."""
    import schedule

    scheduler = schedule.Scheduler()
    scheduler.every(max(1, round(seconds))).seconds.do(lambda: schedule.CancelJob)
    while scheduler.jobs:
        time.sleep(min(1.0, max(0.05, scheduler.idle_seconds or 0.05)))
        scheduler.run_pending()


def _cmd_run(args) -> int:
    from .notify import Notifier
    from .pipeline import stop_signals

    cfg = config.from_env()
    if args.hash:
        cfg = dataclasses.replace(cfg, hash=True)
    _setup_logging(cfg.log_level, cfg)
    notifier = Notifier.from_config(cfg)
    repeat = cfg.repeat or (24 * 3600 if args.loop else None)

    try:
        with stop_signals():  # also between passes, where no pass holds them
            _one_pass(cfg, args.fresh, notifier)
            while repeat is not None:
                log.info("next pass in %s s", f"{repeat:.0f}")
                _wait(repeat)
                _one_pass(cfg, False, notifier)
    finally:
        notifier.close()
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


def _cmd_report(args) -> int:
    from . import merge

    settings = config.report_settings()
    state_db, report_dir = settings.state_db, settings.report_dir
    _setup_logging("INFO")
    if args.merge:
        if args.pass_id is not None:
            raise ConfigError("--merge reports each shard's last finished pass: --pass does not apply")
        state_db = merge.merge(args.merge, report_dir)  # with --sql, the query then reads the merged pass
        if args.hash:
            merge.complete_duplicates(state_db)
    elif args.hash:
        raise ConfigError("report --hash completes the duplicate search of a --merge")
    if args.sql is None:
        settle = merge.size_orphans(state_db) if args.merge else None
        summary = report.build(state_db, report_dir, args.pass_id, settle)
        sys.stdout.write(report.summary_text(summary, report_dir))
        return 0
    names, rows = report.query(state_db, args.sql, args.pass_id)
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


def _cmd_status(args) -> int:
    from . import status

    settings = config.report_settings()
    current = status.read(settings.state_db, settings)
    if args.json:
        sys.stdout.write(orjson.dumps(current, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write(status.text(current))
    return 0


def _cmd_restore(args) -> int:
    from .notify import Notifier
    from .restore import command, plan

    only = frozenset(part.strip() for part in args.only.split(",") if part.strip())
    if not only or not only <= set(plan.FINDINGS):
        raise ConfigError(f"--only: '{args.only}' is not a list of {', '.join(plan.FINDINGS)}")
    inherited = command.inherit_root(args.pass_id)
    cfg = config.from_env(require_db=False, root=inherited)
    _setup_logging(cfg.log_level, cfg)
    if inherited:
        logging.getLogger("inspector.restore").info(
            "INSPECTOR_ATTACHMENTS_ROOT is unset: restoring into %s, the root the pass checked", inherited
        )
    notifier = Notifier.from_config(cfg)
    try:
        options = command.Options(args.source, args.apply, args.pass_id, only)
        try:
            counts = command.run(cfg, options, notifier)
        except InspectorError as exc:
            if args.apply:
                notifier.send("restore_failure", f"Jira attachment restore stopped: {exc}")
            raise
    finally:
        notifier.close()
    lines = plan.summary_lines(counts, args.source, applied=args.apply)
    lines.append(f"  plan: {cfg.report_dir / command.PLAN_FILE}")
    lines.append(f"  permission fixes to review: {cfg.report_dir / command.PERMISSIONS_FILE}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def _cmd_demo(args) -> int:
    from .demo import run_demo

    _setup_logging("INFO")
    if args.attachments < 10:
        raise ConfigError("--attachments: at least 10")
    return run_demo(args.dir, args.attachments, keep=args.keep, build_only=args.build_only, storage=args.storage)


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
    handlers = {
        "run": _cmd_run, "report": _cmd_report, "status": _cmd_status, "restore": _cmd_restore, "demo": _cmd_demo,
    }  # fmt: skip
    try:
        return handlers[args.command](args)
    except InspectorError as exc:
        for line in str(exc).splitlines():
            print(f"inspector: error: {line}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:  # Ctrl-C outside a pass
        print("inspector: interrupted", file=sys.stderr)
        return 130
