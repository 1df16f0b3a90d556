"""Bounded retries for Jira's database: exponential backoff with jitter, and what is worth retrying.

A connection that drops (PostgreSQL restarted, a failover, a DBA's ``pg_terminate_backend``)
or a server that is not up yet is worth waiting for; a wrong password, a missing database or
a statement timeout is not, and retrying it would only delay the one-line error the admin
needs. The time budget is ``INSPECTOR_DB_CONNECT_TIMEOUT``, counted from the first failure of
a run of failures, so a long pass survives several separate outages.
"""

from __future__ import annotations

import logging
import random
import time

import psycopg

from .errors import DatabaseError

log = logging.getLogger("inspector.db")

BASE_DELAY = 0.25
MAX_DELAY = 15.0
# Server-side reasons a session ended that say nothing about our query: shut down, crashed,
# still starting, too many connections, idle too long while our pipeline was busy (the
# stream resumes after the last id either way). Class 08 is "connection exception".
_TRANSIENT = {"57P01", "57P02", "57P03", "57P05", "25P03", "53300", "53400"}
# libpq gives no SQLSTATE when the server refuses a new connection, only its FATAL message:
# these refusals pass (the server is starting, stopping or full, or shut down or restarted
# while the session was being set up: the SQLSTATE 57P01/57P02 texts); any other (wrong
# password, no such database or role, pg_hba.conf) will not pass by waiting.
_PASSING_REFUSALS = (
    "the database system is", "too many clients", "connection slots are reserved", "terminating connection",
)  # fmt: skip


def backoff(attempt: int, rng=random.random, base: float = BASE_DELAY, cap: float = MAX_DELAY) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based): doubling, capped, and with
    "equal jitter" (half fixed, half random) so many clients do not reconnect in lockstep
    and the wait still grows."""
    ceiling = min(cap, base * 2**attempt)
    return ceiling / 2 + rng() * ceiling / 2


def is_transient(exc: BaseException) -> bool:
    if not isinstance(exc, psycopg.Error) or isinstance(exc, psycopg.errors.QueryCanceled):
        return False
    state = exc.sqlstate
    if state is None:
        # No SQLSTATE: the connection never reached the server or broke under us (refused,
        # timed out, reset, pool exhausted), or the server refused to start a session.
        text = str(exc)
        if "FATAL:" in text:
            return any(phrase in text for phrase in _PASSING_REFUSALS)
        return isinstance(exc, psycopg.OperationalError)
    return state.startswith("08") or state in _TRANSIENT


def reason(exc: BaseException) -> str:
    """First line of a driver error: psycopg's messages name host and port, never the password."""
    text = str(exc).strip().splitlines()
    return text[0].strip() if text else type(exc).__name__


class Retry:
    """Decides, after each failure, whether to wait and try again or to give up."""

    def __init__(self, budget: float, what: str, *, sleep=time.sleep, clock=time.monotonic, rng=random.random):
        self.budget, self.what = budget, what
        self._sleep, self._clock, self._rng = sleep, clock, rng
        self.attempts = 0
        self.total = 0
        self._since: float | None = None

    def failed(self, exc: BaseException) -> None:
        """Wait before the next attempt, or raise DatabaseError (never the driver's exception)."""
        now = self._clock()
        if self._since is None:
            self._since = now
        if not is_transient(exc):
            raise DatabaseError(f"{self.what}: {reason(exc)}") from None
        delay = backoff(self.attempts, self._rng)
        if now + delay - self._since > self.budget:
            raise DatabaseError(
                f"{self.what}: {reason(exc)} (gave up after {self.attempts + 1} attempts in "
                f"{now - self._since:.0f} s; INSPECTOR_DB_CONNECT_TIMEOUT={self.budget:g})"
            ) from None
        self.attempts += 1
        self.total += 1
        log.warning("%s: %s; retry %d in %.1f s", self.what, reason(exc), self.attempts, delay)
        self._sleep(delay)

    def succeeded(self) -> None:
        if self.attempts:
            log.info("%s: working again after %d retries", self.what, self.attempts)
        self.attempts, self._since = 0, None
