"""storage.json's largest attachments and issues: the report reads the ids narrow first and
their rows with the flagged ones; the views `report --sql` offers must give the same answer.
A report build that runs out of DuckDB's memory is built again with more, and long lists and
many orphans (a bad chown, a wrong root) take a bounded path that writes the same files."""

from __future__ import annotations

import os
import re
import sqlite3
from collections import Counter, defaultdict
from datetime import UTC, datetime

import orjson
import psycopg
import pytest

from inspector.errors import ReportError
from jiraworld import world

from .helpers import healthy_files, inspector_env, reference_report, run_cli


def test_largest_attachments_and_issues_follow_the_recorded_sizes(jira, workdir):
    root = workdir / "attachments"
    expected = world.build(jira.admin_dsn, root, world.WorldSpec(attachments=1500, seed=43, fault_rate=0.05))
    # Five files grown to one size above all others: equal sizes must rank by id.
    files = healthy_files(root, expected)
    tied = sorted(files, reverse=True)[:5]
    size = max(os.path.getsize(path) for path in files.values()) + 1000
    for aid in tied:
        os.truncate(files[aid], size)
    env = inspector_env(jira, root, workdir)
    result = run_cli([], env)
    assert result.returncode == 0, result.stderr
    storage = orjson.loads((workdir / "report/storage.json").read_bytes())

    # The oracle: what the checkers recorded, ordered here in Python, and keys from Jira itself.
    with sqlite3.connect(workdir / "state.sqlite") as db:
        rows = db.execute("SELECT id, issue_id, actual_size FROM results").fetchall()
    with psycopg.connect(jira.admin_dsn) as conn:
        query = "SELECT ji.id, p.pkey || '-' || ji.issuenum FROM jiraissue ji JOIN project p ON p.id = ji.project"
        keys = dict(conn.execute(query))
    largest = sorted((r for r in rows if r[2] is not None), key=lambda r: (-r[2], r[0]))[:100]
    per_issue: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for _, issue, size in rows:
        if issue is not None:
            per_issue[issue][0] += 1
            per_issue[issue][1] += size or 0
    top_issues = sorted(per_issue.items(), key=lambda kv: (-kv[1][1], kv[0]))[:100]
    assert len(largest) == 100 and len(top_issues) == 100
    assert [aid for aid, _, _ in largest[:5]] == sorted(tied)

    got = storage["largest_attachments"]
    assert [(a["id"], a["size"]) for a in got] == [(aid, size) for aid, _, size in largest]
    assert [a["issue_key"] for a in got] == [keys.get(issue) for _, issue, _ in largest]
    assert all(a["link"].startswith(f"https://jira.example.com/secure/attachment/{a['id']}/") for a in got)
    assert [(i["issue_id"], i["attachments"], i["bytes"]) for i in storage["largest_issues"]] == [
        (issue, n, size) for issue, (n, size) in top_issues
    ]
    assert [i["issue_key"] for i in storage["largest_issues"]] == [keys.get(issue) for issue, _ in top_issues]

    # The views users query read every row; the report file must agree with them.
    for view, columns, key in (
        ("largest_attachments", "id, size", "largest_attachments"),
        ("largest_issues", "issue_id, attachments, bytes, issue_key", "largest_issues"),
    ):
        out = run_cli(["report", "--sql", f"SELECT {columns} FROM {view}", "--format", "json"], env)
        assert out.returncode == 0, out.stderr
        names = [c.strip() for c in columns.split(",")]
        assert orjson.loads(out.stdout) == [{n: row[n] for n in names} for row in storage[key]]


def test_a_report_that_runs_out_of_memory_is_built_again_with_more(jira, workdir, caplog):
    from inspector.report import build as report
    from inspector.report.limits import Limits

    from .test_resume import report_files

    root = workdir / "attachments"
    world.build(jira.admin_dsn, root, world.WorldSpec(attachments=600, seed=44, fault_rate=0.05))
    reference = reference_report(jira, root, workdir)
    assert run_cli([], inspector_env(jira, root, workdir)).returncode == 0
    state = workdir / "state.sqlite"

    with caplog.at_level("WARNING", logger="inspector.report"):
        report.build(state, workdir / "again", limits=Limits(memory=("2MB", "256MB")))
    assert report_files(workdir / "again") == reference
    assert caplog.text.count("ran out of its 2MB of memory; building it again with 256MB") == 1

    # The first limit really runs out: DuckDB cannot even hold the orphan keys in it. When the
    # last one does too, the user gets one line (exit code 6), not a traceback.
    with pytest.raises(ReportError, match=r"ran out of memory even with 2MB \(Out of Memory Error") as caught:
        report.build(state, workdir / "small", limits=Limits(memory=("2MB",)))
    assert "\n" not in str(caught.value) and ReportError.exit_code == 6


