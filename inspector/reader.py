"""Reader stage: streams attachment rows from Jira's PostgreSQL into the pipeline.

Rows come in keyset segments (``id > last ORDER BY id LIMIT n``) read through a server-side
cursor, one transaction per segment, so only one batch is in memory and no transaction
stays open for the whole pass. Batches are numbered so the writer can tell when every row
up to an id has been stored (the resume cursor).
"""

from __future__ import annotations

import logging

import psycopg

from . import sqlfiles
from .config import Config
from .db import open_pool
from .errors import DatabaseError
from .model import ID
from .stages import stage
from .state import NEW, OLD, PassInfo

log = logging.getLogger("inspector.reader")


MAX_ID = 10**18 - 1  # numeric(18,0)


def segments(pool, after: int, segment_rows: int, batch_size: int, until: int = MAX_ID):
    """Yield batches of rows (plain tuples in AttachmentRow order) with id > ``after``, in id
    order, until the table ends."""
    query = sqlfiles.load("postgres/attachments_segment")
    while True:
        got = 0
        with pool.connection() as conn, conn.transaction(), conn.cursor(name="inspector_attachments") as cur:
            cur.itersize = batch_size
            cur.execute(query, {"after": after, "until": until, "limit": segment_rows})
            while rows := cur.fetchmany(batch_size):
                got += len(rows)
                after = rows[-1][ID]
                yield rows
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
    seq = 0
    try:
        for part, after, until in parts(current):
            for rows in segments(pool, after, config.db_segment_rows, config.batch_size, until):
                work_q.put((seq, part, rows))
                seq += 1
    except psycopg.Error as exc:
        raise DatabaseError(f"reading attachments failed: {str(exc).strip().splitlines()[0]}") from None
    finally:
        pool.close()
    log.info("reader: all attachment rows read (%d batches this run)", seq)
    result_q.put(("reader_done", seq))
    for _ in range(n_checkers):
        work_q.put(None)
