"""Going wide only when it pays: detect slow storage, then map over a thread pool in order.

A stat or a folder listing on local disk takes microseconds and threads would only add
overhead; on NFS each is a network round trip that releases the GIL, and many in flight hide
the latency. The decision is made from the mean time a few probe calls spent blocked: a batch
mixing a fast disk and a slow one must go wide (the slow quarter dominates its time), and
time spent waiting for a CPU is told apart from time spent waiting for storage.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor


def blocked_clock() -> float:
    """Seconds this thread has spent neither running nor waiting for a CPU: blocked, on I/O.

    From /proc/thread-self/schedstat (time on CPU, time runnable but waiting); where that is
    missing, waiting for a CPU is counted as blocked too.
    """
    try:
        with open("/proc/thread-self/schedstat", "rb") as f:
            on_cpu, waiting, _ = f.read().split()
        return time.perf_counter() - (int(on_cpu) + int(waiting)) / 1e9
    except (OSError, ValueError):
        return time.perf_counter() - time.thread_time()


def probe_slow(fn: Callable, items: list, threshold: float) -> tuple[list, bool]:
    """Run fn over items in this thread; (results, whether the calls spent more than
    ``threshold`` seconds each, on average, blocked on I/O). Time lost waiting for a CPU
    (other processes of the pipeline share the cores) does not count: it is no sign of slow
    storage, and more threads would only make it worse."""
    started = blocked_clock()
    results = [fn(item) for item in items]
    return results, bool(items) and (blocked_clock() - started) / len(items) > threshold


def ordered_map(pool: ThreadPoolExecutor, fn: Callable, items: Iterable, window: int) -> Iterator:
    """pool.map in order, with at most ``window`` calls outstanding so memory stays bounded
    (pool.map submits everything at once and holds every result until it is consumed)."""
    pending: deque = deque()
    for item in items:
        pending.append(pool.submit(fn, item))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()
