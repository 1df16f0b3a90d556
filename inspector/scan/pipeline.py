"""Runs one pass: reader -> checkers -> writer, with the walker beside them, then the report.

The parent process owns no database connection and writes nothing during the pass: it
starts the stages (always with the ``spawn`` start method), watches them, shows progress,
and stops everything with one clear error if any stage fails. Work already stored stays
stored, so the next run resumes from the cursor.
"""

from __future__ import annotations

import dataclasses
import logging
import logging.handlers
import multiprocessing
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..config.config import Config
from ..config.settings import BY_NAME
from ..errors import (
    ConfigError,
    InspectorError,
    Interrupted,
    Paused,
    StateError,
)
from ..ops.metrics import Metrics
from ..sources import open_source
from ..state import PassInfo, State, exclusive, tidy
from ..storage import capabilities, open_storage
from . import preflight
from .stages import checker, hasher, reader, walker, writer
from .stages.runtime import peak_rss_mb
from .supervisor import Progress, run_stages, signals_deferred, stop_signals

log = logging.getLogger("inspector")


@dataclass
class Outcome:
    pass_id: int
    summary: dict
    resumed: bool


def _prepare(config: Config, fresh: bool) -> tuple[int, bool, PassInfo, Config]:
    source = open_source(config, "estimate")
    try:
        estimate = source.estimate()
        properties: dict[str, str] = getattr(source, "jira_properties", dict)()
        config = _attachments_path(_base_url(config, properties), properties)
        if not config.jira_cloud_url:
            keys: list[str] = getattr(source, "recent_project_keys", list)()
            preflight.check_root(config, keys, open_storage(config))
            preflight.warn_account(config)
    finally:
        source.close()
    with State(config.state_db) as state:
        if fresh:
            state.abandon_running()
        current = state.running_pass()
        shard = state.running_shard()
        if current is not None and shard != (config.shards, config.shard_index):
            raise StateError(
                f"{config.state_db} holds an unfinished pass of shard {shard[1] if shard else 0} of "
                f"{shard[0] if shard else 1}, not {config.shard}: give each shard its own INSPECTOR_STATE_DB, "
                "or run with --fresh to abandon that pass"
            )
        if current is not None and current.attachments_root != str(config.attachments_root):
            raise StateError(
                f"{config.state_db} holds an unfinished pass over {current.attachments_root}; "
                "run with --fresh to abandon it, or use another INSPECTOR_STATE_DB"
            )
        resumed = current is not None
        if current is None:
            current = state.start_pass(config, estimate)
        else:
            state.set_estimate(current.pass_id, estimate, config.jira_url)
            log.info(
                "resuming pass %d: new attachments after id %d%s", current.pass_id,
                max(current.cursor_id, current.head_id),
                f", then ids up to {current.head_id} after {current.cursor_old}" if current.head_id else "",
            )  # fmt: skip
    return estimate, resumed, current, config


def _base_url(config: Config, properties: dict[str, str]) -> Config:
    """Links to Jira's own base URL (jira.baseurl in its database) when INSPECTOR_JIRA_URL is not
    set and the login may read it; the pass records it, and the report links with it."""
    if config.jira_url != BY_NAME["JIRA_URL"].default:
        return config
    base = properties.get("jira.baseurl", "").strip().rstrip("/")
    if not base.startswith(("https://", "http://")):
        return config
    log.info("links go to %s: Jira's base URL, from its database (jira.baseurl)", base)
    return dataclasses.replace(config, jira_url=base)


def _attachments_path(config: Config, properties: dict[str, str]) -> Config:
    """The attachments folder Jira's database names (jira.path.attachments, when Jira is told
    not to use the default one) in place of the one INSPECTOR_JIRA_HOME inferred; never over a
    root the admin set. The Jira account is then taken from that folder, as for any root."""
    path = properties.get("jira.path.attachments", "").strip()
    default = properties.get("jira.path.attachments.use.default.directory", "1").strip().lower()
    if not config.root_from_home or not path or default in ("1", "true"):
        return config
    from ..config import config as configuration

    try:
        custom = configuration.from_env(root=path)
    except ConfigError as exc:  # a path of Jira's host that is not mounted here under that name
        log.warning("Jira's database keeps attachments in %s, which cannot be used here (%s); scanning %s",
                    path, str(exc).splitlines()[0], config.attachments_root)  # fmt: skip
        return config
    log.info("attachments in %s: the custom path in Jira's database (jira.path.attachments)", path)
    return dataclasses.replace(config, attachments_root=custom.attachments_root, identity=custom.identity,
                               jira_gid=custom.jira_gid, identity_guessed=custom.identity_guessed)  # fmt: skip