def test_long_lists_are_sorted_on_disk_into_the_same_files(jira, workdir, caplog):
    """Past report.FEW_ROWS (after a bad chown: every attachment; with a wrong root: every
    file an orphan) the shown rows are read with one scan, the orphans are sized into the state
    and read again from it, and the long lists are sorted by SQLite in a scratch file, so that
    the build's memory stays bounded. Every report file must come out byte for byte as the
    in-memory path writes it, NULL keys last included, and the scratch file must be gone."""
    from dataclasses import replace

    from inspector.report import build as report
    from inspector.report.limits import Limits
    from inspector.state import State
    from inspector.storage.posix import PosixStorage

    root = workdir / "attachments"
    expected = world.build(jira.admin_dsn, root, world.WorldSpec(attachments=800, seed=47, fault_rate=0.05))
    assert run_cli([], inspector_env(jira, root, workdir)).returncode == 0
    state = workdir / "state.sqlite"
    # report.html cuts its lists short in both paths alike (the sorted one streams, unlimited).
    short = Limits(list_max_rows=5, list_chunk=2)
    report.build(state, workdir / "memory", limits=short)
    assert b"The page holds the first 5 of" in (workdir / "memory/report.html").read_bytes()
    missing = (workdir / "memory/missing.txt").read_text().splitlines()
    # What the order is tested on: several projects, and rows without a project or issue key.
    assert len({line.split("\t")[2] for line in missing}) >= 3
    assert any(line.split("\t")[1].startswith("issue ") for line in missing)
    assert len(expected.orphans) > 3

    # The orphans as the walk leaves them, unsized, for the build to size as a scan does.
    unsized = workdir / "unsized.sqlite"
    with sqlite3.connect(state) as src, sqlite3.connect(unsized) as dst:
        src.backup(dst)
    with sqlite3.connect(unsized) as db:
        sized = dict(db.execute("SELECT relpath, size FROM disk_files WHERE size IS NOT NULL").fetchall())
        db.execute("UPDATE disk_files SET size = NULL")
        (pass_id,) = db.execute("SELECT max(pass_id) FROM passes").fetchone()
    assert len(sized) == len(expected.orphans)

    def settle(conn):
        with State(unsized) as st:
            report.size_orphans(conn, PosixStorage(root).entry_size, lambda s: st.set_sizes(pass_id, s))

    with caplog.at_level("DEBUG", logger="inspector.report"):
        summary = report.build(unsized, workdir / "disk", None, settle, limits=replace(short, few_rows=3))
    assert "report: report/shown_rows_scan on one thread" in caplog.text
    assert "report: report/orphans_resized on one thread" in caplog.text
    assert f"sorted on disk in {workdir / 'disk' / report.SORTED_LISTS_FILE}" in caplog.text
    assert all(summary[k] > 3 for k in ("missing", "permissions", "corrupted", "errors", "orphans"))

    def files(d):
        text = {p.name: p.read_bytes() for p in d.iterdir()}
        # (Paths of different lengths wrap "what to do next" differently: compared word by word.)
        text["summary.txt"] = b" ".join(text["summary.txt"].replace(str(d).encode(), b"<dir>").split())
        return text

    assert files(workdir / "disk") == files(workdir / "memory")
    assert not (workdir / "disk" / report.SORTED_LISTS_FILE).exists()
    with sqlite3.connect(unsized) as db:
        assert dict(db.execute("SELECT relpath, size FROM disk_files WHERE size IS NOT NULL").fetchall()) == sized


class Watching:
    """A DuckDB connection (which cannot be patched) that notes the settings in force while the
    per-issue totals are built."""

    def __init__(self, conn, settings: str):
        self.conn, self.settings, self.seen = conn, settings, []

    def __getattr__(self, name):
        return getattr(self.conn, name)

    def execute(self, sql, *args):
        result = self.conn.execute(sql, *args)
        if "largest_issue_sizes AS" in sql:
            self.seen.append(self.conn.execute(self.settings).fetchone())
        return result


