"""Jira on any database through an export: ``inspector export-query`` prints the SELECT in each
dialect (parsed here by a real SQL parser for that dialect), and its CSV, made by the database's
own tool (psql's \\copy) or a client, is a source that gives the direct scan's report."""

from __future__ import annotations

import csv
import os

import pytest

from inspector.sources import export
from jiraworld import world

from .helpers import inspector_env, kill_when, report_files, run_cli

sqlglot = pytest.importorskip("sqlglot")


@pytest.mark.parametrize(("dialect", "parser"), [("postgres", "postgres"), ("mysql", "mysql"),
                                                 ("sqlserver", "tsql"), ("oracle", "oracle")])  # fmt: skip
def test_the_export_query_parses_in_its_dialect_with_exactly_the_columns(dialect, parser):
    result = run_cli(["export-query", dialect, "--schema", "jiraschema"], dict(os.environ))
    assert result.returncode == 0, result.stderr
    text = result.stdout.strip()
    assert not text.endswith(";") and text == export.query(dialect, "jiraschema")
    tree = sqlglot.parse_one(text, read=parser)  # raises on anything the dialect does not take
    assert [e.alias_or_name for e in tree.expressions] == list(export.AttachmentRow._fields)
    assert {t.db for t in tree.find_all(sqlglot.exp.Table)} == {"jiraschema"}
    assert tree.args["order"].sql(dialect=parser).upper() == "ORDER BY FA.ID"


def _psql_export(jira, target) -> None:
    query = export.query("postgres")
    jira.cluster.psql(jira.name, "-c", f"\\copy ({' '.join(query.split())}) TO '{target}' WITH (FORMAT csv, HEADER)")


def test_an_export_from_postgresql_gives_the_direct_scans_report(jira, workdir):
    tree = workdir / "attachments"
    world.build(jira.admin_dsn, tree, world.WorldSpec(attachments=700, seed=71, fault_rate=0.05))
    rows = workdir / "rows.csv"
    _psql_export(jira, rows)
    (workdir / "db").mkdir()
    (workdir / "file").mkdir()
    direct = run_cli(["--hash"], inspector_env(jira, tree, workdir / "db"))
    assert direct.returncode == 0, direct.stderr
    env = inspector_env(jira, tree, workdir / "file", INSPECTOR_ROWS_FILE=str(rows))
    del env["INSPECTOR_DB_DSN"]
    from_file = run_cli(["--hash"], env)
    assert from_file.returncode == 0, from_file.stderr
    assert f"against the rows file {rows}" in from_file.stderr
    assert report_files(workdir / "file/report") == report_files(workdir / "db/report")


def test_an_export_from_mysql_gives_the_direct_scans_report(jira, workdir):
    pymysql = pytest.importorskip("pymysql")
    from jiraworld import mysqlworld

    from .test_mysql import _server

    root = _server()
    name = f"jira_exp_{os.getpid()}"
    root.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
    mysqlworld.create(root, name)
    try:
        tree = workdir / "attachments"
        world.build(jira.admin_dsn, tree, world.WorldSpec(attachments=500, seed=72, fault_rate=0.05))
        mysqlworld.copy_from_postgres(jira.admin_dsn, root, name)
        rows = workdir / "rows.csv"
        conn = pymysql.connect(host="127.0.0.1", user="root", password="", database=name, charset="utf8mb4",
                               init_command="SET time_zone = '+00:00'")  # fmt: skip
        with conn.cursor() as cur, open(rows, "w", encoding="utf-8", newline="") as out:
            cur.execute(export.query("mysql"))
            writer = csv.writer(out)
            writer.writerow([d[0] for d in cur.description])
            writer.writerows(["" if v is None else v for v in r] for r in cur.fetchall())
        conn.close()
        (workdir / "db").mkdir()
        (workdir / "file").mkdir()
        direct = run_cli([], inspector_env(jira, tree, workdir / "db"))
        assert direct.returncode == 0, direct.stderr
        env = inspector_env(jira, tree, workdir / "file", INSPECTOR_ROWS_FILE=str(rows))
        del env["INSPECTOR_DB_DSN"]
        from_file = run_cli([], env)
        assert from_file.returncode == 0, from_file.stderr
        assert report_files(workdir / "file/report") == report_files(workdir / "db/report")
    finally:
        root.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        (lambda lines: [lines[0].replace("issue_exists,", ""), *lines[1:]], "line 1: no column 'issue_exists'"),
        (lambda lines: [*lines[:3], lines[2], *lines[3:]], "line 4: id "),  # a row twice: out of order
        (lambda lines: [*lines[:4], lines[4].replace(",", ",x", 1), *lines[5:]], "line 5: issue_id 'x"),
        (lambda lines: [*lines[:2], '1,"unterminated'], "line 3"),
    ],
)
def test_a_bad_export_is_one_line_naming_the_line_and_nothing_is_stored(jira, workdir, edit, said):
    tree = workdir / "attachments"
    world.build(jira.admin_dsn, tree, world.WorldSpec(attachments=60, seed=73))
    good = workdir / "good.csv"
    _psql_export(jira, good)
    bad = workdir / "bad.csv"
    lines = good.read_text(encoding="utf-8").splitlines(keepends=True)
    bad.write_text("".join(line if line.endswith("\n") else line + "\n" for line in edit(lines)), encoding="utf-8")
    env = inspector_env(jira, tree, workdir, INSPECTOR_ROWS_FILE=str(bad))
    del env["INSPECTOR_DB_DSN"]
    result = run_cli([], env)
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("inspector: error:")]
    assert len(errors) == 1 and f"INSPECTOR_ROWS_FILE {bad}: {said}" in errors[0], result.stderr
    assert not (workdir / "state.sqlite").exists() and not (workdir / "report").exists()


def test_a_killed_scan_of_an_export_continues_after_the_last_stored_id(jira, workdir):
    tree = workdir / "attachments"
    world.build(jira.admin_dsn, tree, world.WorldSpec(attachments=3000, seed=74))
    rows = workdir / "rows.csv"
    _psql_export(jira, rows)
    (workdir / "file").mkdir()
    (workdir / "db").mkdir()
    env = inspector_env(jira, tree, workdir / "file", INSPECTOR_ROWS_FILE=str(rows), INSPECTOR_BATCH_SIZE="50",
                        INSPECTOR_MAX_ROWS_PER_SECOND="4000")  # fmt: skip
    del env["INSPECTOR_DB_DSN"]
    assert kill_when(env, workdir / "file/state.sqlite", 600)
    again = run_cli([], env)
    assert again.returncode == 0, again.stderr
    assert "resuming pass 1" in again.stderr
    assert run_cli([], inspector_env(jira, tree, workdir / "db")).returncode == 0
    assert report_files(workdir / "file/report") == report_files(workdir / "db/report")
