"""Walker stage: lists every file under the attachments root so orphans can be found.

It reads names and entry types only (one listing per folder, no probe per file); the few
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
import errno
import logging
import threading
from collections.abc import Iterable, Iterator
from typing import cast

from ...config.config import Config, Identity
from ...jira import layout
from ...runtime.adaptive import Adaptive
from ...runtime.watchdog import MAX_HUNG, Watchdog
from ...storage import Entry, FlatStorage, Listing, Probe, Storage, open_storage, text_path
from .. import verdicts
from ..messages import BlockedFolder, FolderFiles, Unit, WalkDone, Walked, WalkEntry
from ..shards import WHOLE, Shard
from .runtime import stage

log = logging.getLogger("inspector.walker")
# A local listing takes tens of microseconds; an NFS one a few round trips of a millisecond.
SLOW_FOLDER_SECONDS = 300e-6
PROBE_FOLDERS = 8


class Walk:
    def __init__(
        self, storage: Storage, threads: int = 1, timeout: float = 30.0, max_hung: int = MAX_HUNG,
        identity: Identity | None = None, shard: Shard = WHOLE,
    ):  # fmt: skip
        self.storage = storage
        self.shard = shard  # INSPECTOR_SHARDS: the issue folders this walk enters
        self._seen_links: set[tuple[int, int]] = set()
        self.watchdog = Watchdog(self._list, self._hung, timeout, max_hung)
        self.adaptive = Adaptive(self.watchdog, threads, PROBE_FOLDERS, SLOW_FOLDER_SECONDS, "listed folders")
        # Issue folders are judged for the Jira account only where the storage has owners and modes.
        self.identity = identity if storage.capabilities.ownership else None
        self._blocked: list[BlockedFolder] = []
        self._blocked_lock = threading.Lock()  # listing threads add, the stage's loop takes
        self._subs: dict[Unit, tuple[Entry, bool]] = {}

    def take_blocked(self) -> list[BlockedFolder]:
        """Issue folders found so far that the Jira account cannot enter:
        (project key, issue number, relpath, detail), each handed out once."""
        with self._blocked_lock:
            taken, self._blocked = self._blocked, []
        return taken

    def _judge(self, rel: str, probe: Probe | None) -> None:
        """Note an issue folder Jira cannot enter; rows resolving there get this verdict in the
        report (the checkers do not probe issue folders: the listing's own probe here replaces
        one per row)."""
        if self.identity is None or probe is None or probe.errno:
            return
        # An ACL can decide only on a folder the account does not own (verdicts.wants_acl).
        acl_of = getattr(self.storage, "acl", None) if verdicts.wants_acl(probe, self.identity) else None
        if acl_of is None and verdicts.can_enter(probe.mode, probe.uid, probe.gid, self.identity):
            return
        issue = layout.folder_issue(rel)
        if issue is None:
            return
        verdict, _ = verdicts.folder_verdict([(rel, probe)], self.identity, None, acl_of)
        if verdict is not None:
            with self._blocked_lock:
                self._blocked.append((*issue, text_path(rel), verdict.detail))

    def _scan_issue(self, rel: str) -> Listing:
        listed = self.storage.listing(rel, with_probe=self.identity is not None, files_apart=True)
        self._judge(rel, listed.folder)
        return listed

    def _issue_folder(self, rel: str) -> list[WalkEntry | FolderFiles]:
        return list(self.tree(rel, 3))

    def _list(self, folders: list[str], out: list, job) -> None:
        for rel in folders:
            if job.cancelled:
                break
            out.append(self._issue_folder(rel))

    @staticmethod
    def _hung(rel: str, seconds: float) -> list[WalkEntry]:
        log.warning("listing %s did not answer within %g s: recorded as unlistable", rel, seconds)
        return [(text_path(rel), None, None, "unlistable", None)]

    def _listing(self, rel: str) -> Listing:
        """The root, a project or a bucket folder, listed under the watchdog like the issue
        folders (their own sub-folders are listed inside the issue folder's guarded call)."""
        [[listed]] = self.watchdog.run([[rel]], self._list_top, self._top_hung)
        return listed

    def _list_top(self, rels: list[str], out: list, job) -> None:
        for rel in rels:
            out.append(self.storage.listing(rel))

    @staticmethod
    def _top_hung(rel: str, seconds: float) -> Listing:
        log.warning("listing %s did not answer within %g s: recorded as unlistable", rel or "/", seconds)
        return Listing(errno.ETIMEDOUT, [])

    def bucket(self, rel: str) -> Iterator[WalkEntry]:
        """A ``<KEY>/<bucket>`` folder. Its issue folders are listed in this thread while
        listings are fast, and many at a time once they turn out slow (NFS round trips)."""
        if self.storage.capabilities.settles_from_listing:
            yield from self.flat(rel)
            return
        listed = self._listing(rel)
        mine = self.shard.owns_name(rel)  # what lies loose in the bucket folder is its owner's
        if listed.errno:
            if mine:
                yield text_path(rel), None, None, "unlistable", None
            return
        folders = []
        for entry in listed.entries:
            if self._enter(entry):
                if self.shard.owns_name(f"{rel}/{entry.name}"):  # an issue folder: one shard's
                    folders.append(f"{rel}/{entry.name}")
            elif mine:
                yield text_path(f"{rel}/{entry.name}"), None, None, self._kind(entry), None
        # One bucket holds at most 10,000 issue folders: their entries fit in memory at once.
        for entries in self.adaptive.run(folders):
            yield from entries

    def flat(self, rel: str) -> Iterator[WalkEntry]:
        """A project/bucket folder of a storage that lists flat (object storage): every object
        under it with its size and time, a page of up to 1,000 per request, in key order. A
        page is bounded by the storage's own timeouts and retries (it continues after the
        last key it got), so it runs outside the watchdog."""
        storage = cast(FlatStorage, self.storage)
        try:
            for path, size, mtime in storage.walk(rel):
                parts = path.split("/")
                if path.endswith("/") or (len(parts) > 4 and parts[3] == layout.THUMBS):
                    continue  # a zero-byte "folder" marker; Jira's thumbnails
                claimed = layout.claimed_id(parts[3]) if len(parts) == 4 else None
                yield path, claimed, size, "file", mtime
        except OSError as exc:
            log.warning("listing %s failed: %s; recorded as unlistable", rel, exc.strerror or exc)
            yield rel, None, None, "unlistable", None

    def _enter(self, entry: Entry) -> bool:
        """Folders are followed, symlinked ones once only (Jira follows them; loops must not)."""
        if not entry.is_dir:
            return False
        if entry.link_key is not None:
            if entry.link_key in self._seen_links:
                return False
            self._seen_links.add(entry.link_key)
        return True

    @staticmethod
    def _kind(entry: Entry) -> str:
        return "symlink" if entry.is_symlink else "file" if entry.is_file else "other"

    def tree(self, rel: str, depth: int) -> Iterator[WalkEntry | FolderFiles]:
        """Everything below ``rel`` (depth = number of parts in rel): an entry each, but the
        plain files of an issue folder that claim an attachment id (nearly all it holds), which
        come as one ``FolderFiles``: stored as one row, and a tuple less to make per file."""
        listed = self._scan_issue(rel) if depth == 3 else self.storage.listing(rel)
        if listed.errno:
            yield text_path(rel), None, None, "unlistable", None
            return
        if listed.files:
            claiming = []
            for name in listed.files:
                if layout.claimed_id(name) is not None:
                    claiming.append(name)
                else:
                    yield text_path(f"{rel}/{name}"), None, None, "file", None
            if claiming:
                yield text_path(rel), text_path("/".join(claiming))
        for entry in listed.entries:
            child = f"{rel}/{entry.name}" if rel else entry.name
            if self._enter(entry):
                if depth == 3 and entry.name == layout.THUMBS:
                    continue
                yield from self.tree(child, depth + 1)
            else:
                claimed = layout.claimed_id(entry.name) if depth == 3 else None
                yield text_path(child), claimed, None, self._kind(entry), None

    def units(
        self, after: Unit | None, claims: Claims | None = None, index: int = 0
    ) -> Iterator[tuple[tuple[int, Unit] | None, Iterator[WalkEntry]]]:
        """((seq, unit), entries) for each project/bucket folder after ``after``, in order;
        None = loose files. With ``claims``, several walkers share the folders: each walks the
        next one nobody has claimed yet, and only walker ``index`` 0 reports loose files."""
        listed = self._listing("")
        if listed.errno:
            if index == 0 and self.shard.index == 0:  # loose entries: the first walker of shard 0
                yield None, iter([("", None, None, "unlistable", None)])
            return
        units: list[Unit] = []
        for top in listed.entries:
            if not self._enter(top):
                if index == 0 and self.shard.index == 0:  # loose entries: the first walker of shard 0
                    yield None, iter([(text_path(top.name), None, None, self._kind(top), None)])
                continue
            second = self._listing(top.name)
            if second.errno:
                if index == 0 and self.shard.index == 0:  # loose entries: the first walker of shard 0
                    yield None, iter([(text_path(top.name), None, None, "unlistable", None)])
                continue
            for sub in second.entries:
                # Whether to enter each unit (a symlinked one once only) is decided here, for all
                # units in order, so that every walker decides alike whoever claims which, and a
                # resumed walk as the first one did.
                unit = (top.name, sub.name)
                entered = self._enter(sub)
                # Shards list every unit: on a file system each then enters only its own issue
                # folders (bucket); object storage is listed whole by every shard, 1,000 objects a
                # request, since its rows settle from what the shard itself listed.
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
                yield claimed, iter([(text_path(rel), None, None, self._kind(sub), None)])


def entries_of(items: Iterable[WalkEntry | FolderFiles]) -> Iterator[WalkEntry]:
    """What a walk yields as one ``WalkEntry`` per entry, each ``FolderFiles`` split into its
    files again, as the report reads them back (sql/report/folder_files_source.sql)."""
    for item in items:
        if len(item) == 2:
            folder, names = item
            for name in names.split("/"):
                yield f"{folder}/{name}", layout.claimed_id(name), None, "file", None
        else:
            yield item


class Claims:
    """Project/bucket folders handed out one at a time, in sorted order, to walkers in several
    processes: each takes the first folder of its own listing after the last one claimed, and
    claims are numbered, so the writer can checkpoint the walk at the last folder before which
    every claimed one is stored (``writer.CursorTracker``). Picklable for ``spawn``."""

    def __init__(self, lock, seq, last):
        self._lock, self._seq, self._last = lock, seq, last

    @classmethod
    def shared(cls, ctx, after: Unit | None) -> Claims:
        claims = cls(ctx.Lock(), ctx.Value("q", 0, lock=False), ctx.Array("c", _MAX_UNIT, lock=False))
        claims._store(after)
        return claims

    @classmethod
    def local(cls, after: Unit | None) -> Claims:
        claims = cls(threading.Lock(), _Box(0), _Box(b""))
        claims._store(after)
        return claims

    def _store(self, unit: Unit | None) -> None:
        # "/" cannot occur in a folder name; surrogates keep undecodable bytes round-tripping.
        self._last.value = "/".join(unit).encode("utf-8", "surrogateescape") if unit else b""

    def next(self, units: list[Unit]) -> tuple[int, Unit] | None:
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
def run(config: Config, pass_id: int, after: Unit | None, result_q, claims: Claims, index: int) -> None:
    """One of INSPECTOR_WALKERS walkers: claims project/bucket folders until none is left.
    A unit's last message carries (claim number, unit) for the writer's walk checkpoint."""
    storage = open_storage(config)
    walk = Walk(storage, config.checker_threads, config.stat_timeout, identity=config.identity, shard=config.shard)
    batch: list[WalkEntry] = []
    folders: list[FolderFiles] = []
    for claimed, entries in walk.units(after, claims, index):
        for entry in entries:
            if len(entry) == 2:
                folders.append(entry)
            else:
                batch.append(entry)
            if len(batch) + len(folders) >= config.batch_size:
                result_q.put(Walked(batch, None, walk.take_blocked(), folders))
                batch, folders = [], []
        if claimed is not None:
            result_q.put(Walked(batch, claimed, walk.take_blocked(), folders))
            batch, folders = [], []
    result_q.put(Walked(batch, None, walk.take_blocked(), folders))
    result_q.put(WalkDone(index))
