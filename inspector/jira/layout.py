"""Jira's attachment layout, in one place: where Jira keeps an attachment's file or object.

``<ORIGINALKEY>/<bucket>/<KEY>-<n>/<id>`` under the attachments root (a folder, or a key
prefix in object storage), with pre-Jira-6 files named ``<id>_<filename>``. Everything here
is pure: it builds relative paths from ids and keys and reads names back, and refuses to build
a path from anything that is not a plain Jira key.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .model import ID, ISSUE_EXISTS, ISSUE_NUM, ORIGINAL_KEY, PROJECT_ID

# Jira's default key pattern is ([A-Z][A-Z]+); admins may allow digits and underscores.
# Anything else (a slash, dots, spaces) is data we refuse to turn into a path.
_KEY_RE = re.compile(r"[A-Z][A-Z0-9_]*\Z")
BUCKET_SIZE = 10_000
THUMBS = "thumbs"  # <issue folder>/thumbs/ holds Jira's thumbnails, not attachments


def bucket(issue_num: int) -> int:
    """Jira's sub-folder for an issue number: 1..10000 -> 10000, 10001..20000 -> 20000."""
    return ((issue_num - 1) // BUCKET_SIZE + 1) * BUCKET_SIZE


@lru_cache(maxsize=4096)
def is_plain_key(key: str | None) -> bool:
    return key is not None and _KEY_RE.match(key) is not None


def issue_folder(key: str, issue_num: int) -> str:
    """``KEY/<bucket>/KEY-<n>`` for a plain key and a positive issue number."""
    return f"{key}/{bucket(issue_num)}/{key}-{issue_num}"


def paths(key: str, issue_num: int, attachment_id: int) -> tuple[str, str, str]:
    """(bucket folder, issue folder, file path) of an attachment in one call: the checker's
    per-row path, where three separate calls cost its loop measurably on a local disk."""
    parent = f"{key}/{bucket(issue_num)}"
    folder = f"{parent}/{key}-{issue_num}"
    return parent, folder, f"{folder}/{attachment_id}"


def placeable(row: tuple) -> bool:
    """Whether Jira would look for this row's file at all: its issue and project exist, the
    issue has a number and the project's original key is plain. ``verdicts.unplaced`` says why
    not, for the rows where this is false."""
    num = row[ISSUE_NUM]
    return (
        bool(row[ISSUE_EXISTS])
        and row[PROJECT_ID] is not None
        and num is not None
        and num > 0
        and is_plain_key(row[ORIGINAL_KEY])
    )


def row_folder(row: tuple) -> str | None:
    """The issue folder Jira looks in for this row's file, or None when it would not look."""
    return issue_folder(row[ORIGINAL_KEY], row[ISSUE_NUM]) if placeable(row) else None


def attachment_path(folder: str, attachment_id: int) -> str:
    return f"{folder}/{attachment_id}"


def row_path(row: tuple) -> str | None:
    folder = row_folder(row)
    return None if folder is None else f"{folder}/{row[ID]}"


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
