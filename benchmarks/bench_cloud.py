"""Jira Cloud: a site of 20,000 issues with 2 attachments each behind the fake site
(jiraworld/jiracloud.py) answering every search in 500 ms and allowing 10 requests per second,
scanned by ``python -m inspector`` and, in the same run, by a one-stream scanner built the way
the Cloud apps are (one search request at a time, every navigable field, the default page).

Reports issues per second of both, the ratio, the requests sent, and the highest number of
requests the site saw in any rolling second (it answers 429 above its limit). Output: a
Markdown table for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time

from common import OUT, machine

from inspector.sources.cloudapi import CloudApi
from jiraworld.jiracloud import JiraCloud, build_site


def one_stream(fake: JiraCloud, rate: float) -> tuple[float, int, int]:
    """(seconds, issues, attachments) of the apps' design: one request after the other."""
    api = CloudApi(fake.url, fake.email, fake.token, rate)
    issues = attachments = 0
    token = None
    started = time.perf_counter()
    while True:
        body: dict = {"jql": "attachments IS NOT EMPTY ORDER BY id ASC"}
        if token:
            body["nextPageToken"] = token
        page = api.json("POST", "/rest/api/3/search/jql", body)
        for issue in page.get("issues") or []:
            issues += 1
            attachments += len(issue["fields"].get("attachment") or [])
        token = page.get("nextPageToken")
        if page.get("isLast") or not token:
            return time.perf_counter() - started, issues, attachments


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--issues", type=int, default=20_000)
    parser.add_argument("--latency-ms", type=float, default=500)
    parser.add_argument("--limit", type=float, default=10, help="the site's requests per second")
    args = parser.parse_args()
    site = build_site(issues=args.issues, projects=8, per_issue=2, duplicate_rate=0.0, seed=21)
    run = OUT / "runs-cloud"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    with JiraCloud(site, latency=args.latency_ms / 1000, max_rps=args.limit) as fake:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("INSPECTOR_", "PG"))}
        env.update(
            INSPECTOR_JIRA_CLOUD_URL=fake.url, INSPECTOR_JIRA_EMAIL=fake.email, INSPECTOR_JIRA_API_TOKEN=fake.token,
            INSPECTOR_JIRA_MAX_REQUESTS_PER_SECOND=f"{args.limit:g}", INSPECTOR_STATE_DB=str(run / "state.sqlite"),
            INSPECTOR_REPORT_DIR=str(run / "report"), INSPECTOR_JIRA_STREAMS="8",
        )  # fmt: skip
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "inspector"], env=env, capture_output=True, text=True)
        ours = time.perf_counter() - started
        if result.returncode:
            raise SystemExit(result.stderr[-3000:])
        ours_requests, ours_peak, ours_429 = sum(fake.counts[k] for k in ("search", "projects", "count")), \
            fake.peak_rps, fake.counts["429"]  # fmt: skip
        fake.counts.clear()
        fake.peak_rps = 0
        base, issues, attachments = one_stream(fake, args.limit)
        base_requests, base_peak = fake.counts["search"], fake.peak_rps
    assert issues == args.issues and attachments == 2 * args.issues, (issues, attachments)
    print(f"Jira Cloud, {args.issues} issues x 2 attachments, {args.latency_ms:g} ms per search, "
          f"site limit {args.limit:g} requests/s, {machine()}")  # fmt: skip
    print("| scanner | wall | issues/s | requests | peak requests in a second | 429s |\n|---|---|---|---|---|---|")
    print(f"| one stream (the apps' design) | {base:.1f} s | {issues / base:.0f} | {base_requests} | {base_peak} | 0 |")
    print(f"| inspector, 8 streams, budget {args.limit:g}/s | {ours:.1f} s | {args.issues / ours:.0f} "
          f"| {ours_requests} | {ours_peak} | {ours_429} |")  # fmt: skip
    print(
        f"\n**{base / ours:.1f}x** the one-stream scanner (the inspector's wall includes its start, "
        "the planning requests and the report)"
    )


if __name__ == "__main__":
    main()
