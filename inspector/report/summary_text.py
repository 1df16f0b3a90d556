"""summary.txt: the pass's headline for people (and for the notifications and the terminal).

What was scanned and for whom, the counts, the storage headline, what the counts leave open
(a shard, a merge, an unfinished walk, duplicates not searched), where the files are, and
what to do next.
"""

from __future__ import annotations

from pathlib import Path

from . import next_steps
from .html import human_bytes, where_stored


def _root_line(s: dict) -> str:
    """What was scanned, and for whom: an account on a file system; a bucket has no uid, Cloud none."""
    root = str(s["attachments_root"])
    if root.startswith(("https://", "http://")):
        return f"  site    {root} (Jira Cloud, read over REST)"
    if root.startswith("s3://"):
        return f"  bucket  {root} (read with the AWS SDK's credentials; no owners or modes in a bucket)"
    return f"  root    {root} (evaluated for uid {s['jira_uid']}, gids {','.join(map(str, s['jira_gids']))})"


def text(s: dict, report_dir: Path | None = None) -> str:
    state = "finished" if s["status"] == "finished" else f"{s['status']} (partial results)"
    lines = [
        f"Jira attachment inspection, pass {s['pass_id']}: {state}",
        f"  started {s['started_at']}, finished {s['finished_at'] or '-'}",
        _root_line(s),
        "",
        f"  attachments checked   {s['total_attachments']:>10}  ({human_bytes(s['total_bytes'])})",
        f"  missing               {s['missing']:>10}",
        f"  permissions           {s['permissions']:>10}",
        f"  corrupted             {s['corrupted']:>10}",
        f"  errors                {s['errors']:>10}",
        f"  issues with problems  {s['issues_with_problems']:>10}",
        f"  orphan files          {s['orphans']:>10}  ({human_bytes(s['orphan_bytes'])})"
        + ("  candidates: report --merge decides" if s.get("shard_count", 1) > 1 else ""),
        "",
        f"  storage: {human_bytes(s['disk_bytes'])} {where_stored(s)}, "
        f"{human_bytes(s['duplicate_bytes'])} in duplicate copies ({s['duplicate_copies']} copies in "
        f"{s['duplicate_groups']} groups), "
        f"{human_bytes(s['orphan_bytes'])} in orphans",
    ]
    if s.get("merged_shards"):
        said = (f"one run, INSPECTOR_RUN_ID {s['run_id']}" if s.get("run_id") else "the shards carry no "
                "INSPECTOR_RUN_ID: that they are one run could not be checked (they finished within a day of "
                "each other)")  # fmt: skip
        lines.insert(4, f"  merged  {s['merged_shards']} shards; {said}")
    if s.get("shard_count", 1) > 1:
        lines.insert(4, f"  shard   {s['shard_index']} of {s['shard_count']} (shards 0-{s['shard_count'] - 1}): this "
                        "share of the instance only; its orphans include files other shards own, and are unsized "
                        "until `inspector report --merge` joins the shards")  # fmt: skip
    if not s["hashed_files"]:
        lines.append("  duplicates not searched: run with --hash (INSPECTOR_HASH=1) to find them")
    if s["unlistable_folders"]:
        lines.append(f"  folders not listable  {s['unlistable_folders']:>10}  (orphans there are unknown)")
    if not s["orphan_walk_complete"]:
        lines.append("  orphan walk not finished: the orphan count is partial")
    if report_dir is not None:
        lines += [
            "",
            f"  lists: {report_dir}/{{missing,permissions,corrupted,errors,orphans,duplicates}}.txt",
            f"  report: {report_dir}/report.html",
        ]
    if s.get("shard_count", 1) == 1:  # (a shard's findings are the merge's to act on)
        lines += next_steps.text(s, report_dir)
    return "\n".join(lines) + "\n"
