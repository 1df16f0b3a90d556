"""The plain rows that flow between stages.

A source (PostgreSQL today, Jira Cloud later) yields ``AttachmentRow``; a checker turns each
into one result tuple in the column order of the state's ``results`` table. Both are plain
tuples so they pickle cheaply across process boundaries.
"""

from __future__ import annotations

from typing import NamedTuple


class AttachmentRow(NamedTuple):
    id: int
    issue_id: int | None
    issue_exists: bool
    issue_num: int | None
    project_id: int | None
    project_key: str | None
    original_key: str | None
    project_name: str | None
    issue_summary: str | None
    filename: str | None
    filesize: int | None
    mimetype: str | None
    author: str | None
    created: int | None


class Probe(NamedTuple):
    """What storage saw at one path: ``errno`` 0 means the stat succeeded."""

    errno: int
    mode: int = 0
    uid: int = -1
    gid: int = -1
    size: int = -1
    mtime: int = 0
    dangling_symlink: bool = False


# Column order of the ``results`` table after pass_id (see sql/state/insert_result.sql).
RESULT_COLUMNS = (
    "id", "issue_id", "issue_num", "project_id", "project_key", "original_key", "project_name",
    "issue_summary", "filename", "filesize", "mimetype", "author", "created",
    "relpath", "actual_size", "mode", "uid", "gid", "mtime",
    "missing", "permissions", "corrupted", "error",
    "missing_detail", "perm_detail", "corrupt_detail", "error_detail",
)  # fmt: skip

FLAGS = ("missing", "permissions", "corrupted", "error")
