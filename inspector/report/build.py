"""Report stage: DuckDB queries over the state file produce summary.json/.txt and the lists.

``build`` is the one place the report is made, top to bottom: open the state with its views,
read once what the report shows, let the scan settle its pass, then write each file.
``analytics.py`` answers the storage questions (storage.json) and ``html.py`` writes the page;
neither calls back into this module. The user's ``--sql`` queries are ``query.py``'s.

DuckDB reads the SQLite state through the sqlite_scanner extension, loaded from the file the
``duckdb-extension-sqlite-scanner`` package ships (containers next to Jira have no internet,
so the extension is never downloaded). The state is attached read-only, so neither a report
nor a user's ``--sql`` query can change it.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

import duckdb
import orjson

from .. import sqlfiles
from ..errors import InspectorError, ReportError, StateError
from ..jira.model import flag_parameters
from ..runtime import lockfile
from . import analytics
from . import html as report_html
from .duckconn import literal as _literal
from .duckconn import take_connection
from .limits import DEFAULT, Limits
from .summary_text import text as summary_text

log = logging.getLogger("inspector.report")

LISTS = {  # file -> flag column of the attachments view
    "missing.txt": "missing",
    "permissions.txt": "permissions",
    "corrupted.txt": "corrupted",
    "errors.txt": "error",
}


SORTED_LISTS_FILE = ".sorted-lists.sqlite"
# The flagged lists by their file's name without .txt, which is also the summary's for their count.
_FLAGGED_LISTS = tuple(name.removesuffix(".txt") for name in LISTS)
# Orphans sized (lstat) and recorded at a time when the scan closes its pass.
ORPHAN_SIZE_CHUNK = 10_000
# A step whose memory grows with the instance (sql/report/largest_issue_sizes.sql) gets this
# much on one thread while the first limit holds, and spills the rest; on the retry, the larger.
BOUNDED_STEP_MEMORY_LIMIT = "24MB"


def _one(conn: duckdb.DuckDBPyConnection, name: str, params: list | None = None) -> tuple:
    """The one row of sql/report/<name>.sql."""
    row = conn.execute(sqlfiles.load(f"report/{name}"), params or []).fetchone()
    if row is None:
        raise ReportError(f"sql/report/{name}.sql returned no row")
    return row


def connect(
    state_db: Path, pass_id: int | None = None, spill_dir: Path | None = None, memory_limit: str | None = None,
    limits: Limits = DEFAULT,
) -> tuple[duckdb.DuckDBPyConnection, int]:  # fmt: skip
    """A DuckDB connection with the state attached read-only and the report views defined.
    ``spill_dir``: building the report files, hold DuckDB to ``memory_limit`` (default: the
    first of ``limits.memory``) and let the big aggregates spill there."""
    if not Path(state_db).is_file():
        raise StateError(f"no state file at {state_db}: run a scan first (python -m inspector)")
    if spill_dir is not None:
        # DuckDB creates the spill folder only when it first spills (at scale, mid-report), and
        # not its parents: the report folder must exist before that.
        try:
            Path(spill_dir).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ReportError(f"cannot write report files in {Path(spill_dir).parent}: {exc.strerror}") from None
    try:
        conn = take_connection()
    except duckdb.Error as exc:
        raise StateError(f"cannot read state file {state_db}: {exc}") from None
    try:
        if spill_dir is not None:
            conn.execute(f"SET temp_directory = {_literal(str(spill_dir))}")
            limit = memory_limit or limits.memory[0]
            step_limit = BOUNDED_STEP_MEMORY_LIMIT if limit == limits.memory[0] else limit
            conn.execute(f"SET memory_limit = {_literal(limit)}")
            conn.execute(f"SET VARIABLE report_memory_limit = {_literal(limit)}")
            conn.execute(f"SET VARIABLE step_memory_limit = {_literal(step_limit)}")
            conn.execute("SET VARIABLE report_threads = current_setting('threads')")
            conn.execute(f"SET VARIABLE few_rows = {int(limits.few_rows)}")
            conn.execute(f"SET VARIABLE orphan_partition_rows = {int(limits.orphan_partition_rows)}")
        conn.execute(f"ATTACH {_literal(str(Path(state_db).resolve()))} AS state (TYPE sqlite, READ_ONLY)")
        if pass_id is None:
            (pass_id,) = _one(conn, "choose_pass")
            if pass_id is None:
                raise StateError(f"{state_db} holds no pass yet: run a scan first")
        else:
            kept = [row[0] for row in conn.execute("SELECT pass_id FROM state.passes ORDER BY pass_id").fetchall()]
            if pass_id not in kept:
                shown = ", ".join(map(str, kept)) or "none"
                raise ReportError(f"--pass {pass_id}: {state_db} holds no such pass (passes kept: {shown})")
        conn.execute(f"SET VARIABLE pass_id = {int(pass_id)}")
        for name, bit in flag_parameters().items():
            conn.execute(f"SET VARIABLE {name} = {int(bit)}")
        _define_views(conn)
    except duckdb.Error as exc:
        conn.close()
        raise StateError(f"cannot read state file {state_db}: {exc}") from None
    except InspectorError:
        conn.close()
        raise
    return conn, int(pass_id)


def _define_views(conn: duckdb.DuckDBPyConnection) -> None:
    """The report's views (sql/report/views.sql) and the storage analytics' (analytics.sql);
    the tables a state file from an older inspector lacks are replaced by empty ones."""
    (has_blocked,) = _one(conn, "has_table", ["blocked_folders"])
    conn.execute(sqlfiles.load("report/blocked_source" if has_blocked else "report/blocked_source_empty"))
    (has_hashes,) = _one(conn, "has_table", ["file_hashes"])
    conn.execute(sqlfiles.load("report/hash_source" if has_hashes else "report/hash_source_empty"))
    (has_facts,) = _one(conn, "has_table", ["issue_facts"])
    conn.execute(sqlfiles.load("report/facts_source" if has_facts else "report/facts_source_empty"))
    (has_folders,) = _one(conn, "has_table", ["walked_folders"])
    conn.execute(sqlfiles.load("report/folder_files_source" if has_folders else "report/folder_files_source_empty"))
    (has_restores,) = _one(conn, "has_table", ["restores"])
    conn.execute(sqlfiles.load("report/restore_source" if has_restores else "report/restore_source_empty"))
    for name in ("report/views", "report/analytics"):
        for statement in sqlfiles.statements(name):
            conn.execute(statement)


def within_memory(build: Callable[[str], dict], memory: tuple[str, ...] = DEFAULT.memory) -> dict:
    """``build(memory_limit)`` with each of ``memory`` in turn until DuckDB does not run out
    of memory (a report that fails costs the user more than a larger peak)."""
    for limit, larger in itertools.pairwise(memory):
        try:
            return build(limit)
        except duckdb.OutOfMemoryException:
            log.warning("building the report ran out of its %s of memory; building it again with %s", limit, larger)
    try:
        return build(memory[-1])
    except duckdb.OutOfMemoryException as exc:
        raise ReportError(
            f"building the report ran out of memory even with {memory[-1]} "
            f"({str(exc).splitlines()[0]}); the state is kept, run `inspector report` to try again"
        ) from None


def spill_dir(report_dir: Path) -> Path:
    """Where a report build lets DuckDB spill (DuckDB removes its files when it closes)."""
    return Path(report_dir) / ".duckdb-spill"


def _named(conn: duckdb.DuckDBPyConnection, query: str) -> dict:
    cur = conn.execute(query)
    row = cur.fetchone()
    if row is None or cur.description is None:
        raise ReportError("the state holds no such pass")
    return dict(zip([d[0] for d in cur.description], row, strict=True))


def summary(conn: duckdb.DuckDBPyConnection) -> dict:
    result = _named(conn, sqlfiles.load("report/summary"))
    info = _named(conn, "SELECT * FROM current_pass")
    result.update(
        pass_id=info["pass_id"],
        status=info["status"],
        started_at=info["started_at"],
        finished_at=info["finished_at"],
        attachments_root=info["attachments_root"],
        jira_url=info["jira_url"],
        jira_uid=info["jira_uid"],
        jira_gids=[int(g) for g in info["jira_gids"].split(",") if g],
        rows_estimate=info["rows_estimate"],
        orphan_walk_complete=bool(info["walk_done"]),
    )
    try:
        shard = conn.execute(
            "SELECT shard_count, shard_index FROM state.passes WHERE pass_id = getvariable('pass_id')"
        ).fetchone()
    except duckdb.BinderException:  # a state from before shards (reports never migrate)
        shard = None
    result.update(shard_count=int(shard[0]) if shard else 1, shard_index=int(shard[1]) if shard else 0)
    merged = dict(conn.execute("SELECT key, value FROM state.meta WHERE key IN ('merged_shards', 'merged_run_id')"
                               ).fetchall())  # fmt: skip
    result.update(merged_shards=int(merged.get("merged_shards") or 0), run_id=merged.get("merged_run_id") or None)
    groups, copies, wasted = _one(conn, "duplicate_totals")
    result.update(duplicate_groups=groups, duplicate_copies=int(copies), duplicate_bytes=int(wasted))
    (result["hashed_files"],) = _one(conn, "hashed_count")
    try:
        (read,) = _one(conn, "pass_hash_bytes")
    except duckdb.BinderException:  # a state file from before hashing (not migrated yet: reports never write)
        read = 0
    result["hash_bytes_read"] = read
    result["error_kinds"] = dict(conn.execute(sqlfiles.load("report/error_kinds")).fetchall())
    return result


def _copy_lines(conn: duckdb.DuckDBPyConnection, query: str, target: Path) -> None:
    tmp = target.with_name(target.name + ".tmp")
    # Every field went through txt(): no delimiter, quote or newline needs CSV treatment.
    conn.execute(
        f"COPY ({query}) TO {_literal(str(tmp))} (FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER '\x1f')"
    )
    os.replace(tmp, target)


def _write_atomic(target: Path, data: bytes) -> None:
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def _release(conn: duckdb.DuckDBPyConnection) -> None:
    for statement in sqlfiles.statements("report/release_memory"):
        conn.execute(statement)


def _steps(conn: duckdb.DuckDBPyConnection, name: str) -> None:
    """The statements of sql/<name>.sql, with what each step held given back before the next."""
    for statement in sqlfiles.statements(name):
        conn.execute(statement)
        _release(conn)


def _one_thread(conn: duckdb.DuckDBPyConnection, name: str) -> None:
    """The statements of sql/<name>.sql on one DuckDB thread, then the build's own settings
    back (a step may also set its own memory limit)."""
    log.debug("report: %s on one thread", name)
    for statement in sqlfiles.statements("report/one_thread") + sqlfiles.statements(name):
        conn.execute(statement)
    _release(conn)


def _variable(conn: duckdb.DuckDBPyConnection, name: str) -> int:
    """A limit ``connect`` set on a build's connection."""
    (value,) = conn.execute(f"SELECT getvariable('{name}')").fetchone() or (None,)
    return int(value)


