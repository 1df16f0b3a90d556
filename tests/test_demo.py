"""`inspector demo` builds a world in its own throwaway PostgreSQL and finds what it planted."""

from __future__ import annotations

import os
import re

import orjson
import pytest

from .helpers import run_cli


def _planted_and_found(stdout: str) -> tuple[list[str], list[str]]:
    """The counts the demo says it planted, and the summary's counts, in the same order."""
    planted = re.search(
        r"planted: (\d+) missing, (\d+) permissions, (\d+) corrupted, (\d+) errors, (\d+) orphans", stdout
    ).groups()
    found = [
        re.search(rf"^\s+{label}\s+(\d+)", stdout, re.M).group(1)
        for label in ("missing", "permissions", "corrupted", "errors", "orphan files")
    ]
    return list(planted), found


def test_demo_finds_what_it_planted(workdir):
    result = run_cli(["demo", "--dir", str(workdir / "demo"), "--attachments", "300"], dict(os.environ), timeout=180)
    assert result.returncode == 0, result.stderr
    planted, found = _planted_and_found(result.stdout)
    assert list(planted) == found
    assert (workdir / "demo/report/summary.json").is_file()
    # It says where its state file is and that its folder stays, without --keep too.
    assert f"state file: {workdir / 'demo/inspector-state.sqlite'}" in result.stdout
    assert f"the demo folder stays: {workdir / 'demo'}" in result.stdout
    # The summary ends with what to do, from what was found.
    steps = result.stdout.split("What to do next\n", 1)[1]
    assert "1. " in steps and "inspector restore --from" in steps and "restore-permissions.sh" in steps
    assert "ELOOP (" in steps and "orphan files" in steps
    html = (workdir / "demo/report/report.html").read_text()
    assert "<h2>What to do next</h2>" in html and "<code>inspector restore --from" in html
    # The throwaway server is stopped again.
    assert not (workdir / "demo/pg/data/postmaster.pid").exists()


@pytest.mark.s3
def test_demo_in_a_bucket_finds_what_it_planted(workdir):
    """`inspector demo --storage s3`: the same world in a local S3 server (SeaweedFS), and
    what S3 cannot hold moved to the findings it must give."""
    result = run_cli(
        ["demo", "--dir", str(workdir / "demo"), "--attachments", "300", "--storage", "s3"], dict(os.environ),
        timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    planted, found = _planted_and_found(result.stdout)
    assert list(planted) == found and planted[1] == "0"  # no modes in a bucket
    summary = orjson.loads((workdir / "demo/report/summary.json").read_bytes())
    assert summary["attachments_root"] == "s3://jira/attachments" and summary["duplicate_groups"] > 0
    assert not (workdir / "demo/pg/data/postmaster.pid").exists()


def _snapshot(folder):
    """Every path under ``folder`` with its bytes, mode and mtime."""
    out = {}
    for path in sorted(folder.rglob("*")):
        st = path.lstat()
        out[str(path.relative_to(folder))] = (path.read_bytes() if path.is_file() else None, st.st_mode, st.st_mtime_ns)
    st = folder.lstat()
    return out, st.st_mode, st.st_mtime_ns


def test_demo_refuses_a_folder_it_did_not_make_and_leaves_it_untouched(workdir):
    """`--dir` read as "my Jira data folder": the demo would have replaced its attachments."""
    data = workdir / "jira-home"
    (data / "attachments/PROJ/10000/PROJ-1").mkdir(parents=True)
    (data / "attachments/PROJ/10000/PROJ-1/10001").write_bytes(os.urandom(1000))
    (data / "dbconfig.xml").write_text("<jira-database-config/>")
    os.chmod(data, 0o700)
    before = _snapshot(data)
    result = run_cli(["demo", "--dir", str(data), "--attachments", "20"], dict(os.environ), timeout=60)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "not empty and no demo made it" in lines[0] and str(data) in lines[0], lines
    assert _snapshot(data) == before


def test_a_demo_stopped_by_ctrl_c_says_what_to_do_and_the_same_command_builds_it_again(workdir):
    import signal
    import subprocess
    import sys
    import time

    folder = workdir / "demo"
    command = [sys.executable, "-m", "inspector", "demo", "--dir", str(folder), "--attachments", "200"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (folder / "inspector-state.sqlite").exists():
        time.sleep(0.05)  # the world is built and the scan has begun
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "run the same command again" in err.strip().splitlines()[-1], err
    again = run_cli(command[3:], dict(os.environ), timeout=180)
    assert again.returncode == 0, again.stderr
    assert "building it again" in again.stdout
    planted, found = _planted_and_found(again.stdout)
    assert planted == found
    assert not (folder / "pg/data/postmaster.pid").exists()
