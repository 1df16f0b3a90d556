"""A CSV export of the attachment rows as a Source (``INSPECTOR_ROWS_FILE``): for a Jira on SQL
Server or Oracle, whose rows an admin exports with ``inspector export-query`` (export.py) and
their own tools, and for anyone who may not reach the database from where the files are.

The file is RFC 4180 CSV in UTF-8 with a header row naming AttachmentRow's columns (any order,
any case: SQL*Plus upper-cases them), in id order. It is read twice, both times as a stream
(one row in memory at a time): once whole before the pass starts, to check every line (a
malformed line, a missing column or an id out of order is one line naming the line number,
exit 2, before anything is stored) and count the rows; then in the reader, from the id after
the last one stored, so a killed scan continues where it stopped. An empty field is no value
(NULL): exporters write a NULL and an empty text the same way.
"""

from __future__ import annotations

import collections
import csv
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..jira.model import AttachmentRow

if TYPE_CHECKING:
    from ..config.config import Config

COLUMNS = AttachmentRow._fields
_INTEGERS = {"id", "issue_id", "issue_num", "project_id", "filesize", "created"}
_TRUTH = {"1": True, "0": False, "t": True, "f": False, "true": True, "false": False}


def _value(name: str, text: str) -> Any:
    if text == "":
        if name == "id":
            raise ValueError("id is empty")
        return False if name == "issue_exists" else None
    if name in _INTEGERS:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{name} '{text[:40]}' is not a whole number") from None
    if name == "issue_exists":
        try:
            return _TRUTH[text.strip().lower()]
        except KeyError:
            raise ValueError(f"issue_exists '{text[:40]}' is not 1 or 0") from None
    return text


def read(path: Path) -> Iterator[tuple[int, tuple]]:
    """(line number, row) of every row of the file, in the file's order; ValueError naming the
    line for anything that is not a row."""
    csv.field_size_limit(sys.maxsize)
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, strict=True)
        try:
            header = next(reader)
        except StopIteration:
            raise ValueError("line 1: the file is empty (expected a header row)") from None
        except csv.Error as exc:
            raise ValueError(f"line 1: {exc}") from None
        names = [h.strip().lower() for h in header]
        missing = [c for c in COLUMNS if c not in names]
        if missing:
            raise ValueError(f"line 1: no column '{missing[0]}' (the header has: {', '.join(names)[:200]})")
        where = [names.index(c) for c in COLUMNS]
        width = len(names)
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise ValueError(f"line {reader.line_num}: {exc}") from None
            except UnicodeDecodeError:
                raise ValueError(f"after line {reader.line_num}: not UTF-8") from None
            if len(fields) != width:
                if not any(fields):
                    continue  # a blank line (some exporters end with one)
                raise ValueError(f"line {reader.line_num}: {len(fields)} fields, the header has {width}")
            try:
                row = tuple(_value(c, fields[i]) for c, i in zip(COLUMNS, where, strict=True))
            except ValueError as exc:
                raise ValueError(f"line {reader.line_num}: {exc}") from None
            yield reader.line_num, row


class RowsFileSource:
    """The rows of an export file (see the module's text)."""

    def __init__(self, config: Config, name: str):
        assert config.rows_file is not None
        self.path, self.config = Path(config.rows_file), config
        self._keys: list[str] | None = None  # set by estimate(), which reads the file whole

    def describe(self) -> str:
        return f"the rows file {self.path}"

    def estimate(self) -> int:
        """Every line checked (ids increasing) and counted; the projects of the last rows kept
        for the root's check."""
        count, last = 0, None
        recent: collections.deque[str] = collections.deque(maxlen=2000)
        try:
            for line, row in read(self.path):
                if last is not None and row[0] <= last:
                    raise ValueError(f"line {line}: id {row[0]} is not above the id before it ({last}); "
                                     "export ordered by id")  # fmt: skip
                last = row[0]
                count += 1
                if row[6] and row[4] is not None:
                    recent.append(row[6])
        except ValueError as exc:
            raise ConfigError(f"INSPECTOR_ROWS_FILE {self.path}: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"INSPECTOR_ROWS_FILE: cannot read {self.path}: {exc.strerror}") from None
        self._keys = sorted(set(recent))
        return count // self.config.shards

    def recent_project_keys(self, limit: int = 2000) -> list[str]:
        if self._keys is None:
            self.estimate()
        return self._keys or []

    def rows(self, after: int, until: int, batch_size: int) -> Iterator[list[tuple]]:
        shard = self.config.shard
        batch: list[tuple] = []
        try:
            for _, row in read(self.path):
                if row[0] <= after or (shard.count > 1 and not shard.owns_id(row[0])):
                    continue
                if row[0] > until:
                    break
                batch.append(row)
                if len(batch) >= batch_size:
                    yield batch
                    batch = []
        except (ValueError, OSError) as exc:
            raise ConfigError(f"INSPECTOR_ROWS_FILE {self.path}: {exc}") from None
        if batch:
            yield batch

    def retried(self) -> int:
        return 0

    def close(self) -> None:
        pass
