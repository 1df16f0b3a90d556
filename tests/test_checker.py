"""The checker against a real directory tree (no processes): paths, legacy names, symlinks,
folders the Jira account cannot enter, and filenames that try to steer the path."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from inspector.config.config import Identity
from inspector.jira.model import FLAG_BITS, RESULT_COLUMNS, AttachmentRow
from inspector.scan.stages.checker import BatchChecker, RowChecker
from inspector.storage.posix import PosixStorage

from .helpers import JIRA, as_jira_account, make_config, put, row


def check(root: Path, r: AttachmentRow, identity: Identity = JIRA) -> dict:
    [values] = RowChecker(PosixStorage(root), identity, 1).check([r])
    named = dict(zip(RESULT_COLUMNS, values, strict=True))
    for flag, bit in FLAG_BITS.items():
        named[flag] = int(bool(named["flags"] & bit))
    return named


@pytest.fixture
def root(tmp_path) -> Path:
    r = tmp_path / "attachments"
    r.mkdir()
    return r


def test_healthy_file_under_the_original_key(root):
    put(root, "OLD/10000/OLD-7/10100")
    res = check(root, row())
    assert (res["missing"], res["permissions"], res["corrupted"], res["error"]) == (0, 0, 0, 0)
    assert res["relpath"] == "OLD/10000/OLD-7/10100" and res["actual_size"] == 10


def test_file_under_the_new_key_does_not_count(root):
    put(root, "NEW/10000/NEW-7/10100")
    res = check(root, row())
    assert res["missing"] == 1 and "folder OLD does not exist" in res["detail"]


def test_bucket_edge_folder(root):
    put(root, "OLD/20000/OLD-10001/10100")
    assert check(root, row(issue_num=10001))["missing"] == 0
    assert check(root, row(issue_num=10000))["missing"] == 1


def test_legacy_name_is_served_when_the_id_file_is_absent(root):
    put(root, "OLD/10000/OLD-7/10100_a.txt")
    res = check(root, row(filename="a.txt"))
    assert res["missing"] == 0 and res["relpath"] == "OLD/10000/OLD-7/10100_a.txt"


def test_legacy_name_found_beside_a_symlink_loop(root):
    put(root, "OLD/10000/OLD-7/10100_a.txt")
    os.symlink("10101", root / "OLD/10000/OLD-7/10101")  # a loop in the same folder
    res = check(root, row(filename="a.txt"))
    assert res["missing"] == 0 and res["relpath"] == "OLD/10000/OLD-7/10100_a.txt"


def test_id_file_wins_over_legacy_name(root):
    put(root, "OLD/10000/OLD-7/10100", size=10)
    put(root, "OLD/10000/OLD-7/10100_a.txt", size=3)
    res = check(root, row(filename="a.txt"))
    assert res["relpath"] == "OLD/10000/OLD-7/10100" and res["corrupted"] == 0


@pytest.mark.faults
@pytest.mark.parametrize("filename", ["../../../secret", "../OLD-8/10100", "x/../../10100"])
def test_filename_cannot_steer_the_path(root, filename):
    # Files that a path built from the filename would reach: none may be taken for the attachment.
    put(root, "secret")
    put(root, "OLD/10000/OLD-8/10100")
    put(root, "OLD/10000/10100")
    (root / "OLD/10000/OLD-7").mkdir(parents=True, exist_ok=True)
    res = check(root, row(filename=filename))
    assert res["missing"] == 1 and res["relpath"] == "OLD/10000/OLD-7/10100"


def test_dangling_symlink_is_missing(root):
    (root / "OLD/10000/OLD-7").mkdir(parents=True)
    os.symlink("/nonexistent", root / "OLD/10000/OLD-7/10100")
    res = check(root, row())
    assert res["missing"] == 1 and "dangling symlink" in res["detail"]


def test_symlink_to_a_good_file_is_followed(root, tmp_path):
    target = put(tmp_path / "elsewhere", "f")
    (root / "OLD/10000/OLD-7").mkdir(parents=True)
    os.symlink(target, root / "OLD/10000/OLD-7/10100")
    assert check(root, row())["missing"] == 0


def test_symlinked_project_folder_on_another_disk(root, tmp_path):
    put(tmp_path / "disk2", "OLD/10000/OLD-7/10100")
    os.symlink(tmp_path / "disk2/OLD", root / "OLD")
    res = check(root, row())
    assert (res["missing"], res["permissions"]) == (0, 0)


@pytest.mark.faults
def test_symlink_loop_is_an_error_not_a_crash(root):
    (root / "OLD/10000/OLD-7").mkdir(parents=True)
    os.symlink("10100", root / "OLD/10000/OLD-7/10100")
    res = check(root, row())
    assert res["error"] == 1 and "ELOOP" in res["detail"]


def test_wrong_size_and_not_a_regular_file(root):
    put(root, "OLD/10000/OLD-7/10100", size=11)
    res = check(root, row(filesize=10))
    assert res["corrupted"] == 1 and res["detail"] == "expected 10 bytes, found 11"
    os.mkfifo(root / "OLD/10000/OLD-7/10101")
    assert check(root, row(id=10101))["corrupted"] == 1


def test_root_owned_private_file_is_a_permissions_problem_even_though_we_are_root(root):
    put(root, "OLD/10000/OLD-7/10100", mode=0o600, owner=0)
    assert os.access(root / "OLD/10000/OLD-7/10100", os.R_OK)  # why os.access would be wrong here
    res = check(root, row())
    assert res["permissions"] == 1 and "mode 0600 owner 0:0" in res["detail"]
    assert check(root, row(), Identity(0, frozenset({0})))["permissions"] == 0


def test_folder_the_jira_account_cannot_enter(root):
    put(root, "OLD/10000/OLD-7/10100")
    os.chown(root / "OLD/10000", 0, 0)
    os.chmod(root / "OLD/10000", 0o700)
    res = check(root, row())
    assert res["permissions"] == 1 and "Jira cannot enter OLD/10000/" in res["detail"]
    assert res["missing"] == 0  # we can still see the file is there and whole


def test_running_as_the_jira_account_eacces_is_a_permissions_flag(workdir):
    root = workdir / "attachments"
    root.mkdir()
    os.chown(root, 2001, 2001)
    put(root, "OLD/10000/OLD-7/10100")
    for rel in ("OLD", "OLD/10000", "OLD/10000/OLD-7"):
        os.chown(root / rel, 2001, 2001)
    os.chown(root / "OLD/10000", 0, 0)
    os.chmod(root / "OLD/10000", 0o700)
    res = as_jira_account(lambda: check(root, row()))
    assert res["permissions"] == 1 and res["missing"] == 0 and res["error"] == 0
    # The kernel refuses the file's stat; the bucket's mode says why.
    assert res["detail"] == (
        "Jira cannot enter OLD/10000/ (mode 0700 owner 0:0); cannot stat OLD/10000/OLD-7/10100: permission denied"
    )


class LatencyStorage(PosixStorage):
    """The real file system with a network round trip added to every stat (as on NFS)."""

    def probe(self, rel):
        time.sleep(0.002)
        return super().probe(rel)


@pytest.mark.parametrize("slow", [False, True])
def test_batches_keep_row_order_and_go_wide_only_on_slow_storage(root, tmp_path, slow):
    for i in range(200):
        put(root, f"OLD/10000/OLD-{i % 7 + 1}/{i}", size=i)
    rows = [row(id=i, issue_num=i % 7 + 1, filesize=i if i % 10 else i + 1) for i in range(200)]
    storage = LatencyStorage(root) if slow else PosixStorage(root)
    checker = BatchChecker(make_config(root, checker_threads=20, identity=JIRA), pass_id=1, storage=storage)
    started = time.perf_counter()
    out = checker.check(rows)
    elapsed = time.perf_counter() - started
    assert [r[1] for r in out] == list(range(200))
    assert {r[1] for r in out if r[RESULT_COLUMNS.index("flags")] & FLAG_BITS["corrupted"]} == set(range(0, 200, 10))
    assert out == RowChecker(PosixStorage(root), JIRA, 1).check(rows)
    if slow:  # 200 stats of 2 ms: 0.4 s in one thread; spread over 20 threads far less
        assert elapsed < 0.2


@pytest.mark.parametrize("slow", [False, True])
def test_going_wide_is_said_once_with_the_wait_measured(root, caplog, slow):
    """The admin learns that the storage was found slow and how long a row waited on it: what
    INSPECTOR_CHECKER_THREADS is tuned to."""
    for i in range(100):
        put(root, f"OLD/10000/OLD-1/{i}")
    rows = [row(id=i, issue_num=1) for i in range(100)]
    storage = LatencyStorage(root) if slow else PosixStorage(root)
    checker = BatchChecker(make_config(root, checker_threads=20, identity=JIRA), pass_id=1, storage=storage)
    with caplog.at_level("INFO", logger="inspector.watchdog"):
        for _ in range(3):
            assert len(checker.check(rows)) == 100
            # The next batch probes again, as once the 5 s of going wide at once are over.
            checker.adaptive._wide_until = min(checker.adaptive._wide_until, 0.0)
    said = [r.getMessage() for r in caplog.records if "wait on the storage" in r.getMessage()]
    if not slow:
        assert said == []
        return
    [line] = said
    ms = float(line.split("about ")[1].split(" ms")[0])
    assert line.startswith("Checked rows wait on the storage") and "over 20 threads" in line
    assert 1.5 <= ms < 50  # each stat sleeps 2 ms


def test_storage_never_modifies_the_tree(root):
    path = put(root, "OLD/10000/OLD-7/10100")
    os.utime(path, (1_000_000, 2_000_000))
    before = os.stat(path)
    check(root, row(filename="10100"))
    after = os.stat(path)
    assert (after.st_atime, after.st_mtime, stat.S_IMODE(after.st_mode)) == (
        before.st_atime, before.st_mtime, stat.S_IMODE(before.st_mode),
    )  # fmt: skip


def test_calls_that_take_long_without_sleeping_do_not_go_wide(root, monkeypatch):
    """A busy CPU (the pipeline's processes share the cores) makes local stats look slow where
    the kernel keeps no schedstats; they never sleep, so the batch stays in one thread."""
    from inspector.runtime import adaptive

    for i in range(200):
        put(root, f"OLD/10000/OLD-1/{i}")
    rows = [row(id=i, issue_num=1) for i in range(200)]
    clock = iter(range(10**9))
    chunks = []  # one per thread the batch ran in
    real = RowChecker.check

    def spy(self, chunk, out=None, job=None):
        chunks.append(len(chunk))
        return real(self, chunk, out, job)

    monkeypatch.setattr(RowChecker, "check", spy)
    checker = BatchChecker(make_config(root, checker_threads=20, identity=JIRA), pass_id=1)
    with monkeypatch.context() as patched:
        patched.setattr(adaptive, "blocked_clock", lambda: next(clock))  # a second "blocked" per call
        # A loaded machine can make a thread wait for the GIL twice in a probe; the kernel's
        # count of such waits is what this test pins, so it is held at none.
        patched.setattr(adaptive, "sleeps", lambda: 0)
        assert len(checker.check(rows)) == 200
    assert chunks == [1, 15, 184]  # the probe (its first row unmeasured), then the rest in one thread
    chunks.clear()
    sleepy = BatchChecker(make_config(root, checker_threads=20, identity=JIRA), 1, LatencyStorage(root))
    assert len(sleepy.check(rows)) == 200  # now the calls sleep too
    assert chunks[:2] == [1, 15] and len(chunks) > 10  # spread over the threads
    chunks.clear()
    assert len(sleepy.check(rows)) == 200
    assert max(chunks) == 10 and len(chunks) == 20  # found slow a moment ago: no serial probe
    chunks.clear()

    class OneInFiveSlow(PosixStorage):  # one slow project among fast ones
        def probe(self, rel):
            if rel.endswith("0") or rel.endswith("5"):
                time.sleep(0.002)
            return super().probe(rel)

    mixed = BatchChecker(make_config(root, checker_threads=20, identity=JIRA), 1, OneInFiveSlow(root))
    assert len(mixed.check(rows)) == 200
    assert chunks[:2] == [1, 15] and len(chunks) > 10  # spread over the threads