def _finish(config: Config, pass_id: int) -> dict:
    """Size the orphans (the walk read names only), close the pass, write the report.

    Orphans are found by DuckDB's anti-join over the state; only they are sized (report.size_orphans).
    """
    from ..report import build as report

    storage = open_storage(config)

    def settle(conn) -> None:  # each step may repeat: the report may be built a second time
        with State(config.state_db) as state:
            # A shard's unowned files are mostly other shards' (its rows are a share of the
            # instance): only the merge knows the orphans, and sizes them (merge.py).
            if config.shards == 1:
                report.size_orphans(conn, storage.entry_size, lambda sizes: state.set_sizes(pass_id, sizes))
            state.finish_pass(pass_id, config.keep_passes)

    return report.build(config.state_db, config.report_dir, pass_id, settle)


def run_pass(config: Config, *, fresh: bool = False, should_stop=None) -> Outcome:
    """One pass under the state's lock, stopping cleanly on SIGTERM/SIGINT (exit 128+signal)."""
    metrics = Metrics(config.metrics_file)
    try:
        with stop_signals(), exclusive(config.state_db):
            outcome = _run_pass(config, fresh, metrics, should_stop)
            tidy(config.state_db)
            return outcome
    except Paused:
        metrics.update(running=0)
        raise
    except InspectorError:
        metrics.update(running=0, last_failure_timestamp_seconds=int(time.time()))
        raise


def _run_pass(config: Config, fresh: bool, metrics: Metrics, should_stop) -> Outcome:
    estimate, resumed, current, config = _prepare(config, fresh)
    # Said once the lock is held and the root found right: a refused scan says only why.
    if config.jira_cloud_url:
        log.info("scanning the Jira Cloud site %s as %s", config.jira_cloud_url, config.jira_email)
    else:
        log.info("scanning %s against %s with %d checkers", config.attachments_root, config.db_target, config.checkers)
    metrics.update(running=1, rows_checked=current.rows_done, rows_estimate=estimate)
    pass_id = current.pass_id
    n = config.checkers
    reading, walkers = not current.reader_done, 0 if current.walk_done else config.walkers

    if config.jira_cloud_url:
        shown = Progress(estimate, current.rows_done, config.progress_interval, metrics)
        run_stages(config, _cloud_stages(config, current, reading), should_stop, shown)
        return _conclude(config, pass_id, metrics, should_stop, resumed)
    # Held for the whole run (a shared object nobody holds is gone before the children open it).
    claims = walker.Claims.shared(multiprocessing.get_context("spawn"), current.walk_cursor)

    def stages(reading: bool, walkers: int):
        def make(work_q, result_q, progress, _clock):
            plan = writer.Plan(pass_id, n, reading, walkers)
            procs: dict[str, tuple[Callable, tuple]] = {"writer": (writer.run, (config, plan, result_q, progress))}
            if reading:
                procs["reader"] = (reader.run, (config, current, work_q, result_q, n))
                for i in range(n):
                    procs[f"checker-{i}"] = (checker.run, (config, pass_id, work_q, result_q, i))
            for i in range(walkers):
                procs[f"walker-{i}"] = (walker.run, (config, pass_id, current.walk_cursor, result_q, claims, i))
            return procs

        return make

    if walkers and reading and capabilities(config.attachments_root).settles_from_listing:
        # Object storage: the walk lists every object first (a page of 1,000 per request) and the
        # checkers then settle rows from what it stored, instead of one request per row.
        log.info("listing %s first: its listings settle the attachment rows", config.attachments_root)
        run_stages(config, stages(False, walkers), should_stop)
        walkers = 0
    shown = Progress(estimate, current.rows_done, config.progress_interval, metrics)
    _warm_report()
    run_stages(config, stages(reading, walkers), should_stop, shown)
    return _conclude(config, pass_id, metrics, should_stop, resumed)


