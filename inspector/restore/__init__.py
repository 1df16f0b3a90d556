"""Restore: copy the attachments a pass found missing or corrupted back from a backup.

The phases, called in order by ``commands/restore.py``: ``candidates`` (the finished pass and
its flagged rows), ``apply`` (every row looked up in the backup, then the restorable ones
copied), ``planfile`` (restore-plan.txt and restore-permissions.sh). Beneath them: ``plan``
holds the pure rules (where the backup has a file, what the plan says, the permission
commands), ``transfer`` the safe copy of one file into Jira's folder, ``ledger`` the rows in the
state file, ``breaker`` the one retry window per backup, ``running`` the windows and signals.
The backup itself is read through the Storage seam: a folder (posix), ``sftp://`` (sftp),
``s3://`` (s3).
"""
