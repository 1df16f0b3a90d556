"""The typed messages that cross the pipeline's queues.

Work queue (producer -> checkers): ``Batch`` of attachment rows from the reader, ``HashBatch``
of files to read from the hash feeder, then one ``None`` per checker. Result queue (everyone
-> writer): ``Checked``, ``Hashed``, ``Walked``, and one end message per producer. Each is a
small NamedTuple (it pickles as a tuple); the rows inside stay plain tuples (``model.py``).
"""

from __future__ import annotations

from typing import NamedTuple

# Reading order of a pass: attachments added since the last finished pass, then the rest.
NEW, OLD = "new", "old"
# A Jira Cloud partition's part: "cloud:<name>", and "cloud-done:<name>" once it is read whole.
CLOUD, CLOUD_DONE = "cloud:", "cloud-done:"

Unit = tuple[str, str]  # a project/bucket folder of the orphan walk
WalkEntry = tuple[str, int | None, int | None, str, int | None]  # relpath, claimed id, size, kind, mtime
# An issue folder's plain files that claim an attachment id: (folder, their names joined by "/",
# which no name can hold). Stored as one row (state: walked_folders).
FolderFiles = tuple[str, str]
BlockedFolder = tuple[str, int, str, str]  # project key, issue number, relpath, detail
HashItem = tuple[str, int, int]  # relpath, size, mtime


class Cursor(NamedTuple):
    """Where a batch of rows ends: its part of the pass (NEW or OLD) and its last id."""

    part: str
    last_id: int


class Batch(NamedTuple):
    seq: int
    part: str
    rows: list[tuple]


class Facts(NamedTuple):
    """What only Jira Cloud says: issue facts (``sources.cloud.IssueFacts``) and the authors'
    account ids of a batch, sent before the batch's rows."""

    issues: list[tuple]
    authors: list[tuple[int, str]]


class HashBatch(NamedTuple):
    seq: int
    level: str  # hasher.HEAD_TAIL or hasher.FULL
    items: list[HashItem]


class Checked(NamedTuple):
    seq: int
    cursor: Cursor
    results: list[tuple]


class Hashed(NamedTuple):
    seq: int
    rows: list[dict]
    bytes_read: int
    planned: int = 0  # what the batch was to read: the progress counts toward the planned total


class Walked(NamedTuple):
    """Walked entries; ``claimed`` (claim number, unit) on the last message of a unit."""

    entries: list[WalkEntry]
    claimed: tuple[int, Unit] | None
    blocked: list[BlockedFolder]
    folders: list[FolderFiles]


class FeedDone(NamedTuple):
    """The reader or the hash feeder has sent all its batches."""

    batches: int


class CheckerDone(NamedTuple):
    checker: int


class WalkDone(NamedTuple):
    walker: int


Work = Batch | HashBatch | None
Result = Checked | Facts | Hashed | Walked | FeedDone | CheckerDone | WalkDone
