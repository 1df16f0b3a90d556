"""Connections to Jira's PostgreSQL: a small pool of read-only sessions with a statement timeout.

Each process builds its own pool (a psycopg connection never crosses a process boundary).
Reaching the server is retried with backoff for up to ``INSPECTOR_DB_CONNECT_TIMEOUT``
seconds, so a run that starts while PostgreSQL restarts waits for it instead of failing.
"""

from __future__ import annotations

import logging

import psycopg
from psycopg_pool import ConnectionPool

from . import sqlfiles
from .config import Config
from .errors import DatabaseError
from .retry import Retry, reason

log = logging.getLogger("inspector.db")


def _configure(timeout_ms: int):
    def configure(conn: psycopg.Connection) -> None:
        conn.execute(sqlfiles.load("postgres/session_setup"))
        conn.execute(sqlfiles.load("postgres/statement_timeout"), {"ms": str(timeout_ms)})
        conn.commit()

    return configure


def _connect_kwargs(config: Config, name: str) -> dict:
    return {
        "application_name": f"jira-attachment-inspector ({name})",
        "connect_timeout": max(2, min(10, config.db_connect_timeout)),
    }


def wait_for_server(config: Config, name: str) -> None:
    """Connect once and disconnect, retrying transient failures; raises DatabaseError with the
    server's own reason (refused, auth failed, no such database), never the DSN."""
    retry = Retry(config.db_connect_timeout, f"cannot connect to the Jira database at {config.db_target}")
    while True:
        try:
            psycopg.connect(config.db_dsn, **_connect_kwargs(config, name)).close()
        except psycopg.Error as exc:
            retry.failed(exc)
        else:
            retry.succeeded()
            return


def open_pool(config: Config, name: str) -> ConnectionPool:
    """Open a pool and prove it works, or raise DatabaseError naming the target, not the secret."""
    wait_for_server(config, name)
    pool = ConnectionPool(
        config.db_dsn,
        min_size=1,
        max_size=config.db_pool_size,
        kwargs=_connect_kwargs(config, name),
        configure=_configure(config.db_statement_timeout * 1000),
        # A caller waiting for a connection gives up after this; the reader's own retry loop
        # then decides whether the outage is still within its budget.
        timeout=max(1, min(10, config.db_connect_timeout)),
        reconnect_timeout=max(1, config.db_connect_timeout),
        open=False,
        name=name,
    )
    try:
        pool.open(wait=True, timeout=max(1, config.db_connect_timeout))
    except Exception as exc:
        pool.close()
        raise DatabaseError(f"cannot connect to the Jira database at {config.db_target}: {reason(exc)}") from None
    return pool


def estimate_rows(pool: ConnectionPool) -> int:
    with pool.connection() as conn:
        (estimate,) = conn.execute(sqlfiles.load("postgres/attachments_estimate")).fetchone() or (None,)
        if estimate is None:
            (estimate,) = conn.execute(sqlfiles.load("postgres/attachments_count")).fetchone()
        return int(estimate)
