"""Going wide only when it pays: detect slow storage, then map over a thread pool in order.

A stat or a folder listing on local disk takes microseconds and threads would only add
overhead; on NFS each is a network round trip that releases the GIL, and many in flight hide
the latency. The decision is made from the median time of a few probe calls, so one call
that lost its CPU to another process does not flip a whole batch to threads.
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor


def probe_slow(fn: Callable, items: list, threshold: float) -> tuple[list, bool]:
    """Run fn over items in this thread; (results, whether the median call took > threshold s)."""
    results, times = [], []
    for item in items:
        started = time.perf_counter()
        results.append(fn(item))
        times.append(time.perf_counter() - started)
    return results, bool(times) and statistics.median(times) > threshold


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
