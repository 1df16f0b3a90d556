"""Jira Data Center's PostgreSQL as a Source: read-only sessions, keyset segments, retries.

Each process builds its own small pool (a psycopg connection never crosses a process
boundary) of read-only sessions with a statement timeout. Reaching the server is retried with
backoff for up to ``INSPECTOR_DB_CONNECT_TIMEOUT`` seconds, so a run that starts while
PostgreSQL restarts waits for it instead of failing.

Rows come in keyset segments (``id > last ORDER BY id LIMIT n``) read through a server-side
cursor, one transaction per segment, so only one batch is in memory and no transaction stays
open for the whole pass. A connection lost mid-stream (server restarted, session terminated)
is retried with backoff and the stream continues after the last id handed on, so no row is
skipped or sent twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import psycopg
from psycopg_pool import ConnectionPool

from .. import sqlfiles
from ..config import Config
from ..errors import DatabaseError
from ..model import ID
from ..retry import Retry, reason
from ..shards import WHOLE, Shard
from . import MAX_ID

log = logging.getLogger("inspector.db")


def _configure(timeout_ms: int) -> Callable[[psycopg.Connection], None]:
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
            (estimate,) = conn.execute(sqlfiles.load("postgres/attachments_count")).fetchone() or (0,)
        return int(estimate)


def segments(
    pool: ConnectionPool,
    after: int,
    segment_rows: int,
    batch_size: int,
    until: int = MAX_ID,
    retry: Retry | None = None,
    shard: Shard = WHOLE,
) -> Iterator[list[tuple]]:
    """Yield batches of rows (plain tuples in AttachmentRow order) with id in (``after``,
    ``until``], in id order, of ``shard`` only. With ``retry``, a transient database failure is
    waited out and reading resumes after the last row yielded; without, it is raised."""
    query = sqlfiles.load("postgres/attachments_segment")
    shares = {"shards": shard.count, "shard": shard.index}
    while True:
        got = 0
        try:
            with pool.connection() as conn, conn.transaction(), conn.cursor(name="inspector_attachments") as cur:
                cur.itersize = batch_size
                cur.execute(query, {"after": after, "until": until, "limit": segment_rows, **shares})
                while rows := cur.fetchmany(batch_size):
                    if retry is not None and retry.attempts:
                        retry.succeeded()  # rows flow again: a later outage gets a fresh budget
                    got += len(rows)
                    after = rows[-1][ID]
                    yield rows
        except psycopg.Error as exc:
            if retry is None:
                raise
            retry.failed(exc)  # raises DatabaseError once the failure is permanent or too long
            continue  # the segment again, from the last id handed on
        if got < segment_rows:
            return


class PostgresSource:
    """Jira's ``fileattachment`` rows joined to their issue and project."""

    def __init__(self, config: Config, name: str):
        self.config = config
        self.pool = open_pool(config, name)
        self.retry = Retry(config.db_connect_timeout, f"reading attachments from {config.db_target}")

    def describe(self) -> str:
        return self.config.db_target

    def estimate(self) -> int:
        return estimate_rows(self.pool) // self.config.shards

    def rows(self, after: int, until: int, batch_size: int) -> Iterator[list[tuple]]:
        return segments(self.pool, after, self.config.db_segment_rows, batch_size, until, self.retry, self.config.shard)

    def retried(self) -> int:
        return self.retry.total

    def close(self) -> None:
        try:
            self.pool.close()
        except psycopg.Error as exc:
            raise DatabaseError(f"reading attachments failed: {reason(exc)}") from None
