"""Connections to Jira's PostgreSQL: a small pool of read-only sessions with a statement timeout.

Each process builds its own pool (a psycopg connection never crosses a process boundary).
"""

from __future__ import annotations

import logging

import psycopg
from psycopg_pool import ConnectionPool

from . import sqlfiles
from .config import Config
from .errors import DatabaseError

log = logging.getLogger("inspector.db")


def _configure(timeout_ms: int):
    def configure(conn: psycopg.Connection) -> None:
        conn.execute(sqlfiles.load("postgres/session_setup"))
        conn.execute(sqlfiles.load("postgres/statement_timeout"), {"ms": str(timeout_ms)})
        conn.commit()

    return configure


def open_pool(config: Config, name: str) -> ConnectionPool:
    """Open a pool and prove it works, or raise DatabaseError naming the target, not the secret."""
    pool = ConnectionPool(
        config.db_dsn,
        min_size=1,
        max_size=config.db_pool_size,
        kwargs={
            "application_name": f"jira-attachment-inspector ({name})",
            "connect_timeout": min(10, config.db_connect_timeout),
        },
        configure=_configure(config.db_statement_timeout * 1000),
        open=False,
        name=name,
    )
    try:
        pool.open(wait=True, timeout=config.db_connect_timeout)
    except Exception as exc:
        pool.close()
        raise DatabaseError(f"cannot connect to the Jira database at {config.db_target}: {_reason(exc)}") from None
    return pool


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def estimate_rows(pool: ConnectionPool) -> int:
    with pool.connection() as conn:
        (estimate,) = conn.execute(sqlfiles.load("postgres/attachments_estimate")).fetchone() or (None,)
        if estimate is None:
            (estimate,) = conn.execute(sqlfiles.load("postgres/attachments_count")).fetchone()
        return int(estimate)
