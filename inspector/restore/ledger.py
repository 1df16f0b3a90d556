"""The restore's rows in the state file (table ``restores``, sql/state/schema_v6.sql).

One row per attachment and pass: planned (pending, not_in_backup, backup_differs, error),
then copying, then its outcome with bytes and times. The transfer threads write through one
connection behind a lock; each write is its own short transaction, so a kill loses nothing
but the file in flight, which the next run continues.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from .. import sqlfiles
from ..state import State, transaction, utcnow


class Ledger:
    def __init__(self, state_db: Path):
        State(state_db).close()  # creates or migrates the file (and refuses a foreign one)
        self.path = Path(state_db)
        self._conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._conn.close()

    def previous(self, pass_id: int) -> dict[int, tuple[str, str | None, str | None]]:
        """id -> (status, source_tag, part_ref) of the rows an earlier run of this pass left."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, status, source_tag, part_ref FROM restores WHERE pass_id = ?", (pass_id,)
            ).fetchall()
        return {row[0]: (row[1], row[2], row[3]) for row in rows}

    def plan(self, rows: list[dict]) -> None:
        with self._lock, transaction(self._conn, self.path):
            self._conn.executemany(sqlfiles.load("restore/upsert_planned"), rows)

    def copying(self, pass_id: int, attachment_id: int, source_tag: str) -> None:
        with self._lock, transaction(self._conn, self.path):
            self._conn.execute(
                "UPDATE restores SET status = 'copying', started_at = ?, finished_at = NULL, source_tag = ? "
                "WHERE pass_id = ? AND id = ?",
                (utcnow(), source_tag, pass_id, attachment_id),
            )

    def part_ref(self, pass_id: int, attachment_id: int, ref: str | None) -> None:
        with self._lock, transaction(self._conn, self.path):
            self._conn.execute(
                "UPDATE restores SET part_ref = ? WHERE pass_id = ? AND id = ?", (ref, pass_id, attachment_id)
            )

    def finish(
        self, pass_id: int, attachment_id: int, status: str, written: int, message: str | None,
        quarantined: str | None = None,
    ) -> None:  # fmt: skip
        with self._lock, transaction(self._conn, self.path):
            self._conn.execute(
                "UPDATE restores SET status = ?, bytes = bytes + ?, message = ?, finished_at = ?, "
                "quarantined = coalesce(?, quarantined) WHERE pass_id = ? AND id = ?",
                (status, written, message, utcnow(), quarantined, pass_id, attachment_id),
            )

    def counts(self, pass_id: int) -> dict[str, int]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT status, count(*) FROM restores WHERE pass_id = ? GROUP BY status", (pass_id,)
            ).fetchall()
        return dict(rows)

    def rows(self, pass_id: int) -> dict[int, tuple[str, str | None, str | None]]:
        """id -> (status, backup_path, message), for the plan file written after the copies."""
        with self._lock:
            found = self._conn.execute(
                "SELECT id, status, backup_path, message FROM restores WHERE pass_id = ?", (pass_id,)
            ).fetchall()
        return {row[0]: (row[1], row[2], row[3]) for row in found}
