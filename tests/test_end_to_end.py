"""The real thing: a Jira database with the real schema, a generated tree with planted faults,
and ``python -m inspector`` in its own process tree (spawned stages, read-only role)."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import sqlite3
import stat

import orjson
import psycopg
import pytest

from jiraworld import world

from .helpers import ids_in, inspector_env, make_config, read_list, run_cli

LISTS = {
    "missing.txt": "missing",
    "permissions.txt": "permissions",
    "corrupted.txt": "corrupted",
    "errors.txt": "errors",
}


def scan_world(jira, workdir, spec=None, **env_extra):
    root = workdir / "attachments"
    expected = world.build(jira.admin_dsn, root, spec or world.WorldSpec(attachments=600, hostile_rate=0.2))
    env = inspector_env(jira, root, workdir, **env_extra)
    return expected, env


def assert_report_matches(report_dir, expected):
    summary = orjson.loads((report_dir / "summary.json").read_bytes())
    assert summary["status"] == "finished"
    assert summary["total_attachments"] == expected.total
    for name, attr in LISTS.items():
        want = getattr(expected, attr)
        assert ids_in(report_dir / name) == want, name
        assert summary["errors" if attr == "errors" else attr] == len(want)
        lines = read_list(report_dir / name)
        assert len(lines) == len(want)  # one line per attachment, whatever the filename holds
        assert all(len(fields) == 5 for fields in lines)
    assert (report_dir / "orphans.txt").read_text().splitlines() == sorted(expected.orphans)
    assert summary["orphans"] == len(expected.orphans)
    assert summary["issues_with_problems"] == expected.issues_with_problems
    return summary


def test_scan_reports_exactly_the_planted_faults(jira, workdir):
    expected, env = scan_world(jira, workdir, INSPECTOR_BATCH_SIZE="37", INSPECTOR_DB_SEGMENT_ROWS="150")
    result = run_cli([], env)
    assert result.returncode == 0, result.stderr
    assert_report_matches(workdir / "report", expected)
    assert "attachments checked" in result.stdout and "600" in result.stdout
    text = (workdir / "report/summary.txt").read_text()
    assert re.search(r"^\s+missing\s+(\d+)$", text, re.M).group(1) == str(len(expected.missing))
    assert re.search(r"^\s+orphan files\s+(\d+) ", text, re.M).group(1) == str(len(expected.orphans))


@pytest.mark.faults
def test_report_lines_escape_hostile_filenames(jira, workdir):
    spec = world.WorldSpec(attachments=300, fault_rate=0.06, hostile_rate=1.0)
    expected, env = scan_world(jira, workdir, spec)
    assert run_cli([], env).returncode == 0
    names = dict(jira.execute("SELECT id::bigint, filename FROM fileattachment"))
    text = (workdir / "report/missing.txt").read_text()
    assert any("\n" in names[i] or "\t" in names[i] for i in ids_in(workdir / "report/missing.txt"))
    for line in text.splitlines():
        link, _key, _project, filename, _detail = line.split("\t")
        assert link.startswith("https://jira.example.com/secure/attachment/")
        attachment_id, encoded = link.split("/secure/attachment/")[1].split("/", 1)
        assert "/" not in encoded  # the filename is URL-encoded, "../" included
        raw = names[int(attachment_id)]
        assert filename == raw.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
    assert_report_matches(workdir / "report", expected)


def test_report_rebuild_and_user_queries(jira, workdir):
    expected, env = scan_world(jira, workdir)
    assert run_cli([], env).returncode == 0
    report = workdir / "report"
    first = {p.name: p.read_bytes() for p in report.iterdir()}
    for p in report.iterdir():
        p.unlink()
    again = run_cli(["report"], env)
    assert again.returncode == 0, again.stderr
    assert {p.name: p.read_bytes() for p in report.iterdir()} == first

    out = run_cli(["report", "--sql", "SELECT count(*) AS n FROM missing"], env)
    assert out.returncode == 0 and out.stdout.splitlines()[2].strip() == str(len(expected.missing))
    out = run_cli(["report", "--sql", "SELECT id, issue_key FROM corrupted ORDER BY id", "--format", "csv"], env)
    rows = list(csv.reader(io.StringIO(out.stdout)))
    assert rows[0] == ["id", "issue_key"] and {int(r[0]) for r in rows[1:]} == expected.corrupted
    out = run_cli(["report", "--sql", "SELECT relpath FROM orphans", "--format", "json"], env)
    assert {r["relpath"] for r in orjson.loads(out.stdout)} == expected.orphans

    state = workdir / "state.sqlite"
    digest = hashlib.sha256(state.read_bytes()).hexdigest()
    for sql in ("DELETE FROM state.results", "CREATE TABLE state.x (a INTEGER)", "COPY missing TO '/tmp/leak.csv'"):
        bad = run_cli(["report", "--sql", sql], env)
        assert bad.returncode == 6, (sql, bad.stderr)
        assert bad.stderr.startswith("inspector: error: query failed") and len(bad.stderr.splitlines()) == 1
    assert hashlib.sha256(state.read_bytes()).hexdigest() == digest
    assert not os.path.exists("/tmp/leak.csv")


def test_next_pass_starts_fresh_and_the_previous_stays_queryable(jira, workdir):
    expected, env = scan_world(jira, workdir)
    assert run_cli([], env).returncode == 0
    victim = sorted(set(expected.issue_of) - expected.missing - expected.errors - expected.corrupted
                    - expected.permissions)[5]  # fmt: skip
    relpath = run_cli(["report", "--sql", f"SELECT relpath FROM attachments WHERE id = {victim}", "--format", "json"],
                      env)  # fmt: skip
    os.unlink(workdir / "attachments" / orjson.loads(relpath.stdout)[0]["relpath"])
    assert run_cli([], env).returncode == 0
    summary = orjson.loads((workdir / "report/summary.json").read_bytes())
    assert summary["pass_id"] == 2 and summary["missing"] == len(expected.missing) + 1
    assert victim in ids_in(workdir / "report/missing.txt")
    old = run_cli(["report", "--pass", "1", "--sql", f"SELECT count(*) FROM missing WHERE id = {victim}"], env)
    assert old.stdout.splitlines()[2].strip() == "0"
    passes = run_cli(["report", "--sql", "SELECT pass_id, status FROM passes ORDER BY 1", "--format", "csv"], env)
    assert passes.stdout.splitlines()[1:] == ["1,finished", "2,finished"]


@pytest.mark.faults
def test_sessions_are_read_only_even_for_a_role_that_could_write(jira, workdir):
    from inspector.sources.postgres import open_pool

    cfg = make_config(workdir, db_dsn=jira.admin_dsn, db_statement_timeout=5, db_connect_timeout=5)
    pool = open_pool(cfg, "test")
    try:
        with pool.connection() as conn, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("DELETE FROM fileattachment")
        with pool.connection() as conn:
            assert conn.execute("SHOW statement_timeout").fetchone()[0] == "5s"
    finally:
        pool.close()


@pytest.mark.faults
def test_tree_is_unchanged_by_a_scan(jira, workdir):
    _, env = scan_world(jira, workdir, world.WorldSpec(attachments=200))
    root = workdir / "attachments"
    paths = [root]
    for dirpath, dirnames, filenames in os.walk(root):
        paths += [os.path.join(dirpath, name) for name in dirnames + filenames]
    for path in paths:
        # atime before mtime: under relatime any read or listing would now move atime.
        st = os.lstat(path)
        os.utime(path, ns=(st.st_mtime_ns - 10**9, st.st_mtime_ns), follow_symlinks=False)

    def snapshot():
        out = {}
        for path in paths:
            st = os.lstat(path)
            # Following a symlink reads it, which the kernel records in the link's own atime.
            atime = None if stat.S_ISLNK(st.st_mode) else st.st_atime_ns
            out[path] = (st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns, atime, st.st_ctime_ns)
        return out

    before = snapshot()
    # --hash reads file content too: read-only, and without moving atime (O_NOATIME as root)
    result = run_cli(["run", "--hash"], env)
    assert result.returncode == 0, result.stderr
    assert snapshot() == before
    assert sum(len(d) + len(f) for _, d, f in os.walk(root)) == len(paths) - 1
    summary = orjson.loads((workdir / "report/summary.json").read_bytes())
    assert summary["hash_bytes_read"] > 0  # content was really read


def test_packaged_schema_is_the_real_jira_dump():
    from pathlib import Path

    from jiraworld.pgcluster import SCHEMA

    shared = Path(__file__).resolve().parents[2] / "shared/jira-schema/jira-8.3-postgresql.sql"
    if not shared.exists():
        pytest.skip("../shared is not beside this checkout")
    assert SCHEMA.read_bytes() == shared.read_bytes()


def test_state_counts_each_row_once(jira, workdir):
    expected, env = scan_world(jira, workdir, INSPECTOR_BATCH_SIZE="10")
    assert run_cli([], env).returncode == 0
    with sqlite3.connect(workdir / "state.sqlite") as c:
        n, distinct = c.execute("SELECT count(*), count(DISTINCT id) FROM results").fetchone()
    assert n == distinct == expected.total


def test_orphans_are_the_same_when_collected_in_many_id_partitions(jira, workdir):
    from inspector.report import build as report
    from inspector.report.limits import Limits

    expected, env = scan_world(jira, workdir)
    assert run_cli([], env).returncode == 0
    report.build(workdir / "state.sqlite", workdir / "again", limits=Limits(orphan_partition_rows=37))
    assert (workdir / "again/orphans.txt").read_text().splitlines() == sorted(expected.orphans)
    assert (workdir / "again/orphans.txt").read_bytes() == (workdir / "report/orphans.txt").read_bytes()


def test_empty_jira_makes_every_file_an_orphan(jira, workdir):
    root = workdir / "attachments"
    for rel in ("A/10000/A-1/10", "A/10000/A-1/11_x.txt", "loose"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"abc")
    env = inspector_env(jira, root, workdir)
    result = run_cli([], env)
    assert result.returncode == 0, result.stderr
    summary = orjson.loads((workdir / "report/summary.json").read_bytes())
    assert summary["total_attachments"] == 0 and summary["orphans"] == 3 and summary["orphan_bytes"] == 9
    assert (workdir / "report/orphans.txt").read_text().splitlines() == [
        "A/10000/A-1/10",
        "A/10000/A-1/11_x.txt",
        "loose",
    ]


def test_walked_files_are_kept_a_row_per_issue_folder_and_read_back_one_per_file(jira, workdir):
    """The walk keeps an issue folder's files that claim an id as one row (their names joined);
    whoever reads the walk sees them one per file again: report --sql, status, the orphans."""
    from inspector.scan.stages.walker import Walk, entries_of
    from inspector.storage.posix import PosixStorage

    expected, env = scan_world(jira, workdir)
    assert run_cli([], env).returncode == 0
    walk = Walk(PosixStorage(workdir / "attachments"))
    want = {rel: (claimed, kind) for _, it in walk.units(None) for rel, claimed, _, kind, _ in entries_of(it)}
    out = run_cli(["report", "--sql", "SELECT relpath, att_id, kind FROM disk_files", "--format", "json"], env)
    got = [(r["relpath"], (r["att_id"], r["kind"])) for r in orjson.loads(out.stdout)]
    assert dict(got) == want and len(got) == len(want)
    with sqlite3.connect(workdir / "state.sqlite") as db:
        folders, names = db.execute(
            "SELECT count(*), sum(length(names) - length(replace(names, '/', '')) + 1) FROM walked_folders"
        ).fetchone()
        (single,) = db.execute("SELECT count(*) FROM disk_files").fetchone()
    assert names + single == len(want) and single < len(want) / 4 and folders < names
    status = orjson.loads(run_cli(["status", "--json"], env).stdout)
    assert status["walked"] == sum(kind != "unlistable" for _, kind in want.values())
    # Orphans among the folder rows' files too (found by the report, counted by status):
    from inspector.jira.layout import claimed_id

    assert any(o.count("/") == 3 and claimed_id(o.rsplit("/", 1)[1]) is not None for o in expected.orphans)
    assert status["orphans"] == len(expected.orphans)
