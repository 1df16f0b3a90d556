"""The one frozen configuration object, built once from ``INSPECTOR_*`` variables.

Every variable is parsed and checked before any process or connection starts, and every
problem is reported at once (one line per variable), so an admin fixes a broken cron job
in one round trip. Secrets never appear in messages: DSN errors name the variable, not
its value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError

PREFIX = "INSPECTOR_"

# name, default, help: the single source for --help, the README table and validation.
VARIABLES: tuple[tuple[str, str, str], ...] = (
    ("DB_DSN", "(required)", "Jira's PostgreSQL: URL or conninfo; libpq PG* variables fill the gaps (or DB_DSN_FILE)"),
    ("DB_PASSWORD", "(none)", "password added to the DSN, for secrets kept apart (or INSPECTOR_DB_PASSWORD_FILE)"),
    ("ATTACHMENTS_ROOT", "(required)", "Jira's data/attachments folder"),
    ("JIRA_URL", "http://jira.invalid", "base URL used in report links"),
    ("STATE_DB", "./inspector-state.sqlite", "SQLite file holding results and the resume cursor"),
    ("REPORT_DIR", "./inspector-report", "folder the report files are written to"),
    ("BATCH_SIZE", "1000", "rows per batch between pipeline stages"),
    ("DB_POOL_SIZE", "2", "connections in the reader's pool (at most)"),
    ("DB_SEGMENT_ROWS", "100000", "rows read per database transaction; the reader reconnects between"),
    ("DB_STATEMENT_TIMEOUT", "300", "seconds a single query may run on Jira's database"),
    ("DB_CONNECT_TIMEOUT", "30", "seconds to keep retrying the database (at start, or after a lost connection)"),
    ("CHECKERS", "CPU count", "checker processes"),
    ("CHECKER_THREADS", "64", "threads per checker (and for the walk), used once storage turns out slow (NFS)"),
    ("WALKERS", "2", "processes listing the tree for orphans, each a share of the project/bucket folders"),
    ("MAX_ROWS_PER_SECOND", "0 (no limit)", "cap on attachments checked per second, to spare a busy shared disk"),
    ("STAT_TIMEOUT", "30", "seconds a single stat may hang (dead NFS server) before it is recorded as an error"),
    ("HASH", "0", "1: find duplicate attachments by content (reads files that share a size; also --hash)"),
    ("HASH_MAX_MBPS", "0 (no limit)", "cap on reading file content for duplicates, in MB/s for all checkers together"),
    ("JIRA_UID", "owner of ATTACHMENTS_ROOT", "numeric uid Jira runs as; permissions are evaluated for it"),
    ("JIRA_GID", "group of ATTACHMENTS_ROOT", "numeric primary gid of the Jira account"),
    ("JIRA_EXTRA_GIDS", "(none)", "comma-separated supplementary gids of the Jira account"),
    ("KEEP_PASSES", "2", "finished passes kept queryable in the state file"),
    ("PROGRESS_INTERVAL", "10", "seconds between progress log lines when stderr is not a terminal"),
    ("LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING or ERROR"),
    ("LOG_FILE", "(none)", "also log to this file, rotated by size"),
    ("LOG_MAX_BYTES", "10485760", "size at which the log file is rotated"),
    ("LOG_BACKUPS", "5", "rotated log files kept"),
    ("METRICS_FILE", "(none)", "Prometheus text-format metrics for node_exporter's textfile collector"),
    ("WINDOWS", "(none: work straight through)", "maintenance windows, e.g. 22:00-06:00,12:30-13:15"),
    ("TZ", "the machine's local time", "IANA time zone of the windows, e.g. Europe/Berlin"),
    ("REPEAT", "(none: one pass)", "run pass after pass, this long apart (e.g. 24h, 30m, 90s); --loop uses 24h"),
    ("TELEGRAM_TOKEN", "(none)", "Telegram bot token for notifications (or INSPECTOR_TELEGRAM_TOKEN_FILE)"),
    ("TELEGRAM_CHAT_IDS", "(none)", "comma-separated Telegram chat ids to notify"),
    ("TELEGRAM_API_URL", "https://api.telegram.org", "Telegram Bot API base URL (a proxy or a local Bot API server)"),
    ("WEBHOOK_URL", "(none)", "URL that receives a JSON POST per notification (or INSPECTOR_WEBHOOK_URL_FILE)"),
)

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class Identity:
    """The account whose view of the file system we evaluate (Jira's, not ours)."""

    uid: int
    gids: frozenset[int]


@dataclass(frozen=True)
class Config:
    db_dsn: str = field(repr=False)
    attachments_root: Path
    jira_url: str
    state_db: Path
    report_dir: Path
    batch_size: int
    db_pool_size: int
    db_segment_rows: int
    db_statement_timeout: int
    db_connect_timeout: int
    checkers: int
    checker_threads: int
    identity: Identity
    keep_passes: int
    log_level: str
    progress_interval: float = 10.0
    max_rows_per_second: float = 0.0
    hash: bool = False
    hash_max_mbps: float = 0.0
    walkers: int = 2
    stat_timeout: float = 30.0
    log_file: Path | None = None
    log_max_bytes: int = 10 * 1024 * 1024
    log_backups: int = 5
    metrics_file: Path | None = None
    windows: tuple = ()
    tz: str | None = None
    repeat: float | None = None
    telegram_token: str | None = field(default=None, repr=False)
    telegram_chat_ids: tuple = ()
    telegram_api_url: str = "https://api.telegram.org"
    webhook_url: str | None = field(default=None, repr=False)

    def now(self):
        """The current time in the windows' zone (aware)."""
        from datetime import datetime
        from zoneinfo import ZoneInfo

        return datetime.now(ZoneInfo(self.tz)) if self.tz else datetime.now().astimezone()

    @property
    def db_target(self) -> str:
        return describe_dsn(self.db_dsn)


def describe_dsn(dsn: str) -> str:
    """user@host:port/dbname, never the password: safe for logs and error messages."""
    import psycopg.conninfo

    try:
        parts = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.Error:
        return "<unparsable DSN>"
    host = parts.get("host") or os.environ.get("PGHOST") or "local socket"
    port = parts.get("port") or os.environ.get("PGPORT") or "5432"
    user = parts.get("user") or os.environ.get("PGUSER") or ""
    db = parts.get("dbname") or os.environ.get("PGDATABASE") or ""
    return f"{user + '@' if user else ''}{host}:{port}/{db}"


def check_dsn(dsn: str) -> str | None:
    """Return a reason the DSN is unusable, or None. The reason never quotes the DSN."""
    if not dsn.strip():
        return "is empty"
    m = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", dsn)
    if m and m.group(1).lower() not in ("postgresql", "postgres"):
        return f"unknown scheme '{m.group(1)}' (expected postgresql://)"
    import psycopg.conninfo

    try:
        psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.Error:
        return "is neither a postgresql:// URL nor a key=value conninfo string"
    return None


def _jira_url(value: str) -> str | None:
    if not re.match(r"https?://[^/\s]+", value):
        return None
    return value.rstrip("/")


def from_env() -> Config:
    """Build the Config from os.environ, or raise ConfigError listing every bad variable."""
    # Imported here: pipeline processes unpickle a Config and must not pay for these imports.
    from environs import Env, EnvValidationError, validate

    errors: dict[str, str] = {}
    env = Env(eager=False, expand_vars=False)
    positive = validate.Range(min=1, error="must be at least {min}, got {input}")
    non_negative = validate.Range(min=0, error="must be at least {min}, got {input}")

    def raw(name: str) -> str | None:
        value = os.environ.get(PREFIX + name)
        return None if value is None else value.strip()

    def integer(name: str, default: int, check=positive) -> int:
        value = env.int(PREFIX + name, default, validate=check)
        return value if isinstance(value, int) else default

    def secret(name: str) -> str | None:
        """NAME, or the content of the file NAME_FILE names (Docker and Kubernetes secrets)."""
        value, path = raw(name), raw(name + "_FILE")
        if value is not None and path:
            errors[name + "_FILE"] = f"set either {PREFIX}{name} or {PREFIX}{name}_FILE, not both"
        if value is not None or not path:
            return value
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            errors[name + "_FILE"] = f"cannot read '{path}': {getattr(exc, 'strerror', None) or exc}"
            return None

    dsn = secret("DB_DSN")
    if dsn is None:
        if "DB_DSN_FILE" not in errors:
            errors["DB_DSN"] = "is required (a postgresql:// URL or conninfo string)"
        dsn = ""
    elif (reason := check_dsn(dsn)) is not None:
        errors["DB_DSN"] = reason
    elif password := secret("DB_PASSWORD"):
        import psycopg.conninfo

        dsn = psycopg.conninfo.make_conninfo(dsn, password=password)

    root_text = raw("ATTACHMENTS_ROOT")
    root = Path(root_text or ".")
    root_stat = None
    if not root_text:
        errors["ATTACHMENTS_ROOT"] = "is required (Jira's data/attachments folder)"
    else:
        try:
            root_stat = os.stat(root)
        except OSError as exc:
            errors["ATTACHMENTS_ROOT"] = f"cannot access '{root}': {exc.strerror}"
        else:
            if not os.path.isdir(root):
                errors["ATTACHMENTS_ROOT"] = f"'{root}' is not a folder"
                root_stat = None
        root = root.resolve() if root_stat else root

    jira_url = _jira_url(raw("JIRA_URL") or "http://jira.invalid")
    if jira_url is None:
        errors["JIRA_URL"] = "must start with http:// or https:// and name a host"

    uid = integer("JIRA_UID", root_stat.st_uid if root_stat else 0, non_negative)
    gid = integer("JIRA_GID", root_stat.st_gid if root_stat else 0, non_negative)
    extra: set[int] = set()
    if extra_text := raw("JIRA_EXTRA_GIDS"):
        try:
            extra = {int(part) for part in extra_text.split(",") if part.strip()}
            if any(g < 0 for g in extra):
                raise ValueError
        except ValueError:
            errors["JIRA_EXTRA_GIDS"] = f"'{extra_text}' is not a comma-separated list of gids"

    level = (raw("LOG_LEVEL") or "INFO").upper()
    if level not in _LOG_LEVELS:
        errors["LOG_LEVEL"] = f"must be one of {', '.join(_LOG_LEVELS)}"

    state_db = Path(env.path(PREFIX + "STATE_DB", "./inspector-state.sqlite"))
    report_dir = Path(env.path(PREFIX + "REPORT_DIR", "./inspector-report"))
    if state_db.is_dir():
        errors["STATE_DB"] = f"'{state_db}' is a folder, not a file"
    if report_dir.exists() and not report_dir.is_dir():
        errors["REPORT_DIR"] = f"'{report_dir}' exists and is not a folder"

    files: dict[str, Path | None] = {}
    for name in ("LOG_FILE", "METRICS_FILE"):
        value = raw(name)
        files[name] = Path(value) if value else None
        if value and not Path(value).parent.is_dir():
            errors[name] = f"folder of '{value}' does not exist"

    windows: tuple = ()
    if text := raw("WINDOWS"):
        from .windows import parse

        try:
            windows = tuple(parse(text))
        except ValueError as exc:
            errors["WINDOWS"] = str(exc)
    tz = raw("TZ") or None
    if tz:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            errors["TZ"] = f"'{tz}' is not an IANA time zone name"

    repeat = None
    if text := raw("REPEAT"):
        m = re.match(r"(\d+(?:\.\d+)?)([smhd]?)\Z", text)
        if not m or float(m[1]) <= 0:
            errors["REPEAT"] = f"'{text}' is not a duration like 90s, 30m, 24h or 1d"
        else:
            repeat = float(m[1]) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m[2]]
    token = secret("TELEGRAM_TOKEN")
    chats = tuple(c.strip() for c in (raw("TELEGRAM_CHAT_IDS") or "").split(",") if c.strip())
    if token and not chats:
        errors["TELEGRAM_CHAT_IDS"] = "is required with INSPECTOR_TELEGRAM_TOKEN"
    if chats and not token:
        errors["TELEGRAM_TOKEN"] = "is required with INSPECTOR_TELEGRAM_CHAT_IDS"
    api_url = raw("TELEGRAM_API_URL") or "https://api.telegram.org"
    webhook = secret("WEBHOOK_URL") or None
    for name, url in (("TELEGRAM_API_URL", api_url), ("WEBHOOK_URL", webhook)):
        if url and not re.match(r"https?://[^/\s]+", url):
            errors[name] = "must start with http:// or https:// and name a host"

    config = Config(
        db_dsn=dsn,
        attachments_root=root,
        jira_url=jira_url or "",
        state_db=state_db,
        report_dir=report_dir,
        batch_size=integer("BATCH_SIZE", 1000),
        db_pool_size=integer("DB_POOL_SIZE", 2),
        db_segment_rows=integer("DB_SEGMENT_ROWS", 100_000),
        db_statement_timeout=integer("DB_STATEMENT_TIMEOUT", 300),
        db_connect_timeout=integer("DB_CONNECT_TIMEOUT", 30),
        checkers=integer("CHECKERS", os.cpu_count() or 1),
        checker_threads=integer("CHECKER_THREADS", 64),
        walkers=integer("WALKERS", 2),
        identity=Identity(uid=uid, gids=frozenset({gid, *extra})),
        keep_passes=integer("KEEP_PASSES", 2),
        log_level=level,
        progress_interval=env.float(
            PREFIX + "PROGRESS_INTERVAL", 10.0, validate=validate.Range(min=0.1, error="must be at least {min}")
        ),
        max_rows_per_second=env.float(PREFIX + "MAX_ROWS_PER_SECOND", 0.0, validate=non_negative),
        hash=env.bool(PREFIX + "HASH", False) is True,
        hash_max_mbps=env.float(PREFIX + "HASH_MAX_MBPS", 0.0, validate=non_negative),
        stat_timeout=env.float(
            PREFIX + "STAT_TIMEOUT", 30.0, validate=validate.Range(min=0.1, error="must be at least {min}")
        ),
        log_file=files["LOG_FILE"],
        log_max_bytes=integer("LOG_MAX_BYTES", 10 * 1024 * 1024),
        log_backups=integer("LOG_BACKUPS", 5, non_negative),
        metrics_file=files["METRICS_FILE"],
        windows=windows,
        tz=tz,
        repeat=repeat,
        telegram_token=token or None,
        telegram_chat_ids=chats,
        telegram_api_url=api_url,
        webhook_url=webhook,
    )
    try:
        env.seal()
    except EnvValidationError as exc:
        for name, messages in exc.error_messages.items():
            text = "; ".join(str(m) for m in messages) if isinstance(messages, list) else str(messages)
            errors.setdefault(name.removeprefix(PREFIX), text[0].lower() + text[1:].rstrip("."))
    if errors:
        raise ConfigError("\n".join(f"{PREFIX}{name}: {why}" for name, why in sorted(errors.items())))
    return config


def report_paths(environ: Mapping[str, str] | None = None) -> tuple[Path, Path]:
    """(state_db, report_dir) for commands that only read the state, not Jira."""
    environ = os.environ if environ is None else environ
    state_db = Path(environ.get(PREFIX + "STATE_DB") or "./inspector-state.sqlite")
    report_dir = Path(environ.get(PREFIX + "REPORT_DIR") or "./inspector-report")
    return state_db, report_dir
