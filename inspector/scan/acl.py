"""POSIX access ACLs evaluated for the Jira account, the way the kernel does.

A file or folder may carry an access ACL (the ``system.posix_acl_access`` extended attribute):
a named-user or named-group entry can grant the Jira account what the mode bits deny, and a
named-user entry or the mask can take away what they seem to allow. Pure functions over the
attribute's bytes (Linux's ``posix_acl_xattr`` format), checked against ``setfacl`` in the tests.

Only where it can change the answer is the attribute read at all: for a file or folder the Jira
account owns, the ACL's owner entry is the mode's owner bits, so the mode alone is exact. NFSv4
ACLs (``system.nfs4_acl``) are not evaluated.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

XATTR = "system.posix_acl_access"
USER_OBJ, USER, GROUP_OBJ, GROUP, MASK, OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
READ, WRITE, EXECUTE = 4, 2, 1
_VERSION = 2
_NAMES = {USER_OBJ: "user:", USER: "user:", GROUP_OBJ: "group:", GROUP: "group:", MASK: "mask:", OTHER: "other:"}


class Entry(NamedTuple):
    tag: int
    perm: int
    id: int  # a uid or gid for named entries, else -1

    def __str__(self) -> str:
        who = str(self.id) if self.tag in (USER, GROUP) else ""
        bits = "".join(c if self.perm & b else "-" for c, b in (("r", READ), ("w", WRITE), ("x", EXECUTE)))
        return f"{_NAMES.get(self.tag, '?:')}{who}:{bits}"


def parse(raw: bytes) -> list[Entry] | None:
    """The entries of an access ACL attribute, or None for what is not one (then the mode
    decides, as it would for a file without an ACL)."""
    if len(raw) < 4 or (len(raw) - 4) % 8 or struct.unpack_from("<I", raw)[0] != _VERSION:
        return None
    entries = []
    for offset in range(4, len(raw), 8):
        tag, perm, ident = struct.unpack_from("<HHI", raw, offset)
        entries.append(Entry(tag, perm, -1 if ident == 0xFFFFFFFF else ident))
    return entries


def allows(entries: list[Entry], want: int, owner: int, group: int, uid: int, gids: frozenset[int]) -> tuple[bool, str]:
    """Whether ``uid`` with groups ``gids`` gets ``want`` (READ, EXECUTE...) from an ACL on a
    file owned by ``owner``:``group``, and the entry (and mask) that decided: the kernel's
    acl_permission_check and posix_acl_permission, step for step."""
    if owner == uid:  # the owner: the mode's owner bits (the ACL's owner entry) alone
        entry = next((e for e in entries if e.tag == USER_OBJ), Entry(USER_OBJ, 0, -1))
        return entry.perm & want == want, f"ACL {entry}"
    mask = next((e for e in entries if e.tag == MASK), None)
    group_bits = mask if mask is not None else next((e for e in entries if e.tag == GROUP_OBJ), None)
    if group_bits is None or group_bits.perm == 0:
        # The mode's group bits are zero: the kernel does not consult the ACL at all, only the
        # mode (no named entry could grant anything through a zero mask).
        if group in gids:
            return False, f"ACL {group_bits or 'group::---'}: no access for the owning group"
        other = next((e for e in entries if e.tag == OTHER), Entry(OTHER, 0, -1))
        return other.perm & want == want, f"ACL {other}"
    found = False
    for i, entry in enumerate(entries):
        if entry.tag == USER_OBJ and owner == uid:
            return entry.perm & want == want, f"ACL {entry}"
        if entry.tag == USER and entry.id == uid:
            return _masked(entries, i, want)
        if entry.tag in (GROUP_OBJ, GROUP) and (group if entry.tag == GROUP_OBJ else entry.id) in gids:
            found = True
            if entry.perm & want == want:
                return _masked(entries, i, want)
        if entry.tag == OTHER:
            if found:
                return False, "ACL: the account's groups have entries, none of which grants it"
            return entry.perm & want == want, f"ACL {entry}"
    return False, "ACL without an entry for other"


def _masked(entries: list[Entry], i: int, want: int) -> tuple[bool, str]:
    entry = entries[i]
    mask = next((e for e in entries[i + 1 :] if e.tag == MASK), None)
    if mask is None:
        return entry.perm & want == want, f"ACL {entry}"
    return entry.perm & mask.perm & want == want, f"ACL {entry} with {mask}"
