"""An HTTP proxy on 127.0.0.1 between an S3 client and the S3 server, for the tests and the
benchmark: it adds latency per request (a real region is 10-30 ms away), counts requests by
kind, and injects the faults S3 clients meet: a burst of ``503 SlowDown`` and a connection
dropped in the middle of a listing's response. It can also stop answering (refuse
connections), as a server that went away, and come back on the same port.

Requests are handled one per connection (``Connection: close`` both ways), in a thread each:
simple, and enough for the few hundred connections a listing-driven scan opens.
"""

from __future__ import annotations

import collections
import contextlib
import socket
import threading
import time
from collections.abc import Iterator

SLOWDOWN = (
    b"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nConnection: close\r\nContent-Length: {n}\r\n\r\n"
)
SLOWDOWN_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message><RequestId>jiraworld</RequestId></Error>"
)


def _read_request(conn: socket.socket) -> bytes | None:
    """One HTTP request (head and Content-Length body), or None when the client closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        body += chunk
    return head + b"\r\n\r\n" + body


def _close_header(request: bytes) -> bytes:
    head, _, body = request.partition(b"\r\n\r\n")
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
    return b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + body


def kind_of(request: bytes) -> str:
    """``list``, ``head``, ``get`` or another method, from the request line."""
    line = request.split(b"\r\n", 1)[0].decode("latin-1")
    method, target = line.split(" ")[0], line.split(" ")[1] if " " in line else ""
    if method == "GET" and "list-type=2" in target:
        return "list"
    return method.lower()


def _strip_token(response: bytes) -> bytes:
    """The response without its NextContinuationToken element, Content-Length set again."""
    import re

    head, _, body = response.partition(b"\r\n\r\n")
    body = re.sub(rb"<NextContinuationToken>[^<]*</NextContinuationToken>", b"", body)
    head = re.sub(rb"(?im)^content-length:.*$", b"Content-Length: " + str(len(body)).encode(), head)
    return head + b"\r\n\r\n" + body


class Proxy:
    def __init__(self, upstream_port: int, latency: float = 0.0, port: int = 0):
        self.upstream_port, self.latency = upstream_port, latency
        self.counts: collections.Counter[str] = collections.Counter()
        self.slowdowns = 0  # the next this many requests get 503 SlowDown
        self.drop_lists_after: int | None = None  # cut the response of the list request after this many
        self.strip_tokens = False  # list responses lose <NextContinuationToken> (a broken server)
        self.dropped = 0
        self._lock = threading.Lock()
        self._server: socket.socket | None = None
        self.port = port
        self._threads: list[threading.Thread] = []

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Proxy:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(256)
        self.port = server.getsockname()[1]
        self._server = server
        accept = threading.Thread(target=self._accept, args=(server,), daemon=True, name="jiraworld-proxy")
        accept.start()
        return self

    def stop(self) -> None:
        """Stop answering: new connections are refused (the port stays known for ``start``)."""
        server, self._server = self._server, None
        if server is not None:
            with contextlib.suppress(OSError):
                server.shutdown(socket.SHUT_RDWR)
            server.close()

    def _accept(self, server: socket.socket) -> None:
        while self._server is server:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            request = _read_request(conn)
            if request is None:
                return
            kind = kind_of(request)
            if self.latency:
                time.sleep(self.latency)
            with self._lock:
                self.counts[kind] += 1
                slow = self.slowdowns > 0
                if slow:
                    self.slowdowns -= 1
                drop = False
                if kind == "list" and self.drop_lists_after is not None:
                    if self.drop_lists_after == 0:
                        drop, self.drop_lists_after = True, None
                        self.dropped += 1
                    else:
                        self.drop_lists_after -= 1
            if slow:
                with self._lock:
                    self.counts["slowdown"] += 1
                conn.sendall(SLOWDOWN.replace(b"{n}", str(len(SLOWDOWN_BODY)).encode()) + SLOWDOWN_BODY)
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=60)
            except OSError:
                return  # the server is gone: the client sees the connection close
            with upstream:
                upstream.sendall(_close_header(request))
                response = b""
                while chunk := upstream.recv(65536):
                    response += chunk
            if self.strip_tokens and kind == "list":
                response = _strip_token(response)
            if drop:  # half the response, then the connection is gone
                conn.sendall(response[: max(1, len(response) // 2)])
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                return
            conn.sendall(response)

    def __enter__(self) -> Proxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def requests(self) -> int:
        return sum(v for k, v in self.counts.items() if k != "slowdown")


@contextlib.contextmanager
def proxy(upstream_port: int, latency: float = 0.0) -> Iterator[Proxy]:
    p = Proxy(upstream_port, latency).start()
    try:
        yield p
    finally:
        p.stop()
