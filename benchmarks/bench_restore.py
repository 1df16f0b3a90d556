"""Restore over SFTP: 10,000 small attachments and a few large ones, all missing from Jira's
folder, copied back from a backup host (OpenSSH's sshd on 127.0.0.1 behind a TCP proxy that
adds a 2 ms round trip), by ``inspector restore --apply`` and by a one-file-at-a-time copy
in the same run (what a script over missing.txt does: for each file, get it, next).

Reports files per second and MB/s of each, for the small files and the large ones apart.
Needs root (sshd) and the sftp extra. Output: a Markdown table for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sqlite3
import sys
import time
import warnings
from pathlib import Path

from common import OUT, inspector_cmd, machine, timed

from jiraworld import sftpserver, world
from jiraworld.pgcluster import Cluster, create_jira_database
from jiraworld.tcpproxy import TcpProxy

LARGE_SIZE = 48 * 1024 * 1024
warnings.filterwarnings("ignore", message="DSA is deprecated")  # printed by asyncssh's import


def _world(attachments: int, large: int) -> tuple[Path, Cluster, dict]:
    """A clean world, its backup (a copy, ``large`` attachments made big), built once."""
    base = OUT / f"restore-world-{attachments}-{large}"
    marker = base / "world.json"
    if not marker.exists() and base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True, exist_ok=True)
    os.chmod(base, 0o755)
    cluster = Cluster(base / "pg").start()
    if not marker.exists():
        print(f"building a world of {attachments} attachments in {base} (once)", file=sys.stderr)
        create_jira_database(cluster, "jira")
        spec = world.WorldSpec(attachments=attachments, fault_rate=0, hostile_rate=0.01, lock_folders=False,
                               faults=("missing",))  # fmt: skip
        world.build(cluster.dsn("jira"), base / "attachments", spec)
        shutil.copytree(base / "attachments", base / "backup", symlinks=True)
        import psycopg

        with psycopg.connect(cluster.dsn("jira"), autocommit=True) as conn:
            big = [int(r[0]) for r in conn.execute("SELECT id FROM fileattachment ORDER BY id DESC LIMIT %s", (large,))]
            conn.execute("UPDATE fileattachment SET filesize = %s WHERE id = ANY(%s)", (LARGE_SIZE, big))
        for path in (base / "backup").rglob("*"):
            if path.name.isdigit() and int(path.name) in big:
                with open(path, "wb") as f:
                    for _ in range(LARGE_SIZE // (1024 * 1024)):
                        f.write(os.urandom(1024 * 1024))
        marker.write_text(json.dumps({"attachments": attachments, "large": big}))
    return base, cluster, json.loads(marker.read_text())


def _empty_root(base: Path) -> Path:
    root = base / "live"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir()
    os.chown(root, 2001, 2001)
    return root


def _env(base: Path, cluster: Cluster, run: Path, root: Path, server, known: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INSPECTOR_", "PG"))}
    env.update(
        INSPECTOR_DB_DSN=cluster.dsn("jira", user="inspector_ro"), INSPECTOR_ATTACHMENTS_ROOT=str(root),
        INSPECTOR_JIRA_URL="https://jira.example.com", INSPECTOR_JIRA_UID="2001", INSPECTOR_JIRA_GID="2001",
        INSPECTOR_STATE_DB=str(run / "state.sqlite"), INSPECTOR_REPORT_DIR=str(run / "report"),
        INSPECTOR_SFTP_KNOWN_HOSTS=str(known), INSPECTOR_SFTP_KEY_FILE=str(server.client_key),
    )  # fmt: skip
    env.update(extra)
    return env


def _targets(state: Path) -> list[tuple[str, int]]:
    """(relpath, size) of every attachment the scan found missing: what the script copies."""
    with sqlite3.connect(state) as conn:
        return conn.execute(
            "SELECT relpath, filesize FROM results WHERE flags & 1 AND relpath IS NOT NULL ORDER BY id"
        ).fetchall()


async def _one_at_a_time(server, port: int, known: Path, backup: Path, root: Path, items) -> None:
    import asyncssh

    keys = [str(server.client_key)]
    async with asyncssh.connect("127.0.0.1", port, username="root", known_hosts=str(known), client_keys=keys) as conn:
        sftp = await conn.start_sftp_client()
        for rel, _size in items:
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(asyncssh.SFTPNoSuchFile):
                await sftp.get(f"{backup}/{rel}", str(target))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attachments", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=4, help="attachments made 48 MiB")
    parser.add_argument("--rtt-ms", type=float, default=2.0)
    parser.add_argument("--parallel", default="4,16")
    args = parser.parse_args()
    why = sftpserver.available()
    if why:
        raise SystemExit(why)
    base, cluster, _ = _world(args.attachments, args.large)
    server = sftpserver.SftpServer(OUT / "restore-sshd")
    try:
        server.start()
        with TcpProxy(server.port, latency=args.rtt_ms / 1000) as proxy:
            known = OUT / "restore-sshd" / "proxy_known_hosts"
            known.write_text(server.known_hosts.read_text().replace(f":{server.port} ", f":{proxy.port} "))
            scan_run = OUT / "runs-restore" / "scan"
            shutil.rmtree(scan_run, ignore_errors=True)
            scan_run.mkdir(parents=True)
            root = _empty_root(base)
            timed(inspector_cmd(), _env(base, cluster, scan_run, root, server, known))
            items = _targets(scan_run / "state.sqlite")
            large = {rel for rel, size in items if size == LARGE_SIZE}
            small_bytes = sum(size for rel, size in items if rel not in large)
            large_bytes = len(large) * LARGE_SIZE
            url = f"sftp://root@127.0.0.1:{proxy.port}{base / 'backup'}"
            rows = []

            def measure(name: str, copy) -> None:
                for part, chosen in (("small", [i for i in items if i[0] not in large]),
                                     ("large", [i for i in items if i[0] in large])):  # fmt: skip
                    root = _empty_root(base)
                    seconds = copy(root, chosen, part)
                    got = sum(1 for rel, _ in chosen if (root / rel).is_file())
                    nbytes = small_bytes if part == "small" else large_bytes
                    rows.append((name, part, len(chosen), got, seconds, nbytes))

            def script(root: Path, chosen, part: str) -> float:
                started = time.perf_counter()
                asyncio.run(_one_at_a_time(server, proxy.port, known, base / "backup", root, chosen))
                return time.perf_counter() - started

            def inspector(parallel: str):
                def copy(root: Path, chosen, part: str) -> float:
                    run = OUT / "runs-restore" / f"p{parallel}-{part}"
                    shutil.rmtree(run, ignore_errors=True)
                    run.mkdir(parents=True)
                    shutil.copy(scan_run / "state.sqlite", run / "state.sqlite")
                    env = _env(base, cluster, run, root, server, known, INSPECTOR_RESTORE_PARALLEL=parallel)
                    if part == "small":  # the same files as the script: the large ones are timed apart
                        with sqlite3.connect(run / "state.sqlite") as conn:
                            conn.execute("UPDATE results SET flags = 0 WHERE filesize = ?", (LARGE_SIZE,))
                    else:
                        with sqlite3.connect(run / "state.sqlite") as conn:
                            conn.execute("UPDATE results SET flags = 0 WHERE filesize <> ?", (LARGE_SIZE,))
                    seconds, _ = timed([*inspector_cmd(), "restore", "--from", url, "--apply"], env)
                    return seconds

                return copy

            measure("one file at a time (script)", script)
            for parallel in args.parallel.split(","):
                measure(f"inspector restore, RESTORE_PARALLEL={parallel}", inspector(parallel))
    finally:
        server.stop()
        cluster.stop()
    print(f"restore over SFTP, {args.rtt_ms:g} ms round trip (sshd on 127.0.0.1 behind a TCP proxy), {machine()}")
    print("| copier | files | copied | wall | files/s | MB/s |\n|---|---|---|---|---|---|")
    for name, part, n, got, seconds, nbytes in rows:
        print(f"| {name}: {part} | {n} | {got} | {seconds:.1f} s | {n / seconds:.0f} | {nbytes / seconds / 1e6:.1f} |")
    base_small = next(r for r in rows if r[1] == "small")[4]
    for name, part, _n, _got, seconds, _b in rows[2:]:
        if part == "small":
            print(f"{name}: {base_small / seconds:.1f}x the script on small files")


if __name__ == "__main__":
    main()
