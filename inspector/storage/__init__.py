"""The Storage seam: what the pipeline may ask of the place Jira keeps attachment files.

A storage answers questions about paths relative to the attachments root with plain data
only: a ``Probe`` for one path, a ``Listing`` of one folder, bytes read at an offset. No
``os.stat_result``, file descriptor or absolute path leaves a backend, so checkers, walkers
and the hasher work unchanged on another kind of storage. Every backend here is read-only:
it never writes, creates or touches anything under the root; restore writes through the
separate ``destination`` seam.

``open_storage(root)`` picks the backend from the root's form: a folder today (``posix``),
``s3://bucket/prefix`` once object storage lands. A backend module provides a class with
the ``Storage`` methods and a ``check_root(text)`` for the configuration.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    from ..config.config import Config
    from .listed import ListingIndex


class Probe(NamedTuple):
    """What storage saw at one path: ``errno`` 0 means it answered. ``mode`` holds the POSIX
    file type and permission bits (object storage reports a regular, readable file);
    ``reason`` the storage's own words for a failure (an S3 error code), shown in the report."""

    errno: int
    mode: int = 0
    uid: int = -1
    gid: int = -1
    size: int = -1
    mtime: int = 0
    dangling_symlink: bool = False
    reason: str = ""
    # Which copy of the file this is, where a restore must tell one copy from the next (a
    # backup rewritten with the same size): mtime in ns, an S3 ETag. Empty on the scan's path.
    version: str = ""


class Entry(NamedTuple):
    """One name in a folder listing."""

    name: str
    is_dir: bool  # following symlinks, as Jira would
    is_symlink: bool
    is_file: bool
    link_key: tuple[int, int] | None  # identity of a symlinked folder, to break loops


class Listing(NamedTuple):
    """A folder's entries sorted by name, or the errno that prevented listing it; ``folder``
    is the folder's own probe where the storage has it at no extra cost (or was refused).
    ``files``: where the caller asked for them apart, the names of the plain files (regular,
    not links), sorted, which are then not in ``entries`` (an issue folder's attachments: a
    name each instead of an ``Entry``)."""

    errno: int
    entries: list[Entry]
    folder: Probe | None = None
    files: list[str] | None = None


@dataclass(frozen=True)
class Capabilities:
    """Which checks a storage can answer, and how it is best asked.

    ``ownership``: owner, group and mode exist and are evaluated for the Jira account (POSIX);
    object storage has none of those, and only an access denied there is a permissions finding.
    ``settles_from_listing``: a listing is the cheap way to learn about many files at once
    (object storage: 1,000 objects a request); the walk then runs before the checks, lists each
    project/bucket folder flat (``walk``), and checkers settle rows from what it stored."""

    ownership: bool
    settles_from_listing: bool = False


class Reader(Protocol):
    """An open file or object for hashing its content."""

    probe: Probe  # what it is now, to tell a file changed since the scan

    def read_at(self, offset: int, size: int) -> bytes: ...

    def close(self) -> None: ...


