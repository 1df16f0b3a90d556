"""``inspector restore`` from a folder, end to end: a real Jira database and tree, a scan, a
backup copy taken before the damage, then the plan, --apply, and a scan that finds the
restored attachments healthy. Faults: a backup of the wrong size, a file appearing at the
target, a full disk, ``kill -9`` in the middle of --apply."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import pytest

from .helpers import ids_in, restore_world, run_cli


def _plan(report_dir: Path) -> dict[int, list[str]]:
    """id -> fields (status, link, issue, path, backup path, detail) of restore-plan.txt."""
    rows = {}
    for line in (report_dir / "restore-plan.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        rows[int(fields[1].split("/secure/attachment/")[1].split("/")[0])] = fields
    return rows


def _tree(root: Path) -> dict[str, tuple]:
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            st = os.lstat(os.path.join(folder, name))
            found[os.path.relpath(os.path.join(folder, name), root)] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return found


def _statuses(state: Path) -> dict[int, str]:
    with sqlite3.connect(state) as conn:
        return dict(conn.execute("SELECT id, status FROM restores"))


def _scanned(jira, workdir, **extra):
    w = restore_world(jira, workdir, **extra)
    result = run_cli([], w.env)
    assert result.returncode == 0, result.stderr
    report = workdir / "report"
    assert ids_in(report / "missing.txt") >= w.restorable | w.gone | w.differs | w.legacy
    assert ids_in(report / "corrupted.txt") == w.corrupted
    return w, report


def test_plan_classifies_every_finding_and_writes_nothing(jira, workdir):
    w, report = _scanned(jira, workdir)
    before = _tree(w.root)
    result = run_cli(["restore", "--from", str(w.backup)], w.env)
    assert result.returncode == 0, result.stderr
    plan = _plan(report)
    status = {aid: fields[0] for aid, fields in plan.items()}
    for aid in w.restorable | w.corrupted | w.legacy:
        assert status[aid] == "restorable", (aid, plan[aid])
    assert {aid for aid, s in status.items() if s == "not_in_backup"} == w.gone
    assert {aid for aid, s in status.items() if s == "backup_differs"} == w.differs
    for aid in w.legacy:
        assert plan[aid][4].endswith("/" + w.legacy_names[aid])
    assert all(w.paths[aid] == plan[aid][3] for aid in w.copied)
    assert _tree(w.root) == before  # nothing written under the root
    assert not (workdir / "quarantine").exists()
    assert _statuses(w.env["INSPECTOR_STATE_DB"] and Path(w.env["INSPECTOR_STATE_DB"])) == {}
    script = (report / "restore-permissions.sh").read_text()
    for aid in w.permissions:
        assert f"fix f {w.root / w.paths[aid]} 0640" in script
    ran = subprocess.run(["sh", str(report / "restore-permissions.sh")], capture_output=True, text=True)
    assert ran.returncode == 0 and not ran.stderr, ran.stderr
    for aid in w.permissions:  # the admin ran it: each file is Jira's again, with the restore's mode
        st = os.stat(w.root / w.paths[aid])
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (2001, 2001, 0o640)
    assert "restorable" in result.stdout and "plan only" in result.stdout


def test_apply_restores_verified_copies_and_a_new_scan_finds_them_healthy(jira, workdir):
    w, report = _scanned(jira, workdir)
    bad = {aid: (w.root / w.paths[aid]).read_bytes() for aid in w.corrupted}
    result = run_cli(["restore", "--from", str(w.backup), "--apply"], w.env)
    assert result.returncode == 0, result.stderr + (report / "restore-plan.txt").read_text()
    statuses = _statuses(Path(w.env["INSPECTOR_STATE_DB"]))
    assert {aid for aid, s in statuses.items() if s == "restored"} == w.copied
    assert {aid for aid, s in statuses.items() if s == "not_in_backup"} == w.gone
    assert {aid for aid, s in statuses.items() if s == "backup_differs"} == w.differs
    for aid in w.copied:
        source = w.backup / (w.paths[aid] if aid not in w.legacy else
                             str(Path(w.paths[aid]).with_name(w.legacy_names[aid])))  # fmt: skip
        target = w.root / w.paths[aid]
        assert target.read_bytes() == source.read_bytes()
        st = target.stat()
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (2001, 2001, 0o640)
    for aid, data in bad.items():  # the corrupted files were kept, not deleted
        assert (workdir / "quarantine" / w.paths[aid]).read_bytes() == data
    assert not [p for p in w.root.rglob(".inspector-restore-*")]

    again = run_cli([], w.env)
    assert again.returncode == 0, again.stderr
    assert not ids_in(report / "missing.txt") & w.copied
    assert not ids_in(report / "corrupted.txt")
    assert ids_in(report / "missing.txt") >= w.gone | w.differs
    # The restore is queryable and shown; a second --apply copies nothing again.
    query = run_cli(["report", "--pass", "1", "--format", "json", "--sql",
                     "SELECT status, count(*) AS n FROM restores GROUP BY status ORDER BY status"], w.env)  # fmt: skip
    assert query.returncode == 0, query.stderr
    assert {r["status"]: r["n"] for r in orjson.loads(query.stdout)}["restored"] == len(w.copied)
    html = run_cli(["report", "--pass", "1"], w.env)
    assert html.returncode == 0, html.stderr
    assert "Restore from" in (report / "report.html").read_text()
    rerun = run_cli(["restore", "--from", str(w.backup), "--apply", "--pass", "1"], w.env)
    assert rerun.returncode == 0, rerun.stderr
    assert f"({len(w.copied)} restored before)" in rerun.stderr  # not even looked up again
    with sqlite3.connect(w.env["INSPECTOR_STATE_DB"]) as conn:
        copied = dict(conn.execute("SELECT id, bytes FROM restores WHERE status = 'restored'"))
        sizes = dict(conn.execute("SELECT id, expected FROM restores WHERE status = 'restored'"))
    assert copied == sizes  # each restored file was copied once, whole


def test_only_missing_leaves_corrupted_files_alone(jira, workdir):
    w, _ = _scanned(jira, workdir)
    result = run_cli(["restore", "--from", str(w.backup), "--apply", "--only", "missing"], w.env)
    assert result.returncode == 0, result.stderr
    restored = {aid for aid, s in _statuses(Path(w.env["INSPECTOR_STATE_DB"])).items() if s == "restored"}
    assert restored == w.restorable | w.legacy
    for aid in w.corrupted:
        assert (w.root / w.paths[aid]).read_bytes().endswith(b"trailing garbage")


def test_a_file_that_appears_between_plan_and_apply_is_left_alone(jira, workdir):
    w, _ = _scanned(jira, workdir)
    appeared = min(w.restorable)
    target = w.root / w.paths[appeared]
    target.write_bytes((w.backup / w.paths[appeared]).read_bytes())  # someone restored it by hand
    inode = target.stat().st_ino
    result = run_cli(["restore", "--from", str(w.backup), "--apply"], w.env)
    assert result.returncode == 0, result.stderr
    assert _statuses(Path(w.env["INSPECTOR_STATE_DB"]))[appeared] == "already_ok"
    assert target.stat().st_ino == inode


def test_bad_restore_input_is_one_line_and_nonzero(jira, workdir):
    w, _ = _scanned(jira, workdir)
    cases = [
        (["restore", "--from", str(workdir / "nowhere")], "is not a folder"),
        (["restore", "--from", "gs://bucket/x"], "'gs://' is not a backup"),
        (["restore", "--from", str(w.backup), "--only", "orphans"], "--only"),
        (["restore", "--from", str(w.backup), "--pass", "9"], "--pass 9"),
        (["restore", "--from", "sftp://host/x"], "name the user"),
        (["restore", "--from", "sftp://u:hunter2@host/x"], "INSPECTOR_SFTP_PASSWORD"),
    ]
    for args, words in cases:
        result = run_cli(args, w.env)
        assert result.returncode != 0, args
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], (args, result.stderr)
        assert "hunter2" not in result.stderr
    other = dict(w.env, INSPECTOR_ATTACHMENTS_ROOT=str(w.backup))
    result = run_cli(["restore", "--from", str(w.backup), "--apply"], other)
    assert result.returncode == 2 and "restore into the tree the pass checked" in result.stderr


@pytest.mark.slow
def test_kill_9_in_the_middle_of_apply_then_a_rerun_finishes_without_copying_twice(jira, workdir):
    w, _ = _scanned(jira, workdir)
    big = min(w.restorable)
    data = os.urandom(3 * 1024 * 1024 + 123)
    (w.backup / w.paths[big]).write_bytes(data)
    jira.execute("UPDATE fileattachment SET filesize = %s WHERE id = %s", (len(data), big))
    assert run_cli([], w.env).returncode == 0
    env = dict(w.env, INSPECTOR_RESTORE_MAX_MBPS="1", INSPECTOR_RESTORE_PARALLEL="2")
    part = w.root / Path(w.paths[big]).parent / f".inspector-restore-{big}.part"
    proc = subprocess.Popen([sys.executable, "-m", "inspector", "restore", "--from", str(w.backup), "--apply"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 60
    while not (part.exists() and part.stat().st_size > 1024 * 1024) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert part.exists() and 0 < part.stat().st_size < len(data)
    kept = part.stat().st_size
    # (With two transfers, a small file may have been halfway too when the kill came.)
    halfway = {int(p.name.removeprefix(".inspector-restore-").removesuffix(".part")): p.stat().st_size
               for p in w.root.rglob(".inspector-restore-*.part")}  # fmt: skip
    assert not (w.root / w.paths[big]).exists()  # nothing half-written under the attachment's name
    statuses = _statuses(Path(w.env["INSPECTOR_STATE_DB"]))
    assert statuses[big] == "copying"
    # ...or placed, its row not yet marked restored: the rerun finds it in place and copies nothing.
    placed = {
        aid for aid, st in statuses.items() if st != "restored" and aid in w.paths and (w.root / w.paths[aid]).is_file()
    }

    rerun = run_cli(["restore", "--from", str(w.backup), "--apply"], dict(w.env, INSPECTOR_RESTORE_MAX_MBPS="0"))
    assert rerun.returncode == 0, rerun.stderr
    assert f"continuing its copy at byte {kept}" in rerun.stderr
    assert (w.root / w.paths[big]).read_bytes() == data
    assert not part.exists()
    with sqlite3.connect(w.env["INSPECTOR_STATE_DB"]) as conn:
        rows = {r[0]: r[1:] for r in conn.execute("SELECT id, status, bytes, expected FROM restores")}
    assert {aid for aid, r in rows.items() if r[0] == "restored"} == w.copied
    # The rerun wrote only what the killed run had not: the big file's rest, the others whole.
    assert rows[big][1] == len(data) - kept
    wrote = {aid: r[1] for aid, r in rows.items() if r[0] == "restored" and aid != big}
    assert all(n == rows[aid][2] - halfway.get(aid, 0) or (aid in placed and n == 0) for aid, n in wrote.items()), (
        wrote,
        halfway,
        placed,
    )


def test_outside_the_windows_nothing_is_copied_and_sigterm_stops_cleanly(jira, workdir):
    w, _ = _scanned(jira, workdir)
    now = time.localtime()
    closed = f"{(now.tm_hour + 2) % 24:02d}:00-{(now.tm_hour + 3) % 24:02d}:00"  # opens in an hour or more
    env = dict(w.env, INSPECTOR_WINDOWS=closed)
    proc = subprocess.Popen([sys.executable, "-m", "inspector", "restore", "--from", str(w.backup), "--apply"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and set(_statuses(Path(w.env["INSPECTOR_STATE_DB"])).values()) != {
        "pending", "not_in_backup", "backup_differs", "no_place"
    }:  # fmt: skip
        time.sleep(0.1)
    time.sleep(1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert "outside the maintenance windows: copying waits until" in err
    statuses = _statuses(Path(w.env["INSPECTOR_STATE_DB"]))
    assert {aid for aid, s in statuses.items() if s == "pending"} == w.copied
    assert all(not (w.root / w.paths[aid]).exists() for aid in w.restorable)


def test_apply_takes_the_scans_one_instance_lock(jira, workdir):
    from inspector.state import exclusive

    w, _ = _scanned(jira, workdir)
    with exclusive(Path(w.env["INSPECTOR_STATE_DB"])):  # a scan (or another restore) is running
        result = run_cli(["restore", "--from", str(w.backup), "--apply"], w.env)
    assert result.returncode == 4 and "another inspector" in result.stderr
    assert all(not (w.root / w.paths[aid]).exists() for aid in w.restorable)


def test_apply_into_a_hostile_tree_writes_nothing_outside_it(jira, workdir):
    """The tree is the Jira account's (uid 2001) and the restore runs as root: a link at one
    file's part name, an issue folder swapped for a link, a FIFO at a part name, and a backup
    copy that is a link to a host file of the right size. Nothing outside the tree changes."""
    from .test_restore_hostile import snapshot

    w, report = _scanned(jira, workdir)
    host = workdir / "host"
    host.mkdir()
    os.chmod(host, 0o777)
    planted, swapped, fifo, linked = sorted(w.restorable)[:4]
    (host / "shadow").write_bytes(b"root:secret\n")
    os.chmod(host / "shadow", 0o600)
    (w.root / Path(w.paths[planted]).parent / f".inspector-restore-{planted}.part").symlink_to(host / "shadow")
    os.mkfifo(w.root / Path(w.paths[fifo]).parent / f".inspector-restore-{fifo}.part")
    issue = w.root / Path(w.paths[swapped]).parent
    issue.rename(workdir / "moved-away")
    issue.symlink_to(host)
    size = (w.backup / w.paths[linked]).stat().st_size
    (host / "same-size").write_bytes(b"h" * size)
    os.chmod(host / "same-size", 0o600)
    (w.backup / w.paths[linked]).unlink()
    (w.backup / w.paths[linked]).symlink_to(host / "same-size")  # rsync -a kept a planted link
    before = snapshot(host)
    result = run_cli(["restore", "--from", str(w.backup), "--apply"], w.env)
    assert result.returncode == 8, result.stderr
    assert snapshot(host) == before
    rows = _plan(report)
    assert rows[planted][0] == "restored" and rows[fifo][0] == "restored"
    assert rows[swapped][0] == "error" and "not followed" in rows[swapped][5]
    assert rows[linked][0] == "error" and "symbolic link" in rows[linked][5]
    for aid in (planted, fifo):
        st = os.lstat(w.root / w.paths[aid])
        assert stat.S_ISREG(st.st_mode) and (st.st_uid, st.st_gid) == (2001, 2001)
        assert (w.root / w.paths[aid]).read_bytes() == (w.backup / w.paths[aid]).read_bytes()
    assert not os.path.lexists(w.root / w.paths[linked])


def test_restore_takes_the_root_the_pass_checked_when_none_is_set(jira, workdir):
    w, _ = _scanned(jira, workdir)
    env = {k: v for k, v in w.env.items() if k != "INSPECTOR_ATTACHMENTS_ROOT"}
    result = run_cli(["restore", "--from", str(w.backup), "--apply"], env)
    assert result.returncode == 0, result.stderr
    assert f"INSPECTOR_ATTACHMENTS_ROOT is unset: restoring into {w.root}" in result.stderr
    assert {aid for aid, s in _statuses(Path(w.env["INSPECTOR_STATE_DB"])).items() if s == "restored"} == w.copied
    st = os.stat(w.root / w.paths[min(w.restorable)])
    assert (st.st_uid, st.st_gid) == (2001, 2001)  # the account still comes from the root's owner


def test_a_backup_that_hangs_ends_the_restore_with_exit_7(jira, workdir):
    """A hard-mounted NFS backup whose server went away: stats into it never return. The
    restore's watch stops the run (one line, exit 7) instead of waiting forever. (A thread
    stuck in a FUSE request cannot even be killed until the FUSE server answers, unlike one in
    a killable NFS wait, so once the line is out the test ends the FUSE server to let it go.)"""
    from jiraworld.slowstorage import fuse_missing, latency_mount

    if why := fuse_missing():
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the hang test: {why}")
        pytest.skip(why)
    w, _ = _scanned(jira, workdir)
    project = w.paths[min(w.restorable)].split("/")[0]
    mountpoint = workdir / "hung-backup"
    with latency_mount(w.backup, mountpoint, 0, HANG_NAMES=project, HANG_S="300") as mount:
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "inspector", "restore", "--from", str(mount), "--apply"],
                                env=dict(w.env, INSPECTOR_STAT_TIMEOUT="1"), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip
        said: list[str] = []
        reader = threading.Thread(target=lambda: said.extend(proc.stderr), daemon=True)
        reader.start()
        while time.monotonic() - started < 60 and not any("no answer for" in line for line in said):
            time.sleep(0.1)
        took = time.monotonic() - started
        subprocess.run(["pkill", "-KILL", "-f", f"latencyfs {mountpoint}"], check=False)
        proc.wait(30)
        reader.join(10)
    lines = [line for line in said if "no answer for" in line]
    assert proc.returncode == 7 and len(lines) == 1, "".join(said)
    assert took < 30, took
    assert all(not (w.root / w.paths[aid]).exists() for aid in w.restorable if w.paths[aid].startswith(project + "/"))
