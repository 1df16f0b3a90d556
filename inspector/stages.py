"""What every pipeline process shares: logging through the parent and failure reporting.

Each stage's ``run`` is wrapped by ``@stage``: it logs through the parent's queue, leaves
SIGINT to the parent (which coordinates shutdown), and turns an exception into one
``("error", stage, exit_code, message)`` message plus a non-zero exit, so the parent can
stop the pipeline and tell the user in one line.
"""

from __future__ import annotations

import functools
import logging
import logging.handlers
import signal
import sys
import time
import traceback

from .errors import InspectorError

log = logging.getLogger("inspector")


def _child_logging(log_q, level: str) -> None:
    root = logging.getLogger()
    root.handlers[:] = [logging.handlers.QueueHandler(log_q)]
    root.setLevel(level)


def stage(name: str):
    def wrap(fn):
        @functools.wraps(fn)
        def run(*args, control_q, log_q, log_level="INFO", **kwargs):
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            _child_logging(log_q, log_level)
            started = time.monotonic()
            try:
                fn(*args, **kwargs)
                log.debug("%s finished in %.2f s", name, time.monotonic() - started)
            except InspectorError as exc:
                control_q.put(("error", name, exc.exit_code, str(exc)))
                sys.exit(exc.exit_code)
            except BaseException as exc:
                log.debug("%s failed:\n%s", name, traceback.format_exc())
                control_q.put(("error", name, 1, f"{name} failed: {type(exc).__name__}: {exc}"))
                sys.exit(1)

        return run

    return wrap