def test_a_report_build_gives_back_its_threads_and_memory_limit_after_each_step(jira, workdir):
    """The build restarts DuckDB's threads between steps (to return what they kept) and runs the
    per-issue totals on one thread with a small limit: afterwards the build's own settings
    must be back, or every later step would run on one thread (twice as slow)."""
    from inspector.report import build as report

    root = workdir / "attachments"
    world.build(jira.admin_dsn, root, world.WorldSpec(attachments=300, seed=45, fault_rate=0.05))
    assert run_cli([], inspector_env(jira, root, workdir)).returncode == 0
    state = workdir / "state.sqlite"
    for limit, step_limit in (("48MB", report.BOUNDED_STEP_MEMORY_LIMIT), ("256MB", "256MB")):
        conn, _ = report.connect(state, None, report.spill_dir(workdir / "r"), limit)
        try:
            conn.execute("SET threads = 3")  # not the machine's count: it must come back, not a default
            conn.execute("SET VARIABLE report_threads = 3")
            settings = "SELECT current_setting('threads'), current_setting('memory_limit')"
            before = conn.execute(settings).fetchone()
            assert conn.execute("SELECT getvariable('step_memory_limit')").fetchone() == (step_limit,)
            watching = Watching(conn, settings)
            report.materialize(watching)
            seen = watching.seen
            assert conn.execute(settings).fetchone() == before
            assert len(seen) == 1 and seen[0][0] == 1 and (seen[0][1] != before[1]) == (step_limit != limit)
        finally:
            conn.close()


def test_storage_facts_and_headline_totals_follow_the_rows(jira, workdir):
    """storage.json's per project, type, uploader and year figures and summary.json's totals:
    sizes as the checkers recorded them, problems as the world made them (folder verdicts of
    the walk included), counted here in Python."""
    root = workdir / "attachments"
    expected = world.build(jira.admin_dsn, root, world.WorldSpec(attachments=1500, seed=46, fault_rate=0.05))
    assert run_cli([], inspector_env(jira, root, workdir)).returncode == 0
    storage = orjson.loads((workdir / "report/storage.json").read_bytes())
    summary = orjson.loads((workdir / "report/summary.json").read_bytes())
    with sqlite3.connect(workdir / "state.sqlite") as db:
        rows = db.execute(
            "SELECT id, project_key, filename, author, created, filesize, actual_size FROM results"
        ).fetchall()
        (blocked,) = db.execute("SELECT count(*) FROM blocked_folders").fetchone()
    assert blocked > 0  # some permission problems come from the walk's folder verdicts

    problems = {"missing": expected.missing, "permissions": expected.permissions,
                "corrupted": expected.corrupted, "errors": expected.errors}  # fmt: skip
    dimensions = {"project": defaultdict(Counter), "type": defaultdict(Counter),
                  "author": defaultdict(Counter), "year": defaultdict(Counter)}  # fmt: skip
    for aid, project, filename, author, created, _, size in rows:
        ext = re.search(r"\.([A-Za-z0-9]{1,10})$", filename or "")
        keys = {"project": project, "type": ext.group(1).lower() if ext else "", "author": author or "",
                "year": datetime.fromtimestamp(created, UTC).year if created is not None else None}  # fmt: skip
        for dimension, key in keys.items():
            c = dimensions[dimension][key]
            c["attachments"] += 1
            c["bytes"] += size or 0
            for name, ids in problems.items():
                c[name] += aid in ids

    def figures(c: Counter, names=("attachments", "bytes", *problems)) -> dict:
        return {n: c[n] for n in names}

    assert {p["project_key"]: figures(Counter(p)) for p in storage["by_project"]} == {
        k: figures(c) for k, c in dimensions["project"].items()
    }
    sizes = ("attachments", "bytes")
    assert {y["year"]: figures(Counter(y), sizes) for y in storage["by_year"]} == {
        k: figures(c, sizes) for k, c in dimensions["year"].items()
    }
    assert {e["extension"]: figures(Counter(e), sizes) for e in storage["by_extension"]} == {
        k: figures(c, sizes) for k, c in dimensions["type"].items()
    }
    assert {a["author"]: figures(Counter(a), sizes) for a in storage["by_author"]} == {
        k: figures(c, sizes) for k, c in dimensions["author"].items()
    }
    assert summary["total_attachments"] == len(rows) == expected.total
    assert summary["total_bytes"] == sum(r[5] or 0 for r in rows)
    assert summary["disk_bytes"] == sum(r[6] or 0 for r in rows)
    assert [summary[name] for name in problems] == [len(ids) for ids in problems.values()]


def test_the_build_takes_the_connection_made_while_the_stages_ran(workdir):
    """A scan makes the report's DuckDB connection, extension loaded, while its stages run
    (the extension's signature check reads 35 MB); the build then uses that one."""
    from inspector.report import build, duckconn
    from inspector.state import State

    from .helpers import make_config

    state = workdir / "state.sqlite"
    with State(state) as st:
        st.start_pass(make_config(workdir), 0)
    duckconn.warm_up()
    made = duckconn._warm[-1]
    conn, pass_id = build.connect(state)
    try:
        assert conn is made and not duckconn._warm
        assert conn.execute("SELECT count(*) FROM state.passes").fetchone() == (1,) and pass_id == 1
    finally:
        conn.close()
    again, _ = build.connect(state)  # none made ahead: the build makes its own
    again.close()
