"""A restore's two phases over one backup: every flagged attachment looked up in it (many
lookups in flight), then, with ``--apply``, the restorable ones copied into place
``RESTORE_PARALLEL`` at a time inside the windows, each row recorded in the ledger, the plan
and the report written again. One breaker and one watch serve both phases (breaker.py)."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from ..config.config import Config
from ..errors import ConfigError, InspectorError, Interrupted, RestoreIncomplete
from ..report import build as report
from ..storage import scheme
from ..storage.destination import Destination
from . import plan, planfile, transfer
from .breaker import Breaker, Stopped, Watch
from .candidates import Options, already_done
from .ledger import Ledger
from .running import Gate, run_all

log = logging.getLogger("inspector.restore")

LOOKUPS = 32  # backup lookups in flight: they are single requests (a stat, a HEAD)
_PLANNED_STATUS = {
    plan.RESTORABLE: plan.PENDING, plan.BACKUP_DIFFERS: plan.BACKUP_DIFFERS,
    plan.NOT_IN_BACKUP: plan.NOT_IN_BACKUP, plan.SOURCE_ERROR: plan.ERROR, plan.NO_PLACE: plan.NO_PLACE,
}  # fmt: skip


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


class Restore:
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
        done = already_done(self.config.state_db, self.pass_id) if self.options.apply else set()
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
        planfile.write_plan(config.report_dir, lines, summary)
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
                f"{counts[plan.ERROR]} attachments could not be restored; see {config.report_dir / planfile.PLAN_FILE}"
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


def _os_message(exc: OSError) -> str:
    where = f" ({exc.filename})" if exc.filename else ""
    return f"{exc.strerror or exc}{where}"
