"""Walker stage: lists every file under the attachments root so orphans can be found.

It reads names and entry types only (one ``scandir`` per folder, no stat per file); the few
orphans get their size afterwards. Units of work are the ``<KEY>/<bucket>`` folders in sorted
order, and the last finished unit is checkpointed with the entries, so a resumed walk skips
what it already stored. Thumbnails (``<issue folder>/thumbs/``) are not attachments.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from . import rules
from .config import Config
from .stages import stage
from .storage_fs import Listed, scan_dir, text_path

Entry = tuple[str, int | None, int | None, str]  # relpath, claimed id, size, kind


def _scan(path: str) -> list[Listed] | int:
    try:
        return sorted(scan_dir(path), key=lambda e: e.name)
    except OSError as exc:
        return exc.errno or 0


class Walk:
    def __init__(self, root: str):
        self.root = os.fspath(root)
        self._seen_links: set[tuple[int, int]] = set()

    def _enter(self, entry: Listed) -> bool:
        """Folders are followed, symlinked ones once only (Jira follows them; loops must not)."""
        if not entry.is_dir:
            return False
        if entry.link_key is not None:
            if entry.link_key in self._seen_links:
                return False
            self._seen_links.add(entry.link_key)
        return True

    @staticmethod
    def _kind(entry: Listed) -> str:
        return "symlink" if entry.is_symlink else "file" if entry.is_file else "other"

    def tree(self, rel: str, depth: int) -> Iterator[Entry]:
        """Everything below ``rel`` (depth = number of parts in rel)."""
        listed = _scan(f"{self.root}/{rel}" if rel else self.root)
        if isinstance(listed, int):
            yield text_path(rel), None, None, "unlistable"
            return
        for entry in listed:
            child = f"{rel}/{entry.name}" if rel else entry.name
            if self._enter(entry):
                if depth == 3 and entry.name == rules.THUMBS:
                    continue
                yield from self.tree(child, depth + 1)
            else:
                claimed = rules.claimed_id(entry.name) if depth == 3 else None
                yield text_path(child), claimed, None, self._kind(entry)

    def units(self, after: tuple[str, str] | None) -> Iterator[tuple[tuple[str, str] | None, Iterator[Entry]]]:
        """(unit, entries) for each project/bucket folder after ``after``; unit None = loose files."""
        listed = _scan(self.root)
        if isinstance(listed, int):
            yield None, iter([("", None, None, "unlistable")])
            return
        for top in listed:
            if not self._enter(top):
                yield None, iter([(text_path(top.name), None, None, self._kind(top))])
                continue
            second = _scan(f"{self.root}/{top.name}")
            if isinstance(second, int):
                yield None, iter([(text_path(top.name), None, None, "unlistable")])
                continue
            for sub in second:
                unit = (top.name, sub.name)
                if after is not None and unit <= after:
                    continue
                rel = f"{top.name}/{sub.name}"
                if self._enter(sub):
                    yield unit, self.tree(rel, 2)
                else:
                    yield unit, iter([(text_path(rel), None, None, self._kind(sub))])


@stage("walker")
def run(config: Config, pass_id: int, after: tuple[str, str] | None, result_q) -> None:
    walk = Walk(config.attachments_root)
    batch: list[Entry] = []
    for unit, entries in walk.units(after):
        for entry in entries:
            batch.append(entry)
            if len(batch) >= config.batch_size:
                result_q.put(("disk", batch, None))
                batch = []
        if unit is not None:
            result_q.put(("disk", batch, unit))
            batch = []
    result_q.put(("disk", batch, None))
    result_q.put(("walk_done",))
