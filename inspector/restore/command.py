"""``inspector restore``: bring the attachments a pass found missing or corrupted back from a
backup (a folder, ``sftp://``, ``s3://``), the way a careful transfer tool would.

``run`` reads the flagged rows of the chosen pass from the state (DuckDB over the report
views), looks each one up in the backup (many lookups in flight), and writes the plan:
``restore-plan.txt`` and ``restore-permissions.sh`` in the report folder. With ``apply`` it
then records every row in the state and copies the restorable files, ``RESTORE_PARALLEL`` at
a time, under the scan's one-instance lock, inside the maintenance windows, and stops at a
signal leaving each file in flight to be continued by the next run.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import readonly, report, sqlfiles
from ..config import Config
from ..errors import (
    ConfigError,
    InspectorError,
    Interrupted,
    ReportError,
    RestoreIncomplete,
    StateError,
)  # fmt: skip
from ..storage import scheme
from ..storage.destination import Destination, open_destination
from . import plan, transfer
from .breaker import Breaker, Stopped, Watch
from .ledger import Ledger
from .running import Gate, run_all

log = logging.getLogger("inspector.restore")

PLAN_FILE, PERMISSIONS_FILE = "restore-plan.txt", "restore-permissions.sh"
LOOKUPS = 32  # backup lookups in flight: they are single requests (a stat, a HEAD)
_PLANNED_STATUS = {
    plan.RESTORABLE: plan.PENDING, plan.BACKUP_DIFFERS: plan.BACKUP_DIFFERS,
    plan.NOT_IN_BACKUP: plan.NOT_IN_BACKUP, plan.SOURCE_ERROR: plan.ERROR, plan.NO_PLACE: plan.NO_PLACE,
}  # fmt: skip


@dataclass(frozen=True)
class Options:
    source: str
    apply: bool = False
    pass_id: int | None = None
    only: frozenset[str] = frozenset(plan.FINDINGS)


def open_backup(source: str, config: Config) -> Any:
    """The backup as a read-only storage: a folder, ``sftp://`` or ``s3://``."""
    kind = scheme(source)
    if kind == "sftp":
        from ..storage.sftp import open_sftp

        return open_sftp(source, config)
    if kind == "s3":
        from ..storage.s3 import open_s3

        try:
            return open_s3(source, config, None)
        except ValueError as exc:
            raise ConfigError(f"--from: {exc}") from None
    if kind:
        raise ConfigError(f"--from: '{kind}://' is not a backup this restore reads (a folder, sftp:// or s3://)")
    from ..storage.posix import BackupFolder

    if not os.path.isdir(source):
        raise ConfigError(f"--from: '{source}' is not a folder")
    # The folder as named may be a link (the admin's choice); nothing below it is followed.
    return BackupFolder(os.path.realpath(source))


def _read_state(state_db: Path):
    """A read-only connection to the state file (SQLite itself: no DuckDB for a few rows)."""
    if not Path(state_db).is_file():
        raise StateError(f"no state file at {state_db}: run a scan first (python -m inspector)")
    return readonly.connect(Path(state_db).resolve())


def _choose_pass(state_db: Path, wanted: int | None) -> int:
    conn = _read_state(state_db)
    try:
        if wanted is None:
            (found,) = conn.execute(sqlfiles.load("restore/last_finished")).fetchone()
            if found is None:
                raise StateError(f"{state_db} holds no finished pass: run a scan first, restore then works from it")
            return int(found)
        row = conn.execute("SELECT status FROM passes WHERE pass_id = ?", (wanted,)).fetchone()
    except sqlite3.DatabaseError as exc:
        raise StateError(f"state file {state_db} cannot be used: {exc}") from None
    finally:
        conn.close()
    if row is None:
        raise ConfigError(f"--pass {wanted}: {state_db} holds no such pass")
    if row[0] != "finished":
        raise ConfigError(f"--pass {wanted} is {row[0]}, not finished: a restore works from a finished pass")
    return wanted


def inherit_root(wanted: int | None) -> str | None:
    """With no INSPECTOR_ATTACHMENTS_ROOT (nor FILESTORE_CONFIG), the root the chosen pass
    checked, for ``config.from_env(root=...)``: the configuration (and the Jira account it derives
    from the root's owner) is then built as if the admin had set it."""
    from ..config import PREFIX, report_settings

    if any((os.environ.get(PREFIX + name) or "").strip() for name in ("ATTACHMENTS_ROOT", "FILESTORE_CONFIG")):
        return None
    state_db = report_settings().state_db
    pass_id = _choose_pass(state_db, wanted)
    conn = _read_state(state_db)
    try:
        row = conn.execute("SELECT attachments_root FROM passes WHERE pass_id = ?", (pass_id,)).fetchone()
    finally:
        conn.close()
    return str(row[0]) if row and row[0] else None


