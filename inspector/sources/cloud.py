"""Jira Cloud as a source: issues with attachments read over REST, in partitions read at once.

A Cloud site has no database to page by id. The scan lists the projects the account may
browse (``/rest/api/3/project/search`` with their issue counts), gives each project a
partition, and splits a big one further into ranges of issue numbers, so that
``INSPECTOR_JIRA_STREAMS`` page streams (``POST /rest/api/3/search/jql``, ``nextPageToken``)
share the work evenly under one request budget (``cloudapi.Budget``). Each partition's
progress is the last issue number stored: a killed scan continues every partition there.

The JQL is built only from ``project = "K"``, ``attachments IS NOT EMPTY``, ``key > "K-n"``, the
user's ``INSPECTOR_JIRA_JQL`` in parentheses, joined with ``AND``, ``ORDER BY key ASC``: nothing
that depends on a site's own fields. A partition's upper end is not in its JQL (only ``>`` is
used): its stream stops at the first issue past it, at most one page late.

Every attachment becomes a plain row with the meaning of a Data Center row (``model.py``);
what only Cloud has (status, status category, issue type, last update, the author's account
id) travels beside it as facts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, NamedTuple

from ..errors import DatabaseError
from ..jira.model import AttachmentRow
from .cloudapi import CloudApi, CloudAuthError

# Only what the scan uses: a site fills a page with more issues the fewer fields are asked for.
# (No summary: a Cloud report links issues by key.)
FIELDS = ["attachment", "project", "status", "issuetype", "created", "updated"]
# Asked for; a site returns what it likes, more the fewer fields are asked for (5,000 at most
# for ids only; with ours, typically 100 or more): never assumed.
PAGE = 1000
_SEARCH = "/rest/api/3/search/jql"


class Partition(NamedTuple):
    """Issues of ``project`` numbered above ``after`` and up to ``stop`` (None: no end)."""

    name: str
    project: str
    after: int
    stop: int | None


class IssueFacts(NamedTuple):
    issue_id: int
    status: str | None
    status_category: str | None  # new | indeterminate | done
    issue_type: str | None
    updated: int | None  # unix seconds


class Page(NamedTuple):
    rows: list[tuple]
    facts: list[IssueFacts]
    authors: list[tuple[int, str]]  # (attachment id, account id)
    last: int  # issue number of the last issue taken (the partition's cursor)


def plan(projects: list[tuple[str, int]], streams: int) -> list[Partition]:
    """Partitions of about equal size: one per project, a big project (more issues than an
    equal share of ``streams``) split by issue number. The last range of a project is open, so
    issues numbered above its count (deleted ones leave gaps) are read too."""
    total = sum(count for _, count in projects)
    share = max(1, math.ceil(total / max(1, streams)))
    out = []
    for key, count in sorted(projects, key=lambda p: (-p[1], p[0])):
        pieces = max(1, min(streams, math.ceil(count / share)))
        edges = [count * i // pieces for i in range(pieces + 1)]
        for i in range(pieces):
            out.append(Partition(f"{key}#{i}", key, edges[i], edges[i + 1] if i < pieces - 1 else None))
    return out


def jql(partition: Partition, after: int, user_jql: str | None) -> str:
    clauses = [f'project = "{partition.project}"', "attachments IS NOT EMPTY"]
    if after > 0:
        clauses.append(f'key > "{partition.project}-{after}"')
    if user_jql:
        clauses.append(f"({user_jql})")
    return " AND ".join(clauses) + " ORDER BY key ASC"


def unix(text: str | None) -> int | None:
    """Jira's ``2024-01-31T10:00:00.000+0000`` as unix seconds."""
    if not text:
        return None
    try:
        return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp())
    except ValueError:
        try:
            return int(datetime.fromisoformat(text).timestamp())
        except ValueError:
            return None


def issue_number(key: str) -> int:
    return int(key.rsplit("-", 1)[1])


