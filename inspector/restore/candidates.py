"""Which attachments a restore is about: the finished pass it works from (the last, or
``--pass``), that pass's flagged rows read from the state through the report's views, the root
the pass checked, and what an earlier ``--apply`` of it already restored."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from .. import sqlfiles
from ..config.config import Config
from ..errors import ConfigError, StateError
from ..report import build as report
from ..runtime import readonly
from . import plan


@dataclass(frozen=True)
class Options:
    source: str
    apply: bool = False
    pass_id: int | None = None
    only: frozenset[str] = frozenset(plan.FINDINGS)


def read_state(state_db: Path):
    """A read-only connection to the state file (SQLite itself: no DuckDB for a few rows)."""
    if not Path(state_db).is_file():
        raise StateError(f"no state file at {state_db}: run a scan first (python -m inspector)")
    return readonly.connect(Path(state_db).resolve())


def choose_pass(state_db: Path, wanted: int | None) -> int:
    conn = read_state(state_db)
    try:
        if wanted is None:
            (found,) = conn.execute(sqlfiles.load("restore/last_finished")).fetchone()
            if found is None:
                raise StateError(f"{state_db} holds no finished pass: run a scan first, restore then works from it")
            return int(found)
        row = conn.execute("SELECT status FROM passes WHERE pass_id = ?", (wanted,)).fetchone()
    except sqlite3.DatabaseError as exc:
        raise StateError(f"state file {state_db} cannot be used: {exc}") from None
    finally:
        conn.close()
    if row is None:
        raise ConfigError(f"--pass {wanted}: {state_db} holds no such pass")
    if row[0] != "finished":
        raise ConfigError(f"--pass {wanted} is {row[0]}, not finished: a restore works from a finished pass")
    return wanted


def inherit_root(wanted: int | None) -> str | None:
    """With no INSPECTOR_ATTACHMENTS_ROOT (nor FILESTORE_CONFIG), the root the chosen pass
    checked, for ``config.from_env(root=...)``: the configuration (and the Jira account it derives
    from the root's owner) is then built as if the admin had set it."""
    from ..config.config import PREFIX, report_settings

    if any((os.environ.get(PREFIX + name) or "").strip() for name in ("ATTACHMENTS_ROOT", "FILESTORE_CONFIG")):
        return None
    state_db = report_settings().state_db
    pass_id = choose_pass(state_db, wanted)
    conn = read_state(state_db)
    try:
        row = conn.execute("SELECT attachments_root FROM passes WHERE pass_id = ?", (pass_id,)).fetchone()
    finally:
        conn.close()
    return str(row[0]) if row and row[0] else None


def already_done(state_db: Path, pass_id: int) -> set[int]:
    """Attachments an earlier --apply of this pass restored or found fine: not looked up again."""
    conn = read_state(state_db)
    try:
        rows = conn.execute(
            "SELECT id FROM restores WHERE pass_id = ? AND status IN (?, ?)", (pass_id, *sorted(plan.DONE))
        ).fetchall()
    except sqlite3.OperationalError:  # a state from before restores (migrated when --apply writes)
        return set()
    finally:
        conn.close()
    return {row[0] for row in rows}


def read_candidates(config: Config, options: Options) -> tuple[int, str, list[plan.Candidate], list[plan.Candidate]]:
    """(pass id, the pass's root, rows to copy, rows flagged only for permissions)."""
    pass_id = choose_pass(config.state_db, options.pass_id)
    conn, _ = report.connect(config.state_db, pass_id)
    try:
        found_root = conn.execute("SELECT attachments_root FROM state.passes WHERE pass_id = ?", [pass_id])
        (root,) = found_root.fetchone() or (None,)
        cur = conn.execute(sqlfiles.load("restore/candidates"))
        copies, permissions = [], []
        while rows := cur.fetchmany(10_000):
            for r in rows:
                found = plan.finding(r[3], r[4], r[5])
                if found is None:
                    continue  # only an error while checking: nothing a copy or a chmod cures
                c = plan.Candidate(
                    r[0], r[1], r[2], found, r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]
                )
                if found == "permissions":
                    permissions.append(c)
                elif found in options.only:
                    copies.append(c)
    finally:
        conn.close()
    return pass_id, str(root), copies, permissions
