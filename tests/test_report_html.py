"""report.html: self-contained, complete, safe with hostile names, and quick with long lists."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import orjson

from inspector.report.html import PAGE
from jiraworld import world

from .helpers import inspector_env, read_list, run_cli


class Page(HTMLParser):
    """Collects what the tests look at: external references, links, scripts, sections."""

    def __init__(self):
        super().__init__()
        self.external, self.links, self.ids, self.svgs, self.tables = [], [], set(), 0, 0
        self.scripts: dict[str, str] = {}
        self._script = None
        self.executable_scripts = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for name in ("src", "href"):
            value = a.get(name) or ""
            if tag in ("script", "link", "img", "iframe") and value:
                self.external.append(value)
        if tag == "a":
            self.links.append(a.get("href"))
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "svg":
            self.svgs += 1
        if tag == "table":
            self.tables += 1
        if tag == "script":
            if a.get("type") == "application/json":
                self._script = a["id"]
                self.scripts[self._script] = ""
            else:
                self.executable_scripts += 1

    def handle_data(self, data):
        if self._script:
            self.scripts[self._script] += data

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = None


def test_report_html_is_complete_self_contained_and_safe(jira, workdir):
    root = workdir / "attachments"
    spec = world.WorldSpec(attachments=3000, seed=41, fault_rate=0.1, hostile_rate=0.1)
    expected = world.build(jira.admin_dsn, root, spec)
    env = inspector_env(jira, root, workdir)
    assert run_cli(["run", "--hash"], env).returncode == 0
    text = (workdir / "report/report.html").read_text(encoding="utf-8")
    page = Page()
    page.feed(text)

    assert page.external == []  # no CDN, no external script, style or image
    assert not re.search(r"(?i)https?://(?!jira\.example\.com)", text.replace("http://www.w3.org/2000/svg", ""))
    assert page.executable_scripts == 1  # the pager, inline
    assert page.svgs >= 4  # problems, storage by project, by type, by year
    assert "<img src=x" not in text and "</script>.html" not in text  # the hostile filename stays text

    for key, expected_ids, txt in (
        ("missing", expected.missing, "missing.txt"), ("permissions", expected.permissions, "permissions.txt"),
        ("corrupted", expected.corrupted, "corrupted.txt"), ("errors", expected.errors, "errors.txt"),
    ):  # fmt: skip
        assert key in page.ids
        rows = orjson.loads(page.scripts[f"data-{key}"])
        assert len(rows) == len(expected_ids) == len(read_list(workdir / "report" / txt))
        assert {int(r[0][0].split("/secure/attachment/")[1].split("/")[0]) for r in rows} == expected_ids
    orphans = orjson.loads(page.scripts["data-orphans"])
    assert {r[0] for r in orphans} == expected.orphans
    copies = orjson.loads(page.scripts["data-duplicates"])
    assert len(copies) == sum(len(g) - 1 for g in expected.duplicate_groups) > 0
    # The "copy of" column names the original, by file name and issue key (it read "original").
    assert all(r[1][1] != "original" and re.fullmatch(r".+ \([A-Z]+-\d+\)", r[1][1]) for r in copies), copies[:3]
    # Rows whose issue or project is gone say so, in the page and in the lists.
    missing_rows = orjson.loads(page.scripts["data-missing"])
    projects = {r[2] for r in missing_rows}
    assert {"(issue deleted)", "(project deleted)"} <= projects and "?" not in projects
    listed = {fields[2] for fields in read_list(workdir / "report/missing.txt")}
    assert {"(issue deleted)", "(project deleted)"} <= listed and "?" not in listed
    assert all(r[1][1] != "?" for r in missing_rows)  # no issue key: "issue <id>"

    # a long list is paged: its first page is plain HTML, the rest waits in the JSON
    assert len(expected.missing) > PAGE
    section = text[text.index('<details id="missing"') : text.index("</details>", text.index('<details id="missing"'))]
    assert section.count("<tr>") == PAGE + 1 and "next &rarr;" in section
    # every attachment link in the page points at Jira
    assert page.links and all(link.startswith("https://jira.example.com") for link in page.links)
    summary = orjson.loads((workdir / "report/summary.json").read_bytes())
    assert f"<b>{summary['total_attachments']:,}</b>attachments" in text
    assert "Quick wins" in text and summary["duplicate_groups"] > 0

    # The lists are written as they are fetched, a chunk at a time: chunk boundaries must not
    # show in the page (a rebuild fetching 7 rows at a time gives the same bytes).
    from inspector.report import build as report
    from inspector.report.limits import Limits

    report.build(workdir / "state.sqlite", workdir / "rebuilt", limits=Limits(list_chunk=7))
    assert (workdir / "rebuilt/report.html").read_text(encoding="utf-8") == text

    # A list longer than the page may hold is cut at its first rows, in the list's order, and
    # the page names the .txt list that has them all.
    report.build(workdir / "state.sqlite", workdir / "cut", limits=Limits(list_max_rows=PAGE + 13))
    cut = Page()
    cut_text = (workdir / "cut/report.html").read_text(encoding="utf-8")
    cut.feed(cut_text)
    assert orjson.loads(cut.scripts["data-missing"]) == orjson.loads(page.scripts["data-missing"])[: PAGE + 13]
    assert f"the first {PAGE + 13:,} of {len(expected.missing):,} rows; missing.txt lists them all" in cut_text
    assert orjson.loads(cut.scripts["data-orphans"]) == orjson.loads(page.scripts["data-orphans"])  # short: whole
    assert "lists them all" not in text