def _already_done(state_db: Path, pass_id: int) -> set[int]:
    """Attachments an earlier --apply of this pass restored or found fine: not looked up again."""
    conn = _read_state(state_db)
    try:
        rows = conn.execute(
            "SELECT id FROM restores WHERE pass_id = ? AND status IN (?, ?)", (pass_id, *sorted(plan.DONE))
        ).fetchall()
    except sqlite3.OperationalError:  # a state from before restores (migrated when --apply writes)
        return set()
    finally:
        conn.close()
    return {row[0] for row in rows}


def read_candidates(config: Config, options: Options) -> tuple[int, str, list[plan.Candidate], list[plan.Candidate]]:
    """(pass id, the pass's root, rows to copy, rows flagged only for permissions)."""
    pass_id = _choose_pass(config.state_db, options.pass_id)
    conn, _ = report.connect(config.state_db, pass_id)
    try:
        found_root = conn.execute("SELECT attachments_root FROM state.passes WHERE pass_id = ?", [pass_id])
        (root,) = found_root.fetchone() or (None,)
        cur = conn.execute(sqlfiles.load("restore/candidates"))
        copies, permissions = [], []
        while rows := cur.fetchmany(10_000):
            for r in rows:
                found = plan.finding(r[3], r[4], r[5])
                if found is None:
                    continue  # only an error while checking: nothing a copy or a chmod cures
                c = plan.Candidate(
                    r[0], r[1], r[2], found, r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]
                )
                if found == "permissions":
                    permissions.append(c)
                elif found in options.only:
                    copies.append(c)
    finally:
        conn.close()
    return pass_id, str(root), copies, permissions


def _lookup(backup: Any, breaker: Breaker, watch: Watch, c: plan.Candidate) -> plan.Found:
    def locate() -> plan.Found:
        with watch.calling(f"looking up attachment {c.id} in {backup.describe()}"):
            return plan.locate(c, backup.probe, backup.names)

    try:
        return breaker.call(f"{backup.describe()}: looking up attachment {c.id}", locate)
    except (Stopped, InspectorError):
        raise
    except Exception as exc:
        return plan.Found(plan.SOURCE_ERROR, reason=str(exc) or type(exc).__name__)


