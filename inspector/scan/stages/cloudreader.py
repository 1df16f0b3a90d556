"""Cloud reader stage: reads a Jira Cloud site's partitions at once and sends their rows,
already judged, to the writer.

On Cloud the metadata is the check: an attachment the search lists exists with the size it
states (its content is read only to find duplicates, by the hasher), so no checker stands
between this stage and the writer. With ``INSPECTOR_JIRA_VERIFY_CONTENT=1`` each page's
attachments are also asked for one byte of content (``verify``), under the same request
budget, before the page is sent: content the site lost is ``missing``, content of another size
``corrupted``, any other refusal an ``error``; a page carries its verdicts with its cursor, so a
killed scan resumes with none lost or asked twice. ``INSPECTOR_JIRA_STREAMS`` threads take partitions one at
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

from ...config.config import Config
from ...jira import layout
from ...jira.model import CREATED, FILESIZE, ID
from ...sources import cloud
from ...sources.cloudapi import CloudApi, CloudNotFound, CloudRefused
from ...storage import Probe
from .. import verdicts
from ..messages import CLOUD, CLOUD_DONE, Checked, Cursor, Facts, FeedDone
from .runtime import stage

log = logging.getLogger("inspector.reader")


LOST = "its content answers 404: the site lists it but has no bytes for it"


def judged(pass_id: int, rows: list[tuple], content: dict[int, int | str] | None = None) -> list[tuple]:
    """Result rows of Cloud attachments: present, with the size the site states; ``content``:
    what ``verify`` found for each id (the size its host states, or why it failed)."""
    out = []
    for row in rows:
        rel = layout.row_path(row)
        size, created = row[FILESIZE], row[CREATED]
        probe = Probe(0, stat.S_IFREG | 0o444, size=-1 if size is None else size, mtime=created or 0)
        found = None if content is None else content.get(row[ID])
        if isinstance(found, str):
            missing = found == LOST
            out.append(verdicts.result(pass_id, row, rel, None, [
                verdicts.Verdict("missing" if missing else "error", found if missing else
                                 f"its content could not be read: {found}")]))  # fmt: skip
            continue
        flagged = []
        if found is not None and found >= 0 and found != size:
            flagged = [verdicts.Verdict("corrupted", f"the site states {size} bytes, its content has {found}")]
            probe = probe._replace(size=found)
        out.append(verdicts.result(pass_id, row, rel, probe, flagged))
    return out


def verify(api: CloudApi, attachment_id: int) -> int | str:
    """The size an attachment's content has (-1: its host does not say), or why it cannot be
    read (``LOST`` for a 404). A site that stays away raises: the pass stops, progress kept."""
    try:
        return api.content_size(attachment_id)
    except CloudNotFound:
        return LOST
    except CloudRefused as exc:
        return str(exc)


def _verifiers(config: Config) -> int:
    """Threads asking for content: enough to keep the budget's rate in flight at a few hundred
    ms a redirect and a ranged GET, never more than the connection pool holds."""
    return max(4, min(32, int(config.jira_max_requests_per_second)))


@stage("reader")
def run(config: Config, pass_id: int, todo: list[tuple], result_q: Any) -> None:
    """``todo``: (name, project, after, stop, cursor) of the partitions not yet read whole."""
    api = cloud.open_api(config)
    lock = threading.Lock()
    seq = verified = 0
    failed = threading.Event()
    asking = (
        ThreadPoolExecutor(_verifiers(config), thread_name_prefix="content") if config.jira_verify_content else None
    )

    def send(page: cloud.Page, part: str) -> None:
        nonlocal seq, verified
        content = None
        if asking is not None and page.rows:
            ids = [row[ID] for row in page.rows]
            content = dict(zip(ids, asking.map(lambda i: verify(api, i), ids), strict=True))
        results = judged(pass_id, page.rows, content)  # outside the lock: the other streams queue meanwhile
        with lock:  # numbered in the order they are queued: the writer stores them in that order
            verified += len(content or ())
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
    try:
        with ThreadPoolExecutor(streams, thread_name_prefix="stream") as pool:
            futures = [pool.submit(read, item) for item in todo]
            for future in futures:
                future.result()
    finally:
        if asking is not None:
            asking.shutdown(cancel_futures=True)
    log.info("reader: every partition read (%d batches this run, %d requests, %d retried, %d rate-limited, "
             "%d contents verified)", seq, api.requests, api.retried, api.budget.throttled_count, verified)  # fmt: skip
    result_q.put(FeedDone(seq))
