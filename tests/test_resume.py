"""Killed at any moment (kill -9 of the whole process group), the next run resumes from the
cursor and the final report equals that of an uninterrupted run, with no row lost or doubled."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from jiraworld import world

from .helpers import inspector_env, kill_when, progress, reference_report, report_files, run_cli


@pytest.mark.faults
@pytest.mark.slow
def test_kill_9_at_random_points_then_resume_equals_uninterrupted(jira, workdir):
    root = workdir / "attachments"
    spec = world.WorldSpec(attachments=12_000, fault_rate=0.01, hostile_rate=0.05, seed=11)
    expected = world.build(jira.admin_dsn, root, spec)

    clean = workdir / "clean"
    clean.mkdir()
    env_clean = inspector_env(jira, root, clean, INSPECTOR_BATCH_SIZE="25")
    assert run_cli([], env_clean).returncode == 0
    reference = report_files(clean / "report")
    assert reference["summary"]["total_attachments"] == expected.total

    env = inspector_env(jira, root, workdir, INSPECTOR_BATCH_SIZE="25")
    state = workdir / "state.sqlite"
    rng = random.Random(5)
    kills = 0
    for fraction in sorted(rng.uniform(0.05, 0.9) for _ in range(3)):
        kills += kill_when(env, state, int(expected.total * fraction))
    assert kills >= 2, "the scan finished before it could be killed: make the world bigger"
    rows_done, reader_done, _ = progress(state)
    assert 0 < rows_done < expected.total or not reader_done

    result = run_cli([], env)
    assert result.returncode == 0, result.stderr
    assert "resuming pass 1" in result.stderr
    assert report_files(workdir / "report") == reference
    with sqlite3.connect(state) as c:
        assert c.execute("SELECT count(*), count(DISTINCT id) FROM results").fetchone() == (expected.total,) * 2
        assert c.execute("SELECT count(*) FROM passes").fetchone() == (1,)


@pytest.mark.slow
def test_report_while_a_scan_runs_and_progress_lines(jira, workdir):
    root = workdir / "attachments"
    expected = world.build(jira.admin_dsn, root, world.WorldSpec(attachments=12_000, seed=3))
    env = inspector_env(jira, root, workdir, INSPECTOR_BATCH_SIZE="20", INSPECTOR_PROGRESS_INTERVAL="0.1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "inspector"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while progress(workdir / "state.sqlite")[0] < 500 and time.monotonic() < deadline:
            time.sleep(0.005)
        during = run_cli(["report"], env)
        assert during.returncode == 0, during.stderr
        summary = orjson.loads((workdir / "report/summary.json").read_bytes())
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert "running (partial results)" in during.stdout
    # Rows may all be checked by then while the walk and the finish are still under way.
    assert summary["status"] == "running" and 0 < summary["total_attachments"] <= expected.total
    assert proc.returncode == 0
    assert "progress:" in err and f"of ~{expected.total}" in err
    final = orjson.loads((workdir / "report/summary.json").read_bytes())
    assert final["status"] == "finished" and final["total_attachments"] == expected.total


def test_next_pass_checks_new_attachments_first_and_resumes_both_parts(jira, workdir):
    root = workdir / "attachments"
    expected = world.build(jira.admin_dsn, root, world.WorldSpec(attachments=3000, seed=4))
    env = inspector_env(jira, root, workdir, INSPECTOR_BATCH_SIZE="20")
    assert run_cli([], env).returncode == 0
    head = max(expected.issue_of)
    # 300 attachments arrive after the first pass, on an existing healthy issue folder
    (issue_id, key, num) = jira.execute(
        "SELECT ji.id::bigint, p.originalkey, ji.issuenum::bigint FROM jiraissue ji "
        "JOIN project p ON p.id = ji.project WHERE p.pkey = 'ALPHA' ORDER BY ji.issuenum LIMIT 1"
    )[0]
    folder = root / key / "10000" / f"{key}-{num}"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(300):
        new_id = 5_000_000 + i
        (folder / str(new_id)).write_bytes(b"x" * 7)
        os.chown(folder / str(new_id), 2001, 2001)
        jira.execute(
            "INSERT INTO fileattachment (id, issueid, filename, filesize, mimetype, author, created) "
            "VALUES (%s, %s, %s, 7, 'text/plain', 'u', now())", (new_id, issue_id, f"new-{i}.txt"),
        )  # fmt: skip
    state = workdir / "state.sqlite"
    # Pass 2, killed once ~100 rows are stored: paced, so that the 300 new rows take longer than
    # a busy machine takes to notice 100 (unpaced, a loaded CI machine once noticed after 300).
    paced = dict(env, INSPECTOR_MAX_ROWS_PER_SECOND="150")
    assert kill_when(paced, state, 100, running_only=True)
    with sqlite3.connect(state) as c:
        stored = [r[0] for r in c.execute("SELECT id FROM results WHERE pass_id = 2")]
        (head_id,) = c.execute("SELECT head_id FROM passes WHERE pass_id = 2").fetchone()
    assert head_id == head
    # The new attachments came first: none of the older ones is stored before every new one is
    # (a checker may store an older batch while the other finishes the last new one).
    new_ids = set(range(5_000_000, 5_000_300))
    assert stored and (min(stored) > head or new_ids <= set(stored)), (len(stored), min(stored))
    result = run_cli([], env)
    assert result.returncode == 0, result.stderr
    assert "resuming pass 2: new attachments after id" in result.stderr
    summary = orjson.loads((workdir / "report/summary.json").read_bytes())
    assert summary["pass_id"] == 2 and summary["total_attachments"] == expected.total + 300
    assert summary["missing"] == len(expected.missing)
    with sqlite3.connect(state) as c:
        assert c.execute("SELECT count(*), count(DISTINCT id) FROM results WHERE pass_id = 2").fetchone() == (
            expected.total + 300, expected.total + 300,
        )  # fmt: skip


def test_loop_runs_pass_after_pass_until_stopped(jira, workdir):
    root = workdir / "attachments"
    world.build(jira.admin_dsn, root, world.WorldSpec(attachments=200))
    env = inspector_env(jira, root, workdir, INSPECTOR_REPEAT="1s")
    proc = subprocess.Popen([sys.executable, "-m", "inspector", "run", "--loop"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 90
    finished = 0
    while finished < 4 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        try:
            with sqlite3.connect(f"file:{workdir / 'state.sqlite'}?mode=ro", uri=True) as c:
                # older passes are pruned (INSPECTOR_KEEP_PASSES): count by the newest id
                (finished,) = c.execute("SELECT max(pass_id) FROM passes WHERE status = 'finished'").fetchone()
                finished = finished or 0
        except sqlite3.Error:
            pass
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=15)
    assert finished >= 3, err
    assert proc.returncode == 143, err[-3000:]
    # the summary of a pass is printed just after the pass is marked finished
    assert out.count("Jira attachment inspection, pass") >= 3


def _stage_pids(parent: int, comm: str) -> list[int]:
    """Children of ``parent`` whose process name (set by each stage) is ``comm``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            text = stat.read_text()
            name = text[text.index("(") + 1 : text.rindex(")")]
            ppid = int(text[text.rindex(")") + 2 :].split()[1])
            if ppid == parent and name == comm:
                found.append(int(stat.parent.name))
    return found


