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
from typing import NamedTuple

from . import readonly
from .errors import ReportError
from .state import State, exclusive

log = logging.getLogger("inspector.report")

MERGED = "merged-state.sqlite"
# Tables copied from each shard's pass (pass_id replaced by the merged pass's, 1).
PER_PASS = ("results", "disk_files", "blocked_folders", "issue_facts", "attachment_authors")


class ShardPass(NamedTuple):
    path: Path
    pass_id: int
    shards: int
    shard: int
    root: str
    source: str | None


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
            newest = conn.execute(
                "SELECT pass_id, status, shard_count, shard_index, attachments_root, source "
                "FROM passes WHERE status IN ('running', 'finished') ORDER BY pass_id DESC LIMIT 1"
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise ReportError(f"--merge: {path} cannot be read as a state file: {exc}") from None
    if newest is None:
        raise ReportError(f"--merge: {path} holds no pass: run that shard first")
    pass_id, status, count, index, root, source = newest
    if status != "finished":
        raise ReportError(f"--merge: shard {index} ({path}) has not finished its pass {pass_id}: let it finish")
    return ShardPass(path, pass_id, count, index, root, source)


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
    missing = sorted(set(range(first.shards)) - set(seen))
    if missing:
        raise ReportError(
            f"--merge: shard {missing[0]} of {first.shards} is missing (given: {', '.join(map(str, sorted(seen)))})"
        )
    return first.shards


def size_orphans(merged: Path):
    """The report's settle step for a merge: size the orphans the merge found (the shards
    could not tell theirs from other shards' files, so none sized them), where the attachments
    root is configured here; without it the orphans are listed with no size."""
    from . import config as configuration
    from . import report
    from .errors import ConfigError
    from .storage import open_storage

    try:
        settings = configuration.from_env(require_db=False)
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

    from . import config as configuration
    from .pipeline import hash_pass

    settings = dataclasses.replace(configuration.from_env(require_db=False), state_db=merged, hash=True, shards=1,
                                   shard_index=0)  # fmt: skip
    hash_pass(settings, 1)


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
                    conn.execute(
                        f"INSERT OR REPLACE INTO main.{table} (pass_id, {rest}) "
                        f"SELECT 1, {rest} FROM shard{i}.{table} WHERE pass_id = ?",
                        (s.pass_id,),
                    )
            for i in range(len(shards)):
                conn.execute(f"INSERT OR REPLACE INTO main.file_hashes SELECT * FROM shard{i}.file_hashes")
        for i in range(len(shards)):
            conn.execute(f"DETACH DATABASE shard{i}")
