"""A TCP forwarder between a client and a real server, to give it a network's faults: a
round-trip time (each forwarded chunk waits half of it), and connections cut on demand or
after a number of bytes have gone to the client (a backup host dropping mid-file).

This kernel has no netem; this is the userspace stand-in the restore tests and benchmarks use.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time


class TcpProxy:
    def __init__(self, upstream_port: int, latency: float = 0.0, host: str = "127.0.0.1"):
        self.upstream = (host, upstream_port)
        self.latency = latency  # round trip added: half on each way
        self.cut_after: int | None = None  # bytes to the client, over all connections, before one cut
        self.sent = 0
        self.cuts = 0
        self.connections = 0
        self._lock = threading.Lock()
        self._live: set[socket.socket] = set()
        self._server = socket.create_server((host, 0))
        self.port = self._server.getsockname()[1]
        self._stopping = False

    def start(self) -> TcpProxy:
        threading.Thread(target=self._accept, daemon=True, name="tcpproxy").start()
        return self

    def stop(self) -> None:
        self._stopping = True
        # A listener closed while accept() blocks on it stays listening (Linux): shut it down first.
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._server.close()
        self.cut()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def cut(self) -> None:
        """Drop every live connection at once (both ways), as a failing network would."""
        with self._lock:
            live, self._live = list(self._live), set()
        for sock in live:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
        if live:
            self.cuts += 1

    def _accept(self) -> None:
        while not self._stopping:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._live |= {client, upstream}
                self.connections += 1
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, to_client: bool) -> None:
        """Forward ``src`` to ``dst`` as a delay line: each chunk leaves half the round trip
        after it arrived, while the next ones keep arriving (a network delays packets, it does
        not serialize them: requests pipelined on one connection overlap)."""
        line: queue.Queue[tuple[float, bytes] | None] = queue.Queue()
        sender = threading.Thread(target=self._send, args=(line, dst, to_client), daemon=True)
        sender.start()
        try:
            while data := src.recv(65536):
                line.put((time.monotonic() + self.latency / 2, data))
        except OSError:
            pass
        finally:
            line.put(None)

    def _send(self, line: queue.Queue, dst: socket.socket, to_client: bool) -> None:
        try:
            while (item := line.get()) is not None:
                due, data = item
                if (wait := due - time.monotonic()) > 0:
                    time.sleep(wait)
                dst.sendall(data)
                if to_client:
                    with self._lock:
                        self.sent += len(data)
                        cut = self.cut_after is not None and self.sent >= self.cut_after
                        if cut:
                            self.cut_after = None
                    if cut:
                        self.cut()
                        return
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_RDWR)
