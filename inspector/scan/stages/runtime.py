"""The child-process runtime every stage shares: logging through the parent, failure reporting.

Each stage's ``run`` is wrapped by ``@stage``: it logs through the parent's queue, leaves
SIGINT to the parent (which coordinates shutdown), and turns an exception into one
``("error", stage, exit_code, message)`` message plus a non-zero exit, so the parent can
stop the pipeline and tell the user in one line.
"""

from __future__ import annotations

import functools
import logging
import logging.handlers
import resource
import signal
import sys
import time
import traceback

from ...errors import InspectorError

log = logging.getLogger("inspector")


class _WaitingQueueHandler(logging.handlers.QueueHandler):
    """Waits for room in the parent's bounded log queue. A stage that logs faster than the parent
    writes (at DEBUG every flagged row is a line, and a bad chown flags them all) is slowed down
    instead of growing: with an unbounded queue each checker held 296 MB of records at 1M."""

    def enqueue(self, record: logging.LogRecord) -> None:
        self.queue.put(record)  # type: ignore[attr-defined]  # a multiprocessing queue


def _child_logging(log_q, level: str) -> None:
    root = logging.getLogger()
    root.handlers[:] = [_WaitingQueueHandler(log_q)]
    root.setLevel(level)


def peak_rss_mb() -> float:
    """This process's peak resident memory. Not ru_maxrss: Linux carries that across exec,
    so a spawned child would report its parent's peak."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _name_process(name: str) -> None:
    """Show the stage in ps/top (``insp-checker``) instead of a row of identical pythons, so an
    admin can tell which stage is busy or stuck (prctl PR_SET_NAME, 15 bytes at most)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(15, f"insp-{name}".encode()[:15], 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _die_with_parent() -> None:
    """Ask Linux to kill this process when the parent dies, even by SIGKILL: a stage left
    behind would block forever on its queue (prctl PR_SET_PDEATHSIG)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def stage(name: str):
    def wrap(fn):
        @functools.wraps(fn)
        def run(*args, control_q, log_q, log_level="INFO", **kwargs):
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            _die_with_parent()
            _name_process(name)
            _child_logging(log_q, log_level)
            started = time.monotonic()
            try:
                fn(*args, **kwargs)
                usage = resource.getrusage(resource.RUSAGE_SELF)
                log.debug(
                    "%s finished in %.2f s (cpu %.2f s user, %.2f s sys; peak rss %.1f MB)",
                    name, time.monotonic() - started, usage.ru_utime, usage.ru_stime, peak_rss_mb(),
                )  # fmt: skip
            except InspectorError as exc:
                control_q.put(("error", name, exc.exit_code, str(exc)))
                sys.exit(exc.exit_code)
            except BaseException as exc:
                log.debug("%s failed:\n%s", name, traceback.format_exc())
                control_q.put(("error", name, 1, f"{name} failed: {type(exc).__name__}: {exc}"))
                sys.exit(1)

        return run

    return wrap
