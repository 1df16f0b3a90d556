"""Jira's three attachment tables in MySQL/MariaDB, and a world copied into them.

The DDL is derived, not written by hand: from the real Jira 8.3 schema (``data/jira-8.3-
postgresql.sql``, the tables, primary keys and indexes Jira's entity engine created) through
the type mapping of Jira's entity engine for MySQL (``entitydefs/fieldtype-mysql8.xml``):
``numeric`` → ``DECIMAL(18,0)`` (the ids, sizes, numbers), ``long-varchar`` →
``VARCHAR(255)``, ``indicator`` → ``CHAR(1)``, ``very-long`` → ``LONGTEXT``, ``date-time`` →
``DATETIME``; tables in
``utf8mb4`` with the binary collation Atlassian's MySQL set-up guide requires.

A world is built in PostgreSQL by ``world.build`` and its rows copied here as they are, so the
same world can be scanned from both databases and the reports compared byte for byte.
"""

from __future__ import annotations

import re
from datetime import UTC

from .pgcluster import SCHEMA

TABLES = ("project", "jiraissue", "fileattachment")
_TYPES = [
    (re.compile(r"numeric\((\d+),0\)"), lambda m: f"DECIMAL({m[1]},0)"),
    (re.compile(r"character varying\((\d+)\)"), lambda m: f"VARCHAR({m[1]})"),
    (re.compile(r"character\((\d+)\)"), lambda m: f"CHAR({m[1]})"),
    (re.compile(r"text"), lambda m: "LONGTEXT"),
    (re.compile(r"timestamp with time zone"), lambda m: "DATETIME"),
]


def ddl() -> list[str]:
    """CREATE TABLE and CREATE INDEX statements of TABLES in Jira's MySQL types."""
    dump = SCHEMA.read_text()
    out = []
    for table in TABLES:
        body = re.search(rf"CREATE TABLE public\.{table} \((.*?)\n\);", dump, re.S)
        assert body, table
        columns = []
        for line in body[1].strip().splitlines():
            name, kind = line.strip().rstrip(",").split(" ", 1)
            kind, null = kind.replace(" NOT NULL", ""), " NOT NULL" if "NOT NULL" in kind else ""
            for pattern, to in _TYPES:
                if m := pattern.fullmatch(kind):
                    columns.append(f"`{name}` {to(m)}{null}")
                    break
            else:
                raise ValueError(f"{table}.{name}: no MySQL type for {kind!r}")
        pk = re.search(rf"ALTER TABLE ONLY public\.{table}\n\s+ADD CONSTRAINT \w+ PRIMARY KEY \((\w+)\);", dump)
        assert pk, table
        columns.append(f"PRIMARY KEY (`{pk[1]}`)")
        out.append(f"CREATE TABLE `{table}` ({', '.join(columns)}) "
                   "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin")  # fmt: skip
        for unique, name, cols in re.findall(
            rf"CREATE (UNIQUE )?INDEX (\w+) ON public\.{table} USING btree \(([^)]*)\);", dump
        ):
            keys = ", ".join(f"`{c.strip()}`" for c in cols.split(","))
            out.append(f"CREATE {unique}INDEX `{name}` ON `{table}` ({keys})")
    return out


def create(conn, database: str) -> None:
    """A new database holding the three tables, and a read-only login for it."""
    cur = conn.cursor()
    cur.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    cur.execute(f"USE `{database}`")
    for statement in ddl():
        cur.execute(statement)


def copy_from_postgres(pg_dsn: str, conn, database: str) -> int:
    """Every row of TABLES from the PostgreSQL database at ``pg_dsn`` into ``database``, as
    they are (DATETIME in UTC); returns the attachment rows copied."""
    import psycopg

    cur = conn.cursor()
    cur.execute(f"USE `{database}`")
    copied = 0
    with psycopg.connect(pg_dsn) as pg:
        for table in TABLES:
            names = [r[0] for r in pg.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
                (table,)).fetchall()]  # fmt: skip
            rows = pg.execute(f"SELECT {', '.join(names)} FROM {table} ORDER BY id").fetchall()
            values = [tuple(v.astimezone(UTC).replace(tzinfo=None) if hasattr(v, "astimezone") else v for v in r)
                      for r in rows]  # fmt: skip
            marks = ", ".join(["%s"] * len(names))
            quoted = ", ".join(f"`{n}`" for n in names)
            for start in range(0, len(values), 5000):
                cur.executemany(f"INSERT INTO `{table}` ({quoted}) VALUES ({marks})", values[start : start + 5000])
            copied = len(values) if table == "fileattachment" else copied
    conn.commit()
    return copied
