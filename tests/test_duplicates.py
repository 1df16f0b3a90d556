"""Duplicates by content (--hash) on a real Jira world: hand-made sets prove the grouping exact,
files are read only when they might have a twin, and a second pass re-reads nothing unchanged."""

from __future__ import annotations

import os
import random
import sqlite3
from contextlib import closing

import orjson
import pytest

from inspector.scan.stages.hasher import EDGE
from jiraworld import world

from .helpers import healthy_files, inspector_env, read_list, run_cli, serve_through_a_closed_window

KIB = 1024


def _healthy(root, expected, n):
    found = healthy_files(root, expected)
    ids = sorted(found)[10 : 10 + n]
    assert len(ids) == n
    return [(aid, found[aid]) for aid in ids]


def _write(jira, expected, aid, path, data: bytes):
    """Give attachment ``aid`` new content, and the database the matching filesize."""
    st = os.stat(path)
    with open(path, "wb") as f:
        f.write(data)
    os.chown(path, st.st_uid, st.st_gid)
    jira.execute("UPDATE fileattachment SET filesize = %s WHERE id = %s", (len(data), aid))
    expected.record(aid, data, len(data))


def _groups(env) -> list[set[int]]:
    out = run_cli(["report", "--sql", "SELECT list(id ORDER BY id) AS ids FROM duplicates GROUP BY group_id",
                   "--format", "json"], env)  # fmt: skip
    assert out.returncode == 0, out.stderr
    return sorted((set(r["ids"]) for r in orjson.loads(out.stdout)), key=min)


def _hashes(state) -> dict[str, tuple]:
    with closing(sqlite3.connect(state)) as c:
        return {
            r[0]: r[1:]
            for r in c.execute("SELECT relpath, head_tail IS NOT NULL, full_hash IS NOT NULL FROM file_hashes")
        }


def test_hand_made_duplicate_sets_are_grouped_exactly(jira, workdir):
    root = workdir / "attachments"
    expected = world.build(jira.admin_dsn, root, world.WorldSpec(attachments=300, seed=31, duplicate_rate=0))
    rng = random.Random(1)
    files = _healthy(root, expected, 14)
    (a1, p1), (a2, p2), (a3, p3), (a4, p4), (a5, p5), (a6, p6), (a7, p7) = files[:7]
    (a8, p8), (a9, p9), (a10, p10), (a11, p11), (a12, p12), (a13, p13), (a14, p14) = files[7:]
    big = rng.randbytes(200 * KIB)
    for aid, path in ((a1, p1), (a2, p2), (a3, p3)):  # true copies
        _write(jira, expected, aid, path, big)
    _write(jira, expected, a4, p4, rng.randbytes(200 * KIB))  # same size, different content
    _write(jira, expected, a5, p5, rng.randbytes(200 * KIB))
    head, tail = rng.randbytes(EDGE), rng.randbytes(EDGE)
    _write(jira, expected, a6, p6, head + b"A" * 100 * KIB + tail)  # same first and last 64 KiB,
    _write(jira, expected, a7, p7, head + b"B" * 100 * KIB + tail)  # different middle
    _write(jira, expected, a8, p8, b"")  # zero-byte files are not duplicates
    _write(jira, expected, a9, p9, b"")
    _write(jira, expected, a10, p10, big)  # a copy Jira cannot read does not count
    os.chmod(p10, 0o000)
    expected.permissions.add(a10)
    _write(jira, expected, a11, p11, big)  # a readable copy does
    small = rng.randbytes(1000)
    _write(jira, expected, a12, p12, small)  # small files are hashed whole in one read
    _write(jira, expected, a13, p13, small)
    _write(jira, expected, a14, p14, rng.randbytes(77_777))  # a size nobody else has: never read

    env = inspector_env(jira, root, workdir)
    result = run_cli(["run", "--hash"], env)
    assert result.returncode == 0, result.stderr
    got = _groups(env)
    assert got == expected.duplicate_groups
    assert {a1, a2, a3, a11} in got and {a12, a13} in got
    assert not any(g & {a4, a5, a6, a7, a8, a9, a10, a14} for g in got)

    rel = {aid: os.path.relpath(path, root) for aid, path in files}
    hashes = _hashes(workdir / "state.sqlite")
    assert rel[a14] not in hashes and rel[a8] not in hashes  # unique size, empty: never read
    assert rel[a10] not in hashes  # flagged permissions: not a candidate
    assert hashes[rel[a4]] == (1, 0) and hashes[rel[a5]] == (1, 0)  # told apart by head/tail
    assert hashes[rel[a6]] == (1, 1) and hashes[rel[a7]] == (1, 1)  # only the full read tells

    summary = orjson.loads((workdir / "report/summary.json").read_bytes())
    wasted = sum((len(g) - 1) * expected.content[min(g)][0] for g in expected.duplicate_groups)
    assert summary["duplicate_bytes"] == wasted and summary["duplicate_groups"] == len(expected.duplicate_groups)
    lines = read_list(workdir / "report/duplicates.txt")
    assert len(lines) == sum(len(g) - 1 for g in expected.duplicate_groups)
    copies = {int(f[0].split("/secure/attachment/")[1].split("/")[0]): f for f in lines}
    assert a1 not in copies and {a2, a3, a11} <= set(copies)  # the oldest upload is the original
    assert f"/secure/attachment/{a1}/" in copies[a2][1]
    assert "in duplicate copies" in (workdir / "report/summary.txt").read_text()

    # A second pass over unchanged files reads nothing; a changed file alone is read again.
    assert run_cli(["run", "--hash"], env).returncode == 0
    again = orjson.loads((workdir / "report/summary.json").read_bytes())
    assert again["pass_id"] == 2 and again["hash_bytes_read"] == 0 and _groups(env) == got
    _write(jira, expected, a3, p3, big[:-1] + bytes([big[-1] ^ 1]))  # same size, last byte differs
    os.utime(p3, (1, 1))
    assert run_cli(["run", "--hash"], env).returncode == 0
    third = orjson.loads((workdir / "report/summary.json").read_bytes())
    assert third["hash_bytes_read"] == 2 * EDGE  # only a3's head and tail: it no longer matches
    assert {a1, a2, a11} in _groups(env) and not any(a3 in g for g in _groups(env))


