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
from pathlib import Path

import pytest

from inspector.restore import plan, transfer
from inspector.storage import Probe
from inspector.storage.posix import PosixStorage
from inspector.throttle import Pacer

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
    body = [line for line in lines if line.startswith("chown")]
    assert body[0] == "chown 2001:2002 '/jira home/att'\"'\"'s/A/10000/A-1' && chmod 0750 " \
        "'/jira home/att'\"'\"'s/A/10000/A-1'  # attachment 1"  # fmt: skip
    assert len(body) == 4 and sum("A/10000/A-1'" in line for line in body) == 1
    # the script parses as sh
    assert subprocess.run(["sh", "-n"], input="\n".join(lines), text=True).returncode == 0


def _target(root: Path, quarantine: Path, timeout=5.0) -> transfer.Target:
    return transfer.Target(root, 2001, 2002, 0o640, 0o750, quarantine, timeout)


def _copier(backup: Path, target: transfer.Target, **kw) -> transfer.Copier:
    return transfer.Copier(PosixStorage(str(backup)), target, Pacer(0), threading.Event(), **kw)


@pytest.fixture
def trees(tmp_path):
    backup, root = tmp_path / "backup", tmp_path / "root"
    (backup / "ABC/10000/ABC-1").mkdir(parents=True)
    root.mkdir()
    return backup, root


def test_a_copy_creates_its_folders_owned_by_jira_and_verifies_the_recorded_hash(trees, tmp_path):
    backup, root = trees
    data = os.urandom(3 * transfer.CHUNK + 17)
    (backup / "ABC/10000/ABC-1/7").write_bytes(data)
    good = hashlib.blake2b(data, digest_size=32).digest()
    c = cand(size=len(data), full_hash=good)
    out = _copier(backup, _target(root, tmp_path / "q")).restore(c, "ABC/10000/ABC-1/7")
    assert out == transfer.Outcome(plan.RESTORED, len(data))
    assert (root / "ABC/10000/ABC-1/7").read_bytes() == data
    for rel, mode in (("ABC", 0o750), ("ABC/10000", 0o750), ("ABC/10000/ABC-1", 0o750), ("ABC/10000/ABC-1/7", 0o640)):
        st = os.stat(root / rel)
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (2001, 2002, mode), rel

    (root / "ABC/10000/ABC-1/7").unlink()
    wrong = cand(size=len(data), full_hash=b"\0" * 32)
    out = _copier(backup, _target(root, tmp_path / "q")).restore(wrong, "ABC/10000/ABC-1/7")
    assert out.status == plan.BACKUP_DIFFERS and "hash" in out.message
    assert os.listdir(root / "ABC/10000/ABC-1") == []  # neither the file nor its part


def test_a_file_that_appears_right_before_the_rename_is_never_overwritten(trees, tmp_path):
    backup, root = trees
    (backup / "ABC/10000/ABC-1/7").write_bytes(b"hello")
    folder = root / "ABC/10000/ABC-1"

    class Racing(PosixStorage):
        """A backup read during which someone else puts a file at the target."""

        def __init__(self, path, content):
            super().__init__(path)
            self.content = content

        def open(self, rel, known=None):
            reader = super().open(rel, known)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "7").write_bytes(self.content)
            return reader

    for content, status in ((b"HELLO", plan.ALREADY_OK), (b"other content", plan.RESTORED)):
        target = _target(root, tmp_path / "q")
        copier = transfer.Copier(Racing(str(backup), content), target, Pacer(0), threading.Event())
        out = copier.restore(cand(), "ABC/10000/ABC-1/7")
        assert out.status == status
        kept = (folder / "7").read_bytes()
        assert kept == (b"HELLO" if status == plan.ALREADY_OK else b"hello")
        if status == plan.RESTORED:  # the wrong-size file that appeared went to the quarantine
            assert (tmp_path / "q/ABC/10000/ABC-1/7").read_bytes() == b"other content"
        (folder / "7").unlink()


