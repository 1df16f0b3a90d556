"""Helpers the tests share: a handle on a test database, the CLI, and report parsing."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
import psycopg

from inspector.config.config import Identity
from inspector.jira.model import AttachmentRow
from jiraworld.pgcluster import Cluster

# The Jira account of the test trees (files made by ``put`` belong to it).
JIRA = Identity(uid=2001, gids=frozenset({2001}))


@dataclass
class JiraDB:
    cluster: Cluster
    name: str

    @property
    def admin_dsn(self) -> str:
        return self.cluster.dsn(self.name)

    @property
    def ro_dsn(self) -> str:
        return self.cluster.dsn(self.name, user="inspector_ro")

    def execute(self, sql: str, params=None) -> list[tuple]:
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            cur = conn.execute(sql, params)
            return cur.fetchall() if cur.description else []


def make_config(folder: Path, **overrides):
    """A Config built directly (not from the environment) for in-process tests."""
    from inspector.config import config

    values = dict(
        db_dsn="", attachments_root=str(folder), jira_url="http://x", state_db=folder / "s.sqlite",
        report_dir=folder / "r", batch_size=10, db_pool_size=1, db_segment_rows=10, db_statement_timeout=1,
        db_connect_timeout=1, checkers=1, checker_threads=1, identity=Identity(2001, frozenset({2001})),
        keep_passes=2, log_level="INFO",
    )  # fmt: skip
    values.update(overrides)
    return config.defaults(**values)


def inspector_env(jira: JiraDB, root: Path, workdir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INSPECTOR_", "PG"))}
    env.update(
        INSPECTOR_DB_DSN=jira.ro_dsn,
        INSPECTOR_ATTACHMENTS_ROOT=str(root),
        INSPECTOR_JIRA_URL="https://jira.example.com",
        INSPECTOR_STATE_DB=str(workdir / "state.sqlite"),
        INSPECTOR_REPORT_DIR=str(workdir / "report"),
        INSPECTOR_CHECKERS="2",
        INSPECTOR_DB_CONNECT_TIMEOUT="5",
    )
    env.update(extra)
    return env


def run_cli(args: list[str], env: dict[str, str], timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "inspector", *args], env=env, capture_output=True, text=True, timeout=timeout, **kw
    )


def read_list(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()]


def ids_in(path: Path) -> set[int]:
    """Attachment ids from the links that start every line of a report list."""
    return {int(fields[0].split("/secure/attachment/")[1].split("/")[0]) for fields in read_list(path)}


def healthy_files(root: Path, expected) -> dict[int, str]:
    """Attachment id -> path of every plain file of the world that no fault touched."""
    flagged = expected.missing | expected.permissions | expected.corrupted | expected.errors
    found = {}
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            aid = int(name) if name.isdigit() else None
            if aid in expected.issue_of and aid not in flagged and not os.path.islink(path):
                found[aid] = path
    return found


def reference_report(jira: JiraDB, root: Path, workdir: Path, **extra: str) -> dict:
    """The report files of an undisturbed run (in workdir/clean), to compare a disturbed one with."""
    clean = workdir / "clean"
    clean.mkdir()
    result = run_cli([], inspector_env(jira, root, clean, **extra))
    assert result.returncode == 0, result.stderr
    return report_files(clean / "report")


def serve_through_a_closed_window(monkeypatch, env: dict[str, str], state: Path, measure, threshold: int):
    """Run the windowed service (22:00-06:00 Berlin) on a driven clock: the window is open,
    closes once ``measure(state)`` reaches ``threshold``, stays closed 1.5 s after the scan
    stopped, then the next one opens. Returns (outcome, seen): ``measure`` when the pause began
    and 1.5 s later, and the child processes alive during the pause."""
    import multiprocessing
    import threading
    import time
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from inspector.commands.status import scan_running
    from inspector.config import config
    from inspector.ops.service import serve

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("INSPECTOR_WINDOWS", "22:00-06:00")
    monkeypatch.setenv("INSPECTOR_TZ", "Europe/Berlin")
    cfg = config.from_env()
    berlin = ZoneInfo("Europe/Berlin")
    clock = {"now": datetime(2026, 11, 24, 23, 0, tzinfo=berlin)}
    seen = {}

    def drive():
        deadline = time.monotonic() + 60
        while measure(state) < threshold and time.monotonic() < deadline:
            time.sleep(0.005)
        clock["now"] = datetime(2026, 11, 25, 7, 0, tzinfo=berlin)  # the window has closed
        while scan_running(state) and time.monotonic() < deadline:
            time.sleep(0.01)
        seen["at_pause"] = measure(state)
        seen["children"] = len(multiprocessing.active_children())
        time.sleep(1.5)
        seen["after_wait"] = measure(state)
        clock["now"] = datetime(2026, 11, 25, 22, 30, tzinfo=berlin)  # the next window opens

    driver = threading.Thread(target=drive)
    driver.start()
    try:
        outcome = serve(cfg, now=lambda: clock["now"], tick=0.2)
    finally:
        driver.join()
    return outcome, seen


VOLATILE = {"started_at", "finished_at", "pass_id"}


def report_files(report_dir) -> dict:
    files = {p.name: p.read_bytes() for p in report_dir.iterdir() if p.suffix == ".txt" and p.name != "summary.txt"}
    summary = orjson.loads((report_dir / "summary.json").read_bytes())
    files["summary"] = {k: v for k, v in summary.items() if k not in VOLATILE}
    return files


def progress(state_path, running_only: bool = False) -> tuple[int, int, int]:
    where = "WHERE status = 'running'" if running_only else ""
    try:
        with sqlite3.connect(f"file:{state_path}?mode=ro", uri=True, timeout=1) as c:
            row = c.execute(
                f"SELECT rows_done, reader_done, walk_done FROM passes {where} ORDER BY pass_id DESC LIMIT 1"
            )
            return row.fetchone() or (0, 0, 0)
    except sqlite3.Error:
        return (0, 0, 0)


def row(**kw) -> AttachmentRow:
    base = dict(
        id=10100, issue_id=500, issue_exists=True, issue_num=7, project_id=1, project_key="NEW",
        original_key="OLD", project_name="P", issue_summary="s", filename="a.txt", filesize=10,
        mimetype="text/plain", author="u", created=0,
    )  # fmt: skip
    base.update(kw)
    return AttachmentRow(**base)


def put(root: Path, rel: str, size: int = 10, mode: int = 0o644, owner: int = 2001) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    os.chown(path, owner, owner)
    os.chmod(path, mode)
    return path


def as_jira_account(fn):
    """Run fn in a forked child that has become uid/gid 2001: the kernel, not us, says EACCES."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.setgroups([])
            os.setgid(2001)
            os.setuid(2001)
            os.write(write, repr(fn()).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as f:
        out = f.read()
    os.waitpid(pid, 0)
    return eval(out)


def kill_when(env, state_path, rows_at_least: int, timeout: float = 60, running_only: bool = False) -> bool:
    """Start a scan, SIGKILL its whole process group once rows_done reaches the target."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "inspector"], env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + timeout
    killed = False
    while time.monotonic() < deadline and proc.poll() is None:
        if progress(state_path, running_only)[0] >= rows_at_least:
            os.killpg(proc.pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.003)
    proc.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers of a finished run too
    return killed


@dataclass
class RestoreWorld:
    """A scanned-to-be world whose backup (a copy taken before the damage) can repair it."""

    root: Path
    backup: Path
    env: dict[str, str]
    restorable: set[int]  # missing at the root, good in the backup
    corrupted: set[int]  # wrong size at the root, good in the backup
    gone: set[int]  # missing at the root and in the backup
    differs: set[int]  # missing at the root, wrong size in the backup
    legacy: set[int]  # missing at the root, in the backup under <id>_<filename>
    permissions: set[int]  # there, but closed to the Jira account
    paths: dict[int, str]  # id -> relative path of every planted attachment
    legacy_names: dict[int, str]  # id -> its name in the backup

    @property
    def copied(self) -> set[int]:
        return self.restorable | self.corrupted | self.legacy


def restore_world(jira: JiraDB, workdir: Path, attachments: int = 200, **extra: str) -> RestoreWorld:
    """A clean world, a copy of its tree as the backup, then damage planted at the root: the
    backup holds exactly what a restore needs, except where a fault says otherwise."""
    import shutil

    from jiraworld import world

    root, backup = workdir / "attachments", workdir / "backup"
    spec = world.WorldSpec(attachments=attachments, fault_rate=0, hostile_rate=0.1, lock_folders=False)
    expected = world.build(jira.admin_dsn, root, spec)
    shutil.copytree(root, backup, symlinks=True)
    files = healthy_files(root, expected)
    ids = sorted(aid for aid, path in files.items() if expected.content[aid][0] > 0)
    names = dict(jira.execute("SELECT id, filename FROM fileattachment"))
    # The legacy one needs a name that can be a file name (hostile names may hold a slash).
    legacy = next(aid for aid in ids[5:] if "/" not in names[aid] and len(names[aid].encode()) < 200)
    picks = iter(aid for aid in ids[5:] if aid != legacy)
    take = lambda n: {next(picks) for _ in range(n)}  # noqa: E731
    w = RestoreWorld(root, backup, inspector_env(jira, root, workdir, **extra), take(6), take(3), take(2), take(2),
                     {legacy}, take(2), {}, {})  # fmt: skip
    for aid in w.restorable | w.corrupted | w.gone | w.differs | w.legacy | w.permissions:
        rel = os.path.relpath(files[aid], root)
        w.paths[aid] = rel
        live, saved = root / rel, backup / rel
        if aid in w.corrupted:
            with open(live, "ab") as f:
                f.write(b"trailing garbage")
        elif aid in w.permissions:
            os.chown(live, 0, 0)
            os.chmod(live, 0o600)
        else:
            live.unlink()
        if aid in w.gone:
            saved.unlink()
        elif aid in w.differs:
            with open(saved, "ab") as f:
                f.write(b"x")
        elif aid in w.legacy:
            w.legacy_names[aid] = f"{aid}_{names[aid]}"
            saved.rename(saved.with_name(w.legacy_names[aid]))
    return w
