"""A fake Jira Cloud site for tests and benchmarks: the REST endpoints the inspector uses, in
the JSON shapes Atlassian documents, with the quirks real sites have.

- ``POST /rest/api/3/search/jql``: ``{jql, fields, maxResults, nextPageToken}`` (any other key
  is refused with 400 "Invalid request payload", as the real endpoint does with ``startAt``);
  pages of ``issues`` that may be smaller than ``maxResults`` asked for (JRACLOUD-92183); the
  last page has ``isLast: true`` and, as on real sites, sometimes no ``nextPageToken`` key at all
  and sometimes no ``isLast`` either (JRACLOUD-92184).
- ``GET /rest/api/3/project/search`` (``startAt``/``maxResults`` pages of projects, with
  ``expand=insight``'s ``totalIssueCount``; with ``projects_without_is_last`` no ``isLast``),
  ``POST /rest/api/3/search/approximate-count``.
- ``GET /rest/api/3/attachment/content/{id}``: ``303 See Other`` to a media host (another host
  name: ``localhost`` where the site is ``127.0.0.1``), which serves the bytes with ranges
  (``416`` with ``bytes */0`` for a range of an empty file, as RFC 9110 has it) and records any
  ``Authorization`` header it was sent (it must never get the site's credentials). ``HEAD``
  answers as ``GET`` without a body on both hosts (JAX-RS serves HEAD for every GET resource).
  Content can be lost two ways: the site knows (its ``404``), or only the media host does
  (``media_lost``: the site still redirects, the host answers ``404``).
- Basic authentication with an email and API token (401 otherwise); a project the account may
  not browse is left out of searches, as Jira does.
- Faults: latency per search request, a requests-per-second limit answered with ``429`` and
  ``Retry-After``, a ``500`` every n-th request, a connection dropped every m-th.

The JQL it understands is what the inspector sends (``project = K``, ``attachments IS NOT
EMPTY``, ``id > n``, ``key > K-n``, a parenthesized user clause of ``project = K``,
``project in (K, L)`` or ``statusCategory = Done``/``!=``, joined by ``AND``; ``ORDER BY id``
or ``key`` ``ASC``); anything else is a 400 with Jira's error shape.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import random
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import orjson

STATUSES = (  # name, category key, category name
    ("To Do", "new", "To Do"), ("In Progress", "indeterminate", "In Progress"), ("Done", "done", "Done"),
)  # fmt: skip
PAYLOAD_KEYS = {
    "jql",
    "fields",
    "maxResults",
    "nextPageToken",
    "expand",
    "properties",
    "fieldsByKeys",
    "reconcileIssues",
}


@dataclass
class Attachment:
    id: int
    issue_id: int
    filename: str
    size: int
    mime: str
    created: datetime
    author: dict | None
    content: bytes | None  # None: the media host answers 404 (lost)


@dataclass
class Issue:
    id: int
    key: str
    project: dict
    summary: str
    status: tuple[str, str, str]
    created: datetime
    updated: datetime
    attachments: list[Attachment] = field(default_factory=list)

    @property
    def num(self) -> int:
        return int(self.key.rsplit("-", 1)[1])


@dataclass
class Site:
    """The site's data, built from a seed; ``content(a)`` is an attachment's bytes."""

    projects: list[dict]
    issues: list[Issue]
    hidden: set[str] = field(default_factory=set)  # project keys the account may not browse

    @property
    def attachments(self) -> list[Attachment]:
        return [a for issue in self.issues for a in issue.attachments]


def build_site(
    issues: int = 200, projects: int = 4, attachments_per_issue: float = 2.0, seed: int = 3,
    duplicate_rate: float = 0.1, lost_rate: float = 0.0, big_project_share: float = 0.5,
    per_issue: int | None = None,
) -> Site:  # fmt: skip
    """A site whose first project holds ``big_project_share`` of the issues (one big project
    to split); ids are increasing but not dense, as on real sites."""
    rng = random.Random(seed)
    keys = (["BIG", "OPS", "WEB", "HR", "FIN", "LEGAL", "MKT", "SALES"] + [f"PRJ{i}" for i in range(8, projects)])[
        :projects
    ]
    plist = [{"id": str(10_000 + i), "key": k, "name": f"Project {k}"} for i, k in enumerate(keys)]
    counters = dict.fromkeys(keys, 0)
    out: list[Issue] = []
    issue_id, att_id = 10_000, 50_000
    epoch = datetime(2016, 1, 1, tzinfo=UTC)
    authors = [{"accountId": f"5b10a2844c20165700ede{n:03d}", "displayName": f"User {n}"} for n in range(12)]
    uploads: list[tuple[bytes, str]] = []
    for n in range(issues):
        issue_id += rng.choice((1, 1, 2, 7))
        project = plist[0] if rng.random() < big_project_share or len(plist) == 1 else rng.choice(plist[1:])
        counters[project["key"]] += rng.choice((1, 1, 1, 2))
        created = epoch + timedelta(days=n * 3000 / max(1, issues), hours=rng.randrange(24))
        updated = created + timedelta(days=rng.randrange(0, 900))
        key = f"{project['key']}-{counters[project['key']]}"
        issue = Issue(issue_id, key, project, f"Issue {n} of {project['key']}", rng.choice(STATUSES), created, updated)
        count = per_issue if per_issue is not None else rng.choice((0, 1, 2, 2, 3)) if attachments_per_issue else 0
        for _ in range(count):
            att_id += rng.choice((1, 1, 3))
            copy = bool(uploads) and rng.random() < duplicate_rate
            if copy:
                data, name = rng.choice(uploads)
            elif uploads and rng.random() < duplicate_rate:
                # A look-alike: an earlier upload's name and size, other bytes (not a duplicate).
                old, name = rng.choice(uploads)
                data = bytes(b ^ 0x5A for b in old[:1]) + old[1:]
                uploads.append((data, name))
            else:
                data = b"attachment %d " % att_id + bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))
                name = f"file-{att_id}.{rng.choice(('png', 'pdf', 'txt', 'log'))}"
                uploads.append((data, name))
            author = None if rng.random() < 0.05 else rng.choice(authors)  # deleted or anonymous users
            # Lost content only on copies: their size is shared, so a --hash pass reads them.
            lost = copy and rng.random() < lost_rate
            issue.attachments.append(
                Attachment(att_id, issue_id, name, len(data), "application/octet-stream",
                           created + timedelta(minutes=5), author, None if lost else data)
            )  # fmt: skip
        out.append(issue)
    return Site(plist, out)


def _issue_json(site_url: str, issue: Issue, fields: list[str]) -> dict:
    if any(name.startswith("*") for name in fields):  # *navigable, *all: every field we model
        fields = ["attachment", "project", "status", "issuetype", "created", "updated", "summary"]
    f: dict = {}
    if "attachment" in fields:
        f["attachment"] = [
            {"self": f"{site_url}/rest/api/3/attachment/{a.id}", "id": str(a.id), "filename": a.filename,
             **({"author": {"self": f"{site_url}/rest/api/3/user?accountId={a.author['accountId']}",
                            "accountId": a.author["accountId"], "displayName": a.author["displayName"],
                            "active": True, "accountType": "atlassian"}} if a.author else {}),
             "created": _jira_time(a.created), "size": a.size, "mimeType": a.mime,
             "content": f"{site_url}/rest/api/3/attachment/content/{a.id}",
             "thumbnail": f"{site_url}/rest/api/3/attachment/thumbnail/{a.id}"}
            for a in issue.attachments
        ]  # fmt: skip
    if "project" in fields:
        p = issue.project
        f["project"] = {"self": f"{site_url}/rest/api/3/project/{p['id']}", "id": p["id"], "key": p["key"],
                        "name": p["name"], "projectTypeKey": "software", "simplified": False}  # fmt: skip
    if "status" in fields:
        name, cat, cat_name = issue.status
        f["status"] = {"name": name, "id": str(STATUSES.index(issue.status) + 1),
                       "statusCategory": {"id": {"new": 2, "indeterminate": 4, "done": 3}[cat], "key": cat,
                                          "colorName": "green", "name": cat_name}}  # fmt: skip
    if "issuetype" in fields:
        f["issuetype"] = {"id": "10001", "name": "Task", "subtask": False}
    for name, value in (("created", issue.created), ("updated", issue.updated)):
        if name in fields:
            f[name] = _jira_time(value)
    if "summary" in fields:
        f["summary"] = issue.summary
    return {"expand": "", "id": str(issue.id), "self": f"{site_url}/rest/api/3/issue/{issue.id}", "key": issue.key,
            "fields": f}  # fmt: skip


def _jira_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


class JqlError(ValueError):
    pass


_CLAUSE = re.compile(r"""\s*(?:
    project\s*=\s*"?(?P<project>[A-Z][A-Z0-9_]*)"?
  | project\s+in\s*\((?P<projects>[^)]*)\)
  | attachments\s+IS\s+NOT\s+EMPTY(?P<att>)
  | id\s*>\s*(?P<id>\d+)
  | key\s*>\s*"?(?P<key>[A-Z][A-Z0-9_]*-\d+)"?
  | statusCategory\s*(?P<catop>=|!=)\s*"?(?P<cat>[A-Za-z ]+?)"?(?=\s*(?:\)|AND\b|ORDER\b|$))
)\s*""", re.X | re.I)  # fmt: skip


def parse_jql(jql: str):
    """(predicate over Issue, order key) for the JQL the fake understands."""
    text = jql.strip()
    order = "id"
    m = re.search(r"\s+ORDER\s+BY\s+(id|key)\s+ASC\s*$", text, re.I)
    if m:
        order, text = m[1].lower(), text[: m.start()]
    preds = []
    for part in _split_and(text):
        part = part.strip()
        if part.startswith("(") and part.endswith(")"):
            inner, _ = parse_jql(part[1:-1])
            preds.append(inner)
            continue
        c = _CLAUSE.fullmatch(part)
        if not c:
            raise JqlError(f"Error in the JQL Query: '{part}' is not understood")
        if c["project"]:
            project = c["project"].upper()
            preds.append(lambda i, k=project: i.project["key"] == k)
        elif c["projects"] is not None:
            wanted = {p.strip().strip('"').upper() for p in c["projects"].split(",")}
            preds.append(lambda i, w=wanted: i.project["key"] in w)
        elif c["att"] is not None:
            preds.append(lambda i: bool(i.attachments))
        elif c["id"]:
            preds.append(lambda i, n=int(c["id"]): i.id > n)
        elif c["key"]:
            kp, kn = c["key"].upper().rsplit("-", 1)
            preds.append(lambda i, kp=kp, kn=int(kn): (i.project["key"], i.num) > (kp, kn))
        else:
            cat = c["cat"].strip().lower().replace(" ", "")
            keys = {"todo": "new", "inprogress": "indeterminate", "done": "done"}
            if cat not in keys:
                raise JqlError(f"The value '{c['cat']}' does not exist for the field 'statusCategory'.")
            want = keys[cat]
            preds.append((lambda i, w=want: i.status[1] == w) if c["catop"] == "=" else
                         (lambda i, w=want: i.status[1] != w))  # fmt: skip
    return (lambda issue: all(p(issue) for p in preds)), order


def _split_and(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and text[i : i + 5].upper() == " AND ":
            parts.append(text[start:i])
            start = i + 5
    parts.append(text[start:])
    return [p for p in parts if p.strip()]


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return  # a client that read the headers it wanted and hung up (a range a host ignored)
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class JiraCloud:
    """The fake site on 127.0.0.1 and its media host on ``localhost``; start() / stop()."""

    def __init__(self, site: Site, email: str = "admin@example.com", token: str = "cloud-token-secret",
                 latency: float = 0.0, max_rps: float = 0.0, page_limit: int = 5000, fail_every: int = 0,
                 drop_every: int = 0, seed: int = 5, projects_without_is_last: bool = False):  # fmt: skip
        self.site, self.email, self.token = site, email, token
        # Project pages with no isLast at all (the documented default is false; pages of some
        # sites and proxies leave it out): the next page is only in nextPage and the counts.
        self.projects_without_is_last = projects_without_is_last
        self.throttle_always = False  # every request answered 429 (an account throttled for good)
        self.media_ignores_range = False  # the media host answers 200 with the whole body to a Range
        self.media_lost: set[int] = set()  # ids the site still redirects for, whose bytes the host lost
        self.media_denied: set[int] = set()  # ids whose media token the host refuses (403)
        self.latency, self.max_rps, self.page_limit = latency, max_rps, page_limit
        self.fail_every, self.drop_every = fail_every, drop_every
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.counts: collections.Counter[str] = collections.Counter()
        self.recent: collections.deque[float] = collections.deque()  # admitted request times, for the limit
        self.peak_rps = 0
        self.media_auth: list[str] = []  # Authorization headers the media host was sent (must stay empty)
        self.jqls: list[str] = []  # every search's JQL, in order
        self._servers: list[ThreadingHTTPServer] = []
        self.by_id = {a.id: a for a in site.attachments}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._servers[0].server_address[1]}"

    @property
    def media_url(self) -> str:
        return f"http://localhost:{self._servers[1].server_address[1]}"

    def start(self) -> JiraCloud:
        site, media = _handler(self), _media_handler(self)
        for handler, host in ((site, "127.0.0.1"), (media, "127.0.0.1")):
            server = _Server((host, 0), handler)
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self._servers.append(server)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()

    def __enter__(self) -> JiraCloud:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def admit(self) -> float | None:
        """None to serve the request, else the seconds a 429 tells the client to wait."""
        if self.throttle_always:
            with self.lock:
                self.counts["429"] += 1
            return 1.0
        if not self.max_rps:
            return None
        now = time.monotonic()
        with self.lock:
            while self.recent and self.recent[0] <= now - 1.0:
                self.recent.popleft()
            if len(self.recent) >= self.max_rps:
                self.counts["429"] += 1
                return max(0.05, 1.0 - (now - self.recent[0]))
            self.recent.append(now)
            self.peak_rps = max(self.peak_rps, len(self.recent))
        return None

    def token_for(self, jql: str, after: tuple) -> str:
        raw = orjson.dumps({"q": hashlib.sha1(jql.encode()).hexdigest()[:12], "after": list(after)})
        return base64.urlsafe_b64encode(raw).decode()


def _json(handler: BaseHTTPRequestHandler, status: int, body: object, headers: dict | None = None) -> None:
    data = orjson.dumps(body)
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json;charset=UTF-8")
    handler.send_header("Content-Length", str(len(data)))
    for k, v in (headers or {}).items():
        handler.send_header(k, v)
    handler.end_headers()
    handler.wfile.write(data)


def _handler(cloud: JiraCloud):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _gate(self, kind: str) -> bool:
            """Authentication, the rate limit and the injected faults; False when answered."""
            expected = "Basic " + base64.b64encode(f"{cloud.email}:{cloud.token}".encode()).decode()
            with cloud.lock:
                cloud.counts[kind] += 1
                n = sum(v for k, v in cloud.counts.items() if k in ("search", "projects", "count", "content",
                                                                     "content_head"))  # fmt: skip
            if self.headers.get("Authorization") != expected:
                _json(self, 401, {"errorMessages": ["Client must be authenticated to access this resource."],
                                  "errors": {}})  # fmt: skip
                return False
            wait = cloud.admit()
            if wait is not None:
                _json(self, 429, {"errorMessages": ["Rate limit exceeded."]},
                      {"Retry-After": str(max(1, round(wait))), "X-RateLimit-Limit": str(int(cloud.max_rps)),
                       "X-RateLimit-Remaining": "0", "RateLimit-Reason": "jira-burst-based"})  # fmt: skip
                return False
            if cloud.drop_every and n % cloud.drop_every == 0:
                cloud.counts["dropped"] += 1
                self.close_connection = True
                self.connection.close()  # no answer at all
                return False
            if cloud.fail_every and n % cloud.fail_every == 0:
                cloud.counts["500"] += 1
                _json(self, 500, {"errorMessages": ["Internal server error"], "errors": {}})
                return False
            return True

        def do_HEAD(self) -> None:
            if re.fullmatch(r"/rest/api/3/attachment/content/(\d+)", urlsplit(self.path).path):
                self.do_GET()  # a redirect or a 404, neither with a body that matters
            else:
                self.send_response(405)
                self.send_header("Content-Length", "0")
                self.end_headers()

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path == "/rest/api/3/project/search":
                if self._gate("projects"):
                    self._projects(parse_qs(parts.query))
            elif m := re.fullmatch(r"/rest/api/3/attachment/content/(\d+)", parts.path):
                if self._gate("content" if self.command == "GET" else "content_head"):
                    a = cloud.by_id.get(int(m[1]))
                    if a is None or a.content is None:
                        _json(self, 404, {"errorMessages": ["The attachment was not found."], "errors": {}})
                        return
                    self.send_response(303)
                    self.send_header("Location", f"{cloud.media_url}/file/{a.id}?token=media-{a.id}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
            else:
                _json(self, 404, {"errorMessages": ["Not found"], "errors": {}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            path = urlsplit(self.path).path
            if path == "/rest/api/3/search/jql":
                if self._gate("search"):
                    if cloud.latency:
                        time.sleep(cloud.latency)
                    self._search(raw)
            elif path == "/rest/api/3/search/approximate-count":
                if self._gate("count"):
                    predicate, _ = parse_jql(orjson.loads(raw)["jql"])
                    _json(self, 200, {"count": sum(1 for i in self._visible() if predicate(i))})
            else:
                _json(self, 404, {"errorMessages": ["Not found"], "errors": {}})

        def _visible(self) -> list[Issue]:
            return [i for i in cloud.site.issues if i.project["key"] not in cloud.site.hidden]

        def _projects(self, query: dict) -> None:
            start = int(query.get("startAt", ["0"])[0])
            size = min(int(query.get("maxResults", ["50"])[0]), 50)
            visible = [p for p in cloud.site.projects if p["key"] not in cloud.site.hidden]
            page = visible[start : start + size]
            counts = collections.Counter(i.project["key"] for i in cloud.site.issues)
            values = [{**p, "self": f"{cloud.url}/rest/api/3/project/{p['id']}", "projectTypeKey": "software",
                       "insight": {"totalIssueCount": counts[p["key"]],
                                   "lastIssueUpdateTime": "2026-01-01T00:00:00.000+0000"}} for p in page]  # fmt: skip
            last = start + len(page) >= len(visible)
            body = {"self": f"{cloud.url}{self.path}", "maxResults": size, "startAt": start, "total": len(visible),
                    "isLast": last, "values": values}  # fmt: skip
            if not last:
                body["nextPage"] = f"{cloud.url}/rest/api/3/project/search?startAt={start + size}&maxResults={size}"
            if cloud.projects_without_is_last:
                del body["isLast"]
            _json(self, 200, body)

        def _search(self, raw: bytes) -> None:
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError:
                body = None
            if not isinstance(body, dict) or set(body) - PAYLOAD_KEYS or "jql" not in body:
                _json(self, 400, {"errorMessages": ["Invalid request payload. Refer to the REST API documentation "
                                                    "and try again."]})  # fmt: skip
                return
            with cloud.lock:
                cloud.jqls.append(body["jql"])
            try:
                predicate, order = parse_jql(body["jql"])
            except JqlError as exc:
                _json(self, 400, {"errorMessages": [str(exc)], "warningMessages": []})
                return
            after: tuple | None = None
            if body.get("nextPageToken"):
                try:
                    after = tuple(orjson.loads(base64.urlsafe_b64decode(body["nextPageToken"]))["after"])
                except (ValueError, KeyError):
                    _json(self, 400, {"errorMessages": ["The nextPageToken is invalid."]})
                    return
            sort = (lambda i: (i.id,)) if order == "id" else (lambda i: (i.project["key"], i.num))
            matches = sorted((i for i in self._visible() if predicate(i)), key=sort)
            if after is not None:
                matches = [i for i in matches if sort(i) > after]
            # Real sites return fewer than asked for, by their own rules: the fewer fields asked
            # for, the more issues a page holds (Atlassian: "the greatest number of items returned
            # per page is achieved when requesting id or key only"; 5,000 at most). Modelled here
            # as 5,000 for id/key only, 1,000 / n for n named fields (at least 50), 50 for all
            # navigable fields; a site's own page_limit below that, and a little jitter.
            asked = int(body.get("maxResults") or 50)
            fields = body.get("fields") or ["*navigable"]
            if set(fields) <= {"id", "key"}:
                cap = 5000
            elif any(f.startswith("*") for f in fields):
                cap = 50
            else:
                cap = max(50, 1000 // len(fields))
            size = max(1, min(asked, cap, cloud.page_limit) - cloud.rng.randrange(0, 5))
            page, rest = matches[:size], matches[size:]
            out: dict[str, object] = {"issues": [_issue_json(cloud.url, i, fields) for i in page]}
            if rest:
                out["nextPageToken"] = cloud.token_for(body["jql"], sort(page[-1]))
                out["isLast"] = False
            else:
                quirk = cloud.rng.random()
                if quirk < 0.4:
                    out["isLast"] = True  # and no nextPageToken key at all (JRACLOUD-92184)
                elif quirk < 0.7:
                    out["nextPageToken"] = None
                    out["isLast"] = True
                # else: neither key: the token's absence alone says it was the last page
            _json(self, 200, out)

    return Handler


def _media_handler(cloud: JiraCloud):
    class Media(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            if self.headers.get("Authorization"):
                with cloud.lock:
                    cloud.media_auth.append(self.headers["Authorization"])
            m = re.fullmatch(r"/file/(\d+)", urlsplit(self.path).path)
            a = cloud.by_id.get(int(m[1])) if m else None
            if a is None or a.content is None or a.id in cloud.media_lost:
                _json(self, 404, {"error": "not found"})
                return
            if a.id in cloud.media_denied:
                _json(self, 403, {"error": "token expired"})
                return
            with cloud.lock:
                cloud.counts["media" if self.command == "GET" else "media_head"] += 1
            data, status, extra = a.content, 200, {}
            asked = "" if cloud.media_ignores_range else self.headers.get("Range") or ""
            if (rng := re.fullmatch(r"bytes=(\d+)-(\d*)", asked)) and int(rng[1]) >= len(data):
                data, status = b"", 416
                extra["Content-Range"] = f"bytes */{len(a.content)}"
            elif rng:
                start = int(rng[1])
                end = min(int(rng[2]) if rng[2] else len(data) - 1, len(data) - 1)
                data, status = data[start : end + 1], 206
                extra["Content-Range"] = f"bytes {start}-{end}/{len(a.content)}"
            self.send_response(status)
            self.send_header("Content-Type", a.mime)
            self.send_header("Content-Length", str(len(data)))
            for k, v in extra.items():
                self.send_header(k, v)
            self.end_headers()
            if self.command == "GET":
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client read what it wanted and hung up

    return Media
