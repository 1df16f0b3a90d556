"""``INSPECTOR_JIRA_HOME``: what Jira itself reads from its local home, so that one variable
configures a scan.

- ``dbconfig.xml``: the database type, the JDBC URL (every form Atlassian documents, MySQL 8's
  ``address=(protocol=tcp)(host=…)(port=…)`` included), the schema, user and password (a
  password kept with the Base64 cipher provider is decoded; any other provider needs
  ``INSPECTOR_DB_PASSWORD_FILE``). SQL Server and Oracle are read through an export: their
  type gets one line with the exact ``inspector export-query`` command.
- ``cluster.properties``: ``jira.shared.home``; the attachments are in
  ``<shared home>/data/attachments``, else ``<local home>/data/attachments``.
- ``filestore-config.xml``: attachments in S3 when it associates ``attachments`` with a store
  (as ``INSPECTOR_FILESTORE_CONFIG``); one without that association (S3 for avatars only)
  means the attachments are on disk.

Only ``INSPECTOR_*`` variables the admin did not set are filled; every value says where it
came from (never a secret).
"""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote

BASE64_CIPHER = "com.atlassian.db.config.password.ciphers.base64.Base64Cipher"
_EXPORTED = {"mssql": "sqlserver", "oracle10g": "oracle", "oracle": "oracle"}


class Home(NamedTuple):
    values: dict[str, str]  # INSPECTOR_* name (without the prefix) -> value
    said: list[str]  # where each came from, for the log


def _text(root: ET.Element, path: str) -> str | None:
    element = root.find(path)
    return element.text.strip() if element is not None and element.text and element.text.strip() else None


def _jdbc(url: str) -> tuple[str, str, int | None, str]:
    """(scheme, host, port, database) of a JDBC URL Jira writes; ValueError otherwise."""
    if m := re.fullmatch(r"jdbc:postgresql://([^/:?]+)(?::(\d+))?/([^?]+)(?:\?.*)?", url):
        return "postgresql", m[1], int(m[2]) if m[2] else None, m[3]
    if m := re.fullmatch(r"jdbc:(?:mysql|mariadb)://address=\((.*)\)/([^?]+)(?:\?.*)?", url):
        props = dict(re.findall(r"\(?(\w+)=([^)]*)\)?", m[1].replace(")(", ") (")))
        return "mysql", props.get("host", ""), int(props["port"]) if "port" in props else None, m[2]
    if m := re.fullmatch(r"jdbc:(?:mysql|mariadb)://([^/:?]+)(?::(\d+))?/([^?]+)(?:\?.*)?", url):
        return "mysql", m[1], int(m[2]) if m[2] else None, m[3]
    raise ValueError(f"the JDBC URL '{url[:80]}' is not one this reads (postgresql or mysql)")


def read_dbconfig(path: Path) -> Home:
    try:
        root = ET.parse(path).getroot()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    except ET.ParseError as exc:
        raise ValueError(f"{path} is not XML: {exc}") from None
    kind = (_text(root, "database-type") or "").lower()
    if kind in _EXPORTED or kind.startswith(("mssql", "oracle")):
        dialect = _EXPORTED.get(kind, "oracle" if kind.startswith("oracle") else "sqlserver")
        schema = _text(root, "schema-name")
        command = f"inspector export-query {dialect}" + (f" --schema {schema}" if schema else "")
        raise ValueError(
            f"{path}: Jira runs on {kind}, which is read through an export: run `{command}` on the database, "
            "save its result as CSV and set INSPECTOR_ROWS_FILE (README: Which Jira)"
        )
    url = _text(root, "jdbc-datasource/url")
    if not url:
        raise ValueError(f"{path} has no <jdbc-datasource><url>")
    try:
        scheme, host, port, database = _jdbc(url)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    user = _text(root, "jdbc-datasource/username") or ""
    dsn = f"{scheme}://{quote(user, safe='')}@{host}{f':{port}' if port else ''}/{database}"
    values, said = {"DB_DSN": dsn}, [f"the database {user}@{host}:{port or 'default port'}/{database} from {path}"]
    password = _text(root, "jdbc-datasource/password")
    # (Beside the password, in <jdbc-datasource>, as Jira's password-encryption guide writes it.)
    cipher = _text(root, "jdbc-datasource/atlassian-password-cipher-provider") or _text(
        root, "atlassian-password-cipher-provider"
    )
    if password is not None and cipher is None:
        values["DB_PASSWORD"] = password
    elif password is not None and cipher == BASE64_CIPHER:
        try:
            values["DB_PASSWORD"] = base64.b64decode(password, validate=True).decode()
        except ValueError:
            raise ValueError(f"{path}: the password is not Base64, as its cipher provider says") from None
        said.append(f"its password decoded from Base64 ({path})")
    elif password is not None:
        raise ValueError(
            f"{path}: the password is encrypted with {cipher}, which this cannot read: give it with "
            "INSPECTOR_DB_PASSWORD_FILE"
        )
    return Home(values, said)


def read_properties(path: Path) -> dict[str, str]:
    """A Java .properties file's key = value lines (enough for cluster.properties)."""
    out = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "!")):
            continue
        parts = re.split(r"\s*[=:]\s*", line, maxsplit=1)
        key, value = (parts[0], parts[1] if len(parts) > 1 else "")
        out[key.strip()] = value.strip()
    return out


def _stores_attachments(path: Path) -> bool:
    """Whether filestore-config.xml puts the attachments in a store (not only avatars)."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise ValueError(f"{path} cannot be read as XML: {exc}") from None
    return any(a.get("target") == "attachments" for a in root.iter("association"))


def read_home(home: Path, explicit: set[str]) -> Home:
    """The settings a Jira local home gives for those in ``explicit`` (set by the admin: kept)."""
    if not home.is_dir():
        raise ValueError(f"'{home}' is not a folder (Jira's local home, holding dbconfig.xml)")
    values: dict[str, str] = {}
    said: list[str] = []
    if not {"DB_DSN", "ROWS_FILE", "JIRA_CLOUD_URL"} & explicit:
        found = read_dbconfig(home / "dbconfig.xml")
        values.update({k: v for k, v in found.values.items() if k not in explicit})
        said += found.said
    if not {"ATTACHMENTS_ROOT", "FILESTORE_CONFIG"} & explicit:
        filestore = home / "filestore-config.xml"
        if filestore.is_file() and _stores_attachments(filestore):
            values["FILESTORE_CONFIG"] = str(filestore)
            said.append(f"attachments in S3, as {filestore} says")
        else:
            shared = home
            cluster = home / "cluster.properties"
            if cluster.is_file():
                try:
                    shared = Path(read_properties(cluster).get("jira.shared.home") or home)
                except OSError as exc:
                    raise ValueError(f"cannot read {cluster}: {exc.strerror}") from None
            values["ATTACHMENTS_ROOT"] = str(shared / "data" / "attachments")
            where = f"the shared home of {cluster}" if shared != home else "the local home"
            said.append(f"attachments in {values['ATTACHMENTS_ROOT']} ({where})")
    return Home(values, said)
