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
from typing import Any

from ..errors import ConfigError
from . import sections
from .sections import check_dsn, check_tz, describe_dsn  # (public: used by the state and the tests)
from .settings import BY_NAME, PREFIX, SECTIONS, SETTINGS, VARIABLES, Setting

__all__ = ["BY_NAME", "PREFIX", "SECTIONS", "SETTINGS", "VARIABLES", "Setting"]

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class Identity:
    """The account whose view of the file system we evaluate (Jira's, not ours)."""

    uid: int
    gids: frozenset[int]


@dataclass(frozen=True)
class Config:
    """Every setting, parsed (fields are the SETTINGS' names in lower case, plus ``identity``).
    Built once, by ``from_env``, and passed down; pickled to every stage process."""

    db_dsn: str = field(repr=False)
    db_password: str | None = field(repr=False)
    db_pool_size: int
    db_segment_rows: int
    db_statement_timeout: int
    db_connect_timeout: int
    attachments_root: str
    identity: Identity
    filestore_config: str | None
    s3_verify_read: bool
    s3_endpoint: str | None  # from FILESTORE_CONFIG, else AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL
    s3_region: str | None  # from FILESTORE_CONFIG (else the SDK's chain: AWS_REGION, the profile)
    stat_timeout: float
    retry_timeout: float
    jira_url: str
    state_db: Path
    report_dir: Path
    batch_size: int
    checkers: int
    checker_threads: int
    walkers: int
    max_rows_per_second: float
    hash: bool
    hash_max_mbps: float
    keep_passes: int
    progress_interval: float
    log_level: str
    log_file: Path | None
    log_max_bytes: int
    log_backups: int
    metrics_file: Path | None
    windows: tuple
    tz: str | None
    repeat: float | None
    telegram_token: str | None = field(repr=False)
    telegram_chat_ids: tuple
    telegram_api_url: str
    webhook_url: str | None = field(repr=False)
    amqp_url: str | None = field(repr=False)
    amqp_exchange: str
    jira_gid: int  # the primary group restored files get (identity.gids holds it among the others)
    restore_parallel: int
    restore_max_mbps: float
    restore_retry_timeout: float
    restore_file_mode: int
    restore_dir_mode: int
    restore_quarantine: Path | str  # a folder, or an s3:// prefix for an S3 root
    sftp_known_hosts: Path
    sftp_key_file: Path | None
    sftp_password: str | None = field(repr=False)
    jira_cloud_url: str | None = None
    jira_email: str | None = None
    jira_api_token: str | None = field(default=None, repr=False)
    jira_jql: str | None = None
    jira_max_requests_per_second: float = 10.0
    jira_streams: int = 8
    jira_verify_content: bool = False
    shards: int = 1
    shard_index: int = 0
    run_id: str | None = None
    rows_file: Path | None = None  # INSPECTOR_ROWS_FILE: an export instead of the database
    from_home: tuple[str, ...] = ()  # what INSPECTOR_JIRA_HOME gave, and from which file (for the log)
    root_from_home: bool = False  # the attachments root is the home's guess: Jira's database may name another
    identity_guessed: bool = False  # JIRA_UID unset: the account is the root folder's owner

    @property
    def shard(self):
        from ..scan.shards import Shard

        return Shard(self.shards, self.shard_index)

    def now(self):
        """The current time in the windows' zone (aware)."""
        from datetime import datetime
        from zoneinfo import ZoneInfo

        return datetime.now(ZoneInfo(self.tz)) if self.tz else datetime.now().astimezone()

    @property
    def db_target(self) -> str:
        return f"the rows file {self.rows_file}" if self.rows_file else describe_dsn(self.db_dsn)


_NOT_SETTINGS = {"jira_uid", "jira_extra_gids", "jira_home"}  # folded into ``identity`` and the source


def defaults(**overrides: Any) -> Config:
    """A Config of every setting's default (for code that builds one without an environment,
    such as tests): no validation, ``overrides`` by field name."""
    values = {s.field: s.default_value() for s in SETTINGS if s.field not in _NOT_SETTINGS}
    values.update(identity=Identity(0, frozenset({0})), s3_endpoint=None, s3_region=None, jira_gid=0)
    values.update(restore_quarantine=Path("quarantine"), sftp_known_hosts=sections.default_known_hosts(), shard_index=0)
    values.update(overrides)
    return Config(**values)


