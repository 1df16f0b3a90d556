"""Jira Cloud over REST, against a fake site that speaks the real wire format with its quirks
(jiraworld/jiracloud.py: short pages, last pages without a token, 429 with Retry-After, 500s,
dropped connections, content redirected to another host). The expectations are counted from
the fake's own data, independently of the inspector."""

from __future__ import annotations

import collections
import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from inspector.sources import cloud
from inspector.sources.cloudapi import Budget, CloudApi, retry_after_seconds
from jiraworld.jiracloud import JiraCloud, build_site

from .helpers import ids_in, run_cli


def _env(fake: JiraCloud, workdir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INSPECTOR_", "PG"))}
    env.update(
        INSPECTOR_JIRA_CLOUD_URL=fake.url, INSPECTOR_JIRA_EMAIL=fake.email, INSPECTOR_JIRA_API_TOKEN=fake.token,
        INSPECTOR_STATE_DB=str(workdir / "state.sqlite"), INSPECTOR_REPORT_DIR=str(workdir / "report"),
        INSPECTOR_CHECKERS="2",
    )  # fmt: skip
    env.update(extra)
    return env


def _storage(workdir: Path) -> dict:
    return orjson.loads((workdir / "report/storage.json").read_bytes())


def test_budget_paces_every_stream_and_backs_off_on_429():
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    budget = Budget(10, clock=lambda: now[0], sleep=sleep)
    sent = []
    for _ in range(21):
        budget.take()
        sent.append(now[0])
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert min(gaps) >= 1 / 10 - 1e-9  # evenly spaced, never closer than the rate allows
    assert all(sent[i + 10] - sent[i] >= 1.05 - 1e-9 for i in range(11))  # at most 10 in any rolling second
    assert 2.0 < sent[-1] < 2.2
    budget.throttled(3.0)
    assert budget.rate == 5
    budget.take()
    assert now[0] >= 5.0  # nobody asks before Retry-After has passed
    for _ in range(30):
        budget.answered()
    assert 5 < budget.rate <= 10  # climbs back, never above the configured rate
    assert retry_after_seconds("7") == 7 and retry_after_seconds(None, 1.5) == 1.5
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0  # a date in the past


def test_partitions_split_a_big_project_and_cover_every_issue_once():
    parts = cloud.plan([("BIG", 1000), ("A", 100), ("B", 0)], streams=4)
    big = [p for p in parts if p.project == "BIG"]
    # 1,100 issues over 4 streams: shares of 275; BIG takes four, its last open-ended
    assert [(p.after, p.stop) for p in big] == [(0, 250), (250, 500), (500, 750), (750, None)]
    assert [p.name for p in parts][:4] == ["BIG#0", "BIG#1", "BIG#2", "BIG#3"] and len(parts) == 6
    assert cloud.jql(big[1], 400, "status = Done") == (
        'project = "BIG" AND attachments IS NOT EMPTY AND key > "BIG-400" AND (status = Done) ORDER BY key ASC'
    )
    assert cloud.jql(big[0], 0, None) == 'project = "BIG" AND attachments IS NOT EMPTY ORDER BY key ASC'


def test_the_streams_read_every_attachment_once_through_every_quirk():
    site = build_site(issues=300, seed=11)
    with JiraCloud(site, max_rps=4, fail_every=5, drop_every=7, page_limit=17) as fake:
        api = CloudApi(fake.url, fake.email, fake.token, rate=40, sleep=lambda s: time.sleep(min(s, 0.2)))
        seen: list[int] = []
        for part in cloud.plan(cloud.projects(api), 3):
            for page in cloud.pages(api, part, part.after, None):
                seen += [row[0] for row in page.rows]
        assert sorted(seen) == sorted(a.id for a in site.attachments)  # every one, once
        assert fake.counts["429"] and fake.counts["500"] and fake.counts["dropped"]  # every fault happened


def test_a_scan_reports_the_sites_storage_exactly(workdir):
    site = build_site(issues=400, seed=5)
    with JiraCloud(site, max_rps=30, fail_every=23, drop_every=29, latency=0.02) as fake:
        # The image sets INSPECTOR_ATTACHMENTS_ROOT=/attachments: with a Cloud site it is ignored.
        env = _env(
            fake, workdir, INSPECTOR_JIRA_MAX_REQUESTS_PER_SECOND="12", INSPECTOR_ATTACHMENTS_ROOT="/attachments"
        )
        result = run_cli([], env)
        assert result.returncode == 0, result.stderr
        assert fake.peak_rps <= 13  # the budget held (the fake counts any rolling second)
    summary = orjson.loads((workdir / "report/summary.json").read_bytes())
    attachments = site.attachments
    assert summary["total_attachments"] == len(attachments)
    assert summary["disk_bytes"] == sum(a.size for a in attachments)
    assert summary["missing"] == summary["errors"] == summary["orphans"] == 0
    storage = _storage(workdir)
    by_project = collections.Counter()
    by_category: collections.Counter = collections.Counter()
    for issue in site.issues:
        for a in issue.attachments:
            by_project[issue.project["key"]] += a.size
            by_category[issue.status[1]] += a.size
    assert {p["project_key"]: p["bytes"] for p in storage["by_project"]} == dict(by_project)
    assert {c["status_category"]: c["bytes"] for c in storage["by_status_category"]} == dict(by_category)
    started = time.time()
    stale = collections.Counter()
    for issue in site.issues:
        years = min(3, int((started - issue.updated.timestamp()) // (365.25 * 86400)))
        stale[(issue.status[1], years)] += len(issue.attachments)
    got = {(s["status_category"], s["years_untouched"]): s["attachments"] for s in storage["by_staleness"]}
    assert got == {k: v for k, v in stale.items() if v}
    authors = {a.author["displayName"] for a in attachments if a.author}
    assert {a["author"] for a in storage["by_author"]} - {""} == authors  # deleted users: no author
    link = (workdir / "report/report.html").read_text()
    assert f"{fake.url}/secure/attachment/" in link and fake.token not in link
    assert "By status and age (Jira Cloud)" in link


def test_duplicates_by_content_exact_and_credentials_stay_on_the_site(workdir):
    site = build_site(issues=250, seed=8, duplicate_rate=0.15, lost_rate=0.3)
    with JiraCloud(site, fail_every=31) as fake:
        result = run_cli(["--hash"], _env(fake, workdir, INSPECTOR_JIRA_MAX_REQUESTS_PER_SECOND="200"))
        assert result.returncode == 0, result.stderr
        assert fake.media_auth == []  # the media host never saw the site's credentials
        assert fake.counts["media"] > 0
        first_pass_media = fake.counts["media"]
        again = run_cli(["--hash"], _env(fake, workdir, INSPECTOR_JIRA_MAX_REQUESTS_PER_SECOND="200"))
        assert again.returncode == 0, again.stderr
        assert fake.counts["media"] == first_pass_media  # kept by attachment id: nothing downloaded again
    lost = {a.id for a in site.attachments if a.content is None}
    groups: dict[bytes, set[int]] = collections.defaultdict(set)
    for a in site.attachments:
        if a.content:
            groups[a.content].add(a.id)
    expected = sorted(sorted(ids) for ids in groups.values() if len(ids) > 1)
    with sqlite3.connect(workdir / "state.sqlite") as conn:
        pass_id = conn.execute("SELECT max(pass_id) FROM passes").fetchone()[0]
    query = run_cli(["report", "--format", "json", "--sql",
                     "SELECT group_id, list(id ORDER BY id) AS ids FROM duplicates GROUP BY 1"],
                    _env(fake, workdir))  # fmt: skip
    assert query.returncode == 0, query.stderr
    found = sorted(row["ids"] for row in orjson.loads(query.stdout))
    assert found == expected and pass_id == 2
    assert lost and ids_in(workdir / "report/missing.txt") == lost  # content answering 404


@pytest.mark.slow
def test_a_killed_scan_continues_every_partition_after_its_last_issue(workdir):
    site = build_site(issues=600, seed=9)
    with JiraCloud(site, latency=0.25, page_limit=20) as fake:
        env = _env(fake, workdir, INSPECTOR_JIRA_STREAMS="3", INSPECTOR_JIRA_MAX_REQUESTS_PER_SECOND="50")
        proc = subprocess.Popen([sys.executable, "-m", "inspector"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)  # fmt: skip
        state = workdir / "state.sqlite"
        deadline = time.monotonic() + 60
        cursors: list[tuple] = []
        while time.monotonic() < deadline:
            time.sleep(0.2)
            try:
                with sqlite3.connect(state) as conn:
                    cursors = conn.execute(
                        "SELECT name, cursor_num FROM cloud_partitions WHERE cursor_num > 0"
                    ).fetchall()
            except sqlite3.Error:
                continue
            if len(cursors) >= 2:
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert len(cursors) >= 2, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
        with sqlite3.connect(state) as conn:
            kept = dict(conn.execute("SELECT name, cursor_num FROM cloud_partitions WHERE cursor_num > 0 AND NOT done"))
            assert conn.execute("SELECT status FROM passes").fetchone()[0] == "running"
        searches_before = len(fake.jqls)
        result = run_cli([], env, timeout=240)
        assert result.returncode == 0, result.stderr
        resumed = fake.jqls[searches_before:]
    for name, cursor in kept.items():
        key = name.split("#")[0]
        assert any(f'key > "{key}-{cursor}"' in q for q in resumed), (name, cursor)  # continued, not restarted
    with sqlite3.connect(state) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM results WHERE pass_id = 1")]
    assert sorted(ids) == sorted(a.id for a in site.attachments)


def test_every_bad_cloud_configuration_is_one_line(workdir):
    site = build_site(issues=20)
    with JiraCloud(site) as fake:
        base = _env(fake, workdir)
        cases = [
            (dict(base, INSPECTOR_DB_DSN="postgresql://x@db/jira"), 2, "INSPECTOR_DB_DSN: is not used with"),
            ({k: v for k, v in base.items() if k != "INSPECTOR_JIRA_EMAIL"}, 2, "INSPECTOR_JIRA_EMAIL: is required"),
            ({k: v for k, v in base.items() if k != "INSPECTOR_JIRA_API_TOKEN"}, 2,
             "INSPECTOR_JIRA_API_TOKEN: is required"),
            (dict(base, INSPECTOR_JIRA_CLOUD_URL="acme.atlassian.net"), 2, "INSPECTOR_JIRA_CLOUD_URL: must be"),
            (dict(base, INSPECTOR_JIRA_CLOUD_URL=fake.url + "/jira"), 2, "INSPECTOR_JIRA_CLOUD_URL: must be"),
            (dict(base, INSPECTOR_JIRA_MAX_REQUESTS_PER_SECOND="0"), 2, "INSPECTOR_JIRA_MAX_REQUESTS_PER_SECOND"),
            (dict(base, INSPECTOR_JIRA_API_TOKEN="wrong-token-value"), 3, "refused the credentials (HTTP 401"),
        ]  # fmt: skip
        for env, code, words in cases:
            result = run_cli([], env)
            errors = [line for line in result.stderr.splitlines() if line.startswith("inspector: error")]
            assert result.returncode == code and len(errors) == 1 and words in errors[0], (words, result.stderr)
            assert fake.token not in result.stderr and "wrong-token-value" not in result.stderr
        no_cloud = {k: v for k, v in base.items() if not k.startswith("INSPECTOR_JIRA_")}
        result = run_cli([], dict(no_cloud, INSPECTOR_DB_DSN="dbname=x", INSPECTOR_ATTACHMENTS_ROOT=fake.url))
        assert result.returncode == 2 and "set INSPECTOR_JIRA_CLOUD_URL instead" in result.stderr


def test_shards_split_a_cloud_site_by_project_and_merge_to_one_report(workdir):
    site = build_site(issues=300, projects=5, seed=13)
    with JiraCloud(site) as fake:
        single = run_cli([], _env(fake, workdir, INSPECTOR_REPORT_DIR=str(workdir / "single")))
        assert single.returncode == 0, single.stderr
        for i in range(2):
            env = _env(fake, workdir, INSPECTOR_SHARDS="2", JOB_COMPLETION_INDEX=str(i),
                       INSPECTOR_STATE_DB=str(workdir / f"shard-{i}.sqlite"),
                       INSPECTOR_REPORT_DIR=str(workdir / f"report-{i}"))  # fmt: skip
            shard = run_cli([], env)
            assert shard.returncode == 0, shard.stderr
        merged = run_cli(["report", "--merge", str(workdir / "shard-*.sqlite")],
                         _env(fake, workdir, INSPECTOR_REPORT_DIR=str(workdir / "merged")))  # fmt: skip
        assert merged.returncode == 0, merged.stderr
    projects = []
    for i in range(2):
        with sqlite3.connect(workdir / f"shard-{i}.sqlite") as conn:
            projects.append({r[0] for r in conn.execute("SELECT DISTINCT project_key FROM results")})
    assert projects[0] and projects[1] and not projects[0] & projects[1]  # whole projects, each in one shard
    single_summary = orjson.loads((workdir / "single/summary.json").read_bytes())
    merged_summary = orjson.loads((workdir / "merged/summary.json").read_bytes())
    for key in ("total_attachments", "disk_bytes", "missing", "errors", "duplicate_groups"):
        assert merged_summary[key] == single_summary[key], key
    assert orjson.loads((workdir / "merged/storage.json").read_bytes()) == orjson.loads(
        (workdir / "single/storage.json").read_bytes()
    )


def test_project_pages_without_is_last_are_all_read():
    """A project search page with no isLast: 60 projects are two pages of 50 and 10, not 50."""
    site = build_site(issues=120, projects=60, seed=8)
    with JiraCloud(site, projects_without_is_last=True) as fake:
        api = CloudApi(fake.url, fake.email, fake.token, rate=40)
        found = cloud.projects(api)
    assert sorted(key for key, _ in found) == sorted(p["key"] for p in site.projects)
    assert len(found) == 60


def test_an_account_that_stays_throttled_stops_with_one_error():
    """A 429 is waited out, never without end: after the retry timeout, one DatabaseError (exit 3)."""
    from inspector.errors import DatabaseError

    with JiraCloud(build_site(issues=20, seed=2)) as fake:
        fake.throttle_always = True
        api = CloudApi(fake.url, fake.email, fake.token, rate=40, retry_timeout=3)
        started = time.monotonic()
        with pytest.raises(DatabaseError, match="kept answering 429"):
            cloud.projects(api)
        assert time.monotonic() - started < 3 + 2
        assert fake.counts["429"] >= 2


def test_a_media_host_that_ignores_range_is_read_as_a_stream():
    """The host answers 200 with the whole body to a Range: the range asked for comes back,
    read from the stream (not the whole body loaded and sliced), one request each."""
    site = build_site(issues=30, seed=4)
    big = next(a for a in site.attachments if a.content)
    big.content = data = os.urandom(700_000)  # longer than a few stream chunks
    with JiraCloud(site) as fake:
        fake.media_ignores_range = True
        api = CloudApi(fake.url, fake.email, fake.token, rate=40)
        before = fake.counts["media"]
        assert api.content(big.id, 300_000, 599_999) == data[300_000:600_000]
        assert api.content(big.id, len(data) - 64) == data[-64:]
        assert api.content(big.id) == data
        assert fake.counts["media"] - before == 3
        assert not fake.media_auth  # the media host never got the site's credentials


def test_credentials_go_only_to_the_sites_own_scheme_host_and_port():
    from inspector.sources.cloudapi import origin

    site = origin("https://acme.atlassian.net")
    assert origin("https://ACME.atlassian.net:443/rest/api/3/x") == site
    assert origin("http://acme.atlassian.net/rest/api/3/x") != site  # the same host in the clear
    assert origin("https://acme.atlassian.net:8443/x") != site
    assert origin("https://api.media.atlassian.com/file/1") != site
    assert origin("https://acme.atlassian.net.evil.example/x") != site


def test_a_cloud_url_in_the_clear_is_refused(monkeypatch):
    from inspector.config import config
    from inspector.errors import ConfigError

    for name, value in (("INSPECTOR_JIRA_CLOUD_URL", "http://acme.atlassian.net"),
                        ("INSPECTOR_JIRA_EMAIL", "a@example.com"), ("INSPECTOR_JIRA_API_TOKEN", "t")):  # fmt: skip
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match="must be https://"):
        config.from_env()


@pytest.mark.slow
def test_verify_content_finds_every_lost_or_resized_content_and_resumes(workdir):
    """INSPECTOR_JIRA_VERIFY_CONTENT=1: content lost where the site knows (its 404) and where
    only the media host does, content of another size, and a host refusing one file are each
    found, one site request per attachment under the budget; a scan killed halfway resumes to
    the same verdicts. Without it, none of these is seen (nothing is read)."""
    site = build_site(issues=240, seed=12, duplicate_rate=0.0)
    atts = [a for a in site.attachments if a.size > 1]
    site_lost = {a.id for a in atts[3:9:2]}
    media_lost = {a.id for a in atts[20:26:2]}
    resized = {a.id for a in atts[40:44:2]}
    denied = {atts[60].id}
    for a in atts:
        if a.id in site_lost:
            a.content = None
        elif a.id in resized:
            a.content = a.content[:-1]
    empty = atts[80]
    empty.content, empty.size = b"", 0  # a range of an empty file answers 416: present, 0 bytes
    with JiraCloud(site, latency=0.2, page_limit=10) as fake:
        fake.media_lost, fake.media_denied = media_lost, denied
        (workdir / "plain").mkdir()
        plain = run_cli([], _env(fake, workdir / "plain", INSPECTOR_JIRA_MAX_REQUESTS_PER_SECOND="100"))
        assert plain.returncode == 0, plain.stderr
        assert not ids_in(workdir / "plain/report/missing.txt") and fake.counts["content"] == 0
        env = _env(fake, workdir, INSPECTOR_JIRA_VERIFY_CONTENT="1", INSPECTOR_JIRA_STREAMS="2",
                   INSPECTOR_JIRA_MAX_REQUESTS_PER_SECOND="100")  # fmt: skip
        proc = subprocess.Popen([sys.executable, "-m", "inspector"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)  # fmt: skip
        deadline, stored = time.monotonic() + 60, 0
        while time.monotonic() < deadline and stored < len(site.attachments) // 3:
            time.sleep(0.1)
            try:
                with sqlite3.connect(workdir / "state.sqlite") as conn:
                    stored = conn.execute("SELECT count(*) FROM results").fetchone()[0]
            except sqlite3.Error:
                continue
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert 0 < stored < len(site.attachments), stored
        result = run_cli([], env, timeout=240)
        assert result.returncode == 0, result.stderr
        assert fake.media_auth == []
        # One site request per attachment (each row's page is asked again at most once, after the kill).
        assert len(site.attachments) <= fake.counts["content"] < len(site.attachments) + 2 * 10 * 2
    report = workdir / "report"
    assert ids_in(report / "missing.txt") == site_lost | media_lost
    assert ids_in(report / "corrupted.txt") == resized
    assert ids_in(report / "errors.txt") == denied
    assert "403" in (report / "errors.txt").read_text()
    with sqlite3.connect(workdir / "state.sqlite") as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM results WHERE pass_id = 1")]
        sizes = dict(conn.execute("SELECT id, actual_size FROM results WHERE pass_id = 1 AND id IN (?, ?)",
                                  (empty.id, min(resized))))  # fmt: skip
    assert sorted(ids) == sorted(a.id for a in site.attachments)  # none lost or stored twice by the kill
    assert sizes == {empty.id: 0, min(resized): next(a.size - 1 for a in atts if a.id == min(resized))}
