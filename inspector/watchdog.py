"""Checks that may hang: a stat on a dead NFS server blocks in the kernel and cannot be cancelled.

Each chunk of rows runs in a thread of the watchdog's pool, which appends exactly one result per
row. The calling thread watches the results grow; when a chunk makes no progress for ``timeout``
seconds, the row it is stuck on gets a "timed out" result, the thread is abandoned (told to
stop at its next row, should the kernel ever answer, and never to come back to the pool) and
the rest of the chunk goes on in another thread. Other chunks, and other checker processes,
are not held up. Too many stuck threads mean the storage is gone: the pass stops at a
checkpoint instead of timing out row after row for hours.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from .errors import StorageError
from .parallel import blocked_clock, sleeps

log = logging.getLogger("inspector.watchdog")

# Voluntary context switches in a probe that mark it as waiting on storage (a thread that
# waits for the GIL once in a probe is not slow storage).
MIN_SLEEPS = 2
# Once a probe found the storage slow, later batches go wide at once for this long (a probe
# costs a round trip per item, in series), then the storage is probed again.
STAY_WIDE_SECONDS = 5.0

# Stuck threads a process abandons before it declares the storage gone (exit 7).
MAX_HUNG = 16
# A pool thread with nothing to do for this long ends (a pass on local disk needs none).
IDLE_SECONDS = 10.0


class Job:
    """One thread's share of a chunk. ``cancelled`` is read by the worker before every row;
    ``ticks`` is progress within a long row (a chunk of a big file read), so a slow but moving
    row is not taken for a hung one. ``since`` is None until a pool thread takes the job: one
    still waiting for a thread is not hung."""

    __slots__ = ("cancelled", "error", "finished", "out", "rows", "seen", "since", "ticks", "work")

    def __init__(self, rows: list, work: Callable):
        self.rows, self.out, self.work = rows, [], work
        self.ticks = 0
        self.cancelled = self.finished = False
        self.error: BaseException | None = None
        self.seen, self.since = 0, None


class _Pool:
    """Threads that outlive a batch. Starting a thread per chunk cost more CPU than the stats
    themselves once the storage was slow (128 threads for every batch of 1,000 rows). A thread
    whose job was abandoned never comes back (it may stay stuck in the kernel); a new one takes
    its place when needed."""

    def __init__(self, clock: Callable[[], float], wake: threading.Event):
        self._clock, self._wake = clock, wake
        self._jobs: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        # Threads waiting for a job, less the jobs queued for them (kept under the lock, and a
        # job is queued under it, so an idle thread ends only when no job waits for it).
        self._idle = 0

    def submit(self, job: Job) -> None:
        with self._lock:
            self._jobs.put(job)
            if self._idle:
                self._idle -= 1
                return
        # Daemon: a thread stuck in the kernel must not keep the process from exiting.
        threading.Thread(target=self._serve, daemon=True, name="inspector-check").start()

    def _serve(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._jobs.empty():
                        self._idle -= 1
                        return
                continue
            job.since = self._clock()
            try:
                job.work(job.rows, job.out, job)
            except BaseException as exc:  # re-raised in the watching thread
                job.error = exc
            back = not job.cancelled  # abandoned: the watching thread counted it as lost
            if back:
                # Idle before the watching thread hears the job is done, so that the next batch
                # it hands out finds this thread instead of starting one more.
                with self._lock:
                    self._idle += 1
            job.finished = True
            self._wake.set()
            if not back:
                return


class Watchdog:
    """``work(rows, out, job)`` appends one result per row to ``out`` and returns early once
    ``job.cancelled``; ``on_hang(row, seconds)`` makes the result of a row that hung."""

    def __init__(
        self, work: Callable, on_hang: Callable, timeout: float, max_hung: int, clock=time.monotonic,
        calls: str = "calls",
    ):  # fmt: skip
        self.work, self.on_hang = work, on_hang
        self.calls = calls  # what the items are, for the log: "checked rows", "listed folders"
        self.timeout, self.max_hung, self._clock = timeout, max_hung, clock
        self.tick = min(1.0, timeout / 4)
        self.hung = 0
        self._wake = threading.Event()
        self._wide_until = float("-inf")
        self._pool = _Pool(clock, self._wake)

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

    def run_adaptive(self, items: list, threads: int, probe: int, slow_seconds: float) -> list:
        """Results for ``items`` in order. On local disk a call costs microseconds and threads
        only add overhead, so the first ``probe`` items run in one thread, timed; the rest stay
        in one thread unless those spent more than ``slow_seconds`` each blocked on I/O (or one
        hung), in which case they are spread over ``threads`` (NFS: many round trips in flight),
        and so are whole batches for the next STAY_WIDE_SECONDS."""
        if threads <= 1 or len(items) <= probe:
            return self.run([items])[0]
        if time.monotonic() < self._wide_until:  # slow a moment ago: no serial probe each batch
            return self._spread(items, threads)
        blocked, slept, hung = [0.0], [None], self.hung

        def timed(chunk: list, out: list, job: Job) -> None:
            # The first item is not measured: a new thread waits once or twice for the GIL while
            # the starting thread finishes its own steps, sleeps that no storage caused.
            self.work(chunk[:1], out, job)
            started, asleep = blocked_clock(), sleeps()
            try:
                self.work(chunk[1:], out, job)
            finally:
                blocked[0] += blocked_clock() - started
                if asleep is not None:
                    slept[0] = sleeps() - asleep

        head = self.run([items[:probe]], timed)[0]
        rest = items[probe:]
        # Slow storage makes calls both take long and sleep; a busy CPU makes them take long
        # only, and more threads would only make that worse. Two sleeps, not one per call: in a
        # batch mixing a slow disk and a fast one, a few slow calls dominate the time.
        waited = slept[0] is None or slept[0] >= MIN_SLEEPS
        each = blocked[0] / max(1, probe - 1)
        slow = self.hung > hung or (each > slow_seconds and waited)
        if slow:
            if self._wide_until == float("-inf"):
                # The first time this process finds the storage slow: the wait gives the order of
                # magnitude INSPECTOR_CHECKER_THREADS is tuned to (fewer threads for a short
                # one, more for a long one).
                log.info(
                    "%s wait on the storage, about %.2f ms each (a probe of %d): spreading them over %d "
                    "threads (INSPECTOR_CHECKER_THREADS)", self.calls.capitalize(), each * 1e3, probe - 1, threads,
                )  # fmt: skip
            self._wide_until = time.monotonic() + STAY_WIDE_SECONDS
        return head + self._spread(rest, threads if slow else 1)

    def _spread(self, items: list, threads: int) -> list:
        """Results for ``items`` in order, from ``threads`` threads taking a slice each."""
        size = -(-len(items) // threads)
        parts = self.run([items[i : i + size] for i in range(0, len(items), size)])
        return [result for part in parts for result in part]

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
