"""Jira on MySQL/MariaDB, against the real MariaDB server on 127.0.0.1:3306: the three tables
in Jira's MySQL types (jiraworld/mysqlworld.py, derived from the real schema), filled with the
same world a PostgreSQL test scans, must give the same report byte for byte."""

from __future__ import annotations

import os
import uuid

import pytest

from jiraworld import mysqlworld, world

from .helpers import inspector_env, report_files, run_cli

pymysql = pytest.importorskip("pymysql")


def _server():
    try:
        return pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", autocommit=True)
    except pymysql.err.OperationalError as exc:
        if os.environ.get("CI"):
            raise  # .ci/run starts MariaDB where none runs
        pytest.skip(f"no MariaDB on 127.0.0.1:3306 ({exc.args[-1]})")


@pytest.fixture
def mariadb():
    """A database of Jira's three tables and a login that may only read it: (root, db, dsn)."""
    root = _server()
    name = f"jira_{uuid.uuid4().hex[:10]}"
    user, password = f"ro_{uuid.uuid4().hex[:8]}", "s3cr3t,pass"
    mysqlworld.create(root, name)
    cur = root.cursor()
    cur.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'")
    cur.execute(f"GRANT SELECT ON `{name}`.* TO '{user}'@'%'")
    yield root, name, f"mysql://{user}:s3cr3t%2Cpass@127.0.0.1:3306/{name}"
    cur = root.cursor()
    cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
    root.close()


def test_the_same_world_from_mysql_gives_the_postgresql_report_byte_for_byte(jira, mariadb, workdir):
    root_conn, name, dsn = mariadb
    tree = workdir / "attachments"
    world.build(jira.admin_dsn, tree, world.WorldSpec(attachments=700, seed=61, fault_rate=0.05))
    # What MySQL must carry intact: a 4-byte UTF-8 name, and a row without an upload time.
    first, second = (r[0] for r in jira.execute("SELECT id FROM fileattachment ORDER BY id LIMIT 2"))
    jira.execute("UPDATE fileattachment SET filename = %s WHERE id = %s", ("𝔘nicode 😀 résumé.pdf", first))
    jira.execute("UPDATE fileattachment SET created = NULL WHERE id = %s", (second,))
    assert mysqlworld.copy_from_postgres(jira.admin_dsn, root_conn, name) == 700
    # MySQL's zero date, as old Jira installs hold it, reads as no time at all.
    root_conn.cursor().execute("SET SESSION sql_mode = ''")
    root_conn.cursor().execute(
        f"UPDATE `{name}`.fileattachment SET created = '0000-00-00 00:00:00' WHERE id = %s", (second,)
    )

    (workdir / "pg").mkdir()
    (workdir / "my").mkdir()
    pg = run_cli(["--hash"], inspector_env(jira, tree, workdir / "pg"))
    assert pg.returncode == 0, pg.stderr
    env = inspector_env(jira, tree, workdir / "my", INSPECTOR_DB_DSN=dsn)
    my = run_cli(["--hash"], env)
    assert my.returncode == 0, my.stderr
    assert "s3cr3t" not in my.stderr + my.stdout
    assert f"@127.0.0.1:3306/{name}" in my.stderr  # where it read, without the password
    assert report_files(workdir / "my/report") == report_files(workdir / "pg/report")
    assert (
        "𝔘nicode 😀 résumé.pdf"
        in (workdir / "my/report/missing.txt").read_text() + (workdir / "my/report/report.html").read_text()
    )


def test_a_killed_mysql_scan_resumes_to_the_same_report(jira, mariadb, workdir):
    from .helpers import kill_when

    tree, dsn = _world_in_both(jira, mariadb, workdir, seed=62)
    env = inspector_env(jira, tree, workdir / "my", INSPECTOR_DB_DSN=dsn, INSPECTOR_BATCH_SIZE="50",
                        INSPECTOR_DB_SEGMENT_ROWS="400", INSPECTOR_MAX_ROWS_PER_SECOND="4000")  # fmt: skip
    assert kill_when(env, workdir / "my/state.sqlite", 600)
    again = run_cli([], env)
    assert again.returncode == 0, again.stderr
    assert "resuming pass 1" in again.stderr
    _assert_report_equals_postgres(jira, tree, workdir)


