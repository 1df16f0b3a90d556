"""Going wide only when it pays: how long a thread has spent blocked on storage.

A stat or a folder listing on local disk takes microseconds and threads would only add
overhead; on NFS each is a network round trip that releases the GIL, and many in flight hide
the latency. ``Watchdog.run_adaptive`` decides from the mean time a few probe calls spent
blocked: a batch mixing a fast disk and a slow one must go wide (the slow quarter dominates
its time), and time spent waiting for a CPU is told apart from time spent waiting for storage.
"""

from __future__ import annotations

import resource
import time

_RUSAGE_THREAD = getattr(resource, "RUSAGE_THREAD", None)


def blocked_clock() -> float:
    """Seconds this thread has spent neither running nor waiting for a CPU: blocked, on I/O.

    From /proc/thread-self/schedstat (time on CPU, time runnable but waiting); where that is
    missing, waiting for a CPU is counted as blocked too. Time lost waiting for a CPU (other
    processes of the pipeline share the cores) is no sign of slow storage, and more threads
    would only make it worse.
    """
    try:
        with open("/proc/thread-self/schedstat", "rb") as f:
            on_cpu, waiting, _ = f.read().split()
        return time.perf_counter() - (int(on_cpu) + int(waiting)) / 1e9
    except (OSError, ValueError):
        return time.perf_counter() - time.thread_time()


def sleeps() -> int | None:
    """How many times this thread has gone to sleep (voluntary context switches), or None
    where the system cannot tell.

    A call to network storage sleeps until the answer comes; a stat or listing served from a
    local disk's cache never does. Where the kernel keeps no schedstats, ``blocked_clock``
    cannot tell waiting for storage from waiting for a busy CPU (the pipeline's own processes
    share two cores); a thread preempted for a CPU is not asleep, so this tells them apart."""
    if _RUSAGE_THREAD is None:
        return None
    return resource.getrusage(_RUSAGE_THREAD).ru_nvcsw
