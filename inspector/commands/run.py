"""``inspector run`` (the default command): one pass, or pass after pass, each resuming what
the last left unfinished, inside the maintenance windows when they are set; the summary
printed and sent to the notification targets."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time
from typing import Any

from ..config import config
from ..errors import InspectorError
from ..report import build as report
from ._common import EXIT_CODES, setup_logging

log = logging.getLogger("inspector")


def add_parser(sub: Any, fmt: type) -> argparse.ArgumentParser:
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

    return run


def run(args: argparse.Namespace) -> int:
    from ..ops.notify import Notifier
    from ..scan.pipeline import stop_signals

    cfg = config.from_env()
    if args.hash:
        cfg = dataclasses.replace(cfg, hash=True)
    setup_logging(cfg.log_level, cfg)
    for said in cfg.from_home:
        log.info("INSPECTOR_JIRA_HOME: %s", said)
    notifier = Notifier.from_config(cfg)
    repeat = cfg.repeat or (24 * 3600 if args.loop else None)

    try:
        with stop_signals():  # also between passes, where no pass holds them
            one_pass(cfg, args.fresh, notifier)
            while repeat is not None:
                log.info("next pass in %s s", f"{repeat:.0f}")
                wait(repeat)
                one_pass(cfg, False, notifier)
    finally:
        notifier.close()
    return 0


def one_pass(cfg: config.Config, fresh: bool, notifier):
    from ..scan.pipeline import run_pass

    notifier.send("start", f"Jira attachment inspection started: {cfg.attachments_root}")
    try:
        if cfg.windows:
            from ..ops.service import serve

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


def wait(seconds: float) -> None:
    """Sleep until the next pass is due, as a `schedule` job (signals end the wait at once)."""
    import schedule

    scheduler = schedule.Scheduler()
    scheduler.every(max(1, round(seconds))).seconds.do(lambda: schedule.CancelJob)
    while scheduler.jobs:
        time.sleep(min(1.0, max(0.05, scheduler.idle_seconds or 0.05)))
        scheduler.run_pending()
