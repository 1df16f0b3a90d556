"""Reader stage: streams attachment rows from the configured source into the pipeline.

It reads the parts of a pass still to do (attachments added since the last finished pass
first, then the rest, see ``parts``) and numbers the batches, so the writer can tell when
every row up to an id has been stored (the resume cursor). How rows are fetched, and how a
lost connection is waited out, is the source's business (``inspector.sources``).
"""

from __future__ import annotations

import logging

from ...config.config import Config
from ...runtime.throttle import Pacer
from ...sources import MAX_ID, open_source
from ...state import PassInfo
from ..messages import NEW, OLD, Batch, FeedDone
from .runtime import stage

log = logging.getLogger("inspector.reader")


def parts(current: PassInfo) -> list[tuple[str, int, int]]:
    """(part, after, until) still to read: new attachments (above head_id) first, then the rest."""
    todo = [] if current.new_done else [(NEW, max(current.cursor_id, current.head_id), MAX_ID)]
    if current.head_id > 0:
        todo.append((OLD, current.cursor_old, current.head_id))
    return todo


@stage("reader")
def run(config: Config, current: PassInfo, work_q, result_q, n_checkers: int) -> None:
    source = open_source(config, "reader")
    pacer = Pacer(config.max_rows_per_second)
    seq = 0
    try:
        for part, after, until in parts(current):
            for rows in source.rows(after, until, config.batch_size):
                pacer.take(len(rows))
                work_q.put(Batch(seq, part, rows))
                seq += 1
        retried = source.retried()
    finally:
        source.close()
    if retried:
        log.info("reader: all attachment rows read (%d batches, %d reconnects)", seq, retried)
    else:
        log.info("reader: all attachment rows read (%d batches this run)", seq)
    result_q.put(FeedDone(seq))
    for _ in range(n_checkers):
        work_q.put(None)
