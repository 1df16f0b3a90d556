"""Storage faults on a real mount: EIO, ENAMETOOLONG, ELOOP and a stat that hangs are recorded
as ``error`` rows with their errno, and never stop the scan.

The tree is served through ``jiraworld/native/latencyfs.c`` (a FUSE pass-through) with its
fault injection: lookups of chosen names fail with EIO or do not answer at all, as on an NFS
server that went away. FUSE needs Debian's fuse3 and libfuse3-dev, which pip cannot install:
.ci/run installs them and there these tests must run; on a machine without them they are
skipped, saying what is missing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import orjson
import pytest

from jiraworld import world
from jiraworld.slowstorage import fuse_missing, latency_mount

from .helpers import healthy_files, inspector_env, read_list, run_cli

pytestmark = pytest.mark.faults


@pytest.fixture(autouse=True)
def _fuse():
    if missing := fuse_missing():
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the FUSE fault tests: {missing}")
        pytest.skip(f"FUSE fault tests need fuse3: {missing}")


def _healthy_files(root, expected, n):
    found = [path for _aid, path in sorted(healthy_files(root, expected).items())]
    # spread over the id range, one per issue folder
    picked, folders = [], set()
    for path in found[:: max(1, len(found) // (4 * n))]:
        if os.path.dirname(path) not in folders:
            picked.append(path)
            folders.add(os.path.dirname(path))
    assert len(picked) >= n
    return picked[:n]


def _scan_through_faults(jira, source, workdir, **faults: str) -> tuple[int, float, str]:
    """One run over ``source`` served through latencyfs with ``faults``: (exit code, seconds,
    everything it logged). Output goes to a file, not a pipe: a checker with a thread stuck in
    the kernel keeps its copy of the pipe open until the storage answers, and only the parent
    is awaited here."""
    log = workdir / "stderr.log"
    with latency_mount(source, workdir / "mnt", latency_us=0, threads=64, HANG_S="300", **faults):
        env = inspector_env(jira, workdir / "mnt", workdir, INSPECTOR_STAT_TIMEOUT="2", INSPECTOR_JIRA_UID="2001",
                            INSPECTOR_JIRA_GID="2001", INSPECTOR_BATCH_SIZE="50")  # fmt: skip
        started = time.monotonic()
        with log.open("w") as err:
            returncode = subprocess.run([sys.executable, "-m", "inspector"], env=env, stdout=err, stderr=err,
                                        timeout=120).returncode  # fmt: skip
        took = time.monotonic() - started
    return returncode, took, log.read_text()


def test_failing_and_hanging_storage_is_recorded_per_file(jira, workdir):
    source = workdir / "attachments"
    expected = world.build(jira.admin_dsn, source, world.WorldSpec(attachments=600, seed=21))
    eio, hang, too_long, loop = _healthy_files(source, expected, 4)
    os.unlink(too_long)
    os.symlink("x" * 300, too_long)  # a component longer than NAME_MAX: ENAMETOOLONG
    os.unlink(loop)
    os.symlink(os.path.basename(loop), loop)  # points at itself: ELOOP
    ids = {name: int(os.path.basename(path)) for name, path in
           (("eio", eio), ("hang", hang), ("too_long", too_long), ("loop", loop))}  # fmt: skip

    returncode, took, stderr = _scan_through_faults(
        jira, source, workdir, EIO_NAMES=str(ids["eio"]), HANG_NAMES=str(ids["hang"])
    )
    assert returncode == 0, stderr
    assert took < 20, stderr  # one timeout of 2 s and a short wait for the stuck checker, not a hang

    summary = orjson.loads((workdir / "report/summary.json").read_bytes())
    assert summary["total_attachments"] == expected.total
    # This FUSE kernel serializes lookups within one folder, so while the hung lookup is
    # pending its neighbours hang too: they are timed out or skipped, never waited on forever.
    neighbours = {int(n) for n in os.listdir(os.path.dirname(hang)) if n.isdigit()} - {ids["hang"]}
    assert len(expected.errors) + 4 <= summary["errors"] <= len(expected.errors) + 4 + len(neighbours)
    assert summary["missing"] == len(expected.missing)
    assert summary["corrupted"] == len(expected.corrupted)
    assert summary["permissions"] == len(expected.permissions)
    details = {}
    for fields in read_list(workdir / "report/errors.txt"):
        attachment = int(fields[0].split("/secure/attachment/")[1].split("/")[0])
        details[attachment] = "\t".join(fields)
    assert expected.errors | set(ids.values()) <= set(details)
    for attachment in set(details) - expected.errors - set(ids.values()):
        assert attachment in neighbours and "(ETIMEDOUT)" in details[attachment]
    assert "EIO (Input/output error)" in details[ids["eio"]]
    assert "did not answer within 2 s (ETIMEDOUT)" in details[ids["hang"]]
    assert "ENAMETOOLONG" in details[ids["too_long"]]
    assert "ELOOP" in details[ids["loop"]]


def test_an_issue_folder_that_hangs_is_bounded_for_checks_and_walk(jira, workdir):
    source = workdir / "attachments"
    expected = world.build(jira.admin_dsn, source, world.WorldSpec(attachments=300, seed=22))
    [victim] = _healthy_files(source, expected, 1)
    folder = os.path.dirname(victim)
    inside = {int(n) for n in os.listdir(folder) if n.isdigit() and int(n) in expected.issue_of}
    returncode, took, stderr = _scan_through_faults(jira, source, workdir, HANG_NAMES=os.path.basename(folder))
    assert returncode == 0, stderr
    assert took < 30, stderr
    summary = orjson.loads((workdir / "report/summary.json").read_bytes())
    assert summary["total_attachments"] == expected.total
    # The walk recorded the folder it could not list. This FUSE kernel queues every lookup in a
    # folder behind a pending one, so neighbours in the same bucket folder, or the listing of
    # the bucket itself, may hang too (a real NFS client looks names up in parallel); nothing
    # outside that bucket may suffer.
    bucket = os.path.relpath(os.path.dirname(folder), source)
    unlistable = run_cli(["report", "--sql", "SELECT relpath FROM disk_files WHERE kind = 'unlistable'",
                          "--format", "json"], inspector_env(jira, source, workdir))  # fmt: skip
    paths = [r["relpath"] for r in orjson.loads(unlistable.stdout)]
    assert paths and all(p == bucket or p.startswith(bucket + "/") for p in paths), paths
    assert summary["unlistable_folders"] == len(paths)
    assert "recorded as unlistable" in stderr
    errors = {int(f[0].split("/secure/attachment/")[1].split("/")[0]): f[-1]
              for f in read_list(workdir / "report/errors.txt")}  # fmt: skip
    healthy_inside = inside - expected.missing - expected.permissions - expected.corrupted - expected.errors
    assert healthy_inside <= set(errors)
    for attachment in set(errors) - expected.errors:
        assert "ETIMEDOUT" in errors[attachment] and f"{bucket}/" in errors[attachment]