def test_hashing_is_opt_in(jira, workdir):
    root = workdir / "attachments"
    world.build(jira.admin_dsn, root, world.WorldSpec(attachments=100, seed=32))
    env = inspector_env(jira, root, workdir)
    assert run_cli([], env).returncode == 0
    summary = orjson.loads((workdir / "report/summary.json").read_bytes())
    assert summary["hashed_files"] == 0 and summary["hash_bytes_read"] == 0 and summary["duplicate_groups"] == 0
    assert "duplicates not searched: run with --hash" in (workdir / "report/summary.txt").read_text()
    # times reach Python as plain UTC timestamps (a TIMESTAMPTZ would need pytz, which we do not ship)
    out = run_cli(["report", "--sql", "SELECT created, mtime FROM attachments WHERE mtime IS NOT NULL LIMIT 1",
                   "--format", "json"], env)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert orjson.loads(out.stdout)[0]["created"].startswith("20")


@pytest.mark.parametrize("level", ["hash-head-tail", "hash-full"])
def test_unreadable_or_changed_files_record_why(tmp_path, level):
    from inspector.runtime.throttle import Pacer
    from inspector.scan.stages.hasher import hash_items
    from inspector.storage.posix import PosixStorage

    (tmp_path / "a").write_bytes(b"x" * 300_000)
    st = os.stat(tmp_path / "a")
    out = []
    items = [("a", 300_000, int(st.st_mtime)), ("a", 5, int(st.st_mtime)), ("gone", 10, 0)]
    hash_items(PosixStorage(tmp_path), items, level, Pacer(0), out)
    rows, read = [row for row, _ in out], sum(n for _, n in out)
    assert rows[0]["error"] is None and (rows[0]["head_tail"] if level == "hash-head-tail" else rows[0]["full_hash"])
    assert rows[1]["error"] == "changed since the scan" and rows[1]["head_tail"] is None
    assert rows[2]["error"] == "ENOENT (No such file or directory)"
    assert read == (2 * EDGE if level == "hash-head-tail" else 300_000)


def _hash_bytes(state) -> int:
    try:
        with closing(sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=1)) as c:
            row = c.execute("SELECT hash_bytes FROM passes ORDER BY pass_id DESC LIMIT 1").fetchone()
            return row[0] if row else 0
    except sqlite3.Error:
        return 0


def test_hashing_reads_only_inside_the_maintenance_windows(jira, workdir, monkeypatch):
    root = workdir / "attachments"
    expected = world.build(jira.admin_dsn, root, world.WorldSpec(attachments=200, seed=33, duplicate_rate=0))
    rng = random.Random(2)
    files = _healthy(root, expected, 6)
    for i in range(3):  # three pairs of 2 MiB copies: 12 MiB to read at 2 MB/s
        data = rng.randbytes(2 * 1024 * KIB)
        for aid, path in files[2 * i : 2 * i + 2]:
            _write(jira, expected, aid, path, data)
    env = inspector_env(jira, root, workdir, INSPECTOR_HASH="1", INSPECTOR_HASH_MAX_MBPS="2")
    # the window closes once hashing has read 2 MiB
    outcome, seen = serve_through_a_closed_window(
        monkeypatch, env, workdir / "state.sqlite", _hash_bytes, 2 * 1024 * KIB
    )
    assert 0 < seen["at_pause"] == seen["after_wait"]  # nothing read while the window was closed
    assert outcome.resumed and outcome.summary["duplicate_groups"] == len(expected.duplicate_groups) >= 3
    assert {files[0][0], files[1][0]} in expected.duplicate_groups


def test_hashes_of_deleted_attachments_leave_with_the_last_pass_that_had_them(jira, workdir):
    root = workdir / "attachments"
    world.build(jira.admin_dsn, root, world.WorldSpec(attachments=200, seed=34))
    env = inspector_env(jira, root, workdir)  # two passes kept (the default)
    state = workdir / "state.sqlite"
    assert run_cli(["run", "--hash"], env).returncode == 0
    hashed = _hashes(state)
    assert len(hashed) > 2
    gone = sorted(hashed)[0]
    with closing(sqlite3.connect(state)) as c:
        (gone_id,) = c.execute("SELECT id FROM results WHERE relpath = ?", (gone,)).fetchone()
    jira.execute("DELETE FROM fileattachment WHERE id = %s", (gone_id,))
    os.remove(root / gone)

    assert run_cli(["run", "--hash"], env).returncode == 0
    assert gone in _hashes(state)  # the first pass, still kept, has its row
    assert run_cli(["run", "--hash"], env).returncode == 0
    left = _hashes(state)
    assert gone not in left  # no kept pass has it any more
    assert set(hashed) - {gone} <= set(left)  # every hash of a file still there stays
