"""POSIX storage: Jira's attachments folder on a local disk or an NFS home.

The only module that touches the attachments tree: ``stat``, ``lstat``, ``scandir`` on a
folder fd and ``pread`` for hashing. It opens folders and files read-only with ``O_NOATIME``
where the kernel allows, so a scan changes nothing under the root, not even atimes. What it
returns is plain data (``Probe``, ``Listing``, bytes).
"""

from __future__ import annotations

import errno as errnos
import os
import stat
from collections.abc import Callable, Iterator

from . import Capabilities, Entry, Listing, Probe, probes_down

_NOATIME = getattr(os, "O_NOATIME", 0)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_CLOEXEC
CAPABILITIES = Capabilities(ownership=True)
_new = tuple.__new__


def open_noatime(path: str, flags: int) -> int:
    """A read-only fd that does not update the atime where the kernel allows (we own the
    file, or we are root); elsewhere a plain open. Raises OSError like open() would."""
    if _NOATIME:
        try:
            return os.open(path, flags | _NOATIME)
        except PermissionError as exc:
            if exc.errno != errnos.EPERM:  # EPERM: "not yours for O_NOATIME"; EACCES is a real denial
                raise
    return os.open(path, flags)


def _entry(entry: os.DirEntry) -> Entry:
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
    return Entry(entry.name, is_dir, link, is_file, key)


def probe_of(st: os.stat_result) -> Probe:
    return Probe(0, st.st_mode, st.st_uid, st.st_gid, st.st_size, int(st.st_mtime))


def _by_name(entry: Entry) -> str:
    return entry.name


def _scan(path: str, files_apart: bool = False) -> tuple[list[Entry], os.stat_result, list[str] | None]:
    """A folder's entries and its own stat, both from one fd opened without touching its atime
    (entries of an fd-based scandir resolve against that fd; no second path lookup, which on
    NFS would be another round trip). ``files_apart``: regular files (not links) as names."""
    fd = open_noatime(path, _DIR_FLAGS)
    try:
        st = os.fstat(fd)
        with os.scandir(fd) as it:
            if not files_apart:
                return sorted(map(_entry, it), key=_by_name), st, None
            files, others = [], []
            for entry in it:
                # The entry's type from the listing itself (d_type): no call per file. Where the
                # file system leaves it unknown, is_file asks with an lstat; one that fails is
                # left to _entry, as any other odd entry.
                try:
                    plain = entry.is_file(follow_symlinks=False)
                except OSError:
                    plain = False
                if plain:
                    files.append(entry.name)
                else:
                    others.append(_entry(entry))
            files.sort()
            others.sort(key=_by_name)
            return others, st, files
    finally:
        os.close(fd)


class PosixReader:
    """An open file for hashing: ``pread`` at offsets, the atime untouched."""

    def __init__(self, path: str):
        self._fd = open_noatime(path, _FILE_FLAGS)
        try:
            self.probe = probe_of(os.fstat(self._fd))
        except OSError:
            os.close(self._fd)
            raise

    def read_at(self, offset: int, size: int) -> bytes:
        return os.pread(self._fd, size, offset)

    def close(self) -> None:
        os.close(self._fd)


class PosixStorage:
    capabilities = CAPABILITIES

    def __init__(self, root: str | os.PathLike[str]):
        self.root = os.fspath(root)

    def describe(self) -> str:
        return self.root

    def _path(self, rel: str) -> str:
        return f"{self.root}/{rel}" if rel else self.root

    def probe(self, rel: str) -> Probe:
        try:
            st = os.stat(self._path(rel))
        except OSError as exc:
            return Probe(exc.errno or 0)
        # The checker's one call per row: built as a bare tuple of Probe's fields (Probe's own
        # constructor, with its defaults, costs twice as much).
        return _new(Probe, (0, st.st_mode, st.st_uid, st.st_gid, st.st_size, int(st.st_mtime), False, "", ""))

    def folder(self, rel: str) -> Probe:
        return self.probe(rel)

    def recheck(self, rel: str, absent: Probe) -> Probe:
        return absent  # the stat that found it absent was the file itself

    def folder_probes(self, folder: str) -> Iterator[tuple[str, Probe]]:
        return probes_down(self.probe, folder)

    def file(self, rel: str, failed: Probe | None = None) -> Probe:
        probe = failed or self.probe(rel)
        if probe.errno == errnos.ENOENT:  # tell a dangling symlink from nothing at all
            try:
                if stat.S_ISLNK(os.lstat(self._path(rel)).st_mode):
                    return probe._replace(dangling_symlink=True)
            except OSError:
                pass
        return probe

    def names(self, folder: str) -> set[str] | int:
        listed = self.listing(folder)
        return listed.errno or {entry.name for entry in listed.entries}

    def listing(self, folder: str, with_probe: bool = False, files_apart: bool = False) -> Listing:
        path = self._path(folder)
        try:
            entries, st, files = _scan(path, files_apart)
        except OSError as exc:
            code = exc.errno or 0
            if with_probe and code == errnos.EACCES:  # we may not list it; its mode still says why
                try:
                    return Listing(code, [], probe_of(os.stat(path)))
                except OSError:
                    pass
            return Listing(code, [])
        return Listing(0, entries, probe_of(st) if with_probe else None, files)

    def entry_size(self, rel: str) -> int:
        try:
            return os.lstat(self._path(rel)).st_size
        except (OSError, ValueError):
            return -1

    def open(self, rel: str, known: Probe | None = None) -> PosixReader:  # fstat of the fd is free
        return PosixReader(self._path(rel))

    def acl(self, rel: str) -> bytes | None:
        """The access ACL of ``rel`` (following links, as ``probe``), or None where it has none
        or the file system keeps none. Asked only where an ACL can change the verdict."""
        try:
            return os.getxattr(self._path(rel), "system.posix_acl_access")
        except OSError:  # ENODATA: no ACL; ENOTSUP: none on this file system
            return None


