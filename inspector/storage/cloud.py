"""Jira Cloud's attachment content as a storage, for finding duplicates by content.

A Cloud attachment has no path: the scan gives each one the path Jira's layout would give it
(``KEY/<bucket>/KEY-<n>/<id>``) and this storage reads the id back from it. Content comes
from ``/rest/api/3/attachment/content/{id}`` by ranged GET (the first and last 64 KiB, then the
whole), following the redirect to the media host without the site's credentials
(``sources.cloudapi``). A 404 is an attachment whose content is gone: ``ENOENT``. A Cloud
attachment never changes, so its size and upload time come from what the scan stored.
"""

from __future__ import annotations

import errno as errnos
import sqlite3
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import DatabaseError
from ..runtime import readonly
from . import Capabilities, Listing, Probe

CAPABILITIES = Capabilities(ownership=False)


def attachment_id(rel: str) -> int:
    return int(rel.rsplit("/", 1)[-1])


class CloudReader:
    def __init__(self, storage: CloudStorage, rel: str, probe: Probe):
        self._storage, self._id, self.probe = storage, attachment_id(rel), probe

    def read_at(self, offset: int, size: int) -> bytes:
        from ..sources.cloudapi import CloudNotFound

        if size <= 0 or offset >= self.probe.size:
            return b""
        try:
            return self._storage.api.content(self._id, offset, min(self.probe.size, offset + size) - 1)
        except CloudNotFound:
            raise OSError(errnos.ENOENT, "its content answers 404") from None
        except DatabaseError as exc:
            raise OSError(errnos.EIO, str(exc)) from None

    def close(self) -> None:
        pass


class CloudStorage:
    capabilities = CAPABILITIES

    def __init__(self, api: Any, state_db: Path):
        self.api = api
        self._state_db = Path(state_db)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def describe(self) -> str:
        return str(self.api.describe())

    def probe(self, rel: str) -> Probe:
        """The attachment as the scan stored it (its newest pass)."""
        with self._lock:
            if self._conn is None:
                self._conn = readonly.connect(self._state_db.resolve(), check_same_thread=False)
            # By the primary key (pass_id, id): the id is the path's last part. A match on relpath
            # read the whole table per file (110 ms a probe at 500,000 rows).
            row = self._conn.execute(
                "SELECT filesize, created FROM results WHERE pass_id IN (SELECT pass_id FROM passes) AND id = ? "
                "ORDER BY pass_id DESC LIMIT 1",
                (attachment_id(rel),),
            ).fetchone()
        if row is None:
            return Probe(errnos.ENOENT)
        return Probe(0, stat.S_IFREG | 0o444, size=row[0] or 0, mtime=row[1] or 0)

    def file(self, rel: str, failed: Probe | None = None) -> Probe:
        return failed or self.probe(rel)

    def folder(self, rel: str) -> Probe:
        return Probe(0, stat.S_IFDIR | 0o555)

    def recheck(self, rel: str, absent: Probe) -> Probe:
        return absent

    def folder_probes(self, folder: str) -> Iterator[tuple[str, Probe]]:
        yield "", self.folder("")

    def names(self, folder: str) -> set[str] | int:
        return errnos.ENOTSUP

    def listing(self, folder: str, with_probe: bool = False, files_apart: bool = False) -> Listing:
        return Listing(errnos.ENOTSUP, [])

    def entry_size(self, rel: str) -> int:
        return -1

    def open(self, rel: str, known: Probe | None = None) -> CloudReader:
        probe = known if known is not None else self.probe(rel)
        if probe.errno:
            raise OSError(probe.errno, "not an attachment of this site")
        return CloudReader(self, rel, probe)


def check_root(text: str) -> tuple[str, str | None, Probe | None]:
    """A site is not an attachments root: it is configured as the source."""
    return text, f"'{text}' is a web address: for a Jira Cloud site set INSPECTOR_JIRA_CLOUD_URL instead", None


def open_cloud(root: str, config: Any, listed: object) -> CloudStorage:
    """The content of the configured Cloud site; its request budget is shared by the checker
    processes that hash: each gets its share of INSPECTOR_JIRA_MAX_REQUESTS_PER_SECOND."""
    from ..sources.cloudapi import CloudApi

    rate = config.jira_max_requests_per_second / max(1, config.checkers)
    api = CloudApi(
        config.jira_cloud_url, config.jira_email, config.jira_api_token, rate, retry_timeout=config.retry_timeout
    )
    return CloudStorage(api, config.state_db)
