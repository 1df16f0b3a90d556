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

import orjson
import pytest

from inspector import world

from .helpers import inspector_env, run_cli

VOLATILE = {"started_at", "finished_at", "pass_id"}


def report_files(report_dir) -> dict:
    files = {p.name: p.read_bytes() for p in report_dir.iterdir() if p.suffix == ".txt" and p.name != "summary.txt"}
    summary = orjson.loads((report_dir / "summary.json").read_bytes())
    files["summary"] = {k: v for k, v in summary.items() if k not in VOLATILE}
    return files


def progress(state_path) -> tuple[int, int, int]:
    try:
        with sqlite3.connect(f"file:{state_path}?mode=ro", uri=True, timeout=1) as c:
            row = c.execute("SELECT rows_done, reader_done, walk_done FROM passes ORDER BY pass_id DESC LIMIT 1")
            return row.fetchone() or (0, 0, 0)
    except sqlite3.Error:
        return (0, 0, 0)


def kill_when(env, state_path, rows_at_least: int, timeout: float = 60) -> bool:
    """Start a scan, SIGKILL its whole process group once rows_done reaches the target."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "inspector"], env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + timeout
    killed = False
    while time.monotonic() < deadline and proc.poll() is None:
        if progress(state_path)[0] >= rows_at_least:
            os.killpg(proc.pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.003)
    proc.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers of a finished run too
    return killed


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