def _write_text(target: Path, lines: list[str], mode: int | None = None) -> None:
    """A file of the report folder, replaced whole or not at all."""
    tmp = target.with_name(target.name + ".tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        raise ReportError(f"cannot write {target}: {exc.strerror}") from None


def _write_plan(report_dir: Path, lines: list[str], summary: list[str]) -> None:
    header = ["# " + line for line in summary] + ["# status\tlink\tissue\tpath\tbackup path\tdetail"]
    _write_text(report_dir / PLAN_FILE, header + lines)


def _write_permissions(config: Config, root: str, rows: list[plan.Candidate]) -> None:
    if scheme(root):  # objects have no owner or mode: a permissions finding there is a denied read
        lines = ["#!/bin/sh", f"# {root} is object storage: its permissions findings are reads the scan's "
                 "credentials were denied; grant s3:GetObject on those keys (nothing to run here)."]  # fmt: skip
        _write_text(config.report_dir / PERMISSIONS_FILE, lines, 0o600)
        return
    lines = plan.permission_commands(
        rows, root, config.identity.uid, config.jira_gid, config.restore_file_mode, config.restore_dir_mode
    )
    # Mode 0600: for the admin to read first; not executable, not for everyone.
    _write_text(config.report_dir / PERMISSIONS_FILE, list(lines), 0o600)


def run(config: Config, options: Options, notifier: Any = None) -> dict[str, int]:
    """Plan (and with ``options.apply``, carry out) a restore; returns the count per status."""
    from ..pipeline import stop_signals
    from ..state import exclusive

    pass_id, root, copies, permissions = read_candidates(config, options)
    if os.path.realpath(root) != os.path.realpath(config.attachments_root) and root != config.attachments_root:
        raise ConfigError(
            f"pass {pass_id} checked {root}, but INSPECTOR_ATTACHMENTS_ROOT is {config.attachments_root}: "
            "restore into the tree the pass checked"
        )
    gate = Gate(config)

    def on_signal(signum: int, _frame: object) -> None:
        gate.signum = gate.signum or signum
        gate.stop.set()

    # The lock before anything is looked up: a second restore (or a scan) waits for nothing.
    with stop_signals(on_signal), exclusive(config.state_db) if options.apply else contextlib.nullcontext():
        dest = _destination(config) if options.apply else None
        backup = open_backup(options.source, config)
        try:
            run = _Run(config, options, pass_id, backup, dest, gate)
            found = run.look_up(copies)
            _write_permissions(config, root, permissions)
            if dest is None:
                return _plan_only(config, options, copies, found)
            return run.apply(copies, found, notifier)
        finally:
            backup_close = getattr(backup, "close", None)
            if backup_close is not None:
                backup_close()
            if dest is not None:
                dest.close()


def _destination(config: Config) -> Destination:
    """Where --apply writes; refused at once when this process cannot write as the Jira account."""
    dest = open_destination(config.attachments_root, config)
    dest.check()
    return dest


class _Run:
    """One restore: the lookups, then (with --apply) the copies, sharing one breaker and watch."""

    def __init__(self, config: Config, options: Options, pass_id: int, backup: Any, dest: Destination | None,
                 gate: Gate):  # fmt: skip
        self.config, self.options, self.pass_id, self.backup, self.dest, self.gate = (
            config, options, pass_id, backup, dest, gate)  # fmt: skip
        self.breaker = Breaker(backup.describe(), config.restore_retry_timeout, gate.stop)
        self.watch = Watch()
        # A call has its own timeouts (an S3 read: STAT_TIMEOUT; an SFTP request: 60 s, which
        # fails on its own and is retried); a stat or a read that has not returned in three
        # times STAT_TIMEOUT is stuck in the kernel (a hard-mounted NFS server gone).
        self.hang_limit = 3 * config.stat_timeout

    def _interrupted(self) -> None:
        if self.gate.signum:
            raise Interrupted(self.gate.signum)

    def look_up(self, copies: list[plan.Candidate]) -> dict[int, plan.Found]:
        backup, watch = self.backup, self.watch

        def top() -> Any:
            with watch.calling(f"listing {backup.describe()}"):
                return backup.listing("")

        # One listing of the backup's top level: reachable, readable, and not empty (a wrong
        # path). Folders count: a bucket's top level holds only <KEY>/ prefixes.
        listed = run_all([None], lambda _: self.breaker.first(top), 1, self.gate.stop, watch, self.hang_limit)[0]
        self._interrupted()
        if listed.errno:
            raise ConfigError(f"--from: cannot read {backup.describe()}: {os.strerror(listed.errno)}")
        if not listed.entries:
            raise ConfigError(f"--from: {backup.describe()} is empty: is it the copy of Jira's attachments folder?")
        done = _already_done(self.config.state_db, self.pass_id) if self.options.apply else set()
        wanted = [c for c in copies if c.id not in done]
        log.info("restore from %s: looking up %d attachments of pass %d%s", backup.describe(), len(wanted),
                 self.pass_id, f" ({len(done)} restored before)" if done else "")  # fmt: skip

        def one(c: plan.Candidate) -> plan.Found:
            if self.gate.stop.is_set():
                raise Stopped()
            return _lookup(backup, self.breaker, watch, c)

        try:
            results = run_all(wanted, one, LOOKUPS, self.gate.stop, watch, self.hang_limit)
        except Stopped:
            results = []
        self._interrupted()
        return dict(zip([c.id for c in wanted], results, strict=True))

    def apply(self, copies: list[plan.Candidate], found: dict[int, plan.Found], notifier: Any) -> dict[str, int]:
        config, options, pass_id = self.config, self.options, self.pass_id
        started = time.monotonic()
        ledger = Ledger(config.state_db)
        try:
            earlier = ledger.previous(pass_id)
            planned, todo = [], []
            for c in copies:
                status, tag, ref = earlier.get(c.id, (None, None, None))
                f = found.get(c.id)
                if status in plan.DONE or f is None:
                    continue  # nothing restored is copied again (nor looked up: see look_up)
                planned.append({
                    "pass_id": pass_id, "id": c.id, "relpath": c.relpath or "", "finding": c.finding,
                    "backup": options.source, "backup_path": f.backup_path, "expected": c.filesize,
                    "backup_size": f.size, "status": _PLANNED_STATUS[f.verdict], "message": f.reason or None,
                })  # fmt: skip
                if f.verdict == plan.RESTORABLE:
                    new_tag = _source_tag(options.source, f)
                    todo.append((c, f, new_tag, tag == new_tag, ref if tag == new_tag else None))
            ledger.plan(planned)
            if notifier is not None:
                text = f"Jira attachment restore started: {len(todo)} files from {options.source}"
                notifier.send("restore_start", text)
            try:
                self._copy_all(todo, ledger)
            finally:
                counts = ledger.counts(pass_id)
                rows = ledger.rows(pass_id)
        finally:
            ledger.close()
        lines = []
        for c in copies:
            status, where, message = rows.get(c.id, ("-", None, None))
            lines.append(plan.plan_line(c, status, where, message))
        summary = plan.summary_lines(counts, options.source, applied=True)
        summary.append(f"  took {time.monotonic() - started:.1f} s")
        _write_plan(config.report_dir, lines, summary)
        try:
            report.build(config.state_db, config.report_dir, pass_id)
        except InspectorError as exc:
            log.warning("the restore is recorded, but the report was not rebuilt: %s", exc)
        self._interrupted()
        text = "\n".join(summary)
        if notifier is not None:
            notifier.send("restore_finish", text, counts)
        if counts.get(plan.ERROR):
            raise RestoreIncomplete(
                f"{counts[plan.ERROR]} attachments could not be restored; see {config.report_dir / PLAN_FILE}"
            )
        return counts

    def _copy_all(self, todo: list, ledger: Ledger) -> None:
        config, pass_id, gate = self.config, self.pass_id, self.gate
        assert self.dest is not None
        pacer = transfer.LockedPacer(config.restore_max_mbps * 1e6)
        copier = transfer.Copier(self.backup, self.dest, self.breaker, self.watch, pacer, gate.closed)
        uid = config.identity.uid

        def one(item: tuple[plan.Candidate, plan.Found, str, bool, str | None]) -> None:
            c, f, tag, resume, ref = item
            while True:
                gate.wait_open()
                if gate.stop.is_set():
                    return
                ledger.copying(pass_id, c.id, tag)
                try:
                    outcome = copier.restore(c, f, resume, ref, lambda r: ledger.part_ref(pass_id, c.id, r))
                except Stopped:
                    if gate.stop.is_set():
                        return  # stays 'copying': the next run continues its part
                    resume = True  # the window closed mid-file: wait for the next one, then continue
                    continue
                except PermissionError as exc:
                    # Jira's account may not write there: said, and never done as root instead.
                    why = f"the Jira account (uid {uid}) may not write here: {_os_message(exc)}; not written as root"
                    ledger.finish(pass_id, c.id, plan.ERROR, 0, why)
                    return
                except OSError as exc:
                    ledger.finish(pass_id, c.id, plan.ERROR, 0, _os_message(exc))
                    return
                except InspectorError:
                    raise  # the backup is gone or refuses us: the row stays 'copying', the run stops
                except Exception as exc:  # one file's failure is its row's error, not the run's end
                    log.exception("attachment %d: the copy failed", c.id)
                    ledger.finish(pass_id, c.id, plan.ERROR, 0, f"{type(exc).__name__}: {exc}")
                    return
                if outcome.status == plan.RESTORED:
                    log.info("restored attachment %d (%s, %d bytes)", c.id, c.relpath, c.filesize)
                ledger.finish(pass_id, c.id, outcome.status, outcome.written, outcome.message, outcome.quarantined)
                return

        run_all(todo, one, config.restore_parallel, gate.stop, self.watch, self.hang_limit)


def _source_tag(source: str, f: plan.Found) -> str:
    """Which copy of which backup a part comes from: a part is continued only from the same."""
    return "\t".join([source, f.backup_path or "", str(f.size), f.version])


def _plan_only(config: Config, options: Options, copies: list, found: dict[int, plan.Found]) -> dict[str, int]:
    counts = Counter(f.verdict for f in found.values())
    lines = [plan.plan_line(c, found[c.id].verdict, found[c.id].backup_path, found[c.id].reason) for c in copies]
    summary = plan.summary_lines(dict(counts), options.source, applied=False)
    _write_plan(config.report_dir, lines, summary)
    return dict(counts)


def _os_message(exc: OSError) -> str:
    where = f" ({exc.filename})" if exc.filename else ""
    return f"{exc.strerror or exc}{where}"
