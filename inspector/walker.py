"""Walker stage: lists every file under the attachments root so orphans can be found.

It reads names and entry types only (one ``scandir`` per folder, no stat per file); the few
orphans get their size afterwards. On slow storage the issue folders of a bucket are listed
by many threads at once. Units of work are the ``<KEY>/<bucket>`` folders, handed out in
sorted order to INSPECTOR_WALKERS processes (``Claims``); the walk is checkpointed at the
last unit before which every unit is stored, so a resumed walk skips what it already stored.
Thumbnails (``<issue folder>/thumbs/``) are not attachments. The walkers also judge every
issue folder for the Jira account (see ``Walk._judge``).

Issue folders are listed under the same watchdog as the checks: a listing that hangs (a dead
NFS server) records that folder as unlistable after INSPECTOR_STAT_TIMEOUT and the walk goes on.
"""

from __future__ import annotations

import bisect
import contextlib
import errno
import logging
import os
import threading
from collections.abc import Iterator

from . import rules
from .config import Config, Identity
from .stages import stage
from .storage_fs import Listed, probe_of, scan_dir, scan_dir_stat, text_path
from .watchdog import MAX_HUNG, Watchdog

log = logging.getLogger("inspector.walker")

Entry = tuple[str, int | None, int | None, str]  # relpath, claimed id, size, kind
# A local listing takes tens of microseconds; an NFS one a few round trips of a millisecond.
SLOW_FOLDER_SECONDS = 300e-6
PROBE_FOLDERS = 8


def _scan(path: str) -> list[Listed] | int:
    try:
        return sorted(scan_dir(path), key=lambda e: e.name)
    except OSError as exc:
        return exc.errno or 0


class Walk:
    def __init__(
        self, root: str, threads: int = 1, timeout: float = 30.0, max_hung: int = MAX_HUNG,
        identity: Identity | None = None,
    ):  # fmt: skip
        self.root = os.fspath(root)
        self._seen_links: set[tuple[int, int]] = set()
        self._threads = threads
        self.watchdog = Watchdog(self._list, self._hung, timeout, max_hung, calls="listed folders")
        self.identity = identity
        self._blocked: list[tuple[str, int, str, str]] = []
        self._blocked_lock = threading.Lock()  # listing threads add, the stage's loop takes
        self._subs: dict[tuple[str, str], tuple[Listed, bool]] = {}

    def take_blocked(self) -> list[tuple[str, int, str, str]]:
        """Issue folders found so far that the Jira account cannot enter:
        (project key, issue number, relpath, detail), each handed out once."""
        with self._blocked_lock:
            taken, self._blocked = self._blocked, []
        return taken

    def _judge(self, rel: str, st: os.stat_result) -> None:
        """Note an issue folder Jira cannot enter; rows resolving there get this verdict in the
        report (the checkers do not stat issue folders: one fstat here replaces one stat per row)."""
        if self.identity is None or rules.can_enter(st.st_mode, st.st_uid, st.st_gid, self.identity):
            return
        issue = rules.folder_issue(rel)
        if issue is None:
            return
        verdict, _ = rules.folder_verdict([(rel, probe_of(st))], self.identity)
        if verdict is not None:
            with self._blocked_lock:
                self._blocked.append((*issue, text_path(rel), verdict.detail))

    def _scan_issue(self, rel: str) -> list[Listed] | int:
        path = f"{self.root}/{rel}"
        try:
            listed, st = scan_dir_stat(path)
        except OSError as exc:
            if exc.errno == errno.EACCES:  # we may not list it; its mode still says why Jira cannot
                with contextlib.suppress(OSError):
                    self._judge(rel, os.stat(path))
            return exc.errno or 0
        self._judge(rel, st)
        return sorted(listed, key=lambda e: e.name)

    def _issue_folder(self, rel: str) -> list[Entry]:
        return list(self.tree(rel, 3))

    def _list(self, folders: list[str], out: list, job) -> None:
        for rel in folders:
            if job.cancelled:
                break
            out.append(self._issue_folder(rel))

    @staticmethod
    def _hung(rel: str, seconds: float) -> list[Entry]:
        log.warning("listing %s did not answer within %g s: recorded as unlistable", rel, seconds)
        return [(text_path(rel), None, None, "unlistable")]

    def _listing(self, rel: str) -> list[Listed] | int:
        """The root, a project or a bucket folder, listed under the watchdog like the issue
        folders (their own sub-folders are listed inside the issue folder's guarded call)."""
        [[listed]] = self.watchdog.run([[rel]], self._list_top, self._top_hung)
        return listed

    def _list_top(self, rels: list[str], out: list, job) -> None:
        for rel in rels:
            out.append(_scan(f"{self.root}/{rel}" if rel else self.root))

    @staticmethod
    def _top_hung(rel: str, seconds: float) -> int:
        log.warning("listing %s did not answer within %g s: recorded as unlistable", rel or "/", seconds)
        return errno.ETIMEDOUT

    def bucket(self, rel: str) -> Iterator[Entry]:
        """A ``<KEY>/<bucket>`` folder. Its issue folders are listed in this thread while
        listings are fast, and many at a time once they turn out slow (NFS round trips)."""
        listed = self._listing(rel)
        if isinstance(listed, int):
            yield text_path(rel), None, None, "unlistable"
            return
        folders = []
        for entry in listed:
            if self._enter(entry):
                folders.append(f"{rel}/{entry.name}")
            else:
                yield text_path(f"{rel}/{entry.name}"), None, None, self._kind(entry)
        # One bucket holds at most 10,000 issue folders: their entries fit in memory at once.
        for entries in self.watchdog.run_adaptive(folders, self._threads, PROBE_FOLDERS, SLOW_FOLDER_SECONDS):
            yield from entries

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
        listed = self._scan_issue(rel) if depth == 3 else _scan(f"{self.root}/{rel}" if rel else self.root)
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

    def units(
        self, after: tuple[str, str] | None, claims: Claims | None = None, index: int = 0
    ) -> Iterator[tuple[tuple[int, tuple[str, str]] | None, Iterator[Entry]]]:
        """((seq, unit), entries) for each project/bucket folder after ``after``, in order;
        None = loose files. With ``claims``, several walkers share the folders: each walks the
        next one nobody has claimed yet, and only walker ``index`` 0 reports loose files."""
        listed = self._listing("")
        if isinstance(listed, int):
            if index == 0:
                yield None, iter([("", None, None, "unlistable")])
            return
        units: list[tuple[str, str]] = []
        for top in listed:
            if not self._enter(top):
                if index == 0:
                    yield None, iter([(text_path(top.name), None, None, self._kind(top))])
                continue
            second = self._listing(top.name)
            if isinstance(second, int):
                if index == 0:
                    yield None, iter([(text_path(top.name), None, None, "unlistable")])
                continue
            for sub in second:
                # Whether to enter each unit (a symlinked one once only) is decided here, for all
                # units in order, so that every walker decides alike whoever claims which, and a
                # resumed walk as the first one did.
                unit = (top.name, sub.name)
                entered = self._enter(sub)
                if after is None or unit > after:
                    units.append(unit)
                    self._subs[unit] = (sub, entered)
        claims = claims or Claims.local(after)
        while (claimed := claims.next(units)) is not None:
            _, unit = claimed
            rel = "/".join(unit)
            sub, entered = self._subs.pop(unit)
            if entered:
                yield claimed, self.bucket(rel)
            else:
                yield claimed, iter([(text_path(rel), None, None, self._kind(sub))])


