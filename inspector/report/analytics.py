"""Where the storage goes: per project, type, uploader and year, the largest attachments and
issues, and the duplicate groups that free the most space (storage.json, report.html).

The views are in sql/report/analytics.sql (defined with the report's own when the state is
opened), the queries behind each part of storage.json in sql/report/storage/. Duplicates are
read once into two small temporary tables by the report's read of the state
(sql/report/materialize_duplicates.sql), so every file built from them costs no further scan.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from .. import sqlfiles

QUICK_WINS = 10
# storage.json's parts, in order: each is sql/report/storage/<name>.sql
STORAGE_PARTS = (
    "by_project", "by_extension", "by_mimetype", "by_author", "by_year", "largest_attachments", "largest_issues",
    "by_status_category", "by_staleness",  # Jira Cloud only (empty lists for Data Center)
)  # fmt: skip


def rows(conn: duckdb.DuckDBPyConnection, name: str, params: list | None = None) -> list[dict]:
    """The rows of sql/report/<name>.sql as dicts, times as ISO text (ready for JSON)."""
    cur = conn.execute(sqlfiles.load(f"report/{name}"), params or [])
    names = [d[0] for d in cur.description]
    return [{k: _plain(v) for k, v in zip(names, row, strict=True)} for row in cur.fetchall()]


def _plain(value):
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return value


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
