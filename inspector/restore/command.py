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

import logging
import os
import sqlite3
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import report, sqlfiles
from .. import windows as win
from ..config import Config
from ..errors import (
    ConfigError,
    InspectorError,
    Interrupted,
    ReportError,
    RestoreIncomplete,
    StateError,
    StorageError,
)  # fmt: skip
from ..storage import scheme
from . import plan, transfer
from .ledger import Ledger

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
    from ..storage.posix import PosixStorage

    if not os.path.isdir(source):
        raise ConfigError(f"--from: '{source}' is not a folder")
    return PosixStorage(os.path.realpath(source))


def _read_state(state_db: Path):
    """A read-only connection to the state file (SQLite itself: no DuckDB for a few rows)."""
    if not Path(state_db).is_file():
        raise StateError(f"no state file at {state_db}: run a scan first (python -m inspector)")
    return sqlite3.connect(f"file:{Path(state_db).resolve()}?mode=ro", uri=True, timeout=30)


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


class Gate:
    """Whether copying may go on: not after a signal, and only inside a maintenance window."""

    def __init__(self, config: Config):
        self.config, self.stop = config, threading.Event()
        self.signum = 0
        self._paused_logged = False

    def closed(self) -> bool:
        windows = list(self.config.windows)
        return self.stop.is_set() or bool(windows and not win.is_open(windows, self.config.now()))

    def wait_open(self) -> None:
        """Block while outside the windows (a signal ends the wait)."""
        while not self.stop.is_set() and self.closed():
            if not self._paused_logged:
                self._paused_logged = True
                reopens = win.next_change(list(self.config.windows), self.config.now()).isoformat(timespec="minutes")
                log.info("outside the maintenance windows: copying waits until %s", reopens)
            self.stop.wait(30)
        self._paused_logged = False


class _Halt(threading.Event):
    """The copier's stop flag: set by a signal, or read as set while a window is closed."""

    def __init__(self, gate: Gate):
        super().__init__()
        self.gate = gate

    def is_set(self) -> bool:
        return self.gate.closed()

    def wait(self, timeout: float | None = None) -> bool:
        return self.gate.stop.wait(timeout)


def _lookup(backup: Any, copier: transfer.Copier, c: plan.Candidate) -> plan.Found:
    try:
        return copier.retrying(
            f"{backup.describe()}: looking up attachment {c.id}", lambda: plan.locate(c, backup.probe, backup.names), {}
        )
    except (transfer.Stopped, InspectorError):
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
    lines = plan.permission_commands(
        rows, root, config.identity.uid, config.jira_gid, config.restore_file_mode, config.restore_dir_mode
    )
    # Mode 0600: for the admin to read first; not executable, not for everyone.
    _write_text(config.report_dir / PERMISSIONS_FILE, list(lines), 0o600)


def run(config: Config, options: Options, notifier: Any = None) -> dict[str, int]:
    """Plan (and with ``options.apply``, carry out) a restore; returns the count per status."""
    pass_id, root, copies, permissions = read_candidates(config, options)
    if os.path.realpath(root) != os.path.realpath(config.attachments_root) and root != config.attachments_root:
        raise ConfigError(
            f"pass {pass_id} checked {root}, but INSPECTOR_ATTACHMENTS_ROOT is {config.attachments_root}: "
            "restore into the tree the pass checked"
        )
    if options.apply and scheme(config.attachments_root):
        raise ConfigError(
            f"restore --apply writes into a folder; {config.attachments_root} is object storage "
            "(plan it without --apply)"
        )
    backup = open_backup(options.source, config)
    gate = Gate(config)
    target = transfer.Target(
        Path(config.attachments_root), config.identity.uid, config.jira_gid, config.restore_file_mode,
        config.restore_dir_mode, config.restore_quarantine, config.restore_retry_timeout,
    )  # fmt: skip
    pacer = transfer.LockedPacer(config.restore_max_mbps * 1e6)
    copier = transfer.Copier(backup, target, pacer, _Halt(gate))
    looker = transfer.Copier(backup, target, pacer, gate.stop)  # lookups read little: any time, until a signal
    try:
        # One listing of the backup's top level: reachable, readable, and not empty (a wrong path).
        top = looker.retrying(f"{backup.describe()}", lambda: backup.names(""), {})
        if isinstance(top, int):
            raise ConfigError(f"--from: cannot read {backup.describe()}: {os.strerror(top)}")
        if not top:
            raise ConfigError(f"--from: {backup.describe()} is empty: is it the copy of Jira's attachments folder?")
        done = _already_done(config.state_db, pass_id) if options.apply else set()
        wanted = [c for c in copies if c.id not in done]
        log.info("restore from %s: looking up %d attachments of pass %d%s", backup.describe(), len(wanted), pass_id,
                 f" ({len(done)} restored before)" if done else "")  # fmt: skip
        with ThreadPoolExecutor(LOOKUPS, thread_name_prefix="lookup") as pool:
            found = dict(
                zip([c.id for c in wanted], pool.map(lambda c: _lookup(backup, looker, c), wanted), strict=True)
            )
        _write_permissions(config, root, permissions)
        if not options.apply:
            return _plan_only(config, options, copies, found)
        return _apply(config, options, pass_id, copies, found, copier, gate, notifier)
    finally:
        backup_close = getattr(backup, "close", None)
        if backup_close is not None:
            backup_close()


