"""What to do next (next_steps.py): pure, from a summary; the demo and report tests hold it end to end."""

from __future__ import annotations

from pathlib import Path

from inspector.report import next_steps

CLEAN = {
    "attachments_root": "/srv/jira/data/attachments", "jira_url": "https://jira.example.com", "jira_uid": 2001,
    "missing": 0, "corrupted": 0, "permissions": 0, "orphans": 0, "errors": 0, "error_kinds": {},
}  # fmt: skip


def test_nothing_found_says_there_is_nothing_to_do():
    assert next_steps.steps(CLEAN) == [
        "Nothing to do: every attachment is there, readable by Jira and of the size Jira recorded."
    ]


def test_each_finding_gets_its_one_step_and_only_those():
    s = {**CLEAN, "missing": 3, "corrupted": 1, "permissions": 2, "orphans": 5, "errors": 4,
         "error_kinds": {"ETIMEDOUT": 3, "other": 1}}  # fmt: skip
    restore, perms, orphans, errors = next_steps.steps(s, Path("/r"))
    assert "`inspector restore --from /path/to/backup/data/attachments`" in restore and "--apply" in restore
    assert "/r/restore-plan.txt" in restore
    assert "(uid 2001)" in perms and "/r/restore-permissions.sh" in perms
    assert "https://jira.example.com/secure/attachment/<id>/" in orphans and "/r/orphans.txt" in orphans
    assert "ETIMEDOUT (3): the storage did not answer" in errors and "1 other" in errors
    only = next_steps.steps({**CLEAN, "orphans": 1})
    assert len(only) == 1 and only[0].startswith("1 orphan files")
    html = next_steps.html(s)
    assert "<code>inspector restore --from /path/to/backup/data/attachments</code>" in html
    assert html.count("<li>") == 4


def test_the_step_fits_the_storage():
    s3 = next_steps.steps({**CLEAN, "attachments_root": "s3://jira/attachments", "missing": 1, "permissions": 1})
    assert "--from s3://BACKUP-BUCKET/attachments" in s3[0] and "s3:GetObject" in s3[1]
    cloud = next_steps.steps({**CLEAN, "attachments_root": "https://acme.atlassian.net", "missing": 2})
    assert len(cloud) == 1 and "Atlassian keeps the files" in cloud[0] and "inspector restore" not in cloud[0]