def _world_in_both(jira, mariadb, workdir, seed: int):
    """A world of 3,000 attachments in PostgreSQL and copied into MariaDB, and folders for a
    scan of each (``my``, ``pg``): (the attachments tree, the MariaDB DSN)."""
    root_conn, name, dsn = mariadb
    tree = workdir / "attachments"
    world.build(jira.admin_dsn, tree, world.WorldSpec(attachments=3000, seed=seed))
    mysqlworld.copy_from_postgres(jira.admin_dsn, root_conn, name)
    (workdir / "pg").mkdir()
    (workdir / "my").mkdir()
    return tree, dsn


def _assert_report_equals_postgres(jira, tree, workdir):
    """The MariaDB scan's report (``my``) equals an undisturbed scan of PostgreSQL (``pg``)."""
    clean = run_cli([], inspector_env(jira, tree, workdir / "pg"))
    assert clean.returncode == 0, clean.stderr
    assert report_files(workdir / "my/report") == report_files(workdir / "pg/report")


@pytest.mark.parametrize(
    ("dsn", "code", "said"),
    [
        ("mysql://nobody:wrong@127.0.0.1:3306/{db}", 3, "Access denied for user 'nobody'"),
        ("mysql://root@127.0.0.1:3306/no_such_db", 3, "Unknown database 'no_such_db'"),
        ("mysql://u:p@127.0.0.1:abc/{db}", 2, "INSPECTOR_DB_DSN: the port is not a port number"),
        ("mysql://u:p@127.0.0.1/{db}?ssl-mode=sometimes", 2, "ssl-mode 'sometimes' is not one of"),
        ("mysql://u:p@127.0.0.1:1/{db}", 3, "Can't connect to MySQL server"),
    ],
)
def test_bad_mysql_settings_are_one_line_without_the_password(mariadb, workdir, dsn, code, said):
    _, name, _ = mariadb
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INSPECTOR_", "PG"))}
    env.update(INSPECTOR_DB_DSN=dsn.format(db=name), INSPECTOR_ATTACHMENTS_ROOT=str(workdir),
               INSPECTOR_STATE_DB=str(workdir / "s.sqlite"), INSPECTOR_DB_CONNECT_TIMEOUT="2")  # fmt: skip
    result = run_cli([], env)
    assert result.returncode == code, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("inspector: error:")]
    assert len(errors) == 1 and said in errors[0], result.stderr
    assert "wrong" not in result.stderr and ":p@" not in result.stderr and "Traceback" not in result.stderr


def test_the_mysql_tables_are_derived_from_jiras_own_schema():
    statements = mysqlworld.ddl()
    attachment = next(s for s in statements if s.startswith("CREATE TABLE `fileattachment`"))
    assert "`id` DECIMAL(18,0) NOT NULL" in attachment and "`filename` VARCHAR(255)" in attachment
    assert "`created` DATETIME" in attachment and "COLLATE=utf8mb4_bin" in attachment
    assert "CREATE INDEX `attach_issue` ON `fileattachment` (`issueid`)" in statements


def test_a_connection_cut_mid_stream_is_waited_out_and_the_report_is_whole(jira, mariadb, workdir):
    """A network that drops the reader's connection halfway through a segment (a failover, a
    firewall): the reader retries through the one policy and continues after the last id it
    handed on; the report equals PostgreSQL's."""
    from jiraworld.tcpproxy import TcpProxy

    tree, dsn = _world_in_both(jira, mariadb, workdir, seed=63)
    with TcpProxy(3306) as proxy:
        proxy.cut_after = 150_000  # bytes to the client: inside the first segment's rows
        env = inspector_env(jira, tree, workdir / "my", INSPECTOR_DB_DSN=dsn.replace(":3306/", f":{proxy.port}/"))
        result = run_cli([], env)
    assert result.returncode == 0, result.stderr
    assert proxy.cuts >= 1, proxy.cuts
    assert "retry 1 in" in result.stderr and "working again after" in result.stderr, result.stderr
    _assert_report_equals_postgres(jira, tree, workdir)
