"""Going wide only when it pays: one thread on a local disk, many on network storage.

A stat or a folder listing on local disk takes microseconds and threads would only add
overhead; on NFS each is a network round trip that releases the GIL, and many in flight hide
the latency. ``Adaptive.run`` times a few probe calls in one thread and spreads the rest of a
batch over ``threads`` only when those spent long blocked on I/O (``blocked.py``). Every call
still runs under the watchdog (``watchdog.py``).
"""

from __future__ import annotations

import logging
import time

from .blocked import blocked_clock, sleeps
from .watchdog import Watchdog

log = logging.getLogger("inspector.watchdog")

# Voluntary context switches in a probe that mark it as waiting on storage (a thread that
# waits for the GIL once in a probe is not slow storage).
MIN_SLEEPS = 2
# Once a probe found the storage slow, later batches go wide at once for this long (a probe
# costs a round trip per item, in series), then the storage is probed again.
STAY_WIDE_SECONDS = 5.0


class Adaptive:
    """Runs batches of ``watchdog``'s work, wide over ``threads`` when ``probe`` items took more
    than ``slow_seconds`` each blocked on storage. ``calls`` names the items for the log
    ("checked rows", "listed folders")."""

    def __init__(self, watchdog: Watchdog, threads: int, probe: int, slow_seconds: float, calls: str):
        self.watchdog, self.threads, self.probe, self.slow_seconds = watchdog, threads, probe, slow_seconds
        self.calls = calls
        self._wide_until = float("-inf")

    def run(self, items: list) -> list:
        """Results for ``items`` in order. On local disk a call costs microseconds and threads
        only add overhead, so the first ``probe`` items run in one thread, timed; the rest stay
        in one thread unless those spent more than ``slow_seconds`` each blocked on I/O (or one
        hung), in which case they are spread over ``threads`` (NFS: many round trips in flight),
        and so are whole batches for the next STAY_WIDE_SECONDS."""
        dog, threads, probe = self.watchdog, self.threads, self.probe
        if threads <= 1 or len(items) <= probe:
            return dog.run([items])[0]
        if time.monotonic() < self._wide_until:  # slow a moment ago: no serial probe each batch
            return self._spread(items, threads)
        blocked, hung = [0.0], dog.hung
        slept: list[int | None] = [None]

        def timed(chunk: list, out: list, job) -> None:
            # The first item is not measured: a new thread waits once or twice for the GIL while
            # the starting thread finishes its own steps, sleeps that no storage caused.
            dog.work(chunk[:1], out, job)
            started, asleep = blocked_clock(), sleeps()
            try:
                dog.work(chunk[1:], out, job)
            finally:
                blocked[0] += blocked_clock() - started
                now = sleeps()
                if asleep is not None and now is not None:
                    slept[0] = now - asleep

        head = dog.run([items[:probe]], timed)[0]
        rest = items[probe:]
        # Slow storage makes calls both take long and sleep; a busy CPU makes them take long
        # only, and more threads would only make that worse. Two sleeps, not one per call: in a
        # batch mixing a slow disk and a fast one, a few slow calls dominate the time.
        waited = slept[0] is None or slept[0] >= MIN_SLEEPS
        each = blocked[0] / max(1, probe - 1)
        slow = dog.hung > hung or (each > self.slow_seconds and waited)
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
        parts = self.watchdog.run([items[i : i + size] for i in range(0, len(items), size)])
        return [result for part in parts for result in part]
