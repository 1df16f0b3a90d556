"""What a restore would do, as pure functions: which flagged attachments to copy, where the
backup holds each one, what the plan says about it, and the commands that would fix the
permissions findings (written for the admin to read, never run).

Nothing here opens a file or a connection: ``locate`` asks a backup storage through the
Storage methods ``probe`` and ``names`` it is given, so every rule is tested on plain data.
"""

from __future__ import annotations

import errno as errnos
import shlex
import stat
from collections.abc import Iterable
from typing import NamedTuple

from ..jira import layout
from ..storage import Probe

# A plan's verdicts, and the statuses of rows in the state's ``restores`` table.
RESTORABLE, BACKUP_DIFFERS = "restorable", "backup_differs"
NOT_IN_BACKUP, SOURCE_ERROR = "not_in_backup", "source_error"
PENDING, COPYING, RESTORED, ALREADY_OK, ERROR = "pending", "copying", "restored", "already_ok", "error"
NO_PLACE = "no_place"  # Jira has no folder for it (its issue or project row is gone): nowhere to copy to
DONE = frozenset({RESTORED, ALREADY_OK})  # never copied again
FINDINGS = ("missing", "corrupted")  # what --only may name: the findings a copy can cure


class Candidate(NamedTuple):
    """One flagged attachment of the chosen pass, as the state holds it."""

    id: int
    relpath: str | None  # where Jira looks for it, from the attachments root (None: nowhere)
    filesize: int | None
    finding: str  # missing | corrupted | permissions
    filename: str | None
    link: str
    issue_key: str | None
    detail: str | None
    full_hash: bytes | None = None  # content hash a pass recorded while the file had this size
    head_tail: bytes | None = None
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    blocked_folder: str | None = None  # the issue folder Jira cannot enter, when that is the finding


class Found(NamedTuple):
    """Where the backup holds an attachment, and the verdict on it."""

    verdict: str
    backup_path: str | None = None
    size: int | None = None
    reason: str = ""
    version: str = ""  # which copy the lookup saw (mtime, ETag): a part continues only from it


def finding(missing: bool, corrupted: bool, permissions: bool) -> str | None:
    """The one finding a restore acts on: a file that is not there (or not a file) is copied; a
    wrong size is copied over (the bad one kept in quarantine); a file that is only unreadable
    for Jira gets commands, not a copy."""
    if missing:
        return "missing"
    if corrupted:
        return "corrupted"
    return "permissions" if permissions else None


def _judge(rel: str, probe: Probe, expected: int | None) -> Found:
    if probe.errno == errnos.ENOENT:
        return Found(NOT_IN_BACKUP)
    if probe.errno:
        why = probe.reason or errnos.errorcode.get(probe.errno, str(probe.errno))
        return Found(SOURCE_ERROR, rel, reason=f"{rel}: {why}")
    if stat.S_ISLNK(probe.mode):
        return Found(SOURCE_ERROR, rel, reason=f"{rel} in the backup is a symbolic link: not followed, not copied")
    if not stat.S_ISREG(probe.mode):
        return Found(SOURCE_ERROR, rel, reason=f"{rel} in the backup is not a regular file")
    if expected is not None and probe.size != expected:
        why = f"the backup copy has {probe.size} bytes, Jira expects {expected}"
        return Found(BACKUP_DIFFERS, rel, probe.size, why)
    return Found(RESTORABLE, rel, probe.size, version=probe.version)


def locate(candidate: Candidate, probe, names) -> Found:
    """Where the backup holds ``candidate``: at its own path first (one request), else under
    the legacy name ``<id>_<filename>`` in the same issue folder (one listing), as Jira itself
    looks. ``probe(rel)`` and ``names(folder)`` are the backup storage's methods."""
    rel = candidate.relpath
    if rel is None:
        return Found(NO_PLACE, reason="Jira has no folder for this attachment (its issue or project row is gone)")
    found = _judge(rel, probe(rel), candidate.filesize)
    if found.verdict != NOT_IN_BACKUP:
        return found
    folder = rel.rsplit("/", 1)[0]
    legacy = layout.legacy_name(candidate.id, candidate.filename)
    listed = names(folder)
    if isinstance(listed, int):
        if listed == errnos.ENOENT:
            return Found(NOT_IN_BACKUP)
        return Found(SOURCE_ERROR, reason=f"{folder}: {errnos.errorcode.get(listed, str(listed))}")
    prefix = f"{candidate.id}_"
    # The exact legacy name first; else one name claiming the id (a filename renamed since).
    matches = [legacy] if legacy in listed else sorted(n for n in listed if n.startswith(prefix))
    if not matches:
        return Found(NOT_IN_BACKUP)
    return _judge(f"{folder}/{matches[0]}", probe(f"{folder}/{matches[0]}"), candidate.filesize)


