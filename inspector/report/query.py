"""``inspector report --sql``: the user's own DuckDB query over the state's views, on a
connection that may read nothing but the attached state (no files, no extensions, settings
locked)."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from ..errors import ReportError
from .build import connect


def lock_down(conn: duckdb.DuckDBPyConnection) -> None:
    """No file access beyond the attached state, for queries the user writes."""
    conn.execute("SET enable_external_access = false")
    conn.execute("SET lock_configuration = true")


def _has_statement(sql: str) -> bool:
    """Whether ``sql`` holds anything but blanks, ``;`` and comments."""
    text = re.sub(r"--[^\n]*|/\*.*?\*/", " ", sql, flags=re.S)
    return bool(text.replace(";", " ").strip())


def query(state_db: Path, sql: str, pass_id: int | None = None) -> tuple[list[str], list[tuple]]:
    if not _has_statement(sql):
        raise ReportError("--sql: the query is empty (give a SELECT over the views, see inspector report --help)")
    conn, _ = connect(state_db, pass_id)
    try:
        lock_down(conn)
        cur = conn.execute(sql)
        if cur is None or cur.description is None:
            return [], []
        return [d[0] for d in cur.description], cur.fetchall()
    except duckdb.Error as exc:
        raise ReportError(f"query failed: {str(exc).splitlines()[0]}") from None
    finally:
        conn.close()
