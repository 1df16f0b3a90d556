"""The stage processes of one round: started (always with ``spawn``) and joined by bounded
queues, watched until the writer has stored everything, and reaped whatever happens; the
progress shown meanwhile; the signals that stop them.

A stage that fails sends its error class and one line on the control queue, and the round
ends with that error; a stage that dies without a word ends it with exit 5. A child stuck in
the kernel on storage that never answers is left behind, never waited for.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import multiprocessing
import queue
import signal
import sys
import time

from ..config.config import Config
from ..errors import ConfigError, DatabaseError, Interrupted, Paused, PipelineError, StateError, StorageError
from ..ops.metrics import Metrics
from ..report.html import human_bytes

log = logging.getLogger("inspector")

_ERRORS = {2: ConfigError, 3: DatabaseError, 4: StateError, 7: StorageError}
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# Log records in flight from the stages to the parent at most (see runtime._WaitingQueueHandler).
LOG_QUEUE_RECORDS = 10_000


class Progress:
    """A tqdm bar on a terminal, a log line every few seconds otherwise: rows checked, or (with
    ``what``) bytes of file content read while hashing."""

    def __init__(self, total: int | None, initial: int, every: float, metrics: Metrics | None,
                 what: str | None = None):  # fmt: skip
        self.total, self.last_log, self.bar, self.every = total, time.monotonic(), None, every
        self.metrics, self.what, self.started, self.initial = metrics, what, time.monotonic(), initial
        if sys.stderr.isatty():
            from tqdm import tqdm

            unit = {"unit": "B", "unit_divisor": 1024, "desc": what} if what else {"unit": " rows"}
            self.bar = tqdm(total=total, initial=initial, unit_scale=True, dynamic_ncols=True, **unit)
        self.done = initial

    def update(self, done: int) -> None:
        if self.bar is not None:
            self.bar.update(done - self.done)
        if time.monotonic() - self.last_log >= self.every:
            if self.bar is None:
                log.info("%s", self.line(done))
            if self.metrics is not None:
                self.metrics.update(rows_checked=done)
            self.last_log = time.monotonic()
        self.done = done

    def line(self, done: int) -> str:
        share = f" of ~{self.total}" if self.total else ""
        if self.what is None:
            return f"progress: {done} rows checked{share}"
        rate = (done - self.initial) / max(1e-9, time.monotonic() - self.started)
        left = f", about {(self.total - done) / rate:.0f} s left" if rate > 0 and self.total else ""
        return (
            f"{self.what}: {human_bytes(done)} of {human_bytes(self.total or 0)} read, {human_bytes(int(rate))}/s{left}"
        )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _raise_interrupted(signum, _frame):
    raise Interrupted(signum)


@contextlib.contextmanager
def stop_signals(handler=_raise_interrupted):
    """Inside the block SIGTERM and SIGINT go to ``handler`` (by default: raise Interrupted,
    exit 128+signal); the previous handlers are back after it."""
    previous = {sig: signal.signal(sig, handler) for sig in _STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run_stages(config: Config, make, should_stop, shown: Progress | None = None) -> None:
    """Start the stages ``make`` names (always with ``spawn``), joined by bounded queues; watch
    them until the writer has stored everything, then reap every one."""
    ctx = multiprocessing.get_context("spawn")
    n = config.checkers
    work_q = ctx.Queue(maxsize=2 * n + 2)
    result_q = ctx.Queue(maxsize=2 * n + 4)
    control_q, log_q = ctx.Queue(), ctx.Queue(maxsize=LOG_QUEUE_RECORDS)
    progress = ctx.Value("q", 0)
    # The bandwidth cap's state, shared by the checkers. Held here for the whole run, like the
    # queues: Process.start() drops its args, and a Value nobody holds is unlinked before the
    # children have opened it.
    clock = ctx.Value("d", 0.0)
    listener = _Listener(log_q, *logging.getLogger().handlers, respect_handler_level=True)
    common = {"control_q": control_q, "log_q": log_q, "log_level": config.log_level}
    procs = {
        name: ctx.Process(target=target, args=args, kwargs=common, name=f"inspector-{name}")
        for name, (target, args) in make(work_q, result_q, progress, clock).items()
    }
    listener.start()
    ok = False
    try:
        # A stop signal waits until every stage has started: one arriving while a child reads
        # its pickled arguments cut them short (the child died with "EOFError: Ran out of input").
        with signals_deferred() as pending:
            for proc in procs.values():
                proc.start()
        if pending:
            raise Interrupted(pending[0])
        _watch(procs, control_q, progress, shown, should_stop)
        ok = True
    finally:
        if shown is not None:
            shown.close()
        _stop(procs.values(), grace=2.0 if ok else 0.0)
        listener.stop()


class _Listener(logging.handlers.QueueListener):
    """Writes the stages' log records. Its queue is bounded (stages wait for room, see
    runtime._WaitingQueueHandler), so its end-of-run marker waits for room too."""

    def enqueue_sentinel(self) -> None:
        self.queue.put(self._sentinel)  # type: ignore[attr-defined]  # a multiprocessing queue


@contextlib.contextmanager
def signals_deferred():
    pending: list[int] = []
    with stop_signals(lambda signum, _frame: pending.append(signum)):
        yield pending


def _watch(procs: dict, control_q, progress, bar: Progress | None, should_stop=None) -> None:
    writer_proc = procs["writer"]
    while True:
        writer_proc.join(0.2)
        if should_stop is not None and writer_proc.exitcode is None and should_stop():
            raise Paused()
        try:
            _, _stage, code, message = control_q.get_nowait()
        except queue.Empty:
            pass
        else:
            raise _ERRORS.get(code, PipelineError)(message)
        if bar is not None:
            bar.update(progress.value)
        dead = [name for name, p in procs.items() if p.exitcode not in (None, 0)]
        if dead:
            # Give a failing stage a moment to deliver its own message before we speak for it.
            try:
                _, _stage, code, message = control_q.get(timeout=1.0)
            except queue.Empty:
                name = dead[0]
                raise PipelineError(
                    f"{name} process died (exit code {procs[name].exitcode}); "
                    "progress up to the last checkpoint is kept, run again to resume"
                ) from None
            raise _ERRORS.get(code, PipelineError)(message) from None
        if writer_proc.exitcode == 0:
            return


def _stop(procs, grace: float) -> None:
    """Reap every child: after success they are exiting on their own; after a failure, not.
    The waits are shared, not per child, so a few children stuck on storage cost seconds."""
    procs = list(procs)
    for signal_them, wait in ((None, grace), (lambda p: p.terminate(), 3.0), (lambda p: p.kill(), 2.0)):
        alive = [p for p in procs if p.is_alive()]
        if signal_them is not None:
            for proc in alive:
                signal_them(proc)
        deadline = time.monotonic() + wait
        for proc in alive:
            proc.join(max(0.05, deadline - time.monotonic()))
    for proc in procs:
        if proc.exitcode is None:
            _leave_behind(proc)


def _leave_behind(proc) -> None:
    """A child that survives SIGKILL has a thread stuck in the kernel: a stat on storage that
    never answers (a hard NFS mount, a FUSE server that hangs). Nothing can end it until the
    storage answers; waiting would hang this run forever, so we let it go."""
    log.warning(
        "%s (pid %s) did not exit even when killed: a storage call of it never returned; "
        "it ends by itself once the storage answers", proc.name, proc.pid,
    )  # fmt: skip
    # multiprocessing joins every child it started when the interpreter exits, which would
    # hang on this one: it is no longer ours to wait for.
    multiprocessing.process._children.discard(proc)  # type: ignore[attr-defined]
