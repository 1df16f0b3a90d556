"""Restore against a hostile tree, run as root with the tree owned by the Jira account as in
production: links, FIFOs and swapped folders planted where the restore writes, and a backup
that holds links out of itself. Every file outside the tree stays byte-, owner- and
mode-identical, nothing hangs, and the rows say what was refused."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from inspector.restore import plan, transfer
from inspector.restore.breaker import Breaker, Watch
from inspector.runtime.throttle import Pacer
from inspector.storage.account import Account
from inspector.storage.posix import BackupFolder
from inspector.storage.posixwrite import PosixDestination

FOLDER = "ABC/10000/ABC-1"
REL = f"{FOLDER}/7"
DATA = b"the backup's bytes"


def cand(size: int = 18) -> plan.Candidate:  # len(DATA)
    return plan.Candidate(7, REL, size, "missing", "a.txt", "https://j/secure/attachment/7/a.txt", "ABC-1", None)


@pytest.fixture
def world(workdir):
    """(backup, root, host): a backup holding the file, Jira's tree, and host files outside it."""
    backup, root, host = workdir / "backup", workdir / "root", workdir / "host"
    (backup / FOLDER).mkdir(parents=True)
    (backup / REL).write_bytes(DATA)
    for path in (root, root / "ABC", root / "ABC/10000", root / FOLDER):
        path.mkdir(exist_ok=True)
        os.chown(path, 2001, 2001)
    host.mkdir()
    (host / "shadow").write_bytes(b"root:secret")
    os.chmod(host / "shadow", 0o600)
    (host / "10000/ABC-1").mkdir(parents=True)  # a place a swapped folder would lead to
    (host / "ABC-1").mkdir()
    os.chmod(host, 0o777)  # even a folder anyone may write to is not written through a link
    return backup, root, host


def snapshot(top: Path) -> dict[str, tuple]:
    found = {}
    for folder, dirs, files in os.walk(top):
        for name in dirs + files:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            content = Path(path).read_bytes() if stat.S_ISREG(st.st_mode) else None
            found[os.path.relpath(path, top)] = (st.st_mode, st.st_uid, st.st_gid, st.st_size, content)
    return found


def copy(backup: Path, root: Path, workdir: Path, resume: bool = False) -> transfer.Outcome:
    stop = threading.Event()
    dest = PosixDestination(str(root), Account(2001, 2001), 0o640, 0o750, workdir / "quarantine")
    storage = BackupFolder(str(backup))
    copier = transfer.Copier(storage, dest, Breaker("b", 5, stop), Watch(), Pacer(0), stop.is_set)
    probe = storage.probe(REL)
    found = plan.Found(plan.RESTORABLE, REL, probe.size, version=probe.version)
    return copier.restore(cand(), found, resume, None)


@pytest.mark.parametrize("resume", [False, True])
def test_a_link_planted_at_the_part_name_is_removed_never_followed(world, workdir, resume):
    backup, root, host = world
    before = snapshot(host)
    (root / FOLDER / ".inspector-restore-7.part").symlink_to(host / "shadow")
    out = copy(backup, root, workdir, resume)
    assert out.status == plan.RESTORED
    assert snapshot(host) == before
    st = os.lstat(root / REL)
    assert (root / REL).read_bytes() == DATA and (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (2001, 2001, 0o640)
    assert not os.path.lexists(root / FOLDER / ".inspector-restore-7.part")


def test_a_fifo_planted_at_the_part_name_does_not_hang_the_copy(world, workdir):
    backup, root, _ = world
    os.mkfifo(root / FOLDER / ".inspector-restore-7.part")
    assert copy(backup, root, workdir, resume=True).status == plan.RESTORED
    assert (root / REL).read_bytes() == DATA


@pytest.mark.parametrize("kind", ["symlink", "fifo"])
def test_a_link_or_fifo_at_the_attachments_name_is_quarantined_as_it_is(world, workdir, kind):
    backup, root, host = world
    before = snapshot(host)
    if kind == "symlink":
        (root / REL).symlink_to(host / "shadow")
    else:
        os.mkfifo(root / REL)
    out = copy(backup, root, workdir)
    assert out.status == plan.RESTORED and out.quarantined == str(workdir / "quarantine" / REL)
    kept = os.lstat(workdir / "quarantine" / REL)
    assert stat.S_ISLNK(kept.st_mode) if kind == "symlink" else stat.S_ISFIFO(kept.st_mode)
    assert snapshot(host) == before
    assert (root / REL).read_bytes() == DATA and not (root / REL).is_symlink()


@pytest.mark.parametrize("swapped", ["ABC", "ABC/10000", FOLDER])
def test_a_project_bucket_or_issue_folder_swapped_for_a_link_refuses_the_row(world, workdir, swapped):
    backup, root, host = world
    (root / swapped).rename(workdir / "moved-away")
    target = {"ABC": host, "ABC/10000": host, FOLDER: host / "ABC-1"}[swapped]
    (root / swapped).symlink_to(target)
    before = snapshot(host)
    out = copy(backup, root, workdir)
    assert out.status == plan.ERROR and "symbolic link" in out.message and "not followed" in out.message
    assert snapshot(host) == before


def test_where_jira_may_not_write_nothing_is_written_as_root(world, workdir):
    backup, root, _ = world
    os.chown(root / FOLDER, 0, 0)
    os.chmod(root / FOLDER, 0o755)  # root's folder: Jira could not write here, so neither do we
    with pytest.raises(PermissionError):
        copy(backup, root, workdir)
    assert os.listdir(root / FOLDER) == []


def test_a_part_from_another_copy_is_not_continued(world, workdir):
    backup, root, _ = world
    part = root / FOLDER / ".inspector-restore-7.part"
    part.write_bytes(b"THE OLD ")  # a part of an earlier backup's copy, 8 bytes
    os.chown(part, 2001, 2001)
    assert copy(backup, root, workdir, resume=False).status == plan.RESTORED
    assert (root / REL).read_bytes() == DATA


def test_a_folder_backup_never_leaves_itself(world, workdir):
    backup, _, host = world
    (backup / REL).unlink()
    (backup / REL).symlink_to(host / "shadow")  # rsync -a kept the link Jira's account planted
    (backup / "XYZ").symlink_to(host)  # and a project folder that is a link
    storage = BackupFolder(str(backup))
    c = cand(size=len(b"root:secret"))
    found = plan.locate(c, storage.probe, storage.names)
    assert found.verdict == plan.SOURCE_ERROR and "symbolic link" in found.reason
    elsewhere = c._replace(relpath="XYZ/10000/ABC-1/7")
    (host / "10000/ABC-1/7").write_bytes(b"root:secret")
    found = plan.locate(elsewhere, storage.probe, storage.names)
    assert found.verdict == plan.SOURCE_ERROR and "not followed" in found.reason
    with pytest.raises(OSError):
        storage.open(REL)
