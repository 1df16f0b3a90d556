"""File-system storage: how a checker looks at Jira's attachments folder on local disk or NFS.

A storage object answers questions about paths relative to the attachments root; a future
object-store backend answers the same questions with HEAD/LIST requests. It only stats and
lists: nothing under the root is ever opened for writing, created or touched.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from .model import Probe

# Folders are shared by many rows; caching their stat keeps folder work near one stat per
# folder per checker. The bound keeps memory flat on instances with millions of issues.
_FOLDER_CACHE_LIMIT = 50_000


def text_path(rel: str) -> str:
    """A relative path as storable text: undecodable bytes become visible \\x escapes."""
    return os.fsencode(rel).decode("utf-8", "backslashreplace")


def _probe(st: os.stat_result) -> Probe:
    return Probe(0, st.st_mode, st.st_uid, st.st_gid, st.st_size, int(st.st_mtime))


class FileSystemStorage:
    def __init__(self, root: str | Path):
        self.root = os.fspath(root)
        self._folders: dict[str, Probe] = {}

    def _path(self, rel: str) -> str:
        return f"{self.root}/{rel}" if rel else self.root

    def _stat(self, rel: str) -> Probe:
        try:
            return _probe(os.stat(self._path(rel)))
        except OSError as exc:
            return Probe(exc.errno or 0)

    def folder(self, rel: str) -> Probe:
        probe = self._folders.get(rel)
        if probe is None:
            if len(self._folders) >= _FOLDER_CACHE_LIMIT:
                self._folders.clear()
            probe = self._folders[rel] = self._stat(rel)
        return probe

    def folder_probes(self, parts: tuple[str, ...]) -> Iterator[tuple[str, Probe]]:
        """The root and each folder down to ``parts``, lazily, so nothing below a gap is stat'ed."""
        rel = ""
        yield rel, self.folder(rel)
        for part in parts:
            rel = f"{rel}/{part}" if rel else part
            yield rel, self.folder(rel)

    def file(self, rel: str) -> Probe:
        """Stat following symlinks (Jira follows them); a dangling link is reported as such."""
        probe = self._stat(rel)
        if probe.errno == 2:  # ENOENT: tell a dangling symlink from nothing at all
            try:
                if stat.S_ISLNK(os.lstat(self._path(rel)).st_mode):
                    return probe._replace(dangling_symlink=True)
            except OSError:
                pass
        return probe

    def listing(self, rel: str) -> set[str] | int:
        """Names in a folder, or the errno that prevented listing it."""
        try:
            return set(os.listdir(self._path(rel)))
        except OSError as exc:
            return exc.errno or 0
