"""Builds a synthetic Jira world: rows in a real Jira schema and the matching attachments tree.

Used by ``inspector demo``, the tests and the benchmarks (never by a scan). Faults are sprinkled at a given rate
and every fault is recorded in ``Expected``, the independent truth the inspector's report is
compared with. Layout rules are Jira's: ``<originalkey>/<bucket>/<KEY>-<n>/<id>``.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from inspector import sqlfiles
from inspector.jira import layout

KEYS = ("ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO", "FOXTROT", "GOLF", "HOTEL", "INDIA", "JULIET")
# First issue number per project: the second and third start just below a bucket edge.
FIRST_NUM = (1, 9_990, 19_995, 1, 1, 1, 1, 1, 1, 1)
HOSTILE_NAMES = (
    "tab\there.txt", "new\nline.txt", "quote'\"s.pdf", "100% done?.txt", "../../etc/passwd",
    "ünïcødé 文件.txt", "back\\slash.log", "trailing space .txt", "#hash&amp;.png", "a;rm -rf.sh",
    "<img src=x onerror=alert(1)></script>.html",
)  # fmt: skip
FILE_FAULTS = ("missing", "size", "unreadable", "legacy", "dangling", "folder", "loop", "no_issue")
# The faults object storage can hold as a file system does (no links, folders or modes there).
OBJECT_FAULTS = ("missing", "size", "legacy", "no_issue")


@dataclass(frozen=True)
class WorldSpec:
    attachments: int = 400
    projects: int = 4
    seed: int = 7
    fault_rate: float = 0.02
    jira_uid: int = 2001
    jira_gid: int = 2001
    hostile_rate: float = 0.05
    max_size: int = 4096
    duplicate_rate: float = 0.03  # attachments uploaded again: same bytes as an earlier one
    # The file faults to plant, and whether some issue folders are closed to the Jira account.
    # A world both a folder and a bucket can hold alike: OBJECT_FAULTS and no locked folders.
    faults: tuple[str, ...] = FILE_FAULTS
    lock_folders: bool = True


@dataclass
class Expected:
    total: int = 0
    missing: set[int] = field(default_factory=set)
    permissions: set[int] = field(default_factory=set)
    corrupted: set[int] = field(default_factory=set)
    errors: set[int] = field(default_factory=set)
    orphans: set[str] = field(default_factory=set)
    issue_of: dict[int, int] = field(default_factory=dict)
    # attachment id -> (size on disk, content key) of every file that exists and is readable;
    # the key is the content without its trailing zero bytes: with the size it names the
    # content exactly, and for a world file it is just the short stamp (not kilobytes each)
    content: dict[int, tuple[int, bytes]] = field(default_factory=dict)
    # attachment id -> the fault planted on its file (FILE_FAULTS, "evil", "no_project")
    fault: dict[int, str] = field(default_factory=dict)

    def record(self, aid: int, data: bytes, size: int) -> None:
        """Attachment ``aid`` holds ``data`` followed by zeros up to ``size`` bytes."""
        self.content[aid] = (size, data[:size].rstrip(b"\0"))

    @property
    def duplicate_groups(self) -> list[set[int]]:
        """Sets of attachment ids with identical, non-empty content (what --hash must find)."""
        groups: dict[tuple[int, bytes], set[int]] = {}
        for aid, (size, key) in self.content.items():
            if size > 0 and aid not in self.permissions:
                groups.setdefault((size, key), set()).add(aid)
        return sorted((g for g in groups.values() if len(g) > 1), key=min)

    @property
    def issues_with_problems(self) -> int:
        flagged = self.missing | self.permissions | self.corrupted | self.errors
        return len({self.issue_of[a] for a in flagged})


class _Tree:
    def __init__(self, root: Path, uid: int, gid: int):
        self.root, self.uid, self.gid = str(root), uid, gid
        self._made: set[str] = set()

    def folder(self, rel: str) -> str:
        path = f"{self.root}/{rel}"
        if rel not in self._made:
            parts = rel.split("/")
            for i in range(1, len(parts) + 1):
                sub = "/".join(parts[:i])
                if sub not in self._made:
                    full = f"{self.root}/{sub}"
                    if not os.path.isdir(full):
                        os.mkdir(full, 0o755)
                        os.chown(full, self.uid, self.gid)
                    self._made.add(sub)
        return path

    def file(
        self, rel_folder: str, name: str, size: int, mode: int = 0o644, owner: int | None = None, stamp: bytes = b""
    ) -> None:
        """A file of ``size`` bytes: ``stamp`` at the start, zeros (sparse) after it."""
        path = f"{self.folder(rel_folder)}/{name}"
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, mode)
        try:
            if stamp and size:
                os.pwrite(fd, stamp[:size], 0)
            os.ftruncate(fd, size)
            os.fchown(fd, self.uid if owner is None else owner, self.gid if owner is None else owner)
            os.fchmod(fd, mode)
        finally:
            os.close(fd)


def build(dsn: str, root: Path, spec: WorldSpec = WorldSpec(), progress=None) -> Expected:
    """Fill the database at ``dsn`` (a Jira schema, no attachments yet) and the folder ``root``;
    ``progress(done, total)`` is called every 1,000 attachments written."""
    rng = random.Random(spec.seed)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    os.chown(root, spec.jira_uid, spec.jira_gid)
    os.chmod(root, 0o755)
    tree = _Tree(root, spec.jira_uid, spec.jira_gid)
    exp = Expected()
    epoch = datetime(2015, 1, 1, tzinfo=UTC)

    projects = []  # (id, name, key, originalkey)
    for i in range(min(spec.projects, len(KEYS))):
        key = KEYS[i]
        renamed = i == 3  # the fourth project was renamed: files stay under its original key
        projects.append((20_000 + i, f"Project {key.title()}", f"NEW{key}" if renamed else key, key))
    projects.append((20_900, "Evil project", "EVIL", "EV/../IL"))  # a key we must not join into a path

    issues = []  # (id, project index, num)
    counters = [FIRST_NUM[i % len(FIRST_NUM)] for i in range(len(projects))]
    n_issues = max(len(projects), spec.attachments // 2)
    for n in range(n_issues):
        p = n % (len(projects) - 1)
        issues.append((30_000 + n, p, counters[p]))
        counters[p] += 1
    issues.append((30_000 + n_issues, len(projects) - 1, 1))  # the evil project's single issue
    orphan_project_issue = (30_000 + n_issues + 1, None, 7)  # its project row is gone
    locked = {iss[0] for iss in issues[1:-1] if rng.random() < spec.fault_rate and spec.lock_folders}

    att_rows = []
    uploads: list[tuple[int, bytes]] = []  # (size, stamp) of healthy files, to upload again
    issue_by_id = {iss[0]: iss for iss in issues}
    for k in range(spec.attachments):
        if progress is not None and k and k % 1000 == 0:
            progress(k, spec.attachments)
        aid = 100_000 + k
        fault = None
        if rng.random() < spec.fault_rate * len(FILE_FAULTS):
            fault = rng.choice(spec.faults)
        if k == 0:
            issue_id = issues[-1][0]  # the evil project gets the first attachment
            fault = "evil"
        elif k == 1:
            issue_id = orphan_project_issue[0]
            fault = "no_project"
        elif k in (2, 3):  # a legacy-named file beside a symlink loop: the listing must survive it
            issue_id = issues[0][0]
            fault = "legacy" if k == 2 else "loop" if "loop" in spec.faults else None
        elif fault == "no_issue":
            issue_id = 990_000_000 + k
        else:
            issue_id = issues[rng.randrange(len(issues) - 1)][0]
        if issue_id in locked and fault not in (None, "no_issue"):
            fault = None
        name = rng.choice(HOSTILE_NAMES) if rng.random() < spec.hostile_rate else f"file-{aid}.txt"
        if k == 2:
            name = f"file-{aid}.txt"
        size = rng.randrange(spec.max_size + 1)
        stamp = b"attachment %d\n" % aid  # distinct content, except for planted copies
        if uploads and rng.random() < spec.duplicate_rate:
            size, stamp = rng.choice(uploads)
        # spread over six years, older ids uploaded earlier (storage by year has something to show)
        created = epoch + timedelta(seconds=k * (6 * 365 * 86400 // max(1, spec.attachments)))
        att_rows.append((aid, issue_id, "text/plain", name, created, size, f"user{rng.randrange(20)}", None, None))
        exp.issue_of[aid] = issue_id
        exp.total += 1
        if fault is not None:
            exp.fault[aid] = fault

        if fault in ("no_issue", "no_project", "missing"):
            exp.missing.add(aid)
            continue
        if fault == "evil":
            exp.errors.add(aid)
            continue
        _, p, num = issue_by_id[issue_id]
        okey = projects[p][3]
        folder = layout.issue_folder(okey, num)
        if issue_id in locked:
            exp.permissions.add(aid)
        if fault == "legacy" and "/" not in name:
            tree.file(folder, f"{aid}_{name}", size, stamp=stamp)
            exp.record(aid, stamp, size)
        elif fault == "size":
            actual = size + 1 + rng.randrange(10)
            tree.file(folder, str(aid), actual, stamp=stamp)
            exp.corrupted.add(aid)
            exp.record(aid, stamp, actual)
        elif fault == "unreadable":
            if rng.random() < 0.5:
                tree.file(folder, str(aid), size, mode=0o600, owner=0)
            else:
                tree.file(folder, str(aid), size, mode=0o000)
            exp.permissions.add(aid)
        elif fault == "dangling":
            os.symlink("/nonexistent/attachment", f"{tree.folder(folder)}/{aid}")
            exp.missing.add(aid)
        elif fault == "folder":
            os.mkdir(f"{tree.folder(folder)}/{aid}")
            exp.corrupted.add(aid)
        elif fault == "loop":
            os.symlink(str(aid), f"{tree.folder(folder)}/{aid}")
            exp.errors.add(aid)
        else:
            tree.file(folder, str(aid), size, stamp=stamp)
            exp.record(aid, stamp, size)
            if issue_id not in locked and size > 0:
                uploads.append((size, stamp))
            if rng.random() < 0.05:  # Jira's thumbnails sit beside attachments and are not orphans
                tree.file(f"{folder}/thumbs", f"_thumb_{aid}.png", 100)

    # Files no row owns: unknown ids, a legacy copy shadowed by the real file, strays.
    broken = exp.missing | exp.errors | exp.corrupted
    some = [r for r in att_rows[:1000] if r[0] not in broken][:50]
    for j, row in enumerate(some[:: max(1, len(some) // 5)]):
        _, p, num = issue_by_id[row[1]]
        okey = projects[p][3]
        folder = layout.issue_folder(okey, num)
        stray = str(900_000_000 + j) if j % 2 == 0 else f"{row[0]}_shadowed-copy.txt"
        tree.file(folder, stray, 10 + j)
        exp.orphans.add(f"{folder}/{stray}")
    tree.file("", "stray-at-root.bin", 5)
    exp.orphans.add("stray-at-root.bin")
    tree.file("ZZZ/10000/ZZZ-1", "123", 3)
    exp.orphans.add("ZZZ/10000/ZZZ-1/123")

    for issue_id in locked:
        _, p, num = issue_by_id[issue_id]
        okey = projects[p][3]
        path = tree.folder(layout.issue_folder(okey, num))
        os.chown(path, 0, 0)
        os.chmod(path, 0o700)

    with psycopg.connect(dsn, autocommit=True) as conn:
        with conn.cursor().copy(sqlfiles.load("demo/copy_project")) as cp:
            for pid, pname, pkey, okey in projects:
                cp.write_row((pid, pname, pkey, okey, 0, "software", "admin"))
        with conn.cursor().copy(sqlfiles.load("demo/copy_issue")) as cp:
            for iid, p, num in issues:
                cp.write_row((iid, None, num, projects[p][0], f"Issue {num}", "1", "1", epoch, epoch))
            iid, _, num = orphan_project_issue
            cp.write_row((iid, None, num, 29_999, "Issue of a deleted project", "1", "1", epoch, epoch))
        with conn.cursor().copy(sqlfiles.load("demo/copy_attachment")) as cp:
            for row in att_rows:
                cp.write_row(row)
        conn.execute(sqlfiles.load("demo/analyze"))
    return exp
