"""Jira Cloud's REST API, as the inspector calls it: one shared request budget, retries, and
credentials that never leave the site.

``Budget`` paces every request of every stream together under
``INSPECTOR_JIRA_MAX_REQUESTS_PER_SECOND``. A ``429`` makes every stream wait its
``Retry-After`` and halves the rate; the rate climbs back a little after each stretch of
answered requests (additive increase, multiplicative decrease, as TCP does), never above the
configured one. ``5xx`` answers, dropped connections and 429s are retried by the retry policy
(``retry.py``), one outage for every stream: past ``INSPECTOR_RETRY_TIMEOUT`` the scan stops
with one line (exit 3), progress kept; ``401``/``403`` stop it at once.

Attachment content answers with a redirect to a media host: the redirect is followed by hand,
and the basic-auth header goes only to the Jira site's own host.
"""

from __future__ import annotations

import base64
import email.utils
import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin, urlsplit

import orjson

from ..errors import DatabaseError
from ..runtime.retry import Outage

log = logging.getLogger("inspector.cloud")

STREAM_CHUNK = 256 * 1024  # what a host that ignores Range is read in, skipping to the range
WINDOW = 1.05  # seconds in which at most the rate's worth of requests leave (a site counts any second)


class CloudAuthError(DatabaseError):
    """The site refused the credentials (401) or the account may not do this (403)."""


class CloudNotFound(DatabaseError):
    """A 404 from the site or its media host (an attachment whose content is gone)."""


class CloudRefused(DatabaseError):
    """A request answered with a 4xx that waiting cannot change (one attachment's own failure)."""


class Budget:
    """Requests per second shared by all streams of a process (thread-safe)."""

    def __init__(
        self, rate: float, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], Any] = time.sleep
    ):
        self.ceiling = self.rate = max(0.1, rate)
        self._clock, self._sleep = clock, sleep
        self._next = clock()
        self._answered = 0
        self._lock = threading.Lock()
        self._sent: list[float] = []  # when the last requests left (at most the rate's worth)
        self.throttled_count = 0

    def take(self) -> None:
        """Wait for this request's turn: evenly spaced at the rate (2% under it), and never more
        than the rate's worth of requests sent within any rolling second (a little over one, for
        the jitter between sending and the site's clock). Threads late from their sleep look
        again, so a late request does not crowd the next."""
        while True:
            with self._lock:
                now = self._clock()
                allowed = self._next
                cap = max(1, int(self.rate))
                if len(self._sent) >= cap:
                    allowed = max(allowed, self._sent[-cap] + WINDOW)
                if allowed <= now:
                    self._sent.append(now)
                    del self._sent[:-cap]
                    self._next = now + 1.0 / (self.rate * 0.98)
                    return
            self._sleep(allowed - now)

    def answered(self) -> None:
        with self._lock:
            self._answered += 1
            if self.rate < self.ceiling and self._answered >= 2 * self.rate:
                self.rate = min(self.ceiling, self.rate + max(0.5, self.ceiling / 10))
                self._answered = 0

    def throttled(self, retry_after: float) -> None:
        """A 429: nobody asks again before ``retry_after`` s, and the rate is halved."""
        with self._lock:
            self.throttled_count += 1
            self._next = max(self._next, self._clock() + retry_after)
            self.rate = max(0.1, self.rate / 2)
            self._answered = 0


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL, the default port filled in: credentials go only where all
    three are the site's (a redirect to http:// on the same host gets none)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or {"https": 443, "http": 80}.get(scheme, 0)


def retry_after_seconds(value: str | None, default: float = 1.0) -> float:
    """``Retry-After`` as seconds or an HTTP date; ``default`` when absent or unreadable."""
    if not value:
        return default
    value = value.strip()
    if value.replace(".", "", 1).isdigit():
        return max(0.0, float(value))
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, moment.timestamp() - time.time())


