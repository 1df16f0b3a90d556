"""Before a pass: is this the right attachments root, and the right account?

An admin's first scan is often of the wrong folder: a mount point whose share is not mounted,
the shared home instead of ``data/attachments`` (one level too high), a project folder (one
too deep), a bucket prefix that is not Jira's. Scanned anyway, each becomes a report of
"399 of 400 missing" and a ticket about lost files. So before the pass starts, the projects
that the newest attachments went to (``Source.recent_project_keys``: active projects, whose
folders Jira has just written) are looked for under the root; if not one is there, the scan
is refused in one line naming the root, a folder that was expected and the likely cause.
Where some are missing the pass goes on: that is what the report is for.
"""

from __future__ import annotations

import errno as errnos
import logging
import os
from pathlib import Path

from ..config.config import Config
from ..errors import ConfigError
from ..storage import Storage, scheme

log = logging.getLogger("inspector")

CHECKED = 50  # project folders looked for at most (each a stat, or a LIST of one key on S3)


def check_root(config: Config, keys: list[str], storage: Storage) -> None:
    """Raise ConfigError when none of the projects ``keys`` has its folder under the root."""
    if not keys:
        return  # no attachments, or a source that cannot say: nothing to hold the root against
    looked = keys[:CHECKED]
    for key in looked:
        probe = storage.folder(key)
        if probe.errno != errnos.ENOENT:
            return  # there (or there but unreadable: the report says so, row by row)
    root = config.attachments_root
    if scheme(root) == "s3":
        cause = (
            "No object is under any of these project prefixes: is the prefix Jira's (its default is 'attachments'), "
            "and the bucket the one filestore-config.xml names?"
        )
    else:
        cause = _likely_cause(Path(root), looked)
    raise ConfigError(
        f"INSPECTOR_ATTACHMENTS_ROOT {root}: none of the {len(looked)} project folders the newest attachments "
        f"are in is there (e.g. {root.rstrip('/')}/{looked[0]}). {cause} Nothing was scanned."
    )


def _likely_cause(root: Path, keys: list[str]) -> str:
    for below in ("data/attachments", "attachments"):
        if any((root / below / key).is_dir() for key in keys):
            return f"The root is one level too high: set it to {root / below}."
    if any((root.parent / key).is_dir() for key in keys):
        return f"The root is one level too deep: set it to {root.parent}."
    try:
        empty = not any(os.scandir(root))
    except OSError:
        empty = False
    if empty and not os.path.ismount(root):
        return "The folder is empty and nothing is mounted on it: is the NFS share mounted?"
    if empty:
        return "The mounted file system is empty: is it the right share, or still being restored?"
    return "Is this Jira's <shared home>/data/attachments (or the attachments path set in Jira)?"


def warn_account(config: Config) -> None:
    """Permissions evaluated for root, who may read everything, say nothing about Jira."""
    if config.identity_guessed and config.identity.uid == 0:
        log.warning(
            "permissions are evaluated for uid 0 (root, the owner of %s), which Jira never runs as: set "
            "INSPECTOR_JIRA_UID and INSPECTOR_JIRA_GID to the account Jira runs as",
            config.attachments_root,
        )
