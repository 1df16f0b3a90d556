"""The table of every ``INSPECTOR_*`` variable: name, default, kind, minimum, help and section.

``config.from_env`` parses them into the one frozen Config; ``--help`` and the README list them
from here, grouped by section (each source and storage contributes its own). Kept apart from
the parsing so that neither grows past a readable size as sources and storages are added.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PREFIX = "INSPECTOR_"


@dataclass(frozen=True)
class Setting:
    """One ``INSPECTOR_*`` variable: the single source of its name, default, parsing and help.

    ``kind`` is how a plain value is parsed (``int``, ``float``, ``bool``, ``path``, ``str``);
    ``custom`` settings are parsed by ``from_env`` itself because they depend on each other
    (a password joins the DSN, the Jira account defaults to the root's owner). ``default`` is
    the parsed value (a callable computes it), ``shown`` the default as people read it."""

    name: str
    default: Any
    help: str
    section: str
    kind: str = "custom"
    minimum: float | None = None
    shown: str | None = None
    secret_file: bool = False  # NAME_FILE may hold the value (Docker and Kubernetes secrets)

    @property
    def field(self) -> str:
        return self.name.lower()

    @property
    def variable(self) -> str:
        return PREFIX + self.name

    def shown_default(self) -> str:
        if self.shown is not None:
            return self.shown
        if isinstance(self.default, bool):
            return "1" if self.default else "0"
        return "(none)" if self.default in (None, (), "") else str(self.default)

    def default_value(self) -> Any:
        return self.default() if callable(self.default) else self.default


_S = Setting
# Each source and storage contributes its own section; the rest is the pipeline's and the operators'.
SETTINGS: tuple[Setting, ...] = (
    # source: Jira's database, PostgreSQL or MySQL/MariaDB (sources/postgres.py, sources/mysql.py)
    _S("DB_DSN", "", "Jira's database: a PostgreSQL URL or conninfo (libpq PG* variables fill the gaps), or "
       "mysql://USER:PASSWORD@HOST:PORT/DB for MySQL/MariaDB "
       "(or INSPECTOR_DB_DSN_FILE)", "source: database", shown="(required)", secret_file=True),
    _S("JIRA_HOME", None, "Jira's local home: the database from its dbconfig.xml and the attachments from "
       "cluster.properties / filestore-config.xml, for every setting not set here", "source: database"),
    _S("DB_PASSWORD", None, "password added to the DSN, for secrets kept apart (or INSPECTOR_DB_PASSWORD_FILE)",
       "source: database", secret_file=True),
    _S("DB_POOL_SIZE", 2, "connections in the reader's pool (at most)", "source: database", "int", 1),
    _S("DB_SEGMENT_ROWS", 100_000, "rows read per database transaction; the reader reconnects between",
       "source: database", "int", 1),
    _S("DB_STATEMENT_TIMEOUT", 300, "seconds a single query may run on Jira's database", "source: database",
       "int", 1),
    _S("DB_CONNECT_TIMEOUT", 30, "seconds to keep retrying the database (at start, or after a lost connection)",
       "source: database", "int", 1),
    # source: an export of the rows (sources/rowsfile.py)
    _S("ROWS_FILE", None, "a CSV export of the attachment rows (inspector export-query) to read instead of the "
       "database: for Jira on SQL Server or Oracle", "source: export file", "custom"),
    # source: Jira Cloud over REST (sources/cloud.py)
    _S("JIRA_CLOUD_URL", None, "https://SITE.atlassian.net: scan this Jira Cloud site over REST instead of a "
       "database and a folder", "source: jira cloud"),
    _S("JIRA_EMAIL", None, "email of the Atlassian account whose API token is used", "source: jira cloud"),
    _S("JIRA_API_TOKEN", None, "API token of that account (or INSPECTOR_JIRA_API_TOKEN_FILE)", "source: jira cloud",
       secret_file=True),
    _S("JIRA_JQL", None, "JQL that narrows the scan (default: every issue with attachments)", "source: jira cloud"),
    _S("JIRA_MAX_REQUESTS_PER_SECOND", 10.0, "requests per second to the site, all streams together; a 429 "
       "halves it for a while", "source: jira cloud", "float", 0.1, shown="10"),
    _S("JIRA_VERIFY_CONTENT", False, "1: ask every attachment's content for one byte as well, to find content the "
       "site lists but has lost (one more request per attachment)", "source: jira cloud", "bool"),
    _S("JIRA_STREAMS", 8, "search page streams read at once (projects, big ones split by issue number)",
       "source: jira cloud", "int", 1),
    # storage: a POSIX folder (storage/posix.py)
    _S("ATTACHMENTS_ROOT", "", "Jira's data/attachments folder, or s3://BUCKET/PREFIX for object storage",
       "storage: posix", shown="(required)"),
    _S("JIRA_UID", None, "numeric uid Jira runs as; permissions are evaluated for it", "storage: posix",
       shown="owner of ATTACHMENTS_ROOT"),
    _S("JIRA_GID", None, "numeric primary gid of the Jira account", "storage: posix",
       shown="group of ATTACHMENTS_ROOT"),
    _S("JIRA_EXTRA_GIDS", (), "comma-separated supplementary gids of the Jira account", "storage: posix"),
    _S("STAT_TIMEOUT", 30.0, "seconds a single stat may hang (dead NFS server) before it is recorded as an error",
       "storage: posix", "float", 0.1, shown="30"),
    # storage: S3-compatible object storage (storage/s3.py)
    _S("FILESTORE_CONFIG", None, "Jira's <local home>/filestore-config.xml: bucket, region and endpoint of its "
       "attachments association (ATTACHMENTS_ROOT then defaults to s3://<bucket>/attachments)", "storage: s3"),
    _S("S3_VERIFY_READ", False, "1: HEAD every object as well, to find objects the credentials may list but not "
       "read (one request per attachment)", "storage: s3", "bool"),
    # restore from a backup (inspector restore; restore/)
    _S("RESTORE_PARALLEL", 4, "files copied at once by restore --apply", "restore", "int", 1),
    _S("RESTORE_MAX_MBPS", 0.0, "cap on restore --apply's reading from the backup, in MB/s for all transfers",
       "restore", "float", 0, shown="0 (no limit)"),
    _S("RESTORE_RETRY_TIMEOUT", 300.0, "seconds the backup may keep failing (dropped connections, timeouts, 5xx; "
       "retried with backoff by every transfer together) before the restore stops with exit 7, progress kept",
       "restore", "float", 1, shown="300"),
    _S("RESTORE_FILE_MODE", 0o640, "octal mode of restored files (owned by JIRA_UID:JIRA_GID)", "restore",
       shown="0640"),
    _S("RESTORE_DIR_MODE", 0o750, "octal mode of folders restore creates", "restore", shown="0750"),
    _S("RESTORE_QUARANTINE", None, "where corrupted files go (keeping their relative path) before a good copy "
       "takes their place; for an s3:// root an s3://BUCKET/PREFIX", "restore",
       shown="quarantine/ beside STATE_DB; inspector-quarantine/ in the bucket"),
    _S("SFTP_KNOWN_HOSTS", None, "OpenSSH known_hosts file that must hold the SFTP server's host key",
       "restore: sftp", shown="~/.ssh/known_hosts"),
    _S("SFTP_KEY_FILE", None, "private key for SFTP logins (else the password, else ~/.ssh's default keys)",
       "restore: sftp"),
    _S("SFTP_PASSWORD", None, "password for SFTP logins (or INSPECTOR_SFTP_PASSWORD_FILE)", "restore: sftp",
       secret_file=True),
    # the scan
    _S("JIRA_URL", "http://jira.invalid", "base URL used in report links", "scan"),
    _S("STATE_DB", Path("./inspector-state.sqlite"), "SQLite file holding results and the resume cursor", "scan",
       "path", shown="./inspector-state.sqlite"),
    _S("REPORT_DIR", Path("./inspector-report"), "folder the report files are written to", "scan", "path",
       shown="./inspector-report"),
    _S("BATCH_SIZE", 1000, "rows per batch between pipeline stages", "scan", "int", 1),
    _S("CHECKERS", lambda: os.cpu_count() or 1, "checker processes", "scan", "int", 1, shown="CPU count"),
    _S("CHECKER_THREADS", 64, "threads per checker (and for the walk), used once storage turns out slow (NFS)",
       "scan", "int", 1),
    _S("WALKERS", 2, "processes listing the tree for orphans, each a share of the project/bucket folders",
       "scan", "int", 1),
    _S("MAX_ROWS_PER_SECOND", 0.0, "cap on attachments checked per second, to spare a busy shared disk", "scan",
       "float", 0, shown="0 (no limit)"),
    _S("HASH", False, "1: find duplicate attachments by content (reads files that share a size; also --hash)",
       "scan", "bool"),
    _S("HASH_MAX_MBPS", 0.0, "cap on reading file content for duplicates, in MB/s for all checkers together",
       "scan", "float", 0, shown="0 (no limit)"),
    _S("SHARDS", 1, "shards the pass is split into, one per pod of a Kubernetes Indexed Job; each needs its "
       "own STATE_DB, and `inspector report --merge` joins them", "scan", "int", 1),
    _S("SHARD_INDEX", None, "which shard this run is, 0 to SHARDS-1", "scan", shown="JOB_COMPLETION_INDEX, else 0"),
    _S("RUN_ID", None, "the run the shards of one pass share (set it from the Job's uid): `report --merge` joins "
       "only shards of one run", "scan", "str", shown="none"),
    _S("RETRY_TIMEOUT", 300.0, "seconds an S3 bucket or a Jira Cloud site may keep failing (dropped connections, "
       "5xx, throttling; retried with backoff by every thread together) before the pass stops, progress kept",
       "scan", "float", 1, shown="300"),
    _S("KEEP_PASSES", 2, "finished passes kept queryable in the state file", "scan", "int", 1),
    # operations
    _S("PROGRESS_INTERVAL", 10.0, "seconds between progress log lines when stderr is not a terminal",
       "operations", "float", 0.1, shown="10"),
    _S("LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING or ERROR", "operations"),
    _S("LOG_FILE", None, "also log to this file, rotated by size", "operations"),
    _S("LOG_MAX_BYTES", 10 * 1024 * 1024, "size at which the log file is rotated", "operations", "int", 1),
    _S("LOG_BACKUPS", 5, "rotated log files kept", "operations", "int", 0),
    _S("METRICS_FILE", None, "Prometheus text-format metrics for node_exporter's textfile collector", "operations"),
    _S("WINDOWS", (), "maintenance windows, e.g. 22:00-06:00,12:30-13:15", "operations",
       shown="(none: work straight through)"),
    _S("TZ", None, "IANA time zone of the windows, e.g. Europe/Berlin", "operations",
       shown="the machine's local time"),
    _S("REPEAT", None, "run pass after pass, this long apart (e.g. 24h, 30m, 90s); --loop uses 24h", "operations",
       shown="(none: one pass)"),
    # notifications
    _S("TELEGRAM_TOKEN", None, "Telegram bot token for notifications (or INSPECTOR_TELEGRAM_TOKEN_FILE)",
       "notifications", secret_file=True),
    _S("TELEGRAM_CHAT_IDS", (), "comma-separated Telegram chat ids to notify", "notifications"),
    _S("TELEGRAM_API_URL", "https://api.telegram.org",
       "Telegram Bot API base URL (a proxy or a local Bot API server)", "notifications"),
    _S("WEBHOOK_URL", None, "URL that receives a JSON POST per notification (or INSPECTOR_WEBHOOK_URL_FILE)",
       "notifications", secret_file=True),
    _S("AMQP_URL", None, "amqp:// or amqps:// URL of a RabbitMQ broker that gets every notification as a "
       "persistent JSON message (or INSPECTOR_AMQP_URL_FILE; needs the amqp extra)", "notifications",
       secret_file=True),
    _S("AMQP_EXCHANGE", "jira-attachment-inspector", "topic exchange the notifications go to, routing key "
       "inspector.<event>", "notifications", "str"),
)  # fmt: skip
BY_NAME = {s.name: s for s in SETTINGS}
# (name, default as shown, help) of every variable, for --help, the README and its test.
VARIABLES: tuple[tuple[str, str, str], ...] = tuple((s.name, s.shown_default(), s.help) for s in SETTINGS)
SECTIONS: tuple[str, ...] = tuple(dict.fromkeys(s.section for s in SETTINGS))


def unknown_variables(environ: Any = None) -> list[tuple[str, str | None]]:
    """(variable, the closest known name or None) of every ``INSPECTOR_*`` variable that no
    setting reads: a mistyped name is otherwise silently ignored (``INSPECTOR_CHECKER=4``)."""
    import difflib

    environ = os.environ if environ is None else environ
    known = {s.variable for s in SETTINGS} | {s.variable + "_FILE" for s in SETTINGS if s.secret_file}
    out = []
    for name in sorted(environ):
        if name.startswith(PREFIX) and name not in known:
            # (Compared without the prefix every name shares, which would make anything look close.)
            short, names = name[len(PREFIX) :], sorted(k[len(PREFIX) :] for k in known)
            close = difflib.get_close_matches(short, names, n=1, cutoff=0.8)  # a typo: CHECKER
            close = close or [k for k in names if short in k.split("_")][:1]  # a part: ROOT, UID
            close = close or difflib.get_close_matches(short, names, n=1, cutoff=0.6)
            out.append((name, PREFIX + close[0] if close else None))
    return out