def _range_of(response: Any, start: int, end: int | None) -> bytes:
    """Bytes ``start..end`` of a whole body a host sent instead of the range asked for, read as a
    stream: what comes before is skipped a chunk at a time and what comes after is never read
    (the connection is closed, not drained), so memory holds the range and one chunk, never
    the file. Such a host costs the bytes up to the range's end on every request."""
    try:
        skipped = 0
        while skipped < start:
            chunk = response.read(min(STREAM_CHUNK, start - skipped))
            if not chunk:
                return b""
            skipped += len(chunk)
        out = bytearray()
        while end is None or len(out) < end - start + 1:
            chunk = response.read(STREAM_CHUNK if end is None else min(STREAM_CHUNK, end - start + 1 - len(out)))
            if not chunk:
                break
            out += chunk
        return bytes(out)
    finally:
        response.close()  # the rest of the body unread: this connection is not reused
        response.release_conn()


def _content_total(headers: Any, status: int) -> int:
    """A file's whole size from an answer to ``Range: bytes=0-0`` (206 or 416: the number after
    the ``/`` of Content-Range) or to a HEAD or an ignored range (200: Content-Length)."""
    if status in (206, 416):
        total = (headers.get("Content-Range") or "").rpartition("/")[2].strip()
        return int(total) if total.isdigit() else -1
    length = (headers.get("Content-Length") or "").strip()
    return int(length) if status == 200 and length.isdigit() else -1


def _messages(data: bytes) -> str:
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError:
        return data[:200].decode(errors="replace").strip()
    if isinstance(body, dict):
        parts = list(body.get("errorMessages") or []) + [f"{k}: {v}" for k, v in (body.get("errors") or {}).items()]
        if parts:
            return "; ".join(map(str, parts))
    return str(body)[:200]