class Claims:
    """Project/bucket folders handed out one at a time, in sorted order, to walkers in several
    processes: each takes the first folder of its own listing after the last one claimed, and
    claims are numbered, so the writer can checkpoint the walk at the last folder before which
    every claimed one is stored (``writer.CursorTracker``). Picklable for ``spawn``."""

    def __init__(self, lock, seq, last):
        self._lock, self._seq, self._last = lock, seq, last

    @classmethod
    def shared(cls, ctx, after: tuple[str, str] | None) -> Claims:
        claims = cls(ctx.Lock(), ctx.Value("q", 0, lock=False), ctx.Array("c", _MAX_UNIT, lock=False))
        claims._store(after)
        return claims

    @classmethod
    def local(cls, after: tuple[str, str] | None) -> Claims:
        claims = cls(threading.Lock(), _Box(0), _Box(b""))
        claims._store(after)
        return claims

    def _store(self, unit: tuple[str, str] | None) -> None:
        # "/" cannot occur in a folder name; surrogates keep undecodable bytes round-tripping.
        self._last.value = "/".join(unit).encode("utf-8", "surrogateescape") if unit else b""

    def next(self, units: list[tuple[str, str]]) -> tuple[int, tuple[str, str]] | None:
        """The first of ``units`` (sorted, as listings are) after the last one claimed. Found by
        bisection: a scan of the list for every claim cost a walker 140 s of CPU when a root one
        level too deep made each issue folder a unit (260,000 of them)."""
        with self._lock:
            raw = self._last.value
            last = tuple(raw.decode("utf-8", "surrogateescape").split("/", 1)) if raw else None
            at = 0 if last is None else bisect.bisect_right(units, last)
            if at == len(units):
                return None
            unit = units[at]
            self._store(unit)
            seq = self._seq.value
            self._seq.value = seq + 1
        return seq, unit


class _Box:
    def __init__(self, value):
        self.value = value


_MAX_UNIT = 4096  # bytes of one "<project>/<bucket>" name (a file name is at most 255)


@stage("walker")
def run(config: Config, pass_id: int, after: tuple[str, str] | None, result_q, claims: Claims, index: int) -> None:
    """One of INSPECTOR_WALKERS walkers: claims project/bucket folders until none is left.
    A unit's last message carries (claim number, unit) for the writer's walk checkpoint."""
    walk = Walk(config.attachments_root, config.checker_threads, config.stat_timeout, identity=config.identity)
    batch: list[Entry] = []
    for claimed, entries in walk.units(after, claims, index):
        for entry in entries:
            batch.append(entry)
            if len(batch) >= config.batch_size:
                result_q.put(("disk", batch, None, walk.take_blocked()))
                batch = []
        if claimed is not None:
            result_q.put(("disk", batch, claimed, walk.take_blocked()))
            batch = []
    result_q.put(("disk", batch, None, walk.take_blocked()))
    result_q.put(("walk_done",))
