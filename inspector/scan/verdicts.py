"""Pure per-row logic: what a storage's probes mean for an attachment, and its result row.

probe -> verdict -> result row. Nothing here touches storage, so every rule is tested without
processes or disks (where Jira keeps a file is ``layout.py``).
Permissions are evaluated from stat data for the Jira account, never with ``os.access``:
the inspector usually runs as root, which can read everything.
"""

from __future__ import annotations

import errno as errnos
import os
import stat
from collections.abc import Callable, Iterable
from stat import S_ISREG
from typing import NamedTuple

from ..config.config import Identity
from ..jira.model import FILESIZE, FLAG_BITS, ISSUE_EXISTS, ISSUE_ID, ISSUE_NUM, ORIGINAL_KEY, PROJECT_ID
from ..storage import Probe
from . import acl


class Verdict(NamedTuple):
    flag: str  # a key of model.FLAG_BITS
    detail: str


def unplaced(row: tuple) -> Verdict:
    """Why Jira would not look for this row's file at all (``layout.placeable`` is false)."""
    if not row[ISSUE_EXISTS]:
        return Verdict("missing", f"issue {row[ISSUE_ID]} does not exist in the database")
    if row[PROJECT_ID] is None:
        return Verdict("missing", f"project of issue {row[ISSUE_ID]} does not exist in the database")
    num = row[ISSUE_NUM]
    if num is None or num < 1:
        return Verdict("missing", f"issue {row[ISSUE_ID]} has no issue number")
    return Verdict("error", f"project key {row[ORIGINAL_KEY]!r} is not a plain Jira key; not checked")


def _allowed(mode: int, uid: int, gid: int, identity: Identity | None, owner: int, group: int, other: int) -> bool:
    """``identity`` None: the storage has no owners or modes (object storage), only denials."""
    if identity is None or identity.uid == 0:
        return True
    if uid == identity.uid:
        return bool(mode & owner)
    if gid in identity.gids:
        return bool(mode & group)
    return bool(mode & other)


def can_read(mode: int, uid: int, gid: int, identity: Identity | None) -> bool:
    return _allowed(mode, uid, gid, identity, stat.S_IRUSR, stat.S_IRGRP, stat.S_IROTH)


def can_enter(mode: int, uid: int, gid: int, identity: Identity | None) -> bool:
    """Search (execute) permission on a folder, which every folder on the path needs."""
    return _allowed(mode, uid, gid, identity, stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH)


def describe_mode(probe: Probe) -> str:
    return f"mode {stat.S_IMODE(probe.mode):04o} owner {probe.uid}:{probe.gid}"


def errno_text(code: int) -> str:
    return f"{errnos.errorcode.get(code, f'errno {code}')} ({os.strerror(code)})"


def acl_decides(raw: bytes | None, want: int, probe: Probe, identity: Identity | None) -> tuple[bool, str] | None:
    """(allowed, the entry that decided) from an access ACL's bytes, or None where the mode
    decides alone (no ACL, or the account is root)."""
    if raw is None or identity is None or identity.uid == 0:
        return None
    entries = acl.parse(raw)
    if not entries:
        return None
    return acl.allows(entries, want, probe.uid, probe.gid, identity.uid, identity.gids)


def wants_acl(probe: Probe, identity: Identity | None) -> bool:
    """Whether an ACL could change the answer: not for what the account owns (the ACL's owner
    entry is the mode's owner bits), nor for root."""
    return identity is not None and identity.uid != 0 and probe.uid != identity.uid


