"""What bounds a report build: the thresholds that keep its memory flat from 100,000 to a
million attachments. The defaults are measured (benchmarks/RESULTS.md, section 3); a test
passes small ones to take the large-instance paths on a small world."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    # Up to this many, the rows a report shows in full (flagged, and those of the largest
    # attachments and issues) are read by id, its lists sorted by DuckDB in memory and its
    # orphans sized in place. Beyond it (a bad chown flags every attachment, a wrong root makes
    # every file an orphan) the rows are read with one scan of the state, the orphans again
    # once sized, and long lists are sorted by SQLite in a scratch file
    # (sql/report/sorted_attach.sql), so that the build's memory stays bounded whatever their
    # number (1M attachments: 48,000 flagged rows held in memory peaked at 152 MB, 25,000 at
    # 135 MB; the 17,000 of a normal pass stay in memory).
    few_rows: int = 25_000
    # DuckDB's own memory while building the report files (what it holds beyond this spills to
    # disk): with the first, and its threads restarted between steps, the scan's process peaks
    # near 135 MB at a million attachments. What DuckDB needs varies with how its threads
    # interleave, and 24 MB already runs out there: should the first limit run out, the build
    # is done again once with the next.
    memory: tuple[str, ...] = ("48MB", "256MB")
    # Rows per anti-join partition when collecting orphans: bounds the report's memory (a
    # DuckDB hash table over a million rows costs well over 100 MB).
    orphan_partition_rows: int = 100_000
    # report.html: rows of a list fetched and written at a time after its first page, and the
    # most rows a list holds in the page (its .txt list has them all).
    list_chunk: int = 5000
    list_max_rows: int = 100_000


DEFAULT = Limits()
