"""The one retry policy: how long to wait after a failure, and when an outage has lasted too long.

Every service the inspector talks to (Jira's database, an S3 bucket, a Jira Cloud site, a
restore's backup) fails the same ways: a restart, a failover, a dropped connection, a rate
limit. Each backend only says which of its errors waiting may cure; this module decides the
rest, the same way for all of them:

- waits double from ``BASE_DELAY`` up to ``MAX_DELAY``, with "equal jitter" (half fixed,
  half random) so many clients do not come back in lockstep and the wait still grows;
- a wait the service asked for (HTTP ``Retry-After``) is honoured, but never past the budget;
- the budget is a time, counted from the first failure that no success followed, so a long
  pass survives many short outages and stops (one line, progress kept) in a long one;
- one ``Outage`` is shared by every thread of a process that talks to the service: one
  thread's success ends it for all, their failures add up to one outage, and once it has
  lasted too long every thread gives up at once. With ``hold_all``, while one thread waits
  the others wait too, so a throttled service sees the whole process slow down.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

BASE_DELAY = 0.25
MAX_DELAY = 15.0


def backoff(attempt: int, rng: Callable[[], float] = random.random) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based)."""
    ceiling = min(MAX_DELAY, BASE_DELAY * 2 ** min(attempt, 64))
    return ceiling / 2 + rng() * ceiling / 2


class Outage:
    """A service's current run of failures, shared by the threads of one process."""

    def __init__(
        self, budget: float, *, hold_all: bool = False, sleep: Callable[[float], Any] = time.sleep,
        clock: Callable[[], float] = time.monotonic, rng: Callable[[], float] = random.random,
    ):  # fmt: skip
        self.budget, self.hold_all = budget, hold_all
        self._sleep, self._clock, self._rng = sleep, clock, rng
        self._lock = threading.Lock()
        self._since: float | None = None
        self._quiet_until = 0.0
        self.spent = False  # once given up, every thread gives up (until a success): the outage is the service's
        self.retries = 0  # over the life of the object, for the run's log line

    def failed(self, attempt: int, asked: float | None = None) -> float | None:
        """After a failure worth retrying: wait, and return the seconds waited; or return None
        without waiting when that wait would take the outage past the budget (the caller then
        raises its own one-line error). ``attempt`` counts the caller's own tries of this
        request (0-based); ``asked`` is the wait the service asked for, if any."""
        with self._lock:
            now = self._clock()
            if self._since is None:
                self._since = now
            delay = backoff(attempt, self._rng)
            if asked is not None:
                delay = max(asked, delay)  # a service that says "0" is not hammered
            if self.spent or now - self._since + delay > self.budget:
                self.spent = True
                return None
            self.retries += 1
            if self.hold_all:
                self._quiet_until = max(self._quiet_until, now + delay)
                delay = self._quiet_until - now
        self._sleep(delay)
        return delay

    def failing(self) -> float:
        """Seconds since the outage began; 0 when there is none."""
        since = self._since
        return 0.0 if since is None else self._clock() - since

    def succeeded(self) -> None:
        """A request went through: the outage is over, and the next has a whole budget."""
        if self._since is not None or self.spent:
            with self._lock:
                self._since, self.spent = None, False

    def hold(self) -> None:
        """Before a request, with ``hold_all``: wait out another thread's backoff."""
        pause = self._quiet_until - self._clock()
        if pause > 0:
            self._sleep(pause)
