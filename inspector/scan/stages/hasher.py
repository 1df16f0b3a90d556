"""Duplicates by content: which files to read, and reading them (INSPECTOR_HASH=1 or --hash).

After a pass has checked every file, candidates are narrowed in two rounds so as little as
possible is read: files of a size no other file has are never read; files sharing a size get
a hash of their first and last 64 KiB ("head_tail"); only files sharing size and head/tail
hash are read whole ("full", BLAKE2b streamed in 1 MiB chunks, so a 10 GB file never sits in
memory). Hashes are stored with the size and mtime they were taken at and reused while those
hold, so a later pass reads only files that changed.

The feeder ``run`` is a stage like the reader: it streams candidates from the state file to
the checker processes, which do the reading under a bandwidth cap (INSPECTOR_HASH_MAX_MBPS).
"""

from __future__ import annotations

import errno as errnos
import hashlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

from ... import sqlfiles
from ...config.config import Config
from ...jira.model import flag_parameters
from ...runtime import readonly
from ...runtime.throttle import Pacer
from ...storage import Reader, Storage
from ..messages import FeedDone, HashBatch, HashItem
from ..verdicts import errno_text
from .runtime import stage

log = logging.getLogger("inspector.hasher")

EDGE = 64 * 1024
CHUNK = 1024 * 1024
HEAD_TAIL, FULL = "hash-head-tail", "hash-full"
# A batch ends at this many files or bytes to read, so a few big files spread over the checkers
# and progress is stored (and survives a kill or a closing window) every few MB.
BATCH = 64
BATCH_BYTES = 4 * 1024 * 1024


def digest(reader: Reader, size: int, level: str, pacer: Pacer, job=None) -> tuple[bytes | None, bytes | None, int]:
    """(head_tail, full, bytes read) for an open file of ``size`` bytes. A file of at most two
    edges is read once and both hashes are the same; otherwise ``level`` says which to take."""
    if size <= 2 * EDGE:
        pacer.take(size)
        data = reader.read_at(0, size + 1)
        if len(data) != size:
            raise OSError(errnos.ESTALE, "size changed while reading")
        whole = hashlib.blake2b(data, digest_size=32).digest()
        return whole, whole, size
    if level == HEAD_TAIL:
        pacer.take(2 * EDGE)
        head, tail = reader.read_at(0, EDGE), reader.read_at(size - EDGE, EDGE)
        if len(head) != EDGE or len(tail) != EDGE:
            raise OSError(errnos.ESTALE, "size changed while reading")
        h = hashlib.blake2b(head, digest_size=32)
        h.update(tail)
        return h.digest(), None, 2 * EDGE
    h = hashlib.blake2b(digest_size=32)
    done = 0
    while chunk := reader.read_at(done, CHUNK):
        pacer.take(len(chunk))
        h.update(chunk)
        done += len(chunk)
        if job is not None:
            if job.cancelled:
                raise OSError(errnos.ETIMEDOUT, "abandoned")
            job.ticks += 1  # a big file read slowly is progress, not a hang
    if done != size:
        raise OSError(errnos.ESTALE, "size changed while reading")
    return None, h.digest(), done


def hash_items(storage: Storage, items: list[HashItem], level: str, pacer: Pacer, out: list, job=None) -> None:
    """Append (row for the file_hashes table, bytes read) per item (sql/state/upsert_hash.sql).
    A file that cannot be read, or changed since the scan, records why instead. Runs under the
    checker's watchdog (``job``): a read that hangs on dead storage is given up on."""
    for relpath, size, mtime in items:
        if job is not None and job.cancelled:
            break
        row = {"relpath": relpath, "size": size, "mtime": mtime, "head_tail": None, "full_hash": None, "error": None}
        read = 0
        try:
            reader = storage.open(relpath)
            try:
                if reader.probe.size != size or reader.probe.mtime != mtime:
                    raise OSError(errnos.ESTALE, "changed since the scan")
                row["head_tail"], row["full_hash"], read = digest(reader, size, level, pacer, job)
            finally:
                reader.close()
        except OSError as exc:
            row["error"] = exc.strerror if exc.errno == errnos.ESTALE else errno_text(exc.errno or 0)
        out.append((row, read))


def work(storage: Storage, level: str, pacer: Pacer) -> Callable:
    """hash_items as a watchdog work function (items, out, job)."""
    return lambda items, out, job: hash_items(storage, items, level, pacer, out, job)


def hung(item: tuple, seconds: float) -> tuple[dict, int]:
    """The row of a file whose read did not answer within ``seconds``."""
    relpath, size, mtime = item
    error = f"did not answer within {seconds:g} s (ETIMEDOUT)"
    return {"relpath": relpath, "size": size, "mtime": mtime, "head_tail": None, "full_hash": None, "error": error}, 0


def cost(size: int, level: str) -> int:
    """Bytes a hash at ``level`` reads from a file of ``size`` bytes."""
    return size if size <= 2 * EDGE or level == FULL else 2 * EDGE


def candidates(state_db: Path, pass_id: int, level: str) -> Iterator[list[HashItem]]:
    """Batches of (relpath, size, mtime) to hash at ``level``, from a read-only connection."""
    name = "state/hash_candidates_head_tail" if level == HEAD_TAIL else "state/hash_candidates_full"
    conn = readonly.connect(Path(state_db).resolve())
    try:
        batch, weight = [], 0
        for item in conn.execute(sqlfiles.load(name), {"pass_id": pass_id, **flag_parameters()}):
            batch.append(item)
            weight += cost(item[1], level)
            if len(batch) >= BATCH or weight >= BATCH_BYTES:
                yield batch
                batch, weight = [], 0
        if batch:
            yield batch
    finally:
        conn.close()


def totals(state_db: Path, pass_id: int, level: str) -> tuple[int, int]:
    """(files, bytes) that hashing at ``level`` will read: what its progress counts toward."""
    files = total = 0
    for batch in candidates(state_db, pass_id, level):
        files += len(batch)
        total += sum(cost(size, level) for _, size, _ in batch)
    return files, total


@stage("hasher")
def run(config: Config, pass_id: int, level: str, work_q, result_q, n_checkers: int) -> None:
    seq = 0
    for batch in candidates(config.state_db, pass_id, level):
        work_q.put(HashBatch(seq, level, batch))
        seq += 1
    log.debug("hasher: %d batches to hash at %s", seq, level)
    result_q.put(FeedDone(seq))
    for _ in range(n_checkers):
        work_q.put(None)
