"""Threads that outlive a batch, for storage calls that may hang.

Each ``Job`` is one thread's share of a chunk of work; the pool hands jobs to idle threads and
starts a thread only when none is idle. Starting a thread per chunk cost more CPU than the
stats themselves once the storage was slow (128 threads for every batch of 1,000 rows). A
thread whose job was abandoned as hung (``watchdog.py``) never comes back: it may stay stuck
in the kernel, and a new one takes its place when needed.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

# A pool thread with nothing to do for this long ends (a pass on local disk needs none).
IDLE_SECONDS = 10.0


class Job:
    """One thread's share of a chunk. ``cancelled`` is read by the worker before every row;
    ``ticks`` is progress within a long row (a chunk of a big file read), so a slow but moving
    row is not taken for a hung one. ``since`` is None until a pool thread takes the job: one
    still waiting for a thread is not hung."""

    __slots__ = ("cancelled", "error", "finished", "out", "rows", "seen", "since", "ticks", "work")

    def __init__(self, rows: list, work: Callable):
        self.rows, self.work = rows, work
        self.out: list = []
        self.ticks = 0
        self.cancelled = self.finished = False
        self.error: BaseException | None = None
        self.seen = 0
        self.since: float | None = None


class Pool:
    """Hands jobs to idle threads; ``wake`` is set whenever a job finishes."""

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
