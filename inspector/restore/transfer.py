"""One file copied from a backup into Jira's attachments folder, safely.

The copy is streamed in chunks into ``.inspector-restore-<id>.part`` beside the final name,
owned by Jira's account with the restore's mode from its first byte; a copy stopped by a kill
or a lost connection continues from the length already written. The size, and the content
hash where a pass recorded one, are verified; the file is fsync'ed and only then linked onto
the attachment's name with ``link(2)``, which fails rather than replace a file that appeared
meanwhile: a good file is never overwritten, and nothing half-written ever has an
attachment's name. A corrupted file there is first moved to the quarantine.
"""

from __future__ import annotations

import errno as errnos
import hashlib
import logging
import os
import random
import shutil
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import StorageError
from ..stages import hasher
from ..storage import Probe, Reader
from ..throttle import Pacer
from . import plan

log = logging.getLogger("inspector.restore")

CHUNK = 1024 * 1024
MAX_DELAY = 60.0


class Target(NamedTuple):
    """Where and how restored files are written."""

    root: Path
    uid: int
    gid: int
    file_mode: int
    dir_mode: int
    quarantine: Path
    retry_timeout: float


class Outcome(NamedTuple):
    status: str
    written: int = 0  # bytes this run wrote
    message: str | None = None
    quarantined: str | None = None


class Stopped(Exception):
    """The restore is stopping (a signal, a closing window); the part file stays for next time."""


class LockedPacer(Pacer):
    """A Pacer several transfer threads share."""

    def __init__(self, rate: float):
        super().__init__(rate)
        self._lock = threading.Lock()

    def _advance(self, n: int, now: float) -> float:
        with self._lock:
            return super()._advance(n, now)


def part_name(relpath: str, attachment_id: int) -> str:
    folder = relpath.rsplit("/", 1)[0]
    return f"{folder}/.inspector-restore-{attachment_id}.part"


def transient(exc: BaseException) -> bool:
    """A failure worth waiting out: a lost connection, a timeout, an S3 endpoint out of reach
    or answering 5xx, a stream cut mid-body (botocore, urllib3)."""
    if isinstance(exc, (ConnectionError, TimeoutError, StorageError, EOFError)):
        return True
    status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode", 0) \
        if isinstance(getattr(exc, "response", None), dict) else 0  # fmt: skip
    if status >= 500:
        return True
    module = type(exc).__module__.split(".")[0]
    return module in ("botocore", "urllib3") and "ClientError" not in type(exc).__name__


def make_folders(target: Target, folder: str) -> None:
    """Create the folders missing on the way to ``folder`` (relative), each owned by Jira's
    account with the restore's folder mode (the umask does not apply)."""
    path = target.root
    for part in folder.split("/"):
        path = path / part
        try:
            os.mkdir(path, target.dir_mode)
        except FileExistsError:
            continue
        os.chown(path, target.uid, target.gid)
        os.chmod(path, target.dir_mode)


def _hash_prefix(fd: int, length: int) -> Any:
    h = hashlib.blake2b(digest_size=32)
    done = 0
    while done < length:
        data = os.pread(fd, min(CHUNK, length - done), done)
        if not data:
            break
        h.update(data)
        done += len(data)
    return h


class _PartReader:
    """A part file read the way the hasher reads attachments, so the head-and-tail hash a
    restore checks is the hasher's own (stages/hasher.digest)."""

    def __init__(self, fd: int):
        self._fd = fd

    def read_at(self, offset: int, size: int) -> bytes:
        return os.pread(self._fd, size, offset)


def _head_tail(fd: int, size: int) -> bytes | None:
    # (digest reads through read_at only: the Reader's probe and close are not needed here)
    head_tail, _, _ = hasher.digest(_PartReader(fd), size, hasher.HEAD_TAIL, Pacer(0))  # type: ignore[arg-type]
    return head_tail


