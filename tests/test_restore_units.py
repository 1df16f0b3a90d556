"""The restore's rules without processes: where a backup holds a file, the plan's lines and
permission commands, and one file's copy into a real folder (a full disk on a real tmpfs, a
file that appears right before the rename, a backup whose content is not the one recorded,
a backup that drops mid-file)."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest

from inspector.errors import StorageError
from inspector.restore import plan, transfer
from inspector.restore.breaker import Breaker, Watch
from inspector.runtime.throttle import Pacer
from inspector.storage import Probe
from inspector.storage.account import Account
from inspector.storage.posix import BackupFolder
from inspector.storage.posixwrite import PosixDestination

REG = stat.S_IFREG | 0o644


def cand(aid=7, rel="ABC/10000/ABC-1/7", size=5, finding="missing", filename="a.txt", **kw) -> plan.Candidate:
    link = f"https://j/secure/attachment/{aid}/x"
    return plan.Candidate(aid, rel, size, finding, filename, link, "ABC-1", None, **kw)


def test_locate_prefers_the_own_path_then_the_legacy_name():
    probes = {"ABC/10000/ABC-1/7": Probe(0, REG, size=5)}
    assert plan.locate(cand(), probes.get, lambda f: set()) == plan.Found(plan.RESTORABLE, "ABC/10000/ABC-1/7", 5)
    legacy = {"ABC/10000/ABC-1/7_a.txt": Probe(0, REG, size=5)}
    names = {"ABC/10000/ABC-1": {"7_a.txt", "77_a.txt", "8"}}

    def probe(rel):
        return legacy.get(rel, Probe(errno.ENOENT))

    found = plan.locate(cand(), probe, names.get)
    assert found.verdict == plan.RESTORABLE and found.backup_path == "ABC/10000/ABC-1/7_a.txt"
    # renamed since: one name that claims the id is taken; 77_ does not claim 7
    legacy = {"ABC/10000/ABC-1/7_old.txt": Probe(0, REG, size=5)}
    names = {"ABC/10000/ABC-1": {"7_old.txt", "77_a.txt"}}
    assert plan.locate(cand(), probe, names.get).backup_path == "ABC/10000/ABC-1/7_old.txt"
    assert plan.locate(cand(), probe, lambda f: {"77_a.txt"}).verdict == plan.NOT_IN_BACKUP
    assert plan.locate(cand(), probe, lambda f: errno.ENOENT).verdict == plan.NOT_IN_BACKUP


def test_locate_judges_what_it_found():
    def one(p):
        return plan.locate(cand(), lambda rel: p, lambda f: set())

    assert one(Probe(0, REG, size=6)).verdict == plan.BACKUP_DIFFERS
    assert "6 bytes" in one(Probe(0, REG, size=6)).reason
    assert one(Probe(0, stat.S_IFDIR | 0o755, size=5)).verdict == plan.SOURCE_ERROR
    denied = one(Probe(errno.EACCES, reason="AccessDenied (HTTP 403)"))
    assert denied.verdict == plan.SOURCE_ERROR and "AccessDenied" in denied.reason
    assert plan.locate(cand(rel=None), None, None).verdict == plan.NO_PLACE
    listing_denied = plan.locate(cand(), lambda rel: Probe(errno.ENOENT), lambda f: errno.EACCES)
    assert listing_denied.verdict == plan.SOURCE_ERROR and "EACCES" in listing_denied.reason


def test_finding_order_and_plan_lines_and_quarantine_names():
    assert plan.finding(True, True, True) == "missing"
    assert plan.finding(False, True, True) == "corrupted"
    assert plan.finding(False, False, True) == "permissions"
    assert plan.finding(False, False, False) is None
    line = plan.plan_line(cand(rel="A/1\tx\ny"), plan.RESTORABLE, None, "why\r")
    assert line.split("\t") == ["restorable", "https://j/secure/attachment/7/x", "ABC-1", "A/1\\tx\\ny", "-", "why\\r"]
    taken = {"A/1", "A/1.1"}
    assert plan.quarantine_name("A/1", taken.__contains__) == "A/1.2"
    assert plan.quarantine_name("B/2", taken.__contains__) == "B/2"


def test_permission_commands_quote_paths_and_fix_each_blocked_folder_once():
    rows = [cand(1, "A/10000/A-1/1", finding="permissions", blocked_folder="A/10000/A-1"),
            cand(2, "A/10000/A-1/2", finding="permissions", blocked_folder="A/10000/A-1"),
            cand(3, "B/10000/B-1/3", finding="permissions"), cand(4, None, finding="permissions")]  # fmt: skip
    lines = list(plan.permission_commands(rows, "/jira home/att's", 2001, 2002, 0o640, 0o750))
    assert lines[0] == "#!/bin/sh"
    body = [line for line in lines if line.startswith("fix ")]
    assert body[0] == "fix d '/jira home/att'\"'\"'s/A/10000/A-1' 0750  # attachment 1"
    assert len(body) == 4 and sum("A/10000/A-1'" in line for line in body) == 1
    assert any("chown -h 2001:2002" in line for line in lines)
    # the script parses as sh
    assert subprocess.run(["sh", "-n"], input="\n".join(lines), text=True).returncode == 0


def test_the_permissions_script_never_follows_a_link_planted_after_the_plan(workdir):
    """Run as root, as an admin would: a flagged file swapped for a link to a host file, and a
    folder on the way swapped for a link, change nothing outside the tree; the others are fixed."""
    root, outside = workdir / "att", workdir / "host"
    for folder in ("A/10000/A-1", "B/10000/B-1", "C/10000/C-1"):
        (root / folder).mkdir(parents=True)
    outside.mkdir()
    secret = outside / "shadow"
    secret.write_text("root:x:0")
    os.chmod(secret, 0o600)
    (root / "A/10000/A-1/1").write_text("fine")
    os.chmod(root / "A/10000/A-1/1", 0o600)
    (root / "B/10000/B-1/2").symlink_to(secret)  # swapped after the plan
    (outside / "10000/C-1").mkdir(parents=True)
    (outside / "10000/C-1/3").write_text("host file")
    os.chmod(outside / "10000/C-1/3", 0o600)
    (root / "C").rename(workdir / "C-moved")
    (root / "C").symlink_to(outside)  # a project folder swapped for a link
    before = {p: (p.stat().st_uid, p.stat().st_mode) for p in (secret, outside / "10000/C-1/3")}
    rows = [cand(1, "A/10000/A-1/1", finding="permissions"), cand(2, "B/10000/B-1/2", finding="permissions"),
            cand(3, "C/10000/C-1/3", finding="permissions")]  # fmt: skip
    script = workdir / "fix.sh"
    script.write_text("\n".join(plan.permission_commands(rows, str(root), 2001, 2002, 0o640, 0o750)) + "\n")
    done = subprocess.run(["sh", str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert {p: (p.stat().st_uid, p.stat().st_mode) for p in before} == before
    assert secret.read_text() == "root:x:0"
    st = os.stat(root / "A/10000/A-1/1")
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (2001, 2002, 0o640)
    assert done.stderr.count("skipped") == 2


def _copier(backup: Path, root: Path, quarantine: Path, timeout=5.0, sleep=None, storage=BackupFolder, clock=None):
    account = Account(2001, 2002)
    dest = PosixDestination(str(root), account, 0o640, 0o750, quarantine)
    stop = threading.Event()
    breaker = Breaker(str(backup), timeout, stop, sleep=sleep or (lambda s: None), clock=clock or time.monotonic)
    return transfer.Copier(storage(str(backup)), dest, breaker, Watch(), Pacer(0), stop.is_set)


def go(copier, c, path=None, resume=False):
    path = path or c.relpath
    probe = copier.backup.probe(path)
    found = plan.Found(plan.RESTORABLE, path, probe.size, version=probe.version)
    return copier.restore(c, found, resume, None)


def jira_owned(*paths: Path) -> None:
    for path in paths:
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, 2001, 2002)


@pytest.fixture
def trees(workdir):
    backup, root = workdir / "backup", workdir / "root"
    (backup / "ABC/10000/ABC-1").mkdir(parents=True)
    jira_owned(root)
    return backup, root


def test_a_copy_creates_its_folders_owned_by_jira_and_verifies_the_recorded_hash(trees, workdir):
    backup, root = trees
    data = os.urandom(3 * transfer.CHUNK + 17)
    (backup / "ABC/10000/ABC-1/7").write_bytes(data)
    good = hashlib.blake2b(data, digest_size=32).digest()
    c = cand(size=len(data), full_hash=good)
    out = go(_copier(backup, root, workdir / "q"), c)
    assert out == transfer.Outcome(plan.RESTORED, len(data))
    assert (root / "ABC/10000/ABC-1/7").read_bytes() == data
    for rel, mode in (("ABC", 0o750), ("ABC/10000", 0o750), ("ABC/10000/ABC-1", 0o750), ("ABC/10000/ABC-1/7", 0o640)):
        st = os.stat(root / rel)
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (2001, 2002, mode), rel

    (root / "ABC/10000/ABC-1/7").unlink()
    wrong = cand(size=len(data), full_hash=b"\0" * 32)
    out = go(_copier(backup, root, workdir / "q"), wrong)
    assert out.status == plan.BACKUP_DIFFERS and "hash" in out.message
    assert os.listdir(root / "ABC/10000/ABC-1") == []  # neither the file nor its part


def test_a_file_that_appears_right_before_the_link_is_never_overwritten(trees, workdir):
    backup, root = trees
    (backup / "ABC/10000/ABC-1/7").write_bytes(b"hello")
    folder = root / "ABC/10000/ABC-1"

    class Racing(BackupFolder):
        """A backup read during which someone else puts a file at the target."""

        content = b""

        def open(self, rel, known=None):
            reader = super().open(rel, known)
            (folder / "7").write_bytes(self.content)
            return reader

    for content, status in ((b"HELLO", plan.ALREADY_OK), (b"other content", plan.RESTORED)):
        Racing.content = content
        out = go(_copier(backup, root, workdir / "q", storage=Racing), cand())
        assert out.status == status
        kept = (folder / "7").read_bytes()
        assert kept == (b"HELLO" if status == plan.ALREADY_OK else b"hello")
        if status == plan.RESTORED:  # the wrong-size file that appeared went to the quarantine
            assert (workdir / "q/ABC/10000/ABC-1/7").read_bytes() == b"other content"
        (folder / "7").unlink()


@pytest.fixture
def tiny_disk(workdir):
    mount = workdir / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the full-disk test: mount tmpfs failed: {done.stderr.decode().strip()}")
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    os.chown(mount, 2001, 2002)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_fails_one_file_cleanly_and_the_next_still_fits(trees, workdir, tiny_disk):
    backup, _ = trees
    (backup / "ABC/10000/ABC-1/7").write_bytes(os.urandom(1024 * 1024))
    (backup / "ABC/10000/ABC-1/8").write_bytes(b"small")
    copier = _copier(backup, tiny_disk, workdir / "q")
    with pytest.raises(OSError) as failed:
        go(copier, cand(size=1024 * 1024))
    assert failed.value.errno == errno.ENOSPC
    assert os.listdir(tiny_disk / "ABC/10000/ABC-1") == []  # its part is gone, the space is back
    assert go(copier, cand(8, "ABC/10000/ABC-1/8", 5)).status == plan.RESTORED


def test_a_corrupted_file_on_another_disk_than_the_quarantine_is_copied_there_first(trees, workdir, tiny_disk):
    backup, _ = trees
    (backup / "ABC/10000/ABC-1/7").write_bytes(b"hello")
    jira_owned(tiny_disk / "ABC", tiny_disk / "ABC/10000", tiny_disk / "ABC/10000/ABC-1")
    (tiny_disk / "ABC/10000/ABC-1/7").write_bytes(b"hel")
    os.chown(tiny_disk / "ABC/10000/ABC-1/7", 2001, 2002)
    out = go(_copier(backup, tiny_disk, workdir / "q"), cand())
    assert out.status == plan.RESTORED and out.quarantined == str(workdir / "q/ABC/10000/ABC-1/7")
    assert (workdir / "q/ABC/10000/ABC-1/7").read_bytes() == b"hel"
    assert (tiny_disk / "ABC/10000/ABC-1/7").read_bytes() == b"hello"


def test_a_dropped_backup_is_retried_and_the_copy_continues_at_its_offset(trees, workdir):
    backup, root = trees
    data = os.urandom(2 * transfer.CHUNK + 5)
    (backup / "ABC/10000/ABC-1/7").write_bytes(data)
    asked: list[int] = []
    closed: list[int] = []

    class Flaky(BackupFolder):
        """Reads that fail twice after the first chunk, as a dropped connection does."""

        def open(self, rel, known=None):
            reader = super().open(rel, known)
            real, real_close = reader.read_at, reader.close

            def read_at(offset, size):
                asked.append(offset)
                if offset and asked.count(offset) <= 2:
                    raise ConnectionError("connection lost")
                return real(offset, size)

            def close():
                closed.append(1)
                real_close()

            reader.read_at = read_at  # type: ignore[method-assign]
            reader.close = close  # type: ignore[method-assign]
            return reader

    slept: list[float] = []
    copier = _copier(backup, root, workdir / "q", timeout=60, sleep=slept.append, storage=Flaky)
    out = go(copier, cand(size=len(data)))
    assert out == transfer.Outcome(plan.RESTORED, len(data))
    assert (root / "ABC/10000/ABC-1/7").read_bytes() == data
    assert asked[0] == 0 and 0 not in asked[1:]  # never from the start again
    assert len(slept) == 4 and len(closed) == 5  # every reader a failure dropped was closed
    # ...and the breaker gives up after the retry window, keeping the part for the next run
    (root / "ABC/10000/ABC-1/7").unlink()
    asked.clear()
    clock = iter(range(0, 10_000, 1))
    never = _copier(backup, root, workdir / "q", timeout=1.5, storage=Flaky, clock=lambda: float(next(clock)))
    with pytest.raises(StorageError, match="stopped answering"):
        go(never, cand(size=len(data)))
    assert (root / "ABC/10000/ABC-1/.inspector-restore-7.part").stat().st_size == transfer.CHUNK


def test_the_breaker_is_one_window_for_every_thread_and_knows_what_waiting_cannot_fix():
    import socket

    from inspector.errors import ConfigError
    from inspector.restore.breaker import classify

    assert classify(socket.gaierror(-2, "Name or service not known")) == "config"
    assert classify(ConnectionResetError()) == classify(TimeoutError()) == "transient"
    assert classify(OSError(errno.ENOSPC, "full")) == "row"
    now = [0.0]
    breaker = Breaker("sftp://b@h:22/x", 10, threading.Event(), sleep=lambda s: now.__setitem__(0, now[0] + s),
                      clock=lambda: now[0])  # fmt: skip

    def dead():
        raise ConnectionResetError("connection lost")

    with pytest.raises(StorageError, match="stopped answering") as tripped:
        breaker.call("file 1", dead)
    assert now[0] <= 10
    # Every other thread (and file) learns it at once: no second window.
    before = now[0]
    with pytest.raises(StorageError) as again:
        breaker.call("file 2", dead)
    assert again.value is tripped.value and now[0] == before
    # A success in between restarts the window; the first contact refused is at once.
    fresh = Breaker("b", 10, threading.Event(), sleep=lambda s: None)
    assert fresh.call("x", lambda: 5) == 5
    with pytest.raises(StorageError, match="refused"):
        fresh.first(lambda: (_ for _ in ()).throw(ConnectionRefusedError(111, "Connection refused")))
    with pytest.raises(ConfigError, match="cannot be resolved"):
        fresh.first(lambda: (_ for _ in ()).throw(socket.gaierror(-2, "Name or service not known")))


def test_the_watch_names_the_call_that_hangs():
    now = [100.0]
    watch = Watch(clock=lambda: now[0])
    with watch.calling("stat of a file on a dead NFS server"):
        now[0] += 5
        assert watch.stuck(10) is None
        now[0] += 6
        assert watch.stuck(10) == ("stat of a file on a dead NFS server", 11.0)
    assert watch.stuck(0) is None


def test_renameat_noreplace_never_replaces(workdir):
    from inspector.storage.posixwrite import renameat_noreplace

    (workdir / "a").write_text("new")
    (workdir / "b").write_text("there")
    fd = os.open(workdir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with pytest.raises(FileExistsError):
            renameat_noreplace(fd, "a", fd, "b")
        renameat_noreplace(fd, "a", fd, "c")
    finally:
        os.close(fd)
    assert (workdir / "b").read_text() == "there" and (workdir / "c").read_text() == "new"
