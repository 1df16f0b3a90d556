"""The plan a restore writes into the report folder: ``restore-plan.txt`` (a line per
attachment: what the backup has and what was or would be done) and ``restore-permissions.sh``
(the chown and chmod lines for files only Jira's account cannot read, mode 0600 to be read
first). Each is replaced whole or not at all."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from ..config.config import Config
from ..errors import ReportError
from ..storage import scheme
from . import plan
from .candidates import Options

PLAN_FILE, PERMISSIONS_FILE = "restore-plan.txt", "restore-permissions.sh"


def write_text(target: Path, lines: list[str], mode: int | None = None) -> None:
    """A file of the report folder, replaced whole or not at all."""
    tmp = target.with_name(target.name + ".tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        raise ReportError(f"cannot write {target}: {exc.strerror}") from None


def write_plan(report_dir: Path, lines: list[str], summary: list[str]) -> None:
    header = ["# " + line for line in summary] + ["# status\tlink\tissue\tpath\tbackup path\tdetail"]
    write_text(report_dir / PLAN_FILE, header + lines)


def write_permissions(config: Config, root: str, rows: list[plan.Candidate]) -> None:
    if scheme(root):  # objects have no owner or mode: a permissions finding there is a denied read
        lines = ["#!/bin/sh", f"# {root} is object storage: its permissions findings are reads the scan's "
                 "credentials were denied; grant s3:GetObject on those keys (nothing to run here)."]  # fmt: skip
        write_text(config.report_dir / PERMISSIONS_FILE, lines, 0o600)
        return
    lines = plan.permission_commands(
        rows, root, config.identity.uid, config.jira_gid, config.restore_file_mode, config.restore_dir_mode
    )
    # Mode 0600: for the admin to read first; not executable, not for everyone.
    write_text(config.report_dir / PERMISSIONS_FILE, list(lines), 0o600)


def plan_only(config: Config, options: Options, copies: list, found: dict[int, plan.Found]) -> dict[str, int]:
    counts = Counter(f.verdict for f in found.values())
    lines = [plan.plan_line(c, found[c.id].verdict, found[c.id].backup_path, found[c.id].reason) for c in copies]
    summary = plan.summary_lines(dict(counts), options.source, applied=False)
    write_plan(config.report_dir, lines, summary)
    return dict(counts)
