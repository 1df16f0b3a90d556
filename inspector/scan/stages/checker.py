"""Checker stage: turns batches of attachment rows into result rows by asking a storage object.

Several checker processes run in parallel. On local disk a stat costs microseconds and the
Python around it dominates, so a batch runs in one thread; when the storage turns out slow
(NFS: a network round trip per stat, which releases the GIL) the rest of the batch is spread
over many threads, so hundreds of stats are in flight across the checker processes.

Every chunk runs under a watchdog (``watchdog.py``): a stat that hangs on a dead NFS server
is recorded as an ``error`` (ETIMEDOUT) after ``INSPECTOR_STAT_TIMEOUT`` and the checker
moves on; later rows in the same issue folder are not sent into the same hang. The checkers
also read file content for duplicates (``HashBatch``, see ``hasher.py``).
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable

from ...config.config import Config, Identity
from ...jira import layout
from ...jira.model import FILENAME, ID, ISSUE_NUM, ORIGINAL_KEY, RESULT_COLUMNS
from ...runtime.adaptive import Adaptive
from ...runtime.throttle import Pacer
from ...runtime.watchdog import MAX_HUNG, Watchdog
from ...storage import Probe, Storage, open_storage, text_path
from ...storage.listed import ListingIndex
from .. import verdicts
from ..messages import Batch, Checked, CheckerDone, Cursor, Hashed
from . import hasher
from .runtime import stage

log = logging.getLogger("inspector.checker")
FLAGS, RELPATH, DETAIL = (RESULT_COLUMNS.index(c) for c in ("flags", "relpath", "detail"))

# Below this many seconds per row the storage is local and threads would only add overhead.
SLOW_ROW_SECONDS = 100e-6
PROBE_ROWS = 16
# Verdicts on bucket folders and above: a few per project, bounded all the same so the
# checker's memory stays flat whatever the tree holds.
_VERDICT_CACHE_LIMIT = 8192


class RowChecker:
    """Checks rows against one storage for one identity; caches folder verdicts."""

    def __init__(self, storage: Storage, identity: Identity, pass_id: int):
        self.storage, self.pass_id = storage, pass_id
        # A storage without owners and modes is judged by what it answers, not for an account.
        self.identity: Identity | None = identity if storage.capabilities.ownership else None
        # POSIX access ACLs, where the storage has them (storage/posix.py).
        self.acl_of: Callable[[str], bytes | None] | None = getattr(storage, "acl", None) if self.identity else None
        self._parents: dict[str, tuple[verdicts.Verdict | None, bool]] = {}
        self.hung_folders: set[str] = set()

    def _above(self, parent: str) -> tuple[verdicts.Verdict | None, bool]:
        """Verdict on the root, project and bucket folders above an issue folder, looked at once
        per checker. Issue folders are not probed per row: the walk judges each one from the
        listing it makes of it (walker.py), and a missing one shows when its file is missing."""
        verdict = self._parents.get(parent)
        if verdict is None:
            if len(self._parents) >= _VERDICT_CACHE_LIMIT:
                self._parents.clear()
            verdict = verdicts.folder_verdict(self.storage.folder_probes(parent), self.identity, None, self.acl_of)
            self._parents[parent] = verdict
        return verdict

    def check(self, rows: list[tuple], out: list | None = None, job=None) -> list[tuple]:
        """One result per row appended to ``out``; stops early once ``job.cancelled`` (the
        watchdog gave up on this thread and handed the rest of the rows to another)."""
        out = [] if out is None else out
        append = out.append
        probe_file, identity, pass_id = self.storage.probe, self.identity, self.pass_id
        acl_of = self.acl_of or _no_acl
        owner = identity.uid if self.acl_of is not None and identity is not None and identity.uid else -1
        healthy, placeable, paths, hung = verdicts.healthy, layout.placeable, layout.paths, self.hung_folders
        for row in rows:
            if job is not None and job.cancelled:
                break
            if not placeable(row):
                append(verdicts.result(pass_id, row, None, None, [verdicts.unplaced(row)]))
                continue
            parent, folder, rel = paths(row[ORIGINAL_KEY], row[ISSUE_NUM], row[ID])
            if hung and folder in hung:
                append(self.timed_out(row, None))
                continue
            blocked, final = self._above(parent)
            if final:
                append(verdicts.result(pass_id, row, rel, None, [blocked] if blocked else []))
                continue
            probe = probe_file(rel)
            if probe.errno:
                append(self._absent(row, folder, rel, probe, blocked))
                continue
            # Only a file the Jira account does not own can have an ACL that changes the verdict.
            acl = acl_of(rel) if owner >= 0 and probe[2] != owner else None
            if blocked is None and acl is None and (fine := healthy(pass_id, row, rel, probe, identity)) is not None:
                append(fine)
            else:
                found = ([blocked] if blocked else []) + verdicts.file_verdicts(row, rel, probe, identity, acl)
                append(verdicts.result(pass_id, row, rel, probe, found))
        return out

    def timed_out(self, row: tuple, seconds: float | None) -> tuple:
        """The result of a row whose check hung (``seconds``), or that was skipped because an
        earlier check in its issue folder hung (None)."""
        folder = layout.row_folder(row)
        if folder is None:  # cannot hang: no storage call is made for it
            return verdicts.result(self.pass_id, row, None, None, [verdicts.unplaced(row)])
        rel = layout.attachment_path(folder, row[ID])
        if seconds is None:
            detail = f"{rel}: not checked, an earlier stat in {folder} hung (ETIMEDOUT)"
        else:
            self.hung_folders.add(folder)
            detail = f"{rel}: stat did not answer within {seconds:g} s (ETIMEDOUT)"
        return verdicts.result(self.pass_id, row, rel, Probe(errno.ETIMEDOUT), [verdicts.Verdict("error", detail)])

    def _absent(self, row: tuple, folder: str, rel: str, failed: Probe, blocked: verdicts.Verdict | None) -> tuple:
        """The file did not answer: a dangling link, a legacy ``<id>_<name>`` file, or a fault."""
        if failed.errno in (errno.ENOENT, errno.ENOTDIR):
            # Say so when the issue folder itself is what is missing (one probe, on this rare path).
            gone, final = verdicts.folder_verdict([(folder, self.storage.folder(folder))], self.identity, blocked)
            if final:
                return verdicts.result(self.pass_id, row, rel, None, [gone] if gone else [])
        probe = self.storage.file(rel, failed)
        if probe.errno == errno.ENOENT and not probe.dangling_symlink:
            legacy = layout.legacy_name(row[ID], row[FILENAME])
            # The legacy name comes from the database: it is used only when the folder holds an
            # entry of exactly that name, so it can never steer us to another path.
            if legacy is not None:
                names = self.storage.names(folder)
                if isinstance(names, set) and legacy in names:
                    rel = f"{folder}/{legacy}"
                    probe = self.storage.file(rel)
        if probe.errno == errno.ENOENT and not probe.dangling_symlink:
            probe = self.storage.recheck(rel, probe)  # absent by every listing: a last look
        found = [blocked] if blocked else []
        found += verdicts.file_verdicts(row, rel, probe, self.identity)
        return verdicts.result(self.pass_id, row, text_path(rel), probe, found)


def _no_acl(rel: str) -> None:
    return None


def _log_flagged(results: list[tuple]) -> None:
    """Per-row detail at DEBUG: every flagged attachment with what is wrong."""
    for r in results:
        if r[FLAGS]:
            log.debug("attachment %s (%s): %s", r[1], r[RELPATH] or "no path", r[DETAIL])


class BatchChecker:
    """Checks whole batches under a watchdog; goes wide over threads only when the storage is slow."""

    def __init__(self, config: Config, pass_id: int, storage: Storage | None = None):
        # Where listings settle rows (object storage), checkers look rows up in what the walk,
        # which ran first, stored in the state file.
        storage = storage or open_storage(config, ListingIndex(config.state_db, pass_id))
        self.rows = RowChecker(storage, config.identity, pass_id)
        self.watchdog = Watchdog(self.rows.check, self.rows.timed_out, config.stat_timeout, MAX_HUNG)
        self.adaptive = Adaptive(self.watchdog, config.checker_threads, PROBE_ROWS, SLOW_ROW_SECONDS, "checked rows")

    def check(self, rows: list[tuple]) -> list[tuple]:
        return self.adaptive.run(rows)


@stage("checker")
def run(config: Config, pass_id: int, work_q, result_q, index: int, hash_clock=None) -> None:
    checker = BatchChecker(config, pass_id)
    debug = log.isEnabledFor(logging.DEBUG)
    # One bandwidth cap for all checkers together (``hash_clock`` is shared between them).
    pacer = Pacer(config.hash_max_mbps * 1e6, burst=0.1, shared=hash_clock)
    while (item := work_q.get()) is not None:
        if not isinstance(item, Batch):  # a HashBatch: read content for duplicates
            read = hasher.work(checker.rows.storage, item.level, pacer)
            [done] = checker.watchdog.run([item.items], read, hasher.hung)
            planned = sum(hasher.cost(size, item.level) for _, size, _ in item.items)
            result_q.put(Hashed(item.seq, [row for row, _ in done], sum(n for _, n in done), planned))
            continue
        results = checker.check(item.rows)
        if debug:
            _log_flagged(results)
        result_q.put(Checked(item.seq, Cursor(item.part, item.rows[-1][ID]), results))
    result_q.put(CheckerDone(index))
