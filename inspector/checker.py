"""Checker stage: turns batches of attachment rows into result rows by asking a storage object.

Several checker processes run in parallel. On local disk a stat costs microseconds and the
Python around it dominates, so a batch runs in one thread; when the storage turns out slow
(NFS: a network round trip per stat, which releases the GIL) the rest of the batch is spread
over many threads, so hundreds of stats are in flight across the checker processes.

Every chunk runs under a watchdog (``watchdog.py``): a stat that hangs on a dead NFS server
is recorded as an ``error`` (ETIMEDOUT) after ``INSPECTOR_STAT_TIMEOUT`` and the checker
moves on; later rows in the same issue folder are not sent into the same hang.
"""

from __future__ import annotations

import errno
import logging

from . import hasher, rules
from .config import Config, Identity
from .model import FILENAME, ID, ISSUE_EXISTS, ISSUE_NUM, ORIGINAL_KEY, PROJECT_ID, RESULT_COLUMNS, Probe
from .stages import stage
from .storage_fs import FileSystemStorage, probe_of, text_path
from .throttle import Pacer
from .watchdog import MAX_HUNG, Watchdog

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

    def __init__(self, storage: FileSystemStorage, identity: Identity, pass_id: int):
        self.storage, self.identity, self.pass_id = storage, identity, pass_id
        self._parents: dict[str, tuple[rules.Verdict | None, bool]] = {}
        self._keys: dict[str | None, bool] = {}
        self.hung_folders: set[str] = set()

    def _above(self, parent: str) -> tuple[rules.Verdict | None, bool]:
        """Verdict on the root, project and bucket folders above an issue folder, stat'ed once
        per checker. Issue folders are not stat'ed per row: the walk judges each one from the
        fd it lists it with (walker.py), and a missing one shows when its file does not stat."""
        verdict = self._parents.get(parent)
        if verdict is None:
            if len(self._parents) >= _VERDICT_CACHE_LIMIT:
                self._parents.clear()
            verdict = self._parents[parent] = rules.folder_verdict(self.storage.folder_probes(parent), self.identity)
        return verdict

    def check(self, rows: list[tuple], out: list | None = None, job=None) -> list[tuple]:
        """One result per row appended to ``out``; stops early once ``job.cancelled`` (the
        watchdog gave up on this thread and handed the rest of the rows to another)."""
        out = [] if out is None else out
        append = out.append
        stat, identity, pass_id, keys = self.storage.stat, self.identity, self.pass_id, self._keys
        healthy, hung = rules.is_healthy, self.hung_folders
        for row in rows:
            if job is not None and job.cancelled:
                break
            key, num = row[ORIGINAL_KEY], row[ISSUE_NUM]
            plain = keys.get(key)
            if plain is None:
                plain = keys[key] = rules.is_plain_key(key)
            if not (plain and row[ISSUE_EXISTS] and row[PROJECT_ID] is not None and num is not None and num > 0):
                append(rules.result(pass_id, row, None, None, [rules.issue_folder(row)]))
                continue
            parent = f"{key}/{rules.bucket(num)}"
            folder = f"{parent}/{key}-{num}"
            if hung and folder in hung:
                append(self.timed_out(row, None))
                continue
            blocked, final = self._above(parent)
            rel = f"{folder}/{row[ID]}"
            if final:
                append(rules.result(pass_id, row, rel, None, [blocked]))
                continue
            try:
                st = stat(rel)
            except OSError as exc:
                append(self._absent(row, folder, rel, Probe(exc.errno or 0), blocked))
                continue
            mode, size, uid, gid = st.st_mode, st.st_size, st.st_uid, st.st_gid
            if blocked is None and healthy(row, mode, size, uid, gid, identity):
                append((pass_id, *row, rel, size, mode, uid, gid, int(st.st_mtime), 0, None))
            else:
                probe = probe_of(st)
                verdicts = ([blocked] if blocked else []) + rules.file_verdicts(row, rel, probe, identity)
                append(rules.result(pass_id, row, rel, probe, verdicts))
        return out

    def timed_out(self, row: tuple, seconds: float | None) -> tuple:
        """The result of a row whose check hung (``seconds``), or that was skipped because an
        earlier check in its issue folder hung (None)."""
        where = rules.issue_folder(row)
        if isinstance(where, rules.Verdict):  # cannot hang: no storage call is made for it
            return rules.result(self.pass_id, row, None, None, [where])
        rel = f"{where}/{row[ID]}"
        if seconds is None:
            detail = f"{rel}: not checked, an earlier stat in {where} hung (ETIMEDOUT)"
        else:
            self.hung_folders.add(where)
            detail = f"{rel}: stat did not answer within {seconds:g} s (ETIMEDOUT)"
        return rules.result(self.pass_id, row, rel, Probe(errno.ETIMEDOUT), [rules.Verdict("error", detail)])

    def _absent(self, row: tuple, folder: str, rel: str, failed: Probe, blocked: rules.Verdict | None) -> tuple:
        """The file did not stat: a dangling link, a legacy ``<id>_<name>`` file, or a fault."""
        if failed.errno in (errno.ENOENT, errno.ENOTDIR):
            # Say so when the issue folder itself is what is missing (one stat, on this rare path).
            gone, final = rules.folder_verdict([(folder, self.storage.probe(folder))], self.identity, blocked)
            if final:
                return rules.result(self.pass_id, row, rel, None, [gone])
        probe = self.storage.file(rel, failed)
        if probe.errno == errno.ENOENT and not probe.dangling_symlink:
            legacy = rules.legacy_name(row[ID], row[FILENAME])
            # The legacy name comes from the database: it is used only when the folder holds an
            # entry of exactly that name, so it can never steer us to another path.
            if legacy is not None:
                names = self.storage.listing(folder)
                if isinstance(names, set) and legacy in names:
                    rel = f"{folder}/{legacy}"
                    probe = self.storage.file(rel)
        verdicts = [blocked] if blocked else []
        verdicts += rules.file_verdicts(row, rel, probe, self.identity)
        return rules.result(self.pass_id, row, text_path(rel), probe, verdicts)


