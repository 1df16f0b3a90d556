"""The attachment rows as one SELECT in each Jira database's dialect, for an export to CSV.

No SQL Server or Oracle runs where this is tested, and no code is shipped that was not tested
against the real thing: admins of those databases run ``inspector export-query sqlserver``
(or ``oracle``) and save its result as CSV with their own tools; ``INSPECTOR_ROWS_FILE`` then
makes that file the source (rowsfile.py). The columns are exactly ``jira/model.py``'s
AttachmentRow, in its order, with ids and numbers as integers, ``issue_exists`` as 0 or 1 and
``created`` in seconds since 1970 (UTC), ordered by id.
"""

from __future__ import annotations

import re

from ..jira.model import AttachmentRow

DIALECTS = ("postgres", "mysql", "sqlserver", "oracle")
# How each database says: a whole number, seconds since 1970 of a timestamp, and a default schema.
_INTEGER = {
    "postgres": "{x}::bigint", "mysql": "CAST({x} AS SIGNED)", "sqlserver": "CAST({x} AS BIGINT)",
    "oracle": "CAST({x} AS NUMBER(19))",
}  # fmt: skip
_EPOCH = {
    "postgres": "extract(epoch FROM {x})::bigint",
    # DATETIME has no zone: the session's time_zone must be UTC (the README's command sets it).
    "mysql": "CASE WHEN {x} >= '1970-01-01 00:00:01' THEN CAST(UNIX_TIMESTAMP({x}) AS SIGNED) END",
    "sqlserver": "DATEDIFF_BIG(SECOND, '1970-01-01', {x})",
    "oracle": "ROUND((CAST({x} AS DATE) - DATE '1970-01-01') * 86400)",
}


def query(dialect: str, schema: str | None = None) -> str:
    """The SELECT (no trailing semicolon) for ``dialect``; ``schema`` qualifies the tables."""
    if dialect not in DIALECTS:
        raise ValueError(f"'{dialect}' is not one of {', '.join(DIALECTS)}")
    if schema is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", schema):
        raise ValueError(f"--schema '{schema}' is not a plain schema name")
    prefix = f"{schema}." if schema else ""

    def integer(x: str) -> str:
        return _INTEGER[dialect].format(x=x)

    exprs = {
        "id": integer("fa.id"),
        "issue_id": integer("fa.issueid"),
        "issue_exists": "CASE WHEN ji.id IS NULL THEN 0 ELSE 1 END",
        "issue_num": integer("ji.issuenum"),
        "project_id": integer("p.id"),
        "project_key": "p.pkey",
        "original_key": "COALESCE(p.originalkey, p.pkey)",
        "project_name": "p.pname",
        "issue_summary": "ji.summary",
        "filename": "fa.filename",
        "filesize": integer("fa.filesize"),
        "mimetype": "fa.mimetype",
        "author": "fa.author",
        "created": _EPOCH[dialect].format(x="fa.created"),
    }
    assert tuple(exprs) == AttachmentRow._fields, "the export's columns are AttachmentRow's"
    width = max(len(e) for e in exprs.values())
    select = ",\n       ".join(f"{e.ljust(width)} AS {name}" for name, e in exprs.items())
    return (
        f"SELECT {select}\n"
        f"FROM {prefix}fileattachment fa\n"
        f"LEFT JOIN {prefix}jiraissue ji ON ji.id = fa.issueid\n"
        f"LEFT JOIN {prefix}project p ON p.id = ji.project\n"
        "ORDER BY fa.id"
    )