def materialize(conn: duckdb.DuckDBPyConnection) -> None:
    """Read what a report needs from the state once (flagged rows and orphans are few).
    Only for a connection made to build the report (``connect(..., spill_dir)``)."""
    _steps(conn, "report/materialize")
    partition = sqlfiles.load("report/orphans_partition")
    (count,) = _one(conn, "key_count")
    parts = max(1, count // _variable(conn, "orphan_partition_rows"))
    edges = [(2**64 - 1) * i // parts for i in range(parts + 1)]  # keys are uniform 64-bit hashes
    for i, (start, end) in enumerate(itertools.pairwise(edges)):
        conn.execute(partition, [start if i == 0 else start + 1, end])
        _release(conn)
    _steps(conn, "report/orphans_collect")
    _one_thread(conn, "report/largest_issue_sizes")
    _steps(conn, "report/shown_ids")
    (shown,) = _one(conn, "shown_count")
    few = shown <= _variable(conn, "few_rows")
    _one_thread(conn, "report/shown_rows" if few else "report/shown_rows_scan")
    _steps(conn, "report/largest")
    _steps(conn, "report/flagged" if few else "report/flagged_in_place")
    (hashed,) = _one(conn, "hashed_count")
    _steps(conn, "report/materialize_duplicates" if hashed else "report/no_duplicates")


def size_orphans(
    conn: duckdb.DuckDBPyConnection, size_of: Callable[[str], int], record: Callable[[list[tuple[str, int]]], None]
) -> None:
    """Size the orphans the walk did not size (it reads names only): ``size_of(relpath)`` for
    each, ``record([(relpath, size), ...])`` to keep them (in the state), ORPHAN_SIZE_CHUNK at
    a time, since a wrong attachments root makes every file an orphan and their paths must not
    be held whole. While they are few the sizes are set in this build too; when they are many,
    the orphans are read again from the state afterwards (sql/report/orphans_resized.sql)."""
    (count,) = _one(conn, "orphan_count")
    few = count <= _variable(conn, "few_rows")
    unsized, set_sizes = sqlfiles.load("report/orphans_unsized"), sqlfiles.load("report/orphan_sizes")
    for start in range(0, count, ORPHAN_SIZE_CHUNK):
        rows = conn.execute(unsized, [start, start + ORPHAN_SIZE_CHUNK]).fetchall()
        if not rows:
            continue
        sizes = [size_of(rel) for _, rel in rows]
        record([(rel, size) for (_, rel), size in zip(rows, sizes, strict=True)])
        if few:
            conn.execute(set_sizes, [[row for row, _ in rows], sizes])
    if not few:
        _one_thread(conn, "report/orphans_resized")


def _sort_on_disk(conn: duckdb.DuckDBPyConnection, path: Path, lists: Collection[str]) -> None:
    """Copy the rows of the long ``lists`` (flagged ones, orphans) into a new scratch SQLite
    file, attached to ``conn`` as ``sorted``, for SQLite to sort them
    (sql/report/sorted_attach.sql); ``build`` removes it."""
    log.debug("report: the long lists %s sorted on disk in %s", ", ".join(sorted(lists)), path)
    _unlink_sqlite(path)
    conn.execute(sqlfiles.load("report/sorted_attach").format(path=_literal(str(path))))
    if any(key in lists for key in _FLAGGED_LISTS):
        conn.execute(sqlfiles.load("report/sorted_fill_flagged"))
    if "orphans" in lists:
        conn.execute(sqlfiles.load("report/sorted_fill_orphans"))


def _unlink_sqlite(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + "-journal")):
        leftover.unlink(missing_ok=True)


def _write_lists(conn: duckdb.DuckDBPyConnection, report_dir: Path, long_lists: Collection[str]) -> None:
    """The .txt lists; the long ones (``long_lists``) sorted by SQLite in a scratch file."""
    if long_lists:
        _sort_on_disk(conn, report_dir / SORTED_LISTS_FILE, long_lists)
    for name, flag in LISTS.items():
        on_disk = name.removesuffix(".txt") in long_lists
        template = sqlfiles.load("report/list_flagged_sorted" if on_disk else "report/list_flagged")
        _copy_lines(conn, template.format(flag=flag), report_dir / name)
    orphans = "report/list_orphans_sorted" if "orphans" in long_lists else "report/list_orphans"
    _copy_lines(conn, sqlfiles.load(orphans), report_dir / "orphans.txt")
    _copy_lines(conn, sqlfiles.load("report/list_duplicates"), report_dir / "duplicates.txt")


def _write_html(conn: duckdb.DuckDBPyConnection, s: dict, storage: dict, target: Path, long_lists,
                limits: Limits) -> None:  # fmt: skip
    with open(target.with_name(target.name + ".tmp"), "w", encoding="utf-8") as out:
        report_html.write(conn, s, storage, out, sorted_lists=long_lists, limits=limits)
    os.replace(out.name, target)


def build(
    state_db: Path,
    report_dir: Path,
    pass_id: int | None = None,
    settle: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
    limits: Limits = DEFAULT,
) -> dict:
    """Write every report file for a pass (default: the newest) and return the summary.
    ``settle(conn)`` runs between reading the state and writing the files (the scan sizes the
    orphans and closes its pass there); it runs again if the build is done again. ``limits``:
    what bounds its memory (limits.py)."""
    report_dir = Path(report_dir)

    def attempt(memory_limit: str) -> dict:
        conn, _ = connect(state_db, pass_id, spill_dir(report_dir), memory_limit, limits)
        try:
            materialize(conn)  # flagged rows, orphans, the largest, duplicates: read once
            if settle is not None:
                settle(conn)
            report_dir.mkdir(parents=True, exist_ok=True)
            s = summary(conn)
            long_lists = {key for key in (*_FLAGGED_LISTS, "orphans") if s[key] > limits.few_rows}
            _write_lists(conn, report_dir, long_lists)
            storage = analytics.collect(conn)
            _write_atomic(report_dir / "storage.json", orjson.dumps(storage, option=orjson.OPT_INDENT_2) + b"\n")
            _write_atomic(report_dir / "summary.json", orjson.dumps(s, option=orjson.OPT_INDENT_2) + b"\n")
            _write_atomic(report_dir / "summary.txt", summary_text(s, report_dir).encode())
            _write_html(conn, s, storage, report_dir / "report.html", long_lists, limits)
            return s
        except duckdb.OutOfMemoryException:
            raise  # within_memory builds it again with more
        except duckdb.Error as exc:
            raise ReportError(f"building the report failed: {exc}") from None
        except OSError as exc:
            raise ReportError(f"cannot write report files in {report_dir}: {exc.strerror}") from None
        finally:
            conn.close()
            _unlink_sqlite(report_dir / SORTED_LISTS_FILE)

    with _one_build_at_a_time(report_dir):
        return within_memory(attempt, limits.memory)


@contextlib.contextmanager
def _one_build_at_a_time(report_dir: Path) -> Iterator[None]:
    """Builds of one report folder take turns (an OS lock on ``<report dir>/.lock``): an
    `inspector report` run while a scan finishes must not write its partial files over the
    scan's final ones when it ends last, nor share its scratch files. The lock dies with its
    holder; a build waits for the other's few seconds."""
    path = report_dir / ".lock"
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
        fd, _ = lockfile.take(path, wait=True)
    except OSError as exc:
        raise ReportError(f"cannot write report files in {report_dir}: {exc.strerror}") from None
    try:
        yield
    finally:
        lockfile.release(fd, path)  # (a clean build leaves no lock file in the report folder)