def check_root(text: str) -> tuple[str, str | None, Probe | None]:
    """(resolved root, problem or None, the root's probe): a root must be an existing folder."""
    try:
        st = os.stat(text)
    except OSError as exc:
        return text, f"cannot access '{text}': {exc.strerror}", None
    if not stat.S_ISDIR(st.st_mode):
        return text, f"'{text}' is not a folder", None
    return os.path.realpath(text), None, probe_of(st)


def open_posix(root: str, config: object, listed: object) -> PosixStorage:
    """The storage of a configuration (listings settle nothing here: ``listed`` is unused)."""
    return PosixStorage(root)


def descend(top: str, parts: list[str], missing: Callable[[int, str], int] | None = None) -> int:
    """A descriptor of ``top``/parts: ``top`` as named (the admin's path may be a link), then each
    folder opened below the one above with ``O_NOFOLLOW``, never resolved by path again. A link or
    a file on the way raises ELOOP/ENOTDIR naming the path so far; ``missing(fd, name)`` opens a
    folder that is not there (else FileNotFoundError)."""
    fd = os.open(top, _DIR_FLAGS)
    try:
        for i, name in enumerate(parts):
            try:
                below = os.open(name, _DIR_FLAGS | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
            except FileNotFoundError:
                if missing is None:
                    raise
                below = missing(fd, name)
            except OSError as exc:
                raise OSError(exc.errno, exc.strerror, "/".join(parts[: i + 1])) from None
            os.close(fd)
            fd = below
    except BaseException:
        os.close(fd)
        raise
    return fd


class BackupFolder(PosixStorage):
    """A folder backup, read without ever leaving it: an ``rsync -a`` copy of the live tree keeps
    the links the Jira account planted there (``<id> -> /etc/shadow``), and a restore running as
    root must not copy the host's files into the tree. Each folder on the way is opened with
    ``O_NOFOLLOW`` below the one above, the file is looked at with ``lstat`` and opened with
    ``O_NOFOLLOW``: a link where a folder or a file should be is reported, never followed."""

    def _at(self, rel: str) -> tuple[int, str]:
        parts = rel.split("/") if rel else []
        if any(p in ("", ".", "..") for p in parts):
            raise OSError(errnos.EINVAL, f"'{rel}' is not a plain relative path")
        return descend(self.root, parts[:-1]), parts[-1] if parts else "."

    def probe(self, rel: str) -> Probe:
        try:
            folder, name = self._at(rel)
        except OSError as exc:
            return _contained_failure(exc)
        try:
            st = os.stat(name, dir_fd=folder, follow_symlinks=False)
        except OSError as exc:
            return Probe(exc.errno or errnos.EIO)
        finally:
            os.close(folder)
        probe = probe_of(st)._replace(version=str(st.st_mtime_ns))
        if stat.S_ISLNK(st.st_mode):
            return probe._replace(reason="a symbolic link in the backup: not followed")
        return probe

    def listing(self, folder: str, with_probe: bool = False, files_apart: bool = False) -> Listing:
        try:
            fd = descend(self.root, folder.split("/") if folder else [])
        except OSError as exc:
            return Listing(_contained_failure(exc).errno, [])
        try:
            st = os.fstat(fd)
            with os.scandir(fd) as it:
                entries = sorted((_entry(e) for e in it), key=lambda e: e.name)
        except OSError as exc:
            return Listing(exc.errno or errnos.EIO, [])
        finally:
            os.close(fd)
        return Listing(0, entries, probe_of(st) if with_probe else None)

    def open(self, rel: str, known: Probe | None = None) -> PosixReader:
        folder, name = self._at(rel)
        try:
            fd = os.open(name, _FILE_FLAGS | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder)
        finally:
            os.close(folder)
        reader = PosixReader.__new__(PosixReader)
        reader._fd = fd
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise OSError(errnos.EINVAL, f"{rel} in the backup is not a regular file")
        reader.probe = probe_of(st)._replace(version=str(st.st_mtime_ns))
        return reader


def _contained_failure(exc: OSError) -> Probe:
    if exc.errno in (errnos.ELOOP, errnos.ENOTDIR):
        return Probe(errnos.ELOOP, reason="a symbolic link (or a file) where the backup should have a folder: "
                                          "not followed")  # fmt: skip
    return Probe(exc.errno or errnos.EIO)
