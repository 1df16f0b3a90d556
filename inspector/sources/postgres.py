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
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg_pool import ConnectionPool

from .. import sqlfiles
from ..errors import DatabaseError
from ..jira.model import ID
from ..scan.shards import WHOLE, Shard
from . import MAX_ID
from .dbretry import DatabaseRetry

if TYPE_CHECKING:
    from ..config.config import Config

log = logging.getLogger("inspector.db")


# Server-side reasons a session ended that say nothing about our query: shut down, crashed,
# still starting, too many connections, idle too long while our pipeline was busy (the
# stream resumes after the last id either way). Class 08 is "connection exception".
_TRANSIENT = {"57P01", "57P02", "57P03", "57P05", "25P03", "53300", "53400"}
# libpq gives no SQLSTATE when the server refuses a new connection, only its FATAL message:
# these refusals pass (the server is starting, stopping or full, or shut down or restarted
# while the session was being set up: the SQLSTATE 57P01/57P02 texts); any other (wrong
# password, no such database or role, pg_hba.conf) will not pass by waiting.
_PASSING_REFUSALS = (
    "the database system is", "too many clients", "connection slots are reserved", "terminating connection",
)  # fmt: skip


def is_transient(exc: BaseException) -> bool:
    """Whether waiting may cure a driver error (the retry policy decides how long)."""
    if not isinstance(exc, psycopg.Error) or isinstance(exc, psycopg.errors.QueryCanceled):
        return False
    state = exc.sqlstate
    if state is None:
        # No SQLSTATE: the connection never reached the server or broke under us (refused,
        # timed out, reset, pool exhausted), or the server refused to start a session.
        text = str(exc)
        if "FATAL:" in text:
            return any(phrase in text for phrase in _PASSING_REFUSALS)
        return isinstance(exc, psycopg.OperationalError)
    return state.startswith("08") or state in _TRANSIENT


def reason(exc: BaseException) -> str:
    """First line of a driver error: psycopg's messages name host and port, never the password."""
    text = str(exc).strip().splitlines()
    return text[0].strip() if text else type(exc).__name__


class Retry(DatabaseRetry):
    """The retry policy with PostgreSQL's errors and messages."""

    def __init__(self, budget: float, what: str, **clocks: Any):
        super().__init__(budget, what, is_transient, reason, **clocks)


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

    def jira_properties(self) -> dict[str, str]:
        """Jira's base URL and custom attachments path from its property tables, as far as the
        login may read them."""
        found: dict[str, str] = {}
        for name in ("postgres/jira_properties", "postgres/jira_property_numbers"):
            try:  # each apart: a login may be granted the strings (the base URL) and not the numbers
                with self.pool.connection() as conn:
                    found.update((str(k), str(v)) for k, v in conn.execute(sqlfiles.load(name)).fetchall())
            except (psycopg.errors.InsufficientPrivilege, psycopg.errors.UndefinedTable):
                continue
        return found

    def recent_project_keys(self, limit: int = 2000) -> list[str]:
        """Original keys of the projects the newest ``limit`` attachments belong to."""
        with self.pool.connection() as conn:
            rows = conn.execute(sqlfiles.load("postgres/recent_project_keys"), {"limit": limit}).fetchall()
        return sorted(str(key) for (key,) in rows if key)

    def close(self) -> None:
        try:
            self.pool.close()
        except psycopg.Error as exc:
            raise DatabaseError(f"reading attachments failed: {reason(exc)}") from None
