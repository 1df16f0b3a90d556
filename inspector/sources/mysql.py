"""Jira Data Center's MySQL or MariaDB as a Source: the same rows as from PostgreSQL.

``INSPECTOR_DB_DSN=mysql://USER:PASSWORD@HOST:PORT/DATABASE`` (or ``mariadb://``), with TLS as
query options: ``?ssl-mode=REQUIRED`` (encrypt), ``VERIFY_CA`` / ``VERIFY_IDENTITY`` (check the
server against ``ssl-ca=/path/ca.pem``), ``ssl-cert``/``ssl-key`` for a client certificate.
The driver is PyMySQL (the ``mysql`` extra): pure Python, measured against the alternatives in
benchmarks/RESULTS.md.

Each session is read-only with a statement time limit (``max_execution_time`` on MySQL,
``max_statement_time`` on MariaDB), in UTC and utf8mb4. Rows come in keyset segments through
an unbuffered cursor (``SSCursor``: never the whole result in memory), one connection per
segment; a connection lost mid-stream is waited out by the retry policy and reading resumes
after the last id handed on.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from .. import sqlfiles
from ..errors import ConfigError, DatabaseError
from ..jira.model import ID
from . import MAX_ID
from .dbretry import DatabaseRetry

if TYPE_CHECKING:
    from ..config.config import Config
    from ..scan.shards import Shard

log = logging.getLogger("inspector.db")

SCHEMES = ("mysql", "mariadb")
# Server error codes waiting may cure: too many connections, shutting down, lost or gone away,
# can't connect (2002/2003), the server not up yet, a deadlock or lock wait (read-only: rare).
_TRANSIENT = {1040, 1053, 1077, 1205, 1213, 2002, 2003, 2006, 2013, 2055}
_SSL_MODES = {"disabled", "preferred", "required", "verify_ca", "verify_identity"}


def handles(dsn: str) -> bool:
    """Whether the DSN names MySQL or MariaDB (not PostgreSQL): by its scheme."""
    return dsn.strip().lower().startswith(tuple(f"{scheme}://" for scheme in SCHEMES))


def parse_dsn(dsn: str) -> dict[str, Any]:
    """PyMySQL's connect() arguments from a mysql:// URL; ValueError naming what is wrong (never
    the password)."""
    parts = urlsplit(dsn)
    if parts.scheme.lower() not in SCHEMES:
        raise ValueError(f"unknown scheme '{parts.scheme}' (expected mysql:// or mariadb://)")
    try:
        port = parts.port or 3306
    except ValueError:
        raise ValueError("the port is not a port number (1-65535)") from None
    database = unquote(parts.path.lstrip("/"))
    if not parts.hostname or not database:
        raise ValueError("needs a host and a database: mysql://USER:PASSWORD@HOST:PORT/DATABASE")
    options = {k.lower().replace("_", "-"): v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(options) - {"ssl-mode", "ssl-ca", "ssl-cert", "ssl-key", "charset"}
    if unknown:
        raise ValueError(f"unknown option {sorted(unknown)[0]!r} (known: ssl-mode, ssl-ca, ssl-cert, ssl-key)")
    args: dict[str, Any] = {
        "host": parts.hostname, "port": port, "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""), "database": database,
    }  # fmt: skip
    mode = options.get("ssl-mode", "preferred").lower().replace("-", "_")
    if mode not in _SSL_MODES:
        raise ValueError(f"ssl-mode '{options['ssl-mode']}' is not one of {', '.join(sorted(_SSL_MODES))}")
    if mode in ("verify_ca", "verify_identity") and "ssl-ca" not in options:
        raise ValueError(f"ssl-mode={mode} needs ssl-ca=/path/to/ca.pem")
    if (mode != "disabled" and mode != "preferred") or "ssl-ca" in options:
        context = ssl.create_default_context(cafile=options.get("ssl-ca"))
        context.check_hostname = mode == "verify_identity"
        if mode == "required":
            context.verify_mode = ssl.CERT_NONE  # encrypted, the server not checked (as MySQL's REQUIRED)
        if "ssl-cert" in options:
            context.load_cert_chain(options["ssl-cert"], options.get("ssl-key"))
        args["ssl"] = context
    return args


def describe(dsn: str) -> str:
    """user@host:port/db, never the password."""
    try:
        args = parse_dsn(dsn)
    except ValueError:
        return "<unparsable DSN>"
    user = f"{args['user']}@" if args["user"] else ""
    return f"{user}{args['host']}:{args['port']}/{args['database']}"


def is_transient(exc: BaseException) -> bool:
    import pymysql

    if not isinstance(exc, pymysql.err.OperationalError | pymysql.err.InterfaceError):
        return False
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
    return code in _TRANSIENT or isinstance(exc, pymysql.err.InterfaceError)


def reason(exc: BaseException) -> str:
    """The server's message (PyMySQL's names host and port, never the password)."""
    args: tuple = tuple(getattr(exc, "args", ()))
    if len(args) >= 2:
        return f"{args[1]} ({args[0]})"
    return str(exc) or type(exc).__name__


class MySqlSource:
    """Jira's ``fileattachment`` rows joined to their issue and project, from MySQL/MariaDB."""

    def __init__(self, config: Config, name: str):
        try:
            import pymysql  # noqa: F401
        except ImportError:
            raise ConfigError(
                "INSPECTOR_DB_DSN: mysql:// needs the mysql extra: pip install 'jira-attachment-inspector[mysql]'"
            ) from None
        self.config, self.name = config, name
        try:
            self.args = parse_dsn(config.db_dsn)
        except ValueError as exc:
            raise ConfigError(f"INSPECTOR_DB_DSN: {exc}") from None
        self.target = describe(config.db_dsn)
        self.retry = DatabaseRetry(config.db_connect_timeout, f"reading attachments from {self.target}",
                                   is_transient, reason)  # fmt: skip
        self._connect().close()  # reachable, and the credentials work: said now, in one line

    def describe(self) -> str:
        return self.target

    def _connect(self) -> Any:
        import pymysql

        while True:
            try:
                conn = pymysql.connect(
                    **self.args, connect_timeout=max(2, min(10, self.config.db_connect_timeout)),
                    charset="utf8mb4", autocommit=True,
                    program_name=f"jira-attachment-inspector ({self.name})",
                )  # fmt: skip
                with conn.cursor() as cur:
                    for statement in sqlfiles.statements("mysql/session_setup"):
                        cur.execute(statement)
                    cur.execute("SELECT VERSION()")
                    (version,) = cur.fetchone()
                    ms = self.config.db_statement_timeout * 1000
                    if "mariadb" in str(version).lower():
                        cur.execute(f"SET SESSION max_statement_time = {ms / 1000:g}")
                    else:
                        cur.execute(f"SET SESSION max_execution_time = {ms}")
            except Exception as exc:
                self.retry.failed(exc, f"cannot connect to the Jira database at {self.target}")
                continue
            return conn

    def _one(self, name: str, params: dict | None = None) -> list[tuple]:
        conn = self._connect()
        try:
            with conn.cursor() as cur:
                cur.execute(sqlfiles.load(name), params or {})
                return list(cur.fetchall())
        finally:
            conn.close()

    def estimate(self) -> int:
        rows = self._one("mysql/attachments_estimate")
        found = rows[0][0] if rows and rows[0][0] is not None else self._one("mysql/attachments_count")[0][0]
        return int(found or 0) // self.config.shards

    def jira_properties(self) -> dict[str, str]:
        """Jira's base URL from its property tables, or nothing where the login may not read them."""
        import pymysql

        found: dict[str, str] = {}
        for name in ("mysql/jira_properties", "mysql/jira_property_numbers"):
            try:  # each apart: a login may be granted the strings (the base URL) and not the numbers
                found.update((str(k), str(v)) for k, v in self._one(name))
            except (DatabaseError, pymysql.err.Error):
                continue
        return found

    def recent_project_keys(self, limit: int = 2000) -> list[str]:
        return sorted(str(key) for (key,) in self._one("mysql/recent_project_keys", {"limit": limit}) if key)

    def rows(self, after: int, until: int, batch_size: int) -> Iterator[list[tuple]]:
        return segments(self, after, until, batch_size, self.config.db_segment_rows, self.config.shard)

    def retried(self) -> int:
        return self.retry.total

    def close(self) -> None:
        pass


