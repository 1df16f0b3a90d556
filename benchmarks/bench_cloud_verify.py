"""INSPECTOR_JIRA_VERIFY_CONTENT: what asking every attachment's content costs, HEAD against a
ranged GET of one byte, through the site's redirect to its media host (the fake site of
jiraworld/jiracloud.py; content of 1 KiB to 4 MiB).

For each way: site and media requests per attachment and wall time for all attachments at
a budget high enough not to be the limit (32 threads), then the same with a media host that
ignores ``Range`` (sends the whole body; the client closes the connection after the headers).
Last, the inspector's whole pass with and without verification at the default budget (10
requests/s), which is what an admin pays.

    python benchmarks/bench_cloud_verify.py [--attachments 600] [--pass-issues 300]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from common import OUT, machine

from inspector.sources.cloudapi import CloudApi
from jiraworld.jiracloud import JiraCloud, build_site


def _site(attachments: int, seed: int = 31):
    site = build_site(issues=attachments, projects=4, per_issue=1, duplicate_rate=0.0, seed=seed)
    rng = random.Random(seed)
    for a in site.attachments:
        a.content = rng.randbytes(rng.choice((1024, 64 * 1024, 1024 * 1024, 4 * 1024 * 1024)))
        a.size = len(a.content)
    return site


def _way(fake: JiraCloud, ids: list[int], method: str) -> tuple[float, dict]:
    api = CloudApi(fake.url, fake.email, fake.token, rate=10_000)
    fake.counts.clear()
    started = time.perf_counter()
    with ThreadPoolExecutor(32) as pool:
        sizes = list(pool.map(lambda i: api.content_size(i, method), ids))
    took = time.perf_counter() - started
    assert all(s == fake.by_id[i].size for s, i in zip(sizes, ids, strict=True)), "a size came back wrong"
    return took, dict(fake.counts)


def _pass(fake: JiraCloud, verify: bool) -> float:
    run = OUT / "runs-cloud-verify"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INSPECTOR_", "PG"))}
    env.update(
        INSPECTOR_JIRA_CLOUD_URL=fake.url, INSPECTOR_JIRA_EMAIL=fake.email, INSPECTOR_JIRA_API_TOKEN=fake.token,
        INSPECTOR_STATE_DB=str(run / "state.sqlite"), INSPECTOR_REPORT_DIR=str(run / "report"),
        INSPECTOR_JIRA_VERIFY_CONTENT="1" if verify else "0",
    )  # fmt: skip
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "inspector"], env=env, capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(result.stderr[-3000:])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attachments", type=int, default=600)
    parser.add_argument("--pass-issues", type=int, default=300)
    args = parser.parse_args()
    site = _site(args.attachments)
    ids = [a.id for a in site.attachments]
    print(f"Jira Cloud content verification, {len(ids)} attachments of 1 KiB-4 MiB "
          f"({sum(a.size for a in site.attachments) / 1e6:.0f} MB), {machine()}\n")  # fmt: skip
    print("| way | media host | wall | site requests / att. | media requests / att. |\n|---|---|---|---|---|")
    with JiraCloud(site) as fake:
        for ignores in (False, True):
            fake.media_ignores_range = ignores
            for method in ("HEAD", "GET"):
                took, counts = _way(fake, ids, method)
                site_n = counts.get("content_head" if method == "HEAD" else "content", 0)
                media_n = counts.get("media_head" if method == "HEAD" else "media", 0)
                name = "HEAD" if method == "HEAD" else "GET `Range: bytes=0-0`"
                host = "ignores Range" if ignores else "honours Range"
                print(f"| {name} | {host} | {took:.2f} s | {site_n / len(ids):.2f} | {media_n / len(ids):.2f} |")
    small = build_site(issues=args.pass_issues, projects=4, per_issue=2, duplicate_rate=0.0, seed=32)
    with JiraCloud(small) as fake:
        plain, verified = _pass(fake, False), _pass(fake, True)
    n = len(small.attachments)
    print(f"\nWhole pass at the default budget (10 requests/s), {n} attachments: {plain:.1f} s without, "
          f"{verified:.1f} s with INSPECTOR_JIRA_VERIFY_CONTENT=1: {(verified - plain) / n * 1000:.0f} ms more "
          f"per attachment, {(verified - plain) / n * 100_000 / 3600:.1f} h per 100,000 attachments")  # fmt: skip


if __name__ == "__main__":
    main()
