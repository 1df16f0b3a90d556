"""The baseline every speed figure is a ratio against: a careful single-process scanner.

What a competent admin would write in an afternoon, and correct: one server-side cursor, one
stat per row (following symlinks, with the legacy-name and dangling-link rules), permission
evaluation per row from stat data (the file, and execute permission on every folder from the
root down; each folder stat'ed once and its verdict kept in a dict), results inserted into
SQLite in batched transactions, then an ``os.scandir`` walk for orphans and the same lists
written from SQLite queries.

It uses the same SQL for reading Jira and the same state schema as the inspector, but none of
the inspector's pipeline or caches. Configured by the same INSPECTOR_* variables.

    python benchmarks/baseline.py
"""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
import sys
import time
import urllib.parse
from pathlib import Path

import psycopg

from inspector import sqlfiles

MISSING, PERMS, CORRUPT, ERROR = 1, 2, 4, 8


def allowed(st, uid, gids, owner, group, other):
    if uid == 0:
        return True
    if st.st_uid == uid:
        return bool(st.st_mode & owner)
    if st.st_gid in gids:
        return bool(st.st_mode & group)
    return bool(st.st_mode & other)


def judge_folder(root, rel, uid, gids):
    """(Jira may enter it, (flag, detail) if the folder is not there), from one stat."""
    try:
        st = os.stat(f"{root}/{rel}" if rel else root)
    except OSError as exc:
        kind = PERMS if exc.errno == errno.EACCES else MISSING if exc.errno == errno.ENOENT else ERROR
        return False, (kind, f"folder {rel}: {exc.strerror}")
    if not stat.S_ISDIR(st.st_mode):
        return False, (MISSING, f"{rel} is not a folder")
    return allowed(st, uid, gids, stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH), None


def check(row, root, uid, gids, folders):
    (aid, _issue_id, issue_exists, num, project_id, _pkey, okey, *_rest) = row
    filesize = row[10]
    if not issue_exists or project_id is None or num is None or num < 1:
        return None, None, MISSING, "issue or project does not exist"
    if not okey or not okey.isascii() or not okey.replace("_", "").isalnum() or not okey[0].isalpha():
        return None, None, ERROR, "project key is not a plain Jira key"
    folder = f"{okey}/{((num - 1) // 10000 + 1) * 10000}/{okey}-{num}"
    flags, detail = 0, []
    rel = ""
    for part in ["", *folder.split("/")]:
        rel = f"{rel}/{part}" if rel else part
        known = folders.get(rel)
        if known is None:
            known = folders[rel] = judge_folder(root, rel, uid, gids)
        enterable, failure = known
        if failure is not None:
            return (f"{folder}/{aid}", None, *failure)
        if not enterable and not flags:
            flags |= PERMS
            detail.append(f"Jira cannot enter {rel}")
    path = f"{folder}/{aid}"
    try:
        st = os.stat(f"{root}/{path}")
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            return path, None, flags | (PERMS if exc.errno == errno.EACCES else ERROR), exc.strerror
        try:
            if stat.S_ISLNK(os.lstat(f"{root}/{path}").st_mode):
                return path, None, flags | MISSING, "dangling symlink"
        except OSError:
            pass
        legacy = f"{aid}_{row[9]}" if row[9] and "/" not in row[9] else None
        try:
            names = os.listdir(f"{root}/{folder}") if legacy else []
        except OSError:
            names = []
        if legacy not in names:
            return path, None, flags | MISSING, "no file"
        path = f"{folder}/{legacy}"
        try:
            st = os.stat(f"{root}/{path}")
        except OSError as e2:
            return path, None, flags | ERROR, e2.strerror
    if not stat.S_ISREG(st.st_mode):
        flags |= CORRUPT
        detail.append("not a regular file")
    elif filesize is not None and st.st_size != filesize:
        flags |= CORRUPT
        detail.append(f"expected {filesize} bytes, found {st.st_size}")
    if not allowed(st, uid, gids, stat.S_IRUSR, stat.S_IRGRP, stat.S_IROTH):
        flags |= PERMS
        detail.append("Jira cannot read the file")
    return path, st, flags, "; ".join(detail) or None


def walk(root):
    stack, seen = [""], set()
    while stack:
        rel = stack.pop()
        try:
            with os.scandir(f"{root}/{rel}" if rel else root) as it:
                for entry in it:
                    child = f"{rel}/{entry.name}" if rel else entry.name
                    try:
                        is_dir = entry.is_dir()  # symlinked folders are followed, as Jira does
                        if is_dir and entry.is_symlink():
                            st = entry.stat()
                            if (st.st_dev, st.st_ino) in seen:
                                continue
                            seen.add((st.st_dev, st.st_ino))
                    except OSError:
                        is_dir = False
                    if is_dir:
                        if not (rel.count("/") == 2 and entry.name == "thumbs"):
                            stack.append(child)
                    else:
                        yield child
        except OSError:
            continue


