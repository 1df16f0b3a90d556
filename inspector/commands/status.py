"""``inspector status``: the current (or last) pass from the state file, without touching it.

Safe while a scan runs: the state is opened read-only and the lock only probed.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from .. import sqlfiles
from ..config import config
from ..config.config import ReportSettings
from ..errors import StateError
from ..jira.model import flag_parameters
from ..runtime import readonly
from ._common import EXIT_CODES


def scan_running(state_db: Path) -> bool:
    """Whether an inspector holds the state's lock right now."""
    try:
        fd = os.open(f"{state_db}.lock", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def read(state_db: Path, settings: ReportSettings | None = None) -> dict:
    if not Path(state_db).is_file():
        raise StateError(f"no state file at {state_db}: no scan has run yet")
    try:
        with readonly.connect(state_db, timeout=10) as conn:
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'walked_folders'").fetchone():
                # A state from before schema 11 (migrated when a scan next opens it): every
                # walked file is a row of disk_files there.
                conn.execute(
                    "CREATE TEMP VIEW walked_folders AS SELECT 0 AS pass_id, '' AS folder, '' AS names WHERE 0"
                )
            cur = conn.execute(sqlfiles.load("state/status"), flag_parameters())
            row = cur.fetchone()
            names = [d[0] for d in cur.description]
            blocked = _blocked_rows(conn, row[0]) if row else 0
            status = dict(zip(names, row, strict=True)) if row else {}
            if status:
                status["orphans"] = conn.execute(sqlfiles.load("state/status_orphans"), status).fetchone()[0]
                status["hashed"] = conn.execute(
                    "SELECT count(*) FROM file_hashes WHERE hashed_at >= ?", (status["started_at"],)
                ).fetchone()[0]
    except sqlite3.Error as exc:
        raise StateError(f"cannot read state file {state_db}: {exc}") from None
    if row is None:
        raise StateError(f"{state_db} holds no pass yet")
    status["permissions"] += blocked
    status["reader_done"], status["walk_done"] = bool(status["reader_done"]), bool(status["walk_done"])
    status["scan_running"] = scan_running(state_db)
    started = datetime.fromisoformat(status["started_at"])
    end = datetime.fromisoformat(status["finished_at"]) if status["finished_at"] else datetime.now(UTC)
    elapsed = max((end - started).total_seconds(), 1e-9)
    status["elapsed_seconds"] = round(elapsed, 1)
    status["rows_per_second"] = round(status["rows_done"] / elapsed, 1)
    status["windows"] = window_state(settings) if settings is not None else "not known"
    status["phase"] = phase(status)
    return status


def phase(s: dict) -> str:
    """What the pass is doing now (or was doing when it stopped)."""
    if s["status"] == "finished":
        return "finished"
    if not s["reader_done"]:
        doing = "checking the rows" + ("" if s["walk_done"] else ", walking the tree")
    elif not s["walk_done"]:
        doing = "walking the tree"
    elif s["hashed"]:
        doing = f"hashing for duplicates ({s['hashed']} files so far), then the report"
    else:
        doing = "writing the report (or hashing, if asked)"
    return doing if s["scan_running"] else f"stopped while {doing}; the next run resumes"


def _cursor(s: dict) -> str:
    """Where the reader is: a later pass first checks the ids added since the last one (above
    ``head_id``), then goes over the older ones again."""
    if not s["head_id"]:
        return f"cursor at id {s['cursor_id']}"
    if not s["new_done"]:
        return f"new attachments: cursor at id {max(s['cursor_id'], s['head_id'])} (above {s['head_id']})"
    return f"new attachments done; older ones: cursor at id {s['cursor_old']} of {s['head_id']}"


def _blocked_rows(conn: sqlite3.Connection, pass_id: int) -> int:
    try:
        return conn.execute(
            sqlfiles.load("state/status_blocked"), {"pass_id": pass_id, **flag_parameters()}
        ).fetchone()[0]
    except sqlite3.OperationalError:  # a state file from before schema 4 (status never migrates)
        return 0


def window_state(settings: ReportSettings) -> str:
    """The maintenance windows as configured, and where we are in them."""
    from zoneinfo import ZoneInfo

    from ..ops import windows as win

    text, tz = settings.windows_text, settings.tz
    if not text:
        return "none configured (works straight through)"
    try:
        ws = win.parse(text)
        now = datetime.now(ZoneInfo(tz)) if tz else datetime.now().astimezone()
    except (ValueError, KeyError) as exc:
        return f"INSPECTOR_WINDOWS is invalid: {exc}"
    state = "open" if win.is_open(ws, now) else "closed"
    edge = "closes" if state == "open" else "opens"
    return f"{text}: {state} now, {edge} {win.next_change(ws, now).isoformat(timespec='minutes')}"


def text(s: dict) -> str:
    share = f" of ~{s['rows_estimate']}" if s["rows_estimate"] else ""
    state = s["status"] + (" (a scan is running now)" if s["scan_running"] else "")
    return (
        f"pass {s['pass_id']}: {state}\n"
        f"  started   {s['started_at']}   finished {s['finished_at'] or '-'}\n"
        f"  phase     {s['phase']}\n"
        f"  rows      {s['rows_done']}{share} checked, {_cursor(s)}, "
        f"{s['rows_per_second']:.0f} rows/s over the pass\n"
        f"  walk      {'done' if s['walk_done'] else 'in progress'}, {s['walked']} entries listed\n"
        f"  {'found' if s['status'] == 'finished' else 'so far':<10}{s['missing']} missing, "
        f"{s['permissions']} permissions, {s['corrupted']} corrupted, "
        f"{s['errors']} errors, {s['orphans']} orphans\n"
        f"  windows   {s['windows']}\n"
    )


def add_parser(sub: Any, fmt: type) -> argparse.ArgumentParser:
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

    return status


def run(args: argparse.Namespace) -> int:
    settings = config.report_settings()
    current = read(settings.state_db, settings)
    if args.json:
        sys.stdout.write(orjson.dumps(current, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write(text(current))
    return 0
