"""What the walk listed, as answers for a storage whose listings settle rows (object storage).

On object storage a listing page names up to 1,000 objects with their size and last-modified
time, where a HEAD answers for one. There the walk runs first and stores every object it
listed (``disk_files``); checkers then look each row up here, in the state file they open
read-only, and ask the storage itself only about what no listing settled. SQLite answers a
lookup by primary key in microseconds, and nothing of the listing is held in memory.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import NamedTuple

from ..runtime import readonly


class Listed(NamedTuple):
    size: int | None
    mtime: int | None
    kind: str  # file | other | unlistable (disk_files.kind)


class ListingIndex:
    """Lookups in one pass's ``disk_files``, opened lazily in the process that uses it (a
    sqlite3 connection never crosses a process boundary). One connection for all threads of
    the process, behind a lock: a lookup takes microseconds, and a connection per thread (64
    once the checks go wide) held 2 MB each, 130 MB in every checker."""

    def __init__(self, state_db: Path | str, pass_id: int):
        self.state_db, self.pass_id = str(Path(state_db).resolve()), pass_id
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        return {"state_db": self.state_db, "pass_id": self.pass_id}

    def __setstate__(self, state: dict) -> None:
        self.state_db, self.pass_id = state["state_db"], state["pass_id"]
        self._conn, self._lock = None, threading.Lock()

    def _query(self, sql: str, params: tuple) -> list[tuple]:
        with self._lock:
            if self._conn is None:
                self._conn = readonly.connect(self.state_db, check_same_thread=False)
            return self._conn.execute(sql, params).fetchall()

    def get(self, rel: str) -> Listed | None:
        rows = self._query(
            "SELECT size, mtime, kind FROM disk_files WHERE pass_id = ? AND relpath = ?", (self.pass_id, rel)
        )
        return Listed(*rows[0]) if rows else None

    def names(self, folder: str) -> set[str]:
        """The names of the objects directly in ``folder`` (a range of the primary key)."""
        start = f"{folder}/"
        rows = self._query(
            "SELECT relpath FROM disk_files WHERE pass_id = ? AND relpath >= ? AND relpath < ?",
            (self.pass_id, start, start[:-1] + "0"),  # "0" is the character after "/"
        )
        return {rel[len(start) :] for (rel,) in rows if "/" not in rel[len(start) :]}

    def any_under(self, folder: str) -> bool:
        start = f"{folder}/"
        rows = self._query(
            "SELECT 1 FROM disk_files WHERE pass_id = ? AND relpath >= ? AND relpath < ? LIMIT 1",
            (self.pass_id, start, start[:-1] + "0"),
        )
        return bool(rows)
