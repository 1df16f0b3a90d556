"""The SQLite state file: schema and migrations, passes, and the writes the writer makes.

The state holds every result and the resume cursor. It is versioned: an older file is
migrated in place, a newer or foreign one is refused rather than silently reset, because
resetting would throw away hours of progress.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import orjson

from . import sqlfiles
from .config.config import Config
from .errors import StateError
from .jira import layout
from .runtime import lockfile
from .scan.messages import CLOUD, CLOUD_DONE, NEW, Cursor, Unit

SCHEMA_VERSION = 11
# version -> the sql/state file that brings the previous version to it
MIGRATIONS = {version: f"state/schema_v{version}" for version in range(1, SCHEMA_VERSION + 1)}


@contextmanager
def exclusive(state_db: Path):
    """Hold an OS lock on ``<state>.lock`` for one run: a second inspector on the same state
    refuses to start, and the lock dies with its holder (no stale locks after a crash). A run
    that fails before it created the state file (an unreachable database) leaves no lock file
    behind either."""
    lock_path = Path(f"{state_db}.lock")
    try:
        fd, _ = lockfile.take(lock_path, wait=False)
    except BlockingIOError:
        try:
            holder = lock_path.read_text(errors="replace").strip() or "unknown"
        except OSError:
            holder = "unknown"
        raise StateError(
            f"another inspector (pid {holder}) is already working on {state_db}; "
            "wait for it, or use another INSPECTOR_STATE_DB"
        ) from None
    except OSError as exc:
        raise StateError(f"cannot lock the state file {state_db} (lock file {lock_path}): {exc.strerror}") from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        # Removed whenever it is ours: a clean run leaves no lock file, and neither does a run
        # that failed before it created the state file (an unreachable database).
        lockfile.release(fd, lock_path)


def tidy(state_db: Path) -> None:
    """After a clean run, under the lock: the WAL written back and its -wal and -shm files gone
    (the next run turns WAL on again). Skipped quietly while a reader (status, report --sql)
    has the state open: it needs them."""
    try:
        conn = sqlite3.connect(state_db, timeout=0.1)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("PRAGMA journal_mode = DELETE")
        finally:
            conn.close()
    except sqlite3.Error:
        pass


class PassInfo(NamedTuple):
    pass_id: int
    status: str
    attachments_root: str
    cursor_id: int
    reader_done: bool
    walk_cursor: Unit | None
    walk_done: bool
    rows_done: int
    head_id: int = 0
    cursor_old: int = 0
    new_done: bool = False


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _q(name: str) -> str:
    return sqlfiles.load(f"state/{name}")


class State:
    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self.conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            for statement in sqlfiles.statements("state/pragmas"):
                self.conn.execute(statement)
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StateError(f"state file {self.path} cannot be used: {exc}") from None

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> State:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _version(self) -> int:
        tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables:
            return 0
        if "meta" not in tables:
            raise StateError(f"{self.path} is a SQLite file but not an inspector state file; refusing to use it")
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 0

    def _migrate(self) -> None:
        version = self._version()
        if version > SCHEMA_VERSION:
            raise StateError(
                f"state file {self.path} was written by a newer inspector (schema {version}, "
                f"this one knows {SCHEMA_VERSION}); upgrade the inspector or use another INSPECTOR_STATE_DB"
            )
        while version < SCHEMA_VERSION:
            version += 1
            with self.transaction():
                for statement in sqlfiles.statements(MIGRATIONS[version]):
                    self.conn.execute(statement)
                self.conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", (str(version),)
                )

    def transaction(self):
        return _Transaction(self.conn, self.path)

    # passes -----------------------------------------------------------------------------------
    def running_shard(self) -> tuple[int, int] | None:
        """(shards, index) of the unfinished pass, if there is one."""
        row = self.conn.execute("SELECT shard_count, shard_index FROM passes WHERE status = 'running'").fetchone()
        return None if row is None else (row[0], row[1])

    def running_pass(self) -> PassInfo | None:
        row = self.conn.execute(_q("current_pass")).fetchone()
        if row is None:
            return None
        pass_id, status, root, cursor_id, reader_done, walk_cursor, walk_done, rows_done, head, old, new_done = row
        cursor = tuple(orjson.loads(walk_cursor)) if walk_cursor else None
        return PassInfo(
            pass_id, status, root, cursor_id, bool(reader_done), cursor,
            bool(walk_done), rows_done, head, old, bool(new_done),
        )  # fmt: skip

    def start_pass(self, config: Config, estimate: int | None) -> PassInfo:
        gids = ",".join(str(g) for g in sorted(config.identity.gids))
        with self.transaction():
            self.conn.execute(
                _q("new_pass"),
                (
                    utcnow(),
                    str(config.attachments_root),
                    config.jira_url,
                    config.identity.uid,
                    gids,
                    estimate,
                    config.shards,
                    config.shard_index,
                    config.jira_cloud_url or config.db_target,
                    config.run_id,
                ),
            )
        started = self.running_pass()
        assert started is not None
        return started

    def abandon_running(self) -> None:
        with self.transaction():
            self.conn.execute(
                "UPDATE passes SET status = 'abandoned', finished_at = ? WHERE status = 'running'", (utcnow(),)
            )

    def set_estimate(self, pass_id: int, estimate: int, jira_url: str) -> None:
        with self.transaction():
            self.conn.execute(
                "UPDATE passes SET rows_estimate = ?, jira_url = ? WHERE pass_id = ?", (estimate, jira_url, pass_id)
            )

    def recount(self, pass_id: int) -> int:
        """Rows stored for the pass, which is what it has checked (a resumed run goes on from it)."""
        (n,) = self.conn.execute("SELECT count(*) FROM results WHERE pass_id = ?", (pass_id,)).fetchone()
        with self.transaction():
            self.conn.execute("UPDATE passes SET rows_done = ? WHERE pass_id = ?", (n, pass_id))
        return n

    def reading_finished(self, pass_id: int) -> None:
        with self.transaction():
            self.conn.execute("UPDATE passes SET reader_done = 1 WHERE pass_id = ?", (pass_id,))

    def walk_finished(self, pass_id: int) -> None:
        with self.transaction():
            self.conn.execute("UPDATE passes SET walk_done = 1 WHERE pass_id = ?", (pass_id,))

    def finish_pass(self, pass_id: int, keep: int) -> None:
        with self.transaction():
            self.conn.execute(
                "UPDATE passes SET status = 'finished', finished_at = ? WHERE pass_id = ?", (utcnow(), pass_id)
            )
            dropped = self.conn.execute(_q("old_passes"), (keep,)).fetchall()
            for (old,) in dropped:
                for statement in sqlfiles.statements("state/delete_pass"):
                    self.conn.execute(statement, (old,))
            if dropped:  # a state is migrated to the newest schema on open: file_hashes exists
                self.conn.execute(_q("prune_hashes"))

    # writer -----------------------------------------------------------------------------------
    def write_results(self, pass_id: int, results: list[tuple], cursor: Cursor | None) -> None:
        """Store a batch and, when given, the cursor every row up to which is now stored."""
        with self.transaction():
            self.conn.executemany(_q("insert_result"), results)
            if cursor is None:
                self.conn.execute(
                    "UPDATE passes SET rows_done = rows_done + ? WHERE pass_id = ?", (len(results), pass_id)
                )
            elif cursor.part.startswith((CLOUD, CLOUD_DONE)):  # a Cloud partition: its last issue number stored
                done = cursor.part.startswith(CLOUD_DONE)
                self.conn.execute(
                    "UPDATE cloud_partitions SET cursor_num = max(cursor_num, ?), done = max(done, ?) "
                    "WHERE pass_id = ? AND name = ?",
                    (cursor.last_id, int(done), pass_id, cursor.part.split(":", 1)[1]),
                )
                self.conn.execute(
                    "UPDATE passes SET rows_done = rows_done + ? WHERE pass_id = ?", (len(results), pass_id)
                )
            elif cursor.part == NEW:
                self.conn.execute(
                    "UPDATE passes SET cursor_id = max(cursor_id, ?), rows_done = rows_done + ? WHERE pass_id = ?",
                    (cursor.last_id, len(results), pass_id),
                )
            else:  # a batch of the re-verification part is stored: the new part is complete by then
                self.conn.execute(
                    "UPDATE passes SET new_done = 1, cursor_old = max(cursor_old, ?), rows_done = rows_done + ? "
                    "WHERE pass_id = ?",
                    (cursor.last_id, len(results), pass_id),
                )

    def write_disk(
        self, pass_id: int, entries: list[tuple], unit: Unit | None, blocked: Sequence[tuple] = (),
        folders: Sequence[tuple[str, str]] = (),
    ) -> None:  # fmt: skip
        """Walked entries, issue folders Jira cannot enter (project, issue_num, relpath, detail),
        issue folders' files that claim an id (folder, names joined by "/") and, when given, the
        last walk unit now fully stored."""
        with self.transaction():
            if entries:
                self.conn.executemany(_q("insert_disk_file"), [(pass_id, *e) for e in entries])
            if folders:
                self.conn.executemany(_q("insert_walked_folder"), [(pass_id, *f) for f in folders])
            if blocked:
                self.conn.executemany(_q("insert_blocked_folder"), [(pass_id, *b) for b in blocked])
            if unit is not None:
                self.conn.execute(
                    "UPDATE passes SET walk_cursor = ? WHERE pass_id = ?", (orjson.dumps(list(unit)).decode(), pass_id)
                )

    def write_facts(self, pass_id: int, facts: list[tuple], authors: list[tuple[int, str]]) -> None:
        """What only Jira Cloud says about issues and authors (stored before their rows)."""
        with self.transaction():
            self.conn.executemany(_q("insert_issue_facts"), [(pass_id, *f) for f in facts])
            self.conn.executemany(
                "INSERT OR REPLACE INTO attachment_authors (pass_id, id, account_id) VALUES (?, ?, ?)",
                [(pass_id, *a) for a in authors],
            )

    def cloud_content_verdicts(self, pass_id: int) -> None:
        """Jira Cloud: attachments whose content answered 404 become missing, other failures
        errors (sql/state/cloud_content_verdicts.sql); run after hashing."""
        from .jira.model import FLAG_BITS

        with self.transaction():
            self.conn.execute(
                _q("cloud_content_verdicts"),
                {"pass_id": pass_id, "missing": FLAG_BITS["missing"], "error": FLAG_BITS["error"]},
            )

    def partitions(self, pass_id: int) -> list[tuple]:
        """(name, project, after, stop, cursor, done) of a Cloud pass's partitions."""
        return self.conn.execute(
            "SELECT name, project, after_num, stop_num, cursor_num, done FROM cloud_partitions WHERE pass_id = ? "
            "ORDER BY rowid",
            (pass_id,),
        ).fetchall()

    def set_partitions(self, pass_id: int, partitions: list[tuple]) -> None:
        with self.transaction():
            self.conn.executemany(
                "INSERT OR IGNORE INTO cloud_partitions (pass_id, name, project, after_num, stop_num) "
                "VALUES (?, ?, ?, ?, ?)",
                [(pass_id, *p) for p in partitions],
            )

    def write_hashes(self, pass_id: int, rows: list[dict], bytes_read: int) -> None:
        now = utcnow()
        with self.transaction():
            self.conn.executemany(_q("upsert_hash"), [{**row, "hashed_at": now} for row in rows])
            self.conn.execute("UPDATE passes SET hash_bytes = hash_bytes + ? WHERE pass_id = ?", (bytes_read, pass_id))

    def set_sizes(self, pass_id: int, sizes: list[tuple[str, int]]) -> None:
        """Orphans' sizes. An orphan stored with its folder's names (walked_folders) gets a row
        of its own in disk_files, where a size can be kept, and leaves that folder's names."""
        with self.transaction():
            for rel, size in sizes:
                updated = self.conn.execute(
                    "UPDATE disk_files SET size = ? WHERE pass_id = ? AND relpath = ?", (size, pass_id, rel)
                ).rowcount
                if not updated:
                    self._size_folder_file(pass_id, rel, size)

    def _size_folder_file(self, pass_id: int, rel: str, size: int) -> None:
        folder, _, name = rel.rpartition("/")
        row = self.conn.execute(
            "SELECT names FROM walked_folders WHERE pass_id = ? AND folder = ?", (pass_id, folder)
        ).fetchone()
        names = row[0].split("/") if row else []
        if name not in names:
            return  # neither walked entry nor folder file: nothing of this pass to size
        names.remove(name)
        if names:
            self.conn.execute(
                "UPDATE walked_folders SET names = ? WHERE pass_id = ? AND folder = ?",
                ("/".join(names), pass_id, folder),
            )
        else:
            self.conn.execute("DELETE FROM walked_folders WHERE pass_id = ? AND folder = ?", (pass_id, folder))
        self.conn.execute(_q("insert_disk_file"), (pass_id, rel, layout.claimed_id(name), size, "file", None))


def _unwritable(path: Path, exc: sqlite3.Error) -> StateError:
    why = str(exc)
    hint = {
        "database or disk is full": "free some space",
        "attempt to write a readonly database": "make the file and its folder writable",
        "disk I/O error": "check the disk",
    }.get(why, "check the file")
    return StateError(
        f"cannot write the state file {path}: {why}; progress up to the last checkpoint is kept, "
        f"{hint} and run again to resume"
    )


def transaction(conn: sqlite3.Connection, path: Path) -> _Transaction:
    """A write transaction on another connection to the state file (the restore's own)."""
    return _Transaction(conn, path)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception (autocommit connection). A
    failed write (full disk, read-only file) becomes one StateError naming the file; the
    rollback keeps the state as it was at the last commit."""

    def __init__(self, conn: sqlite3.Connection, path: Path):
        self.conn, self.path = conn, path

    def __enter__(self) -> None:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _unwritable(self.path, exc) from None

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            try:
                self.conn.execute("COMMIT")
                return
            except sqlite3.Error as failed:
                exc_type, exc = type(failed), failed
        with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back already (SQLITE_FULL)
            self.conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise _unwritable(self.path, exc) from None
