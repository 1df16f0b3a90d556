"""The state file: versioning, refusal of foreign or corrupted files, cursor logic, pruning."""

from __future__ import annotations

import sqlite3

import pytest

from inspector.errors import StateError
from inspector.scan.messages import NEW, Cursor
from inspector.scan.stages.writer import CursorTracker
from inspector.state import SCHEMA_VERSION, State

from .helpers import JIRA, make_config


def test_cursor_only_advances_over_an_unbroken_run_of_batches():
    t = CursorTracker()
    assert t.complete(1, 200) is None  # batch 0 still out
    assert t.complete(2, 300) is None
    assert t.complete(0, 100) == 300
    assert t.complete(4, 500) is None
    assert t.complete(3, 400) == 500
    assert t.next_seq == 5


def test_new_state_gets_current_version(tmp_path):
    with State(tmp_path / "s.sqlite") as st:
        (v,) = st.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    assert int(v) == SCHEMA_VERSION


@pytest.mark.faults
def test_newer_state_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "s.sqlite"
    State(path).close()
    with sqlite3.connect(path) as c:
        c.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    before = path.read_bytes()
    with pytest.raises(StateError, match="newer inspector"):
        State(path)
    assert path.read_bytes() == before


@pytest.mark.faults
def test_foreign_sqlite_and_garbage_are_refused(tmp_path):
    foreign = tmp_path / "other.sqlite"
    with sqlite3.connect(foreign) as c:
        c.execute("CREATE TABLE t (x)")
    with pytest.raises(StateError, match="not an inspector state file"):
        State(foreign)
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StateError, match="cannot be used"):
        State(garbage)
    assert garbage.read_bytes() == b"this is not a database" * 100


def test_unwritable_location_is_a_state_error(tmp_path):
    with pytest.raises(StateError):
        State(tmp_path / "no" / "such" / "dir" / "s.sqlite")


def test_finished_passes_are_pruned_to_keep(tmp_path):
    cfg = make_config(tmp_path, identity=JIRA)
    with State(cfg.state_db) as st:
        ids = []
        for _ in range(4):
            p = st.start_pass(cfg, 10)
            st.write_disk(p.pass_id, [("x", None, 1, "file", None)], None)
            st.finish_pass(p.pass_id, keep=2)
            ids.append(p.pass_id)
        kept = [r[0] for r in st.conn.execute("SELECT pass_id FROM passes ORDER BY pass_id")]
        disk = {r[0] for r in st.conn.execute("SELECT DISTINCT pass_id FROM disk_files")}
    assert kept == ids[-2:] and disk == set(ids[-2:])


def test_folder_rows_count_per_file_and_an_older_state_still_reads(tmp_path):
    """An issue folder's files are one walked_folders row; status counts them one per file,
    orphans too, and a state from before schema 11 (read-only: not migrated) still reads."""
    import sqlite3

    from inspector.commands import status

    cfg = make_config(tmp_path, identity=JIRA)
    with State(cfg.state_db) as st:
        p = st.start_pass(cfg, 10)
        st.write_disk(p.pass_id, [("A/10000/A-1/notes.txt", None, None, "file", None)], None,
                      folders=[("A/10000/A-1", "10/11_x.txt"), ("A/10000/A-2", "12")])  # fmt: skip
        st.reading_finished(p.pass_id)
    now = status.read(cfg.state_db)
    assert now["walked"] == 4 and now["orphans"] == 4  # no row owns any of them
    with State(cfg.state_db) as st:  # an orphan sized leaves its folder's row for one of its own
        st.set_sizes(p.pass_id, [("A/10000/A-1/11_x.txt", 5), ("A/10000/A-2/12", 3)])
        rows = st.conn.execute("SELECT folder, names FROM walked_folders").fetchall()
        sized = st.conn.execute("SELECT relpath, att_id, size FROM disk_files WHERE size IS NOT NULL").fetchall()
    assert rows == [("A/10000/A-1", "10")]
    assert sorted(sized) == [("A/10000/A-1/11_x.txt", 11, 5), ("A/10000/A-2/12", 12, 3)]
    assert status.read(cfg.state_db)["walked"] == 4
    with sqlite3.connect(cfg.state_db) as db:
        db.execute("DROP TABLE walked_folders")
        db.execute("UPDATE meta SET value = '10' WHERE key = 'schema_version'")
    assert status.read(cfg.state_db)["walked"] == 3


def test_running_pass_round_trip(tmp_path):
    cfg = make_config(tmp_path, identity=JIRA)
    with State(cfg.state_db) as st:
        p = st.start_pass(cfg, 10)
        st.write_results(p.pass_id, [], Cursor(NEW, 1234))
        st.write_disk(p.pass_id, [], ("KEY", "20000"))
        again = st.running_pass()
    assert again.cursor_id == 1234 and again.walk_cursor == ("KEY", "20000") and not again.walk_done


@pytest.mark.faults
def test_a_version_1_state_is_migrated_in_place_keeping_its_progress(tmp_path):
    from inspector import sqlfiles

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as c:
        for statement in sqlfiles.statements("state/schema_v1"):
            c.execute(statement)
        c.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        c.execute(
            "INSERT INTO passes (status, started_at, attachments_root, jira_url, jira_uid, jira_gids, cursor_id) "
            "VALUES ('running', '2026-11-01T00:00:00+00:00', '/a', 'http://x', 1, '1', 777)"
        )
    with State(path) as st:
        current = st.running_pass()
    assert (current.cursor_id, current.head_id, current.new_done) == (777, 0, False)
    with sqlite3.connect(path) as c:
        assert c.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)


def test_read_only_connections_open_the_file_named_whatever_its_folder_holds(workdir, monkeypatch):
    from inspector.runtime import readonly

    odd = workdir / "a#b?c%41 d"
    odd.mkdir()
    with sqlite3.connect(odd / "state.sqlite") as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.execute("INSERT INTO t VALUES (42)")
    monkeypatch.chdir(workdir)
    conn = readonly.connect(odd / "state.sqlite")
    try:
        assert conn.execute("SELECT x FROM t").fetchall() == [(42,)]
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            conn.execute("INSERT INTO t VALUES (1)")
    finally:
        conn.close()
    assert sorted(p.name for p in workdir.iterdir()) == [odd.name]  # nothing created beside it
    with pytest.raises(sqlite3.OperationalError):
        readonly.connect(odd / "missing.sqlite").execute("SELECT 1")
    assert not (odd / "missing.sqlite").exists()


def test_a_scan_with_hashes_status_and_a_restore_plan_work_under_such_a_folder(jira, workdir):
    from jiraworld import world

    from .helpers import inspector_env, run_cli

    root = workdir / "attachments"
    world.build(jira.admin_dsn, root, world.WorldSpec(attachments=60, seed=4))
    odd = workdir / "state#1?x"
    odd.mkdir()
    env = inspector_env(jira, root, workdir, INSPECTOR_STATE_DB=str(odd / "state.sqlite"))
    scan = run_cli(["--hash"], env)
    assert scan.returncode == 0, scan.stderr
    status = run_cli(["status"], env)
    assert status.returncode == 0 and "finished" in status.stdout, status.stderr
    plan = run_cli(["restore", "--from", str(root)], env)
    assert plan.returncode == 0, plan.stderr
    assert not (workdir / "state").exists()  # the URI once stopped at '#' and created this
