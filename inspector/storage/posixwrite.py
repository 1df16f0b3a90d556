"""Writing restored attachments into a folder: as the Jira account, through descriptors, never
through a link.

The attachments tree belongs to the Jira account, so whoever controls that account may plant
links, FIFOs or swapped folders in it. Every call here runs inside ``Account.acting()`` (the
kernel checks it as Jira, so nothing outside Jira's rights can be written whatever is planted)
and resolves nothing by path twice: the walk down from the root opens each folder with
``openat(O_DIRECTORY|O_NOFOLLOW)`` relative to the one above (a symlinked project, bucket or
issue folder refuses the row), the part is created with ``O_CREAT|O_EXCL|O_NOFOLLOW`` and its
descriptor checked (a regular file, one link, Jira's), modes are set with ``fchmod``, and the
verified copy is placed with ``linkat`` (or ``renameat2(RENAME_NOREPLACE)`` where a file system
has no hard links), which fail rather than replace a name that appeared. Whatever sits at the
attachment's name (a corrupted file, a link, a FIFO) is moved to the quarantine as it is (the
link itself, never its target) and never opened, except a regular file copied across file
systems.
"""

from __future__ import annotations

import ctypes
import errno as errnos
import logging
import os
import stat
import threading
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .account import Account
from .destination import Placed, Unsafe
from .posix import descend, probe_of

log = logging.getLogger("inspector.restore")
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_NEW = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_COPY = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_NO_HARD_LINKS = (errnos.EPERM, errnos.ENOTSUP, errnos.EOPNOTSUPP, errnos.EMLINK, errnos.EXDEV)
RENAME_NOREPLACE = 1
_FOLLOWED = (errnos.ELOOP, errnos.ENOTDIR)


def part_name(attachment_id: int) -> str:
    return f".inspector-restore-{attachment_id}.part"


def renameat_noreplace(src_dir: int, src: str, dst_dir: int, dst: str) -> None:
    """renameat2(RENAME_NOREPLACE): fails with EEXIST rather than replace ``dst``."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.renameat2(src_dir, os.fsencode(src), dst_dir, os.fsencode(dst), RENAME_NOREPLACE) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), dst)


def _lstat_at(folder: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _parts(rel: str) -> list[str]:
    parts = rel.split("/")
    if any(p in ("", ".", "..") or "\0" in p for p in parts):
        raise Unsafe(f"'{rel}' is not a plain relative path: not written")
    return parts


def _kind(st: os.stat_result) -> str:
    mode = st.st_mode
    kinds = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISDIR, "a folder"),
             (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))  # fmt: skip
    return next((name for test, name in kinds if test(mode)), "a file")


class PosixPart:
    """The part file, open, in its folder's descriptor (no path is resolved again)."""

    readable = True
    ref: str | None = None

    def __init__(self, dest: PosixDestination, folder: int, name: str, fd: int, placed: bool = False):
        self._dest, self.folder, self.name, self.fd = dest, folder, name, fd
        self.placed = placed
        self.offset = os.fstat(fd).st_size if fd >= 0 else 0

    def write_at(self, offset: int, data: bytes) -> None:
        view = memoryview(data)  # a nearly full disk takes part of a write, then fails
        while view:
            n = os.pwrite(self.fd, view, offset)
            view, offset = view[n:], offset + n

    def read_at(self, offset: int, size: int) -> bytes:
        return os.pread(self.fd, size, offset)

    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def restart(self) -> None:
        os.ftruncate(self.fd, 0)
        self.offset = 0

    def finish(self) -> None:
        os.fsync(self.fd)

    def discard(self) -> None:
        """Unlink the part's name, only while it is still this part (as Jira)."""
        if self.fd >= 0:
            with self._dest.account.acting():
                ours = os.fstat(self.fd)
                there = _lstat_at(self.folder, self.name)
                if there is not None and (there.st_dev, there.st_ino) == (ours.st_dev, ours.st_ino):
                    os.unlink(self.name, dir_fd=self.folder)
        self.close()

    def close(self) -> None:
        for fd in (self.fd, self.folder):
            if fd >= 0:
                os.close(fd)
        self.fd = self.folder = -1


