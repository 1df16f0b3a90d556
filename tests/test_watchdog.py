"""Stats that hang (a dead NFS server): bounded by INSPECTOR_STAT_TIMEOUT, recorded as an error,
and the rest of the batch goes on. The real-mount version is in test_faults_storage.py."""

from __future__ import annotations

import os
import threading
import time

import pytest

from inspector.errors import StorageError
from inspector.jira.model import FLAG_BITS, RESULT_COLUMNS
from inspector.runtime.watchdog import Watchdog
from inspector.scan.stages.checker import BatchChecker, RowChecker
from inspector.storage.posix import PosixStorage

from .helpers import JIRA, make_config, put, row

pytestmark = pytest.mark.faults


@pytest.fixture
def root(tmp_path):
    (tmp_path / "attachments").mkdir()
    return tmp_path / "attachments"


FLAGS, DETAIL, ID = RESULT_COLUMNS.index("flags"), RESULT_COLUMNS.index("detail"), RESULT_COLUMNS.index("id")


class HangingStorage(PosixStorage):
    """The real tree, where a stat of the named files blocks until released (as a stat on an
    NFS server that went away blocks in the kernel)."""

    def __init__(self, root, hang: set[str]):
        super().__init__(root)
        self.hang, self.release, self.calls = hang, threading.Event(), []

    def probe(self, rel):
        self.calls.append(rel)
        if rel.rsplit("/", 1)[-1] in self.hang:
            self.release.wait(30)
        return super().probe(rel)


def _world(root, n=40):
    for i in range(n):
        put(root, f"OLD/10000/OLD-{i % 8 + 1}/{i}", size=i)
    return [row(id=i, issue_num=i % 8 + 1, filesize=i) for i in range(n)]


@pytest.mark.parametrize("threads", [1, 8])
def test_a_hanging_stat_becomes_an_error_and_the_batch_goes_on(root, threads):
    rows = _world(root)
    storage = HangingStorage(root, {"13"})
    checker = BatchChecker(make_config(root, checker_threads=threads, stat_timeout=0.4), 1, storage)
    started = time.monotonic()
    out = checker.check(rows)
    took = time.monotonic() - started
    storage.release.set()
    assert [r[ID] for r in out] == list(range(40))
    reference = RowChecker(PosixStorage(root), JIRA, 1).check(rows)
    hung_folder = "OLD/10000/OLD-6"  # 13 % 8 + 1
    for got, want in zip(out, reference, strict=True):
        if got[ID] == 13:
            assert got[FLAGS] == FLAG_BITS["error"]
            assert got[DETAIL] == f"{hung_folder}/13: stat did not answer within 0.4 s (ETIMEDOUT)"
        elif got[ID] > 13 and got[ID] % 8 == 5 and threads == 1:
            # same issue folder, after the hang: not sent into it again
            assert got[FLAGS] == FLAG_BITS["error"] and "not checked, an earlier stat in" in got[DETAIL]
        elif got[ID] % 8 != 5:
            assert got == want
    assert 0.4 <= took < 2.0  # one timeout, not one per row
    assert checker.watchdog.hung == 1


def test_an_abandoned_thread_that_wakes_up_adds_nothing(root):
    rows = _world(root, 10)
    storage = HangingStorage(root, {"2"})
    rc = RowChecker(storage, JIRA, 1)
    dog = Watchdog(rc.check, rc.timed_out, timeout=0.3, max_hung=4)
    [out] = dog.run([rows])
    calls = len(storage.calls)
    storage.release.set()  # the kernel finally answers the abandoned stat
    time.sleep(0.2)
    assert len(out) == 10 and [r[ID] for r in out] == list(range(10))
    assert len(storage.calls) == calls  # the abandoned thread stopped at its next row


def test_too_many_hangs_mean_the_storage_is_gone(root):
    rows = _world(root, 12)
    storage = HangingStorage(root, {str(i) for i in range(12)})
    rc = RowChecker(storage, JIRA, 1)
    rc.hung_folders = _NeverRemembers()  # every row hangs on its own
    dog = Watchdog(rc.check, rc.timed_out, timeout=0.1, max_hung=3)
    with pytest.raises(StorageError, match=r"stopped answering: 4 checks hung for more than 0.1 s"):
        dog.run([rows])
    storage.release.set()


class _NeverRemembers(set):
    def add(self, _item):
        pass


def test_an_error_in_a_worker_is_raised_in_the_caller():
    def work(rows, out, job):
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        Watchdog(work, lambda row, s: None, timeout=5, max_hung=1).run([[1, 2]])


