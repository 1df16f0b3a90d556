"""Checks that may hang: a stat on a dead NFS server blocks in the kernel and cannot be cancelled.

Each chunk of rows runs in a thread of a pool (``threadpool.py``), which appends exactly one
result per row. The calling thread watches the results grow; when a chunk makes no progress
for ``timeout`` seconds, the row it is stuck on gets a "timed out" result, the thread is
abandoned (told to stop at its next row, should the kernel ever answer, and never to come back
to the pool) and the rest of the chunk goes on in another thread. Other chunks, and other
checker processes, are not held up. Too many stuck threads mean the storage is gone: the pass
stops at a checkpoint instead of timing out row after row for hours.

When to spread a batch over many threads at all is ``adaptive.py``'s decision.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ..errors import StorageError
from .threadpool import Job, Pool

# Stuck threads a process abandons before it declares the storage gone (exit 7).
MAX_HUNG = 16


class Watchdog:
    """``work(rows, out, job)`` appends one result per row to ``out`` and returns early once
    ``job.cancelled``; ``on_hang(row, seconds)`` makes the result of a row that hung."""

    def __init__(self, work: Callable, on_hang: Callable, timeout: float, max_hung: int, clock=time.monotonic):
        self.work, self.on_hang = work, on_hang
        self.timeout, self.max_hung, self._clock = timeout, max_hung, clock
        self.tick = min(1.0, timeout / 4)
        self.hung = 0
        self._wake = threading.Event()
        self._pool = Pool(clock, self._wake)

    def _start(self, rows: list, work: Callable) -> Job:
        job = Job(rows, work)
        self._pool.submit(job)
        return job

    def run(self, chunks: list[list], work: Callable | None = None, on_hang: Callable | None = None) -> list[list]:
        """Results per chunk, in row order, one per row whatever hung. ``work`` and ``on_hang``
        replace the defaults for this call."""
        work = work or self.work
        on_hang = on_hang or self.on_hang
        results: list[list] = [[] for _ in chunks]
        jobs = {i: self._start(chunk, work) for i, chunk in enumerate(chunks) if chunk}
        while jobs:
            self._wake.clear()
            now = self._clock()
            for i, job in list(jobs.items()):
                if job.finished:
                    if job.error is not None:
                        raise job.error
                    results[i] += job.out
                    del jobs[i]
                    continue
                if job.since is None:  # not yet taken by a thread
                    continue
                seen = len(job.out)
                if seen + job.ticks != job.seen:
                    job.seen, job.since = seen + job.ticks, now
                elif now - job.since >= self.timeout:
                    replacement = self._abandon(job, seen, results[i], work, on_hang)
                    if replacement is None:
                        del jobs[i]
                    else:
                        jobs[i] = replacement
            if jobs:
                self._wake.wait(self.tick)
        return results

    def _abandon(self, job: Job, seen: int, results: list, work: Callable, on_hang: Callable) -> Job | None:
        job.cancelled = True
        self.hung += 1
        stuck = job.rows[seen]
        results += job.out[:seen]
        results.append(on_hang(stuck, self.timeout))
        if self.hung > self.max_hung:
            raise StorageError(
                f"the attachments storage stopped answering: {self.hung} checks hung for more than "
                f"{self.timeout:g} s (INSPECTOR_STAT_TIMEOUT); progress up to the last checkpoint is kept, "
                "run again once the storage is back"
            )
        rest = job.rows[seen + 1 :]
        return self._start(rest, work) if rest else None
