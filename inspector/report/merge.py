"""``inspector report --merge STATE...``: one report from the state files of a pass split into
shards (INSPECTOR_SHARDS, one pod each), as one single run would have written it.

The shards' last finished passes are checked to belong together (the same number of shards,
every index once, the same root and source, each finished) and copied into one state file,
``merged-state.sqlite`` in the report folder, as one pass; the report is then built from it
like any other. Orphans are decided there, across shards: a file one shard walked is not an
orphan when a row another shard read owns it (each shard's own report can only say which files
no row *of its share* owns). ``report --sql`` over that file queries the whole instance.
"""

from __future__ import annotations

import glob
import logging
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from ..errors import ReportError
from ..runtime import readonly
from ..state import State, exclusive

if TYPE_CHECKING:
    from ..config.config import Config

log = logging.getLogger("inspector.report")

MERGED = "merged-state.sqlite"
# Tables copied from each shard's pass (pass_id replaced by the merged pass's, 1).
PER_PASS = ("results", "disk_files", "walked_folders", "blocked_folders", "issue_facts", "attachment_authors")


class ShardPass(NamedTuple):
    path: Path
    pass_id: int
    shards: int
    shard: int
    root: str
    source: str | None
    run_id: str | None = None
    finished_at: str | None = None


def expand(patterns: list[str]) -> list[Path]:
    """The state files named, globs expanded (sorted, each once)."""
    paths: list[Path] = []
    for pattern in patterns:
        found = sorted(glob.glob(pattern)) if any(ch in pattern for ch in "*?[") else [pattern]
        if not found:
            raise ReportError(f"--merge: no state file matches '{pattern}'")
        paths += [Path(p) for p in found]
    return list(dict.fromkeys(paths))


