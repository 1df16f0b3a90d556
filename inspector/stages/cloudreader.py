"""Cloud reader stage: reads a Jira Cloud site's partitions at once and sends their rows,
already judged, to the writer.

On Cloud the metadata is the check: an attachment the search lists exists with the size it
states (its content is read only to find duplicates, by the hasher), so no checker stands
between this stage and the writer. ``INSPECTOR_JIRA_STREAMS`` threads take partitions one at
a time, biggest first, and page through them under the process's one request budget; every
page goes to the writer as one batch that carries its partition's new cursor (the last issue
number), in the order the batches are numbered, so the cursor stored with a batch is always
covered by the rows stored before it.
"""

from __future__ import annotations

import logging
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .. import layout, verdicts
from ..config import Config
from ..messages import CLOUD, CLOUD_DONE, Checked, Cursor, Facts, FeedDone
from ..model import CREATED, FILESIZE
from ..sources import cloud
from ..storage import Probe
from .runtime import stage

log = logging.getLogger("inspector.reader")


def judged(pass_id: int, rows: list[tuple]) -> list[tuple]:
    """Result rows of Cloud attachments: present, with the size the site states."""
    out = []
    for row in rows:
        rel = layout.row_path(row)
        size, created = row[FILESIZE], row[CREATED]
        probe = Probe(0, stat.S_IFREG | 0o444, size=-1 if size is None else size, mtime=created or 0)
        out.append(verdicts.result(pass_id, row, rel, probe, []))
    return out


@stage("reader")
def run(config: Config, pass_id: int, todo: list[tuple], result_q: Any) -> None:
    """``todo``: (name, project, after, stop, cursor) of the partitions not yet read whole."""
    api = cloud.open_api(config)
    lock = threading.Lock()
    seq = 0
    failed = threading.Event()

    def send(page: cloud.Page, part: str) -> None:
        nonlocal seq
        results = judged(pass_id, page.rows)  # outside the lock: the other streams queue meanwhile
        with lock:  # numbered in the order they are queued: the writer stores them in that order
            if page.facts or page.authors:
                result_q.put(Facts([tuple(f) for f in page.facts], page.authors))
            result_q.put(Checked(seq, Cursor(part, page.last), results))
            seq += 1

    def read(item: tuple) -> None:
        name, project, after, stop, cursor = item
        partition = cloud.Partition(name, project, after, stop)
        last = max(after, cursor)
        try:
            for page in cloud.pages(api, partition, last, config.jira_jql, stop=failed.is_set):
                last = max(last, page.last)
                send(page._replace(last=last), CLOUD + name)
            if not failed.is_set():
                send(cloud.Page([], [], [], last), CLOUD_DONE + name)
        except BaseException:
            failed.set()  # the other streams stop at their next page
            raise

    streams = max(1, min(config.jira_streams, len(todo)))
    log.info("reading %d partitions of %s with %d streams", len(todo), config.jira_cloud_url, streams)
    with ThreadPoolExecutor(streams, thread_name_prefix="stream") as pool:
        futures = [pool.submit(read, item) for item in todo]
        for future in futures:
            future.result()
    log.info("reader: every partition read (%d batches this run, %d requests, %d retried, %d rate-limited)",
             seq, api.requests, api.retried, api.budget.throttled_count)  # fmt: skip
    result_q.put(FeedDone(seq))
