"""One file copied from a backup into Jira's attachments storage, verified before it is placed.

The copy is streamed in chunks from the backup (through the restore's one ``Breaker``) into a
``Part`` of the destination (``storage/destination.py``: a part file written as the Jira
account, or an S3 multipart upload); a copy stopped by a kill or a lost connection continues
from what the part holds, but only when the part came from the same copy in the same backup
(the caller says so: ``resume``). The size, and the content hash where a pass recorded one,
are verified; the part is made durable and only then placed under the attachment's name,
which never replaces a file that appeared meanwhile: nothing half-written ever has an
attachment's name, and this module touches no path itself.
"""

from __future__ import annotations

import errno as errnos
import hashlib
import logging
import stat
import threading
from collections.abc import Callable
from typing import Any, NamedTuple

from ..errors import InspectorError
from ..runtime.throttle import Pacer
from ..scan.stages import hasher
from ..storage import Probe, Reader
from ..storage.destination import Destination, Part, Unsafe
from . import plan
from .breaker import Breaker, Stopped, Watch

log = logging.getLogger("inspector.restore")

CHUNK = 1024 * 1024

__all__ = ["CHUNK", "Copier", "LockedPacer", "Outcome", "Stopped"]


class Outcome(NamedTuple):
    status: str
    written: int = 0  # bytes this run wrote
    message: str | None = None
    quarantined: str | None = None


class LockedPacer(Pacer):
    """A Pacer several transfer threads share."""

    def __init__(self, rate: float):
        super().__init__(rate)
        self._lock = threading.Lock()

    def _advance(self, n: int, now: float) -> float:
        with self._lock:
            return super()._advance(n, now)


class _Source:
    """The backup copy of one file, opened on first read and again after a retry."""

    def __init__(self, backup: Any, path: str, known: Probe):
        self.backup, self.path, self.known = backup, path, known
        self.reader: Reader | None = None

    def read_at(self, offset: int, size: int) -> bytes:
        if self.reader is None:
            self.reader = self.backup.open(self.path, self.known)
        return self.reader.read_at(offset, size)

    def drop(self) -> None:
        """After a failure: the reader is closed, the next read opens a new one."""
        reader, self.reader = self.reader, None
        if reader is not None:
            try:
                reader.close()
            except Exception:  # closing what a dropped connection left: nothing to do
                log.debug("closing a reader of %s failed", self.path, exc_info=True)


class Copier:
    """Copies files from one backup into one destination; shared by the transfer threads."""

    def __init__(self, backup: Any, dest: Destination, breaker: Breaker, watch: Watch, pacer: Pacer,
                 halted: Callable[[], bool]):  # fmt: skip
        self.backup, self.dest, self.breaker, self.watch = backup, dest, breaker, watch
        self.pacer, self.halted = pacer, halted

    def _read(self, source: _Source, offset: int, size: int) -> bytes:
        def read() -> bytes:
            with self.watch.calling(f"reading {self.backup.describe()}/{source.path}"):
                return source.read_at(offset, size)

        return self.breaker.call(f"{self.backup.describe()}/{source.path}", read, on_retry=source.drop)

    def restore(self, c: plan.Candidate, found: plan.Found, resume: bool, ref: str | None,
                note_ref: Callable[[str | None], None] = lambda ref: None) -> Outcome:  # fmt: skip
        """Copy, verify and place one file; ``note_ref`` records what the state needs to find
        the part again (an S3 upload id) as soon as it exists."""
        assert c.relpath is not None and c.filesize is not None and found.backup_path is not None
        where = f"{self.dest.describe()}/{c.relpath}"
        try:
            with self.watch.calling(f"preparing {where}"):
                part = self.dest.part(c.relpath, c.id, resume, ref, c.filesize)
        except Unsafe as exc:
            return Outcome(plan.ERROR, 0, str(exc))
        if part.placed:
            return Outcome(plan.RESTORED)
        noted = ref

        def note() -> None:  # an S3 upload gets its id with its first part
            nonlocal noted
            if part.ref != noted:
                noted = part.ref
                note_ref(noted)

        note()
        known = Probe(0, stat.S_IFREG | 0o644, size=found.size or c.filesize, version=found.version)
        source = _Source(self.backup, found.backup_path, known)
        written, keep = 0, False
        try:
            offset = part.offset
            if offset > c.filesize:
                part.restart()
                offset = 0
            elif offset:
                log.info("attachment %d: continuing its copy at byte %d", c.id, offset)
            digest = self._prefix_digest(part, source, offset) if c.full_hash else None
            while offset < c.filesize:
                if self.halted():
                    raise Stopped()
                want = min(CHUNK, c.filesize - offset)
                self.pacer.take(want)
                data = self._read(source, offset, want)
                if not data:
                    raise OSError(errnos.ESTALE, f"the backup copy ended at {offset} of {c.filesize} bytes")
                with self.watch.calling(f"writing {where}"):
                    part.write_at(offset, data)
                note()
                if digest is not None:
                    digest.update(data)
                offset += len(data)
                written += len(data)
            problem = self._verify(part, source, c, digest)
            if problem:
                return Outcome(plan.BACKUP_DIFFERS, written, problem)
            with self.watch.calling(f"syncing {where}"):
                part.finish()
            note()
            keep = True
        except (Stopped, InspectorError):
            keep = True  # continued from its length next time (the backup went away, or a signal)
            part.close()
            raise
        finally:
            source.drop()
            if not keep:
                part.discard()  # a part that failed is removed (a full disk gets its space back)
        with self.watch.calling(f"placing {where}"):
            try:
                placed = self.dest.place(part, c.relpath, c.filesize)
            except Unsafe as exc:
                part.discard()
                return Outcome(plan.ERROR, written, str(exc))
        if placed.status == plan.RESTORED and (placed.final is None or placed.final.size != c.filesize):
            return Outcome(plan.ERROR, written, f"after placing it the file is {placed.final}", placed.quarantined)
        return Outcome(placed.status, written, placed.message, placed.quarantined)

    def _prefix_digest(self, part: Part, source: _Source, length: int) -> Any:
        """The content hash of what the part already holds: read back from the part, or (an S3
        upload cannot be read before it completes) from the backup copy it came from."""
        h = hashlib.blake2b(digest_size=32)
        done = 0
        while done < length:
            size = min(CHUNK, length - done)
            data = part.read_at(done, size) if part.readable else self._read(source, done, size)
            if not data:
                break
            h.update(data)
            done += len(data)
        return h

    def _verify(self, part: Part, source: _Source, c: plan.Candidate, digest: Any) -> str | None:
        size = part.size()
        if size != c.filesize:
            return f"copied {size} bytes, Jira expects {c.filesize}"
        if digest is not None and digest.digest() != c.full_hash:
            return "the backup copy's content differs from the hash a pass recorded for this attachment"
        if digest is None and c.head_tail is not None:
            readable: Any = part if part.readable else _Reading(self, source)
            head_tail, _, _ = hasher.digest(readable, size, hasher.HEAD_TAIL, Pacer(0))
            if head_tail != c.head_tail:
                return "the backup copy's first and last 64 KiB differ from those a pass recorded"
        return None


class _Reading:
    """The backup copy as the hasher reads it (read_at only), through the breaker."""

    def __init__(self, copier: Copier, source: _Source):
        self._copier, self._source = copier, source

    def read_at(self, offset: int, size: int) -> bytes:
        return self._copier._read(self._source, offset, size)
