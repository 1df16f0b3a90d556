"""File-system storage: how a checker looks at Jira's attachments folder on local disk or NFS.

A storage object answers questions about paths relative to the attachments root; a future
object-store backend answers the same questions with HEAD/LIST/GET requests. It stats, lists
and (for --hash) reads: nothing under the root is ever opened for writing, created or touched.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from .model import Probe


def text_path(rel: str) -> str:
    """A relative path as storable text: undecodable bytes become visible \\x escapes."""
    return os.fsencode(rel).decode("utf-8", "backslashreplace")


_NOATIME = getattr(os, "O_NOATIME", 0)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_CLOEXEC


def open_noatime(path: str, flags: int) -> int:
    """A read-only fd that does not update the atime where the kernel allows (we own the
    file, or we are root); elsewhere a plain open. Raises OSError like open() would."""
    if _NOATIME:
        try:
            return os.open(path, flags | _NOATIME)
        except PermissionError as exc:
            if exc.errno != 1:  # EPERM means "not yours for O_NOATIME"; EACCES is a real denial
                raise
    return os.open(path, flags)


def open_dir(path: str) -> int:
    """A folder fd for listing, without touching its atime."""
    return open_noatime(path, _DIR_FLAGS)


class Listed(NamedTuple):
    name: str
    is_dir: bool  # following symlinks, as Jira would
    is_symlink: bool
    is_file: bool
    link_key: tuple[int, int] | None  # (dev, inode) of a symlinked folder, to break loops


def _listed(entry: os.DirEntry) -> Listed:
    # DirEntry.is_dir()/is_file() follow symlinks and raise for a link loop (ELOOP) or an
    # unreachable target: such an entry is simply neither, it must not fail the whole listing.
    try:
        is_dir = entry.is_dir()
    except OSError:
        is_dir = False
    link = entry.is_symlink()
    key = None
    if is_dir and link:
        try:
            st = entry.stat()
            key = (st.st_dev, st.st_ino)
        except OSError:
            is_dir = False
    try:
        is_file = not is_dir and entry.is_file()
    except OSError:
        is_file = False
    return Listed(entry.name, is_dir, link, is_file, key)


def scan_dir(path: str) -> list[Listed]:
    """A folder's entries without touching its atime. Everything an entry needs is read while
    the folder's fd is open (entries of an fd-based scandir resolve against that fd)."""
    return scan_dir_stat(path)[0]


def scan_dir_stat(path: str) -> tuple[list[Listed], os.stat_result]:
    """``scan_dir`` and the folder's own stat (following symlinks), taken from the open fd:
    no second path lookup, which on NFS would be another round trip."""
    fd = open_dir(path)
    try:
        st = os.fstat(fd)
        with os.scandir(fd) as it:
            return [_listed(entry) for entry in it], st
    finally:
        os.close(fd)


def probe_of(st: os.stat_result) -> Probe:
    return Probe(0, st.st_mode, st.st_uid, st.st_gid, st.st_size, int(st.st_mtime))


class FileSystemStorage:
    def __init__(self, root: str | Path):
        self.root = os.fspath(root)

    def _path(self, rel: str) -> str:
        return f"{self.root}/{rel}" if rel else self.root

    def stat(self, rel: str) -> os.stat_result:
        """os.stat of a path under the root, following symlinks; raises OSError."""
        return os.stat(f"{self.root}/{rel}")

    def probe(self, rel: str) -> Probe:
        try:
            return probe_of(os.stat(self._path(rel)))
        except OSError as exc:
            return Probe(exc.errno or 0)

    def folder_probes(self, folder: str) -> Iterator[tuple[str, Probe]]:
        """The root and each folder down to ``folder``, lazily, so nothing below a gap is stat'ed."""
        yield "", self.probe("")
        parts = folder.split("/")
        for i in range(1, len(parts) + 1):
            rel = "/".join(parts[:i])
            yield rel, self.probe(rel)

    def file(self, rel: str, probe: Probe | None = None) -> Probe:
        """Stat following symlinks (Jira follows them); a dangling link is reported as such.
        ``probe`` is a failed stat the caller already made, to avoid repeating it."""
        probe = probe or self.probe(rel)
        if probe.errno == 2:  # ENOENT: tell a dangling symlink from nothing at all
            try:
                if stat.S_ISLNK(os.lstat(self._path(rel)).st_mode):
                    return probe._replace(dangling_symlink=True)
            except OSError:
                pass
        return probe

    def open(self, rel: str) -> int:
        """A read-only fd on a file under the root (for hashing its content), atime untouched."""
        return open_noatime(self._path(rel), _FILE_FLAGS)

    def listing(self, rel: str) -> set[str] | int:
        """Names in a folder, or the errno that prevented listing it."""
        try:
            return {entry.name for entry in scan_dir(self._path(rel))}
        except OSError as exc:
            return exc.errno or 0
