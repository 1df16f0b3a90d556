"""Loads the SQL statements kept in ``sql/`` (every statement the tool runs lives there).

In a wheel the folder is installed as ``inspector/sql``; in a source checkout it is the
top-level ``sql/`` beside the package.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_HERE = Path(__file__).resolve().parent


@cache
def sql_dir() -> Path:
    for candidate in (_HERE / "sql", _HERE.parent / "sql"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the sql/ folder is missing from this installation")


@cache
def load(name: str) -> str:
    """The text of ``sql/<name>.sql``, e.g. ``load("postgres/attachments_segment")``."""
    return (sql_dir() / f"{name}.sql").read_text(encoding="utf-8")


def statements(name: str) -> list[str]:
    """A file holding several statements, split on ``;`` at line ends (no ``;`` in literals)."""
    text = "\n".join(line for line in load(name).splitlines() if not line.lstrip().startswith("--"))
    return [part.strip() for part in text.split(";\n") if part.strip().rstrip(";").strip()]