class PosixDestination:
    def __init__(self, root: str, account: Account, file_mode: int, dir_mode: int, quarantine: Path):
        self.root, self.account = root, account
        self.file_mode, self.dir_mode = file_mode, dir_mode
        self.quarantine = Path(os.path.abspath(quarantine))
        self._quarantine_ready = False
        self._lock = threading.Lock()

    def describe(self) -> str:
        return self.root

    def close(self) -> None:
        pass  # every descriptor belongs to a part, closed with it

    def check(self) -> None:
        if problem := self.account.problem():
            raise ConfigError(problem)
        if self.account.uid == 0:
            log.warning("the Jira account is uid 0 (the attachments root is root's, and INSPECTOR_JIRA_UID is "
                        "not set): restore writes as root; set INSPECTOR_JIRA_UID/GID to the account Jira "
                        "runs as")  # fmt: skip

    # walking down, never through a link ----------------------------------------------------
    def _descend(self, top: str, parts: list[str]) -> int:
        """A descriptor of ``top``/parts, never through a link (a link on the way refuses the
        row); missing folders made, as Jira."""
        try:
            return descend(top, parts, self._make_folder)
        except OSError as exc:
            if exc.errno in _FOLLOWED:
                raise Unsafe(f"{exc.filename} is a symbolic link or not a folder: not followed") from None
            raise

    def _make_folder(self, parent: int, name: str) -> int:
        try:
            os.mkdir(name, self.dir_mode, dir_fd=parent)
            made = True
        except FileExistsError:
            made = False
        try:
            fd = os.open(name, _DIR, dir_fd=parent)
        except OSError as exc:
            if exc.errno in _FOLLOWED:
                raise Unsafe(f"{name} was replaced by a link while it was made: not followed") from None
            raise
        if made and os.fstat(fd).st_uid == self.account.uid:
            os.fchmod(fd, self.dir_mode)  # the umask had its say in mkdir
        return fd

    def _folder(self, rel: str) -> tuple[int, str]:
        parts = _parts(rel)
        return self._descend(self.root, parts[:-1]), parts[-1]

    # the Destination protocol --------------------------------------------------------------
    def part(self, rel: str, attachment_id: int, resume: bool, ref: str | None, size: int = 0) -> PosixPart:
        with self.account.acting():
            folder, final = self._folder(rel)
            try:
                return self._open_part(folder, part_name(attachment_id), final, resume)
            except BaseException:
                os.close(folder)
                raise

    def _open_part(self, folder: int, name: str, final: str, resume: bool) -> PosixPart:
        there = _lstat_at(folder, name)
        if there is not None and resume and stat.S_ISREG(there.st_mode) and there.st_uid == self.account.uid:
            at_final = _lstat_at(folder, final)
            if there.st_nlink == 2 and at_final is not None and at_final.st_ino == there.st_ino:
                os.unlink(name, dir_fd=folder)  # killed between link and unlink: the restore was complete
                return PosixPart(self, folder, name, -1, placed=True)
            if there.st_nlink == 1:
                fd = os.open(name, os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=folder)
                st = os.fstat(fd)
                if (st.st_dev, st.st_ino) == (there.st_dev, there.st_ino) and stat.S_ISREG(st.st_mode):
                    return PosixPart(self, folder, name, fd)
                os.close(fd)
        for _ in range(3):
            if there is not None:
                if stat.S_ISDIR(there.st_mode):
                    raise Unsafe(f"a folder sits at the part name {name}: not removed")
                os.unlink(name, dir_fd=folder)  # a stale part, a planted link or FIFO: the entry itself
            try:
                fd = os.open(name, _NEW, self.file_mode, dir_fd=folder)
            except FileExistsError:
                there = _lstat_at(folder, name)
                continue
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1 or st.st_uid != self.account.uid:
                os.close(fd)
                raise Unsafe(f"the new part {name} is not a plain file of the Jira account's: not written")
            os.fchmod(fd, self.file_mode)  # the umask had its say in open
            return PosixPart(self, folder, name, fd)
        raise Unsafe(f"something keeps appearing at the part name {name}: not written")

    def place(self, part: Any, rel: str, expected_size: int) -> Placed:
        assert isinstance(part, PosixPart)
        final = _parts(rel)[-1]
        quarantined = None
        ours = os.fstat(part.fd)
        for _ in range(3):
            # A look relative to the folder's descriptor, never following: safe as anyone.
            present = _lstat_at(part.folder, final)
            if present is not None:
                if stat.S_ISREG(present.st_mode) and present.st_size == expected_size:
                    part.discard()
                    return Placed("already_ok", quarantined, "a file of the right size is there now; left alone")
                self._ready_quarantine()  # made by the process, outside the tree, then Jira's
            with self.account.acting():
                if present is not None:
                    quarantined = self._quarantine(part.folder, final, rel, present)
                if not self._link(part, final):
                    continue  # appeared since the look: look again
                os.fsync(part.folder)
                after = _lstat_at(part.folder, final)
            part.close()
            if after is None or (after.st_dev, after.st_ino) != (ours.st_dev, ours.st_ino):
                return Placed("error", quarantined, "the part was replaced before it was placed")
            return Placed("restored", quarantined, None, probe_of(after))
        part.discard()
        return Placed("error", quarantined, "files kept appearing at the target during the restore; left alone")

    def _link(self, part: PosixPart, final: str) -> bool:
        """The part under ``final`` without replacing anything; False when a name got there first."""
        try:
            os.link(part.name, final, src_dir_fd=part.folder, dst_dir_fd=part.folder, follow_symlinks=False)
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                raise
            try:
                renameat_noreplace(part.folder, part.name, part.folder, final)
            except FileExistsError:
                return False
            except OSError as again:
                if again.errno in (errnos.EINVAL, errnos.ENOSYS):
                    raise Unsafe("this file system can neither hard-link nor rename without replacing: not placed") \
                        from None  # fmt: skip
                raise
            return True
        os.unlink(part.name, dir_fd=part.folder)
        return True

    # the quarantine --------------------------------------------------------------------------
    def _ready_quarantine(self) -> None:
        """The quarantine folder, made by the process (it lies outside the tree, where the admin
        put it) and given to the Jira account, which moves files into it."""
        with self._lock:
            if self._quarantine_ready:
                return
            if not os.path.lexists(self.quarantine):
                self.quarantine.mkdir(parents=True, mode=0o700)
                fd = os.open(self.quarantine, _DIR)
                try:
                    os.fchown(fd, self.account.uid, self.account.gid)
                finally:
                    os.close(fd)
            self._quarantine_ready = True

    def _quarantine(self, folder: int, final: str, rel: str, present: os.stat_result) -> str:
        """Move what is at ``final`` into the quarantine under its relative path (.1, .2 if taken)."""
        self._ready_quarantine()
        parts = _parts(rel)
        qfolder = self._descend(str(self.quarantine), parts[:-1])
        try:
            name, n = parts[-1], 0
            while _lstat_at(qfolder, name) is not None:
                n += 1
                name = f"{parts[-1]}.{n}"
            where = str(self.quarantine / "/".join([*parts[:-1], name]))
            try:
                renameat_noreplace(folder, final, qfolder, name)
            except OSError as exc:
                if exc.errno != errnos.EXDEV:
                    raise
                note = _copy_across(folder, final, qfolder, name, present)
                if note:
                    where = f"{where} ({note})"
            os.fsync(qfolder)
        finally:
            os.close(qfolder)
        return where


