"""report.html in a real browser (Debian's headless Chromium): it loads from disk with no
network, a list pages through its rows (by the address of a page, as an admin pastes it into
a ticket), the links are right, and the summary tiles keep one row at common widths.

Skipped, with the reason, where Chromium is missing; `.ci/run` installs it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import orjson
import pytest

from jiraworld import world

from .helpers import inspector_env, read_list, run_cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                                reason="Chromium is not installed (Debian: apt-get install chromium)")  # fmt: skip
# No network at all: every host resolves nowhere, and Chromium's own background traffic is off.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=5000"]  # fmt: skip


def _dom(url: str, profile, *extra: str) -> str:
    assert CHROMIUM is not None, "CI runs this test: .ci/run installs Chromium"
    result = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *extra, "--dump-dom", url],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.fixture
def report(jira, workdir):
    root = workdir / "attachments"
    expected = world.build(jira.admin_dsn, root, world.WorldSpec(attachments=6000, seed=21, fault_rate=0.1))
    assert run_cli(["--hash"], inspector_env(jira, root, workdir)).returncode == 0
    return workdir / "report", expected


def test_the_page_pages_through_a_list_and_links_to_jira(report, workdir):
    report_dir, _ = report
    missing = read_list(report_dir / "missing.txt")
    assert len(missing) > 200, "the list must have a second page"
    page2 = _dom(f"file://{report_dir}/report.html#missing:2", workdir / "profile")
    box = page2[page2.index('<details id="missing"') : page2.index("</details>", page2.index('<details id="missing"'))]
    assert box.startswith('<details id="missing" data-list="missing" open')  # opened by the address
    assert f"rows 201-{min(400, len(missing))} of {len(missing)}" in box
    links = re.findall(r'<a href="([^"]+)">', box.split("<tbody>", 1)[1])
    ids = {int(link.split("/secure/attachment/")[1].split("/")[0]) for link in links if "/secure/attachment/" in link}
    # the page's rows are the second 200 of missing.txt, in its order, linked to Jira
    assert [int(f[0].split("/secure/attachment/")[1].split("/")[0]) for f in missing[200:400]] == sorted(
        ids, key=[int(f[0].split("/secure/attachment/")[1].split("/")[0]) for f in missing].index
    )
    assert all(link.startswith("https://jira.example.com/") for link in links)
    summary = orjson.loads((report_dir / "summary.json").read_bytes())
    assert f"<b>{summary['total_attachments']:,}</b>attachments" in page2


def test_the_summary_tiles_keep_one_row_at_common_widths(report, workdir):
    report_dir, _ = report
    # A page beside the report reads its layout (files may read files with this flag only).
    probe = workdir / "layout.html"
    probe.write_text(f"""<!DOCTYPE html><body><div id="out">pending</div>
<iframe id="f" src="file://{report_dir}/report.html" style="width:100%;height:900px;border:0"></iframe>
<script>document.getElementById('f').onload = () => {{
  const cards = [...document.getElementById('f').contentDocument.querySelectorAll('.card')];
  document.getElementById('out').textContent = 'rows=' + new Set(cards.map(c => c.offsetTop)).size +
    ' cards=' + cards.length; }};</script></body>""")
    for width in (1280, 1400, 1920):
        dom = _dom(f"file://{probe}", workdir / f"profile-{width}", "--allow-file-access-from-files",
                   f"--window-size={width},1000")  # fmt: skip
        assert '<div id="out">rows=1 cards=8</div>' in dom, (width, dom[:300])
