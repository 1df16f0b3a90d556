"""The plain rows that flow between stages.

A source (``inspector.sources``) yields attachment rows as plain tuples in the
field order of ``AttachmentRow``; a checker appends what it found and yields result tuples in
the column order of the state's ``results`` table. Plain tuples pickle several times faster
than named ones across process boundaries, so the hot path indexes them with the constants
below; ``AttachmentRow`` documents the order and builds rows in tests.
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
    created: int | None  # unix seconds


(ID, ISSUE_ID, ISSUE_EXISTS, ISSUE_NUM, PROJECT_ID, PROJECT_KEY, ORIGINAL_KEY, PROJECT_NAME, ISSUE_SUMMARY,
 FILENAME, FILESIZE, MIMETYPE, AUTHOR, CREATED) = range(len(AttachmentRow._fields))  # fmt: skip


# Flags are stored as one bitmask column; the report views expand it.
FLAG_BITS = {"missing": 1, "permissions": 2, "corrupted": 4, "error": 8}
# Flags that keep a file out of the duplicate search: it cannot be read, or was not seen.
UNHASHABLE = FLAG_BITS["missing"] | FLAG_BITS["permissions"] | FLAG_BITS["error"]


def flag_parameters() -> dict[str, int]:
    """The flag bits as named SQL parameters (``:flag_missing``, ``:unhashable``), so no SQL
    file spells a bit as a literal."""
    return {**{f"flag_{name}": bit for name, bit in FLAG_BITS.items()}, "unhashable": UNHASHABLE}


# Column order of the ``results`` table (sql/state/insert_result.sql): pass_id, the row, then
# what the checker saw and concluded.
CHECK_COLUMNS = ("relpath", "actual_size", "mode", "uid", "gid", "mtime", "flags", "detail")
RESULT_COLUMNS = ("pass_id", *AttachmentRow._fields, *CHECK_COLUMNS)
