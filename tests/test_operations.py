"""Operations on the real pipeline: one instance per state file, clean stops on SIGTERM and
SIGINT (exit 128+signal, children reaped, the next run resumes), and no stage outliving a
parent killed with SIGKILL."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import orjson
import pytest

from jiraworld import world

from .helpers import inspector_env, progress, run_cli, serve_through_a_closed_window


def children_of(pid: int) -> set[int]:
    kids: set[int] = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            kids |= {int(p) for p in f.read().split()}
    return kids


def none_alive(pids: set[int], within: float = 3.0) -> bool:
    """Whether all of pids are gone, allowing multiprocessing's resource tracker a moment to
    notice its parent has exited."""
    deadline = time.monotonic() + within
    while [p for p in pids if alive(p)] and time.monotonic() < deadline:
        time.sleep(0.05)
    return not [p for p in pids if alive(p)]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def big_world(jira, workdir):
    root = workdir / "attachments"
    expected = world.build(jira.admin_dsn, root, world.WorldSpec(attachments=12_000, seed=9))
    env = inspector_env(jira, root, workdir, INSPECTOR_BATCH_SIZE="20")
    return expected, env


def start_and_wait(env, state, rows=300) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "inspector"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while progress(state)[0] < rows and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.005)
    return proc


def test_second_instance_on_the_same_state_refuses(big_world, workdir):
    expected, env = big_world
    first = start_and_wait(env, workdir / "state.sqlite")
    try:
        second = run_cli([], env)
        assert second.returncode == 4
        assert f"another inspector (pid {first.pid}) is already working on" in second.stderr
        assert len([line for line in second.stderr.splitlines() if line.startswith("inspector: error:")]) == 1
    finally:
        _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert orjson.loads((workdir / "report/summary.json").read_bytes())["total_attachments"] == expected.total


@pytest.mark.faults
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_cleanly_within_seconds_and_the_next_run_resumes(big_world, workdir, sig):
    expected, env = big_world
    proc = start_and_wait(env, workdir / "state.sqlite")
    kids = children_of(proc.pid)
    assert len(kids) >= 4  # writer, reader, checkers, walker
    sent = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=10)
    assert time.monotonic() - sent < 10
    assert proc.returncode == 128 + sig
    assert f"stopped by {sig.name}" in err
    assert none_alive(kids)
    done, _, _ = progress(workdir / "state.sqlite")
    assert 0 < done < expected.total
    resumed = run_cli([], env)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming pass 1" in resumed.stderr
    summary = orjson.loads((workdir / "report/summary.json").read_bytes())
    assert summary["total_attachments"] == expected.total
    assert (summary["missing"], summary["corrupted"]) == (len(expected.missing), len(expected.corrupted))


@pytest.mark.faults
def test_stages_die_with_a_parent_killed_by_sigkill(big_world, workdir):
    _, env = big_world
    proc = start_and_wait(env, workdir / "state.sqlite")
    kids = children_of(proc.pid)
    assert kids
    proc.kill()
    proc.wait(timeout=10)
    assert none_alive(kids, within=5.0)
    # the lock died with its holder: the next run starts and resumes
    assert run_cli([], env).returncode == 0


def test_status_while_running_and_after(big_world, workdir):
    expected, env = big_world
    proc = start_and_wait(env, workdir / "state.sqlite")
    try:
        during = run_cli(["status", "--json"], env)
    finally:
        proc.communicate(timeout=120)
    assert during.returncode == 0, during.stderr
    now = orjson.loads(during.stdout)
    assert now["status"] == "running" and now["scan_running"] is True
    assert 0 < now["rows_done"] <= expected.total and now["rows_estimate"] == expected.total
    after = run_cli(["status"], env)
    assert after.returncode == 0
    assert "pass 1: finished\n" in after.stdout
    assert "\n  found     " in after.stdout and "so far" not in after.stdout  # a finished pass's counts are final
    assert f"{len(expected.missing)} missing" in after.stdout
    # rows in issue folders the walk found closed to Jira count too, as in the report
    assert f"{len(expected.permissions)} permissions" in after.stdout
    done = orjson.loads(run_cli(["status", "--json"], env).stdout)
    assert done["scan_running"] is False and done["rows_done"] == expected.total
    assert done["phase"] == "finished" and done["orphans"] == len(expected.orphans)
    assert f"{len(expected.orphans)} orphans" in after.stdout and "  phase     finished\n" in after.stdout
    assert now["phase"].startswith("checking the rows")
    # A second pass goes over the older ids again: its cursor is that one, not the first part's 0.
    proc = subprocess.Popen([sys.executable, "-m", "inspector"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while progress(workdir / "state.sqlite", running_only=True)[0] < 300 and time.monotonic() < deadline:
            time.sleep(0.005)
        second = run_cli(["status"], env)
    finally:
        proc.communicate(timeout=120)
    assert "pass 2: running (a scan is running now)" in second.stdout, second.stdout
    assert "new attachments done; older ones: cursor at id " in second.stdout, second.stdout
    assert "cursor at id 0," not in second.stdout and "so far    " in second.stdout


def test_status_without_state_is_a_state_error(workdir):
    env = {**os.environ, "INSPECTOR_STATE_DB": str(workdir / "none.sqlite")}
    result = run_cli(["status"], env)
    assert result.returncode == 4 and "no scan has run yet" in result.stderr


def test_metrics_file_and_rotated_log_file(jira, workdir):
    root = workdir / "attachments"
    expected = world.build(jira.admin_dsn, root, world.WorldSpec(attachments=400))
    metrics, logfile = workdir / "inspector.prom", workdir / "inspector.log"
    env = inspector_env(
        jira, root, workdir, INSPECTOR_METRICS_FILE=str(metrics), INSPECTOR_LOG_FILE=str(logfile),
        INSPECTOR_LOG_MAX_BYTES="300", INSPECTOR_LOG_BACKUPS="200", INSPECTOR_LOG_LEVEL="DEBUG",
    )  # fmt: skip
    before = time.time()
    assert run_cli([], env).returncode == 0
    text = metrics.read_text()
    values = dict(line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#"))
    assert values['jira_inspector_attachments_flagged{kind="missing"}'] == str(len(expected.missing))
    assert values['jira_inspector_attachments_flagged{kind="corrupted"}'] == str(len(expected.corrupted))
    assert values["jira_inspector_orphan_files"] == str(len(expected.orphans))
    assert values["jira_inspector_running"] == "0"
    assert values["jira_inspector_rows_checked"] == str(expected.total)
    assert before - 1 <= int(values["jira_inspector_last_success_timestamp_seconds"]) <= time.time() + 1
    assert "# TYPE jira_inspector_rows_checked gauge" in text
    logs = sorted(p.name for p in workdir.iterdir() if p.name.startswith("inspector.log"))
    assert len(logs) >= 3 and "inspector.log.1" in logs  # rotated by size
    assert all((workdir / name).stat().st_size < 300 + 300 for name in logs)
    everything = "".join((workdir / name).read_text() for name in logs)
    assert "writer finished in" in everything  # a stage's line, logged through the parent
    assert re.search(r"DEBUG attachment \d+ \(.*\): ", everything)  # per-row detail at DEBUG
    assert "inspector_ro" in everything and "password" not in everything.lower()


def test_stages_wait_for_room_in_a_full_log_queue_and_every_line_arrives(jira, workdir, monkeypatch, capsys):
    """The stages' log queue is bounded (at DEBUG every flagged row is a line; unbounded, a
    disaster grew each checker by hundreds of MB). With room for a single record the stages
    wait for the parent instead of failing or dropping lines, and the run ends normally."""
    import sqlite3

    from inspector import cli
    from inspector.scan import supervisor

    root = workdir / "attachments"
    world.build(jira.admin_dsn, root, world.WorldSpec(attachments=600, seed=48, fault_rate=0.05))
    for key, value in inspector_env(jira, root, workdir, INSPECTOR_LOG_LEVEL="DEBUG").items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(supervisor, "LOG_QUEUE_RECORDS", 1)
    assert cli.main([]) == 0
    err = capsys.readouterr().err
    with sqlite3.connect(workdir / "state.sqlite") as db:
        (flagged,) = db.execute("SELECT count(*) FROM results WHERE flags <> 0").fetchone()
    assert flagged > 20
    assert len(re.findall(r"DEBUG attachment \d+ \(.*\): ", err)) == flagged
    assert err.count(" finished in ") >= 6  # every stage's closing line came through as well


def test_window_closing_mid_scan_pauses_at_a_checkpoint_and_the_next_window_finishes(
    big_world, workdir, monkeypatch, caplog
):
    expected, env = big_world
    # Paced, so that the window closes mid-scan however fast the machine: unpaced, a fast one
    # checked all 12,000 rows within the poll that notices the window has closed.
    env = {**env, "INSPECTOR_MAX_ROWS_PER_SECOND": "4000"}
    with caplog.at_level("INFO"):
        outcome, seen = serve_through_a_closed_window(
            monkeypatch, env, workdir / "state.sqlite", lambda state: progress(state)[0], 300
        )
    assert seen["children"] == 0  # every stage stopped while the window was closed
    assert 0 < seen["at_pause"] == seen["after_wait"] < expected.total  # nothing read or written meanwhile
    assert "paused at a checkpoint; next window opens 2026-11-25T22:00+01:00" in caplog.text
    assert outcome.resumed and outcome.summary["total_attachments"] == expected.total
    assert outcome.summary["missing"] == len(expected.missing)


def test_status_describes_the_windows():
    from inspector.commands.status import window_state
    from inspector.config.config import report_settings

    always = window_state(
        report_settings({"INSPECTOR_WINDOWS": "00:00-12:00,12:00-00:00", "INSPECTOR_TZ": "Europe/Berlin"})
    )
    assert always.startswith("00:00-12:00,12:00-00:00: open now, closes ")
    assert window_state(report_settings({})) == "none configured (works straight through)"
    assert "invalid" in window_state(report_settings({"INSPECTOR_WINDOWS": "25:00-26:00"}))