@pytest.fixture
def tiny_disk(tmp_path):
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the full-disk test: mount tmpfs failed: {done.stderr.decode().strip()}")
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_fails_one_file_cleanly_and_the_next_still_fits(trees, tmp_path, tiny_disk):
    backup, _ = trees
    (backup / "ABC/10000/ABC-1/7").write_bytes(os.urandom(1024 * 1024))
    (backup / "ABC/10000/ABC-1/8").write_bytes(b"small")
    copier = _copier(backup, _target(tiny_disk, tmp_path / "q"))
    with pytest.raises(OSError) as failed:
        copier.restore(cand(size=1024 * 1024), "ABC/10000/ABC-1/7")
    assert failed.value.errno == errno.ENOSPC
    assert os.listdir(tiny_disk / "ABC/10000/ABC-1") == []  # its part is gone, the space is back
    assert copier.restore(cand(8, "ABC/10000/ABC-1/8", 5), "ABC/10000/ABC-1/8").status == plan.RESTORED


def test_a_corrupted_file_on_another_disk_than_the_quarantine_is_copied_there_first(trees, tmp_path, tiny_disk):
    backup, _ = trees
    (backup / "ABC/10000/ABC-1/7").write_bytes(b"hello")
    (tiny_disk / "ABC/10000/ABC-1").mkdir(parents=True)
    (tiny_disk / "ABC/10000/ABC-1/7").write_bytes(b"hel")
    out = _copier(backup, _target(tiny_disk, tmp_path / "q")).restore(cand(), "ABC/10000/ABC-1/7")
    assert out.status == plan.RESTORED and out.quarantined == str(tmp_path / "q/ABC/10000/ABC-1/7")
    assert (tmp_path / "q/ABC/10000/ABC-1/7").read_bytes() == b"hel"
    assert (tiny_disk / "ABC/10000/ABC-1/7").read_bytes() == b"hello"


def test_a_dropped_backup_is_retried_and_the_copy_continues_at_its_offset(trees, tmp_path):
    backup, root = trees
    data = os.urandom(2 * transfer.CHUNK + 5)
    (backup / "ABC/10000/ABC-1/7").write_bytes(data)
    asked: list[int] = []

    class Flaky(PosixStorage):
        """Reads that fail twice after the first chunk, as a dropped connection does."""

        def open(self, rel, known=None):
            reader = super().open(rel, known)
            real = reader.read_at

            def read_at(offset, size):
                asked.append(offset)
                if offset and asked.count(offset) <= 2:
                    raise ConnectionError("connection lost")
                return real(offset, size)

            reader.read_at = read_at  # type: ignore[method-assign]
            return reader

    slept: list[float] = []
    copier = transfer.Copier(Flaky(str(backup)), _target(root, tmp_path / "q", timeout=60), Pacer(0),
                             threading.Event(), sleep=slept.append)  # fmt: skip
    out = copier.restore(cand(size=len(data)), "ABC/10000/ABC-1/7")
    assert out == transfer.Outcome(plan.RESTORED, len(data))
    assert (root / "ABC/10000/ABC-1/7").read_bytes() == data
    assert asked[0] == 0 and 0 not in asked[1:]  # never from the start again
    assert len(slept) == 4 and 0.8 <= slept[0] <= 1.2 and 1.6 <= slept[1] <= 2.4  # 1, 2 s, then again per offset
    # and gives up after the retry timeout, keeping the part for the next run
    (root / "ABC/10000/ABC-1/7").unlink()
    asked.clear()
    never = transfer.Copier(Flaky(str(backup)), _target(root, tmp_path / "q", timeout=1.5), Pacer(0),
                            threading.Event(), sleep=lambda s: None)  # fmt: skip
    with pytest.raises(TimeoutError, match="given up after"):
        never.restore(cand(size=len(data)), "ABC/10000/ABC-1/7")
    assert (root / "ABC/10000/ABC-1/.inspector-restore-7.part").stat().st_size == transfer.CHUNK
