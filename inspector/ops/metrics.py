"""Prometheus text-format metrics in a file, for node_exporter's textfile collector.

Written atomically (temp file and rename, as the collector requires) when a pass starts,
at every progress interval, and when it ends, so an alert can fire on a stale
``jira_inspector_last_success_timestamp_seconds`` or on new missing attachments.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path

_HELP = {
    "running": ("gauge", "1 while a pass is running in this process, else 0."),
    "rows_checked": ("gauge", "Attachment rows checked in the current or last pass."),
    "rows_estimate": ("gauge", "Attachment rows in Jira's database (planner estimate)."),
    "attachments_flagged": ("gauge", "Attachments flagged in the last finished pass, by kind."),
    "orphan_files": ("gauge", "Files under the attachments root that no attachment owns (last finished pass)."),
    "orphan_bytes": ("gauge", "Bytes in orphan files (last finished pass)."),
    "pass_duration_seconds": ("gauge", "Wall-clock duration of the last finished pass."),
    "last_success_timestamp_seconds": ("gauge", "Unix time the last pass finished successfully."),
    "last_failure_timestamp_seconds": ("gauge", "Unix time a pass last stopped with an error."),
}


def render(values: dict) -> str:
    """Metric name (without prefix) -> number, or -> {label value: number} for kinds."""
    lines = []
    for name, value in values.items():
        kind, text = _HELP[name]
        full = f"jira_inspector_{name}"
        lines += [f"# HELP {full} {text}", f"# TYPE {full} {kind}"]
        if isinstance(value, dict):
            lines += [f'{full}{{kind="{label}"}} {number}' for label, number in value.items()]
        else:
            lines.append(f"{full} {value}")
    return "\n".join(lines) + "\n"


class Metrics:
    """Keeps the last values so every write is a complete file."""

    def __init__(self, path: Path | None):
        self.path = path
        self.values: dict = {}

    def update(self, **values) -> None:
        if self.path is None:
            return
        self.values.update(values)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(render(self.values))
            os.replace(tmp, self.path)
        except OSError:
            tmp.unlink(missing_ok=True)  # metrics must never fail a scan

    def finished(self, summary: dict) -> None:
        """A pass finished: its duration spans every run it took (resumes included)."""
        started = datetime.fromisoformat(summary["started_at"]).timestamp()
        self.update(
            running=0,
            rows_checked=summary["total_attachments"],
            attachments_flagged={k: summary[k] for k in ("missing", "permissions", "corrupted", "errors")},
            orphan_files=summary["orphans"],
            orphan_bytes=summary["orphan_bytes"],
            pass_duration_seconds=round(time.time() - started, 1),
            last_success_timestamp_seconds=int(time.time()),
        )