def _log_flagged(results: list[tuple]) -> None:
    """Per-row detail at DEBUG: every flagged attachment with what is wrong."""
    for r in results:
        if r[FLAGS]:
            log.debug("attachment %s (%s): %s", r[1], r[RELPATH] or "no path", r[DETAIL])


class BatchChecker:
    """Checks whole batches under a watchdog; goes wide over threads only when the storage is slow."""

    def __init__(self, config: Config, pass_id: int, storage: FileSystemStorage | None = None):
        self.rows = RowChecker(storage or FileSystemStorage(config.attachments_root), config.identity, pass_id)
        self.threads = config.checker_threads
        self.watchdog = Watchdog(
            self.rows.check, self.rows.timed_out, config.stat_timeout, MAX_HUNG, calls="checked rows"
        )

    def check(self, rows: list[tuple]) -> list[tuple]:
        return self.watchdog.run_adaptive(rows, self.threads, PROBE_ROWS, SLOW_ROW_SECONDS)


@stage("checker")
def run(config: Config, pass_id: int, work_q, result_q, index: int, hash_clock=None) -> None:
    checker = BatchChecker(config, pass_id)
    debug = log.isEnabledFor(logging.DEBUG)
    # One bandwidth cap for all checkers together (``hash_clock`` is shared between them).
    pacer = Pacer(config.hash_max_mbps * 1e6, burst=0.1, shared=hash_clock)
    while (item := work_q.get()) is not None:
        seq, part, rows = item
        if part in (hasher.HEAD_TAIL, hasher.FULL):
            read = hasher.work(checker.rows.storage, part, pacer)
            [done] = checker.watchdog.run([rows], read, hasher.hung)
            result_q.put(("hashes", seq, [row for row, _ in done], sum(n for _, n in done)))
            continue
        results = checker.check(rows)
        if debug:
            _log_flagged(results)
        result_q.put(("rows", seq, (part, rows[-1][ID]), results))
    result_q.put(("checker_done", index))
