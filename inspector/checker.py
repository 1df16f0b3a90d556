"""Checker stage: turns batches of attachment rows into result rows by asking a storage object.

Several checker processes run in parallel; inside each, a batch is split across threads
because a stat on NFS is a network round trip that releases the GIL.
"""

from __future__ import annotations

import errno
from concurrent.futures import ThreadPoolExecutor

from . import rules
from .config import Config, Identity
from .model import AttachmentRow
from .stages import stage
from .storage_fs import FileSystemStorage, text_path


def check_row(row: AttachmentRow, storage: FileSystemStorage, identity: Identity, pass_id: int) -> tuple:
    where = rules.issue_folder(row)
    if isinstance(where, rules.Verdict):
        return rules.result_tuple(pass_id, row, None, None, [where])
    folder = "/".join(where)
    rel = f"{folder}/{row.id}"
    blocked, final = rules.folder_verdict(storage.folder_probes(where), identity)
    if final:
        return rules.result_tuple(pass_id, row, rel, None, [blocked])
    probe = storage.file(rel)
    if probe.errno == errno.ENOENT and not probe.dangling_symlink:
        legacy = rules.legacy_name(row.id, row.filename)
        # The legacy name comes from the database: it is only used if the folder really
        # holds an entry of that exact name, so it can never steer us to another path.
        if legacy is not None and "/" not in legacy:
            names = storage.listing(folder)
            if isinstance(names, set) and legacy in names:
                rel = f"{folder}/{legacy}"
                probe = storage.file(rel)
    verdicts = [blocked] if blocked else []
    verdicts += rules.file_verdicts(row, rel, probe, identity)
    return rules.result_tuple(pass_id, row, text_path(rel), probe, verdicts)


class BatchChecker:
    """Checks whole batches, splitting each across ``threads`` threads when more than one."""

    def __init__(self, config: Config, pass_id: int, storage: FileSystemStorage | None = None):
        self.storage = storage or FileSystemStorage(config.attachments_root)
        self.identity = config.identity
        self.pass_id = pass_id
        self.threads = config.checker_threads
        self._pool = ThreadPoolExecutor(self.threads) if self.threads > 1 else None

    def _chunk(self, rows: list[AttachmentRow]) -> list[tuple]:
        storage, identity, pass_id = self.storage, self.identity, self.pass_id
        return [check_row(row, storage, identity, pass_id) for row in rows]

    def check(self, rows: list[AttachmentRow]) -> list[tuple]:
        if self._pool is None or len(rows) < 2 * self.threads:
            return self._chunk(rows)
        # Contiguous chunks, one per thread: a task per row would cost more than a local stat.
        size = -(-len(rows) // self.threads)
        parts = self._pool.map(self._chunk, [rows[i : i + size] for i in range(0, len(rows), size)])
        return [result for part in parts for result in part]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()


@stage("checker")
def run(config: Config, pass_id: int, work_q, result_q, index: int) -> None:
    checker = BatchChecker(config, pass_id)
    try:
        while (item := work_q.get()) is not None:
            seq, rows = item
            result_q.put(("rows", seq, rows[-1].id, checker.check(rows)))
    finally:
        checker.close()
    result_q.put(("checker_done", index))