def folder_verdict(
    probes: Iterable[tuple[str, Probe]],
    identity: Identity | None,
    blocked: Verdict | None = None,
    acl_of: Callable[[str], bytes | None] | None = None,
) -> tuple[Verdict | None, bool]:
    """Judge folders on the way down to the issue folder ((rel, Probe) pairs, top first),
    continuing from the verdict ``blocked`` of the folders above them.

    Returns (verdict, final). ``final`` means nothing below can be seen, so the file itself is
    not looked at; a non-final verdict is a folder the Jira account cannot enter while we can.
    """
    for rel, probe in probes:
        shown = rel or "the attachments root"
        if probe.errno == errnos.ENOENT:
            return Verdict("missing", f"folder {shown} does not exist"), True
        if probe.errno == errnos.ENOTDIR:
            return Verdict("missing", f"{shown} is not a folder"), True
        if probe.errno == errnos.EACCES:
            return Verdict("permissions", f"cannot reach {shown}: permission denied"), True
        if probe.errno:
            return Verdict("error", f"folder {shown}: {errno_text(probe.errno)}"), True
        if not stat.S_ISDIR(probe.mode):
            return Verdict("missing", f"{shown} is not a folder"), True
        if blocked is None:
            enter, how = can_enter(probe.mode, probe.uid, probe.gid, identity), describe_mode(probe)
            if acl_of is not None and wants_acl(probe, identity):
                decided = acl_decides(acl_of(rel), acl.EXECUTE, probe, identity)
                if decided is not None:
                    enter, how = decided[0], f"{how}, {decided[1]}"
            if not enter:
                blocked = Verdict("permissions", f"Jira cannot enter {shown}/ ({how})")
    return blocked, False


def file_verdicts(row: tuple, rel: str, probe: Probe, identity: Identity | None, acl_raw: bytes | None = None
                  ) -> list[Verdict]:  # fmt: skip
    """Flags for a file the storage found (or failed to stat) at ``rel``; ``acl_raw``: its
    access ACL, where it has one."""
    if probe.errno == errnos.ENOENT:
        what = "dangling symlink" if probe.dangling_symlink else "no file"
        return [Verdict("missing", f"{what} at {rel}")]
    expected = row[FILESIZE]
    if probe.errno:
        # Object storage: a read denied or failed where the listing still gave the size.
        resized = probe.size >= 0 and expected is not None and probe.size != expected
        verdicts = [Verdict("corrupted", f"expected {expected} bytes, the listing shows {probe.size}")] * resized
        if probe.errno == errnos.EACCES:  # the credentials may not read it (its code)
            why = f"cannot read {rel}: {probe.reason}" if probe.reason else f"cannot stat {rel}: permission denied"
            return [*verdicts, Verdict("permissions", why)]
        return [*verdicts, Verdict("error", f"{rel}: {probe.reason or errno_text(probe.errno)}")]
    verdicts = []
    if not stat.S_ISREG(probe.mode):
        kind = "a folder" if stat.S_ISDIR(probe.mode) else "not a regular file"
        verdicts.append(Verdict("corrupted", f"{rel} is {kind}"))
    elif expected is not None and probe.size != expected:
        verdicts.append(Verdict("corrupted", f"expected {expected} bytes, found {probe.size}"))
    readable, how = can_read(probe.mode, probe.uid, probe.gid, identity), describe_mode(probe)
    if (decided := acl_decides(acl_raw, acl.READ, probe, identity)) is not None:
        readable, how = decided[0], f"{how}, {decided[1]}"
    if not readable:
        verdicts.append(Verdict("permissions", f"Jira cannot read {rel} ({how})"))
    return verdicts


def healthy(pass_id: int, row: tuple, rel: str, probe: Probe, identity: Identity | None) -> tuple | None:
    """The common case in one call: the result row of a regular, readable file of the expected
    size (what ``result`` makes when there is no verdict), else None.

    Exactly the condition under which ``file_verdicts`` finds nothing for a successful probe
    (tests hold the two together), so the checker can skip building verdicts for it. One call
    unpacking the probe once: this runs for every attachment.
    """
    _, mode, uid, gid, size, mtime, _, _, _ = probe
    expected = row[FILESIZE]
    if S_ISREG(mode) and (expected is None or size == expected) and can_read(mode, uid, gid, identity):
        return (pass_id, *row, rel, size, mode, uid, gid, mtime, 0, None)
    return None


def result(pass_id: int, row: tuple, rel: str | None, probe: Probe | None, verdicts: list[Verdict]) -> tuple:
    """One row for the state's ``results`` table (column order of model.RESULT_COLUMNS)."""
    flags = 0
    for verdict in verdicts:
        flags |= FLAG_BITS[verdict.flag]
    detail = "; ".join(v.detail for v in verdicts) or None
    if probe is not None and probe.errno == 0:
        return (pass_id, *row, rel, probe.size, probe.mode, probe.uid, probe.gid, probe.mtime, flags, detail)
    return (pass_id, *row, rel, None, None, None, None, None, flags, detail)