class Storage(Protocol):
    capabilities: Capabilities

    def describe(self) -> str:
        """The root as shown to people."""
        ...

    def probe(self, rel: str) -> Probe:
        """The path, following symlinks ("" is the root)."""
        ...

    def file(self, rel: str, failed: Probe | None = None) -> Probe:
        """An attachment's file: like ``probe``, telling a dangling symlink from nothing at
        all. ``failed`` is a probe of ``rel`` the caller already made."""
        ...

    def folder(self, rel: str) -> Probe:
        """A folder on the way to a file: whether it exists, and may be entered."""
        ...

    def recheck(self, rel: str, absent: Probe) -> Probe:
        """A last look at a file every look so far found absent (``absent``). Object storage
        settles rows from listings made before: it asks the object itself, which may have come
        after the listing, or may be denied to these credentials. POSIX: ``absent`` itself."""
        ...

    def folder_probes(self, folder: str) -> Iterator[tuple[str, Probe]]:
        """(rel, Probe) of the root and each folder down to ``folder``, lazily and top first,
        so nothing below a gap is looked at."""
        ...

    def names(self, folder: str) -> set[str] | int:
        """The names in a folder, or the errno that prevented listing it."""
        ...

    def listing(self, folder: str, with_probe: bool = False, files_apart: bool = False) -> Listing:
        """The folder's entries, and with ``with_probe`` its own probe where it comes cheap.
        ``files_apart``: plain files as names in ``Listing.files`` where the backend can tell
        them from the listing alone (others may ignore it)."""
        ...

    def entry_size(self, rel: str) -> int:
        """Size of the entry itself (a symlink is not followed), or -1 when it is gone."""
        ...

    def open(self, rel: str, known: Probe | None = None) -> Reader:
        """Open for reading content; raises OSError like ``open`` would. ``known``: a probe of
        ``rel`` the caller just made (a restore's lookup), so a backend that would ask the
        storage again first (a HEAD, an SFTP stat) need not."""
        ...


class FlatStorage(Storage, Protocol):
    """A storage whose capabilities say ``settles_from_listing``."""

    def walk(self, folder: str) -> Iterator[tuple[str, int, int]]:
        """(relpath, size, mtime) of everything under ``folder``, flat, in key order."""
        ...


def probes_down(probe: Callable[[str], Probe], folder: str) -> Iterator[tuple[str, Probe]]:
    """``folder_probes`` of a storage whose folders are probed one path at a time: the root,
    then each folder down to ``folder``, lazily, so nothing below a gap is looked at."""
    yield "", probe("")
    parts = folder.split("/")
    for i in range(1, len(parts) + 1):
        rel = "/".join(parts[:i])
        yield rel, probe(rel)


def text_path(rel: str) -> str:
    """A relative path as storable text: bytes a name could not decode (a POSIX name read with
    surrogateescape) become visible \\x escapes; any other text is unchanged (ASCII, nearly
    every path, without a round trip through bytes: the walk asks for every folder)."""
    return rel if rel.isascii() else os.fsencode(rel).decode("utf-8", "backslashreplace")


def scheme(root: str) -> str:
    """``s3`` for ``s3://bucket/prefix``; "" for a folder."""
    head, sep, _ = root.partition("://")
    return head.lower() if sep and head[:1].isalpha() and head.isalnum() else ""


# scheme -> the module of its backend; each has check_root(text) and open_<name>(root, config, listed).
BACKENDS = {"": "posix", "s3": "s3", "https": "cloud", "http": "cloud"}


def _backend(root: str) -> tuple[ModuleType, str]:
    name = BACKENDS[scheme(root)]
    return importlib.import_module(f"{__name__}.{name}"), name


def capabilities(root: str) -> Capabilities:
    """What the backend of ``root`` can answer, without connecting to it."""
    module, _ = _backend(root)
    found: Capabilities = module.CAPABILITIES
    return found


def open_storage(config: Config, listed: ListingIndex | None = None) -> Storage:
    """The backend for the configured attachments root. ``listed``: what the walk stored, for
    a backend that settles rows from listings (the others ignore it)."""
    module, name = _backend(config.attachments_root)
    storage: Storage = getattr(module, f"open_{name}")(config.attachments_root, config, listed)
    return storage


def check_root(text: str) -> tuple[str, str | None, Probe | None]:
    """(normalized root, problem or None, the root's probe) for the configuration, from the
    backend the root's form selects."""
    if scheme(text) not in BACKENDS:
        kinds = ", ".join(["a folder", *(f"{s}://" for s, name in BACKENDS.items() if s and name != "cloud")])
        return text, f"'{scheme(text)}://' storage is not supported (supported: {kinds})", None
    module, _ = _backend(text)
    checked: tuple[str, str | None, Probe | None] = module.check_root(text)
    return checked
