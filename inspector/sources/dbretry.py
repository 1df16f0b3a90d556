"""The databases' side of the retry policy (runtime/retry.py): one outage per source, the
driver's errors classified by the driver's own module, and one-line messages that name what
failed and, when the outage has lasted too long, how long and which setting bounds it."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any

from ..errors import DatabaseError
from ..runtime.retry import Outage

log = logging.getLogger("inspector.db")


class DatabaseRetry:
    """Decides, after each failure, whether to wait and try again or to raise DatabaseError."""

    def __init__(
        self, budget: float, what: str, transient: Callable[[BaseException], bool],
        why: Callable[[BaseException], str], *, sleep: Callable[[float], Any] = time.sleep,
        clock: Callable[[], float] = time.monotonic, rng: Callable[[], float] = random.random,
    ):  # fmt: skip
        self.what, self._transient, self._why = what, transient, why
        self.outage = Outage(budget, sleep=sleep, clock=clock, rng=rng)
        self.attempts = 0

    @property
    def total(self) -> int:
        return self.outage.retries

    def failed(self, exc: BaseException, what: str | None = None) -> None:
        """Wait before the next attempt, or raise DatabaseError (never the driver's exception).
        ``what``: what failed this time, where it is not the retry's own ``what``."""
        what = what or self.what
        if not self._transient(exc):
            raise DatabaseError(f"{what}: {self._why(exc)}") from None
        failing = self.outage.failing()
        delay = self.outage.failed(self.attempts)
        if delay is None:
            raise DatabaseError(
                f"{what}: {self._why(exc)} (gave up after {self.attempts + 1} attempts in {failing:.0f} s; "
                f"INSPECTOR_DB_CONNECT_TIMEOUT={self.outage.budget:g})"
            ) from None
        self.attempts += 1
        log.warning("%s: %s; retry %d in %.1f s", what, self._why(exc), self.attempts, delay)

    def succeeded(self) -> None:
        if self.attempts:
            log.info("%s: working again after %d retries", self.what, self.attempts)
        self.attempts = 0
        self.outage.succeeded()
