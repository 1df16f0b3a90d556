"""How a restore's threads run: inside the maintenance windows, stopped within seconds by a
signal, and never held up by a call that hangs.

``Gate`` says whether copying may go on (no signal, a window open); ``run_all`` runs the
lookups and the copies on daemon threads and watches them, so a ``SIGTERM`` or a hard-mounted
NFS server that went away ends the run (143, or exit 7) instead of waiting on threads stuck in
the kernel.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from ..config.config import Config
from ..errors import InspectorError, StorageError
from ..ops import windows as win
from .breaker import Watch

log = logging.getLogger("inspector.restore")
STOP_GRACE = 5.0  # seconds a signal waits for threads in a call before the run ends without them


class Gate:
    """Whether copying may go on: not after a signal, and only inside a maintenance window."""

    def __init__(self, config: Config):
        self.config, self.stop = config, threading.Event()
        self.signum = 0
        self._paused_logged = False

    def closed(self) -> bool:
        windows = list(self.config.windows)
        return self.stop.is_set() or bool(windows and not win.is_open(windows, self.config.now()))

    def wait_open(self) -> None:
        """Block while outside the windows (a signal ends the wait)."""
        while not self.stop.is_set() and self.closed():
            if not self._paused_logged:
                self._paused_logged = True
                reopens = win.next_change(list(self.config.windows), self.config.now()).isoformat(timespec="minutes")
                log.info("outside the maintenance windows: copying waits until %s", reopens)
            self.stop.wait(30)
        self._paused_logged = False


def run_all(items: list, work: Callable[[Any], Any], workers: int, stop: threading.Event, watch: Watch,
            hang_limit: float) -> list:  # fmt: skip
    """``work(item)`` for every item on ``workers`` daemon threads, results in order. A signal
    (``stop``) ends it within seconds, a call that hangs past ``hang_limit`` (a hard-mounted NFS
    server gone) ends it with StorageError: neither waits for threads that cannot return."""
    results: list = [None] * len(items)
    failures: list[BaseException] = []
    todo = iter(enumerate(items))
    lock = threading.Lock()

    def worker() -> None:
        while not failures and not stop.is_set():
            with lock:
                nxt = next(todo, None)
            if nxt is None:
                return
            try:
                results[nxt[0]] = work(nxt[1])
            except BaseException as exc:
                failures.append(exc)
                return

    threads = [threading.Thread(target=worker, daemon=True, name="restore") for _ in range(min(workers, len(items)))]
    for thread in threads:
        thread.start()
    stopped_at = None
    while alive := [t for t in threads if t.is_alive()]:
        alive[0].join(0.2)
        stuck = watch.stuck(hang_limit)
        if stuck is not None:
            raise StorageError(
                f"{stuck[0]}: no answer for {stuck[1]:.0f} s (a hung NFS mount or server?); stopped, progress is "
                "kept: run again once it answers"
            )
        if stop.is_set() or failures:
            stopped_at = stopped_at or time.monotonic()
            if time.monotonic() - stopped_at > STOP_GRACE:
                break  # the threads left are in calls bounded by their own timeouts; not waited for
    if failures:
        raise next((f for f in failures if isinstance(f, InspectorError)), failures[0])
    return results
