"""Jira on MySQL/MariaDB: which driver streams the attachment rows fastest, and the MySQL source
against the PostgreSQL one on the same rows.

A database of Jira's three tables (jiraworld/mysqlworld.py) on the MariaDB at 127.0.0.1:3306
is filled with N attachment rows; each driver streams the segment query
(sql/mysql/attachments_segment.sql) through its unbuffered cursor, 1,000 rows a fetch, in
segments of 100,000, best of 3: rows/s and the client's CPU per 1,000 rows. Candidates: PyMySQL
(pure Python) and MySQL Connector/Python (Oracle's; pure and with its C extension), the two that
install from PyPI without a system library. Last, ``MySqlSource.rows`` and ``PostgresSource.rows``
on the same rows in the same run.

    python benchmarks/bench_mysql.py [--rows 200000]
"""

from __future__ import annotations

import argparse
import os
import random
import time
import uuid

import pymysql
from common import machine

from inspector import sqlfiles
from jiraworld import mysqlworld

SEGMENT = 100_000


def fill(conn, name: str, rows: int) -> None:
    mysqlworld.create(conn, name)
    cur = conn.cursor()
    rng = random.Random(7)
    cur.executemany("INSERT INTO project (id, pname, pkey, originalkey) VALUES (%s, %s, %s, %s)",
                    [(10_000 + i, f"Project {i}", f"P{i}", f"P{i}") for i in range(20)])  # fmt: skip
    issues = [(10_000 + i, f"P{i % 20}-{i}", i + 1, 10_000 + i % 20, f"Issue {i}") for i in range(rows // 2)]
    for start in range(0, len(issues), 10_000):
        cur.executemany("INSERT INTO jiraissue (id, pkey, issuenum, project, summary) VALUES (%s, %s, %s, %s, %s)",
                        issues[start : start + 10_000])  # fmt: skip
    atts = [(100_000 + i, 10_000 + rng.randrange(rows // 2), "application/pdf", f"file-{i} ünïcødé.pdf",
             "2020-05-06 07:08:09", rng.randrange(1, 10**7), f"user{i % 50}") for i in range(rows)]  # fmt: skip
    for start in range(0, len(atts), 10_000):
        cur.executemany("INSERT INTO fileattachment (id, issueid, mimetype, filename, created, filesize, author) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s)", atts[start : start + 10_000])  # fmt: skip
    conn.commit()


def stream(connect, unbuffered, name: str, paramstyle_named: bool) -> tuple[float, float, int]:
    query = sqlfiles.load("mysql/attachments_segment")
    if not paramstyle_named:
        query = query.replace("%(after)s", "%s").replace("%(until)s", "%s").replace("%(shards)s", "%s")
        query = query.replace("%(shard)s", "%s").replace("%(limit)s", "%s")
    wall, cpu = time.perf_counter(), time.process_time()
    after, total = 0, 0
    while True:
        conn = connect()
        cur = unbuffered(conn)
        params = ({"after": after, "until": 10**18 - 1, "shards": 1, "shard": 0, "limit": SEGMENT}
                  if paramstyle_named else (after, 10**18 - 1, 1, 0, SEGMENT))  # fmt: skip
        cur.execute(query, params)
        got = 0
        while rows := cur.fetchmany(1000):
            got += len(rows)
            after = int(rows[-1][0])
        cur.close()
        conn.close()
        total += got
        if got < SEGMENT:
            break
    return time.perf_counter() - wall, time.process_time() - cpu, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    root = pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=True)
    name = f"bench_{uuid.uuid4().hex[:8]}"
    started = time.perf_counter()
    fill(root, name, args.rows)
    print(f"{args.rows} attachment rows in MariaDB ({time.perf_counter() - started:.0f} s to fill), {machine()}\n")
    try:
        import mysql.connector

        def pymysql_connect():
            return pymysql.connect(host="127.0.0.1", user="root", password="", database=name, charset="utf8mb4")

        def connector(pure: bool):
            return lambda: mysql.connector.connect(host="127.0.0.1", user="root", password="", database=name,
                                                   use_pure=pure, charset="utf8mb4")  # fmt: skip

        drivers = [
            ("PyMySQL 1.x, SSCursor", pymysql_connect, lambda c: c.cursor(pymysql.cursors.SSCursor), True),
            ("Connector/Python, pure", connector(True), lambda c: c.cursor(buffered=False), True),
            ("Connector/Python, C extension", connector(False), lambda c: c.cursor(buffered=False), True),
        ]
        print("| driver | rows/s | client CPU per 1,000 rows |\n|---|---|---|")
        for label, connect, cursor, named in drivers:
            try:
                best = min((stream(connect, cursor, name, named) for _ in range(3)), key=lambda r: r[0])
            except ImportError as exc:  # the C extension links the system's OpenSSL
                print(f"| {label} | does not load: {str(exc).splitlines()[0][:90]} | |")
                continue
            assert best[2] == args.rows, best
            print(f"| {label} | {best[2] / best[0]:,.0f} | {best[1] / best[2] * 1000 * 1000:.1f} ms |")
    finally:
        root.cursor().execute(f"DROP DATABASE `{name}`")
    print(f"\n(pid {os.getpid()})")


if __name__ == "__main__":
    main()
