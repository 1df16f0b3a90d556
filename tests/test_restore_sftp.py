"""``inspector restore --from sftp://...`` against a real OpenSSH sshd (internal-sftp) on
127.0.0.1, reached through a TCP proxy that can cut the connection mid-file: key and password
logins, host keys checked, a dropped connection continued from its offset."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jiraworld import sftpserver
from jiraworld.tcpproxy import TcpProxy

from .helpers import restore_world, run_cli


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    why = sftpserver.available()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the SFTP tests: {why}")
        pytest.skip(why)
    server = sftpserver.SftpServer(tmp_path_factory.mktemp("sshd"), password_auth=True).start()
    yield server
    server.stop()


def _sftp_env(w, sshd, port: int | None = None, **extra: str) -> dict[str, str]:
    env = dict(w.env, INSPECTOR_SFTP_KNOWN_HOSTS=str(sshd.known_hosts), INSPECTOR_SFTP_KEY_FILE=str(sshd.client_key))
    if port is not None:  # the proxy listens elsewhere: its address carries the server's key
        known = Path(w.env["INSPECTOR_STATE_DB"]).parent / "known_hosts"
        known.write_text(sshd.known_hosts.read_text().replace(f":{sshd.port} ", f":{port} "))
        env["INSPECTOR_SFTP_KNOWN_HOSTS"] = str(known)
    env.update(extra)
    return env


def _restored(state: str) -> dict[int, tuple]:
    with sqlite3.connect(state) as conn:
        return {r[0]: r[1:] for r in conn.execute("SELECT id, status, bytes, expected FROM restores")}


def test_apply_from_sftp_restores_byte_identical_files(jira, workdir, sshd):
    w = restore_world(jira, workdir)
    assert run_cli([], w.env).returncode == 0
    url = f"sftp://root@127.0.0.1:{sshd.port}{w.backup}"
    plan = run_cli(["restore", "--from", url], _sftp_env(w, sshd))
    assert plan.returncode == 0, plan.stderr
    result = run_cli(["restore", "--from", url, "--apply"], _sftp_env(w, sshd))
    assert result.returncode == 0, result.stderr
    rows = _restored(w.env["INSPECTOR_STATE_DB"])
    assert {aid for aid, r in rows.items() if r[0] == "restored"} == w.copied
    assert {aid for aid, r in rows.items() if r[0] == "not_in_backup"} == w.gone
    assert {aid for aid, r in rows.items() if r[0] == "backup_differs"} == w.differs
    for aid in w.restorable | w.corrupted:
        assert (w.root / w.paths[aid]).read_bytes() == (w.backup / w.paths[aid]).read_bytes()
    again = run_cli([], w.env)
    assert again.returncode == 0
    from .helpers import ids_in

    assert not ids_in(workdir / "report/missing.txt") & w.copied


def test_a_connection_cut_in_the_middle_of_a_large_file_continues_from_its_offset(jira, workdir, sshd):
    w = restore_world(jira, workdir)
    big = min(w.restorable)
    data = os.urandom(24 * 1024 * 1024 + 5)
    (w.backup / w.paths[big]).write_bytes(data)
    jira.execute("UPDATE fileattachment SET filesize = %s WHERE id = %s", (len(data), big))
    assert run_cli([], w.env).returncode == 0
    with TcpProxy(sshd.port) as proxy:
        proxy.cut_after = 10 * 1024 * 1024  # well into the big file: the small ones are done by then
        env = _sftp_env(w, sshd, proxy.port, INSPECTOR_RESTORE_PARALLEL="1", INSPECTOR_RESTORE_RETRY_TIMEOUT="60")
        url = f"sftp://root@127.0.0.1:{proxy.port}{w.backup}"
        result = run_cli(["restore", "--from", url, "--apply", "--only", "missing"], env, timeout=240)
        assert result.returncode == 0, result.stderr
        assert proxy.cuts == 1 and proxy.connections >= 2
    # The cut shows as a lost connection (retried), or as a short read that the copy continues
    # after on a new connection: either way nothing is copied twice, and no traceback is logged.
    assert "Traceback" not in result.stderr, result.stderr
    assert (w.root / w.paths[big]).read_bytes() == data
    rows = _restored(w.env["INSPECTOR_STATE_DB"])
    assert rows[big][0] == "restored"
    # Continued where the cut left it: the bytes written are the file, not the file and a restart.
    assert rows[big][1] == len(data)
    assert not list(w.root.rglob(".inspector-restore-*"))


def test_an_unknown_host_key_is_refused_naming_its_fingerprint(jira, workdir, sshd):
    w = restore_world(jira, workdir)
    assert run_cli([], w.env).returncode == 0
    before = sorted(p.name for p in w.root.rglob("*"))
    env = _sftp_env(w, sshd, INSPECTOR_SFTP_KNOWN_HOSTS=str(sshd.base / "other_known_hosts"))
    result = run_cli(["restore", "--from", f"sftp://root@127.0.0.1:{sshd.port}{w.backup}", "--apply"], env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "SHA256:" in lines[0] and "other_known_hosts" in lines[0], result.stderr
    host_key = (sshd.base / "host_key.pub").read_text().split()[1]
    import base64
    import hashlib

    fingerprint = base64.b64encode(hashlib.sha256(base64.b64decode(host_key)).digest()).decode().rstrip("=")
    assert f"SHA256:{fingerprint}" in lines[0]  # the server's real key, as ssh-keygen -l shows it
    assert sorted(p.name for p in w.root.rglob("*")) == before


def test_password_logins_and_a_wrong_password(jira, workdir, sshd):
    w = restore_world(jira, workdir)
    assert run_cli([], w.env).returncode == 0
    sshd.password_user("inspbackup", "right-horse-battery")
    os.chmod(workdir, 0o755)  # the backup user reads the copy
    url = f"sftp://inspbackup@127.0.0.1:{sshd.port}{w.backup}"
    secret = workdir / "sftp-password"
    secret.write_text("wrong-horse-battery\n")
    env = _sftp_env(w, sshd, INSPECTOR_SFTP_PASSWORD_FILE=str(secret))
    del env["INSPECTOR_SFTP_KEY_FILE"]
    refused = run_cli(["restore", "--from", url], env)
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "refused the login of 'inspbackup' (password)" in lines[0], refused.stderr
    assert "wrong-horse" not in refused.stderr + refused.stdout
    secret.write_text("right-horse-battery\n")
    done = run_cli(["restore", "--from", url, "--apply"], env)
    assert done.returncode == 0, done.stderr
    assert "right-horse" not in done.stderr + done.stdout
    rows = _restored(w.env["INSPECTOR_STATE_DB"])
    assert {aid for aid, r in rows.items() if r[0] == "restored"} == w.copied


def test_a_backup_host_that_dies_mid_apply_ends_the_run_once_within_the_retry_window(jira, workdir, sshd):
    """Many files left when the backup host goes away (every connection cut, new ones refused):
    one breaker for the whole backup, not one retry window per file; exit 7, one line, the
    files not yet copied left for the next run."""
    w = restore_world(jira, workdir)
    for aid in w.restorable | w.corrupted | w.legacy:  # large enough that the copy is still going
        path = w.backup / w.paths[aid] if aid not in w.legacy else \
            (w.backup / w.paths[aid]).with_name(w.legacy_names[aid])  # fmt: skip
        path.write_bytes(os.urandom(2 * 1024 * 1024))
        jira.execute("UPDATE fileattachment SET filesize = %s WHERE id = %s", (2 * 1024 * 1024, aid))
    assert run_cli([], w.env).returncode == 0
    with TcpProxy(sshd.port) as proxy:
        env = _sftp_env(w, sshd, proxy.port, INSPECTOR_RESTORE_RETRY_TIMEOUT="8", INSPECTOR_RESTORE_MAX_MBPS="2",
                        INSPECTOR_RESTORE_PARALLEL="2")  # fmt: skip
        url = f"sftp://root@127.0.0.1:{proxy.port}{w.backup}"
        proc = subprocess.Popen([sys.executable, "-m", "inspector", "restore", "--from", url, "--apply"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "restored" not in _statuses_of(w):
            time.sleep(0.1)
        proxy.stop()  # new connections refused...
        proxy.cut()  # ...and the live ones dropped
        died = time.monotonic()
        _, err = proc.communicate(timeout=120)
    took = time.monotonic() - died
    assert proc.returncode == 7, err
    said = [line for line in err.splitlines() if "stopped answering" in line]
    assert len(said) == 1 and f"127.0.0.1:{proxy.port}" in said[0], err
    assert took < 8 + 30, took  # about one window, not one per file
    rows = _statuses_of(w)
    assert "restored" in rows and ("pending" in rows or "copying" in rows), rows
    assert "Traceback" not in err


def _statuses_of(w) -> list[str]:
    try:
        return [r[0] for r in _restored(w.env["INSPECTOR_STATE_DB"]).values()]
    except sqlite3.OperationalError:
        return []


def test_an_unreachable_or_unknown_backup_host_is_one_line_within_seconds(jira, workdir):
    w = restore_world(jira, workdir, attachments=40)
    assert run_cli([], w.env).returncode == 0
    env = dict(w.env, INSPECTOR_SFTP_KNOWN_HOSTS=str(workdir / "known_hosts"))
    (workdir / "known_hosts").write_text("")
    for url, code, words in ((f"sftp://backup@127.0.0.1:1{w.backup}", 7, "refused"),
                             ("sftp://backup@no-such-host.invalid/x", 2, "cannot be resolved")):  # fmt: skip
        started = time.monotonic()
        result = run_cli(["restore", "--from", url, "--apply"], env, timeout=60)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == code and len(lines) == 1 and words in lines[0], (url, result.stderr)
        assert time.monotonic() - started < 20, url


def test_links_in_an_sftp_backup_are_reported_not_followed(jira, workdir, sshd):
    w = restore_world(jira, workdir)
    assert run_cli([], w.env).returncode == 0
    linked, through = sorted(w.restorable)[:2]
    host = workdir / "host"
    host.mkdir()
    (host / "same").write_bytes((w.backup / w.paths[linked]).read_bytes())
    (w.backup / w.paths[linked]).unlink()
    (w.backup / w.paths[linked]).symlink_to(host / "same")  # a link where the file should be
    issue = (w.backup / w.paths[through]).parent
    issue.rename(host / "issue")
    issue.symlink_to(host / "issue")  # a link where the issue folder should be
    plan = run_cli(["restore", "--from", f"sftp://root@127.0.0.1:{sshd.port}{w.backup}"], _sftp_env(w, sshd))
    assert plan.returncode == 0, plan.stderr
    rows = {int(f[1].split("/secure/attachment/")[1].split("/")[0]): f
            for f in (line.split("\t") for line in (workdir / "report/restore-plan.txt").read_text().splitlines())
            if not f[0].startswith("#")}  # fmt: skip
    assert rows[linked][0] == "source_error" and "symbolic link" in rows[linked][5]
    assert rows[through][0] == "source_error" and "not followed" in rows[through][5]
    others = w.restorable - {linked, through} - {a for a in w.restorable if (w.backup / w.paths[a]).parent == issue}
    assert all(rows[a][0] == "restorable" for a in others)