def test_hash_reads_that_hang_are_given_up_and_slow_ones_are_not(tmp_path):
    from inspector.runtime.throttle import Pacer
    from inspector.scan.stages import hasher

    os.mkfifo(tmp_path / "stuck")  # opening a FIFO for reading blocks until a writer comes
    (tmp_path / "big").write_bytes(os.urandom(8 * 1024 * 1024))
    mtime = int(os.stat(tmp_path / "big").st_mtime)
    items = [("stuck", 300_000, 0), ("big", 8 * 1024 * 1024, mtime)]
    dog = Watchdog(None, hasher.hung, timeout=1.0, max_hung=4)
    pacer = Pacer(4e6, burst=0)  # 8 MiB at 4 MB/s: two seconds, twice the timeout, but moving
    started = time.monotonic()
    [done] = dog.run([items], hasher.work(PosixStorage(tmp_path), hasher.FULL, pacer), hasher.hung)
    took = time.monotonic() - started
    (stuck, _), (big, read) = done
    assert stuck["error"] == "did not answer within 1 s (ETIMEDOUT)" and stuck["full_hash"] is None
    assert big["error"] is None and big["full_hash"] is not None and read == 8 * 1024 * 1024
    assert dog.hung == 1 and 2.5 < took < 6
    fd = os.open(tmp_path / "stuck", os.O_WRONLY | os.O_NONBLOCK)  # release the abandoned open
    os.close(fd)


def _native_ids(seen: set):
    """A work function that records which OS thread ran each chunk (Linux does not hand a
    thread id out again soon, unlike ``threading.get_ident``)."""

    def work(rows, out, job):
        seen.add(threading.get_native_id())
        out.extend(rows)

    return work


class _SlowForWorkers:
    """The pool's lock, slow to take for its own threads: a thread that has finished its job
    takes a while to count itself idle."""

    def __init__(self):
        self._lock = threading.Lock()

    def __enter__(self):
        if threading.current_thread().name == "inspector-check":
            time.sleep(0.005)
        self._lock.acquire()

    def __exit__(self, *exc):
        self._lock.release()


def test_threads_outlive_a_batch():
    seen: set[int] = set()
    dog = Watchdog(_native_ids(seen), lambda row, s: None, timeout=5, max_hung=1)
    # A thread counts itself idle before the batch is seen done, so the next batch finds it
    # however slowly it does so.
    dog._pool._lock = _SlowForWorkers()
    for n in range(30):  # as many batches, each spread over 8 threads
        chunks = [[n, i] for i in range(8)]
        assert dog.run(chunks) == chunks
    # Starting 8 threads for each batch cost more CPU than slow stats themselves.
    assert len(seen) <= 8


def test_a_stuck_thread_is_replaced_and_never_given_work_again(root):
    rows = _world(root, 16)
    storage = HangingStorage(root, {"3"})
    rc = RowChecker(storage, JIRA, 1)
    stuck: list[int] = []

    def work(rows, out, job):
        if any(r[0] == 3 for r in rows):
            stuck.append(threading.get_native_id())
        rc.check(rows, out, job)

    dog = Watchdog(work, rc.timed_out, timeout=0.3, max_hung=4)
    first = dog.run([rows[:8], rows[8:]])
    assert [r[ID] for part in first for r in part] == list(range(16)) and dog.hung == 1
    seen: set[int] = set()
    record = _native_ids(seen)
    for _ in range(10):  # the stuck thread still hangs: the pool has enough threads without it
        assert dog.run([[1], [2], [3]], record, lambda row, s: None) == [[1], [2], [3]]
    storage.release.set()  # the kernel answers at last: the thread ends instead of rejoining
    time.sleep(0.3)
    for _ in range(10):
        dog.run([[1], [2], [3]], record, lambda row, s: None)
    assert stuck and stuck[0] not in seen


def test_idle_threads_end_and_new_ones_start_when_work_comes(monkeypatch):
    from inspector.runtime import threadpool

    monkeypatch.setattr(threadpool, "IDLE_SECONDS", 0.1)
    seen: set[int] = set()
    dog = Watchdog(_native_ids(seen), lambda row, s: None, timeout=5, max_hung=1)
    assert dog.run([[1], [2], [3], [4]]) == [[1], [2], [3], [4]]
    first = set(seen)
    deadline = time.monotonic() + 5
    while any(t.native_id in first for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(t.native_id in first for t in threading.enumerate())
    seen.clear()
    assert dog.run([[5], [6]]) == [[5], [6]]  # no job waits for a thread that has gone
    assert seen and not seen & first


def test_a_job_that_comes_as_an_idle_thread_gives_up_waiting_is_still_run():
    import queue

    class RacingQueue(queue.SimpleQueue):
        """The idle thread's first wait for a job times out just as the next job is queued."""

        def __init__(self):
            super().__init__()
            self.gets, self.puts, self.second_put = 0, 0, threading.Event()

        def put(self, item, block=True, timeout=None):
            super().put(item, block, timeout)
            self.puts += 1
            if self.puts == 2:
                self.second_put.set()

        def get(self, block=True, timeout=None):
            self.gets += 1
            if self.gets == 2:  # the thread's first wait once idle
                self.second_put.wait(5)
                raise queue.Empty
            return super().get(block, timeout)

    dog = Watchdog(lambda rows, out, job: out.extend(rows), lambda row, s: None, timeout=5, max_hung=1)
    dog._pool._jobs = RacingQueue()
    assert dog.run([[1]]) == [[1]]
    done: list = []
    second = threading.Thread(target=lambda: done.append(dog.run([[2]])), daemon=True)
    second.start()
    second.join(3)
    assert done == [[[2]]]  # the thread saw the job queued for it and did not end