class CloudApi:
    """Thread-safe: one connection pool and one budget for every stream of the process."""

    def __init__(
        self, site: str, email: str, token: str, rate: float, retry_timeout: float = 300.0,
        timeout: float = 60.0, pool: int = 32, sleep: Callable[[float], Any] = time.sleep,
    ):  # fmt: skip
        import urllib3

        self.site = site.rstrip("/")
        self._origin = origin(self.site)
        self._auth = "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()
        self.budget = Budget(rate, sleep=sleep)
        self.outage = Outage(retry_timeout, sleep=sleep)
        self._http = urllib3.PoolManager(
            num_pools=4, maxsize=pool, block=True, retries=False,
            timeout=urllib3.Timeout(connect=min(10.0, timeout), read=timeout),
            headers={"User-Agent": "jira-attachment-inspector", "Accept": "application/json"},
        )  # fmt: skip
        self.retried = 0
        self.requests = 0

    def describe(self) -> str:
        return self.site

    def _send(self, method: str, url: str, body: bytes | None, headers: dict, stream: bool = False) -> Any:
        """One request with the retry policy; returns the urllib3 response (2xx, 3xx, or 404).
        Requests to the site share the budget; a media host's are not the site's to limit."""
        import urllib3

        attempt = 0
        own = origin(url) == self._origin
        while True:
            if own:
                self.budget.take()
            asked: float | None = None
            try:
                self.requests += 1
                response = self._http.request(method, url, body=body, headers=headers, redirect=False,
                                              preload_content=not stream)  # fmt: skip
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                why = f"connection failed ({type(exc).__name__})"
            else:
                status = response.status
                if status < 400 or status == 404 or (status == 416 and "Range" in headers):
                    self.budget.answered()
                    self.outage.succeeded()
                    return response
                data = response.data
                response.release_conn()  # (a streamed answer is not given back by itself)
                if status in (401, 403) and own:
                    what = "refused the credentials" if status == 401 else "refused the request for this account"
                    raise CloudAuthError(
                        f"{self.site} {what} (HTTP {status}: {_messages(data)}); check INSPECTOR_JIRA_EMAIL and "
                        "INSPECTOR_JIRA_API_TOKEN, and that the account may browse the projects to scan"
                    )
                if status < 500 and status != 429:
                    where = self.site if own else f"{self._origin_of(url)} (its media host)"
                    raise CloudRefused(f"{where}: {method} {urlsplit(url).path} answered HTTP {status}: "
                                       f"{_messages(data)}")  # fmt: skip
                why = f"HTTP {status}"
                if status == 429:
                    # Every stream waits and the rate halves; the policy bounds how long in all.
                    asked = retry_after_seconds(response.headers.get("Retry-After"))
                    self.budget.throttled(asked)
            failing = self.outage.failing()
            delay = self.outage.failed(attempt, asked)
            if delay is None:
                if asked is not None:
                    raise DatabaseError(
                        f"{self.site} kept answering 429 (rate limited) for {failing:.0f} s; gave up after "
                        f"{self.outage.budget:.0f} s (INSPECTOR_RETRY_TIMEOUT). Progress is kept: run again later, or "
                        "lower INSPECTOR_JIRA_MAX_REQUESTS_PER_SECOND"
                    )
                raise DatabaseError(
                    f"{self.site} did not answer for {failing:.0f} s ({why}); gave up after "
                    f"{self.outage.budget:.0f} s (INSPECTOR_RETRY_TIMEOUT). Progress is kept"
                )
            attempt += 1
            self.retried += 1
            if asked is not None:
                log.warning("%s answered 429 (rate limited): every stream waited %.1f s and slows down", self.site,
                            delay)  # fmt: skip
            else:
                log.warning("%s: %s on %s; retried after %.1f s", self.site, why, urlsplit(url).path, delay)

    def json(self, method: str, path: str, payload: dict | None = None) -> dict:
        headers = {"Authorization": self._auth}
        body = None
        if payload is not None:
            body = orjson.dumps(payload)
            headers["Content-Type"] = "application/json"
        response = self._send(method, f"{self.site}{path}", body, headers)
        if response.status == 404:
            raise CloudNotFound(f"{self.site}{path}: not found ({_messages(response.data)})")
        try:
            result: dict = orjson.loads(response.data)
        except orjson.JSONDecodeError:
            raise DatabaseError(f"{self.site}{path} answered something that is not JSON") from None
        return result

    @staticmethod
    def _origin_of(url: str) -> str:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}"

    def _follow(self, attachment_id: int, method: str, extra: dict[str, str]) -> Any:
        """The content endpoint's answer after its redirects (a streamed response, not read),
        the site's credentials sent to the site only. Raises CloudNotFound for a 404 of the
        site or of the media host."""
        url = f"{self.site}/rest/api/3/attachment/content/{attachment_id}"
        headers = {"Authorization": self._auth, **extra}
        for _ in range(5):
            response = self._send(method, url, None, headers, stream=True)
            if response.status == 404:
                response.release_conn()
                where = "its content" if origin(url) == self._origin else "its media host"
                raise CloudNotFound(f"attachment {attachment_id}: {where} answers 404")
            if response.status not in (301, 302, 303, 307, 308):
                return response
            response.drain_conn()
            response.release_conn()
            url = urljoin(url, response.headers.get("Location", ""))
            # Credentials go to the Jira site only: a media host (another host) gets none.
            headers = {**extra} if origin(url) != self._origin else {"Authorization": self._auth, **extra}
        raise DatabaseError(f"attachment {attachment_id}: too many redirects")

    def content(self, attachment_id: int, start: int = 0, end: int | None = None) -> bytes:
        """An attachment's bytes ``start..end`` (inclusive), following the site's redirect to
        its media host without the site's credentials. Raises CloudNotFound for a 404."""
        ranged = bool(start or end is not None)
        extra = {"Range": f"bytes={start}-{'' if end is None else end}"} if ranged else {}
        response = self._follow(attachment_id, "GET", extra)
        if response.status == 200 and ranged:
            return _range_of(response, start, end)  # a host that ignored the range
        data: bytes = response.read()
        response.release_conn()
        return data

    def content_size(self, attachment_id: int, method: str = "GET") -> int:
        """How many bytes an attachment's content has, as its media host states it, or -1 where
        the host does not say: one byte asked for through the redirect (``Range: bytes=0-0``,
        the range its total comes with), or with ``method="HEAD"`` the headers alone. Raises
        CloudNotFound when the site or the host answers 404."""
        response = self._follow(attachment_id, method, {"Range": "bytes=0-0"} if method == "GET" else {})
        try:
            total = _content_total(response.headers, response.status)
        finally:
            if method == "GET" and response.status == 200:
                response.close()  # a host that ignored the range: the body is never read
            else:
                response.drain_conn()
            response.release_conn()
        return total
