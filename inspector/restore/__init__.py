"""Restore: copy the attachments a pass found missing or corrupted back from a backup.

``plan`` holds the pure rules (where the backup has a file, what the plan says, the
permission commands), ``transfer`` the safe copy of one file into Jira's folder, ``ledger``
the rows in the state file, and ``command`` the ``inspector restore`` run that joins them.
The backup itself is read through the Storage seam: a folder (posix), ``sftp://`` (sftp),
``s3://`` (s3).
"""