def segments(source: MySqlSource, after: int, until: int, batch_size: int, segment_rows: int,
             shard: Shard) -> Iterator[list[tuple]]:  # fmt: skip
    """Batches of rows with id in (``after``, ``until``], in id order, of ``shard`` only; one
    connection and one unbuffered cursor per segment. A lost connection is waited out and the
    segment read again from the last id handed on."""
    import pymysql
    import pymysql.cursors

    query = sqlfiles.load("mysql/attachments_segment")
    until = min(until, MAX_ID)
    while True:
        got = 0
        lost: BaseException | None = None
        conn = source._connect()
        cur = conn.cursor(pymysql.cursors.SSCursor)
        try:
            cur.execute(query, {"after": after, "until": until, "limit": segment_rows,
                                "shards": shard.count, "shard": shard.index})  # fmt: skip
            while rows := cur.fetchmany(batch_size):
                if source.retry.attempts:
                    source.retry.succeeded()  # rows flow again: a later outage gets a fresh budget
                got += len(rows)
                after = rows[-1][ID]
                yield [(*r[:2], bool(r[2]), *r[3:]) for r in rows]
        except pymysql.err.Error as exc:
            lost = exc
        finally:
            # Closing an unbuffered cursor drains its result: over a lost connection PyMySQL
            # fails there in its own way (not with a driver error), and nothing is left to drain.
            with contextlib.suppress(Exception):
                cur.close()
            with contextlib.suppress(Exception):
                conn.close()
        if lost is not None:
            source.retry.failed(lost)
            continue  # the segment again, from the last id handed on
        if got < segment_rows:
            return