def rows_of(issue: dict) -> tuple[list[tuple], IssueFacts, list[tuple[int, str]]]:
    """The attachment rows of one issue of a search page, its facts, and authors' account ids."""
    f = issue.get("fields") or {}
    project = f.get("project") or {}
    status = f.get("status") or {}
    category = status.get("statusCategory") or {}
    issue_id, num = int(issue["id"]), issue_number(issue["key"])
    rows, authors = [], []
    for a in f.get("attachment") or []:
        author = a.get("author") or {}  # absent for deleted or anonymous users
        rows.append(tuple(AttachmentRow(
            int(a["id"]), issue_id, True, num, int(project["id"]) if project.get("id") else None,
            project.get("key"), project.get("key"), project.get("name"), f.get("summary"), a.get("filename"),
            a.get("size"), a.get("mimeType"), author.get("displayName") or author.get("accountId"),
            unix(a.get("created")),
        )))  # fmt: skip
        if author.get("accountId"):
            authors.append((int(a["id"]), author["accountId"]))
    facts = IssueFacts(issue_id, status.get("name"), category.get("key"), (f.get("issuetype") or {}).get("name"),
                       unix(f.get("updated")))  # fmt: skip
    return rows, facts, authors


def pages(
    api: CloudApi, partition: Partition, after: int, user_jql: str | None, stop: Callable[[], bool] | None = None
) -> Iterator[Page]:
    """The partition's issues after issue number ``after``, a search page at a time. Ends when
    a page says ``isLast`` or has no ``nextPageToken`` (both happen), or past ``partition.stop``."""
    token = None
    query = jql(partition, after, user_jql)
    while stop is None or not stop():
        body: dict[str, Any] = {"jql": query, "fields": FIELDS, "maxResults": PAGE}
        if token:
            body["nextPageToken"] = token
        found = api.json("POST", _SEARCH, body)
        rows: list[tuple] = []
        facts, authors = [], []
        last, beyond = after, False
        for issue in found.get("issues") or []:
            num = issue_number(issue["key"])
            if partition.stop is not None and num > partition.stop:
                beyond = True
                break
            issue_rows, issue_facts, issue_authors = rows_of(issue)
            rows += issue_rows
            facts.append(issue_facts)
            authors += issue_authors
            last = after = num
        yield Page(rows, facts, authors, last)
        token = found.get("nextPageToken")
        if beyond or found.get("isLast") or not token:
            return


def projects(api: CloudApi) -> list[tuple[str, int]]:
    """(key, issue count) of every project the account may browse."""
    out, start = [], 0
    while True:
        page = api.json("GET", f"/rest/api/3/project/search?startAt={start}&maxResults=50&expand=insight")
        values = page.get("values") or []
        out += [(p["key"], int((p.get("insight") or {}).get("totalIssueCount") or 0)) for p in values]
        start += len(values)
        # isLast may be missing (its documented default is false): then a nextPage, or a total
        # not yet reached, says there is more.
        last = page.get("isLast")
        if last is None:
            total = page.get("total")
            last = not page.get("nextPage") and (total is None or start >= int(total))
        if last or not values:
            return out


def estimate(api: CloudApi, user_jql: str | None) -> int:
    """Issues with attachments (Jira's approximate count), for progress."""
    base = "attachments IS NOT EMPTY" + (f" AND ({user_jql})" if user_jql else "")
    try:
        return int(api.json("POST", "/rest/api/3/search/approximate-count", {"jql": base}).get("count") or 0)
    except CloudAuthError:
        raise
    except DatabaseError:  # an estimate is for the progress line only
        return 0


class CloudSource:
    """The Source seam's view of a Cloud site: what it is and how big. Its rows are read by
    partitions (``pages``), in the Cloud reader stage, not by id range."""

    def __init__(self, config: Any):
        self.config = config
        self.api = open_api(config)

    def describe(self) -> str:
        return str(self.config.jira_cloud_url)

    def estimate(self) -> int:
        return estimate(self.api, self.config.jira_jql)

    def rows(self, after: int, until: int, batch_size: int) -> Iterator[list[tuple]]:
        raise NotImplementedError("a Cloud site is read by partitions (stages/cloudreader.py)")

    def partitions(self) -> list[Partition]:
        """The pass's partitions. Shards (INSPECTOR_SHARDS) take whole projects: a split
        depends on issue counts, which pods starting apart could read differently."""
        streams = 1 if self.config.shards > 1 else self.config.jira_streams
        return plan(projects(self.api), streams)

    def retried(self) -> int:
        return self.api.retried

    def close(self) -> None:
        pass


def open_api(config: Any) -> CloudApi:
    return CloudApi(config.jira_cloud_url, config.jira_email, config.jira_api_token,
                    config.jira_max_requests_per_second, retry_timeout=config.retry_timeout)  # fmt: skip
