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
