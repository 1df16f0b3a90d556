"""Database faults: connections that die mid-stream, a server that restarts or never answers.

The reader must wait a bounded time with backoff, reconnect through its pool and continue
after the last id it handed on: the final report equals an undisturbed run's.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import psycopg
import pytest

from inspector.errors import DatabaseError
from inspector.sources.postgres import Retry, is_transient
from jiraworld import world

from .helpers import inspector_env, make_config, reference_report, report_files, run_cli

pytestmark = pytest.mark.faults


# --- pure parts: what is worth retrying (the policy itself: test_retry.py) -----------------------------------------
@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (psycopg.OperationalError("connection refused"), True),  # never reached the server
        (psycopg.errors.AdminShutdown(), True),  # pg_terminate_backend, server shutting down
        (psycopg.errors.CannotConnectNow(), True),  # server starting up
        (psycopg.errors.TooManyConnections(), True),
        (psycopg.errors.IdleInTransactionSessionTimeout(), True),
        (psycopg.errors.QueryCanceled(), False),  # our statement timeout: retrying repeats it
        (psycopg.errors.InvalidPassword(), False),
        (psycopg.OperationalError('connection failed: FATAL:  database "x" does not exist'), False),
        (psycopg.OperationalError("connection failed: FATAL:  password authentication failed for user"), False),
        (psycopg.OperationalError("connection failed: FATAL:  the database system is starting up"), True),
        (psycopg.OperationalError("connection failed: FATAL:  sorry, too many clients already"), True),
        # the server stopped while our session was being set up (seen when a fast shutdown met a reconnect)
        (
            psycopg.OperationalError("connection failed: FATAL:  terminating connection due to administrator command"),
            True,
        ),
        (psycopg.errors.InvalidCatalogName(), False),  # no such database
        (psycopg.errors.InsufficientPrivilege(), False),
        (ValueError("x"), False),
    ],
)
def test_what_is_transient(exc, transient):
    assert is_transient(exc) is transient


def test_retry_gives_up_after_its_budget_and_names_the_attempts():
    now, slept = [0.0], []

    def sleep(s):
        slept.append(s)
        now[0] += s

    retry = Retry(5, "cannot connect to db:5432/jira", sleep=sleep, clock=lambda: now[0], rng=lambda: 1.0)
    with pytest.raises(DatabaseError) as caught:
        while True:
            retry.failed(psycopg.OperationalError("connection refused\nmore detail"))
    assert slept == [0.25, 0.5, 1.0, 2.0]  # the next wait (4 s) would end past the budget
    assert str(caught.value) == (
        "cannot connect to db:5432/jira: connection refused (gave up after 5 attempts in 4 s; "
        "INSPECTOR_DB_CONNECT_TIMEOUT=5)"
    )
    retry.succeeded()
    retry.failed(psycopg.OperationalError("again"))  # a new outage gets a new budget
    with pytest.raises(DatabaseError, match="password authentication failed"):
        retry.failed(psycopg.errors.InvalidPassword("password authentication failed for user x"))


# --- the real reader against a real server --------------------------------------------------------
def _terminate(jira, application_name: str, reading_only: bool = False) -> int:
    """Kill the sessions of ``application_name``; ``reading_only``: only one in a query or in
    a segment's transaction (an idle one, once the last segment is read, is killed without the
    reader ever noticing)."""
    states = ["active", "idle in transaction"] if reading_only else None
    rows = jira.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %(name)s"
        " AND (%(states)s::text[] IS NULL OR state = ANY(%(states)s::text[]))",
        {"name": application_name, "states": states},
    )
    return sum(1 for (ok,) in rows if ok)


def test_segments_continue_after_the_last_id_when_the_session_is_terminated(jira, workdir):
    from inspector.sources.postgres import open_pool, segments

    expected = world.build(jira.admin_dsn, workdir / "attachments", world.WorldSpec(attachments=600))
    config = make_config(workdir, db_dsn=jira.ro_dsn, db_connect_timeout=20, db_pool_size=2)
    pool = open_pool(config, "fault-test")
    retry = Retry(20, "reading")
    seen, terminated = [], 0
    try:
        for i, rows in enumerate(segments(pool, 0, 250, 50, retry=retry)):
            seen += [row[0] for row in rows]
            if i in (1, 6):  # inside the first segment, and inside the second
                terminated += _terminate(jira, "jira-attachment-inspector (fault-test)")
    finally:
        pool.close()
    assert terminated == 2 and retry.total >= 2
    all_ids = [r[0] for r in jira.execute("SELECT id::bigint FROM fileattachment ORDER BY id")]
    assert seen == all_ids and len(all_ids) == expected.total


def test_segments_without_retry_raise(jira, workdir):
    from inspector.sources.postgres import open_pool, segments

    world.build(jira.admin_dsn, workdir / "attachments", world.WorldSpec(attachments=200))
    pool = open_pool(make_config(workdir, db_dsn=jira.ro_dsn, db_connect_timeout=5), "fault-test")
    try:
        with pytest.raises(psycopg.OperationalError):
            for _ in segments(pool, 0, 100, 20):
                _terminate(jira, "jira-attachment-inspector (fault-test)")
    finally:
        pool.close()


def _start(env):
    return subprocess.Popen([sys.executable, "-m", "inspector"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def test_pipeline_survives_terminated_reader_sessions(jira, workdir):
    root = workdir / "attachments"
    expected = world.build(jira.admin_dsn, root, world.WorldSpec(attachments=3000, seed=3))
    reference = reference_report(jira, root, workdir, INSPECTOR_BATCH_SIZE="100")
    # Paced (and small segments) so the pass is still reading when its sessions are killed: at
    # 1500 rows/s a busy CI machine once finished reading before the third kill.
    env = inspector_env(jira, root, workdir, INSPECTOR_BATCH_SIZE="100", INSPECTOR_DB_SEGMENT_ROWS="500",
                        INSPECTOR_MAX_ROWS_PER_SECOND="800", INSPECTOR_DB_CONNECT_TIMEOUT="30")  # fmt: skip
    proc = _start(env)
    kills = 0
    deadline = time.monotonic() + 60
    while kills < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.35)
        kills += _terminate(jira, "jira-attachment-inspector (reader)", reading_only=True)
    _, err = proc.communicate(timeout=120)
    assert kills == 3, err
    assert proc.returncode == 0, err
    assert err.count("retry 1 in") >= 3 and "reconnects)" in err
    got = report_files(workdir / "report")
    assert got == reference and got["summary"]["total_attachments"] == expected.total


def test_pipeline_waits_for_a_restarted_server(jira, workdir):
    root = workdir / "attachments"
    world.build(jira.admin_dsn, root, world.WorldSpec(attachments=3000, seed=4))
    reference = reference_report(jira, root, workdir, INSPECTOR_BATCH_SIZE="100")
    env = inspector_env(jira, root, workdir, INSPECTOR_BATCH_SIZE="100", INSPECTOR_DB_SEGMENT_ROWS="500",
                        INSPECTOR_MAX_ROWS_PER_SECOND="1500", INSPECTOR_DB_CONNECT_TIMEOUT="60")  # fmt: skip
    proc = _start(env)
    time.sleep(1.0)
    assert proc.poll() is None
    jira.cluster.stop("fast")
    time.sleep(2.0)  # down long enough for several failed attempts
    jira.cluster.start()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    # The outage was seen, and waited out: by a query that failed and was retried, or (when the
    # reader was between segments) by the pool, whose new connections failed until the server
    # was back, while the reader waited for one (CI hit that ordering once).
    assert ("retry 1 in" in err and "working again" in err) or "accepting TCP/IP connections" in err, err
    assert report_files(workdir / "report") == reference


def test_unreachable_database_retries_then_exits_3_writing_nothing(workdir):
    root = workdir / "attachments"
    root.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INSPECTOR_", "PG"))}
    env.update(
        INSPECTOR_DB_DSN="postgresql://inspector@127.0.0.1:9/jira",
        INSPECTOR_DB_PASSWORD="hunter2",
        INSPECTOR_ATTACHMENTS_ROOT=str(root),
        INSPECTOR_STATE_DB=str(workdir / "state.sqlite"),
        INSPECTOR_REPORT_DIR=str(workdir / "report"),
        INSPECTOR_DB_CONNECT_TIMEOUT="3",
    )
    started = time.monotonic()
    result = run_cli([], env)
    took = time.monotonic() - started
    assert result.returncode == 3
    errors = [line for line in result.stderr.splitlines() if line.startswith("inspector: error:")]
    assert len(errors) == 1 and "127.0.0.1:9/jira" in errors[0] and "gave up after" in errors[0], result.stderr
    waits = [float(s) for s in re.findall(r"; retry \d+ in ([\d.]+) s", result.stderr)]
    assert len(waits) >= 3  # each attempt logged, with the wait before the next
    # It really waited each logged backoff (rounded to 0.1 s in the log), and gave up within
    # the budget of 3 s plus one connection attempt's timeout.
    assert sum(waits) - 0.05 * len(waits) <= took < 15
    assert "hunter2" not in result.stderr + result.stdout
    assert not (workdir / "state.sqlite").exists() and not (workdir / "report").exists()
    assert not (workdir / "state.sqlite.lock").exists()  # no lock file left behind either


def test_wrong_password_is_not_retried(jira, workdir):
    root = workdir / "attachments"
    world.build(jira.admin_dsn, root, world.WorldSpec(attachments=10))
    jira.execute("ALTER ROLE inspector_ro PASSWORD 'right'")
    # trust auth accepts any password; a missing database is refused by the server the same way
    env = inspector_env(jira, root, workdir, INSPECTOR_DB_CONNECT_TIMEOUT="30")
    env["INSPECTOR_DB_DSN"] = jira.ro_dsn.rsplit("/", 1)[0] + "/no_such_db"
    started = time.monotonic()
    result = run_cli([], env)
    assert result.returncode == 3 and time.monotonic() - started < 10
    assert 'database "no_such_db" does not exist' in result.stderr
    assert "retry" not in result.stderr