def quarantine_name(relpath: str, taken) -> str:
    """The quarantine path of a corrupted file: its own relative path, or with ``.1``, ``.2``
    added when an earlier restore already put one there (``taken(rel)`` says so)."""
    name, n = relpath, 0
    while taken(name):
        n += 1
        name = f"{relpath}.{n}"
    return name


def plan_line(c: Candidate, status: str, found_path: str | None, message: str | None) -> str:
    """One line of restore-plan.txt: status, link, issue, target path, backup path, detail;
    tab-separated with tabs and newlines in names escaped, like the other lists."""
    fields = [status, c.link, c.issue_key or f"attachment {c.id}", c.relpath or "-", found_path or "-", message or ""]
    return "\t".join(_clean(f) for f in fields)


def _clean(text: str) -> str:
    text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return "".join(ch if ch >= " " and ch != "\x7f" else "?" for ch in text)


def summary_lines(counts: dict[str, int], backup: str, applied: bool) -> list[str]:
    order = (RESTORED, ALREADY_OK, RESTORABLE, PENDING, COPYING, BACKUP_DIFFERS, NOT_IN_BACKUP, NO_PLACE,
             SOURCE_ERROR, ERROR)  # fmt: skip
    head = "restore from " + backup + (" (applied)" if applied else " (plan only: nothing was written; --apply copies)")
    lines = [head]
    lines += [f"  {status:<15} {counts[status]:>8}" for status in order if counts.get(status)]
    lines += [f"  {status:<15} {n:>8}" for status, n in sorted(counts.items()) if status not in order and n]
    if not any(counts.values()):
        lines.append("  nothing to restore: the pass flagged no missing or corrupted attachment")
    return lines


def permission_commands(rows: Iterable[Candidate], root: str, uid: int, gid: int, file_mode: int, dir_mode: int):
    """Shell lines that would give Jira's account its files back: one ``fix`` per file flagged
    only for permissions, and per issue folder Jira cannot enter (once each).

    The tree is the Jira account's, and an admin runs this as root some time after the plan:
    a flagged file replaced by a link meanwhile must not hand the link's target to Jira. So
    ``fix`` skips a path that is no longer what the plan saw (a regular file, or a folder)
    or that is reached through a link anywhere on its way (its real path differs), changes the
    owner with ``chown -h`` (never a link's target), and sets the mode as the Jira account
    (``setpriv``), which the kernel lets change only Jira's own files."""
    seen: set[str] = set()
    yield "#!/bin/sh"
    yield "# Written by `inspector restore`: read it, then run it as root to fix the permissions findings."
    yield "# The inspector never runs it. Paths are quoted for sh; links are never followed."
    yield "set -eu"
    yield "as_jira=''"
    yield f"command -v setpriv >/dev/null 2>&1 && as_jira='setpriv --reuid={uid} --regid={gid} --clear-groups --'"
    yield "fix() {  # fix KIND(f|d) PATH MODE"
    yield '    if [ -L "$2" ] || ! [ -"$1" "$2" ] || [ "$(realpath -e -- "$2" 2>/dev/null)" != "$2" ]; then'
    yield '        echo "skipped: $2 is not the plain file or folder the plan saw" >&2; return 0'
    yield "    fi"
    yield f'    chown -h {uid}:{gid} -- "$2" && $as_jira chmod "$3" -- "$2"'
    yield "}"
    real_root = root.rstrip("/")
    for c in rows:
        if c.relpath is None:
            continue
        targets = []
        if c.blocked_folder and c.blocked_folder not in seen:
            seen.add(c.blocked_folder)
            targets.append((c.blocked_folder, dir_mode, "d"))
        targets.append((c.relpath, file_mode, "f"))
        for rel, mode, kind in targets:
            path = shlex.quote(f"{real_root}/{rel}")
            yield f"fix {kind} {path} {mode:04o}  # attachment {c.id}"