def _plan_only(config: Config, options: Options, copies: list, found: dict[int, plan.Found]) -> dict[str, int]:
    counts = Counter(f.verdict for f in found.values())
    lines = [plan.plan_line(c, found[c.id].verdict, found[c.id].backup_path, found[c.id].reason) for c in copies]
    summary = plan.summary_lines(dict(counts), options.source, applied=False)
    _write_plan(config.report_dir, lines, summary)
    return dict(counts)


def _apply(
    config: Config, options: Options, pass_id: int, copies: list[plan.Candidate], found: dict[int, plan.Found],
    copier: transfer.Copier, gate: Gate, notifier: Any,
) -> dict[str, int]:  # fmt: skip
    from ..pipeline import stop_signals
    from ..state import exclusive

    def on_signal(signum: int, _frame: object) -> None:
        gate.signum = gate.signum or signum
        gate.stop.set()

    started = time.monotonic()
    with stop_signals(on_signal), exclusive(config.state_db):
        ledger = Ledger(config.state_db)
        try:
            earlier = ledger.previous(pass_id)
            planned, todo = [], []
            for c in copies:
                status, size_before = earlier.get(c.id, (None, None))
                f = found.get(c.id)
                if status in plan.DONE or f is None:
                    continue  # nothing restored is copied again (nor looked up: see run)
                if status is not None and size_before != f.size and c.relpath is not None:
                    # The backup copy changed since a part of it was written: start that file over.
                    (Path(config.attachments_root) / transfer.part_name(c.relpath, c.id)).unlink(missing_ok=True)
                planned.append({
                    "pass_id": pass_id, "id": c.id, "relpath": c.relpath or "", "finding": c.finding,
                    "backup": options.source, "backup_path": f.backup_path, "expected": c.filesize,
                    "backup_size": f.size, "status": _PLANNED_STATUS[f.verdict], "message": f.reason or None,
                })  # fmt: skip
                if f.verdict == plan.RESTORABLE:
                    todo.append((c, f))
            ledger.plan(planned)
            if notifier is not None:
                text = f"Jira attachment restore started: {len(todo)} files from {options.source}"
                notifier.send("restore_start", text)
            _copy_all(config, pass_id, todo, copier, gate, ledger)
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
    if gate.signum:
        raise Interrupted(gate.signum)
    text = "\n".join(summary)
    if notifier is not None:
        notifier.send("restore_finish", text, counts)
    if counts.get(plan.ERROR):
        raise RestoreIncomplete(
            f"{counts[plan.ERROR]} attachments could not be restored; see {config.report_dir / PLAN_FILE}"
        )
    return counts


def _copy_all(config: Config, pass_id: int, todo: list, copier: transfer.Copier, gate: Gate, ledger: Ledger) -> None:
    fatal: list[BaseException] = []

    def one(item: tuple[plan.Candidate, plan.Found]) -> None:
        c, f = item
        assert f.backup_path is not None and c.relpath is not None
        while not fatal:
            gate.wait_open()
            if gate.stop.is_set():
                return
            ledger.copying(pass_id, c.id)
            try:
                outcome = copier.restore(c, f.backup_path)
            except transfer.Stopped:
                if gate.stop.is_set():
                    return  # stays 'copying': the next run continues its part file
                continue  # the window closed mid-file: wait for the next one, then continue
            except (ConfigError, StorageError) as exc:  # the backup refuses us: no use trying others
                fatal.append(exc)
                ledger.finish(pass_id, c.id, plan.ERROR, 0, str(exc))
                return
            except OSError as exc:  # also TimeoutError: retried until INSPECTOR_RESTORE_RETRY_TIMEOUT
                ledger.finish(pass_id, c.id, plan.ERROR, 0, _os_message(exc))
                return
            except Exception as exc:  # one file's failure is its row's error, not the run's end
                log.exception("attachment %d: the copy failed", c.id)
                ledger.finish(pass_id, c.id, plan.ERROR, 0, f"{type(exc).__name__}: {exc}")
                return
            after = transfer.final_probe(copier.target, c.relpath)
            message = outcome.message
            if outcome.status == plan.RESTORED:
                if after is None or after[0] != c.filesize:
                    outcome, message = outcome._replace(status=plan.ERROR), f"after the rename the file is {after}"
                log.info("restored attachment %d (%s, %d bytes)", c.id, c.relpath, c.filesize)
            ledger.finish(pass_id, c.id, outcome.status, outcome.written, message, outcome.quarantined)
            return

    with ThreadPoolExecutor(config.restore_parallel, thread_name_prefix="restore") as pool:
        for future in [pool.submit(one, item) for item in todo]:
            future.result()
    if fatal:
        raise fatal[0]


def _os_message(exc: OSError) -> str:
    where = f" ({exc.filename})" if exc.filename else ""
    return f"{exc.strerror or exc}{where}"