@pytest.mark.faults
@pytest.mark.parametrize("victim", ["checker", "writer", "reader"])
def test_a_killed_stage_stops_the_pass_with_a_clear_error_then_resume_equals_uninterrupted(jira, workdir, victim):
    root = workdir / "attachments"
    expected = world.build(jira.admin_dsn, root, world.WorldSpec(attachments=4000, seed=12))
    reference = reference_report(jira, root, workdir, INSPECTOR_BATCH_SIZE="100")

    env = inspector_env(jira, root, workdir, INSPECTOR_BATCH_SIZE="100", INSPECTOR_MAX_ROWS_PER_SECOND="2000")
    proc = subprocess.Popen([sys.executable, "-m", "inspector"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 60
    while progress(workdir / "state.sqlite")[0] < 1000 and time.monotonic() < deadline:
        time.sleep(0.01)
    pids = _stage_pids(proc.pid, f"insp-{victim}")
    assert pids, f"no insp-{victim} child of {proc.pid}"
    os.kill(pids[0], signal.SIGKILL)
    killed = time.monotonic()
    _, err = proc.communicate(timeout=60)
    assert time.monotonic() - killed < 10  # noticed within seconds, no hang
    assert proc.returncode == 5, err
    errors = [line for line in err.splitlines() if line.startswith("inspector: error:")]
    assert errors == [
        f"inspector: error: {victim}{'-0' if victim == 'checker' else ''} process died (exit code -9); "
        "progress up to the last checkpoint is kept, run again to resume"
    ] or (victim == "checker" and "checker-1 process died (exit code -9)" in errors[0]), err
    assert not _stage_pids(proc.pid, f"insp-{victim}")

    result = run_cli([], env)
    assert result.returncode == 0, result.stderr
    assert "resuming pass 1" in result.stderr
    assert report_files(workdir / "report") == reference
    with sqlite3.connect(workdir / "state.sqlite") as c:
        assert c.execute("SELECT count(*), count(DISTINCT id) FROM results").fetchone() == (
            expected.total, expected.total,
        )  # fmt: skip
