"""Reader stage: streams attachment rows from Jira's PostgreSQL into the pipeline.

Rows come in keyset segments (``id > last ORDER BY id LIMIT n``) read through a server-side
cursor, one transaction per segment, so only one batch is in memory and no transaction
stays open for the whole pass. Batches are numbered so the writer can tell when every row
up to an id has been stored (the resume cursor).

A connection lost mid-stream (server restarted, session terminated) is retried with backoff
and the stream continues after the last id handed on, so no row is skipped or sent twice.
"""

from __future__ import annotations

import logging

import psycopg

from . import sqlfiles
from .config import Config
from .db import open_pool
from .errors import DatabaseError
from .model import ID
from .retry import Retry, reason
from .stages import stage
from .state import NEW, OLD, PassInfo
from .throttle import Pacer

log = logging.getLogger("inspector.reader")


MAX_ID = 10**18 - 1  # numeric(18,0)


def segments(pool, after: int, segment_rows: int, batch_size: int, until: int = MAX_ID, retry: Retry | None = None):
    """Yield batches of rows (plain tuples in AttachmentRow order) with id in (``after``,
    ``until``], in id order. With ``retry``, a transient database failure is waited out and
    reading resumes after the last row yielded; without, it is raised."""
    query = sqlfiles.load("postgres/attachments_segment")
    while True:
        got = 0
        try:
            with pool.connection() as conn, conn.transaction(), conn.cursor(name="inspector_attachments") as cur:
                cur.itersize = batch_size
                cur.execute(query, {"after": after, "until": until, "limit": segment_rows})
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


def parts(current: PassInfo) -> list[tuple[str, int, int]]:
    """(part, after, until) still to read: new attachments (above head_id) first, then the rest."""
    todo = [] if current.new_done else [(NEW, max(current.cursor_id, current.head_id), MAX_ID)]
    if current.head_id > 0:
        todo.append((OLD, current.cursor_old, current.head_id))
    return todo


@stage("reader")
def run(config: Config, current: PassInfo, work_q, result_q, n_checkers: int) -> None:
    pool = open_pool(config, "reader")
    retry = Retry(config.db_connect_timeout, f"reading attachments from {config.db_target}")
    pacer = Pacer(config.max_rows_per_second)
    seq = 0
    try:
        for part, after, until in parts(current):
            for rows in segments(pool, after, config.db_segment_rows, config.batch_size, until, retry):
                pacer.take(len(rows))
                work_q.put((seq, part, rows))
                seq += 1
    except psycopg.Error as exc:  # only from closing the pool: reading itself raises DatabaseError
        raise DatabaseError(f"reading attachments failed: {reason(exc)}") from None
    finally:
        pool.close()
    if retry.total:
        log.info("reader: all attachment rows read (%d batches, %d reconnects)", seq, retry.total)
    else:
        log.info("reader: all attachment rows read (%d batches this run)", seq)
    result_q.put(("reader_done", seq))
    for _ in range(n_checkers):
        work_q.put(None)
