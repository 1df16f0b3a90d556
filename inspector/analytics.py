"""Where the storage goes: per project, type, uploader and year, the largest attachments and
issues, and duplicate groups found by content hashing. The views are in
sql/report/analytics.sql, the queries behind each part of storage.json in sql/report/storage/;
this module runs them for the report files (storage.json, duplicates.txt, report.html).

Duplicates are read once into two small temporary tables (copies are few next to all
attachments), so every report file built from them costs no further scan of the state.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from . import sqlfiles

QUICK_WINS = 10
# storage.json's parts, in order: each is sql/report/storage/<name>.sql
STORAGE_PARTS = (
    "by_project", "by_extension", "by_mimetype", "by_author", "by_year", "largest_attachments", "largest_issues",
)  # fmt: skip


def _one(conn: duckdb.DuckDBPyConnection, name: str, params: list | None = None):
    return conn.execute(sqlfiles.load(f"report/{name}"), params or []).fetchone()


def define(conn: duckdb.DuckDBPyConnection) -> None:
    """The analytics views; the hash table of an older state file is replaced by an empty one."""
    (has_hashes,) = _one(conn, "has_table", ["file_hashes"])
    conn.execute(sqlfiles.load("report/hash_source" if has_hashes else "report/hash_source_empty"))
    for statement in sqlfiles.statements("report/analytics"):
        conn.execute(statement)


def hashed_files(conn: duckdb.DuckDBPyConnection) -> int:
    return _one(conn, "hashed_count")[0]


def materialize(conn: duckdb.DuckDBPyConnection) -> None:
    name = "report/materialize_duplicates" if hashed_files(conn) else "report/no_duplicates"
    for statement in sqlfiles.statements(name):
        conn.execute(statement)


def rows(conn: duckdb.DuckDBPyConnection, name: str, params: list | None = None) -> list[dict]:
    """The rows of sql/report/<name>.sql as dicts, times as ISO text (ready for JSON)."""
    cur = conn.execute(sqlfiles.load(f"report/{name}"), params or [])
    names = [d[0] for d in cur.description]
    return [{k: _plain(v) for k, v in zip(names, row, strict=True)} for row in cur.fetchall()]


def _plain(value):
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return value


def duplicate_totals(conn: duckdb.DuckDBPyConnection) -> dict:
    groups, copies, wasted = _one(conn, "duplicate_totals")
    return {"duplicate_groups": groups, "duplicate_copies": int(copies), "duplicate_bytes": int(wasted)}


def collect(conn: duckdb.DuckDBPyConnection) -> dict:
    """Everything storage.json and report.html show."""
    out = {name: rows(conn, f"storage/{name}") for name in STORAGE_PARTS}
    out["quick_wins"] = quick_wins(conn)
    return out


def quick_wins(conn: duckdb.DuckDBPyConnection, limit: int = QUICK_WINS) -> list[dict]:
    """The duplicate groups that free the most space, each with its files (original first)."""
    groups = rows(conn, "quick_wins", [limit])
    for group in groups:
        group["files"] = rows(conn, "quick_win_files", [group["group_id"]])
    return groups