def _shard_pass(path: Path) -> ShardPass:
    if not path.is_file():
        raise ReportError(f"--merge: {path} is not a state file")
    try:
        conn = readonly.connect(path.resolve())
        try:
            columns = {row[1] for row in conn.execute("PRAGMA table_info(passes)")}
            if "shard_count" not in columns:
                raise ReportError(f"--merge: {path} was written by an inspector without shards; run the shards again")
            run = "run_id" if "run_id" in columns else "NULL"  # (a state from before run ids)
            newest = conn.execute(
                f"SELECT pass_id, status, shard_count, shard_index, attachments_root, source, {run}, finished_at "
                "FROM passes WHERE status IN ('running', 'finished') ORDER BY pass_id DESC LIMIT 1"
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise ReportError(f"--merge: {path} cannot be read as a state file: {exc}") from None
    if newest is None:
        raise ReportError(f"--merge: {path} holds no pass: run that shard first")
    pass_id, status, count, index, root, source, run_id, finished_at = newest
    if status != "finished":
        raise ReportError(f"--merge: shard {index} ({path}) has not finished its pass {pass_id}: let it finish")
    return ShardPass(path, pass_id, count, index, root, source, run_id, finished_at)


def check(shards: list[ShardPass]) -> int:
    """The number of shards, once every state belongs to one set; else ReportError naming the
    shard that does not."""
    first = shards[0]
    for s in shards[1:]:
        if s.shards != first.shards:
            raise ReportError(
                f"--merge: {s.path} is shard {s.shard} of {s.shards}, but {first.path} is one of {first.shards}"
            )
        if s.root != first.root:
            raise ReportError(f"--merge: shard {s.shard} ({s.path}) checked {s.root}, not {first.root}")
        if s.source != first.source:
            raise ReportError(f"--merge: shard {s.shard} ({s.path}) read {s.source}, not {first.source}")
    seen: dict[int, Path] = {}
    for s in shards:
        if s.shard in seen:
            raise ReportError(f"--merge: shard {s.shard} is there twice ({seen[s.shard]} and {s.path})")
        seen[s.shard] = s.path
    _one_run(shards)
    missing = sorted(set(range(first.shards)) - set(seen))
    if missing:
        raise ReportError(
            f"--merge: shard {missing[0]} of {first.shards} is missing (given: {', '.join(map(str, sorted(seen)))})"
        )
    return first.shards


def _one_run(shards: list[ShardPass]) -> None:
    """The shards' passes are one run: the same INSPECTOR_RUN_ID, or (none set) finished within
    a day of each other. Else today's shard 0 would be joined with last week's shard 1, and the
    files uploaded in between would show up as orphans."""
    ids = {s.run_id for s in shards}
    if ids != {None}:
        if len(ids) > 1:
            said = ", ".join(f"shard {s.shard}: {s.run_id or 'none'}" for s in sorted(shards, key=lambda s: s.shard))
            raise ReportError(f"--merge: the shards come from different runs (INSPECTOR_RUN_ID {said}): "
                              "run every shard of one run again, or merge the shards of one run")  # fmt: skip
        return
    from datetime import datetime

    times = sorted((datetime.fromisoformat(s.finished_at), s) for s in shards if s.finished_at)
    if times and (times[-1][0] - times[0][0]).total_seconds() > 86_400:
        early, late = times[0][1], times[-1][1]
        raise ReportError(
            f"--merge: shard {early.shard} finished {early.finished_at} and shard {late.shard} {late.finished_at}, "
            "more than a day apart: not one run (set INSPECTOR_RUN_ID to the Job's uid to merge them anyway)"
        )
    log.warning("the shards carry no INSPECTOR_RUN_ID: that they are one run could not be checked (they finished "
                "within a day of each other)")  # fmt: skip


def size_orphans(merged: Path):
    """The report's settle step for a merge: size the orphans the merge found (the shards
    could not tell theirs from other shards' files, so none sized them), where the attachments
    root is configured here; without it the orphans are listed with no size."""
    from ..errors import ConfigError
    from ..storage import open_storage
    from . import build as report

    try:
        settings = _settings(merged)
    except ConfigError as exc:
        log.warning("orphans listed without their sizes: the attachments are not reachable here (%s)",
                    str(exc).splitlines()[0])  # fmt: skip
        return None
    storage = open_storage(settings)

    def settle(conn) -> None:
        with State(merged) as state:
            report.size_orphans(conn, storage.entry_size, lambda sizes: state.set_sizes(1, sizes))

    return settle


def complete_duplicates(merged: Path) -> None:
    """Hash across shards: a shard compared sizes within its own share only, so two copies that
    landed in different shards were never read. The merged pass is hashed like a single run's;
    everything a shard already hashed is valid and not read again."""
    import dataclasses

    from ..scan.pipeline import hash_pass

    settings = dataclasses.replace(_settings(merged), state_db=merged, hash=True, shards=1, shard_index=0)
    hash_pass(settings, 1)


def _settings(merged: Path) -> Config:
    """The configuration with the attachments root the shards checked (the merged pass's), not
    whatever this environment names: orphans are sized, and files hashed, where they were found."""
    import os

    from ..config import config as configuration

    conn = readonly.connect(merged)
    try:
        (root,) = conn.execute("SELECT attachments_root FROM passes WHERE pass_id = 1").fetchone()
    finally:
        conn.close()
    name = configuration.PREFIX + "ATTACHMENTS_ROOT"
    here = (os.environ.get(name) or "").strip()
    if here and here != root and os.path.realpath(here) != os.path.realpath(root):
        log.warning("the shards checked %s: the merge reads that, not %s=%s", root, name, here)
    return configuration.from_env(require_db=False, root=root)


def merge(patterns: list[str], report_dir: Path) -> Path:
    """Check the shards, copy their passes into one state file; returns its path."""
    shards = [_shard_pass(p) for p in expand(patterns)]
    count = check(shards)
    shards.sort(key=lambda s: s.shard)
    report_dir.mkdir(parents=True, exist_ok=True)
    target = report_dir / MERGED
    # Under the merged state's own lock: a restore --apply working from it (it takes the same
    # lock) is not left writing into a deleted file; the merge waits for nothing and says so.
    with exclusive(target):
        for leftover in (target, Path(f"{target}-wal"), Path(f"{target}-shm")):
            leftover.unlink(missing_ok=True)
        _copy_shards(target, shards)
    log.info("merged %d shards into %s", count, target)
    return target


def _copy_shards(target: Path, shards: list[ShardPass]) -> None:
    with State(target) as state:
        conn = state.conn
        for i, s in enumerate(shards):  # (SQLite attaches outside a transaction only)
            conn.execute("ATTACH DATABASE ? AS " + f"shard{i}", (str(s.path.resolve()),))
        with state.transaction():
            union = " UNION ALL ".join(
                f"SELECT * FROM shard{i}.passes WHERE pass_id = {s.pass_id}" for i, s in enumerate(shards)
            )
            conn.execute(f"""
                INSERT INTO passes (pass_id, status, started_at, finished_at, attachments_root, jira_url, jira_uid,
                                    jira_gids, rows_estimate, cursor_id, rows_done, reader_done, walk_done,
                                    hash_bytes, shard_count, shard_index, source)
                SELECT 1, 'finished', min(started_at), max(finished_at), min(attachments_root), min(jira_url),
                       min(jira_uid), min(jira_gids), sum(rows_estimate), max(cursor_id), sum(rows_done), 1,
                       min(walk_done), sum(hash_bytes), 1, 0, min(source)
                FROM ({union})
            """)
            for table in PER_PASS:
                columns = [row[1] for row in conn.execute(f"PRAGMA main.table_info({table})")]
                rest = ", ".join(c for c in columns if c != "pass_id")
                for i, s in enumerate(shards):
                    if not conn.execute(f"SELECT 1 FROM shard{i}.sqlite_master WHERE name = ?", (table,)).fetchone():
                        continue  # a shard's state from before the table (walked_folders: schema 11)
                    conn.execute(
                        f"INSERT OR REPLACE INTO main.{table} (pass_id, {rest}) "
                        f"SELECT 1, {rest} FROM shard{i}.{table} WHERE pass_id = ?",
                        (s.pass_id,),
                    )
            for i in range(len(shards)):
                conn.execute(f"INSERT OR REPLACE INTO main.file_hashes SELECT * FROM shard{i}.file_hashes")
            # What the merged summary says of the run: its id, or '' for shards that carried none.
            run = shards[0].run_id if len({s.run_id for s in shards}) == 1 else None
            conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                             [("merged_shards", str(len(shards))), ("merged_run_id", run or "")])  # fmt: skip
        for i in range(len(shards)):
            conn.execute(f"DETACH DATABASE shard{i}")
