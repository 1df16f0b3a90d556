"""``inspector restore``: bring the attachments a pass found missing or corrupted back from a
backup (a folder, ``sftp://``, ``s3://``), the way a careful transfer tool would.

The story, in order: the finished pass and its flagged rows (restore/candidates.py); under the
scan's one-instance lock when applying, each row looked up in the backup and the plan written
(restore/apply.py, restore/planfile.py); with ``--apply`` the restorable files copied, each
recorded in the state, inside the maintenance windows; a signal stops it leaving each file in
flight to be continued by the next run.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from typing import Any

from ..config import config as configuration
from ..config.config import Config
from ..errors import ConfigError, InspectorError
from ..restore import candidates, plan, planfile
from ..restore.candidates import Options
from ..restore.running import Gate
from ..storage.destination import Destination, open_destination
from ._common import EXIT_CODES, setup_logging

log = logging.getLogger("inspector.restore")


def add_parser(sub: Any, fmt: type) -> argparse.ArgumentParser:
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
    return restore


def run(args: argparse.Namespace) -> int:
    from ..ops.notify import Notifier

    only = frozenset(part.strip() for part in args.only.split(",") if part.strip())
    if not only or not only <= set(plan.FINDINGS):
        raise ConfigError(f"--only: '{args.only}' is not a list of {', '.join(plan.FINDINGS)}")
    inherited = candidates.inherit_root(args.pass_id)
    cfg = configuration.from_env(require_db=False, root=inherited)
    setup_logging(cfg.log_level, cfg)
    if inherited:
        log.info("INSPECTOR_ATTACHMENTS_ROOT is unset: restoring into %s, the root the pass checked", inherited)
    notifier = Notifier.from_config(cfg)
    try:
        options = Options(args.source, args.apply, args.pass_id, only)
        try:
            counts = restore(cfg, options, notifier)
        except InspectorError as exc:
            if args.apply:
                notifier.send("restore_failure", f"Jira attachment restore stopped: {exc}")
            raise
    finally:
        notifier.close()
    lines = plan.summary_lines(counts, args.source, applied=args.apply)
    lines.append(f"  plan: {cfg.report_dir / planfile.PLAN_FILE}")
    lines.append(f"  permission fixes to review: {cfg.report_dir / planfile.PERMISSIONS_FILE}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def restore(config: Config, options: Options, notifier: Any = None) -> dict[str, int]:
    """Plan (and with ``options.apply``, carry out) a restore; returns the count per status."""
    # The copying machinery (SFTP, S3, asyncio) only here: every run of the CLI imports this
    # module for its parser, and a scan's start would pay 45 ms for it.
    from ..restore import apply
    from ..scan.pipeline import stop_signals
    from ..state import exclusive

    pass_id, root, copies, permissions = candidates.read_candidates(config, options)
    if os.path.realpath(root) != os.path.realpath(config.attachments_root) and root != config.attachments_root:
        raise ConfigError(
            f"pass {pass_id} checked {root}, but INSPECTOR_ATTACHMENTS_ROOT is {config.attachments_root}: "
            "restore into the tree the pass checked"
        )
    gate = Gate(config)

    def on_signal(signum: int, _frame: object) -> None:
        gate.signum = gate.signum or signum
        gate.stop.set()

    # The lock before anything is looked up: a second restore (or a scan) waits for nothing.
    with stop_signals(on_signal), exclusive(config.state_db) if options.apply else contextlib.nullcontext():
        dest = _destination(config) if options.apply else None
        backup = apply.open_backup(options.source, config)
        try:
            run = apply.Restore(config, options, pass_id, backup, dest, gate)
            found = run.look_up(copies)
            planfile.write_permissions(config, root, permissions)
            if dest is None:
                return planfile.plan_only(config, options, copies, found)
            return run.apply(copies, found, notifier)
        finally:
            backup_close = getattr(backup, "close", None)
            if backup_close is not None:
                backup_close()
            if dest is not None:
                dest.close()


def _destination(config: Config) -> Destination:
    """Where --apply writes; refused at once when this process cannot write as the Jira account."""
    dest = open_destination(config.attachments_root, config)
    dest.check()
    return dest
