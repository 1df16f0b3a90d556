"""The state file on a disk that fills up, or turns read-only, in the middle of a pass: one
clear line and exit 4, nothing committed is lost, and the next run resumes to the same report."""

from __future__ import annotations

import sqlite3
import subprocess
from contextlib import closing

import pytest

from jiraworld import world

from .helpers import inspector_env, reference_report, report_files, run_cli

pytestmark = pytest.mark.faults


@pytest.fixture
def small_disk(workdir):
    """A 2 MiB tmpfs: a real file system that really runs out of space (mid-pass, with the
    results of 6,000 attachments and their write-ahead log)."""
    mount = workdir / "state-disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _remount(mount, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(mount)], check=True)


def test_full_then_read_only_state_disk_then_resume(jira, workdir, small_disk):
    root = workdir / "attachments"
    expected = world.build(jira.admin_dsn, root, world.WorldSpec(attachments=6000, seed=8))
    reference = reference_report(jira, root, workdir, INSPECTOR_BATCH_SIZE="200")

    state = small_disk / "state.sqlite"
    env = inspector_env(jira, root, workdir, INSPECTOR_STATE_DB=str(state), INSPECTOR_BATCH_SIZE="200")
    full = run_cli([], env)
    assert full.returncode == 4, full.stderr
    errors = [line for line in full.stderr.splitlines() if line.startswith("inspector: error:")]
    assert errors == [
        f"inspector: error: cannot write the state file {state}: database or disk is full; progress up to the "
        "last checkpoint is kept, free some space and run again to resume"
    ]
    with closing(sqlite3.connect(f"file:{state}?mode=ro", uri=True)) as c:  # closed: the disk is remounted
        (stored,) = c.execute("SELECT count(*) FROM results").fetchone()
        (rows_done,) = c.execute("SELECT rows_done FROM passes").fetchone()
    assert 0 < stored < expected.total and rows_done == stored

    _remount(small_disk, "ro")
    read_only = run_cli([], env)
    assert read_only.returncode == 4
    assert f"inspector: error: cannot lock the state file {state}" in read_only.stderr
    assert read_only.stderr.rstrip().endswith("Read-only file system"), read_only.stderr
    assert "Traceback" not in read_only.stderr + full.stderr

    _remount(small_disk, "rw,size=64m")
    resumed = run_cli([], env)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming pass 1" in resumed.stderr
    assert report_files(workdir / "report") == reference
    with closing(sqlite3.connect(state)) as c:
        assert c.execute("SELECT count(*), count(DISTINCT id) FROM results").fetchone() == (
            expected.total, expected.total,
        )  # fmt: skip
