"""One retry window per backup, and a watch on every call that may hang.

A restore talks to one backup from many threads (lookups, transfers). When the backup stops
answering, each of them failing and retrying on its own for the whole retry timeout would cost
that timeout once per file: days for 10,000 files. Here every thread shares one ``Breaker``:
a failure that waiting may cure (a dropped connection, a timeout, a 5xx) is retried with
the retry policy (``retry.py``) while the backup as a whole has been failing for less than
the window (``INSPECTOR_RESTORE_RETRY_TIMEOUT``, counted from the first failure no success
followed);
past it the breaker trips once and the restore stops (exit 7), progress kept. Failures that
waiting cannot cure (a name that does not resolve, missing or wrong credentials, an unknown
host key) are configuration errors at once (exit 2); a connection refused at the first
contact means the backup is not there (exit 7), also at once.

``Watch`` records when each thread entered a call; the restore's main thread asks it for a
call older than the hang limit (a hard-mounted NFS server that went away never returns), and
then stops the run instead of waiting forever.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from ..errors import ConfigError, InspectorError, StorageError
from ..runtime.retry import Outage

log = logging.getLogger("inspector.restore")
_T = TypeVar("_T")
# botocore's exceptions that no wait cures: the credential chain found nothing usable.
_CONFIG_BOTOCORE = {"NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError", "NoRegionError",
                    "ProfileNotFound", "UnknownCredentialError", "InvalidConfigError"}  # fmt: skip


class Stopped(Exception):
    """The restore is stopping (a signal, a closing window); the part file stays for next time."""


def classify(exc: BaseException) -> str:
    """``config`` (fix the input), ``transient`` (waiting may help), or ``row`` (this file's
    own failure: its row's error)."""
    name = type(exc).__name__
    if isinstance(exc, ConfigError) or name in _CONFIG_BOTOCORE:
        return "config"
    if isinstance(exc, socket.gaierror):
        return "config"
    if isinstance(exc, (ConnectionError, TimeoutError, StorageError, EOFError)):
        return "transient"
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return "transient" if status >= 500 else "row"
    module = type(exc).__module__.split(".")[0]
    return "transient" if module in ("botocore", "urllib3") else "row"


def config_message(exc: BaseException, backup: str) -> str:
    if isinstance(exc, socket.gaierror):
        return f"--from: the host of {backup} cannot be resolved ({exc.strerror or exc})"
    if type(exc).__name__ in _CONFIG_BOTOCORE:
        return (f"--from {backup}: {exc} (set AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or a role "
                "the SDK's chain finds)")  # fmt: skip
    return str(exc)


class Breaker:
    """Retries shared by every thread that talks to one backup."""

    def __init__(self, backup: str, window: float, stop: threading.Event, sleep: Callable[[float], Any] | None = None,
                 clock: Callable[[], float] = time.monotonic):  # fmt: skip
        self.backup, self.window, self.stop = backup, window, stop
        self._sleep = sleep or stop.wait
        self._clock = clock
        self._lock = threading.Lock()
        self.outage = Outage(window, sleep=self._sleep, clock=clock)
        self.tripped: InspectorError | None = None
        self._last_log = 0.0

    def first(self, call: Callable[[], _T]) -> _T:
        """The first contact: a refused connection or an unresolvable name ends the run at once."""
        try:
            return call()
        except ConnectionRefusedError as exc:
            raise StorageError(f"--from {self.backup}: the connection was refused ({exc}); is the backup "
                               "host up, and is that its port?") from None  # fmt: skip
        except Exception as exc:
            if classify(exc) == "config":
                raise ConfigError(config_message(exc, self.backup)) from None
            if classify(exc) != "transient":
                raise
        return self.call(f"{self.backup}", call)

    def call(self, what: str, call: Callable[[], _T], on_retry: Callable[[], Any] | None = None) -> _T:
        """``call()``, retried after transient failures while the backup as a whole has failed
        for less than the window; ``on_retry`` drops what the failure left (an open reader)."""
        attempt = 0
        while True:
            if self.tripped is not None:
                raise self.tripped
            if self.stop.is_set():
                raise Stopped()
            try:
                result = call()
            except Exception as exc:
                kind = classify(exc)
                if kind == "config":
                    raise ConfigError(config_message(exc, self.backup)) from None
                if kind != "transient":
                    raise
                self._failed(what, exc, attempt)
                attempt += 1
                if on_retry is not None:
                    on_retry()
                continue
            self.outage.succeeded()
            return result

    def _failed(self, what: str, exc: BaseException, attempt: int) -> None:
        failing = self.outage.failing()
        with self._lock:
            quiet = self._clock() - self._last_log < 5
            self._last_log = self._last_log if quiet else self._clock()
        if not quiet:  # many threads fail together: one line every few seconds says it
            log.warning("%s: %s; retrying (failing for %.0f s of %.0f)", what, _first_line(exc), failing, self.window)
        if self.outage.failed(attempt) is None:
            with self._lock:
                if self.tripped is None:
                    self.tripped = StorageError(
                        f"the backup {self.backup} stopped answering ({_first_line(exc)}); gave up after "
                        f"{self.outage.failing():.0f} s (INSPECTOR_RESTORE_RETRY_TIMEOUT); progress is kept, run again "
                        "once it is back"
                    )
            raise self.tripped


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class Watch:
    """When each thread entered the call it is in, to find one that hangs."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._calls: dict[int, tuple[float, str]] = {}

    @contextmanager
    def calling(self, what: str) -> Iterator[None]:
        key = threading.get_ident()
        outer = self._calls.get(key)
        self._calls[key] = (self._clock(), what)
        try:
            yield
        finally:
            if outer is None:
                self._calls.pop(key, None)
            else:
                self._calls[key] = outer

    def stuck(self, limit: float) -> tuple[str, float] | None:
        """The call of longest standing past ``limit`` seconds, and how long it has been."""
        now = self._clock()
        worst = None
        for since, what in list(self._calls.values()):
            if now - since > limit and (worst is None or now - since > worst[1]):
                worst = (what, now - since)
        return worst