class Copier:
    """Copies files from one backup storage; shared by the transfer threads."""

    def __init__(self, backup: Any, target: Target, pacer: Pacer, stop: threading.Event, sleep=None):
        self.backup, self.target, self.pacer, self.stop = backup, target, pacer, stop
        self._sleep = sleep or stop.wait

    # reading, with retries -------------------------------------------------------------------
    def retrying(self, what: str, call: Callable[[], Any], state: dict) -> Any:
        """``call()``, retried after transient failures 1, 2, 4 ... s apart (with jitter) until
        the retry timeout has passed since the first failure in a row."""
        while True:
            if self.stop.is_set():
                raise Stopped()
            try:
                result = call()
                state["failed_at"] = None
                state["attempt"] = 0
                return result
            except Exception as exc:
                if not transient(exc):
                    raise
                now = time.monotonic()
                state["failed_at"] = state.get("failed_at") or now
                delay = min(MAX_DELAY, 2.0 ** state.get("attempt", 0)) * random.uniform(0.8, 1.2)
                if now + delay - state["failed_at"] > self.target.retry_timeout:
                    raise TimeoutError(
                        f"{what}: given up after {self.target.retry_timeout:.0f} s of retries ({exc})"
                    ) from None
                state["attempt"] = state.get("attempt", 0) + 1
                log.warning("%s: %s; retrying in %.1f s", what, exc, delay)
                state.pop("reader", None)
                self._sleep(delay)

    # one file ---------------------------------------------------------------------------------
    def restore(self, c: plan.Candidate, backup_path: str) -> Outcome:
        assert c.relpath is not None and c.filesize is not None
        root = self.target.root
        final = root / c.relpath
        part = root / part_name(c.relpath, c.id)
        try:
            if part.exists() and final.exists() and os.path.samefile(part, final):
                part.unlink()  # killed between link and unlink: the restore itself was complete
                return Outcome(plan.RESTORED)
        except OSError:
            pass
        make_folders(self.target, c.relpath.rsplit("/", 1)[0])
        fd = os.open(part, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, self.target.file_mode)
        written, keep_part = 0, False  # a part that failed is removed (a full disk gets its space back)
        try:
            os.fchown(fd, self.target.uid, self.target.gid)
            os.fchmod(fd, self.target.file_mode)
            offset = os.fstat(fd).st_size
            if offset > c.filesize:
                os.ftruncate(fd, 0)
                offset = 0
            elif offset:
                log.info("attachment %d: continuing its copy at byte %d", c.id, offset)
            digest = _hash_prefix(fd, offset) if c.full_hash else None
            state: dict = {}
            known = Probe(0, stat.S_IFREG | 0o644, size=c.filesize)  # what the lookup found
            while offset < c.filesize:
                if self.stop.is_set():
                    raise Stopped()
                want = min(CHUNK, c.filesize - offset)

                def read(at: int = offset, size: int = want) -> bytes:
                    if "reader" not in state:
                        state["reader"] = self.backup.open(backup_path, known)
                    reader: Reader = state["reader"]
                    return reader.read_at(at, size)

                self.pacer.take(want)
                data = self.retrying(f"{self.backup.describe()}/{backup_path}", read, state)
                if not data:
                    raise OSError(errnos.ESTALE, f"the backup copy ended at {offset} of {c.filesize} bytes")
                _write_all(fd, data, offset)
                if digest is not None:
                    digest.update(data)
                offset += len(data)
                written += len(data)
            if "reader" in state:
                state["reader"].close()
            problem = self._verify(fd, c, digest)
            if problem:
                return Outcome(plan.BACKUP_DIFFERS, written, problem)
            os.fsync(fd)
            keep_part = True  # verified: _place links it onto the attachment's name
        except (Stopped, TimeoutError):
            keep_part = True  # continued from its length next time
            raise
        finally:
            os.close(fd)
            if not keep_part and part.exists() and not _linked(part, final):
                part.unlink(missing_ok=True)
        return self._place(c, part, final, written)

    def _verify(self, fd: int, c: plan.Candidate, digest: Any) -> str | None:
        size = os.fstat(fd).st_size
        if size != c.filesize:
            return f"copied {size} bytes, Jira expects {c.filesize}"
        if digest is not None and digest.digest() != c.full_hash:
            return "the backup copy's content differs from the hash a pass recorded for this attachment"
        if digest is None and c.head_tail is not None and _head_tail(fd, size) != c.head_tail:
            return "the backup copy's first and last 64 KiB differ from those a pass recorded"
        return None

    def _place(self, c: plan.Candidate, part: Path, final: Path, written: int) -> Outcome:
        """Link the verified copy onto the attachment's name, never over a good file."""
        quarantined = None
        assert c.filesize is not None and c.relpath is not None
        for _ in range(3):
            present = _lstat(final)
            if present is not None:
                if stat.S_ISREG(present.st_mode) and present.st_size == c.filesize:
                    part.unlink()
                    return Outcome(plan.ALREADY_OK, written, "a file of the right size is there now; left alone")
                quarantined = self._quarantine(c.relpath, final)
            try:
                os.link(part, final)
            except FileExistsError:
                continue  # appeared since the look: look again
            except OSError as exc:
                if exc.errno not in (errnos.EPERM, errnos.ENOTSUP, errnos.EOPNOTSUPP, errnos.EMLINK, errnos.EXDEV):
                    raise
                if _lstat(final) is not None:  # no hard links here: look once more, then rename
                    continue
                os.rename(part, final)
            else:
                part.unlink()
            _fsync_folder(final.parent)
            return Outcome(plan.RESTORED, written, None, quarantined)
        part.unlink(missing_ok=True)
        return Outcome(plan.ERROR, written, "files kept appearing at the target during the restore; left alone")

    def _quarantine(self, relpath: str, final: Path) -> str:
        """Move the file at ``final`` into the quarantine under its relative path."""
        base = self.target.quarantine
        name = plan.quarantine_name(relpath, lambda rel: os.path.lexists(base / rel))
        dest = base / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(final, dest)
        except OSError as exc:
            if exc.errno != errnos.EXDEV:
                raise
            before = os.lstat(final)
            shutil.copy2(final, dest, follow_symlinks=False)
            with open(dest, "rb") as copied:
                os.fsync(copied.fileno())
            after = os.lstat(final)
            if (before.st_ino, before.st_size, before.st_mtime_ns) != (after.st_ino, after.st_size, after.st_mtime_ns):
                dest.unlink()
                raise OSError(errnos.EBUSY, f"{relpath} changed while it was being quarantined") from None
            final.unlink()
        log.info("quarantined %s as %s", relpath, dest)
        return str(dest)


def _write_all(fd: int, data: bytes, offset: int) -> None:
    """pwrite until every byte is down: a nearly full disk takes part of a write, then fails."""
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        view, offset = view[n:], offset + n


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def _linked(part: Path, final: Path) -> bool:
    try:
        return os.path.samefile(part, final)
    except OSError:
        return False


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def final_probe(target: Target, relpath: str) -> tuple[int, int, int, int] | None:
    """(size, mode, uid, gid) of a restored file, stat'ed again after the rename."""
    st = _lstat(target.root / relpath)
    return None if st is None else (st.st_size, st.st_mode, st.st_uid, st.st_gid)
