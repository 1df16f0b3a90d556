"""`inspector demo` builds a world in its own throwaway PostgreSQL and finds what it planted."""

from __future__ import annotations

import os
import re

from .helpers import run_cli


def test_demo_finds_what_it_planted(workdir):
    result = run_cli(["demo", "--dir", str(workdir / "demo"), "--attachments", "300"], dict(os.environ), timeout=180)
    assert result.returncode == 0, result.stderr
    planted = re.search(
        r"planted: (\d+) missing, (\d+) permissions, (\d+) corrupted, (\d+) errors, (\d+) orphans", result.stdout
    ).groups()
    found = [
        re.search(rf"^\s+{label}\s+(\d+)", result.stdout, re.M).group(1)
        for label in ("missing", "permissions", "corrupted", "errors", "orphan files")
    ]
    assert list(planted) == found
    assert (workdir / "demo/report/summary.json").is_file()
    # It says where its state file is and that its folder stays, without --keep too.
    assert f"state file: {workdir / 'demo/inspector-state.sqlite'}" in result.stdout
    assert f"the demo folder stays: {workdir / 'demo'}" in result.stdout
    # The throwaway server is stopped again.
    assert not (workdir / "demo/pg/data/postmaster.pid").exists()
