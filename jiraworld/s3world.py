"""A Jira world in object storage: the attachments tree of ``world.build`` uploaded to a bucket
under a prefix, key for path, as Jira DC 9.9+ keeps attachments in S3.

What S3 cannot hold changes what the inspector must find, and ``upload`` says so in the
Expected it returns: a symlink (dangling or looping) and a folder where a file should be are no
object at all (missing); modes and owners do not exist, so unreadable files and locked issue
folders are healthy objects; the objects the ``denied`` prefixes hold are the ones credentials
may list but not read (permissions, when each object is read).
"""

from __future__ import annotations

import dataclasses
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from inspector.jira import layout

from .world import Expected


def _aid_of(name: str, expected: Expected) -> int | None:
    aid = layout.claimed_id(name)
    return aid if aid in expected.issue_of else None


def upload(
    tree: Path, client, bucket: str, prefix: str, expected: Expected, denied: tuple[str, ...] = (),
    threads: int = 16,
) -> Expected:  # fmt: skip
    """Upload every regular file under ``tree`` to ``bucket`` at ``prefix/<relpath>`` and return
    what an inspection of the bucket must find. ``denied``: relative folders whose objects the
    partial credentials may not read."""
    tree = Path(tree)
    files: list[tuple[str, str]] = []  # (relpath, full path)
    for folder, dirs, names in os.walk(tree):
        dirs.sort()
        for name in sorted(names):
            full = os.path.join(folder, name)
            if os.path.islink(full):
                continue  # a symlink is no object
            if "\\" in name:
                continue  # SeaweedFS turns a backslash in a key into a folder separator: left out
            files.append((os.path.relpath(full, tree), full))

    def put(item: tuple[str, str]) -> None:
        rel, full = item
        with open(full, "rb") as f:
            client.put_object(Bucket=bucket, Key=f"{prefix}/{rel}" if prefix else rel, Body=f.read())

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(put, files))

    s3 = dataclasses.replace(
        expected, missing=set(expected.missing), permissions=set(), corrupted=set(expected.corrupted),
        errors=set(expected.errors), orphans=set(expected.orphans), content={},
    )  # fmt: skip
    claimed = {layout.claimed_id(rel.rsplit("/", 1)[-1]) for rel, _ in files}
    for aid, fault in expected.fault.items():
        if fault == "legacy" and aid not in claimed:
            s3.missing.add(aid)  # its legacy name held a backslash (see above)
        if fault in ("folder", "loop"):  # a folder or a looping link where the file should be: no object
            s3.missing.add(aid)
            s3.corrupted.discard(aid)
            s3.errors.discard(aid)
    for rel, full in files:
        parts = rel.split("/")
        owner = _aid_of(parts[-1], expected) if len(parts) == 4 else None
        # A row's file is <id>, or <id>_<name> where the world planted a legacy name; any other
        # <id>_... is a stray copy (an orphan) that claims the id without being its file.
        if owner is None or (parts[-1] != str(owner) and expected.fault.get(owner) != "legacy"):
            continue
        aid = owner
        with open(full, "rb") as f:
            data = f.read()
        s3.content[aid] = (len(data), data.rstrip(b"\0"))
        if any(rel.startswith(d.rstrip("/") + "/") for d in denied):
            s3.permissions.add(aid)
    return s3
