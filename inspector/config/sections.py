"""The settings that are more than a value: those that depend on each other or on the
machine (a DSN and its password, a Cloud site and its account, the restore's modes, a time
zone), one parsing function per section, called by ``config.from_env``."""

from __future__ import annotations

import os
import re
import urllib.parse
from pathlib import Path
from typing import Any

from .settings import BY_NAME


def is_mysql(dsn: str) -> bool:
    """Whether the DSN names Jira's MySQL or MariaDB (sources/mysql.py) rather than PostgreSQL."""
    from ..sources import mysql

    return mysql.handles(dsn)


def with_password(dsn: str, password: str) -> str:
    """The DSN with INSPECTOR_DB_PASSWORD in it (secrets kept apart from the DSN)."""
    if is_mysql(dsn):
        parts = urllib.parse.urlsplit(dsn)
        user = parts.username or ""
        host = parts.netloc.rpartition("@")[2]
        netloc = f"{user}:{urllib.parse.quote(password, safe='')}@{host}"
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    import psycopg.conninfo

    return psycopg.conninfo.make_conninfo(dsn, password=password)


def describe_dsn(dsn: str) -> str:
    """user@host:port/dbname, never the password: safe for logs and error messages."""
    if is_mysql(dsn):
        from ..sources.mysql import describe

        return describe(dsn)
    import psycopg.conninfo

    try:
        parts = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.Error:
        return "<unparsable DSN>"
    host = parts.get("host") or os.environ.get("PGHOST") or "local socket"
    port = parts.get("port") or os.environ.get("PGPORT") or "5432"
    user = str(parts.get("user") or os.environ.get("PGUSER") or "")
    db = parts.get("dbname") or os.environ.get("PGDATABASE") or ""
    return f"{user + '@' if user else ''}{host}:{port}/{db}"


def check_dsn(dsn: str) -> str | None:
    """Return a reason the DSN is unusable, or None. The reason never quotes the DSN."""
    if not dsn.strip():
        return "is empty"
    if is_mysql(dsn):
        from ..sources.mysql import parse_dsn

        try:
            parse_dsn(dsn)
        except (ValueError, OSError) as exc:
            return str(exc)
        return None
    m = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", dsn)
    if m and m.group(1).lower() not in ("postgresql", "postgres"):
        return f"unknown scheme '{m.group(1)}' (expected postgresql://, mysql:// or mariadb://)"
    import psycopg.conninfo

    try:
        parts = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.Error:
        return "is neither a postgresql:// URL nor a key=value conninfo string"
    # libpq takes any port text and then fails as "cannot resolve host", retried for the whole
    # connect timeout: a typo here is the admin's to fix, and said at once.
    for port in str(parts.get("port") or "").split(","):
        if port.strip() and not (port.strip().isdigit() and 0 < int(port) < 65536):
            return f"port '{port.strip()}' is not a port number (1-65535)"
    return None


def jira_url(value: str) -> str | None:
    if not re.match(r"https?://[^/\s]+", value):
        return None
    return value.rstrip("/")


def default_known_hosts() -> Path:
    return Path("~/.ssh/known_hosts").expanduser()


def octal_mode(text: str | None, default: int) -> int | None:
    """A permission mode written in octal (0640, 640, 0o640); None when it is not one."""
    if not text:
        return default
    digits = text.lower().removeprefix("0o")
    if not re.fullmatch(r"[0-7]{3,4}", digits):
        return None
    mode = int(digits, 8)
    return mode if mode <= 0o7777 else None


def cloud_settings(raw, secret, values: dict[str, Any], errors: dict[str, str]) -> str | None:
    """The Jira Cloud source's settings; the site's URL when it is configured."""
    url = raw("JIRA_CLOUD_URL") or None
    email, token = raw("JIRA_EMAIL") or None, secret("JIRA_API_TOKEN") or None
    values.update(jira_cloud_url=None, jira_email=email, jira_api_token=token, jira_jql=raw("JIRA_JQL") or None)
    if url is None:
        return None
    site = jira_url(url)
    if site is None or urllib.parse.urlsplit(site).path not in ("", "/"):
        errors["JIRA_CLOUD_URL"] = "must be the site's address, like https://acme.atlassian.net"
        return url  # meant for Cloud: no database or folder is asked for besides this one line
    parts = urllib.parse.urlsplit(site)
    if parts.scheme != "https" and parts.hostname not in ("127.0.0.1", "::1", "localhost"):
        # The API token travels in every request: never in the clear (a proxy on this very
        # machine, or a test site, may speak http on the loopback).
        errors["JIRA_CLOUD_URL"] = f"'{site}' must be https:// (the API token is sent with every request)"
        return url
    if not email:
        errors["JIRA_EMAIL"] = "is required with INSPECTOR_JIRA_CLOUD_URL (the account of the API token)"
    if not token and "JIRA_API_TOKEN_FILE" not in errors:
        errors["JIRA_API_TOKEN"] = "is required with INSPECTOR_JIRA_CLOUD_URL (or INSPECTOR_JIRA_API_TOKEN_FILE)"
    import importlib.util

    if importlib.util.find_spec("urllib3") is None:
        errors["JIRA_CLOUD_URL"] = "needs the cloud extra: pip install 'jira-attachment-inspector[cloud]'"
    values["jira_cloud_url"] = site
    return site


def restore_settings(raw, secret, values: dict[str, Any], errors: dict[str, str]) -> None:
    """The settings only ``inspector restore`` uses: modes, the quarantine, SFTP's login."""
    for name in ("RESTORE_FILE_MODE", "RESTORE_DIR_MODE"):
        mode = octal_mode(raw(name), BY_NAME[name].default)
        if mode is None:
            errors[name] = f"'{raw(name)}' is not an octal mode like 0640"
        values[name.lower()] = mode or 0
    quarantine = raw("RESTORE_QUARANTINE")
    if quarantine and quarantine.startswith("s3://"):  # an S3 root's quarantine prefix, kept as written
        values["restore_quarantine"] = quarantine
    else:
        values["restore_quarantine"] = Path(quarantine) if quarantine else values["state_db"].parent / "quarantine"
    known = raw("SFTP_KNOWN_HOSTS")
    values["sftp_known_hosts"] = Path(known).expanduser() if known else default_known_hosts()
    key = raw("SFTP_KEY_FILE")
    values["sftp_key_file"] = Path(key).expanduser() if key else None
    if key and not Path(key).expanduser().is_file():
        errors["SFTP_KEY_FILE"] = f"'{key}' is not a file"
    values["sftp_password"] = secret("SFTP_PASSWORD") or None


def check_tz(tz: str) -> str | None:
    """Why ``tz`` is not a usable IANA zone name, or None."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return f"'{tz}' is not an IANA time zone name"
    return None