def main() -> int:
    env = os.environ
    dsn, root = env["INSPECTOR_DB_DSN"], env["INSPECTOR_ATTACHMENTS_ROOT"]
    state = Path(env.get("INSPECTOR_STATE_DB", "baseline-state.sqlite"))
    report = Path(env.get("INSPECTOR_REPORT_DIR", "baseline-report"))
    jira_url = env.get("INSPECTOR_JIRA_URL", "http://jira.invalid")
    root_st = os.stat(root)
    uid = int(env.get("INSPECTOR_JIRA_UID", root_st.st_uid))
    gids = {int(env.get("INSPECTOR_JIRA_GID", root_st.st_gid))}
    started = time.perf_counter()

    for suffix in ("", "-wal", "-shm"):
        Path(f"{state}{suffix}").unlink(missing_ok=True)
    db = sqlite3.connect(state, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    for statement in sqlfiles.statements("state/schema_v1"):
        db.execute(statement)
    insert = sqlfiles.load("state/insert_result")
    # The schema-1 table, without the ownership flag the inspector's writer keeps up to date.
    insert_disk = "INSERT OR IGNORE INTO disk_files (pass_id, relpath, att_id, size, kind) VALUES (?, ?, ?, ?, ?)"

    folders = {}  # every folder's verdict, from one stat each: a careful script does not repeat them
    with psycopg.connect(dsn) as conn, conn.cursor(name="baseline") as cur:
        cur.itersize = 1000
        cur.execute(
            sqlfiles.load("postgres/attachments_segment"),
            {"after": 0, "until": 10**18 - 1, "limit": 10**12, "shards": 1, "shard": 0},
        )
        while rows := cur.fetchmany(1000):
            batch = []
            for row in rows:
                path, st, flags, detail = check(row, root, uid, gids, folders)
                if st is None:
                    batch.append((1, *row, path, None, None, None, None, None, flags, detail))
                else:
                    batch.append((1, *row, path, st.st_size, st.st_mode, st.st_uid, st.st_gid, int(st.st_mtime),
                                  flags, detail))  # fmt: skip
            db.execute("BEGIN")
            db.executemany(insert, batch)
            db.execute("COMMIT")

    disk = []
    for rel in walk(root):
        name = rel.rsplit("/", 1)[-1]
        head = name.split("_", 1)[0]
        disk.append((1, rel, int(head) if head.isdigit() and rel.count("/") == 3 else None, None, "file"))
        if len(disk) >= 1000:
            db.execute("BEGIN")
            db.executemany(insert_disk, disk)
            db.execute("COMMIT")
            disk = []
    db.execute("BEGIN")
    db.executemany(insert_disk, disk)
    db.execute("COMMIT")

    report.mkdir(parents=True, exist_ok=True)

    def esc(value):
        text = "" if value is None else str(value)
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
        return "".join("?" if ord(c) < 32 or ord(c) == 127 else c for c in text)

    counts = {}
    for name, bit in (("missing", MISSING), ("permissions", PERMS), ("corrupted", CORRUPT), ("errors", ERROR)):
        rows = db.execute(
            "SELECT id, project_key, issue_num, issue_id, project_name, filename, detail FROM results "
            "WHERE flags & ? ORDER BY project_key IS NULL, project_key, issue_num IS NULL, issue_num, id",
            (bit,),
        ).fetchall()
        counts[name] = len(rows)
        with open(report / f"{name}.txt", "w") as f:
            for aid, pkey, num, issue_id, pname, filename, detail in rows:
                link = f"{jira_url}/secure/attachment/{aid}/{urllib.parse.quote(filename or '', safe='')}"
                key = f"{pkey}-{num}" if pkey and num is not None else f"issue {issue_id}"
                f.write("\t".join(esc(v) for v in (link, key, pname or "?", filename, detail)) + "\n")
    orphans = [r[0] for r in db.execute(
        "SELECT relpath FROM disk_files d WHERE NOT EXISTS (SELECT 1 FROM results r "
        "WHERE r.pass_id = d.pass_id AND r.id = d.att_id AND r.relpath = d.relpath) ORDER BY relpath"
    )]  # fmt: skip
    (report / "orphans.txt").write_text("".join(esc(p) + "\n" for p in orphans))
    (total,) = db.execute("SELECT count(*) FROM results").fetchone()
    counts.update(total_attachments=total, orphans=len(orphans))
    print(" ".join(f"{k}={v}" for k, v in counts.items()), f"seconds={time.perf_counter() - started:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