def _copy_across(folder: int, final: str, qfolder: int, name: str, present: os.stat_result) -> str:
    """The quarantine is on another file system: copy what is there, then remove it."""
    if stat.S_ISLNK(present.st_mode):
        os.symlink(os.readlink(final, dir_fd=folder), name, dir_fd=qfolder)  # the link, not its target
    elif stat.S_ISREG(present.st_mode):
        src = os.open(final, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=folder)
        try:
            before = os.fstat(src)
            if (before.st_dev, before.st_ino) != (present.st_dev, present.st_ino):
                raise OSError(errnos.EBUSY, f"{final} changed while it was being quarantined")
            dst = os.open(name, _NEW_COPY, 0o600, dir_fd=qfolder)
            try:
                offset = 0
                while chunk := os.pread(src, 1024 * 1024, offset):
                    os.write(dst, chunk)
                    offset += len(chunk)
                os.fsync(dst)
            finally:
                os.close(dst)
            after = os.stat(final, dir_fd=folder, follow_symlinks=False)
            if (after.st_ino, after.st_size, after.st_mtime_ns) != (before.st_ino, before.st_size, before.st_mtime_ns):
                os.unlink(name, dir_fd=qfolder)
                raise OSError(errnos.EBUSY, f"{final} changed while it was being quarantined")
        finally:
            os.close(src)
    else:
        os.unlink(final, dir_fd=folder)
        return f"{_kind(present)}: removed, not kept"
    os.unlink(final, dir_fd=folder)
    return ""


def open_posix_destination(root: str, config: Any) -> PosixDestination:
    account = Account(config.identity.uid, config.jira_gid, config.identity.gids)
    return PosixDestination(
        root, account, config.restore_file_mode, config.restore_dir_mode, Path(config.restore_quarantine)
    )
