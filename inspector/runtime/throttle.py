"""A pacer that keeps work under a rate (rows per second, bytes per second) without bursts.

Admins run the inspector next to a live Jira: a cap on how fast it asks the shared storage
(``INSPECTOR_MAX_ROWS_PER_SECOND``) keeps it from competing with users for NFS round trips.
"""

from __future__ import annotations

import time


class Pacer:
    """Blocks in ``take(n)`` so that, over time, at most ``rate`` units pass per second. Credit
    saved while idle is capped at ``burst`` seconds' worth, so a pause is not followed by a
    flood. A rate of 0 means unlimited.

    With ``shared`` (a ``multiprocessing.Value("d")``), the pacers of several processes hold
    one rate together: whichever process has work uses the whole rate, where a fixed share
    per process would leave it idle while the others have nothing to do. CLOCK_MONOTONIC is
    the same clock in every process of the machine."""

    def __init__(self, rate: float, burst: float = 1.0, *, shared=None, clock=time.monotonic, sleep=time.sleep):
        self.rate, self.burst, self.shared = rate, burst, shared
        self._clock, self._sleep = clock, sleep
        self._next = clock() - burst  # a fresh pacer starts with its burst available

    def _advance(self, n: int, now: float) -> float:
        if self.shared is None:
            self._next = max(self._next, now - self.burst) + n / self.rate
            return self._next
        with self.shared.get_lock():
            self.shared.value = max(self.shared.value, now - self.burst) + n / self.rate
            return self.shared.value

    def take(self, n: int) -> float:
        """Account for ``n`` units; returns the seconds slept."""
        if self.rate <= 0 or n <= 0:
            return 0.0
        now = self._clock()
        wait = self._advance(n, now) - now
        if wait > 0:
            self._sleep(wait)
            return wait
        return 0.0
