"""Pure per-row logic: where Jira keeps a file, and what a set of stat results means.

Nothing here touches the file system, so every rule is tested without processes or disks.
Permissions are evaluated from stat data for the Jira account, never with ``os.access``:
the inspector usually runs as root, which can read everything.
"""

from __future__ import annotations

import errno as errnos
import os
import re
import stat
from typing import NamedTuple

from .config import Identity
from .model import (
    FILESIZE,
    FLAG_BITS,
    ISSUE_EXISTS,
    ISSUE_ID,
    ISSUE_NUM,
    ORIGINAL_KEY,
    PROJECT_ID,
    Probe,
)

# Jira's default key pattern is ([A-Z][A-Z]+); admins may allow digits and underscores.
# Anything else (a slash, dots, spaces) is data we refuse to turn into a path.
_KEY_RE = re.compile(r"[A-Z][A-Z0-9_]*\Z")
_BUCKET = 10_000
THUMBS = "thumbs"


class Verdict(NamedTuple):
    flag: str  # a key of model.FLAG_BITS
    detail: str


def bucket(issue_num: int) -> int:
    """Jira's sub-folder for an issue number: 1..10000 -> 10000, 10001..20000 -> 20000."""
    return ((issue_num - 1) // _BUCKET + 1) * _BUCKET


def is_plain_key(key: str | None) -> bool:
    return key is not None and _KEY_RE.match(key) is not None


def issue_folder(row: tuple) -> str | Verdict:
    """The folder under the root where Jira looks for this row's file, or why there is none."""
    if not row[ISSUE_EXISTS]:
        return Verdict("missing", f"issue {row[ISSUE_ID]} does not exist in the database")
    if row[PROJECT_ID] is None:
        return Verdict("missing", f"project of issue {row[ISSUE_ID]} does not exist in the database")
    num = row[ISSUE_NUM]
    if num is None or num < 1:
        return Verdict("missing", f"issue {row[ISSUE_ID]} has no issue number")
    key = row[ORIGINAL_KEY]
    if not is_plain_key(key):
        return Verdict("error", f"project key {key!r} is not a plain Jira key; not checked")
    return f"{key}/{bucket(num)}/{key}-{num}"


def folder_issue(rel: str) -> tuple[str, int] | None:
    """(project key, issue number) of ``KEY/<bucket>/KEY-<num>``, the only folder shape
    ``issue_folder`` produces; None for anything else (no row can resolve there)."""
    parts = rel.split("/")
    if len(parts) != 3:
        return None
    key, bucket_name, name = parts
    digits = name[len(key) + 1 :]
    if not (is_plain_key(key) and name.startswith(f"{key}-") and digits.isascii() and digits.isdigit()):
        return None
    num = int(digits)
    return (key, num) if digits[0] != "0" and bucket_name == str(bucket(num)) else None


def legacy_name(attachment_id: int, filename: str | None) -> str | None:
    """Pre-Jira-6 file name, matched against folder listings only (never joined into a path)."""
    if not filename or "/" in filename or "\0" in filename:
        return None
    return f"{attachment_id}_{filename}"


def claimed_id(name: str) -> int | None:
    """The attachment id a file name in an issue folder claims: ``<id>`` or ``<id>_<name>``."""
    head = name.split("_", 1)[0]
    return int(head) if head.isdigit() and head.isascii() and len(head) < 19 else None


def _allowed(mode: int, uid: int, gid: int, identity: Identity, owner: int, group: int, other: int) -> bool:
    if identity.uid == 0:
        return True
    if uid == identity.uid:
        return bool(mode & owner)
    if gid in identity.gids:
        return bool(mode & group)
    return bool(mode & other)


def can_read(mode: int, uid: int, gid: int, identity: Identity) -> bool:
    return _allowed(mode, uid, gid, identity, stat.S_IRUSR, stat.S_IRGRP, stat.S_IROTH)


def can_enter(mode: int, uid: int, gid: int, identity: Identity) -> bool:
    """Search (execute) permission on a folder, which every folder on the path needs."""
    return _allowed(mode, uid, gid, identity, stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH)


def describe_mode(probe: Probe) -> str:
    return f"mode {stat.S_IMODE(probe.mode):04o} owner {probe.uid}:{probe.gid}"


def errno_text(code: int) -> str:
    return f"{errnos.errorcode.get(code, f'errno {code}')} ({os.strerror(code)})"


def folder_verdict(probes, identity: Identity, blocked: Verdict | None = None) -> tuple[Verdict | None, bool]:
    """Judge folders on the way down to the issue folder ((rel, Probe) pairs, top first),
    continuing from the verdict ``blocked`` of the folders above them.

    Returns (verdict, final). ``final`` means nothing below can be seen, so the file itself is
    not looked at; a non-final verdict is a folder the Jira account cannot enter while we can.
    """
    for rel, probe in probes:
        shown = rel or "the attachments root"
        if probe.errno == errnos.ENOENT:
            return Verdict("missing", f"folder {shown} does not exist"), True
        if probe.errno == errnos.ENOTDIR:
            return Verdict("missing", f"{shown} is not a folder"), True
        if probe.errno == errnos.EACCES:
            return Verdict("permissions", f"cannot reach {shown}: permission denied"), True
        if probe.errno:
            return Verdict("error", f"folder {shown}: {errno_text(probe.errno)}"), True
        if not stat.S_ISDIR(probe.mode):
            return Verdict("missing", f"{shown} is not a folder"), True
        if blocked is None and not can_enter(probe.mode, probe.uid, probe.gid, identity):
            blocked = Verdict("permissions", f"Jira cannot enter {shown}/ ({describe_mode(probe)})")
    return blocked, False


def file_verdicts(row: tuple, rel: str, probe: Probe, identity: Identity) -> list[Verdict]:
    """Flags for a file the storage found (or failed to stat) at ``rel``."""
    if probe.errno == errnos.ENOENT:
        what = "dangling symlink" if probe.dangling_symlink else "no file"
        return [Verdict("missing", f"{what} at {rel}")]
    if probe.errno == errnos.EACCES:
        return [Verdict("permissions", f"cannot stat {rel}: permission denied")]
    if probe.errno:
        return [Verdict("error", f"{rel}: {errno_text(probe.errno)}")]
    verdicts = []
    expected = row[FILESIZE]
    if not stat.S_ISREG(probe.mode):
        kind = "a folder" if stat.S_ISDIR(probe.mode) else "not a regular file"
        verdicts.append(Verdict("corrupted", f"{rel} is {kind}"))
    elif expected is not None and probe.size != expected:
        verdicts.append(Verdict("corrupted", f"expected {expected} bytes, found {probe.size}"))
    if not can_read(probe.mode, probe.uid, probe.gid, identity):
        verdicts.append(Verdict("permissions", f"Jira cannot read {rel} ({describe_mode(probe)})"))
    return verdicts


def is_healthy(row: tuple, mode: int, size: int, uid: int, gid: int, identity: Identity) -> bool:
    """The common case in one test: a regular, readable file of the expected size.

    Exactly the condition under which ``file_verdicts`` finds nothing for a successful stat
    (tests hold the two together), so the checker can skip building verdicts for it.
    """
    expected = row[FILESIZE]
    return stat.S_ISREG(mode) and (expected is None or size == expected) and can_read(mode, uid, gid, identity)


def result(pass_id: int, row: tuple, rel: str | None, probe: Probe | None, verdicts: list[Verdict]) -> tuple:
    """One row for the state's ``results`` table (column order of model.RESULT_COLUMNS)."""
    flags = 0
    for verdict in verdicts:
        flags |= FLAG_BITS[verdict.flag]
    detail = "; ".join(v.detail for v in verdicts) or None
    if probe is not None and probe.errno == 0:
        return (pass_id, *row, rel, probe.size, probe.mode, probe.uid, probe.gid, probe.mtime, flags, detail)
    return (pass_id, *row, rel, None, None, None, None, None, flags, detail)