def _warm_report() -> None:
    """DuckDB and its SQLite extension, made ready while the stages run: the extension's
    signature check alone reads 35 MB (90 ms), and this process only waits for the stages."""

    def warm() -> None:
        from ..report import duckconn

        duckconn.warm_up()

    threading.Thread(target=warm, name="report-warm-up", daemon=True).start()


def _cloud_stages(config: Config, current: PassInfo, reading: bool):
    """A Jira Cloud pass: the Cloud reader, whose pages are already judged, and the writer.
    Its partitions are planned once, when the pass starts, and kept in the state."""
    from ..sources.cloud import CloudSource
    from .stages import cloudreader

    pass_id = current.pass_id
    with State(config.state_db) as state:
        if not state.partitions(pass_id):
            source = CloudSource(config)
            state.set_partitions(pass_id, [tuple(p) for p in source.partitions()])
            state.walk_finished(pass_id)  # nothing to walk: a Cloud site has no orphan files
        todo = [(name, project, after, stop, cursor) for name, project, after, stop, cursor, done
                in state.partitions(pass_id) if not done and config.shard.owns_name(project)]  # fmt: skip

    def make(work_q, result_q, progress, _clock):
        plan = writer.Plan(pass_id, 0, reading, 0)
        procs: dict[str, tuple[Callable, tuple]] = {"writer": (writer.run, (config, plan, result_q, progress))}
        if reading:
            procs["reader"] = (cloudreader.run, (config, pass_id, todo, result_q))
        return procs

    return make


def _conclude(config: Config, pass_id: int, metrics: Metrics, should_stop, resumed: bool) -> Outcome:
    """After the rows: hash for duplicates when asked, then the report."""
    hashing = None
    if config.hash:
        started = time.monotonic()
        hash_pass(config, pass_id, should_stop)
        hashing = time.monotonic() - started
        if config.jira_cloud_url:
            with State(config.state_db) as state:
                state.cloud_content_verdicts(pass_id)

    stored = time.monotonic()
    log.debug("pass stored; parent peak rss so far %.1f MB", peak_rss_mb())
    # A few seconds of DuckDB: a stop request now waits for the report instead of breaking it
    # (DuckDB turns the signal's exception into its own "Query interrupted").
    with signals_deferred() as pending:
        summary = _finish(config, pass_id)
    metrics.finished(summary)
    if hashing is not None:
        read = summary["hash_bytes_read"]
        log.info("hashing: %d bytes read in %.2f s (%.1f MB/s)", read, hashing, read / hashing / 1e6 if hashing else 0)
    if pending:
        raise Interrupted(pending[0])
    log.debug(
        "orphans sized and report written in %.2f s; parent peak rss %.1f MB", time.monotonic() - stored, peak_rss_mb()
    )
    return Outcome(pass_id, summary, resumed)


def hash_pass(config: Config, pass_id: int, should_stop=None) -> None:
    """Find duplicates by content among the pass's files: the files that share a size read at
    their first and last 64 KiB, those that share those too read whole. Files hashed before at
    the same size and time are not read again (so a merge of shards reads only what no shard
    could compare: files whose size another shard's files share)."""
    from ..report.html import human_bytes

    for level in (hasher.HEAD_TAIL, hasher.FULL):
        files, total = hasher.totals(config.state_db, pass_id, level)
        if not files:
            continue
        what = f"hashing {files} files ({'first and last 64 KiB' if level == hasher.HEAD_TAIL else 'whole'})"
        log.info("%s: %s to read", what, human_bytes(total))
        shown = Progress(total, 0, config.progress_interval, None, what)
        run_stages(config, _hashing(config, pass_id, level), should_stop, shown)


def _hashing(config: Config, pass_id: int, level: str):
    """The stages of one hashing round: the feeder, the checkers reading content, the writer."""
    n = config.checkers

    def stages(work_q, result_q, progress, clock):
        procs: dict[str, tuple[Callable, tuple]] = {
            "writer": (writer.run, (config, writer.Plan(pass_id, n, True, 0, hashing=True), result_q, progress)),
            "hasher": (hasher.run, (config, pass_id, level, work_q, result_q, n)),
        }
        for i in range(n):
            procs[f"checker-{i}"] = (checker.run, (config, pass_id, work_q, result_q, i, clock))
        return procs

    return stages


__all__ = ["InspectorError", "Outcome", "hash_pass", "run_pass", "stop_signals"]