def from_env(require_db: bool = True, root: str | None = None) -> Config:
    """Build the Config from os.environ, or raise ConfigError listing every bad variable.
    ``require_db``: false for commands that work from the state file alone (restore).
    ``root``: the attachments root a pass recorded, in place of INSPECTOR_ATTACHMENTS_ROOT (the
    Jira account still defaults to its owner, as for a root the environment names)."""
    # Imported here: pipeline processes unpickle a Config and must not pay for these imports.
    from environs import Env, EnvValidationError, validate

    # environs reads os.environ itself: so does everything here, from one mapping.
    environ: Mapping[str, str] = os.environ
    home_said: tuple[str, ...] = ()
    home_values: dict[str, str] = {}
    if home_text := (environ.get(PREFIX + "JIRA_HOME") or "").strip():
        # What Jira's own files say fills only what the admin did not set.
        from ..jira.home import read_home

        explicit = {k[len(PREFIX) :].removesuffix("_FILE") for k, v in environ.items()
                    if k.startswith(PREFIX) and v.strip()}  # fmt: skip
        try:
            home = read_home(Path(home_text), explicit)
        except ValueError as exc:
            raise ConfigError(f"INSPECTOR_JIRA_HOME: {exc}") from None
        merged = dict(environ)
        for setting, given in home.values.items():
            if not (merged.get(PREFIX + setting) or "").strip():  # set but empty (the image's root unset): the home's
                merged[PREFIX + setting] = given
        environ = merged
        home_said, home_values = tuple(home.said), home.values
    errors: dict[str, str] = {}
    env = Env(eager=False, expand_vars=False)
    values: dict[str, Any] = {}

    def raw(name: str) -> str | None:
        value = environ.get(PREFIX + name)
        return None if value is None else value.strip()

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

    # Plain settings: parsed by their kind, checked against their minimum.
    for s in SETTINGS:
        if s.kind == "custom":
            continue
        check = None
        if s.minimum is not None:
            check = validate.Range(min=s.minimum, error="must be at least {min}, got {input}")
        default = s.default_value()
        text = raw(s.name)
        if s.kind == "int":
            value = env.int(s.variable, default, validate=check)
        elif s.kind == "float":
            value = env.float(s.variable, default, validate=check)
        elif s.kind == "bool":
            value = env.bool(s.variable, default) is True
        elif s.kind == "path":
            value = Path(text) if text else default
        else:
            value = text or default
        # (A failed parse leaves environs' placeholder, not a value of the default's type; a text
        # setting without a default is text or None.)
        ok = isinstance(value, type(default)) or s.kind == "path" or (default is None and s.kind == "str")
        values[s.field] = value if ok else default

    # The source: Jira Cloud over REST, or Jira's database and storage.
    cloud = sections.cloud_settings(raw, secret, values, errors)
    dsn = secret("DB_DSN")
    if cloud and dsn is not None:  # two sources: which one was meant? (a root is only not needed)
        errors["DB_DSN"] = (
            "is not used with INSPECTOR_JIRA_CLOUD_URL (a Cloud site is read over REST): unset one of them"
        )
    rows_file = raw("ROWS_FILE") or None
    values["rows_file"] = Path(rows_file) if rows_file else None
    if rows_file and (dsn is not None or cloud):
        errors["ROWS_FILE"] = "is a source of its own: unset INSPECTOR_DB_DSN (or the Cloud site), or this"
    elif rows_file and not Path(rows_file).is_file():
        errors["ROWS_FILE"] = f"'{rows_file}' is not a file (an export made with `inspector export-query`)"
    if dsn is None:
        if "DB_DSN_FILE" not in errors and require_db and not cloud and not rows_file:
            errors["DB_DSN"] = (
                "is required (a postgresql:// or mysql:// URL, or a conninfo string; or INSPECTOR_ROWS_FILE)"
            )
        dsn = ""
    elif (reason := check_dsn(dsn)) is not None:
        errors["DB_DSN"] = reason
    elif password := secret("DB_PASSWORD"):
        dsn = sections.with_password(dsn, password)
    values.update(db_dsn=dsn, db_password=None, from_home=home_said,
                  root_from_home=root is None and "ATTACHMENTS_ROOT" in home_values)  # fmt: skip

    # The storage: the root's own form selects the backend, which checks it. Jira's own
    # filestore-config.xml may name the bucket instead.
    # (With a Cloud site the root is not needed, and ignored: the image sets /attachments.)
    root_text = None if cloud else root or raw("ATTACHMENTS_ROOT")
    endpoint: str | None = None
    region = None
    filestore_path = None if cloud else raw("FILESTORE_CONFIG")
    if filestore_path:
        from ..jira.filestore import read_filestore_config

        try:
            store = read_filestore_config(filestore_path)
        except ValueError as exc:
            errors["FILESTORE_CONFIG"] = str(exc)
        else:
            endpoint, region = store.endpoint, store.region
            if not root_text:
                root_text = f"s3://{store.bucket}/attachments"
            elif not root_text.startswith(f"s3://{store.bucket}/") and root_text != f"s3://{store.bucket}":
                errors["ATTACHMENTS_ROOT"] = (
                    f"'{root_text}' is not in the bucket '{store.bucket}' that {filestore_path} names for attachments"
                )
    if endpoint is None:
        endpoint = (environ.get("AWS_ENDPOINT_URL_S3") or environ.get("AWS_ENDPOINT_URL") or "").strip() or None
    values.update(filestore_config=filestore_path or None, s3_endpoint=endpoint, s3_region=region)
    root, root_probe = root_text or ".", None
    if cloud:
        root = cloud  # what the pass records as its root: the site
    elif not root_text:
        if "FILESTORE_CONFIG" not in errors:  # else that one line says why there is no root
            errors["ATTACHMENTS_ROOT"] = "is required (Jira's data/attachments folder, or s3://BUCKET/PREFIX)"
    else:
        from ..storage import check_root

        root, problem, root_probe = check_root(root_text)
        if problem:
            errors["ATTACHMENTS_ROOT"] = problem
    non_negative = validate.Range(min=0, error="must be at least {min}, got {input}")
    owner = (root_probe.uid, root_probe.gid) if root_probe is not None and root_probe.uid >= 0 else (0, 0)
    uid = env.int(PREFIX + "JIRA_UID", owner[0], validate=non_negative)
    gid = env.int(PREFIX + "JIRA_GID", owner[1], validate=non_negative)
    extra: set[int] = set()
    if extra_text := raw("JIRA_EXTRA_GIDS"):
        try:
            extra = {int(part) for part in extra_text.split(",") if part.strip()}
            if any(g < 0 for g in extra):
                raise ValueError
        except ValueError:
            errors["JIRA_EXTRA_GIDS"] = f"'{extra_text}' is not a comma-separated list of gids"
    gid = gid if isinstance(gid, int) else 0
    identity = Identity(uid=uid if isinstance(uid, int) else 0, gids=frozenset({gid, *extra}))
    guessed = not raw("JIRA_UID") and root_probe is not None and root_probe.uid >= 0
    values.update(attachments_root=root, identity=identity, jira_gid=gid, identity_guessed=guessed)
    sections.restore_settings(raw, secret, values, errors)
    index_text = raw("SHARD_INDEX") or (environ.get("JOB_COMPLETION_INDEX") or "").strip() or "0"
    if not index_text.isdigit() or int(index_text) >= values["shards"]:
        source = "INSPECTOR_SHARD_INDEX" if raw("SHARD_INDEX") else "JOB_COMPLETION_INDEX"
        errors["SHARD_INDEX"] = f"'{index_text}' (from {source}) is not a shard from 0 to {values['shards'] - 1}"
    values["shard_index"] = int(index_text) if index_text.isdigit() else 0

    # The scan and its operation.
    jira_url = cloud or sections.jira_url(raw("JIRA_URL") or BY_NAME["JIRA_URL"].default)  # Cloud links go to the site
    if jira_url is None:
        errors["JIRA_URL"] = "must start with http:// or https:// and name a host"
    level = (raw("LOG_LEVEL") or "INFO").upper()
    if level not in _LOG_LEVELS:
        errors["LOG_LEVEL"] = f"must be one of {', '.join(_LOG_LEVELS)}"
    values.update(jira_url=jira_url or "", log_level=level)
    if values["state_db"].is_dir():
        errors["STATE_DB"] = f"'{values['state_db']}' is a folder, not a file"
    if values["report_dir"].exists() and not values["report_dir"].is_dir():
        errors["REPORT_DIR"] = f"'{values['report_dir']}' exists and is not a folder"
    for name in ("LOG_FILE", "METRICS_FILE"):
        value = raw(name)
        values[name.lower()] = Path(value) if value else None
        if value and not Path(value).parent.is_dir():
            errors[name] = f"folder of '{value}' does not exist"

    windows: tuple = ()
    if text := raw("WINDOWS"):
        from ..ops.windows import parse

        try:
            windows = tuple(parse(text))
        except ValueError as exc:
            errors["WINDOWS"] = str(exc)
    tz = raw("TZ") or None
    if tz and (why := check_tz(tz)):
        errors["TZ"] = why
    repeat = None
    if text := raw("REPEAT"):
        m = re.match(r"(\d+(?:\.\d+)?)([smhd]?)\Z", text)
        if not m or float(m[1]) <= 0:
            errors["REPEAT"] = f"'{text}' is not a duration like 90s, 30m, 24h or 1d"
        else:
            repeat = float(m[1]) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m[2]]
    values.update(windows=windows, tz=tz, repeat=repeat)

    # Notifications.
    token = secret("TELEGRAM_TOKEN")
    chats = tuple(c.strip() for c in (raw("TELEGRAM_CHAT_IDS") or "").split(",") if c.strip())
    if token and not chats:
        errors["TELEGRAM_CHAT_IDS"] = "is required with INSPECTOR_TELEGRAM_TOKEN"
    if chats and not token:
        errors["TELEGRAM_TOKEN"] = "is required with INSPECTOR_TELEGRAM_CHAT_IDS"
    api_url = raw("TELEGRAM_API_URL") or BY_NAME["TELEGRAM_API_URL"].default
    webhook = secret("WEBHOOK_URL") or None
    for name, url in (("TELEGRAM_API_URL", api_url), ("WEBHOOK_URL", webhook)):
        if url and not re.match(r"https?://[^/\s]+", url):
            errors[name] = "must start with http:// or https:// and name a host"
    values.update(telegram_token=token or None, telegram_chat_ids=chats, telegram_api_url=api_url, webhook_url=webhook)
    amqp = secret("AMQP_URL") or None
    if amqp:
        import importlib.util

        if not re.match(r"amqps?://[^/\s]+", amqp):
            errors["AMQP_URL"] = "must start with amqp:// or amqps:// and name a host"
        elif importlib.util.find_spec("pika") is None:
            errors["AMQP_URL"] = "needs the amqp extra: pip install 'jira-attachment-inspector[amqp]'"
    values["amqp_url"] = amqp

    try:
        env.seal()
    except EnvValidationError as exc:
        problems = exc.error_messages if isinstance(exc.error_messages, Mapping) else {}
        for name, messages in problems.items():
            text = "; ".join(str(m) for m in messages) if isinstance(messages, list) else str(messages)
            text = text[0].lower() + text[1:].rstrip(".")
            got = raw(name.removeprefix(PREFIX))
            if got is not None and f"got {got}" not in text:
                text += f", got '{got}'"  # the value, as the admin typed it
            errors.setdefault(name.removeprefix(PREFIX), text)
    if errors:
        raise ConfigError("\n".join(f"{PREFIX}{name}: {why}" for name, why in sorted(errors.items())))
    return Config(**values)


@dataclass(frozen=True)
class ReportSettings:
    """What the commands that only read the state need (``report``, ``status``): no database,
    no attachments root, and nothing they cannot use is checked."""

    state_db: Path
    report_dir: Path
    windows_text: str
    tz: str | None


def report_settings(environ: Mapping[str, str] | None = None) -> ReportSettings:
    environ = os.environ if environ is None else environ

    def raw(name: str) -> str:
        return (environ.get(PREFIX + name) or "").strip()

    return ReportSettings(
        state_db=Path(raw("STATE_DB") or BY_NAME["STATE_DB"].default),
        report_dir=Path(raw("REPORT_DIR") or BY_NAME["REPORT_DIR"].default),
        windows_text=raw("WINDOWS"),
        tz=raw("TZ") or None,
    )
