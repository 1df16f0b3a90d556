"""What to do next: the end of ``summary.txt`` and ``report.html``, built from what was found.

An admin reads the counts and asks "and now?". Each finding gets its one concrete step: the
restore command for missing and corrupted files (a dry run first), the permission script for
files only Jira's account cannot read, how to check an orphan before deleting it, and what the
common error kinds mean. Nothing found: said so. Short, and only what applies.
"""

from __future__ import annotations

from pathlib import Path

# What an error kind means, and what to check first.
ERRORS = {
    "ELOOP": "a symbolic link loop, or a link where Jira expects a file or folder: look at the path with ls -l "
             "and replace the link by the file",
    "ETIMEDOUT": "the storage did not answer within INSPECTOR_STAT_TIMEOUT: check the NFS server and the mount "
                 "(dmesg, nfsstat), then scan again",
    "EIO": "the disk or the network file system failed to read it: check dmesg and the storage's health",
    "ESTALE": "a stale NFS file handle: the share was changed under the mount; remount it and scan again",
    "ENAMETOOLONG": "a path longer than the file system allows: the project key or folder is unusual; "
                    "look at it in the list",
    "EACCES": "access was refused above the file: see the permissions list",
}  # fmt: skip


def steps(s: dict, report_dir: Path | None = None) -> list[str]:
    """The steps, each a short paragraph (lines joined by the caller)."""
    cloud = str(s["attachments_root"]).startswith(("https://", "http://"))
    s3 = str(s["attachments_root"]).startswith("s3://")
    where = f"{report_dir}/" if report_dir is not None else ""
    out = []
    broken = s["missing"] + s["corrupted"]
    if broken and cloud:
        out.append(f"{s['missing']} missing and {s['corrupted']} corrupted attachments: Atlassian keeps the files "
                   "of a Cloud site, so upload them again from a local copy (the lists name issue and file), or "
                   "ask Atlassian support to restore them.")  # fmt: skip
    elif broken:
        backup = "s3://BACKUP-BUCKET/attachments" if s3 else "/path/to/backup/data/attachments"
        out.append(
            f"{s['missing']} missing and {s['corrupted']} corrupted attachments: restore them from a backup. First "
            f"the plan, which changes nothing: `inspector restore --from {backup}` (or sftp://user@host/path), "
            f"then read {where}restore-plan.txt and run the same command with --apply."
        )
    if s["permissions"] and s3:
        out.append(f"{s['permissions']} objects these credentials may list but not read: grant s3:GetObject on "
                   "the attachments prefix to the role Jira uses (and to this scan's).")  # fmt: skip
    elif s["permissions"] and not cloud:
        out.append(
            f"{s['permissions']} attachments Jira's account (uid {s['jira_uid']}) cannot read: `inspector restore "
            f"--from <backup>` also writes {where}restore-permissions.sh, the chown and chmod lines that fix "
            "them; review it, then run it as root."
        )
    if s["orphans"]:
        out.append(
            f"{s['orphans']} orphan files: no attachment row owns them (left by deleted attachments, failed "
            f"uploads, copies put in the wrong folder). Before deleting one, look at {where}orphans.txt: its "
            f"name is the attachment id; if {s['jira_url']}/secure/attachment/<id>/ opens in Jira, it is a "
            "copy of an attachment that lives elsewhere. "
            "Move them aside for a release cycle rather than deleting at once."
        )
    if s["errors"]:
        kinds = s.get("error_kinds") or {}
        said = [f"{kind} ({n}): {ERRORS[kind]}" for kind, n in kinds.items() if kind in ERRORS]
        rest = sum(n for kind, n in kinds.items() if kind not in ERRORS)
        text = f"{s['errors']} attachments could not be checked"
        text += (": " + "; ".join(said)) if said else ""
        if rest:
            text += f"; {rest} other: the detail column of {where}errors.txt says why"
        out.append(text + ".")
    if not out:
        out.append("Nothing to do: every attachment is there, readable by Jira and of the size Jira recorded.")
    return out


def html(s: dict, report_dir: Path | None = None) -> str:
    """The steps as an ordered list; `commands` become code."""
    import re
    from html import escape

    items = "".join(
        "<li>" + re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(step, quote=False)) + "</li>"
        for step in steps(s, report_dir)
    )
    return f'<h2>What to do next</h2><ol class="next">{items}</ol>'


def text(s: dict, report_dir: Path | None = None) -> list[str]:
    """The steps as summary.txt lines: numbered, wrapped at 100 columns."""
    import textwrap

    lines = ["", "What to do next"]
    for n, step in enumerate(steps(s, report_dir), 1):
        lines += textwrap.wrap(step, 100, initial_indent=f"  {n}. ", subsequent_indent="     ",
                               break_on_hyphens=False, break_long_words=False)  # fmt: skip
    return lines
